// The spans of an OTLP ExportTraceServiceRequest once decoded (from protobuf by _decode_proto.ts,
// from JSON by _decode_json.ts), as a receiver such as the dashboard keeps them: plain objects,
// ids as lowercase hex, times as bigints, attribute values typed as OTLP types them. Spans are
// listed flat, each pointing at its resource and scope, which spans of one request share.

/**
 * An attribute value, typed as OTLP's `AnyValue`: `string`, `boolean`, a `bigint` for
 * `int_value`, a `number` for `double_value`, `Uint8Array` for bytes, an array, a key-value
 * list ({@linkcode KvList}), or `null` for an empty value.
 */
export type OtlpValue =
  | string
  | boolean
  | bigint
  | number
  | Uint8Array
  | readonly OtlpValue[]
  | KvList
  | null;

/** A key and its value. */
export type OtlpAttribute = readonly [key: string, value: OtlpValue];

/** The value of a `kvlist_value`: key-value pairs in order. */
export class KvList {
  /** The pairs. */
  readonly values: readonly OtlpAttribute[];

  constructor(values: readonly OtlpAttribute[]) {
    this.values = values;
  }
}

/** A resource: the attributes of what made the spans (`service.name`, ...). */
export interface OtlpResource {
  readonly attributes: readonly OtlpAttribute[];
  readonly droppedAttributesCount: number;
  readonly schemaUrl: string;
}

/** An instrumentation scope. */
export interface OtlpScope {
  readonly name: string;
  readonly version: string;
  readonly attributes: readonly OtlpAttribute[];
  readonly droppedAttributesCount: number;
  readonly schemaUrl: string;
}

/** A span event. */
export interface OtlpEvent {
  readonly timeUnixNano: bigint;
  readonly name: string;
  readonly attributes: readonly OtlpAttribute[];
  readonly droppedAttributesCount: number;
}

/** A span link. */
export interface OtlpLink {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceState: string;
  readonly attributes: readonly OtlpAttribute[];
  readonly droppedAttributesCount: number;
  /** W3C trace flags in bits 0-7; bits 8 and 9 say whether the context is remote. */
  readonly flags: number;
}

/** A span, with the resource and scope it came under. */
export interface OtlpSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceState: string;
  /** The parent's span id, or `""` for a root. */
  readonly parentSpanId: string;
  readonly flags: number;
  readonly name: string;
  /** The `SpanKind` number: 0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  readonly kind: number;
  readonly startTimeUnixNano: bigint;
  readonly endTimeUnixNano: bigint;
  readonly attributes: readonly OtlpAttribute[];
  readonly droppedAttributesCount: number;
  readonly events: readonly OtlpEvent[];
  readonly droppedEventsCount: number;
  readonly links: readonly OtlpLink[];
  readonly droppedLinksCount: number;
  /** The `StatusCode` number: 0 unset, 1 ok, 2 error. */
  readonly statusCode: number;
  readonly statusMessage: string;
  /** The resource; the store replaces it with one shared by every span that has the same. */
  resource: OtlpResource;
  /** The scope; the store replaces it with one shared by every span that has the same. */
  scope: OtlpScope;
}

/** What a decoder returns: the spans kept, and what it rejected or changed, counted. */
export interface DecodedTraces {
  /** The spans accepted, in request order. */
  readonly spans: OtlpSpan[];
  /** Spans rejected (an invalid id, a value nested too deep). */
  readonly rejectedSpans: number;
  /**
   * What went wrong or was changed, for the partial-success `error_message`: at most a few
   * distinct messages, each with how often it happened.
   */
  readonly problems: string[];
}

/** The most items of one list kept: attributes, events, links, array elements, map entries. */
export const MAX_ITEMS = 1000;
/** The deepest nesting of arrays and key-value lists in one attribute value. */
export const MAX_DEPTH = 32;

/** Collects the problems met while decoding one request, counted by kind. */
export class Problems {
  readonly #counts = new Map<string, number>();
  rejectedSpans = 0;

  /** Counts one occurrence of a problem (at most 16 kinds are told apart). */
  add(message: string, n = 1): void {
    const known = this.#counts.get(message);
    if (known !== undefined) this.#counts.set(message, known + n);
    else if (this.#counts.size < 16) this.#counts.set(message, n);
    else this.#counts.set("other problems", (this.#counts.get("other problems") ?? 0) + n);
  }

  /** Rejects `n` spans for a reason. */
  reject(reason: string, n = 1): void {
    this.rejectedSpans += n;
    this.add(`${n === 1 ? "a span was" : "spans were"} rejected: ${reason}`, n);
  }

  /** The messages, each with its count when more than one. */
  list(): string[] {
    return Array.from(this.#counts, ([m, n]) => n === 1 ? m : `${m} (${n} times)`);
  }
}

/** Thrown inside a decoder to reject the span (or resource, or scope) being read. */
export class Rejection extends Error {}

const ZERO_TRACE = "0".repeat(32);
const ZERO_SPAN = "0".repeat(16);

/** Why a trace id is invalid (empty, wrong length, all zeros), or `undefined` when valid. */
export function traceIdProblem(id: string, what = "trace id"): string | undefined {
  if (id.length !== 32) return `${what} must be 16 bytes, got ${id.length / 2}`;
  if (id === ZERO_TRACE) return `${what} is all zeros`;
  return undefined;
}

/** Why a span id is invalid, or `undefined` when valid. */
export function spanIdProblem(id: string, what = "span id"): string | undefined {
  if (id.length !== 16) return `${what} must be 8 bytes, got ${id.length / 2}`;
  if (id === ZERO_SPAN) return `${what} is all zeros`;
  return undefined;
}

/**
 * Checks the ids of a decoded span (its own, its parent's, its links'); throws a
 * {@linkcode Rejection} naming the first that is invalid.
 */
export function checkIds(
  traceId: string,
  spanId: string,
  parentSpanId: string,
  links: readonly OtlpLink[],
): void {
  const problem = traceIdProblem(traceId) ?? spanIdProblem(spanId) ??
    (parentSpanId === "" ? undefined : spanIdProblem(parentSpanId, "parent span id"));
  if (problem !== undefined) throw new Rejection(problem);
  for (const link of links) {
    const bad = traceIdProblem(link.traceId, "link trace id") ??
      spanIdProblem(link.spanId, "link span id");
    if (bad !== undefined) throw new Rejection(bad);
  }
}

/** Small strings met again and again (keys, names) kept once, up to a bound. */
export class Interner {
  readonly #map = new Map<string, string>();

  /** The kept copy of `text` (short texts only). */
  get(text: string): string {
    if (text.length > 64) return text;
    const known = this.#map.get(text);
    if (known !== undefined) return known;
    if (this.#map.size >= 20_000) this.#map.clear();
    this.#map.set(text, text);
    return text;
  }
}

/** The interner shared by the decoders of one process. */
export const interner: Interner = new Interner();
