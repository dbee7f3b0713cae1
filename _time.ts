// Time in 100-nanosecond ticks, the unit .NET prints. A clock is shaped like `performance`: a
// wall-clock origin in epoch milliseconds and a monotonic `now()` in milliseconds since it.
// Instants are kept as integer ticks since the origin's whole millisecond, so durations are
// exact and the last printed digits are real; epoch nanoseconds are computed only on demand.

/** 100-nanosecond ticks in a millisecond. */
export const TICKS_PER_MS = 10_000;

/** A clock shaped like `performance`: `timeOrigin` in epoch ms, `now()` in ms since it. */
export interface Clock {
  /** The wall-clock time, in milliseconds since the Unix epoch, at which `now()` was 0. */
  readonly timeOrigin: number;
  /** Milliseconds since `timeOrigin`, monotonic, with sub-millisecond fractions. */
  now(): number;
}

/** A clock with its origin split into a whole millisecond and a fraction. */
export interface TimeBase {
  readonly clock: Clock;
  /** The whole millisecond of the origin: ticks are counted from here. */
  readonly originMs: number;
  /** The origin's fraction of a millisecond. */
  readonly fractionMs: number;
  /** The whole millisecond of the origin in epoch nanoseconds, made once. */
  readonly originNs: bigint;
}

/** An activity's time base and ticks, as the OTLP encoders read them (the end is the start while it runs). */
export interface ActivityTimes {
  time: TimeBase;
  startTicks: number;
  endTicks: number;
}

/** Makes the time base of a clock. */
export function timeBase(clock: Clock): TimeBase {
  const originMs = Math.floor(clock.timeOrigin);
  return {
    clock,
    originMs,
    fractionMs: clock.timeOrigin - originMs,
    originNs: BigInt(originMs) * 1_000_000n,
  };
}

/** The default time base: `performance`. */
export const DEFAULT_TIME_BASE: TimeBase = timeBase(performance);

/**
 * The time base of a clock a caller gave, or the default for none.
 *
 * @throws {TypeError} When the clock has no finite `timeOrigin` or no `now()`; the message
 * starts with `what`.
 */
export function timeBaseOf(clock: Clock | undefined, what: string): TimeBase {
  if (clock === undefined) return DEFAULT_TIME_BASE;
  if (typeof clock.now !== "function" || !Number.isFinite(clock.timeOrigin)) {
    throw new TypeError(`${what}: clock must have a finite timeOrigin and a now() function`);
  }
  return timeBase(clock);
}

/** The current instant, in ticks since the time base's whole-millisecond origin. */
export function nowTicks(base: TimeBase): number {
  return Math.round((base.fractionMs + base.clock.now()) * TICKS_PER_MS);
}

/** The largest distance from the epoch, in ms, that a `Date` can hold. */
const MAX_DATE_MS = 8.64e15;

const getTime = Date.prototype.getTime;

/**
 * Converts a `Date` or epoch milliseconds to ticks of a time base; `undefined` when invalid,
 * outside the range of a `Date` (such a time could not be printed), or not a time at all. The
 * ticks are negative for an instant before the origin (a back-dated activity). Never throws:
 * a `Date` is read through `Date.prototype.getTime`, so an overridden `getTime`, a revoked
 * proxy or any other object is not called into.
 */
export function toTicks(base: TimeBase, time: unknown): number | undefined {
  let ms: unknown = time;
  if (typeof time === "object" && time !== null) {
    try {
      ms = getTime.call(time);
    } catch {
      return undefined; // not a Date
    }
  }
  if (typeof ms !== "number" || !(Math.abs(ms) <= MAX_DATE_MS)) return undefined;
  return Math.round((ms - base.originMs) * TICKS_PER_MS);
}

/** Epoch nanoseconds of an instant. */
export function unixNano(base: TimeBase, ticks: number): bigint {
  return base.originNs + BigInt(ticks) * 100n;
}

/** The whole epoch milliseconds of an instant (for a `Date`). */
export function epochMs(base: TimeBase, ticks: number): number {
  return base.originMs + Math.floor(ticks / TICKS_PER_MS);
}

/**
 * The ticks that mean "still running" in an activity's end. Ticks are negative for instants
 * before the origin (a back-dated activity), so this is one particular value, which
 * {@linkcode endTicksOf} never returns. A small integer keeps the field unboxed.
 */
export const RUNNING = -1;

/**
 * The end of an activity that started at `start`: `endTime` (a `Date` or epoch milliseconds)
 * when valid, else now; at least one tick after the start (more for an instant so far from the
 * origin, decades, that the next tick is not a distinct number), and never {@linkcode RUNNING}.
 */
export function endTicksOf(base: TimeBase, start: number, endTime: unknown): number {
  let end: number | undefined;
  if (endTime !== undefined) end = toTicks(base, endTime);
  end ??= nowTicks(base);
  if (!(end > start)) {
    end = start + 1;
    if (end === start) end = start + Math.abs(start) * Number.EPSILON;
  }
  return end === RUNNING ? end + 1 : end;
}
