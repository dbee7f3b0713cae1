/**
 * How much an activity keeps ({@linkcode ActivityLimits}, OpenTelemetry's span limits, with
 * their defaults {@linkcode DEFAULT_LIMITS}) and the W3C Baggage limits that an activity's
 * baggage and the `baggage` header both keep to. Beyond a limit, data are dropped and counted.
 *
 * @example A provider with stricter limits
 * ```ts
 * import { ActivitySource, createTracerProviderBuilder, DEFAULT_LIMITS } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * using _provider = createTracerProviderBuilder().addSource("Limits").setLimits({ tagCount: 1 }).build();
 * using activity = new ActivitySource("Limits").startActivity("Work")!;
 * activity.setTag("a", 1).setTag("b", 2);
 * assert.equal(activity.droppedTagCount, 1);
 * assert.equal(DEFAULT_LIMITS.tagCount, 128);
 * ```
 *
 * @module
 */

/**
 * How much an activity keeps; beyond a limit, data are dropped and counted (OpenTelemetry's
 * span limits).
 */
export interface ActivityLimits {
  /** Tags per activity. */
  readonly tagCount: number;
  /** Characters kept of a string tag value (and of each string in an array value). */
  readonly tagValueLength: number;
  /** Events per activity. */
  readonly eventCount: number;
  /** Links per activity. */
  readonly linkCount: number;
  /** Tags per event. */
  readonly eventTagCount: number;
  /** Tags per link. */
  readonly linkTagCount: number;
}

/**
 * The default limits: 128 tags, events, links, and tags per event and per link; string values
 * unlimited.
 *
 * @example
 * ```ts
 * import { DEFAULT_LIMITS } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * assert.equal(DEFAULT_LIMITS.linkCount, 128);
 * ```
 */
export const DEFAULT_LIMITS: Readonly<ActivityLimits> = Object.freeze({
  tagCount: 128,
  tagValueLength: Infinity,
  eventCount: 128,
  linkCount: 128,
  eventTagCount: 128,
  linkTagCount: 128,
});

/** The most list members this module reads or writes, and the most own baggage items of an activity. */
export const BAGGAGE_MAX_MEMBERS = 180;
/** The most bytes of one list member (key, value and properties) this module reads or writes. */
export const BAGGAGE_MAX_MEMBER_BYTES = 4096;
/**
 * The most bytes of a whole `baggage` header this module reads or writes, and the most
 * characters of `key=value` an activity's own baggage items hold in all.
 */
export const BAGGAGE_MAX_BYTES = 8192;

/**
 * Checks the limits given to a provider or builder.
 *
 * @throws {TypeError} For an unknown limit, or a value that is not a number.
 * @throws {RangeError} For a value that is not a non-negative integer or `Infinity`.
 */
export function checkLimits(limits: Partial<ActivityLimits>): Partial<ActivityLimits> {
  if (typeof limits !== "object" || limits === null) {
    throw new TypeError("Cannot set limits: expected an object");
  }
  for (const key of Object.keys(limits)) {
    if (!(key in DEFAULT_LIMITS)) throw new TypeError(`Cannot set limits: unknown limit '${key}'`);
    const value = (limits as Record<string, unknown>)[key];
    if (value === undefined) continue;
    if (typeof value !== "number") {
      throw new TypeError(`Cannot set limits: ${key} must be a number, got ${typeof value}`);
    }
    if (
      !(value === Infinity || (Number.isInteger(value) && value >= 0))
    ) {
      throw new RangeError(
        `Cannot set limits: ${key} must be a non-negative integer or Infinity, got ${
          String(value)
        }`,
      );
    }
  }
  return limits;
}

/**
 * The most generous of several listeners' limits, a limit a listener leaves out being the
 * default; the defaults when no listener states any.
 */
export function mergeLimits(
  stated: readonly (Partial<ActivityLimits> | undefined)[],
): Readonly<ActivityLimits> {
  let merged: { -readonly [K in keyof ActivityLimits]: number } | undefined;
  for (const limits of stated) {
    if (limits === undefined) continue;
    const first = merged === undefined;
    merged ??= { ...DEFAULT_LIMITS };
    for (const key of Object.keys(DEFAULT_LIMITS) as (keyof ActivityLimits)[]) {
      const value = limits[key] ?? DEFAULT_LIMITS[key];
      merged[key] = first ? value : Math.max(merged[key], value);
    }
  }
  return merged === undefined ? DEFAULT_LIMITS : Object.freeze(merged);
}
