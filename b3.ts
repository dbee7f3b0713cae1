/**
 * {@linkcode B3Propagator}: Zipkin's B3 propagation (openzipkin/b3-propagation), still sent by
 * Envoy, Istio and many service meshes, in its single-header (`b3`) and multi-header
 * (`X-B3-TraceId`, `X-B3-SpanId`, `X-B3-Sampled`, `X-B3-Flags`) encodings, by OpenTelemetry's
 * B3 requirements: extract reads both (the single header first), inject writes one encoding
 * (single by default) and never a parent span id.
 *
 * @example Continue a trace that an Envoy proxy started
 * ```ts
 * import { B3Propagator } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * const b3 = new B3Propagator();
 * const { activityContext } = b3.extract(new Headers({
 *   b3: "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90",
 * }));
 * assert.equal(activityContext?.spanId, "e457b5a2e4d86bd1");
 * assert.equal(activityContext?.traceFlags, 1);
 * ```
 *
 * @module
 */

import { Activity } from "./activity.ts";
import { ActivityContext } from "./links.ts";
import type { ExtractOptions, InjectOptions } from "./propagation.ts";
import type { PropagationContext, TextMapPropagator } from "./propagator.ts";
import {
  type CarrierGet,
  type CarrierSet,
  readField,
  removeField,
  trimOws,
  writeField,
} from "./_carrier.ts";
import { isValidSpanId, isValidTraceId, TRACE_FLAG_RECORDED } from "./ids.ts";
import { safeString } from "./_format.ts";

/** The name of the B3 single header. */
export const B3_HEADER = "b3";
/** The name of the B3 multi-header trace id. */
export const B3_TRACE_ID_HEADER = "x-b3-traceid";
/** The name of the B3 multi-header span id. */
export const B3_SPAN_ID_HEADER = "x-b3-spanid";
/** The name of the B3 multi-header parent span id (read past, never sent). */
export const B3_PARENT_SPAN_ID_HEADER = "x-b3-parentspanid";
/** The name of the B3 multi-header sampling decision. */
export const B3_SAMPLED_HEADER = "x-b3-sampled";
/** The name of the B3 multi-header flags (`1`: debug). */
export const B3_FLAGS_HEADER = "x-b3-flags";

/** Options of {@linkcode B3Propagator}. */
export interface B3PropagatorOptions {
  /**
   * What `inject` writes: `"single"`, the `b3` header (`OTEL_PROPAGATORS=b3`), or `"multi"`,
   * the `X-B3-*` headers (`OTEL_PROPAGATORS=b3multi`). `extract` reads both either way.
   * @default {"single"}
   */
  encoding?: "single" | "multi";
}

// A valid single header is at most 32 + 1 + 16 + 1 + 1 + 1 + 16 = 68 characters.
const MAX_SINGLE = 68;
const ID64 = /^[0-9a-f]{16}$/;
const ID128 = /^[0-9a-f]{32}$/;
const PADDING = "0000000000000000";
const SAMPLED: Readonly<Record<string, boolean>> = Object.assign(Object.create(null), {
  "1": true,
  "true": true,
  "0": false,
  "false": false,
});

// Debug ("force trace") applies to a whole trace. ActivityContext has no place for it, so the
// trace ids extracted with the debug flag are kept here, the most recent 1024, for inject to
// send the flag on with the trace, as OpenTelemetry's B3 requirements ask.
const MAX_DEBUG_TRACES = 1024;
const debugTraces = new Set<string>();

function rememberDebug(traceId: string): void {
  if (debugTraces.has(traceId)) return;
  if (debugTraces.size >= MAX_DEBUG_TRACES) {
    debugTraces.delete(debugTraces.values().next().value!);
  }
  debugTraces.add(traceId);
}

/** A trace id of 16 or 32 lowercase hex characters, 64-bit ones padded to 128 bits. */
function traceIdOf(text: string): string | undefined {
  const id = ID128.test(text) ? text : ID64.test(text) ? PADDING + text : undefined;
  return id !== undefined && isValidTraceId(id) ? id : undefined;
}

/** What a B3 encoding holds: ids, the sampling decision, and the debug flag. */
interface B3Read {
  readonly traceId: string;
  readonly spanId: string;
  readonly sampled: boolean;
  readonly debug: boolean;
}

/**
 * Reads a `b3` value: `{TraceId}-{SpanId}[-{SamplingState}[-{ParentSpanId}]]` (also
 * `{TraceId}-{SpanId}-{ParentSpanId}`, the sampling state deferred). A value holding only a
 * sampling state (`0`, `1`, `d`) carries no ids, so no context; nor does anything else outside
 * that grammar.
 */
function readSingle(value: string): B3Read | undefined {
  if (value.length > MAX_SINGLE) return undefined;
  const parts = value.split("-");
  if (parts.length < 2 || parts.length > 4) return undefined;
  const traceId = traceIdOf(parts[0]!);
  const spanId = parts[1]!;
  if (traceId === undefined || !ID64.test(spanId) || !isValidSpanId(spanId)) return undefined;
  let state: string | undefined = parts[2];
  let parent = parts[3];
  if (parts.length === 3 && state!.length === 16) [state, parent] = [undefined, state];
  if (state !== undefined && state !== "0" && state !== "1" && state !== "d") return undefined;
  // The parent span id is read past (OpenTelemetry never reuses the caller's span id).
  if (parent !== undefined && !ID64.test(parent)) return undefined;
  return { traceId, spanId, sampled: state === "1" || state === "d", debug: state === "d" };
}

/**
 * Reads the `X-B3-*` headers. `X-B3-Flags: 1` is debug, which implies sampled; `X-B3-Sampled`
 * is `1` or `0` (`true` and `false` too, as the specification lets a lenient reader accept),
 * absent for a deferred decision; any other value makes the headers invalid.
 */
function readMulti(carrier: unknown, getter: CarrierGet | undefined): B3Read | undefined {
  const traceText = firstValue(carrier, B3_TRACE_ID_HEADER, getter);
  const spanId = firstValue(carrier, B3_SPAN_ID_HEADER, getter);
  if (traceText === undefined || spanId === undefined) return undefined;
  const traceId = traceIdOf(traceText);
  if (traceId === undefined || !ID64.test(spanId) || !isValidSpanId(spanId)) return undefined;
  const debug = firstValue(carrier, B3_FLAGS_HEADER, getter) === "1";
  const sampled = SAMPLED[firstValue(carrier, B3_SAMPLED_HEADER, getter)?.toLowerCase() ?? "0"];
  // An X-B3-Sampled outside the specification is invalid, unless debug decides anyway.
  if (sampled === undefined && !debug) return undefined;
  return { traceId, spanId, sampled: debug || sampled === true, debug };
}

/**
 * The first value of a field ("when extracting state headers, the first value wins"): the
 * first header line, and of a value that `Headers` combined from several lines, the part before
 * the first comma. `undefined` when absent or blank.
 */
function firstValue(
  carrier: unknown,
  name: string,
  getter: CarrierGet | undefined,
): string | undefined {
  const lines = readField(carrier, name, getter);
  if (lines.length === 0) return undefined;
  const first = lines[0]!;
  const comma = first.indexOf(",");
  const value = trimOws(comma < 0 ? first : first.slice(0, comma));
  return value === "" ? undefined : value;
}

/**
 * B3 propagation, by OpenTelemetry's B3 requirements. `extract` reads the single header when
 * present, else the multi headers; 64-bit trace ids are padded to 128 bits with zeros; the
 * debug flag (`d`, `X-B3-Flags: 1`) means sampled, and is sent on with the trace; a deferred
 * decision (no sampling state) is read as not sampled, as OpenTelemetry's propagators read it;
 * the parent span id is not used. `inject` writes `{TraceId}-{SpanId}-{1|0|d}`, or
 * `X-B3-TraceId`, `X-B3-SpanId` and `X-B3-Sampled` (`X-B3-Flags: 1` instead for debug), and no
 * parent span id. Ids are lowercase hex, as the specification writes them; anything outside its
 * grammar is no context. Never throws.
 *
 * @example Multi headers, and what inject writes
 * ```ts
 * import { ActivityContext, B3Propagator } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * const b3 = new B3Propagator({ encoding: "multi" });
 * const context = ActivityContext.parse("00-463ac35c9f6413ad48485a3953bb6124-a2fb4a1d1a96d312-00");
 * const headers: Record<string, string> = {};
 * b3.inject(context, headers);
 * assert.deepEqual(headers, {
 *   "x-b3-traceid": "463ac35c9f6413ad48485a3953bb6124",
 *   "x-b3-spanid": "a2fb4a1d1a96d312",
 *   "x-b3-sampled": "0",
 * });
 * assert.equal(b3.extract({ b3: "0" }).activityContext, undefined); // a decision alone: no ids
 * ```
 */
export class B3Propagator implements TextMapPropagator {
  readonly #multi: boolean;

  /**
   * Makes a B3 propagator.
   *
   * @param options The encoding `inject` writes.
   * @throws {TypeError} When `encoding` is neither `"single"` nor `"multi"`.
   */
  constructor(options: B3PropagatorOptions = {}) {
    const encoding = options?.encoding ?? "single";
    if (encoding !== "single" && encoding !== "multi") {
      throw new TypeError(
        `Cannot make B3Propagator: encoding must be "single" or "multi", got ${
          safeString(encoding)
        }`,
      );
    }
    this.#multi = encoding === "multi";
  }

  /** The encoding `inject` writes. */
  get encoding(): "single" | "multi" {
    return this.#multi ? "multi" : "single";
  }

  /**
   * Writes the B3 fields of an activity or context.
   *
   * @param context The activity or context to propagate.
   * @param carrier The carrier.
   * @param options A `setter` for other carriers.
   */
  inject(
    context: Activity | ActivityContext | null | undefined,
    carrier: unknown,
    options?: InjectOptions,
  ): void {
    if (!(context instanceof Activity || context instanceof ActivityContext)) return;
    const setter = typeof options?.setter === "function" ? options.setter as CarrierSet : undefined;
    const { traceId, spanId } = context;
    const debug = debugTraces.has(traceId);
    const sampled = (context.traceFlags & TRACE_FLAG_RECORDED) !== 0;
    if (!this.#multi) {
      writeField(
        carrier,
        B3_HEADER,
        `${traceId}-${spanId}-${debug ? "d" : sampled ? "1" : "0"}`,
        setter,
      );
      return;
    }
    writeField(carrier, B3_TRACE_ID_HEADER, traceId, setter);
    writeField(carrier, B3_SPAN_ID_HEADER, spanId, setter);
    // Debug implies an accept decision, so X-B3-Sampled is not sent with it.
    if (debug) writeField(carrier, B3_FLAGS_HEADER, "1", setter);
    else writeField(carrier, B3_SAMPLED_HEADER, sampled ? "1" : "0", setter);
    if (setter !== undefined) return;
    // What an earlier hop left in a carrier this module edits must not contradict the above.
    removeField(carrier, debug ? B3_SAMPLED_HEADER : B3_FLAGS_HEADER);
    removeField(carrier, B3_PARENT_SPAN_ID_HEADER);
  }

  /**
   * Reads a B3 context: the single header when present, else the multi headers.
   *
   * @param carrier The carrier.
   * @param options A `getter` for other carriers.
   * @returns The remote parent, when the carrier holds valid B3 ids.
   */
  extract(carrier: unknown, options?: ExtractOptions): PropagationContext {
    const getter = typeof options?.getter === "function" ? options.getter as CarrierGet : undefined;
    const single = firstValue(carrier, B3_HEADER, getter);
    const read = single !== undefined ? readSingle(single) : readMulti(carrier, getter);
    if (read === undefined) return {};
    if (read.debug) rememberDebug(read.traceId);
    return {
      activityContext: new ActivityContext(read.traceId, read.spanId, {
        traceFlags: read.sampled ? TRACE_FLAG_RECORDED : 0,
        isRemote: true,
      }),
    };
  }

  /**
   * The fields `inject` writes (and, for multi headers, the parent span id it removes).
   *
   * @returns `["b3"]`, or the five `x-b3-*` names.
   */
  fields(): readonly string[] {
    return this.#multi ? MULTI_FIELDS : SINGLE_FIELDS;
  }
}

const SINGLE_FIELDS = Object.freeze([B3_HEADER]);
const MULTI_FIELDS = Object.freeze([
  B3_TRACE_ID_HEADER,
  B3_SPAN_ID_HEADER,
  B3_SAMPLED_HEADER,
  B3_FLAGS_HEADER,
  B3_PARENT_SPAN_ID_HEADER,
]);
