// The OTLP/HTTP JSON body: the OTLP/JSON mapping of ExportTraceServiceRequest (lowerCamelCase
// keys, hex ids, integer enums, 64-bit integers as decimal strings, default values left out).
// The bytes are written directly, field by field in the order of the message, with no object
// tree and no text in between: strings are escaped as `JSON.stringify` escapes them, so the
// body is the same, byte for byte, as `JSON.stringify` of the request as an object.

import { type Activity, activityTimes } from "../activity.ts";
import { type ActivityTimes, DEFAULT_TIME_BASE, type TimeBase, unixNano } from "../_time.ts";
import { fragment, JsonWriter } from "./_json_writer.ts";
import { type Nanos, splitNanos } from "./_nanos.ts";
import { droppedLinkTagCount } from "../links.ts";
import type { TagList } from "../tags.ts";
import {
  type AnyValue,
  endTime,
  groupBySource,
  KIND,
  spanFlags,
  STATUS,
  toAnyValue,
} from "./_values.ts";

const quote = JSON.stringify as (text: string) => string;
const TWO_POW_63 = 2 ** 63;

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** A double as OTLP/JSON has it: a number, or the text of NaN and the infinities. */
function doubleText(n: number): string {
  return Number.isFinite(n) ? String(n) : `"${Number.isNaN(n) ? "NaN" : String(n)}"`;
}

function anyText(value: AnyValue): string {
  switch (value.kind) {
    case "string":
      return `{"stringValue":${quote(value.value)}}`;
    case "bool":
      return `{"boolValue":${value.value}}`;
    case "int":
      return `{"intValue":"${value.value}"}`;
    case "double":
      return `{"doubleValue":${doubleText(value.value)}}`;
    case "bytes":
      return `{"bytesValue":"${base64(value.value)}"}`;
    case "array": {
      let out = "";
      for (const item of value.value) out += (out === "" ? "" : ",") + anyText(item);
      return `{"arrayValue":{"values":[${out}]}}`;
    }
    case "kvlist": {
      let out = "";
      for (const [key, item] of value.value) {
        out += `${out === "" ? "" : ","}{"key":${quote(key)},"value":${anyText(item)}}`;
      }
      return `{"kvlistValue":{"values":[${out}]}}`;
    }
    case "empty":
      return "{}";
  }
}

// The constant parts of the text, copied four bytes at a time.
const KEY = fragment('{"key":');
const STRING_VALUE = fragment(',"value":{"stringValue":');
const ATTRIBUTES = fragment(',"attributes":[');
const VALUE = fragment(',"value":');
const EVENTS = fragment(',"events":[');
const LINKS = fragment(',"links":[');
const SPAN_ID = fragment('","spanId":"');
const FLAGS = fragment(',"flags":');
const STATUS_FIELD = fragment(',"status":{');
const MESSAGE = fragment('"message":');
const TRACE_ID = fragment('{"traceId":"');
const PARENT_SPAN_ID = fragment(',"parentSpanId":"');
const KIND_FIELD = fragment(',"kind":');
const START_TIME = fragment(',"startTimeUnixNano":');
const END_TIME = fragment(',"endTimeUnixNano":');
const REQUEST_START = fragment('{"resourceSpans":[{"resource":{');
const SCOPE_SPANS = fragment('},"scopeSpans":[');
const SPANS = fragment('},"spans":[');
const CLOSE_VALUE = fragment("}}");
const CLOSE_SCOPE = fragment("]}");
const REQUEST_END = fragment("]}]}");

/** A tag value that is not a string or a number, through toAnyValue. */
function otherValue(w: JsonWriter, value: unknown, stack: unknown[]): void {
  w.raw(anyText(toAnyValue(value, stack)));
}

/** The last encoding of an attribute's key and value (see {@linkcode attribute}). */
interface LastAttribute {
  value: string | number;
  length: number;
  bytes: DataView;
}
const LAST_ATTRIBUTE_BYTES = 256;
const MAX_KEYS = 1024;
const lastAttribute = new Map<string, LastAttribute>();

/**
 * One attribute whose value is a string or a number. An attribute usually recurs with the same
 * value from span to span (a method, a route, a port), so the last bytes of each key are kept,
 * when short, and copied while its value is the same.
 */
function attribute(w: JsonWriter, key: string, value: string | number): void {
  let last = lastAttribute.get(key);
  if (last !== undefined && last.value === value) {
    w.copy(last.bytes, last.length);
    return;
  }
  const start = w.position;
  w.fragment(KEY);
  w.string(key);
  if (typeof value === "string") {
    w.fragment(STRING_VALUE);
    w.string(value);
    w.fragment(CLOSE_VALUE);
  } else if (!Number.isInteger(value) || !(Math.abs(value) < TWO_POW_63)) {
    w.ascii(`,"value":{"doubleValue":${doubleText(value)}}}`);
  } else {
    // A safe integer prints exactly; a larger one through BigInt, which gives every digit.
    const digits = Number.isSafeInteger(value) ? String(value) : BigInt(value).toString();
    w.ascii(`,"value":{"intValue":"${digits}"}}`);
  }
  const length = w.position - start;
  if (length > LAST_ATTRIBUTE_BYTES) return;
  if (last === undefined) {
    if (lastAttribute.size >= MAX_KEYS) lastAttribute.clear();
    last = { value, length: 0, bytes: new DataView(new ArrayBuffer(LAST_ATTRIBUTE_BYTES)) };
    lastAttribute.set(key, last);
  }
  last.value = value;
  last.length = length;
  w.keep(start, last.bytes);
}

/** The attributes: `,"attributes":[...]` (after a message's first field), or nothing. */
function writeTags(w: JsonWriter, tags: TagList): void {
  if (tags.length === 0) return;
  let stack: unknown[] | undefined;
  w.fragment(ATTRIBUTES);
  for (let i = 0; i < tags.length; i++) {
    const tag = tags[i]!;
    const key = tag[0];
    const value = tag[1];
    if (i !== 0) w.byte(0x2c);
    if (typeof value === "string" || typeof value === "number") attribute(w, key, value);
    else {
      w.fragment(KEY);
      w.string(key);
      w.fragment(VALUE);
      otherValue(w, value, stack ??= []);
      w.byte(0x7d);
    }
  }
  w.byte(0x5d);
}

// Each optional field comes after a field that is always there (an id, a time), with its comma
// before it; a field with the default value is left out.

function textField(w: JsonWriter, name: string, value: string | undefined): void {
  if (value === undefined || value === "") return;
  w.ascii(name);
  w.string(value);
}

function countField(w: JsonWriter, name: string, value: number): void {
  if (value === 0) return;
  w.ascii(name);
  w.ascii(String(value));
}

function writeEvents(w: JsonWriter, activity: Activity): void {
  const events = activity.events;
  if (events.length === 0) return;
  w.fragment(EVENTS);
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    w.ascii(i === 0 ? '{"timeUnixNano":"' : ',{"timeUnixNano":"');
    w.ascii(event.timeUnixNano.toString());
    w.byte(0x22);
    textField(w, ',"name":', event.name);
    writeTags(w, event.tags);
    countField(w, ',"droppedAttributesCount":', event.droppedTagCount);
    w.byte(0x7d);
  }
  w.byte(0x5d);
}

function writeLinks(w: JsonWriter, activity: Activity): void {
  const links = activity.links;
  if (links.length === 0) return;
  w.fragment(LINKS);
  for (let i = 0; i < links.length; i++) {
    const link = links[i]!;
    const context = link.context;
    w.ascii(i === 0 ? '{"traceId":"' : ',{"traceId":"');
    w.id(context.traceId);
    w.fragment(SPAN_ID);
    w.id(context.spanId);
    w.byte(0x22);
    textField(w, ',"traceState":', context.traceState);
    writeTags(w, link.tags);
    countField(w, ',"droppedAttributesCount":', droppedLinkTagCount(link));
    w.fragment(FLAGS);
    w.small(spanFlags(context.traceFlags, context.isRemote));
    w.byte(0x7d);
  }
  w.byte(0x5d);
}

function writeStatus(w: JsonWriter, activity: Activity): void {
  const code = STATUS[activity.status] ?? 0;
  const message = activity.statusDescription ?? "";
  if (code === 0 && message === "") return;
  // The one message whose first field may be left out: the comma goes after the first present.
  w.fragment(STATUS_FIELD);
  if (message !== "") {
    w.fragment(MESSAGE);
    w.string(message);
    countField(w, ',"code":', code);
  } else countField(w, '"code":', code);
  w.byte(0x7d);
}

const times: ActivityTimes = { time: DEFAULT_TIME_BASE, startTicks: 0, endTicks: 0 };
const nanos: Nanos = { ms: 0, sub: 0 };

function writeNanos(w: JsonWriter, time: TimeBase, ticks: number): void {
  if (splitNanos(time, ticks, nanos)) w.nanos(nanos.ms, nanos.sub);
  else w.ascii(`"${unixNano(time, ticks)}"`);
}

// Ids are the module's own lowercase hex, which needs no escaping.
function writeSpan(w: JsonWriter, activity: Activity): void {
  w.fragment(TRACE_ID);
  w.id(activity.traceId);
  w.fragment(SPAN_ID);
  w.id(activity.spanId);
  w.byte(0x22);
  textField(w, ',"traceState":', activity.traceState);
  const parent = activity.parentSpanId;
  if (parent !== undefined && parent !== "") {
    w.fragment(PARENT_SPAN_ID);
    w.id(parent);
    w.byte(0x22);
  }
  w.fragment(FLAGS);
  w.small(spanFlags(activity.traceFlags, activity.hasRemoteParent));
  textField(w, ',"name":', activity.displayName);
  w.fragment(KIND_FIELD);
  w.small(KIND[activity.kind] ?? 0);
  if (activityTimes(activity, times)) {
    w.fragment(START_TIME);
    writeNanos(w, times.time, times.startTicks);
    w.fragment(END_TIME);
    writeNanos(w, times.time, times.endTicks);
  } else {
    // An object shaped like an activity: its getters.
    w.ascii(`,"startTimeUnixNano":"${activity.startTimeUnixNano}"`);
    w.ascii(`,"endTimeUnixNano":"${endTime(activity)}"`);
  }
  writeTags(w, activity.tags);
  countField(w, ',"droppedAttributesCount":', activity.droppedTagCount);
  writeEvents(w, activity);
  countField(w, ',"droppedEventsCount":', activity.droppedEventCount);
  writeLinks(w, activity);
  countField(w, ',"droppedLinksCount":', activity.droppedLinkCount);
  writeStatus(w, activity);
  w.byte(0x7d);
}

/** The JSON body of a request for `activities` under a resource's tags. */
export function encodeJson(
  activities: readonly Activity[],
  resource: TagList,
): Uint8Array<ArrayBuffer> {
  // Sized for a span of the usual shape (about 500 bytes), so that the buffer rarely grows.
  const w = new JsonWriter(1024 + activities.length * 640);
  w.fragment(REQUEST_START);
  const resourceStart = w.position;
  writeTags(w, resource);
  w.dropComma(resourceStart);
  w.fragment(SCOPE_SPANS);
  let first = true;
  for (const [source, group] of groupBySource(activities)) {
    w.ascii(first ? '{"scope":{' : ',{"scope":{');
    first = false;
    const scopeStart = w.position;
    textField(w, ',"name":', source.name);
    textField(w, ',"version":', source.version);
    writeTags(w, source.tags);
    w.dropComma(scopeStart);
    w.fragment(SPANS);
    for (let i = 0; i < group.length; i++) {
      if (i !== 0) w.byte(0x2c);
      writeSpan(w, group[i]!);
    }
    w.fragment(CLOSE_SCOPE);
  }
  w.fragment(REQUEST_END);
  return w.finish();
}
