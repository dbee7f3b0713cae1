// Decodes an OTLP ExportTraceServiceRequest from protobuf (opentelemetry-proto, collector/trace/v1
// and the trace messages it holds; the common and resource ones are read by _decode_common.ts),
// with no dependency. Input is untrusted: every length is checked against what is left, a known
// field with the wrong wire type or a truncated message is a SyntaxError (the request is
// malformed), and a span with an invalid id or a value nested deeper than MAX_DEPTH is rejected
// alone and counted. Lists are kept up to MAX_ITEMS items, the rest counted as dropped. Invalid
// UTF-8 is replaced with U+FFFD and counted.

import {
  checkIds,
  type DecodedTraces,
  interner,
  MAX_ITEMS,
  type OtlpAttribute,
  type OtlpEvent,
  type OtlpLink,
  type OtlpResource,
  type OtlpScope,
  type OtlpSpan,
  Problems,
  Rejection,
} from "./_decode_model.ts";
import {
  attribute,
  EMPTY_LIST,
  expect,
  readResource,
  readScope,
  RequestReader,
} from "./_decode_common.ts";
import { FIXED32, FIXED64, LEN, VARINT } from "./_reader.ts";

// Span and its parts.

function readEvent(r: RequestReader, end: number): OtlpEvent {
  let timeUnixNano = 0n;
  let name = "";
  const attributes: OtlpAttribute[] = [];
  let dropped = 0;
  while (r.pos < end) {
    const key = r.key(end);
    const field = Math.floor(key / 8);
    const wire = key % 8;
    switch (field) {
      case 1:
        expect(wire, FIXED64, "Span.Event", field, "time_unix_nano");
        timeUnixNano = r.fixed64(end);
        break;
      case 2:
        expect(wire, LEN, "Span.Event", field, "name");
        name = interner.get(r.string(end));
        break;
      case 3:
        expect(wire, LEN, "Span.Event", field, "attributes");
        dropped += attribute(r, end, attributes);
        break;
      case 4:
        expect(wire, VARINT, "Span.Event", field, "dropped_attributes_count");
        dropped += r.varint(end) >>> 0;
        break;
      default:
        r.skip(wire, end, field, "Span.Event");
    }
  }
  return {
    timeUnixNano,
    name,
    attributes: attributes.length === 0 ? EMPTY_LIST : attributes,
    droppedAttributesCount: dropped,
  };
}

function readLink(r: RequestReader, end: number): OtlpLink {
  let traceId = "";
  let spanId = "";
  let traceState = "";
  const attributes: OtlpAttribute[] = [];
  let dropped = 0;
  let flags = 0;
  while (r.pos < end) {
    const key = r.key(end);
    const field = Math.floor(key / 8);
    const wire = key % 8;
    switch (field) {
      case 1:
        expect(wire, LEN, "Span.Link", field, "trace_id");
        traceId = r.hex(end);
        break;
      case 2:
        expect(wire, LEN, "Span.Link", field, "span_id");
        spanId = r.hex(end);
        break;
      case 3:
        expect(wire, LEN, "Span.Link", field, "trace_state");
        traceState = r.string(end);
        break;
      case 4:
        expect(wire, LEN, "Span.Link", field, "attributes");
        dropped += attribute(r, end, attributes);
        break;
      case 5:
        expect(wire, VARINT, "Span.Link", field, "dropped_attributes_count");
        dropped += r.varint(end) >>> 0;
        break;
      case 6:
        expect(wire, FIXED32, "Span.Link", field, "flags");
        flags = r.fixed32(end);
        break;
      default:
        r.skip(wire, end, field, "Span.Link");
    }
  }
  return {
    traceId,
    spanId,
    traceState,
    attributes: attributes.length === 0 ? EMPTY_LIST : attributes,
    droppedAttributesCount: dropped,
    flags,
  };
}

function readStatus(r: RequestReader, end: number): [code: number, message: string] {
  let code = 0;
  let message = "";
  while (r.pos < end) {
    const key = r.key(end);
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (field === 2) {
      expect(wire, LEN, "Status", field, "message");
      message = r.string(end);
    } else if (field === 3) {
      expect(wire, VARINT, "Status", field, "code");
      code = r.varint(end) >>> 0;
    } else {
      r.skip(wire, end, field, "Status");
    }
  }
  return [code, message];
}

/** A span's fields as read so far. */
interface SpanDraft {
  traceId: string;
  spanId: string;
  traceState: string;
  parentSpanId: string;
  flags: number;
  name: string;
  kind: number;
  start: bigint;
  end: bigint;
  readonly attributes: OtlpAttribute[];
  droppedAttributes: number;
  readonly events: OtlpEvent[];
  droppedEvents: number;
  readonly links: OtlpLink[];
  droppedLinks: number;
  statusCode: number;
  statusMessage: string;
}

/** Reads a field of a span's identity and timing into `d`; false when `field` is not one. */
function readSpanHead(
  r: RequestReader,
  end: number,
  field: number,
  wire: number,
  d: SpanDraft,
): boolean {
  switch (field) {
    case 1:
      expect(wire, LEN, "Span", field, "trace_id");
      d.traceId = r.hex(end);
      return true;
    case 2:
      expect(wire, LEN, "Span", field, "span_id");
      d.spanId = r.hex(end);
      return true;
    case 3:
      expect(wire, LEN, "Span", field, "trace_state");
      d.traceState = r.string(end);
      return true;
    case 4:
      expect(wire, LEN, "Span", field, "parent_span_id");
      d.parentSpanId = r.hex(end);
      return true;
    case 5:
      expect(wire, LEN, "Span", field, "name");
      d.name = interner.get(r.string(end));
      return true;
    case 6:
      expect(wire, VARINT, "Span", field, "kind");
      d.kind = r.varint(end) >>> 0;
      return true;
    case 7:
      expect(wire, FIXED64, "Span", field, "start_time_unix_nano");
      d.start = r.fixed64(end);
      return true;
    case 8:
      expect(wire, FIXED64, "Span", field, "end_time_unix_nano");
      d.end = r.fixed64(end);
      return true;
    case 16:
      expect(wire, FIXED32, "Span", field, "flags");
      d.flags = r.fixed32(end);
      return true;
  }
  return false;
}

/**
 * Reads a field of a span's contents (attributes, events, links, status and what was dropped)
 * into `d`; false when `field` is not one.
 */
function readSpanBody(
  r: RequestReader,
  end: number,
  field: number,
  wire: number,
  d: SpanDraft,
): boolean {
  switch (field) {
    case 9:
      expect(wire, LEN, "Span", field, "attributes");
      d.droppedAttributes += attribute(r, end, d.attributes);
      return true;
    case 10:
      expect(wire, VARINT, "Span", field, "dropped_attributes_count");
      d.droppedAttributes += r.varint(end) >>> 0;
      return true;
    case 11: {
      expect(wire, LEN, "Span", field, "events");
      const stop = r.lengthEnd(end);
      if (d.events.length < MAX_ITEMS) d.events.push(readEvent(r, stop));
      else d.droppedEvents++;
      r.pos = stop;
      return true;
    }
    case 12:
      expect(wire, VARINT, "Span", field, "dropped_events_count");
      d.droppedEvents += r.varint(end) >>> 0;
      return true;
    case 13: {
      expect(wire, LEN, "Span", field, "links");
      const stop = r.lengthEnd(end);
      if (d.links.length < MAX_ITEMS) d.links.push(readLink(r, stop));
      else d.droppedLinks++;
      r.pos = stop;
      return true;
    }
    case 14:
      expect(wire, VARINT, "Span", field, "dropped_links_count");
      d.droppedLinks += r.varint(end) >>> 0;
      return true;
    case 15:
      expect(wire, LEN, "Span", field, "status");
      [d.statusCode, d.statusMessage] = readStatus(r, r.lengthEnd(end));
      return true;
  }
  return false;
}

function readSpan(
  r: RequestReader,
  end: number,
  resource: OtlpResource,
  scope: OtlpScope,
): OtlpSpan {
  const d: SpanDraft = {
    traceId: "",
    spanId: "",
    traceState: "",
    parentSpanId: "",
    flags: 0,
    name: "",
    kind: 0,
    start: 0n,
    end: 0n,
    attributes: [],
    droppedAttributes: 0,
    events: [],
    droppedEvents: 0,
    links: [],
    droppedLinks: 0,
    statusCode: 0,
    statusMessage: "",
  };
  while (r.pos < end) {
    const key = r.key(end);
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (!readSpanHead(r, end, field, wire, d) && !readSpanBody(r, end, field, wire, d)) {
      r.skip(wire, end, field, "Span");
    }
  }
  checkIds(d.traceId, d.spanId, d.parentSpanId, d.links);
  return {
    traceId: d.traceId,
    spanId: d.spanId,
    traceState: d.traceState,
    parentSpanId: d.parentSpanId,
    flags: d.flags,
    name: d.name,
    kind: d.kind,
    startTimeUnixNano: d.start,
    endTimeUnixNano: d.end,
    attributes: d.attributes.length === 0 ? EMPTY_LIST : d.attributes,
    droppedAttributesCount: d.droppedAttributes,
    events: d.events.length === 0 ? EMPTY_LIST : d.events,
    droppedEventsCount: d.droppedEvents,
    links: d.links.length === 0 ? EMPTY_LIST : d.links,
    droppedLinksCount: d.droppedLinks,
    statusCode: d.statusCode,
    statusMessage: d.statusMessage,
    resource,
    scope,
  };
}

/** The [start, end) ranges of the length-delimited fields `field` of a message. */
function ranges(
  r: RequestReader,
  end: number,
  message: string,
  wanted: readonly (readonly [field: number, name: string])[],
  into: [number, number][][],
): string {
  let schemaUrl = "";
  while (r.pos < end) {
    const key = r.key(end);
    const field = Math.floor(key / 8);
    const wire = key % 8;
    const i = wanted.findIndex(([f]) => f === field);
    if (i >= 0) {
      expect(wire, LEN, message, field, wanted[i]![1]);
      const stop = r.lengthEnd(end);
      into[i]!.push([r.pos, stop]);
      r.pos = stop;
    } else if (field === 3) {
      expect(wire, LEN, message, field, "schema_url");
      schemaUrl = r.string(end);
    } else {
      r.skip(wire, end, field, message);
    }
  }
  return schemaUrl;
}

const RESOURCE_SPANS_FIELDS = [[1, "resource"], [2, "scope_spans"]] as const;
const SCOPE_SPANS_FIELDS = [[1, "scope"], [2, "spans"]] as const;
const EMPTY_RESOURCE: OtlpResource = Object.freeze({
  attributes: EMPTY_LIST,
  droppedAttributesCount: 0,
  schemaUrl: "",
});

function readScopeSpans(
  r: RequestReader,
  start: number,
  end: number,
  resource: OtlpResource | Rejection,
  out: OtlpSpan[],
): void {
  r.pos = start;
  const found: [number, number][][] = [[], []];
  const schemaUrl = ranges(r, end, "ScopeSpans", SCOPE_SPANS_FIELDS, found);
  const [scopes, spans] = found as [[number, number][], [number, number][]];
  if (resource instanceof Rejection) {
    r.problems.reject(`its resource was rejected: ${resource.message}`, spans.length);
    return;
  }
  let scope: OtlpScope = {
    name: "",
    version: "",
    attributes: EMPTY_LIST,
    droppedAttributesCount: 0,
    schemaUrl,
  };
  const last = scopes.at(-1);
  if (last !== undefined) {
    r.pos = last[0];
    try {
      scope = { ...readScope(r, last[1]), schemaUrl };
    } catch (error) {
      if (!(error instanceof Rejection)) throw error;
      r.problems.reject(`its scope was rejected: ${error.message}`, spans.length);
      return;
    }
  }
  for (const [s, e] of spans) {
    r.pos = s;
    try {
      out.push(readSpan(r, e, resource, scope));
    } catch (error) {
      if (!(error instanceof Rejection)) throw error;
      r.problems.reject(error.message);
    }
  }
}

function readResourceSpans(r: RequestReader, end: number, out: OtlpSpan[]): void {
  const found: [number, number][][] = [[], []];
  const schemaUrl = ranges(r, end, "ResourceSpans", RESOURCE_SPANS_FIELDS, found);
  const [resources, scopeSpans] = found as [[number, number][], [number, number][]];
  let resource: OtlpResource | Rejection = EMPTY_RESOURCE;
  const last = resources.at(-1);
  if (last !== undefined) {
    r.pos = last[0];
    try {
      resource = { ...readResource(r, last[1]), schemaUrl };
    } catch (error) {
      if (!(error instanceof Rejection)) throw error;
      resource = error;
    }
  } else if (schemaUrl !== "") {
    resource = { ...EMPTY_RESOURCE, schemaUrl };
  }
  for (const [s, e] of scopeSpans) readScopeSpans(r, s, e, resource, out);
}

/**
 * Decodes a protobuf `ExportTraceServiceRequest`.
 *
 * @throws {SyntaxError} When the bytes are not such a message (truncated, a wrong wire type).
 */
export function decodeProtobufTraces(bytes: Uint8Array): DecodedTraces {
  const problems = new Problems();
  const r = new RequestReader(bytes, problems);
  const spans: OtlpSpan[] = [];
  const end = bytes.length;
  while (r.pos < end) {
    const key = r.key(end);
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (field === 1) {
      expect(wire, LEN, "ExportTraceServiceRequest", field, "resource_spans");
      const stop = r.lengthEnd(end);
      readResourceSpans(r, stop, spans);
      r.pos = stop;
    } else {
      r.skip(wire, end, field, "ExportTraceServiceRequest");
    }
  }
  if (r.badText > 0) {
    problems.add("text that was not valid UTF-8 shows U+FFFD for the bad bytes", r.badText);
  }
  if (r.cutValues > 0) {
    problems.add(`arrays and key-value lists were cut to ${MAX_ITEMS} elements`, r.cutValues);
  }
  return { spans, rejectedSpans: problems.rejectedSpans, problems: problems.list() };
}
