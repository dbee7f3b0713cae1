/**
 * OTLP/HTTP export: {@linkcode OtlpExporter} sends recorded activities to any OpenTelemetry
 * backend (a collector, Jaeger, Tempo, a vendor) as `POST {endpoint}/v1/traces`, in
 * `http/protobuf` (the default, with a small built-in encoder) or `http/json`, optionally
 * gzip-compressed, with retries, a timeout and counts of what was delivered and lost.
 * {@linkcode encodeOtlpTraces} gives the request body alone.
 *
 * This is a subpath export (`@tracelinks/activity/otlp`): importing the core module does not
 * load it. `createTracerProviderBuilder().addOtlpExporter()` loads it on first use.
 *
 * @example Send to a collector (here a stand-in `fetch`)
 * ```ts
 * import { ActivitySource, createTracerProviderBuilder } from "@tracelinks/activity";
 * import { OtlpExporter } from "@tracelinks/activity/otlp";
 * import assert from "node:assert/strict";
 *
 * const requests: Request[] = [];
 * const exporter = new OtlpExporter({
 *   endpoint: "http://collector.example:4318",
 *   protocol: "http/json",
 *   fetch: async (input, init) => {
 *     requests.push(new Request(input, init));
 *     return new Response("{}", { headers: { "content-type": "application/json" } });
 *   },
 * });
 * const provider = createTracerProviderBuilder().addSource("Shop").addExporter(exporter).build();
 * new ActivitySource("Shop").startActivity("Checkout")?.stop();
 * await provider.shutdown();
 * assert.equal(requests[0]?.url, "http://collector.example:4318/v1/traces");
 * const body = await requests[0]!.json();
 * assert.equal(body.resourceSpans[0].scopeSpans[0].spans[0].name, "Checkout");
 * assert.equal(exporter.deliveredCount, 1);
 * ```
 *
 * @module
 */

import type { Activity, ActivitySourceInfo } from "./activity.ts";
import type { ActivityKind } from "./kind.ts";
import type { TagList } from "./tags.ts";
import { droppedLinkTagCount } from "./links.ts";
import type { ActivityExporter, FlushOptions, ProcessorContext } from "./processor.ts";
import type { Resource } from "./resource.ts";
import { type ErrorHandler, type ReportLevel, reportToStderr, safeReport } from "./_diagnostics.ts";
import { escapeControl, MAX_ARRAY_DEPTH, MAX_ARRAY_ELEMENTS, safeString } from "./_format.ts";
import { int64Number, ProtoWriter, readFields } from "./_protobuf.ts";
import { runtimeEnv, unreadableEnv } from "./_env.ts";
import { MAX_TIMER_DELAY, settlesWithin, timeoutOption } from "./_timers.ts";

export type { ErrorHandler, ReportLevel };

/** The OTLP/HTTP encodings: binary protobuf (the default) or JSON. */
export type OtlpProtocol = "http/protobuf" | "http/json";

/** Whether request bodies are compressed. */
export type OtlpCompression = "gzip" | "none";

/** How failed requests are retried (the OpenTelemetry SDKs' defaults). */
export interface OtlpRetryOptions {
  /**
   * Attempts per export, the first included; 1 turns retries off.
   * @default {5}
   */
  maxAttempts?: number;
  /**
   * The wait before the first retry, in milliseconds (before jitter).
   * @default {1000}
   */
  initialBackoff?: number;
  /**
   * The longest wait between attempts, in milliseconds (before jitter).
   * @default {5000}
   */
  maxBackoff?: number;
  /**
   * The factor by which the wait grows after each attempt.
   * @default {1.5}
   */
  multiplier?: number;
}

/** A `fetch`-shaped function, injectable for tests. */
export type FetchFunction = (input: string, init: RequestInit) => Promise<Response>;

/** Options of {@linkcode OtlpExporter}. Each one left out is read from the environment. */
export interface OtlpExporterOptions {
  /**
   * The full URL requests go to, used as is. Wins over `endpoint`.
   * Environment: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`.
   * @default {"http://localhost:4318/v1/traces"}
   */
  url?: string;
  /**
   * The base URL of the OTLP/HTTP receiver; `/v1/traces` is appended.
   * Environment: `OTEL_EXPORTER_OTLP_ENDPOINT`.
   * @default {"http://localhost:4318"}
   */
  endpoint?: string;
  /**
   * Headers sent with every request (for example an API key). They are added to those of the
   * environment (`OTEL_EXPORTER_OTLP_HEADERS`, then `OTEL_EXPORTER_OTLP_TRACES_HEADERS`) and
   * win over them.
   * @default {{}}
   */
  headers?: Record<string, string> | Headers | readonly (readonly [string, string])[];
  /**
   * How long one export may take, in milliseconds, all its attempts and waits included; each
   * request is aborted when the time is up. Environment: `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT`,
   * `OTEL_EXPORTER_OTLP_TIMEOUT`.
   * @default {10000}
   */
  timeout?: number;
  /**
   * The encoding. Environment: `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`,
   * `OTEL_EXPORTER_OTLP_PROTOCOL` (`grpc` is not supported and falls back to the default).
   * @default {"http/protobuf"}
   */
  protocol?: OtlpProtocol;
  /**
   * Body compression. Environment: `OTEL_EXPORTER_OTLP_TRACES_COMPRESSION`,
   * `OTEL_EXPORTER_OTLP_COMPRESSION`.
   * @default {"none"}
   */
  compression?: OtlpCompression;
  /**
   * Retries on 429, 502, 503, 504 and network errors.
   * @default {{ maxAttempts: 5, initialBackoff: 1000, maxBackoff: 5000, multiplier: 1.5 }}
   */
  retry?: OtlpRetryOptions;
  /**
   * At most this many bytes of a response body are read (the rest is discarded).
   * @default {65536}
   */
  maxResponseBytes?: number;
  /**
   * The `fetch` used to send requests.
   * @default {globalThis.fetch}
   */
  fetch?: FetchFunction;
  /**
   * Reads a configuration variable. By default variables are read from `Deno.env` only when
   * the env permission for that variable is already granted (never a prompt), from
   * `process.env` on Node and Bun, and not at all in browsers.
   * @default {the process environment, where permitted}
   */
  env?: (name: string) => string | undefined;
  /**
   * Receives what the exporter reports itself: partial successes, unreadable responses,
   * ignored configuration variables, and at shutdown the count of activities not delivered.
   * Failed exports are also rejected, so that the processor reports them.
   * @default {the error handler of the provider the exporter is added to, else stderr}
   */
  onError?: ErrorHandler;
}

/**
 * Why an export failed: the rejection of {@linkcode OtlpExporter.export}, and what
 * {@linkcode OtlpExporter} reports at shutdown.
 *
 * @example
 * ```ts
 * import { OtlpExportError } from "@tracelinks/activity/otlp";
 * import assert from "node:assert/strict";
 *
 * const error = new OtlpExportError("HTTP 400 Bad Request", { status: 400, attempts: 1, lostCount: 2 });
 * assert.equal(error.name, "OtlpExportError");
 * assert.equal(error.lostCount, 2);
 * ```
 */
export class OtlpExportError extends Error {
  /** The HTTP status of the last response, or `undefined` when there was none. */
  readonly status: number | undefined;
  /** How many requests were made. */
  readonly attempts: number;
  /** How many activities were not delivered. */
  readonly lostCount: number;

  /**
   * Makes the error.
   *
   * @param message What went wrong.
   * @param details The last status, the attempts made and the activities lost.
   */
  constructor(
    message: string,
    details: { status?: number | undefined; attempts?: number; lostCount?: number } = {},
  ) {
    super(message);
    this.name = "OtlpExportError";
    this.status = details.status;
    this.attempts = details.attempts ?? 0;
    this.lostCount = details.lostCount ?? 0;
  }
}

// ---------------------------------------------------------------------------------------------
// Values: every tag value becomes an OTLP AnyValue; what the protocol cannot carry becomes text.

type AnyValue =
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "bool"; readonly value: boolean }
  | { readonly kind: "int"; readonly value: bigint }
  | { readonly kind: "double"; readonly value: number }
  | { readonly kind: "bytes"; readonly value: Uint8Array }
  | { readonly kind: "array"; readonly value: readonly AnyValue[] }
  | { readonly kind: "kvlist"; readonly value: readonly (readonly [string, AnyValue])[] }
  | { readonly kind: "empty" };

const EMPTY_VALUE: AnyValue = { kind: "empty" };
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const TWO_POW_63 = 2 ** 63;

function text(value: string): AnyValue {
  return { kind: "string", value };
}

// Elements (of arrays, maps and objects, nested ones included) still to encode of the tag value
// being encoded: a holey `new Array(2 ** 32 - 1)` is a few bytes, its encoding all memory.
let budget = MAX_ARRAY_ELEMENTS;

/** How many of `length` elements to encode, taken from the budget. */
function take(length: unknown): number {
  const n = Math.min(typeof length === "number" && length >= 1 ? Math.floor(length) : 0, budget);
  budget -= n;
  return n;
}

/**
 * Converts a tag value: strings, booleans, integers (as `intValue`, bigints too when they fit
 * in 64 bits), other numbers (as `doubleValue`), byte arrays, arrays and plain objects or
 * maps (nested); `null`, `undefined` and holes are the empty value; anything else (symbols,
 * functions, class instances, cycles, too deep nesting) becomes its string form. At most
 * `MAX_ARRAY_ELEMENTS` elements of a value are encoded, nested ones included. Never throws.
 */
function toAnyValue(value: unknown, stack: unknown[]): AnyValue {
  if (stack.length === 0) budget = MAX_ARRAY_ELEMENTS; // a new tag value
  switch (typeof value) {
    case "string":
      return text(value);
    case "boolean":
      return { kind: "bool", value };
    case "number":
      return Number.isInteger(value) && Math.abs(value) < TWO_POW_63
        ? { kind: "int", value: BigInt(value) }
        : { kind: "double", value };
    case "bigint":
      return value >= INT64_MIN && value <= INT64_MAX
        ? { kind: "int", value }
        : text(value.toString());
    case "undefined":
      return EMPTY_VALUE;
    case "symbol":
    case "function":
      return text(safeString(value));
  }
  if (value === null) return EMPTY_VALUE;
  if (stack.includes(value)) return text("[Circular]");
  if (stack.length >= MAX_ARRAY_DEPTH) return text(safeString(value));
  stack.push(value);
  try {
    if (value instanceof Uint8Array) return { kind: "bytes", value };
    if (value instanceof ArrayBuffer) return { kind: "bytes", value: new Uint8Array(value) };
    if (value instanceof DataView) {
      return {
        kind: "bytes",
        value: new Uint8Array(value.buffer, value.byteOffset, value.byteLength),
      };
    }
    if (Array.isArray(value) || ArrayBuffer.isView(value)) {
      const list = value as ArrayLike<unknown>;
      const n = take(list.length);
      const out: AnyValue[] = [];
      for (let i = 0; i < n; i++) out.push(toAnyValue(list[i], stack));
      return { kind: "array", value: out };
    }
    if (value instanceof Map) {
      const n = take(value.size);
      const out: [string, AnyValue][] = [];
      for (const [k, v] of value) {
        if (out.length === n) break;
        out.push([safeString(k), toAnyValue(v, stack)]);
      }
      return { kind: "kvlist", value: out };
    }
    if (value instanceof Date) {
      return text(Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString());
    }
    const proto = Object.getPrototypeOf(value);
    if (proto === Object.prototype || proto === null) {
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record);
      const n = take(keys.length);
      const out: [string, AnyValue][] = [];
      for (let i = 0; i < n; i++) out.push([keys[i]!, toAnyValue(record[keys[i]!], stack)]);
      return { kind: "kvlist", value: out };
    }
    return text(safeString(value));
  } catch {
    return text(safeString(value));
  } finally {
    stack.pop();
  }
}

// ---------------------------------------------------------------------------------------------
// The request: activities grouped by instrumentation scope (their source), under one resource.

const KIND: Record<ActivityKind, number> = {
  internal: 1,
  server: 2,
  client: 3,
  producer: 4,
  consumer: 5,
};
const STATUS = { unset: 0, ok: 1, error: 2 } as const;
const HAS_IS_REMOTE = 0x100;
const IS_REMOTE = 0x200;

function spanFlags(traceFlags: number, isRemote: boolean): number {
  return (traceFlags & 0xff) | HAS_IS_REMOTE | (isRemote ? IS_REMOTE : 0);
}

function groupBySource(activities: readonly Activity[]): Map<ActivitySourceInfo, Activity[]> {
  const groups = new Map<ActivitySourceInfo, Activity[]>();
  for (const activity of activities) {
    const group = groups.get(activity.source);
    if (group === undefined) groups.set(activity.source, [activity]);
    else group.push(activity);
  }
  return groups;
}

function resourceTags(resource: Resource | undefined, serviceName: string): TagList {
  const attributes = resource?.attributes ?? [];
  for (const [key] of attributes) if (key === "service.name") return attributes;
  return [...attributes, ["service.name", serviceName]];
}

function endTime(activity: Activity): bigint {
  return activity.endTimeUnixNano ?? activity.startTimeUnixNano;
}

// Protobuf (opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest).

function writeAny(w: ProtoWriter, field: number, value: AnyValue): void {
  const mark = w.begin(field);
  switch (value.kind) {
    case "string":
      w.string(1, value.value, true);
      break;
    case "bool":
      w.bool(2, value.value, true);
      break;
    case "int":
      w.int64(3, value.value);
      break;
    case "double":
      w.double(4, value.value);
      break;
    case "array": {
      const inner = w.begin(5);
      for (const item of value.value) writeAny(w, 1, item);
      w.end(inner);
      break;
    }
    case "kvlist": {
      const inner = w.begin(6);
      for (const [key, item] of value.value) writeKeyValue(w, 1, key, item);
      w.end(inner);
      break;
    }
    case "bytes":
      w.bytes(7, value.value);
      break;
  }
  w.end(mark);
}

function writeKeyValue(w: ProtoWriter, field: number, key: string, value: AnyValue): void {
  const mark = w.begin(field);
  w.string(1, key);
  writeAny(w, 2, value);
  w.end(mark);
}

function writeTags(w: ProtoWriter, field: number, tags: TagList): void {
  let stack: unknown[] | undefined;
  for (const [key, value] of tags) {
    if (typeof value === "string") {
      // The common case, without an intermediate value.
      const kv = w.begin(field);
      w.string(1, key);
      const any = w.begin(2);
      w.string(1, value, true);
      w.end(any);
      w.end(kv);
    } else {
      writeKeyValue(w, field, key, toAnyValue(value, stack ??= []));
    }
  }
}

function writeSpan(w: ProtoWriter, activity: Activity): void {
  const span = w.begin(2);
  w.hex(1, activity.traceId);
  w.hex(2, activity.spanId);
  w.string(3, activity.traceState ?? "");
  w.hex(4, activity.parentSpanId ?? "");
  w.string(5, activity.displayName);
  w.uint(6, KIND[activity.kind] ?? 0);
  w.fixed64(7, activity.startTimeUnixNano);
  w.fixed64(8, endTime(activity));
  writeTags(w, 9, activity.tags);
  w.uint(10, activity.droppedTagCount);
  for (const event of activity.events) {
    const mark = w.begin(11);
    w.fixed64(1, event.timeUnixNano);
    w.string(2, event.name);
    writeTags(w, 3, event.tags);
    w.uint(4, event.droppedTagCount);
    w.end(mark);
  }
  w.uint(12, activity.droppedEventCount);
  for (const link of activity.links) {
    const context = link.context;
    const mark = w.begin(13);
    w.hex(1, context.traceId);
    w.hex(2, context.spanId);
    w.string(3, context.traceState ?? "");
    writeTags(w, 4, link.tags);
    w.uint(5, droppedLinkTagCount(link));
    w.fixed32(6, spanFlags(context.traceFlags, context.isRemote));
    w.end(mark);
  }
  w.uint(14, activity.droppedLinkCount);
  const code = STATUS[activity.status] ?? 0;
  const message = activity.statusDescription ?? "";
  if (code !== 0 || message !== "") {
    const mark = w.begin(15);
    w.string(2, message);
    w.uint(3, code);
    w.end(mark);
  }
  w.fixed32(16, spanFlags(activity.traceFlags, activity.hasRemoteParent));
  w.end(span);
}

function encodeProtobuf(
  activities: readonly Activity[],
  resource: TagList,
): Uint8Array<ArrayBuffer> {
  const w = new ProtoWriter();
  const resourceSpans = w.begin(1);
  const res = w.begin(1);
  writeTags(w, 1, resource);
  w.end(res);
  for (const [source, group] of groupBySource(activities)) {
    const scopeSpans = w.begin(2);
    const scope = w.begin(1);
    w.string(1, source.name);
    w.string(2, source.version ?? "");
    writeTags(w, 3, source.tags);
    w.end(scope);
    for (const activity of group) writeSpan(w, activity);
    w.end(scopeSpans);
  }
  w.end(resourceSpans);
  return w.finish();
}

// JSON (the OTLP/JSON mapping: lowerCamelCase keys, hex ids, integer enums, 64-bit integers as
// decimal strings, default values left out).

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

function encodeJson(activities: readonly Activity[], resource: TagList): Uint8Array<ArrayBuffer> {
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

/** Options of {@linkcode encodeOtlpTraces}. */
export interface EncodeOtlpTracesOptions {
  /**
   * The encoding.
   * @default {"http/protobuf"}
   */
  protocol?: OtlpProtocol;
  /**
   * The `service.name` sent when the resource has none.
   * @default {"unknown_service"}
   */
  serviceName?: string;
}

/**
 * Encodes activities as an OTLP `ExportTraceServiceRequest`: the body of one
 * `POST /v1/traces`. Activities are grouped by source (the instrumentation scope) under the
 * resource, which gets `service.name = "unknown_service"` when it has none. Tag values the
 * protocol cannot carry (symbols, functions, cycles, class instances) are sent as their string
 * form; this function does not throw for any tag value.
 *
 * @param activities Stopped activities.
 * @param resource The resource they came from.
 * @param options The encoding and the fallback service name.
 * @returns The encoded request.
 * @throws {TypeError} When `protocol` is not `"http/protobuf"` or `"http/json"`.
 *
 * @example JSON, as the OTLP specification maps it
 * ```ts
 * import { ActivitySource, createTracerProviderBuilder, InMemoryExporter, Resource } from "@tracelinks/activity";
 * import { encodeOtlpTraces } from "@tracelinks/activity/otlp";
 * import assert from "node:assert/strict";
 *
 * const memory = new InMemoryExporter();
 * using _provider = createTracerProviderBuilder().addSource("App").addInMemoryExporter(memory).build();
 * new ActivitySource("App", "1.0").startActivity("Work", { tags: { retries: 3 } })?.stop();
 * const body = encodeOtlpTraces(memory.activities, new Resource({ "service.name": "api" }), {
 *   protocol: "http/json",
 * });
 * const request = JSON.parse(new TextDecoder().decode(body));
 * const scopeSpans = request.resourceSpans[0].scopeSpans[0];
 * assert.deepEqual(scopeSpans.scope, { name: "App", version: "1.0" });
 * assert.deepEqual(scopeSpans.spans[0].attributes, [{ key: "retries", value: { intValue: "3" } }]);
 * ```
 */
export function encodeOtlpTraces(
  activities: readonly Activity[],
  resource?: Resource,
  options: EncodeOtlpTracesOptions = {},
): Uint8Array<ArrayBuffer> {
  const protocol = options.protocol ?? "http/protobuf";
  if (protocol !== "http/protobuf" && protocol !== "http/json") {
    throw new TypeError(
      `Cannot encode OTLP traces: protocol must be "http/protobuf" or "http/json", got ${
        safeString(protocol)
      }`,
    );
  }
  const attributes = resourceTags(resource, options.serviceName ?? "unknown_service");
  return protocol === "http/json"
    ? encodeJson(activities, attributes)
    : encodeProtobuf(activities, attributes);
}

// ---------------------------------------------------------------------------------------------
// Configuration.

const DEFAULT_ENDPOINT = "http://localhost:4318";
const TRACES_PATH = "v1/traces";
const DEFAULT_TIMEOUT = 10_000;
const DEFAULT_MAX_RESPONSE_BYTES = 65_536;
const DEFAULT_RETRY: Required<OtlpRetryOptions> = {
  maxAttempts: 5,
  initialBackoff: 1000,
  maxBackoff: 5000,
  multiplier: 1.5,
};
const RETRYABLE = new Set([429, 502, 503, 504]);

function checkUrl(value: unknown, what: string): URL {
  if (typeof value !== "string") {
    throw new TypeError(`Cannot make OtlpExporter: ${what} must be a string, got ${typeof value}`);
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new SyntaxError(
      `Cannot make OtlpExporter: ${what} ${JSON.stringify(value)} is not a URL`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(
      `Cannot make OtlpExporter: ${what} must be an http or https URL, got ${
        JSON.stringify(value)
      }`,
    );
  }
  return url;
}

function tracesUrl(base: URL): string {
  const url = new URL(base.href);
  url.pathname = url.pathname.endsWith("/")
    ? url.pathname + TRACES_PATH
    : `${url.pathname}/${TRACES_PATH}`;
  return url.href;
}

/** Parses the `OTEL_EXPORTER_OTLP_HEADERS` form: `key=value,key2=value2`, values %-encoded. */
function parseHeaderList(value: string): [string, string][] {
  const out: [string, string][] = [];
  for (const item of value.split(",")) {
    const at = item.indexOf("=");
    if (at <= 0) continue;
    const key = item.slice(0, at).trim();
    let v = item.slice(at + 1).trim();
    try {
      v = decodeURIComponent(v);
    } catch {
      // Kept as written.
    }
    if (key !== "") out.push([key, v]);
  }
  return out;
}

function positiveNumber(value: unknown, what: string, allowZero = false): number {
  if (
    typeof value !== "number" || !Number.isFinite(value) || value < 0 ||
    (!allowZero && value === 0)
  ) {
    throw new RangeError(
      `Cannot make OtlpExporter: ${what} must be a ${
        allowZero ? "non-negative" : "positive"
      } finite number, got ${safeString(value)}`,
    );
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// Responses.

/**
 * Settles as `promise` does, or rejects with the signal's reason when it aborts first: the
 * timeout holds even for a `fetch` or a body stream that ignores the signal.
 */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const abort = (): void => reject(signal.reason);
    signal.addEventListener("abort", abort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", abort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", abort);
        reject(error);
      },
    );
  });
}

async function readLimited(
  response: Response,
  limit: number,
  signal: AbortSignal,
): Promise<{ bytes: Uint8Array; complete: boolean }> {
  const body = response.body;
  if (body === null) return { bytes: new Uint8Array(0), complete: true };
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let complete = true;
  try {
    while (true) {
      let read: ReadableStreamReadResult<Uint8Array>;
      try {
        read = await untilAborted(reader.read(), signal);
      } catch (error) {
        reader.cancel().catch(() => {});
        throw error;
      }
      const { done, value } = read;
      if (done) break;
      if (size + value.length > limit) {
        chunks.push(value.subarray(0, limit - size));
        size = limit;
        complete = false;
        await reader.cancel().catch(() => {});
        break;
      }
      chunks.push(value);
      size += value.length;
    }
  } finally {
    reader.releaseLock();
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return { bytes, complete };
}

function isJson(response: Response, protocol: OtlpProtocol): boolean {
  const type = response.headers.get("content-type") ?? "";
  if (type.includes("json")) return true;
  if (type.includes("protobuf")) return false;
  return protocol === "http/json";
}

/** The partial success of an `ExportTraceServiceResponse`; throws on unreadable input. */
function readPartialSuccess(
  bytes: Uint8Array,
  json: boolean,
): { rejected: number; message: string } {
  let rejected = 0;
  let message = "";
  if (bytes.length === 0) return { rejected, message };
  if (json) {
    const body = JSON.parse(new TextDecoder().decode(bytes));
    if (typeof body !== "object" || body === null) {
      throw new SyntaxError("Cannot read OTLP response: not a JSON object");
    }
    const partial = body.partialSuccess ?? body.partial_success;
    if (typeof partial === "object" && partial !== null) {
      const count = Number(partial.rejectedSpans ?? partial.rejected_spans ?? 0);
      if (Number.isFinite(count) && count > 0) rejected = count;
      const text = partial.errorMessage ?? partial.error_message;
      if (typeof text === "string") message = text;
    }
    return { rejected, message };
  }
  for (const field of readFields(bytes)) {
    if (field.field !== 1 || field.wire !== 2) continue;
    for (const inner of readFields(field.bytes)) {
      if (inner.field === 1 && inner.wire === 0) rejected = Math.max(0, int64Number(inner.varint));
      else if (inner.field === 2 && inner.wire === 2) {
        message = new TextDecoder().decode(inner.bytes);
      }
    }
  }
  return { rejected, message };
}

/** A short, printable description of an error response body (google.rpc.Status or text). */
function describeErrorBody(bytes: Uint8Array, json: boolean): string {
  if (bytes.length === 0) return "";
  let message = "";
  try {
    if (json) {
      const body = JSON.parse(new TextDecoder().decode(bytes));
      if (typeof body?.message === "string") message = body.message;
    } else {
      for (const field of readFields(bytes)) {
        if (field.field === 2 && field.wire === 2) {
          message = new TextDecoder("utf-8", { fatal: true }).decode(field.bytes);
        }
      }
    }
  } catch {
    message = "";
  }
  if (message === "") message = new TextDecoder().decode(bytes);
  message = escapeControl(message.trim());
  return message.length > 200 ? `${message.slice(0, 200)}...` : message;
}

function retryAfterMs(value: string | null): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // Every HTTP-date form names the day and month; without a letter, Date.parse would read
  // junk such as "1.5" as a date in 2001, that is, "retry now".
  if (!/[A-Za-z]/.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - Date.now());
}

/** Waits `ms` milliseconds, or less when `signal` aborts first. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, Math.min(ms, MAX_TIMER_DELAY));
    signal.addEventListener("abort", done, { once: true });
  });
}

/** A signal that aborts when either does (`AbortSignal.any` where the runtime has it). */
function eitherSignal(a: AbortSignal, b: AbortSignal): AbortSignal {
  const any = (AbortSignal as { any?: (signals: AbortSignal[]) => AbortSignal }).any;
  if (typeof any === "function") return any.call(AbortSignal, [a, b]);
  const controller = new AbortController();
  for (const signal of [a, b]) {
    if (signal.aborted) controller.abort(signal.reason);
    else signal.addEventListener("abort", () => controller.abort(signal.reason), { once: true });
  }
  return controller.signal;
}

async function gzip(data: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([data]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

interface DenoPermissions {
  permissions?: { querySync?(descriptor: { name: "net"; host: string }): { state: string } };
}

/** The host and port Deno's net permission is asked about for `url`. */
function netHost(url: string): string | undefined {
  if ((globalThis as { Deno?: unknown }).Deno === undefined) return undefined;
  try {
    const parsed = new URL(url);
    const port = parsed.port !== "" ? parsed.port : parsed.protocol === "https:" ? "443" : "80";
    return `${parsed.hostname}:${port}`;
  } catch {
    return undefined;
  }
}

/**
 * On Deno, when the net permission for the receiver is not granted: what to say (the flag to
 * add). Asked with `querySync`, which never prompts; sending would prompt, or fail.
 */
function netPermissionProblem(host: string | undefined, url: string): string | undefined {
  if (host === undefined) return undefined;
  try {
    const permissions = (globalThis as { Deno?: DenoPermissions }).Deno?.permissions;
    if (typeof permissions?.querySync !== "function") return undefined;
    if (permissions.querySync({ name: "net", host }).state === "granted") return undefined;
  } catch {
    return undefined; // Cannot tell: the request will say.
  }
  return `the net permission for ${host} is not granted (the exporter never asks for it): run with --allow-net=${
    new URL(url).host
  }`;
}

/** Whether an error is the runtime refusing for lack of a permission: no retry can help. */
function isPermissionError(error: unknown): boolean {
  try {
    const errors = (globalThis as {
      Deno?: { errors?: { NotCapable?: unknown; PermissionDenied?: unknown } };
    }).Deno?.errors;
    for (const type of [errors?.NotCapable, errors?.PermissionDenied]) {
      if (typeof type === "function" && error instanceof type) return true;
    }
    // Node.js wraps the reason of a failed fetch in `cause`.
    for (const candidate of [error, (error as { cause?: unknown } | null)?.cause]) {
      if (typeof candidate !== "object" || candidate === null) continue;
      const { name, code } = candidate as { name?: unknown; code?: unknown };
      if (name === "NotCapable" || name === "PermissionDenied" || code === "ERR_ACCESS_DENIED") {
        return true;
      }
    }
    return false;
  } catch {
    return false;
  }
}

function errorText(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? ` (${error.cause.message})` : "";
    return `${error.name}: ${error.message}${cause}`;
  }
  return safeString(error);
}

// ---------------------------------------------------------------------------------------------
// The exporter.

/**
 * Sends recorded activities to an OTLP/HTTP receiver (`POST {endpoint}/v1/traces`): an
 * OpenTelemetry Collector, Jaeger (its all-in-one image listens on 4318), Grafana Tempo, or
 * a vendor's endpoint. Use it behind the batch processor in production; it also works behind
 * `SimpleProcessor` (one request per activity).
 *
 * Delivery: requests answered 429, 502, 503 or 504, and network errors, are retried with
 * exponential backoff and jitter (honouring `Retry-After`) until `retry.maxAttempts` or the
 * `timeout` of the export is reached; other answers are final. A failed export rejects (the
 * processor reports it) and its activities are counted in {@linkcode OtlpExporter.lostCount};
 * a partial success counts the rejected spans as lost and rejects too. At shutdown, pending
 * exports are awaited (each ends within its timeout) and the number of activities lost is
 * reported. The exporter never throws into the program it observes.
 *
 * @example Counts of what was delivered and lost
 * ```ts
 * import { ActivitySource, createTracerProviderBuilder } from "@tracelinks/activity";
 * import { OtlpExporter } from "@tracelinks/activity/otlp";
 * import assert from "node:assert/strict";
 *
 * let calls = 0;
 * const exporter = new OtlpExporter({
 *   retry: { initialBackoff: 1 },
 *   env: () => undefined,
 *   fetch: async () => new Response(null, { status: ++calls === 1 ? 503 : 200 }),
 * });
 * const provider = createTracerProviderBuilder().addSource("App").addExporter(exporter).build();
 * new ActivitySource("App").startActivity("Work")?.stop();
 * await provider.shutdown();
 * assert.equal(calls, 2);
 * assert.equal(exporter.deliveredCount, 1);
 * assert.equal(exporter.lostCount, 0);
 * ```
 */
export class OtlpExporter implements ActivityExporter {
  readonly #url: string;
  readonly #headers: Headers;
  readonly #timeout: number;
  readonly #protocol: OtlpProtocol;
  readonly #compression: OtlpCompression;
  readonly #retry: Required<OtlpRetryOptions>;
  readonly #maxResponseBytes: number;
  readonly #fetch: FetchFunction;
  readonly #ownHandler: boolean;
  #onError: ErrorHandler;
  // Reports made before a provider handed over its handler, when no onError was given.
  #early: [Error, string, ReportLevel][] | undefined = [];
  readonly #pending = new Set<Promise<void>>();
  // The net permission to ask Deno about before each request (the runtime's fetch only), and
  // the variables that would have set the endpoint but could not be read.
  readonly #netHost: string | undefined;
  readonly #unreadEndpoint: readonly string[];
  #endpointHinted = false;
  // Aborted when a shutdown's time is up: requests and waits under way end at once.
  readonly #abandon = new AbortController();
  #delivered = 0;
  #lost = 0;
  // Lost activities whose loss was said already: to a missing permission (in the failed
  // export), or given up by a shutdown whose caller counted them.
  #lostSaid = 0;
  #lastError: unknown;
  #shutdown: Promise<void> | undefined;

  /**
   * Makes the exporter. Options left out are read from the standard `OTEL_EXPORTER_OTLP_*`
   * variables where permitted (see {@linkcode OtlpExporterOptions.env}); a variable with a
   * bad value is reported and ignored.
   *
   * @param options Where and how to send.
   * @throws {TypeError} When an option has the wrong type or an unknown value.
   * @throws {SyntaxError} When `url` or `endpoint` is not a URL.
   * @throws {RangeError} When a number is out of range.
   */
  constructor(options: OtlpExporterOptions = {}) {
    if (typeof options !== "object" || options === null) {
      throw new TypeError("Cannot make OtlpExporter: options must be an object");
    }
    for (const name of ["fetch", "env", "onError"] as const) {
      if (options[name] !== undefined && typeof options[name] !== "function") {
        throw new TypeError(`Cannot make OtlpExporter: ${name} must be a function`);
      }
    }
    this.#ownHandler = options.onError !== undefined;
    this.#onError = options.onError ?? reportToStderr;
    if (this.#ownHandler) this.#early = undefined;
    const env = options.env ?? runtimeEnv;
    const read = (name: string): string | undefined => {
      try {
        const value = env(name);
        return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
      } catch {
        return undefined;
      }
    };
    const ignore = (name: string, value: string, why: string): void => {
      this.#report(
        new TypeError(`Ignoring ${name}=${JSON.stringify(value)}: ${why}`),
        "warn",
        "OtlpExporter configuration",
      );
    };
    const envChoice = <T extends string>(
      suffix: string,
      allowed: readonly T[],
    ): T | undefined => {
      for (const name of [`OTEL_EXPORTER_OTLP_TRACES_${suffix}`, `OTEL_EXPORTER_OTLP_${suffix}`]) {
        const value = read(name);
        if (value === undefined) continue;
        if ((allowed as readonly string[]).includes(value)) return value as T;
        ignore(name, value, `expected one of ${allowed.join(", ")}`);
      }
      return undefined;
    };

    // Where. An endpoint left to the default because its variables could not be read (Deno
    // without the env permission) is pointed out if sending there fails.
    if (options.url !== undefined) {
      this.#url = checkUrl(options.url, "url").href;
    } else if (options.endpoint !== undefined) {
      this.#url = tracesUrl(checkUrl(options.endpoint, "endpoint"));
    } else {
      let url: string | undefined;
      const traces = read("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
      if (traces !== undefined) {
        try {
          url = checkUrl(traces, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").href;
        } catch {
          ignore("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", traces, "not an http or https URL");
        }
      }
      const base = read("OTEL_EXPORTER_OTLP_ENDPOINT");
      if (url === undefined && base !== undefined) {
        try {
          url = tracesUrl(checkUrl(base, "OTEL_EXPORTER_OTLP_ENDPOINT"));
        } catch {
          ignore("OTEL_EXPORTER_OTLP_ENDPOINT", base, "not an http or https URL");
        }
      }
      this.#url = url ?? tracesUrl(new URL(DEFAULT_ENDPOINT));
    }
    this.#unreadEndpoint = options.url === undefined && options.endpoint === undefined &&
        options.env === undefined && this.#url === tracesUrl(new URL(DEFAULT_ENDPOINT))
      ? unreadableEnv(["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"])
      : [];

    // Headers: general variable, then the traces variable, then the options.
    const headers = new Headers();
    for (const name of ["OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"]) {
      const value = read(name);
      if (value === undefined) continue;
      for (const [key, v] of parseHeaderList(value)) {
        try {
          headers.set(key, v);
        } catch {
          ignore(name, value, `header ${JSON.stringify(key)} is not valid`);
        }
      }
    }
    if (options.headers !== undefined) {
      try {
        const given = new Headers(options.headers as HeadersInit);
        given.forEach((value, key) => headers.set(key, value));
      } catch (error) {
        throw new TypeError(`Cannot make OtlpExporter: headers are not valid: ${errorText(error)}`);
      }
    }
    this.#headers = headers;

    // Timeout.
    if (options.timeout !== undefined) {
      this.#timeout = positiveNumber(options.timeout, "timeout");
    } else {
      let timeout: number | undefined;
      for (const name of ["OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"]) {
        const value = read(name);
        if (value === undefined || timeout !== undefined) continue;
        const n = Number(value);
        if (/^\d+$/.test(value) && n > 0) timeout = n;
        else ignore(name, value, "expected a positive number of milliseconds");
      }
      this.#timeout = timeout ?? DEFAULT_TIMEOUT;
    }

    // Protocol and compression.
    const protocols = ["http/protobuf", "http/json"] as const;
    if (options.protocol !== undefined) {
      if (!(protocols as readonly string[]).includes(options.protocol)) {
        throw new TypeError(
          `Cannot make OtlpExporter: protocol must be "http/protobuf" or "http/json", got ${
            safeString(options.protocol)
          }`,
        );
      }
      this.#protocol = options.protocol;
    } else {
      this.#protocol = envChoice("PROTOCOL", protocols) ?? "http/protobuf";
    }
    const compressions = ["gzip", "none"] as const;
    if (options.compression !== undefined) {
      if (!(compressions as readonly string[]).includes(options.compression)) {
        throw new TypeError(
          `Cannot make OtlpExporter: compression must be "gzip" or "none", got ${
            safeString(options.compression)
          }`,
        );
      }
      this.#compression = options.compression;
    } else {
      this.#compression = envChoice("COMPRESSION", compressions) ?? "none";
    }

    // Retries and limits.
    const retry = options.retry ?? {};
    if (typeof retry !== "object" || retry === null) {
      throw new TypeError("Cannot make OtlpExporter: retry must be an object");
    }
    const maxAttempts = retry.maxAttempts ?? DEFAULT_RETRY.maxAttempts;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
      throw new RangeError(
        `Cannot make OtlpExporter: retry.maxAttempts must be an integer of at least 1, got ${
          safeString(maxAttempts)
        }`,
      );
    }
    const multiplier = positiveNumber(
      retry.multiplier ?? DEFAULT_RETRY.multiplier,
      "retry.multiplier",
    );
    if (multiplier < 1) {
      throw new RangeError(
        `Cannot make OtlpExporter: retry.multiplier must be at least 1, got ${multiplier}`,
      );
    }
    this.#retry = {
      maxAttempts,
      multiplier,
      initialBackoff: positiveNumber(
        retry.initialBackoff ?? DEFAULT_RETRY.initialBackoff,
        "retry.initialBackoff",
        true,
      ),
      maxBackoff: positiveNumber(
        retry.maxBackoff ?? DEFAULT_RETRY.maxBackoff,
        "retry.maxBackoff",
        true,
      ),
    };
    const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    if (!Number.isInteger(maxResponseBytes) || maxResponseBytes < 0) {
      throw new RangeError(
        `Cannot make OtlpExporter: maxResponseBytes must be a non-negative integer, got ${
          safeString(maxResponseBytes)
        }`,
      );
    }
    this.#maxResponseBytes = maxResponseBytes;
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#netHost = options.fetch === undefined ? netHost(this.#url) : undefined;

    this.#headers.set(
      "content-type",
      this.#protocol === "http/json" ? "application/json" : "application/x-protobuf",
    );
    if (this.#compression === "gzip") this.#headers.set("content-encoding", "gzip");
  }

  /**
   * Takes the error handler of the provider the exporter was added to (its processor calls
   * this), unless `onError` was given: the exporter's own reports then go where the
   * provider's go. Reports made before (ignored configuration variables) are passed on now.
   *
   * @param context The provider's context.
   */
  register(context: ProcessorContext): void {
    if (this.#ownHandler) return;
    this.#onError = context.reportError;
    this.#flushEarly();
  }

  /** Reports through the handler, or keeps the report until a provider gives one. */
  #report(error: Error, level: ReportLevel, where = "OtlpExporter"): void {
    if (this.#early !== undefined) this.#early.push([error, where, level]);
    else safeReport(this.#onError, error, where, level);
  }

  /** Passes on reports kept since construction (to stderr when no provider registered). */
  #flushEarly(): void {
    const early = this.#early;
    if (early === undefined) return;
    this.#early = undefined;
    for (const [error, where, level] of early) safeReport(this.#onError, error, where, level);
  }

  /** The URL requests go to. */
  get url(): string {
    return this.#url;
  }

  /** The encoding. */
  get protocol(): OtlpProtocol {
    return this.#protocol;
  }

  /** The body compression. */
  get compression(): OtlpCompression {
    return this.#compression;
  }

  /** The time one export may take, in milliseconds, retries included. */
  get timeout(): number {
    return this.#timeout;
  }

  /** Activities the receiver accepted. */
  get deliveredCount(): number {
    return this.#delivered;
  }

  /**
   * Activities not delivered: their export failed for good, the receiver rejected them
   * (partial success), or they came after shutdown.
   */
  get lostCount(): number {
    return this.#lost;
  }

  /** Exports under way (sending, or waiting to retry). */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /**
   * Sends the activities in one request (retried as configured).
   *
   * @param activities Stopped, recorded activities.
   * @param resource The provider's resource.
   * @returns A promise that resolves when the receiver accepted all of them.
   * @throws {OtlpExportError} (as a rejection) When some or all were not delivered; they are
   * counted in {@linkcode OtlpExporter.lostCount}.
   */
  export(activities: readonly Activity[], resource: Resource): Promise<void> {
    this.#flushEarly();
    const count = activities.length;
    if (this.#shutdown !== undefined) {
      this.#lost += count;
      return Promise.reject(
        new OtlpExportError(
          `Cannot export ${count} activities: the OTLP exporter is shut down`,
          { lostCount: count },
        ),
      );
    }
    if (count === 0) return Promise.resolve();
    const result = this.#send(activities, resource);
    const settled: Promise<void> = result.then(
      () => {
        this.#pending.delete(settled);
      },
      (error: unknown) => {
        this.#lastError = error;
        this.#pending.delete(settled);
      },
    );
    this.#pending.add(settled);
    return result;
  }

  #fail(
    count: number,
    message: string,
    status: number | undefined,
    attempts: number,
    kind: "failed" | "permission" | "abandoned" = "failed",
  ): never {
    this.#lost += count;
    if (kind !== "failed") this.#lostSaid += count;
    else if (this.#unreadEndpoint.length > 0 && !this.#endpointHinted) {
      this.#endpointHinted = true;
      const names = this.#unreadEndpoint;
      this.#report(
        new Error(
          `Sending to the default endpoint ${this.#url}: ${
            names.join(" and ")
          } could not be read, as the env permission is not granted (it is never asked for); run with --allow-env=${
            names.join(",")
          } or pass the endpoint option`,
        ),
        "warn",
      );
    }
    throw new OtlpExportError(
      `OTLP export of ${count} ${count === 1 ? "activity" : "activities"} to ${this.#url} failed${
        attempts > 1 ? ` after ${attempts} attempts` : ""
      }: ${message}`,
      { status, attempts, lostCount: count },
    );
  }

  async #send(activities: readonly Activity[], resource: Resource): Promise<void> {
    const count = activities.length;
    const denied = netPermissionProblem(this.#netHost, this.#url);
    // A missing permission is said once per export and never retried: no retry can mend it.
    if (denied !== undefined) return this.#fail(count, denied, undefined, 0, "permission");
    const deadline = Date.now() + this.#timeout;
    let body: Uint8Array<ArrayBuffer>;
    try {
      body = encodeOtlpTraces(activities, resource, {
        protocol: this.#protocol,
      });
      if (this.#compression === "gzip") body = await gzip(body);
    } catch (error) {
      return this.#fail(count, `cannot encode the request: ${errorText(error)}`, undefined, 0);
    }
    const { maxAttempts, initialBackoff, maxBackoff, multiplier } = this.#retry;
    let status: number | undefined;
    const abandon = this.#abandon.signal;
    const abandoned = (attempts: number): never =>
      this.#fail(count, "given up when the exporter was shut down", status, attempts, "abandoned");
    for (let attempt = 1;; attempt++) {
      if (abandon.aborted) return abandoned(attempt - 1);
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        return this.#fail(count, `timed out after ${this.#timeout} ms`, status, attempt - 1);
      }
      const signal = eitherSignal(
        AbortSignal.timeout(Math.min(remaining, MAX_TIMER_DELAY)),
        abandon,
      );
      let problem: string;
      let wait: number | undefined;
      let response: Response | undefined;
      try {
        response = await untilAborted(
          this.#fetch(this.#url, { method: "POST", headers: this.#headers, body, signal }),
          signal,
        );
      } catch (error) {
        if (abandon.aborted) return abandoned(attempt);
        if (signal.aborted) {
          return this.#fail(count, `timed out after ${this.#timeout} ms`, status, attempt);
        }
        if (isPermissionError(error)) {
          return this.#fail(
            count,
            `${errorText(error)} (a permission error is not retried)`,
            status,
            attempt,
            "permission",
          );
        }
        problem = `network error: ${errorText(error)}`;
      }
      if (response !== undefined) {
        status = response.status;
        if (response.ok) return await this.#accepted(response, count, attempt, signal);
        let detail = "";
        try {
          const { bytes } = await readLimited(response, this.#maxResponseBytes, signal);
          detail = describeErrorBody(bytes, isJson(response, this.#protocol));
        } catch {
          // The status says enough; the body may have timed out.
        }
        problem = `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ""}${
          detail === "" ? "" : `: ${detail}`
        }`;
        if (!RETRYABLE.has(response.status)) {
          return this.#fail(count, problem, status, attempt);
        }
        wait = retryAfterMs(response.headers.get("retry-after"));
      }
      if (attempt >= maxAttempts) return this.#fail(count, problem!, status, attempt);
      if (wait === undefined) {
        const base = Math.min(maxBackoff, initialBackoff * multiplier ** (attempt - 1));
        wait = base / 2 + Math.random() * base / 2;
      }
      if (Date.now() + wait >= deadline) {
        return this.#fail(
          count,
          `${problem!} (the next attempt, in ${
            Math.round(wait)
          } ms, would pass the ${this.#timeout} ms timeout)`,
          status,
          attempt,
        );
      }
      await sleep(wait, abandon);
    }
  }

  async #accepted(
    response: Response,
    count: number,
    attempts: number,
    signal: AbortSignal,
  ): Promise<void> {
    let partial: { rejected: number; message: string } | undefined;
    let unreadable = "";
    try {
      const { bytes, complete } = await readLimited(response, this.#maxResponseBytes, signal);
      if (complete) partial = readPartialSuccess(bytes, isJson(response, this.#protocol));
      else unreadable = `the response is larger than ${this.#maxResponseBytes} bytes`;
    } catch (error) {
      unreadable = errorText(error);
    }
    if (partial === undefined || partial.rejected === 0) {
      this.#delivered += count;
      // (A response cut short by a shutdown's deadline is not worth a warning.)
      if (unreadable !== "" && !this.#abandon.signal.aborted) {
        this.#report(
          new OtlpExportError(
            `OTLP receiver at ${this.#url} accepted ${count} activities but its response could not be read: ${unreadable}`,
            { status: response.status, attempts },
          ),
          "warn",
        );
      } else if (partial !== undefined && partial.message !== "") {
        this.#report(
          new OtlpExportError(
            `OTLP receiver at ${this.#url} warned: ${escapeControl(partial.message)}`,
            { status: response.status, attempts },
          ),
          "warn",
        );
      }
      return;
    }
    const rejected = Math.min(count, partial.rejected);
    this.#delivered += count - rejected;
    this.#lost += rejected;
    throw new OtlpExportError(
      `OTLP receiver at ${this.#url} rejected ${rejected} of ${count} activities${
        partial.message === "" ? "" : `: ${escapeControl(partial.message)}`
      }`,
      { status: response.status, attempts, lostCount: rejected },
    );
  }

  /**
   * Waits until every export under way has ended (delivered or failed; each ends within its
   * timeout), or until `timeoutMillis` has passed.
   *
   * @param options `timeoutMillis`: how long to wait at most (default: no limit).
   * @returns A promise that resolves when none is pending; it never rejects.
   * @throws {TypeError} When `options` or `timeoutMillis` has the wrong type.
   * @throws {RangeError} When `timeoutMillis` is negative.
   */
  async forceFlush(options?: FlushOptions): Promise<void> {
    const timeout = timeoutOption(options, Infinity, "Cannot flush OtlpExporter");
    this.#flushEarly();
    await settlesWithin(this.#settlePending(), timeout);
  }

  async #settlePending(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending);
  }

  /**
   * Refuses further exports, waits for those under way (each ends within its timeout), and
   * reports how many activities were not delivered, if any. With `timeoutMillis`, exports
   * still under way when it has passed are given up at once (their requests aborted, their
   * activities counted as lost); the processor that passed the time has counted them already.
   * Losses said before (a missing net permission, given-up exports) are not reported again.
   * Calling it again returns the same promise.
   *
   * @param options `timeoutMillis`: how long to wait at most (default: no limit).
   * @returns A promise that resolves when done; it never rejects.
   * @throws {TypeError} When `options` or `timeoutMillis` has the wrong type.
   * @throws {RangeError} When `timeoutMillis` is negative.
   */
  shutdown(options?: FlushOptions): Promise<void> {
    if (this.#shutdown !== undefined) return this.#shutdown;
    const timeout = timeoutOption(options, Infinity, "Cannot shut down OtlpExporter");
    return this.#shutdown = (async () => {
      this.#flushEarly();
      if (!(await settlesWithin(this.#settlePending(), timeout))) {
        this.#abandon.abort();
        await this.#settlePending();
      }
      if (this.#lost > this.#lostSaid) {
        const total = this.#lost + this.#delivered;
        const last = this.#lastError instanceof Error
          ? ` Last error: ${this.#lastError.message}`
          : "";
        this.#report(
          new OtlpExportError(
            `${this.#lost} of ${total} activities were not delivered to ${this.#url}.${last}`,
            { lostCount: this.#lost },
          ),
          "error",
        );
      }
    })();
  }
}
