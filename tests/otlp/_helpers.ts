// Test helpers for the OTLP exporter: an independent decoder of both encodings (protobufjs with
// the OTLP trace schema, and the OTLP/JSON mapping rules), a canonical form that both decoded
// requests and the activities themselves are turned into, and a receiver on 127.0.0.1.

import protobuf from "npm:protobufjs@8.8.1";
import type { Activity } from "../../activity.ts";
import type { TagList } from "../../tags.ts";
import { droppedLinkTagCount } from "../../links.ts";

// The subset of opentelemetry-proto (collector/trace/v1, trace/v1, common/v1, resource/v1)
// that an OTLP/HTTP trace request and response use, with the field numbers of the spec.
const SCHEMA = `
syntax = "proto3";
package otlp;

message AnyValue {
  oneof value {
    string string_value = 1;
    bool bool_value = 2;
    int64 int_value = 3;
    double double_value = 4;
    ArrayValue array_value = 5;
    KeyValueList kvlist_value = 6;
    bytes bytes_value = 7;
  }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message InstrumentationScope {
  string name = 1;
  string version = 2;
  repeated KeyValue attributes = 3;
  uint32 dropped_attributes_count = 4;
}
message Resource {
  repeated KeyValue attributes = 1;
  uint32 dropped_attributes_count = 2;
}
message Span {
  bytes trace_id = 1;
  bytes span_id = 2;
  string trace_state = 3;
  bytes parent_span_id = 4;
  fixed32 flags = 16;
  string name = 5;
  enum SpanKind {
    SPAN_KIND_UNSPECIFIED = 0;
    SPAN_KIND_INTERNAL = 1;
    SPAN_KIND_SERVER = 2;
    SPAN_KIND_CLIENT = 3;
    SPAN_KIND_PRODUCER = 4;
    SPAN_KIND_CONSUMER = 5;
  }
  SpanKind kind = 6;
  fixed64 start_time_unix_nano = 7;
  fixed64 end_time_unix_nano = 8;
  repeated KeyValue attributes = 9;
  uint32 dropped_attributes_count = 10;
  message Event {
    fixed64 time_unix_nano = 1;
    string name = 2;
    repeated KeyValue attributes = 3;
    uint32 dropped_attributes_count = 4;
  }
  repeated Event events = 11;
  uint32 dropped_events_count = 12;
  message Link {
    bytes trace_id = 1;
    bytes span_id = 2;
    string trace_state = 3;
    repeated KeyValue attributes = 4;
    uint32 dropped_attributes_count = 5;
    fixed32 flags = 6;
  }
  repeated Link links = 13;
  uint32 dropped_links_count = 14;
  Status status = 15;
}
message Status {
  string message = 2;
  enum StatusCode {
    STATUS_CODE_UNSET = 0;
    STATUS_CODE_OK = 1;
    STATUS_CODE_ERROR = 2;
  }
  StatusCode code = 3;
}
message ScopeSpans {
  InstrumentationScope scope = 1;
  repeated Span spans = 2;
  string schema_url = 3;
}
message ResourceSpans {
  Resource resource = 1;
  repeated ScopeSpans scope_spans = 2;
  string schema_url = 3;
}
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
message ExportTracePartialSuccess {
  int64 rejected_spans = 1;
  string error_message = 2;
}
message ExportTraceServiceResponse { ExportTracePartialSuccess partial_success = 1; }
message RpcStatus { int32 code = 1; string message = 2; }
`;

const root = protobuf.parse(SCHEMA, { keepCase: false }).root;
const RequestType = root.lookupType("otlp.ExportTraceServiceRequest");
const ResponseType = root.lookupType("otlp.ExportTraceServiceResponse");
const RpcStatusType = root.lookupType("otlp.RpcStatus");

/** A tag value in canonical form. */
export type Canon =
  | { s: string }
  | { b: boolean }
  | { i: string }
  | { d: number | string }
  | { y: string }
  | { a: Canon[] }
  | { kv: [string, Canon][] }
  | Record<string, never>;

/** A whole request in canonical form. */
export interface CanonRequest {
  resource: [string, Canon][];
  scopes: {
    name: string;
    version: string;
    attributes: [string, Canon][];
    spans: CanonSpan[];
  }[];
}

/** A span in canonical form. */
export interface CanonSpan {
  traceId: string;
  spanId: string;
  traceState: string;
  parentSpanId: string;
  flags: number;
  name: string;
  kind: number;
  start: string;
  end: string;
  attributes: [string, Canon][];
  droppedAttributes: number;
  events: { time: string; name: string; attributes: [string, Canon][]; dropped: number }[];
  droppedEvents: number;
  links: {
    traceId: string;
    spanId: string;
    traceState: string;
    attributes: [string, Canon][];
    dropped: number;
    flags: number;
  }[];
  droppedLinks: number;
  status: { code: number; message: string };
}

// deno-lint-ignore no-explicit-any
type Any = any;

function hex(bytes: ArrayLike<number> | undefined | null): string {
  if (bytes === undefined || bytes === null) return "";
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function base64ToHex(text: string): string {
  return hex(Uint8Array.from(atob(text), (c) => c.charCodeAt(0)));
}

function doubleCanon(n: number | string): number | string {
  if (typeof n === "string") return n;
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "Infinity";
  if (n === -Infinity) return "-Infinity";
  return n;
}

// ---- protobuf (decoded by protobufjs) ----

function protoAny(value: Any): Canon {
  if (value === undefined || value === null) return {};
  if (value.stringValue !== undefined) return { s: value.stringValue };
  if (value.boolValue !== undefined) return { b: value.boolValue };
  if (value.intValue !== undefined) return { i: String(value.intValue) };
  if (value.doubleValue !== undefined) return { d: doubleCanon(value.doubleValue) };
  if (value.bytesValue !== undefined) return { y: hex(value.bytesValue) };
  if (value.arrayValue !== undefined) return { a: (value.arrayValue.values ?? []).map(protoAny) };
  if (value.kvlistValue !== undefined) return { kv: protoAttrs(value.kvlistValue.values) };
  return {};
}

function protoAttrs(list: Any[] | undefined): [string, Canon][] {
  return (list ?? []).map((kv: Any) => [kv.key ?? "", protoAny(kv.value)]);
}

/** Decodes a protobuf request with protobufjs and returns its canonical form. */
export function decodeProtobuf(bytes: Uint8Array): CanonRequest[] {
  const message = RequestType.decode(bytes);
  const object: Any = RequestType.toObject(message, {
    longs: String,
    enums: Number,
    bytes: Array,
    defaults: false,
    oneofs: false,
  });
  return canonRequests(object, hex, protoAttrs);
}

/**
 * The canonical form of a request decoded by another protobuf library into protobufjs's object
 * form (lowerCamelCase fields, bytes as arrays, 64-bit integers as strings, enums as numbers,
 * defaults left out), as @grpc/proto-loader gives it.
 */
export function canonOfObject(object: Record<string, unknown>): CanonRequest[] {
  return canonRequests(object, hex, protoAttrs);
}

/**
 * Encodes a request given as a protobufjs object (lowerCamelCase fields, ids and bytes as
 * `Uint8Array`, 64-bit integers as strings or numbers) with protobufjs.
 */
export function encodeProtobufRequest(object: Record<string, unknown>): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(RequestType.encode(RequestType.fromObject(object)).finish());
}

/** Decodes a protobuf ExportTraceServiceResponse (its partial success) with protobufjs. */
export function decodeResponse(
  bytes: Uint8Array,
): { rejectedSpans?: string; errorMessage?: string } {
  const object: Any = ResponseType.toObject(ResponseType.decode(bytes), { longs: String });
  return object.partialSuccess ?? {};
}

/** Decodes a protobuf google.rpc.Status (code and message) with protobufjs. */
export function decodeRpcStatus(bytes: Uint8Array): { code?: number; message?: string } {
  return RpcStatusType.toObject(RpcStatusType.decode(bytes));
}

/** Encodes a protobuf ExportTraceServiceResponse with a partial success. */
export function encodePartialSuccess(rejected: number, message: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(
    ResponseType.encode(
      ResponseType.fromObject({
        partialSuccess: { rejectedSpans: rejected, errorMessage: message },
      }),
    ).finish(),
  );
}

/** Encodes a google.rpc.Status (code and message), as a collector's error body. */
export function encodeRpcStatus(code: number, message: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(
    RpcStatusType.encode(RpcStatusType.fromObject({ code, message })).finish(),
  );
}

// ---- JSON (the OTLP/JSON mapping) ----

function jsonAny(value: Any): Canon {
  if (value === undefined || value === null) return {};
  if ("stringValue" in value) return { s: value.stringValue };
  if ("boolValue" in value) return { b: value.boolValue };
  if ("intValue" in value) return { i: String(value.intValue) };
  if ("doubleValue" in value) return { d: doubleCanon(value.doubleValue) };
  if ("bytesValue" in value) return { y: base64ToHex(value.bytesValue) };
  if ("arrayValue" in value) return { a: (value.arrayValue?.values ?? []).map(jsonAny) };
  if ("kvlistValue" in value) return { kv: jsonAttrs(value.kvlistValue?.values) };
  return {};
}

function jsonAttrs(list: Any[] | undefined): [string, Canon][] {
  return (list ?? []).map((kv: Any) => [kv.key ?? "", jsonAny(kv.value)]);
}

/** Reads a JSON request by the OTLP/JSON rules and returns its canonical form. */
export function decodeJson(bytes: Uint8Array): CanonRequest[] {
  const object: Any = JSON.parse(new TextDecoder().decode(bytes));
  return canonRequests(object, (id: Any) => id ?? "", jsonAttrs);
}

// ---- Both decoded forms ----

/**
 * The canonical form of a decoded request. protobufjs's objects and the OTLP/JSON mapping use
 * the same lowerCamelCase names and leave default values out; they differ only in how ids
 * (bytes, or hex text) and attribute values are written, which `id` and `attrs` read.
 */
function canonRequests(
  object: Any,
  id: (value: Any) => string,
  attrs: (list: Any[] | undefined) => [string, Canon][],
): CanonRequest[] {
  return (object.resourceSpans ?? []).map((rs: Any) => ({
    resource: attrs(rs.resource?.attributes),
    scopes: (rs.scopeSpans ?? []).map((ss: Any) => ({
      name: ss.scope?.name ?? "",
      version: ss.scope?.version ?? "",
      attributes: attrs(ss.scope?.attributes),
      spans: (ss.spans ?? []).map((s: Any): CanonSpan => ({
        traceId: id(s.traceId),
        spanId: id(s.spanId),
        traceState: s.traceState ?? "",
        parentSpanId: id(s.parentSpanId),
        flags: s.flags ?? 0,
        name: s.name ?? "",
        kind: s.kind ?? 0,
        start: String(s.startTimeUnixNano ?? "0"),
        end: String(s.endTimeUnixNano ?? "0"),
        attributes: attrs(s.attributes),
        droppedAttributes: s.droppedAttributesCount ?? 0,
        events: (s.events ?? []).map((e: Any) => ({
          time: String(e.timeUnixNano ?? "0"),
          name: e.name ?? "",
          attributes: attrs(e.attributes),
          dropped: e.droppedAttributesCount ?? 0,
        })),
        droppedEvents: s.droppedEventsCount ?? 0,
        links: (s.links ?? []).map((l: Any) => ({
          traceId: id(l.traceId),
          spanId: id(l.spanId),
          traceState: l.traceState ?? "",
          attributes: attrs(l.attributes),
          dropped: l.droppedAttributesCount ?? 0,
          flags: l.flags ?? 0,
        })),
        droppedLinks: s.droppedLinksCount ?? 0,
        status: { code: s.status?.code ?? 0, message: s.status?.message ?? "" },
      })),
    })),
  }));
}

// ---- What the activities hold, in the same form ----

/**
 * The canonical form of what a set of activities holds, with each tag value converted by
 * `expectValue` (the test's table of expected conversions).
 */
export function expectedRequest(
  activities: readonly Activity[],
  resource: TagList,
  expectValue: (value: unknown) => Canon,
): CanonRequest {
  const attrs = (tags: TagList): [string, Canon][] =>
    tags.map(([k, v]) => [k, expectValue(v)] as [string, Canon]);
  const scopes: CanonRequest["scopes"] = [];
  const bySource = new Map<unknown, CanonRequest["scopes"][number]>();
  const kinds = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 };
  const codes = { unset: 0, ok: 1, error: 2 };
  for (const a of activities) {
    let scope = bySource.get(a.source);
    if (scope === undefined) {
      scope = {
        name: a.source.name,
        version: a.source.version ?? "",
        attributes: attrs(a.source.tags),
        spans: [],
      };
      bySource.set(a.source, scope);
      scopes.push(scope);
    }
    scope.spans.push({
      traceId: a.traceId,
      spanId: a.spanId,
      traceState: a.traceState ?? "",
      parentSpanId: a.parentSpanId ?? "",
      flags: a.traceFlags | 0x100 | (a.hasRemoteParent ? 0x200 : 0),
      name: a.displayName,
      kind: kinds[a.kind],
      start: a.startTimeUnixNano.toString(),
      end: a.endTimeUnixNano!.toString(),
      attributes: attrs(a.tags),
      droppedAttributes: a.droppedTagCount,
      events: a.events.map((e) => ({
        time: e.timeUnixNano.toString(),
        name: e.name,
        attributes: attrs(e.tags),
        dropped: e.droppedTagCount,
      })),
      droppedEvents: a.droppedEventCount,
      links: a.links.map((l) => ({
        traceId: l.context.traceId,
        spanId: l.context.spanId,
        traceState: l.context.traceState ?? "",
        attributes: attrs(l.tags),
        dropped: droppedLinkTagCount(l),
        flags: l.context.traceFlags | 0x100 | (l.context.isRemote ? 0x200 : 0),
      })),
      droppedLinks: a.droppedLinkCount,
      status: { code: codes[a.status], message: a.statusDescription ?? "" },
    });
  }
  return { resource: attrs(resource), scopes };
}

// ---- A receiver on 127.0.0.1 ----

/** One request the receiver got. */
export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Headers;
  /** The body, gunzipped when it was sent with `content-encoding: gzip`. */
  readonly body: Uint8Array;
  /** The body as sent. */
  readonly rawBody: Uint8Array;
}

/** A receiver and what it got. */
export interface Receiver extends AsyncDisposable {
  readonly endpoint: string;
  readonly requests: ReceivedRequest[];
  /** Stops the server (and releases handlers that hang). */
  close(): Promise<void>;
}

/**
 * Starts an HTTP server on 127.0.0.1 at a free port. `respond` makes the answer to the n-th
 * request (from 1).
 */
export function startReceiver(
  respond: (request: ReceivedRequest, n: number, release: Promise<void>) =>
    | Response
    | Promise<Response> = () => new Response(null),
): Receiver {
  const requests: ReceivedRequest[] = [];
  let releaseAll!: () => void;
  const release = new Promise<void>((resolve) => releaseAll = resolve);
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req) => {
      const rawBody = new Uint8Array(await req.arrayBuffer());
      let body = rawBody;
      if (req.headers.get("content-encoding") === "gzip") {
        const stream = new Blob([rawBody]).stream().pipeThrough(new DecompressionStream("gzip"));
        body = new Uint8Array(await new Response(stream).arrayBuffer());
      }
      const received = {
        method: req.method,
        path: new URL(req.url).pathname,
        headers: req.headers,
        body,
        rawBody,
      };
      requests.push(received);
      return await respond(received, requests.length, release);
    },
  );
  let closed: Promise<void> | undefined;
  const close = () =>
    closed ??= (async () => {
      releaseAll();
      await server.shutdown();
    })();
  return {
    endpoint: `http://127.0.0.1:${server.addr.port}`,
    requests,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Whether the tests may open sockets on 127.0.0.1. */
export const NO_NET: boolean =
  (await Deno.permissions.query({ name: "net", host: "127.0.0.1" })).state !== "granted";
