// The OTLP/JSON encoder as it was first written: the request built as an object tree, then
// `JSON.stringify`. Kept by the tests as the reference the direct text writer of
// otlp/_encode_json.ts must match byte for byte.

import type { Activity } from "../../activity.ts";
import { droppedLinkTagCount } from "../../links.ts";
import type { TagList } from "../../tags.ts";
import {
  type AnyValue,
  endTime,
  groupBySource,
  KIND,
  spanFlags,
  STATUS,
  toAnyValue,
} from "../../otlp/_values.ts";

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function anyJson(value: AnyValue): { [key: string]: Json } {
  switch (value.kind) {
    case "string":
      return { stringValue: value.value };
    case "bool":
      return { boolValue: value.value };
    case "int":
      return { intValue: value.value.toString() };
    case "double": {
      const n = value.value;
      return { doubleValue: Number.isFinite(n) ? n : Number.isNaN(n) ? "NaN" : String(n) };
    }
    case "bytes":
      return { bytesValue: base64(value.value) };
    case "array":
      return { arrayValue: { values: value.value.map(anyJson) } };
    case "kvlist":
      return {
        kvlistValue: { values: value.value.map(([key, v]) => ({ key, value: anyJson(v) })) },
      };
    case "empty":
      return {};
  }
}

function tagsJson(target: { [key: string]: Json }, name: string, tags: TagList): void {
  if (tags.length === 0) return;
  const stack: unknown[] = [];
  target[name] = tags.map(([key, value]) => ({
    key,
    value: typeof value === "string" ? { stringValue: value } : anyJson(toAnyValue(value, stack)),
  }));
}

function setIf(target: { [key: string]: Json }, name: string, value: string | number): void {
  if (value !== "" && value !== 0) target[name] = value;
}

function spanJson(activity: Activity): { [key: string]: Json } {
  const span: { [key: string]: Json } = {
    traceId: activity.traceId,
    spanId: activity.spanId,
  };
  setIf(span, "traceState", activity.traceState ?? "");
  setIf(span, "parentSpanId", activity.parentSpanId ?? "");
  span.flags = spanFlags(activity.traceFlags, activity.hasRemoteParent);
  setIf(span, "name", activity.displayName);
  span.kind = KIND[activity.kind] ?? 0;
  span.startTimeUnixNano = activity.startTimeUnixNano.toString();
  span.endTimeUnixNano = endTime(activity).toString();
  tagsJson(span, "attributes", activity.tags);
  setIf(span, "droppedAttributesCount", activity.droppedTagCount);
  if (activity.events.length > 0) {
    span.events = activity.events.map((event) => {
      const out: { [key: string]: Json } = { timeUnixNano: event.timeUnixNano.toString() };
      setIf(out, "name", event.name);
      tagsJson(out, "attributes", event.tags);
      setIf(out, "droppedAttributesCount", event.droppedTagCount);
      return out;
    });
  }
  setIf(span, "droppedEventsCount", activity.droppedEventCount);
  if (activity.links.length > 0) {
    span.links = activity.links.map((link) => {
      const context = link.context;
      const out: { [key: string]: Json } = { traceId: context.traceId, spanId: context.spanId };
      setIf(out, "traceState", context.traceState ?? "");
      tagsJson(out, "attributes", link.tags);
      setIf(out, "droppedAttributesCount", droppedLinkTagCount(link));
      out.flags = spanFlags(context.traceFlags, context.isRemote);
      return out;
    });
  }
  setIf(span, "droppedLinksCount", activity.droppedLinkCount);
  const code = STATUS[activity.status] ?? 0;
  const message = activity.statusDescription ?? "";
  if (code !== 0 || message !== "") {
    const status: { [key: string]: Json } = {};
    setIf(status, "message", message);
    setIf(status, "code", code);
    span.status = status;
  }
  return span;
}

/** The JSON body of a request for `activities` under a resource's tags. */
export function referenceJson(
  activities: readonly Activity[],
  resource: TagList,
): Uint8Array<ArrayBuffer> {
  const scopeSpans: Json[] = [];
  for (const [source, group] of groupBySource(activities)) {
    const scope: { [key: string]: Json } = {};
    setIf(scope, "name", source.name);
    setIf(scope, "version", source.version ?? "");
    tagsJson(scope, "attributes", source.tags);
    scopeSpans.push({ scope, spans: group.map(spanJson) });
  }
  const res: { [key: string]: Json } = {};
  tagsJson(res, "attributes", resource);
  const request = { resourceSpans: [{ resource: res, scopeSpans }] };
  return new TextEncoder().encode(JSON.stringify(request)) as Uint8Array<ArrayBuffer>;
}
