// Decodes an OTLP ExportTraceServiceRequest from JSON, by the OTLP/JSON mapping: lowerCamelCase
// keys (other keys are ignored, as the mapping requires), trace and span ids as hex, enums as
// integers (their names are read too), 64-bit integers as decimal strings or numbers, bytes as
// base64. Input is untrusted: a field of the wrong type is a SyntaxError naming its path; a span
// with an invalid id or a value nested deeper than MAX_DEPTH is rejected alone and counted; lists
// are kept up to MAX_ITEMS items, the rest counted as dropped.

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
} from "./_decode_model.ts";

type Json = unknown;
type JsonObject = { readonly [key: string]: Json };

const EMPTY_LIST: readonly never[] = Object.freeze([]);
const U64_MAX = 2n ** 64n - 1n;
const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
const KINDS = [
  "SPAN_KIND_UNSPECIFIED",
  "SPAN_KIND_INTERNAL",
  "SPAN_KIND_SERVER",
  "SPAN_KIND_CLIENT",
  "SPAN_KIND_PRODUCER",
  "SPAN_KIND_CONSUMER",
];
const CODES = ["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"];

function malformed(path: string, message: string): SyntaxError {
  return new SyntaxError(`Cannot decode OTLP JSON: ${path} ${message}`);
}

function describe(value: Json): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

function object(value: Json, path: string): JsonObject | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "object" || Array.isArray(value)) {
    throw malformed(path, `must be an object, got ${describe(value)}`);
  }
  return value as JsonObject;
}

function list(value: Json, path: string): readonly Json[] {
  if (value === undefined || value === null) return EMPTY_LIST;
  if (!Array.isArray(value)) throw malformed(path, `must be an array, got ${describe(value)}`);
  return value;
}

function string(value: Json, path: string): string {
  if (value === undefined || value === null) return "";
  if (typeof value !== "string") throw malformed(path, `must be a string, got ${describe(value)}`);
  return value;
}

/** An integer field (numbers, or decimal strings as 64-bit ones are written). */
function integer(value: Json, path: string, min: bigint, max: bigint): bigint {
  if (value === undefined || value === null) return 0n;
  let n: bigint;
  if (typeof value === "number" && Number.isInteger(value)) n = BigInt(value);
  else if (typeof value === "string" && /^-?\d{1,20}$/.test(value)) n = BigInt(value);
  else throw malformed(path, `must be an integer, got ${describe(value)}`);
  if (n < min || n > max) throw malformed(path, `is out of range: ${n}`);
  return n;
}

function uint32(value: Json, path: string): number {
  return Number(integer(value, path, 0n, 0xffff_ffffn));
}

function enumValue(value: Json, path: string, names: readonly string[]): number {
  if (typeof value === "string") {
    const i = names.indexOf(value);
    if (i >= 0) return i;
  }
  return uint32(value, path);
}

function double(value: Json, path: string): number {
  if (typeof value === "number") return value;
  if (value === "NaN") return NaN;
  if (value === "Infinity") return Infinity;
  if (value === "-Infinity") return -Infinity;
  if (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value))) {
    return Number(value);
  }
  throw malformed(path, `must be a number, got ${describe(value)}`);
}

function base64(value: Json, path: string): Uint8Array {
  const text = string(value, path).replace(/-/g, "+").replace(/_/g, "/");
  let binary: string;
  try {
    binary = atob(text.padEnd(Math.ceil(text.length / 4) * 4, "="));
  } catch {
    throw malformed(path, "is not base64");
  }
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** A hex id, lowercased; a text that is not hex is a {@linkcode Rejection} of its span. */
function hexId(value: Json, path: string, what: string): string {
  const text = string(value, path);
  if (!/^[0-9a-fA-F]*$/.test(text) || text.length % 2 !== 0) {
    throw new Rejection(`${what} is not hex text`);
  }
  return text.toLowerCase();
}

/** Decoding state of one request. */
interface State {
  readonly problems: Problems;
  cutValues: number;
}

function anyValue(value: Json, path: string, depth: number, s: State): OtlpValue {
  if (depth > MAX_DEPTH) {
    throw new Rejection(`an attribute value is nested deeper than ${MAX_DEPTH} levels`);
  }
  const o = object(value, path);
  if (o === undefined) return null;
  if (o.stringValue !== undefined && o.stringValue !== null) {
    return string(o.stringValue, `${path}.stringValue`);
  }
  if (o.boolValue !== undefined && o.boolValue !== null) {
    if (typeof o.boolValue !== "boolean") {
      throw malformed(`${path}.boolValue`, `must be a boolean, got ${describe(o.boolValue)}`);
    }
    return o.boolValue;
  }
  if (o.intValue !== undefined && o.intValue !== null) {
    return integer(o.intValue, `${path}.intValue`, I64_MIN, I64_MAX);
  }
  if (o.doubleValue !== undefined && o.doubleValue !== null) {
    return double(o.doubleValue, `${path}.doubleValue`);
  }
  if (o.arrayValue !== undefined && o.arrayValue !== null) {
    const at = `${path}.arrayValue`;
    const values = list(object(o.arrayValue, at)?.values, `${at}.values`);
    if (values.length > MAX_ITEMS) s.cutValues += values.length - MAX_ITEMS;
    const out: OtlpValue[] = [];
    for (let i = 0; i < values.length && i < MAX_ITEMS; i++) {
      out.push(anyValue(values[i], `${at}.values[${i}]`, depth + 1, s));
    }
    return out;
  }
  if (o.kvlistValue !== undefined && o.kvlistValue !== null) {
    const at = `${path}.kvlistValue`;
    const values = list(object(o.kvlistValue, at)?.values, `${at}.values`);
    if (values.length > MAX_ITEMS) s.cutValues += values.length - MAX_ITEMS;
    const out: OtlpAttribute[] = [];
    for (let i = 0; i < values.length && i < MAX_ITEMS; i++) {
      out.push(keyValue(values[i], `${at}.values[${i}]`, depth + 1, s));
    }
    return new KvList(out);
  }
  if (o.bytesValue !== undefined && o.bytesValue !== null) {
    return base64(o.bytesValue, `${path}.bytesValue`);
  }
  return null;
}

function keyValue(value: Json, path: string, depth: number, s: State): OtlpAttribute {
  const o = object(value, path) ?? {};
  return [interner.get(string(o.key, `${path}.key`)), anyValue(o.value, `${path}.value`, depth, s)];
}

/** Reads an attribute list; returns it and how many were dropped at MAX_ITEMS. */
function attributes(value: Json, path: string, s: State): [readonly OtlpAttribute[], number] {
  const items = list(value, path);
  if (items.length === 0) return [EMPTY_LIST, 0];
  const out: OtlpAttribute[] = [];
  for (let i = 0; i < items.length && i < MAX_ITEMS; i++) {
    out.push(keyValue(items[i], `${path}[${i}]`, 1, s));
  }
  return [out, Math.max(0, items.length - MAX_ITEMS)];
}

function resource(value: Json, path: string, schemaUrl: string, s: State): OtlpResource {
  const o = object(value, path) ?? {};
  const [attrs, cut] = attributes(o.attributes, `${path}.attributes`, s);
  return {
    attributes: attrs,
    droppedAttributesCount: uint32(o.droppedAttributesCount, `${path}.droppedAttributesCount`) +
      cut,
    schemaUrl,
  };
}

function scope(value: Json, path: string, schemaUrl: string, s: State): OtlpScope {
  const o = object(value, path) ?? {};
  const [attrs, cut] = attributes(o.attributes, `${path}.attributes`, s);
  return {
    name: interner.get(string(o.name, `${path}.name`)),
    version: interner.get(string(o.version, `${path}.version`)),
    attributes: attrs,
    droppedAttributesCount: uint32(o.droppedAttributesCount, `${path}.droppedAttributesCount`) +
      cut,
    schemaUrl,
  };
}

function event(value: Json, path: string, s: State): OtlpEvent {
  const o = object(value, path) ?? {};
  const [attrs, cut] = attributes(o.attributes, `${path}.attributes`, s);
  return {
    timeUnixNano: integer(o.timeUnixNano, `${path}.timeUnixNano`, 0n, U64_MAX),
    name: interner.get(string(o.name, `${path}.name`)),
    attributes: attrs,
    droppedAttributesCount: uint32(o.droppedAttributesCount, `${path}.droppedAttributesCount`) +
      cut,
  };
}

function link(value: Json, path: string, s: State): OtlpLink {
  const o = object(value, path) ?? {};
  const [attrs, cut] = attributes(o.attributes, `${path}.attributes`, s);
  return {
    traceId: hexId(o.traceId, `${path}.traceId`, "link trace id"),
    spanId: hexId(o.spanId, `${path}.spanId`, "link span id"),
    traceState: string(o.traceState, `${path}.traceState`),
    attributes: attrs,
    droppedAttributesCount: uint32(o.droppedAttributesCount, `${path}.droppedAttributesCount`) +
      cut,
    flags: uint32(o.flags, `${path}.flags`),
  };
}

function span(
  value: Json,
  path: string,
  res: OtlpResource,
  sc: OtlpScope,
  s: State,
): OtlpSpan {
  const o = object(value, path) ?? {};
  // Fields that make the request malformed are read before those that reject only the span.
  const name = interner.get(string(o.name, `${path}.name`));
  const traceState = string(o.traceState, `${path}.traceState`);
  const flags = uint32(o.flags, `${path}.flags`);
  const kind = enumValue(o.kind, `${path}.kind`, KINDS);
  const start = integer(o.startTimeUnixNano, `${path}.startTimeUnixNano`, 0n, U64_MAX);
  const end = integer(o.endTimeUnixNano, `${path}.endTimeUnixNano`, 0n, U64_MAX);
  const status = object(o.status, `${path}.status`) ?? {};
  const statusCode = enumValue(status.code, `${path}.status.code`, CODES);
  const statusMessage = string(status.message, `${path}.status.message`);
  const [attrs, cut] = attributes(o.attributes, `${path}.attributes`, s);
  const eventList = list(o.events, `${path}.events`);
  const linkList = list(o.links, `${path}.links`);
  const events: OtlpEvent[] = [];
  for (let i = 0; i < eventList.length && i < MAX_ITEMS; i++) {
    events.push(event(eventList[i], `${path}.events[${i}]`, s));
  }
  const droppedAttributes = uint32(o.droppedAttributesCount, `${path}.droppedAttributesCount`);
  const droppedEvents = uint32(o.droppedEventsCount, `${path}.droppedEventsCount`);
  const droppedLinks = uint32(o.droppedLinksCount, `${path}.droppedLinksCount`);
  const links: OtlpLink[] = [];
  for (let i = 0; i < linkList.length && i < MAX_ITEMS; i++) {
    links.push(link(linkList[i], `${path}.links[${i}]`, s));
  }
  const traceId = hexId(o.traceId, `${path}.traceId`, "trace id");
  const spanId = hexId(o.spanId, `${path}.spanId`, "span id");
  const parentSpanId = hexId(o.parentSpanId, `${path}.parentSpanId`, "parent span id");
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
    endTimeUnixNano: end,
    attributes: attrs,
    droppedAttributesCount: droppedAttributes + cut,
    events: events.length === 0 ? EMPTY_LIST : events,
    droppedEventsCount: droppedEvents + Math.max(0, eventList.length - MAX_ITEMS),
    links: links.length === 0 ? EMPTY_LIST : links,
    droppedLinksCount: droppedLinks + Math.max(0, linkList.length - MAX_ITEMS),
    statusCode,
    statusMessage,
    resource: res,
    scope: sc,
  };
}

/** Reads the bytes as JSON; text that is not valid UTF-8 is read with U+FFFD, and said. */
function parse(bytes: Uint8Array, problems: Problems): Json {
  const text = new TextDecoder().decode(bytes);
  if (text.includes("\uFFFD")) {
    try {
      new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      problems.add("text that was not valid UTF-8 shows U+FFFD for the bad bytes");
    }
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new SyntaxError(`Cannot decode OTLP JSON: ${(error as Error).message}`);
  }
}

/** Reads the spans of one `ScopeSpans` under a resource (or the rejection of the resource). */
function scopeSpans(
  value: Json,
  path: string,
  res: OtlpResource | Rejection,
  s: State,
  out: OtlpSpan[],
): void {
  const ss = object(value, path) ?? {};
  const spanList = list(ss.spans, `${path}.spans`);
  if (res instanceof Rejection) {
    s.problems.reject(`its resource was rejected: ${res.message}`, spanList.length);
    return;
  }
  let sc: OtlpScope;
  try {
    sc = scope(ss.scope, `${path}.scope`, string(ss.schemaUrl, `${path}.schemaUrl`), s);
  } catch (error) {
    if (!(error instanceof Rejection)) throw error;
    s.problems.reject(`its scope was rejected: ${error.message}`, spanList.length);
    return;
  }
  spanList.forEach((spanValue, k) => {
    try {
      out.push(span(spanValue, `${path}.spans[${k}]`, res, sc, s));
    } catch (error) {
      if (!(error instanceof Rejection)) throw error;
      s.problems.reject(error.message);
    }
  });
}

/** Reads the spans of one `ResourceSpans`. */
function resourceSpans(value: Json, path: string, s: State, out: OtlpSpan[]): void {
  const rs = object(value, path) ?? {};
  const scopeSpanList = list(rs.scopeSpans, `${path}.scopeSpans`);
  let res: OtlpResource | Rejection;
  try {
    res = resource(rs.resource, `${path}.resource`, string(rs.schemaUrl, `${path}.schemaUrl`), s);
  } catch (error) {
    if (!(error instanceof Rejection)) throw error;
    res = error;
  }
  scopeSpanList.forEach((ssValue, j) => {
    scopeSpans(ssValue, `${path}.scopeSpans[${j}]`, res, s, out);
  });
}

/**
 * Decodes an OTLP/JSON `ExportTraceServiceRequest`.
 *
 * @throws {SyntaxError} When the bytes are not JSON, or a field has the wrong type.
 */
export function decodeJsonTraces(bytes: Uint8Array): DecodedTraces {
  const problems = new Problems();
  const s: State = { problems, cutValues: 0 };
  const request = object(parse(bytes, problems), "the request") ?? {};
  const spans: OtlpSpan[] = [];
  list(request.resourceSpans, "resourceSpans").forEach((rsValue, i) => {
    resourceSpans(rsValue, `resourceSpans[${i}]`, s, spans);
  });
  if (s.cutValues > 0) {
    problems.add(`arrays and key-value lists were cut to ${MAX_ITEMS} elements`, s.cutValues);
  }
  return { spans, rejectedSpans: problems.rejectedSpans, problems: problems.list() };
}
