/**
 * Propagators as objects, as OpenTelemetry's `TextMapPropagator`: each writes what crosses a
 * process boundary into a carrier (`inject`) and reads it back (`extract`), and says which
 * fields it writes (`fields()`). {@linkcode TraceContextPropagator} and
 * {@linkcode BaggagePropagator} are W3C Trace Context and W3C Baggage (the functions
 * `inject`/`extract` and `injectBaggage`/`extractBaggage` as objects), `B3Propagator` is
 * Zipkin's B3, and a {@linkcode CompositePropagator} runs several in order.
 *
 * The process has one default propagator, {@linkcode getDefaultPropagator}: W3C Trace Context
 * and Baggage unless {@linkcode setDefaultPropagator} (or `configureFromEnvironment()`, from
 * `OTEL_PROPAGATORS`) chose another. The HTTP helpers use it for every request.
 *
 * @example Send B3 and W3C, read whichever came
 * ```ts
 * import {
 *   ActivityContext,
 *   B3Propagator,
 *   CompositePropagator,
 *   TraceContextPropagator,
 * } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * const propagator = new CompositePropagator([new TraceContextPropagator(), new B3Propagator()]);
 * const context = ActivityContext.parse("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
 * const headers = new Headers();
 * propagator.inject(context, headers);
 * assert.equal(headers.get("b3"), "0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-1");
 * assert.deepEqual(propagator.fields(), ["traceparent", "tracestate", "b3"]);
 * const read = propagator.extract(new Headers({ b3: "b7ad6b7169203331-00f067aa0ba902b7-1" }));
 * assert.equal(read.activityContext?.traceId, "0000000000000000b7ad6b7169203331");
 * ```
 *
 * @module
 */

import { Activity } from "./activity.ts";
import { ActivityContext } from "./links.ts";
import {
  extract,
  type ExtractOptions,
  inject,
  type InjectOptions,
  TRACEPARENT_HEADER,
  TRACESTATE_HEADER,
} from "./propagation.ts";
import { BAGGAGE_HEADER, type BaggageEntry, extractBaggage, formatBaggage } from "./baggage.ts";
import { type CarrierSet, writeField } from "./_carrier.ts";
import { ReportOnce, reportToLiveHandlers } from "./_diagnostics.ts";

/**
 * What propagators read from a carrier, as OpenTelemetry .NET's `PropagationContext`: the
 * remote parent and the baggage. A field is `undefined` when nothing valid was read for it.
 */
export interface PropagationContext {
  /** The remote parent context (`isRemote` true), or `undefined`. */
  readonly activityContext?: ActivityContext | undefined;
  /** The baggage members, in order, or `undefined`. */
  readonly baggage?: readonly BaggageEntry[] | undefined;
}

/**
 * A propagator: writes what crosses a process boundary into a carrier and reads it back.
 * Carriers are `Headers`, `Map`s and plain objects (names matched without regard to case), or
 * anything else through the `getter` and `setter` options. Implementations never throw: bad
 * input is no context.
 */
export interface TextMapPropagator {
  /**
   * Writes the propagated fields of an activity (or a context) into a carrier. Does nothing for
   * `undefined` or `null`.
   */
  inject(
    context: Activity | ActivityContext | null | undefined,
    carrier: unknown,
    options?: InjectOptions,
  ): void;
  /** Reads a carrier: the parent context and baggage found, each `undefined` when absent. */
  extract(carrier: unknown, options?: ExtractOptions): PropagationContext;
  /** The names of the fields `inject` writes (lowercase), for carriers that clear them. */
  fields(): readonly string[];
}

const NOTHING: PropagationContext = Object.freeze({});

/**
 * W3C Trace Context as a propagator: {@linkcode inject} and {@linkcode extract} of the
 * `traceparent` and `tracestate` headers, by every rule of the specification.
 *
 * @example
 * ```ts
 * import { TraceContextPropagator } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * const { activityContext } = new TraceContextPropagator().extract({
 *   traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
 * });
 * assert.equal(activityContext?.spanId, "b7ad6b7169203331");
 * ```
 */
export class TraceContextPropagator implements TextMapPropagator {
  /**
   * Writes `traceparent` and `tracestate`, as {@linkcode inject}.
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
    inject(context, carrier, options);
  }

  /**
   * Reads `traceparent` and `tracestate`, as {@linkcode extract}.
   *
   * @param carrier The carrier.
   * @param options A `getter` for other carriers.
   * @returns The remote parent, when the carrier has a valid `traceparent`.
   */
  extract(carrier: unknown, options?: ExtractOptions): PropagationContext {
    const activityContext = extract(carrier, options);
    return activityContext === undefined ? NOTHING : { activityContext };
  }

  /**
   * The fields written.
   *
   * @returns `["traceparent", "tracestate"]`.
   */
  fields(): readonly string[] {
    return TRACE_CONTEXT_FIELDS;
  }
}

const TRACE_CONTEXT_FIELDS = Object.freeze([TRACEPARENT_HEADER, TRACESTATE_HEADER]);

/**
 * W3C Baggage as a propagator: writes an activity's baggage (its own and its parents', nearest
 * first) into the `baggage` header, and reads the header back. With nothing to send, it leaves
 * the carrier's own `baggage` field as it is.
 *
 * @example
 * ```ts
 * import { BaggagePropagator } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * const { baggage } = new BaggagePropagator().extract(new Headers({ baggage: "tier=gold" }));
 * assert.deepEqual(baggage?.map((entry) => [entry.key, entry.value]), [["tier", "gold"]]);
 * ```
 */
export class BaggagePropagator implements TextMapPropagator {
  /**
   * Writes the activity's baggage, when it has any (a context has none).
   *
   * @param context The activity whose baggage to send.
   * @param carrier The carrier.
   * @param options A `setter` for other carriers.
   */
  inject(
    context: Activity | ActivityContext | null | undefined,
    carrier: unknown,
    options?: InjectOptions,
  ): void {
    if (!(context instanceof Activity)) return;
    const value = formatBaggage(context.baggage);
    if (value === undefined) return;
    const setter = typeof options?.setter === "function" ? options.setter as CarrierSet : undefined;
    writeField(carrier, BAGGAGE_HEADER, value, setter);
  }

  /**
   * Reads the `baggage` header, as {@linkcode extractBaggage}.
   *
   * @param carrier The carrier.
   * @param options A `getter` for other carriers.
   * @returns The baggage, when the header holds any valid member.
   */
  extract(carrier: unknown, options?: ExtractOptions): PropagationContext {
    const baggage = extractBaggage(carrier, options);
    return baggage.length === 0 ? NOTHING : { baggage };
  }

  /**
   * The fields written.
   *
   * @returns `["baggage"]`.
   */
  fields(): readonly string[] {
    return BAGGAGE_FIELDS;
  }
}

const BAGGAGE_FIELDS = Object.freeze([BAGGAGE_HEADER]);

// Once per propagator and method: one that fails to inject may still fail to extract.
const injectReporter = new ReportOnce(reportToLiveHandlers);
const extractReporter = new ReportOnce(reportToLiveHandlers);

/**
 * Runs several propagators as one, in order, as OpenTelemetry's composite propagator:
 * `inject` calls each; `extract` calls each and keeps, for the parent and for the baggage, what
 * the last propagator that found one read; `fields()` lists each field once. A propagator that
 * throws is reported once and skipped. An empty list propagates nothing (`OTEL_PROPAGATORS=none`).
 *
 * @example Read B3 or W3C, send both
 * ```ts
 * import { B3Propagator, BaggagePropagator, CompositePropagator, TraceContextPropagator } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * const propagator = new CompositePropagator([
 *   new TraceContextPropagator(),
 *   new BaggagePropagator(),
 *   new B3Propagator({ encoding: "multi" }),
 * ]);
 * const read = propagator.extract({ "X-B3-TraceId": "80f198ee56343ba864fe8b2a57d3eff7", "X-B3-SpanId": "e457b5a2e4d86bd1", "X-B3-Sampled": "1" });
 * assert.equal(read.activityContext?.traceFlags, 1);
 * ```
 */
export class CompositePropagator implements TextMapPropagator {
  readonly #propagators: readonly TextMapPropagator[];
  readonly #fields: readonly string[];

  /**
   * Makes a composite of propagators.
   *
   * @param propagators The propagators, in the order they run.
   * @throws {TypeError} When one lacks an `inject`, `extract` or `fields` function.
   */
  constructor(propagators: Iterable<TextMapPropagator>) {
    const list = [...propagators];
    for (const propagator of list) checkPropagator(propagator, "Cannot make CompositePropagator");
    this.#propagators = Object.freeze(list);
    const fields = new Set<string>();
    for (const propagator of list) for (const field of propagator.fields()) fields.add(field);
    this.#fields = Object.freeze([...fields]);
  }

  /** The propagators, in the order they run. */
  get propagators(): readonly TextMapPropagator[] {
    return this.#propagators;
  }

  /**
   * Calls every propagator's `inject`.
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
    if (context === null || context === undefined) return;
    for (const propagator of this.#propagators) {
      try {
        propagator.inject(context, carrier, options);
      } catch (error) {
        injectReporter.report(propagator, error, "TextMapPropagator.inject");
      }
    }
  }

  /**
   * Calls every propagator's `extract`; for the parent and the baggage, the last one found
   * wins.
   *
   * @param carrier The carrier.
   * @param options A `getter` for other carriers.
   * @returns What was read.
   */
  extract(carrier: unknown, options?: ExtractOptions): PropagationContext {
    let activityContext: ActivityContext | undefined;
    let baggage: readonly BaggageEntry[] | undefined;
    for (const propagator of this.#propagators) {
      try {
        const read = propagator.extract(carrier, options);
        if (read?.activityContext instanceof ActivityContext) {
          activityContext = read.activityContext;
        }
        if (Array.isArray(read?.baggage)) baggage = read.baggage;
      } catch (error) {
        extractReporter.report(propagator, error, "TextMapPropagator.extract");
      }
    }
    if (activityContext === undefined) return baggage === undefined ? NOTHING : { baggage };
    return baggage === undefined ? { activityContext } : { activityContext, baggage };
  }

  /**
   * The fields of all the propagators, each once.
   *
   * @returns The field names, in order.
   */
  fields(): readonly string[] {
    return this.#fields;
  }
}

/**
 * Checks that a value has the functions of a propagator.
 *
 * @throws {TypeError} When it has not.
 */
function checkPropagator(propagator: unknown, prefix: string): void {
  const p = propagator as Partial<TextMapPropagator> | null;
  if (
    typeof p !== "object" || p === null || typeof p.inject !== "function" ||
    typeof p.extract !== "function" || typeof p.fields !== "function"
  ) {
    throw new TypeError(`${prefix}: a propagator must have inject(), extract() and fields()`);
  }
}

/** The default of a program that chose none: W3C Trace Context, then W3C Baggage. */
const W3C_DEFAULT = new CompositePropagator([
  new TraceContextPropagator(),
  new BaggagePropagator(),
]);
let defaultPropagator: TextMapPropagator = W3C_DEFAULT;

/**
 * The process's propagator, which the HTTP helpers use for every request: W3C Trace Context
 * and W3C Baggage, unless {@linkcode setDefaultPropagator} or `configureFromEnvironment()`
 * (from `OTEL_PROPAGATORS`) chose another.
 *
 * @returns The propagator.
 *
 * @example
 * ```ts
 * import { getDefaultPropagator } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(getDefaultPropagator().fields(), ["traceparent", "tracestate", "baggage"]);
 * ```
 */
export function getDefaultPropagator(): TextMapPropagator {
  return defaultPropagator;
}

/**
 * Sets the process's propagator (OpenTelemetry's global propagator), which the HTTP helpers
 * use from their next request on. Pass `undefined` to go back to W3C Trace Context and
 * Baggage.
 *
 * @param propagator The propagator, such as a {@linkcode CompositePropagator}.
 * @throws {TypeError} When it lacks an `inject`, `extract` or `fields` function.
 *
 * @example Speak B3 only
 * ```ts
 * import { B3Propagator, getDefaultPropagator, setDefaultPropagator } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * setDefaultPropagator(new B3Propagator());
 * assert.deepEqual(getDefaultPropagator().fields(), ["b3"]);
 * setDefaultPropagator(undefined);
 * ```
 */
export function setDefaultPropagator(propagator: TextMapPropagator | undefined): void {
  if (propagator === undefined) {
    defaultPropagator = W3C_DEFAULT;
    return;
  }
  checkPropagator(propagator, "Cannot set default propagator");
  defaultPropagator = propagator;
}
