// Decodes an OTLP ExportTraceServiceRequest from protobuf (opentelemetry-proto, collector/trace/v1
// and the trace, common and resource messages it holds), with no dependency. Input is untrusted:
// every length is checked against what is left, a known field with the wrong wire type or a
// truncated message is a SyntaxError (the request is malformed), and a span with an invalid id or
// a value nested deeper than MAX_DEPTH is rejected alone and counted. Lists are kept up to
// MAX_ITEMS items, the rest counted as dropped. Invalid UTF-8 is replaced with U+FFFD and counted.

import {
  checkIds,
  type DecodedTraces,
  interner,
  KvList,
  MAX_DEPTH,
  MAX_ITEMS,
  type OtlpAttribute,
  type OtlpEvent,
  type OtlpLink,
  type OtlpResource,
  type OtlpScope,
  type OtlpSpan,
  type OtlpValue,
  Problems,
  Rejection,
} from "./_otlp_model.ts";
import { expect, FIXED32, FIXED64, LEN, Reader, VARINT } from "./_proto_reader.ts";

const EMPTY_LIST: readonly never[] = Object.freeze([]);

// AnyValue, KeyValue and their lists.

function readAnyValue(r: Reader, end: number, depth: number): OtlpValue {
  if (depth > MAX_DEPTH) {
    throw new Rejection(`an attribute value is nested deeper than ${MAX_DEPTH} levels`);
  }
  let value: OtlpValue = null;
  while (r.pos < end) {
    const key = r.key(end);
    const field = Math.floor(key / 8);
    const wire = key % 8;
    switch (field) {
      case 1:
        expect(wire, LEN, "AnyValue", field, "string_value");
        value = r.string(end);
        break;
      case 2:
        expect(wire, VARINT, "AnyValue", field, "bool_value");
        value = r.varint(end) !== 0;
        break;
      case 3:
        expect(wire, VARINT, "AnyValue", field, "int_value");
        value = r.int64(end);
        break;
      case 4:
        expect(wire, FIXED64, "AnyValue", field, "double_value");
        value = r.double(end);
        break;
      case 5: {
        expect(wire, LEN, "AnyValue", field, "array_value");
        const stop = r.lengthEnd(end);
        value = readArrayValue(r, stop, depth);
        break;
      }
      case 6: {
        expect(wire, LEN, "AnyValue", field, "kvlist_value");
        const stop = r.lengthEnd(end);
        value = new KvList(readKeyValueList(r, stop, depth));
        break;
      }
      case 7:
        expect(wire, LEN, "AnyValue", field, "bytes_value");
        value = r.bytes(end);
        break;
      case 8:
        // string_value_strindex belongs to profiles: read as an empty value, and said.
        r.skip(wire, end, field, "AnyValue");
        r.problems.add("an attribute value used string_value_strindex (profiles only): empty");
        value = null;
        break;
      default:
        r.skip(wire, end, field, "AnyValue");
    }
  }
  return value;
}

function readArrayValue(r: Reader, end: number, depth: number): OtlpValue[] {
  const out: OtlpValue[] = [];
  while (r.pos < end) {
    const key = r.key(end);
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (field === 1) {
      expect(wire, LEN, "ArrayValue", field, "values");
      const stop = r.lengthEnd(end);
      if (out.length < MAX_ITEMS) out.push(readAnyValue(r, stop, depth + 1));
      else r.cutValues++;
      r.pos = stop;
    } else {
      r.skip(wire, end, field, "ArrayValue");
    }
  }
  return out;
}

function readKeyValueList(r: Reader, end: number, depth: number): OtlpAttribute[] {
  const out: OtlpAttribute[] = [];
  while (r.pos < end) {
    const key = r.key(end);
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (field === 1) {
      expect(wire, LEN, "KeyValueList", field, "values");
      const stop = r.lengthEnd(end);
      if (out.length < MAX_ITEMS) out.push(readKeyValue(r, stop, depth + 1));
      else r.cutValues++;
      r.pos = stop;
    } else {
      r.skip(wire, end, field, "KeyValueList");
    }
  }
  return out;
}

function readKeyValue(r: Reader, end: number, depth: number): OtlpAttribute {
  let k = "";
  let value: OtlpValue = null;
  while (r.pos < end) {
    const key = r.key(end);
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (field === 1) {
      expect(wire, LEN, "KeyValue", field, "key");
      k = interner.get(r.string(end));
    } else if (field === 2) {
      expect(wire, LEN, "KeyValue", field, "value");
      const stop = r.lengthEnd(end);
      value = readAnyValue(r, stop, depth);
      r.pos = stop;
    } else {
      if (field === 3) r.problems.add("a key used key_strindex (profiles only): ignored");
      r.skip(wire, end, field, "KeyValue");
    }
  }
  return [k, value];
}

/** Reads one attribute into `list` unless it is full; returns 1 when it was dropped. */
function attribute(r: Reader, end: number, list: OtlpAttribute[]): number {
  const stop = r.lengthEnd(end);
  if (list.length >= MAX_ITEMS) {
    r.pos = stop;
    return 1;
  }
  list.push(readKeyValue(r, stop, 1));
  r.pos = stop;
  return 0;
}

// Resource and scope.

function readResource(r: Reader, end: number): OtlpResource {
  const attributes: OtlpAttribute[] = [];
  let dropped = 0;
  while (r.pos < end) {
    const key = r.key(end);
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (field === 1) {
      expect(wire, LEN, "Resource", field, "attributes");
      dropped += attribute(r, end, attributes);
    } else if (field === 2) {
      expect(wire, VARINT, "Resource", field, "dropped_attributes_count");
      dropped += r.varint(end) >>> 0;
    } else {
      r.skip(wire, end, field, "Resource");
    }
  }
  return { attributes, droppedAttributesCount: dropped, schemaUrl: "" };
}

function readScope(r: Reader, end: number): Omit<OtlpScope, "schemaUrl"> {
  let name = "";
  let version = "";
  const attributes: OtlpAttribute[] = [];
  let dropped = 0;
  while (r.pos < end) {
    const key = r.key(end);
    const field = Math.floor(key / 8);
    const wire = key % 8;
    switch (field) {
      case 1:
        expect(wire, LEN, "InstrumentationScope", field, "name");
        name = interner.get(r.string(end));
        break;
      case 2:
        expect(wire, LEN, "InstrumentationScope", field, "version");
        version = interner.get(r.string(end));
        break;
      case 3:
        expect(wire, LEN, "InstrumentationScope", field, "attributes");
        dropped += attribute(r, end, attributes);
        break;
      case 4:
        expect(wire, VARINT, "InstrumentationScope", field, "dropped_attributes_count");
        dropped += r.varint(end) >>> 0;
        break;
      default:
        r.skip(wire, end, field, "InstrumentationScope");
    }
  }
  return { name, version, attributes, droppedAttributesCount: dropped };
}

// Span and its parts.

function readEvent(r: Reader, end: number): OtlpEvent {
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

function readLink(r: Reader, end: number): OtlpLink {
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

function readStatus(r: Reader, end: number): [code: number, message: string] {
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

function readSpan(r: Reader, end: number, resource: OtlpResource, scope: OtlpScope): OtlpSpan {
  let traceId = "";
  let spanId = "";
  let traceState = "";
  let parentSpanId = "";
  let flags = 0;
  let name = "";
  let kind = 0;
  let start = 0n;
  let stop = 0n;
  const attributes: OtlpAttribute[] = [];
  let droppedAttributes = 0;
  const events: OtlpEvent[] = [];
  let droppedEvents = 0;
  const links: OtlpLink[] = [];
  let droppedLinks = 0;
  let statusCode = 0;
  let statusMessage = "";
  while (r.pos < end) {
    const key = r.key(end);
    const field = Math.floor(key / 8);
    const wire = key % 8;
    switch (field) {
      case 1:
        expect(wire, LEN, "Span", field, "trace_id");
        traceId = r.hex(end);
        break;
      case 2:
        expect(wire, LEN, "Span", field, "span_id");
        spanId = r.hex(end);
        break;
      case 3:
        expect(wire, LEN, "Span", field, "trace_state");
        traceState = r.string(end);
        break;
      case 4:
        expect(wire, LEN, "Span", field, "parent_span_id");
        parentSpanId = r.hex(end);
        break;
      case 5:
        expect(wire, LEN, "Span", field, "name");
        name = interner.get(r.string(end));
        break;
      case 6:
        expect(wire, VARINT, "Span", field, "kind");
        kind = r.varint(end) >>> 0;
        break;
      case 7:
        expect(wire, FIXED64, "Span", field, "start_time_unix_nano");
        start = r.fixed64(end);
        break;
      case 8:
        expect(wire, FIXED64, "Span", field, "end_time_unix_nano");
        stop = r.fixed64(end);
        break;
      case 9:
        expect(wire, LEN, "Span", field, "attributes");
        droppedAttributes += attribute(r, end, attributes);
        break;
      case 10:
        expect(wire, VARINT, "Span", field, "dropped_attributes_count");
        droppedAttributes += r.varint(end) >>> 0;
        break;
      case 11: {
        expect(wire, LEN, "Span", field, "events");
        const stopAt = r.lengthEnd(end);
        if (events.length < MAX_ITEMS) events.push(readEvent(r, stopAt));
        else droppedEvents++;
        r.pos = stopAt;
        break;
      }
      case 12:
        expect(wire, VARINT, "Span", field, "dropped_events_count");
        droppedEvents += r.varint(end) >>> 0;
        break;
      case 13: {
        expect(wire, LEN, "Span", field, "links");
        const stopAt = r.lengthEnd(end);
        if (links.length < MAX_ITEMS) links.push(readLink(r, stopAt));
        else droppedLinks++;
        r.pos = stopAt;
        break;
      }
      case 14:
        expect(wire, VARINT, "Span", field, "dropped_links_count");
        droppedLinks += r.varint(end) >>> 0;
        break;
      case 15: {
        expect(wire, LEN, "Span", field, "status");
        const stopAt = r.lengthEnd(end);
        [statusCode, statusMessage] = readStatus(r, stopAt);
        break;
      }
      case 16:
        expect(wire, FIXED32, "Span", field, "flags");
        flags = r.fixed32(end);
        break;
      default:
        r.skip(wire, end, field, "Span");
    }
  }
  checkIds(traceId, spanId, parentSpanId, links);
  return {
    traceId,
    spanId,
    traceState,
    parentSpanId,
    flags,
    name,
    kind,
    startTimeUnixNano: start,
    endTimeUnixNano: stop,
    attributes: attributes.length === 0 ? EMPTY_LIST : attributes,
    droppedAttributesCount: droppedAttributes,
    events: events.length === 0 ? EMPTY_LIST : events,
    droppedEventsCount: droppedEvents,
    links: links.length === 0 ? EMPTY_LIST : links,
    droppedLinksCount: droppedLinks,
    statusCode,
    statusMessage,
    resource,
    scope,
  };
}

/** The [start, end) ranges of the length-delimited fields `field` of a message. */
function ranges(
  r: Reader,
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
  r: Reader,
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

function readResourceSpans(r: Reader, end: number, out: OtlpSpan[]): void {
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
  const r = new Reader(bytes, problems);
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
