/**
 * Samplers: what a tracer provider uses to decide, for each activity about to start, whether
 * to drop it, keep its data, or keep and record it. {@linkcode AlwaysOnSampler},
 * {@linkcode AlwaysOffSampler} and {@linkcode ParentBasedSampler} (the default: follow the
 * parent, record every root).
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
