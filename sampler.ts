/**
 * Samplers: what a tracer provider uses to decide, for each activity about to start, whether
 * to drop it, keep its data, or keep and record it. {@linkcode AlwaysOnSampler},
 * {@linkcode AlwaysOffSampler}, {@linkcode ParentBasedSampler} (the default: follow the
 * parent, record every root), {@linkcode TraceIdRatioSampler} (a fraction of traces, decided
 * from the trace id's random bits so that every service decides alike) and
 * {@linkcode LinksAwareSampler} (record an activity whose links point at a recorded one).
 *
 * @example Record nothing
 * ```ts
 * import { ActivitySource, AlwaysOffSampler, createTracerProviderBuilder } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * using _provider = createTracerProviderBuilder()
 *   .addSource("Quiet")
 *   .setSampler(new AlwaysOffSampler())
 *   .build();
 * assert.equal(new ActivitySource("Quiet").startActivity("Root"), undefined);
 * ```
 *
 * @module
 */

import type { ActivityCreationOptions } from "./source.ts";
import { TRACE_FLAG_RECORDED } from "./ids.ts";

/**
 * A sampler's decision: `"drop"` (not recorded; its context still propagates),
 * `"recordOnly"` (data kept, not exported) or `"recordAndSample"` (kept and exported).
 */
export type SamplingDecision = "drop" | "recordOnly" | "recordAndSample";

/** A sampler's answer: the decision, tags to add, and the trace state to start with. */
export interface SamplingResult {
  /** The decision. */
  readonly decision: SamplingDecision;
  /** Tags to add to the activity. */
  readonly tags?: readonly (readonly [string, unknown])[];
  /** The trace state the activity starts with (replaces the parent's). */
  readonly traceState?: string;
}

/** Decides, for each activity about to start, whether it is dropped, kept or recorded. */
export interface Sampler {
  /**
   * Decides for an activity about to start.
   *
   * @param options What is known of it: name, kind, parent, trace id, tags and links.
   */
  shouldSample(options: ActivityCreationOptions): SamplingResult;
  /** A short description, such as `AlwaysOnSampler`. */
  readonly description: string;
}

const RECORD_AND_SAMPLE: SamplingResult = Object.freeze({ decision: "recordAndSample" });
const DROP: SamplingResult = Object.freeze({ decision: "drop" });

/**
 * Records every activity.
 *
 * @example
 * ```ts
 * import { AlwaysOnSampler } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new AlwaysOnSampler().description, "AlwaysOnSampler");
 * ```
 */
export class AlwaysOnSampler implements Sampler {
  /** `"AlwaysOnSampler"`. */
  readonly description: string = "AlwaysOnSampler";
  /**
   * Always `recordAndSample`.
   *
   * @param _options Not read.
   * @returns The decision `recordAndSample`.
   */
  shouldSample(_options: ActivityCreationOptions): SamplingResult {
    return RECORD_AND_SAMPLE;
  }
}

/**
 * Records nothing. A provider with this sampler creates no root activity at all; children of
 * a parent from elsewhere are created unrecorded so that the context still propagates.
 *
 * @example
 * ```ts
 * import { AlwaysOffSampler } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new AlwaysOffSampler().description, "AlwaysOffSampler");
 * ```
 */
export class AlwaysOffSampler implements Sampler {
  /** `"AlwaysOffSampler"`. */
  readonly description: string = "AlwaysOffSampler";
  /**
   * Always `drop`.
   *
   * @param _options Not read.
   * @returns The decision `drop`.
   */
  shouldSample(_options: ActivityCreationOptions): SamplingResult {
    return DROP;
  }
}

/** Options of {@linkcode ParentBasedSampler}: the sampler for each kind of parent. */
export interface ParentBasedSamplerOptions {
  /**
   * For a remote parent that is recorded (sampled).
   * @default {new AlwaysOnSampler()}
   */
  remoteParentSampled?: Sampler;
  /**
   * For a remote parent that is not recorded.
   * @default {new AlwaysOffSampler()}
   */
  remoteParentNotSampled?: Sampler;
  /**
   * For a local parent that is recorded.
   * @default {new AlwaysOnSampler()}
   */
  localParentSampled?: Sampler;
  /**
   * For a local parent that is not recorded.
   * @default {new AlwaysOffSampler()}
   */
  localParentNotSampled?: Sampler;
}

/**
 * Follows the parent's decision (its recorded flag) and asks `root` for new traces; each
 * kind of parent can have its own sampler. The default sampler of a tracer provider is
 * `new ParentBasedSampler(new AlwaysOnSampler())`.
 *
 * @example
 * ```ts
 * import { AlwaysOnSampler, ParentBasedSampler } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * const sampler = new ParentBasedSampler(new AlwaysOnSampler());
 * assert.equal(sampler.description, "ParentBased{root=AlwaysOnSampler}");
 * ```
 */
export class ParentBasedSampler implements Sampler {
  readonly #root: Sampler;
  readonly #remoteSampled: Sampler;
  readonly #remoteNotSampled: Sampler;
  readonly #localSampled: Sampler;
  readonly #localNotSampled: Sampler;
  /** `ParentBased{root=...}`. */
  readonly description: string;

  /**
   * Makes the sampler.
   *
   * @param root The sampler for activities without a parent.
   * @param options The samplers for each kind of parent.
   * @throws {TypeError} When a sampler has no `shouldSample` function.
   */
  constructor(root: Sampler, options: ParentBasedSamplerOptions = {}) {
    this.#root = checkSampler(root, "root");
    this.#remoteSampled = checkSampler(
      options.remoteParentSampled ?? ALWAYS_ON,
      "remoteParentSampled",
    );
    this.#remoteNotSampled = checkSampler(
      options.remoteParentNotSampled ?? ALWAYS_OFF,
      "remoteParentNotSampled",
    );
    this.#localSampled = checkSampler(
      options.localParentSampled ?? ALWAYS_ON,
      "localParentSampled",
    );
    this.#localNotSampled = checkSampler(
      options.localParentNotSampled ?? ALWAYS_OFF,
      "localParentNotSampled",
    );
    this.description = `ParentBased{root=${root.description}}`;
  }

  /**
   * Asks the sampler for the parent's kind.
   *
   * @param options What is known of the activity.
   * @returns That sampler's answer.
   */
  shouldSample(options: ActivityCreationOptions): SamplingResult {
    const parent = options.parent;
    if (parent === undefined) return this.#root.shouldSample(options);
    const sampled = (parent.traceFlags & TRACE_FLAG_RECORDED) !== 0;
    const sampler = parent.isRemote
      ? (sampled ? this.#remoteSampled : this.#remoteNotSampled)
      : (sampled ? this.#localSampled : this.#localNotSampled);
    return sampler.shouldSample(options);
  }
}

/** The value of 7 lowercase hex characters from `at`, or -1 when one is not lowercase hex. */
function hex28(text: string, at: number): number {
  let value = 0;
  for (let i = at; i < at + 7; i++) {
    const c = text.charCodeAt(i);
    let digit: number;
    if (c >= 48 && c <= 57) digit = c - 48;
    else if (c >= 97 && c <= 102) digit = c - 87;
    else return -1;
    value = value * 16 + digit;
  }
  return value;
}

const ALWAYS_ON = new AlwaysOnSampler();
const ALWAYS_OFF = new AlwaysOffSampler();

function checkSampler(sampler: Sampler, what: string): Sampler {
  if (
    typeof sampler !== "object" || sampler === null || typeof sampler.shouldSample !== "function"
  ) {
    throw new TypeError(`Cannot use ${what} sampler: it must have a shouldSample() function`);
  }
  return sampler;
}

/**
 * Records a fixed fraction of traces, decided from the trace id alone: the right-most 7 bytes
 * of the id (56 bits), which W3C Trace Context Level 2 makes random, are compared with a
 * threshold, as OpenTelemetry's consistent probability sampling does. Every service that uses
 * the same ratio therefore makes the same decision for the same trace, and a lower ratio keeps
 * a subset of what a higher one keeps.
 *
 * OpenTelemetry JS 2.x's `TraceIdRatioBasedSampler` computes its decision from the id in
 * another way, so the two agree only by chance; samplers that implement the threshold
 * algorithm of consistent probability sampling agree with this one.
 *
 * The decision is made for every activity, children included. Wrap it in a
 * {@linkcode ParentBasedSampler} to decide once per trace at its root and follow the parent
 * elsewhere.
 *
 * @example Keep about one trace in ten
 * ```ts
 * import { TraceIdRatioSampler } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * const sampler = new TraceIdRatioSampler(0.1);
 * assert.equal(sampler.description, "TraceIdRatioBased{0.1}");
 * assert.equal(sampler.ratio, 0.1);
 * // The random part ffffffffffffff is above every threshold: always kept.
 * assert.equal(sampler.sampleTraceId("4bf92f3577b34da6a3ffffffffffffff"), true);
 * // The random part 00000000000000 is below every threshold but that of ratio 1: dropped.
 * assert.equal(sampler.sampleTraceId("4bf92f3577b34da6a300000000000000"), false);
 * ```
 */
export class TraceIdRatioSampler implements Sampler {
  /** The fraction of traces recorded, from 0 to 1. */
  readonly ratio: number;
  /** `TraceIdRatioBased{ratio}`. */
  readonly description: string;
  // The rejection threshold T = round((1 - ratio) * 2^56), split into its upper and lower 28
  // bits so that the comparison needs no BigInt: a trace is kept when its 56 random bits R
  // satisfy R >= T.
  readonly #thresholdHigh: number;
  readonly #thresholdLow: number;

  /**
   * Makes the sampler.
   *
   * @param ratio The fraction of traces to record, from 0 (none) to 1 (all).
   * @throws {TypeError} When the ratio is not a number.
   * @throws {RangeError} When the ratio is outside [0, 1] or not finite.
   */
  constructor(ratio: number) {
    if (typeof ratio !== "number") {
      throw new TypeError(
        `Cannot make TraceIdRatioSampler: ratio must be a number, got ${typeof ratio}`,
      );
    }
    if (!(ratio >= 0 && ratio <= 1)) {
      throw new RangeError(
        `Cannot make TraceIdRatioSampler: ratio ${String(ratio)} is outside [0, 1]`,
      );
    }
    this.ratio = ratio;
    this.description = `TraceIdRatioBased{${String(ratio)}}`;
    // (1 - ratio) * 2^56 is exact in a double up to rounding of (1 - ratio) itself; 2^56 is
    // a power of two, so the multiplication loses nothing.
    const threshold = BigInt(Math.round((1 - ratio) * 2 ** 56));
    this.#thresholdHigh = Number(threshold >> 28n);
    this.#thresholdLow = Number(threshold & 0xfffffffn);
  }

  /**
   * Whether a trace id falls within the ratio. An id that is not 32 characters long, or whose
   * right-most 14 characters are not lowercase hex, is never sampled.
   *
   * @param traceId A trace id.
   * @returns `true` when the trace is recorded.
   */
  sampleTraceId(traceId: string): boolean {
    if (typeof traceId !== "string" || traceId.length !== 32) return false;
    // Hex characters 18..31 are the right-most 7 bytes: upper and lower 28 bits.
    const high = hex28(traceId, 18);
    const low = hex28(traceId, 25);
    if (high < 0 || low < 0) return false;
    if (high !== this.#thresholdHigh) return high > this.#thresholdHigh;
    return low >= this.#thresholdLow;
  }

  /**
   * Decides from the trace id.
   *
   * @param options What is known of the activity; only the trace id is read.
   * @returns `recordAndSample` when the trace id falls within the ratio, else `drop`.
   */
  shouldSample(options: ActivityCreationOptions): SamplingResult {
    return this.sampleTraceId(options.traceId) ? RECORD_AND_SAMPLE : DROP;
  }
}

/**
 * Records an activity when any link given at its start points at a recorded activity, and
 * otherwise asks the sampler it wraps (the links-based sampler of the .NET guide). With it, the
 * new traces that a recorded orchestrator fans out to are recorded too, whatever the ratio,
 * so a kept trace never points at linked traces that were dropped.
 *
 * Only links given at start are seen (`startActivity(name, { links })`); links added later
 * with `addLink` come too late for sampling.
 *
 * @example Fan-out under a ratio sampler
 * ```ts
 * import {
 *   ActivityContext,
 *   ActivityLink,
 *   ActivitySource,
 *   createTracerProviderBuilder,
 *   LinksAwareSampler,
 *   ParentBasedSampler,
 *   TraceIdRatioSampler,
 * } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * using _provider = createTracerProviderBuilder()
 *   .addSource("Jobs")
 *   .setSampler(new LinksAwareSampler(new ParentBasedSampler(new TraceIdRatioSampler(0))))
 *   .build();
 * const source = new ActivitySource("Jobs");
 * const recorded = new ActivityContext("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", {
 *   traceFlags: 1,
 * });
 * using kept = source.startActivity("Job", { root: true, links: [new ActivityLink(recorded)] });
 * using dropped = source.startActivity("Other", { root: true });
 * assert.equal(kept?.recorded, true);
 * assert.equal(dropped?.recorded, false);
 * ```
 */
export class LinksAwareSampler implements Sampler {
  readonly #inner: Sampler;
  /** `LinksAware{inner}`. */
  readonly description: string;

  /**
   * Makes the sampler.
   *
   * @param inner The sampler to ask when no link given at start is recorded.
   * @throws {TypeError} When `inner` has no `shouldSample` function.
   */
  constructor(inner: Sampler) {
    this.#inner = checkSampler(inner, "inner");
    this.description = `LinksAware{${inner.description}}`;
  }

  /**
   * Records when any link is recorded; otherwise answers as the inner sampler.
   *
   * @param options What is known of the activity; the links' trace flags are read.
   * @returns `recordAndSample`, or the inner sampler's answer.
   */
  shouldSample(options: ActivityCreationOptions): SamplingResult {
    const links = options.links;
    for (let i = 0; i < links.length; i++) {
      const context = links[i]?.context;
      if (context !== undefined && (context.traceFlags & TRACE_FLAG_RECORDED) !== 0) {
        return RECORD_AND_SAMPLE;
      }
    }
    return this.#inner.shouldSample(options);
  }
}
