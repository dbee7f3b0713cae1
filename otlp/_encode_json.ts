// The OTLP/HTTP JSON body: the OTLP/JSON mapping of ExportTraceServiceRequest (lowerCamelCase
// keys, hex ids, integer enums, 64-bit integers as decimal strings, default values left out).
// The text is written directly, field by field in the order of the message, with no object
// tree in between: strings are quoted and escaped by `JSON.stringify`, so the body is the same,
// byte for byte, as `JSON.stringify` of the request as an object.

import type { Activity } from "../activity.ts";
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

/** A tag value: strings and numbers directly, the rest through toAnyValue. */
function valueText(value: unknown, stack: unknown[]): string {
  if (typeof value === "string") return `{"stringValue":${quote(value)}}`;
  if (typeof value === "number") {
    if (!Number.isInteger(value) || !(Math.abs(value) < TWO_POW_63)) {
      return `{"doubleValue":${doubleText(value)}}`;
    }
    // A safe integer prints exactly; a larger one through BigInt, which gives every digit.
    const digits = Number.isSafeInteger(value) ? String(value) : BigInt(value).toString();
    return `{"intValue":"${digits}"}`;
  }
  return anyText(toAnyValue(value, stack));
}

/** The attributes: `,"attributes":[...]` (after a message's first field), or `""` for none. */
function tagsText(tags: TagList): string {
  if (tags.length === 0) return "";
  const stack: unknown[] = [];
  let out = "";
  for (let i = 0; i < tags.length; i++) {
    const tag = tags[i]!;
    out += `${i === 0 ? "" : ","}{"key":${quote(tag[0])},"value":${valueText(tag[1], stack)}}`;
  }
  return `,"attributes":[${out}]`;
}

// Each optional field comes after a field that is always there (an id, a time), with its comma
// before it; an empty text is a field left out, as a default value is.

function textField(name: string, value: string | undefined): string {
  return value === undefined || value === "" ? "" : `,"${name}":${quote(value)}`;
}

function countField(name: string, value: number): string {
  return value === 0 ? "" : `,"${name}":${value}`;
}

function eventsText(activity: Activity): string {
  const events = activity.events;
  if (events.length === 0) return "";
  let out = "";
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    out += `${i === 0 ? "" : ","}{"timeUnixNano":"${event.timeUnixNano}"${
      textField("name", event.name)
    }${tagsText(event.tags)}${countField("droppedAttributesCount", event.droppedTagCount)}}`;
  }
  return `,"events":[${out}]`;
}

function linksText(activity: Activity): string {
  const links = activity.links;
  if (links.length === 0) return "";
  let out = "";
  for (let i = 0; i < links.length; i++) {
    const link = links[i]!;
    const context = link.context;
    out += `${i === 0 ? "" : ","}{"traceId":"${context.traceId}","spanId":"${context.spanId}"${
      textField("traceState", context.traceState)
    }${tagsText(link.tags)}${
      countField("droppedAttributesCount", droppedLinkTagCount(link))
    },"flags":${spanFlags(context.traceFlags, context.isRemote)}}`;
  }
  return `,"links":[${out}]`;
}

function statusText(activity: Activity): string {
  const code = STATUS[activity.status] ?? 0;
  const message = activity.statusDescription ?? "";
  if (code === 0 && message === "") return "";
  // The one message whose first field may be left out: the comma goes after the first present.
  const fields = textField("message", message) + countField("code", code);
  return `,"status":{${fields.slice(1)}}`;
}

// Ids are the module's own lowercase hex, which needs no escaping.
function spanText(activity: Activity): string {
  const parent = activity.parentSpanId;
  return `{"traceId":"${activity.traceId}","spanId":"${activity.spanId}"${
    textField("traceState", activity.traceState)
  }${parent === undefined || parent === "" ? "" : `,"parentSpanId":"${parent}"`},"flags":${
    spanFlags(activity.traceFlags, activity.hasRemoteParent)
  }${textField("name", activity.displayName)},"kind":${
    KIND[activity.kind] ?? 0
  },"startTimeUnixNano":"${activity.startTimeUnixNano}","endTimeUnixNano":"${endTime(activity)}"${
    tagsText(activity.tags)
  }${countField("droppedAttributesCount", activity.droppedTagCount)}${eventsText(activity)}${
    countField("droppedEventsCount", activity.droppedEventCount)
  }${linksText(activity)}${countField("droppedLinksCount", activity.droppedLinkCount)}${
    statusText(activity)
  }}`;
}

/** The JSON body of a request for `activities` under a resource's tags. */
export function encodeJson(
  activities: readonly Activity[],
  resource: TagList,
): Uint8Array<ArrayBuffer> {
  // The pieces are joined once at the end: one flat string, which encodes fast (a text built by
  // `+` alone is a tree of pieces, which the encoder would have to flatten piece by piece).
  const parts: string[] = [
    `{"resourceSpans":[{"resource":{${tagsText(resource).slice(1)}},"scopeSpans":[`,
  ];
  let first = true;
  for (const [source, group] of groupBySource(activities)) {
    const scope = textField("name", source.name) + textField("version", source.version) +
      tagsText(source.tags);
    parts.push(`${first ? "" : ","}{"scope":{${scope.slice(1)}},"spans":[`);
    first = false;
    for (let i = 0; i < group.length; i++) {
      parts.push(i === 0 ? spanText(group[i]!) : "," + spanText(group[i]!));
    }
    parts.push("]}");
  }
  parts.push("]}]}");
  return utf8Bytes(parts.join(""));
}

const utf8 = new TextEncoder();

/**
 * The UTF-8 bytes of a text, in a buffer of their own size. `encodeInto` is several times
 * faster than `encode` here; the text is ASCII but for the strings a span holds, so a buffer
 * of its length in bytes is tried first.
 */
function utf8Bytes(text: string): Uint8Array<ArrayBuffer> {
  const ascii = new Uint8Array(text.length);
  const first = utf8.encodeInto(text, ascii);
  if (first.read === text.length) return ascii;
  const wide = new Uint8Array(text.length * 3);
  const { written } = utf8.encodeInto(text, wide);
  return wide.slice(0, written);
}
