// Decoded OTLP spans in the forms the dashboard hands out: OTLP/JSON (the API and the export),
// plain text (filters, the tree), and the snapshots LinkGraph keeps (lean ones for the link
// index, full ones for the tree and the HTML report). Also the memory a span is estimated to hold.

import type { ActivitySnapshot } from "../graph/snapshot.ts";
import {
  KvList,
  type OtlpAttribute,
  type OtlpResource,
  type OtlpScope,
  type OtlpSpan,
  type OtlpValue,
} from "../otlp/_decode_model.ts";

/** A JSON value. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

const KIND_NAMES = ["unspecified", "internal", "server", "client", "producer", "consumer"] as const;
const SNAPSHOT_KINDS = [
  "internal",
  "internal",
  "server",
  "client",
  "producer",
  "consumer",
] as const;
const STATUS_NAMES = ["unset", "ok", "error"] as const;

/** The name of a span kind number (`"unspecified"` for unknown numbers). */
export function kindName(kind: number): string {
  return KIND_NAMES[kind] ?? "unspecified";
}

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** An attribute value as OTLP/JSON writes an `AnyValue`. */
export function anyValueJson(value: OtlpValue): { [key: string]: Json } {
  switch (typeof value) {
    case "string":
      return { stringValue: value };
    case "boolean":
      return { boolValue: value };
    case "bigint":
      return { intValue: value.toString() };
    case "number":
      // JSON has no -0 (JSON.stringify writes 0): the proto3 JSON mapping reads "-0" as -0.
      return {
        doubleValue: Object.is(value, -0)
          ? "-0"
          : Number.isFinite(value)
          ? value
          : Number.isNaN(value)
          ? "NaN"
          : String(value),
      };
  }
  if (value === null) return {};
  if (value instanceof Uint8Array) return { bytesValue: base64(value) };
  if (value instanceof KvList) return { kvlistValue: { values: attributesJson(value.values) } };
  return { arrayValue: { values: value.map(anyValueJson) } };
}

/** Attributes as OTLP/JSON writes them. */
export function attributesJson(attributes: readonly OtlpAttribute[]): Json[] {
  return attributes.map(([key, value]) => ({ key, value: anyValueJson(value) }));
}

/** An attribute value as text: strings as they are, the rest as JSON-like text. */
export function valueText(value: OtlpValue): string {
  switch (typeof value) {
    case "string":
      return value;
    case "boolean":
    case "bigint":
      return String(value);
    case "number":
      return String(value);
  }
  if (value === null) return "";
  if (value instanceof Uint8Array) return base64(value);
  if (value instanceof KvList) {
    return `{${value.values.map(([k, v]) => `${JSON.stringify(k)}:${nestedText(v)}`).join(",")}}`;
  }
  return `[${value.map(nestedText).join(",")}]`;
}

function nestedText(value: OtlpValue): string {
  return typeof value === "string" ? JSON.stringify(value) : valueText(value);
}

/** A value as a tag value of a snapshot: primitives as they are, arrays of them, else text. */
function tagValue(value: OtlpValue): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) {
    return value.map((v) => v === null || typeof v !== "object" ? v : valueText(v));
  }
  return valueText(value);
}

function tags(attributes: readonly OtlpAttribute[]): [string, unknown][] {
  return attributes.map(([k, v]) => [k, tagValue(v)]);
}

/** The `service.name` of a resource, or `undefined`. */
export function serviceName(resource: OtlpResource): string | undefined {
  for (const [key, value] of resource.attributes) {
    if (key === "service.name" && typeof value === "string" && value !== "") return value;
  }
  return undefined;
}

const NO_TAGS: readonly never[] = Object.freeze([]);
const IS_REMOTE = 0x300;

/**
 * The snapshot LinkGraph keeps of a span. A lean one (for the link index of everything held)
 * leaves out tags, events and link tags; a full one (for the tree and the report) has them.
 */
export function snapshotOf(span: OtlpSpan, full: boolean): ActivitySnapshot {
  const start = span.startTimeUnixNano;
  const end = span.endTimeUnixNano < start ? start : span.endTimeUnixNano;
  return {
    traceId: span.traceId,
    spanId: span.spanId,
    parentSpanId: span.parentSpanId === "" ? undefined : span.parentSpanId,
    hasRemoteParent: (span.flags & IS_REMOTE) === IS_REMOTE,
    name: span.name,
    kind: SNAPSHOT_KINDS[span.kind] ?? "internal",
    sourceName: span.scope.name,
    serviceName: serviceName(span.resource),
    startTimeUnixNano: start,
    endTimeUnixNano: end,
    durationTicks: Number((end - start) / 100n),
    tags: full ? tags(span.attributes) : NO_TAGS,
    events: full
      ? span.events.map((e) => ({
        name: e.name,
        timeUnixNano: e.timeUnixNano,
        tags: tags(e.attributes),
        droppedTagCount: e.droppedAttributesCount,
      }))
      : NO_TAGS,
    links: span.links.map((l) => ({
      traceId: l.traceId,
      spanId: l.spanId,
      traceFlags: l.flags & 0xff,
      traceState: l.traceState === "" ? undefined : l.traceState,
      isRemote: (l.flags & IS_REMOTE) === IS_REMOTE,
      tags: full ? tags(l.attributes) : NO_TAGS,
    })),
    status: STATUS_NAMES[span.statusCode] ?? "unset",
    statusDescription: full && span.statusMessage !== "" ? span.statusMessage : undefined,
    droppedLinkCount: span.droppedLinksCount,
  };
}

function setIf(target: { [key: string]: Json }, key: string, value: string | number): void {
  if (value !== "" && value !== 0) target[key] = value;
}

/** A span in OTLP/JSON form (without its resource and scope). */
export function spanJson(span: OtlpSpan): { [key: string]: Json } {
  const out: { [key: string]: Json } = { traceId: span.traceId, spanId: span.spanId };
  setIf(out, "traceState", span.traceState);
  setIf(out, "parentSpanId", span.parentSpanId);
  setIf(out, "flags", span.flags);
  out.name = span.name;
  out.kind = span.kind;
  out.startTimeUnixNano = span.startTimeUnixNano.toString();
  out.endTimeUnixNano = span.endTimeUnixNano.toString();
  if (span.attributes.length > 0) out.attributes = attributesJson(span.attributes);
  setIf(out, "droppedAttributesCount", span.droppedAttributesCount);
  if (span.events.length > 0) {
    out.events = span.events.map((e) => {
      const event: { [key: string]: Json } = { timeUnixNano: e.timeUnixNano.toString() };
      event.name = e.name;
      if (e.attributes.length > 0) event.attributes = attributesJson(e.attributes);
      setIf(event, "droppedAttributesCount", e.droppedAttributesCount);
      return event;
    });
  }
  setIf(out, "droppedEventsCount", span.droppedEventsCount);
  if (span.links.length > 0) {
    out.links = span.links.map((l) => {
      const link: { [key: string]: Json } = { traceId: l.traceId, spanId: l.spanId };
      setIf(link, "traceState", l.traceState);
      if (l.attributes.length > 0) link.attributes = attributesJson(l.attributes);
      setIf(link, "droppedAttributesCount", l.droppedAttributesCount);
      setIf(link, "flags", l.flags);
      return link;
    });
  }
  setIf(out, "droppedLinksCount", span.droppedLinksCount);
  if (span.statusCode !== 0 || span.statusMessage !== "") {
    const status: { [key: string]: Json } = {};
    setIf(status, "message", span.statusMessage);
    setIf(status, "code", span.statusCode);
    out.status = status;
  }
  return out;
}

/** A resource in OTLP/JSON form. */
export function resourceJson(resource: OtlpResource): { [key: string]: Json } {
  const out: { [key: string]: Json } = {};
  if (resource.attributes.length > 0) out.attributes = attributesJson(resource.attributes);
  setIf(out, "droppedAttributesCount", resource.droppedAttributesCount);
  return out;
}

/** A scope in OTLP/JSON form. */
export function scopeJson(scope: OtlpScope): { [key: string]: Json } {
  const out: { [key: string]: Json } = {};
  setIf(out, "name", scope.name);
  setIf(out, "version", scope.version);
  if (scope.attributes.length > 0) out.attributes = attributesJson(scope.attributes);
  setIf(out, "droppedAttributesCount", scope.droppedAttributesCount);
  return out;
}

/** Spans as an OTLP/JSON `ExportTraceServiceRequest`, grouped by resource, then scope. */
export function exportRequestJson(spans: readonly OtlpSpan[]): { [key: string]: Json } {
  const byResource = new Map<OtlpResource, Map<OtlpScope, OtlpSpan[]>>();
  for (const span of spans) {
    let scopes = byResource.get(span.resource);
    if (scopes === undefined) byResource.set(span.resource, scopes = new Map());
    const list = scopes.get(span.scope);
    if (list === undefined) scopes.set(span.scope, [span]);
    else list.push(span);
  }
  const resourceSpans: Json[] = [];
  for (const [resource, scopes] of byResource) {
    const scopeSpans: Json[] = [];
    for (const [scope, list] of scopes) {
      const entry: { [key: string]: Json } = { scope: scopeJson(scope), spans: list.map(spanJson) };
      setIf(entry, "schemaUrl", scope.schemaUrl);
      scopeSpans.push(entry);
    }
    const entry: { [key: string]: Json } = { resource: resourceJson(resource), scopeSpans };
    setIf(entry, "schemaUrl", resource.schemaUrl);
    resourceSpans.push(entry);
  }
  return { resourceSpans };
}

/** A key for a resource or scope: equal for equal content, so that equal ones are kept once. */
export function contentKey(
  attributes: readonly OtlpAttribute[],
  ...more: (string | number)[]
): string {
  return JSON.stringify([more, attributesJson(attributes)]);
}

// Memory estimates, in bytes, of what the store keeps per span: the span object, its lean
// snapshot and index entries in LinkGraph, and the strings and values it owns. Measured figures
// (BENCHMARKS.md) keep them honest; keys and names are shared and count little.
const SPAN_BYTES = 1200;
const ATTRIBUTE_BYTES = 48;
const EVENT_BYTES = 120;
const LINK_BYTES = 320;

/** The bytes a value is estimated to hold. */
export function valueBytes(value: OtlpValue): number {
  switch (typeof value) {
    case "string":
      return 16 + value.length;
    case "bigint":
      return 24;
    case "number":
      return 16;
    case "boolean":
      return 0;
  }
  if (value === null) return 0;
  if (value instanceof Uint8Array) return 96 + value.length;
  if (value instanceof KvList) return 32 + attributesBytes(value.values);
  let n = 32 + 8 * value.length;
  for (const item of value) n += valueBytes(item);
  return n;
}

function attributesBytes(attributes: readonly OtlpAttribute[]): number {
  let n = 0;
  for (const [key, value] of attributes) n += ATTRIBUTE_BYTES + key.length + valueBytes(value);
  return n;
}

/** The bytes a span is estimated to hold in the store (its resource and scope are shared). */
export function spanBytes(span: OtlpSpan): number {
  let n = SPAN_BYTES + span.name.length + span.traceState.length + span.statusMessage.length +
    attributesBytes(span.attributes);
  for (const e of span.events) n += EVENT_BYTES + e.name.length + attributesBytes(e.attributes);
  for (const l of span.links) n += LINK_BYTES + l.traceState.length + attributesBytes(l.attributes);
  return n;
}

/** The bytes a resource or scope is estimated to hold. */
export function sharedBytes(attributes: readonly OtlpAttribute[]): number {
  return 200 + attributesBytes(attributes);
}
