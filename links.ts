/**
 * What a link points at and the link itself: {@linkcode ActivityContext} (trace id, span id,
 * trace flags, trace state, whether it came from another process) with parsing and formatting
 * of the W3C `traceparent` form, and {@linkcode ActivityLink} (a context plus optional tags).
 *
 * @example Link to an activity from another trace
 * ```ts
 * import { ActivityContext, ActivityLink } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * const context = ActivityContext.parse("00-2890476acefb53b93af64a0d91939051-16b83c1517629363-01");
 * const link = new ActivityLink(context, { "link.reason": "batch" });
 * assert.equal(link.context.spanId, "16b83c1517629363");
 * assert.equal(link.context.isRemote, true);
 * ```
 *
 * @module
 */

import { isValidSpanId, isValidTraceFlags, isValidTraceId } from "./ids.ts";
import { isWithinLimits, limitTags, type TagList, type Tags, toTagList } from "./tags.ts";
import { printable } from "./_format.ts";
import { brand, BRANDS, hasBrand } from "./_registry.ts";

/** Options of the {@linkcode ActivityContext} constructor. */
export interface ActivityContextOptions {
  /**
   * Trace flags: bit `0x01` recorded (sampled), bit `0x02` random trace id.
   * @default {0}
   */
  traceFlags?: number;
  /**
   * The W3C `tracestate` value carried with the context, or `undefined` for none.
   * @default {undefined}
   */
  traceState?: string | undefined;
  /**
   * Whether the context came from another process (extracted from a carrier).
   * @default {false}
   */
  isRemote?: boolean;
}

const HEX2 = /^[0-9a-f]{2}$/;

/** The length of a version `00` traceparent; a later version may add fields after it. */
const TRACEPARENT_LENGTH = 55;

/** What {@linkcode readTraceparent} found: a context's fields, or the reason it failed. */
type ParseOutcome =
  | { ok: true; traceId: string; spanId: string; traceFlags: number }
  | { ok: false; reason: string };

/**
 * Reads a `traceparent` value by the rules of W3C Trace Context Level 2: version `ff` is
 * invalid; version `00` is exactly 55 characters; a later version may be longer, and then the
 * 56th character must be `-`; ids are lowercase hex and not all zeros. A `,` anywhere means
 * several values combined (as HTTP combines repeated header lines), never one.
 */
function readTraceparent(text: unknown): ParseOutcome {
  if (typeof text === "string" && text.length === TRACEPARENT_LENGTH) {
    const read = readVersion00(text);
    if (read !== undefined) return read;
  }
  return readStepByStep(text);
}

/** {@linkcode readTraceparent} one rule at a time, saying which one fails. */
function readStepByStep(text: unknown): ParseOutcome {
  if (typeof text !== "string") {
    return { ok: false, reason: `expected a string, got ${typeof text}` };
  }
  if (text.includes(",")) {
    return { ok: false, reason: "it holds ',', so it is several traceparent values combined" };
  }
  if (text.length < TRACEPARENT_LENGTH) {
    return {
      ok: false,
      reason: `expected at least ${TRACEPARENT_LENGTH} characters, got ${text.length}`,
    };
  }
  const version = text.slice(0, 2);
  if (!HEX2.test(version)) {
    return { ok: false, reason: `version '${printable(version)}' is not two lowercase hex digits` };
  }
  if (version === "ff") return { ok: false, reason: "version 'ff' is not allowed" };
  if (version === "00" && text.length !== TRACEPARENT_LENGTH) {
    return {
      ok: false,
      reason: `version '00' must be exactly ${TRACEPARENT_LENGTH} characters, got ${text.length}`,
    };
  }
  if (text.length > TRACEPARENT_LENGTH && text[TRACEPARENT_LENGTH] !== "-") {
    return {
      ok: false,
      reason: "a longer traceparent of a later version must have '-' after the flags",
    };
  }
  if (text[2] !== "-" || text[35] !== "-" || text[52] !== "-") {
    return { ok: false, reason: "fields must be separated by '-' at positions 2, 35 and 52" };
  }
  const traceId = text.slice(3, 35);
  if (!isValidTraceId(traceId)) {
    return {
      ok: false,
      reason: /^0{32}$/.test(traceId)
        ? "trace id is all zeros"
        : `trace id '${printable(traceId)}' is not 32 lowercase hex digits`,
    };
  }
  const spanId = text.slice(36, 52);
  if (!isValidSpanId(spanId)) {
    return {
      ok: false,
      reason: /^0{16}$/.test(spanId)
        ? "parent id is all zeros"
        : `parent id '${printable(spanId)}' is not 16 lowercase hex digits`,
    };
  }
  const flags = text.slice(53, 55);
  if (!HEX2.test(flags)) {
    return {
      ok: false,
      reason: `trace flags '${printable(flags)}' are not two lowercase hex digits`,
    };
  }
  return { ok: true, traceId, spanId, traceFlags: parseInt(flags, 16) };
}

/**
 * A valid version `00` traceparent of exactly 55 characters, read in one pass: `00-`, 32 and 16
 * lowercase hex digits not all zeros, each followed by `-`, and two hex digits of flags.
 * `undefined` for anything else, which readTraceparent then reads step by step to say why.
 */
function readVersion00(text: string): ParseOutcome | undefined {
  if (text.charCodeAt(0) !== 0x30 || text.charCodeAt(1) !== 0x30) return undefined;
  let traceBits = 0;
  let spanBits = 0;
  for (let i = 2; i < TRACEPARENT_LENGTH; i++) {
    const c = text.charCodeAt(i);
    if (i === 2 || i === 35 || i === 52) {
      if (c !== 0x2d) return undefined; // "-"
      continue;
    }
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return undefined;
    if (i < 35) traceBits |= c ^ 0x30;
    else if (i < 52) spanBits |= c ^ 0x30;
  }
  if (traceBits === 0 || spanBits === 0) return undefined;
  return {
    ok: true,
    traceId: text.slice(3, 35),
    spanId: text.slice(36, 52),
    traceFlags: parseInt(text.slice(53, 55), 16),
  };
}

/** The length this module keeps a combined `tracestate` within (what the specification asks). */
export const TRACESTATE_MAX_LENGTH = 512;

/**
 * A trace state is kept only when it is printable ASCII of at most
 * {@linkcode TRACESTATE_MAX_LENGTH} characters; used by activities too, so that an activity and
 * its context always agree.
 */
export function cleanTraceState(traceState: string | undefined): string | undefined {
  if (traceState === undefined) return undefined;
  if (traceState.length > TRACESTATE_MAX_LENGTH || /[^\u0020-\u007e]/.test(traceState)) {
    return undefined;
  }
  const trimmed = traceState.trim();
  return trimmed === "" ? undefined : trimmed;
}

/** The constructor's checks of the ids. */
function checkIds(traceId: string, spanId: string): void {
  if (!isValidTraceId(traceId)) {
    throw new TypeError(
      `Cannot make ActivityContext: trace id ${
        JSON.stringify(traceId)
      } is not 32 lowercase hex digits, not all zeros`,
    );
  }
  if (!isValidSpanId(spanId)) {
    throw new TypeError(
      `Cannot make ActivityContext: span id ${
        JSON.stringify(spanId)
      } is not 16 lowercase hex digits, not all zeros`,
    );
  }
}

/**
 * Set while a context is made from ids this module has just checked (parse, tryParse): the
 * constructor does not check them a second time.
 */
let idsChecked = false;

/** Whether an object was made by the ActivityContext constructor (set in its static block). */
let madeByConstructor: (value: object) => boolean = () => false;

/**
 * Whether a value is an {@linkcode ActivityContext} made by its constructor, which checked its
 * ids and froze it: nothing made to look like one (a frozen object with the prototype) passes.
 */
export function isCheckedContext(value: unknown): boolean {
  return typeof value === "object" && value !== null && madeByConstructor(value);
}

/**
 * The identity of an activity as other activities see it: what a parent reference or a link
 * points at, and what travels in a W3C `traceparent` header.
 *
 * @example Make one and format it as a traceparent
 * ```ts
 * import { ActivityContext } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * const context = new ActivityContext("5ce4d8ad4926ecdd0084681f46fa38d9", "8f9e9441f0789f6e", {
 *   traceFlags: 1,
 * });
 * assert.equal(context.toTraceparent(), "00-5ce4d8ad4926ecdd0084681f46fa38d9-8f9e9441f0789f6e-01");
 * ```
 */
export class ActivityContext {
  static {
    brand(ActivityContext.prototype, BRANDS.context);
  }

  /** The trace id: 32 lowercase hex characters. */
  readonly traceId: string;
  /** The span id: 16 lowercase hex characters. */
  readonly spanId: string;
  /** The trace flags byte: `0x01` recorded, `0x02` random trace id. */
  readonly traceFlags: number;
  /** The W3C `tracestate` value, or `undefined`. */
  readonly traceState: string | undefined;
  /** Whether the context came from another process. */
  readonly isRemote: boolean;

  static {
    madeByConstructor = (value) => #brand in value;
  }

  /** The brand of contexts made by the constructor (see isCheckedContext). */
  #brand(): void {}

  /**
   * Makes a context from its parts.
   *
   * @param traceId 32 lowercase hex characters, not all zeros.
   * @param spanId 16 lowercase hex characters, not all zeros.
   * @param options Trace flags, trace state and whether the context is remote.
   * @throws {TypeError} When an id or the flags have the wrong shape.
   */
  constructor(traceId: string, spanId: string, options: ActivityContextOptions = {}) {
    if (!idsChecked) checkIds(traceId, spanId);
    const traceFlags = options.traceFlags ?? 0;
    if (!isValidTraceFlags(traceFlags)) {
      throw new TypeError(
        `Cannot make ActivityContext: trace flags ${
          String(traceFlags)
        } are not an integer from 0 to 255`,
      );
    }
    if (options.traceState !== undefined && typeof options.traceState !== "string") {
      throw new TypeError(
        `Cannot make ActivityContext: trace state must be a string, got ${typeof options
          .traceState}`,
      );
    }
    this.traceId = traceId;
    this.spanId = spanId;
    this.traceFlags = traceFlags;
    this.traceState = cleanTraceState(options.traceState);
    this.isRemote = options.isRemote === true;
    Object.freeze(this);
  }

  /**
   * Reads a W3C `traceparent` value (and, optionally, a `tracestate` value) into a remote
   * context, by the rules of W3C Trace Context Level 2. A trace state that is not printable
   * ASCII of at most 512 characters is dropped, as the specification says.
   *
   * @param traceparent The `traceparent` value, such as `00-<trace id>-<span id>-01`.
   * @param tracestate The `tracestate` value, if any.
   * @returns The context, with `isRemote` true.
   * @throws {SyntaxError} When the traceparent is malformed; the message says what is wrong.
   *
   * @example Parse a traceparent
   * ```ts
   * import { ActivityContext } from "@tracelinks/activity";
   * import assert from "node:assert/strict";
   *
   * const context = ActivityContext.parse("00-5ce4d8ad4926ecdd0084681f46fa38d9-8f9e9441f0789f6e-01", "a=1");
   * assert.equal(context.traceFlags, 1);
   * assert.equal(context.traceState, "a=1");
   * assert.throws(() => ActivityContext.parse("ff-5ce4d8ad4926ecdd0084681f46fa38d9-8f9e9441f0789f6e-01"), SyntaxError);
   * ```
   */
  static parse(traceparent: string, tracestate?: string): ActivityContext {
    const outcome = readTraceparent(traceparent);
    if (!outcome.ok) throw new SyntaxError(`Cannot parse traceparent: ${outcome.reason}`);
    return fromChecked(outcome, tracestate);
  }

  /**
   * Like {@linkcode ActivityContext.parse}, but returns `undefined` instead of throwing.
   *
   * @param traceparent The `traceparent` value.
   * @param tracestate The `tracestate` value, if any.
   * @returns The remote context, or `undefined` when the traceparent is malformed.
   *
   * @example Malformed input gives undefined
   * ```ts
   * import { ActivityContext } from "@tracelinks/activity";
   * import assert from "node:assert/strict";
   *
   * assert.equal(ActivityContext.tryParse("not a traceparent"), undefined);
   * ```
   */
  static tryParse(traceparent: string, tracestate?: string): ActivityContext | undefined {
    const outcome = readTraceparent(traceparent);
    if (!outcome.ok) return undefined;
    return fromChecked(outcome, tracestate);
  }

  /**
   * Formats the context as a version `00` W3C `traceparent` value.
   *
   * @returns `00-{traceId}-{spanId}-{flags}`, flags as two lowercase hex digits.
   *
   * @example
   * ```ts
   * import { ActivityContext } from "@tracelinks/activity";
   * import assert from "node:assert/strict";
   *
   * const text = "00-5ce4d8ad4926ecdd0084681f46fa38d9-8f9e9441f0789f6e-03";
   * assert.equal(ActivityContext.parse(text).toTraceparent(), text);
   * ```
   */
  toTraceparent(): string {
    return formatTraceparent(this.traceId, this.spanId, this.traceFlags);
  }

  /**
   * The same as {@linkcode ActivityContext.toTraceparent}.
   *
   * @returns The traceparent form.
   */
  toString(): string {
    return this.toTraceparent();
  }
}

/** A remote context from a traceparent read by readTraceparent, whose ids it checked. */
function fromChecked(
  outcome: { traceId: string; spanId: string; traceFlags: number },
  tracestate: unknown,
): ActivityContext {
  idsChecked = true;
  try {
    return new ActivityContext(outcome.traceId, outcome.spanId, {
      traceFlags: outcome.traceFlags,
      traceState: typeof tracestate === "string" ? tracestate : undefined,
      isRemote: true,
    });
  } finally {
    idsChecked = false;
  }
}

/**
 * A remote context with the ids and flags of one made by the constructor (or read from a
 * traceparent), and a trace state: the ids are not checked again.
 */
export function withTraceState(context: ActivityContext, traceState: string): ActivityContext {
  return fromChecked(context, traceState);
}

/** Formats the parts of a version `00` traceparent; the caller guarantees valid parts. */
export function formatTraceparent(traceId: string, spanId: string, traceFlags: number): string {
  return `00-${traceId}-${spanId}-${traceFlags < 16 ? "0" : ""}${traceFlags.toString(16)}`;
}

/**
 * A link from one activity to another, usually in another trace: the context it points at and
 * tags that say why.
 *
 * @example Fan-out: each new root links to the orchestrating activity
 * ```ts
 * import { ActivityContext, ActivityLink } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * const orchestrator = new ActivityContext("2890476acefb53b93af64a0d91939051", "16b83c1517629363");
 * const link = new ActivityLink(orchestrator, { "link.index": 0 });
 * assert.deepEqual(link.tags, [["link.index", 0]]);
 * ```
 */
export class ActivityLink {
  static {
    brand(ActivityLink.prototype, BRANDS.link);
  }

  /** The context the link points at. */
  readonly context: ActivityContext;
  /** The link's tags, in the order given. */
  readonly tags: TagList;

  /**
   * Makes a link.
   *
   * @param context The context to point at.
   * @param tags Tags that say why: a record, a `Map` or `[key, value]` pairs.
   * @throws {TypeError} When `context` is not an {@linkcode ActivityContext} or the tags have
   * the wrong shape.
   */
  constructor(context: ActivityContext, tags?: Tags) {
    if (!isActivityContext(context)) {
      throw new TypeError("Cannot make ActivityLink: context must be an ActivityContext");
    }
    this.context = ownContext(context);
    this.tags = Object.freeze(toTagList(tags, "link"));
  }
}

const droppedLinkTags = new WeakMap<ActivityLink, number>();

/**
 * The link an activity keeps of a link given to it: the link itself when its tags are within
 * the per-link limits (the common case, without a copy), else a copy with fewer or shorter
 * tags whose dropped count {@linkcode droppedLinkTagCount} tells.
 *
 * @throws {TypeError} When `link` is not an `ActivityLink` whose context and tags can be read.
 */
export function keptLink(link: unknown, maxTags: number, maxLength: number): ActivityLink {
  if (!isActivityLink(link)) {
    throw new TypeError(
      `Cannot add link: expected an ActivityLink, got ${
        link === null ? "null" : typeof link === "object" ? "another object" : typeof link
      }`,
    );
  }
  const context: unknown = link.context;
  const tags: unknown = link.tags;
  if (!isActivityContext(context) || !Array.isArray(tags)) {
    throw new TypeError(
      "Cannot add link: its context is not an ActivityContext or its tags are not a list",
    );
  }
  const foreign = !(link instanceof ActivityLink);
  if (!foreign && isWithinLimits(tags as TagList, maxTags, maxLength)) return link;
  const limited = limitTags(tags as TagList, maxTags, maxLength);
  const copy = new ActivityLink(context, limited.tags as Tags);
  if (limited.dropped > 0) droppedLinkTags.set(copy, limited.dropped);
  return copy;
}

/**
 * Whether a value is an {@linkcode ActivityContext} of this module, made by this copy or by
 * another copy loaded in the same program (another bundle); never throws.
 *
 * @param value Any value.
 * @returns `true` for a context of any copy of the module.
 *
 * @example
 * ```ts
 * import { ActivityContext, isActivityContext } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * assert.equal(isActivityContext(ActivityContext.parse("00-2890476acefb53b93af64a0d91939051-16b83c1517629363-01")), true);
 * assert.equal(isActivityContext({ traceId: "2890476acefb53b93af64a0d91939051" }), false);
 * ```
 */
export function isActivityContext(value: unknown): value is ActivityContext {
  return value instanceof ActivityContext || hasBrand(value, BRANDS.context);
}

/**
 * Whether a value is an {@linkcode ActivityLink} of this module, made by this copy or by
 * another copy loaded in the same program; never throws.
 *
 * @param value Any value.
 * @returns `true` for a link of any copy of the module.
 *
 * @example
 * ```ts
 * import { ActivityContext, ActivityLink, isActivityLink } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * const context = new ActivityContext("2890476acefb53b93af64a0d91939051", "16b83c1517629363");
 * assert.equal(isActivityLink(new ActivityLink(context)), true);
 * assert.equal(isActivityLink({ context }), false);
 * ```
 */
export function isActivityLink(value: unknown): value is ActivityLink {
  return value instanceof ActivityLink || hasBrand(value, BRANDS.link);
}

/**
 * A context of this copy for a context of any copy: a checked, frozen one of this copy as it
 * is, anything else copied through the constructor (which checks it).
 *
 * @throws {TypeError} When the context's ids or flags are not valid.
 */
export function ownContext(context: ActivityContext): ActivityContext {
  if (isCheckedContext(context)) return context;
  return new ActivityContext(context.traceId, context.spanId, {
    traceFlags: context.traceFlags,
    traceState: context.traceState,
    isRemote: context.isRemote,
  });
}

/**
 * How many tags of a link were dropped by the per-link tag limit when it was added to an
 * activity.
 *
 * @param link A link from {@linkcode Activity.links}.
 * @returns The number of tags dropped (0 for a link kept whole).
 *
 * @example
 * ```ts
 * import { ActivityContext, ActivityLink, droppedLinkTagCount } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * const link = new ActivityLink(new ActivityContext("2890476acefb53b93af64a0d91939051", "16b83c1517629363"));
 * assert.equal(droppedLinkTagCount(link), 0);
 * ```
 */
export function droppedLinkTagCount(link: ActivityLink): number {
  return droppedLinkTags.get(link) ?? 0;
}
