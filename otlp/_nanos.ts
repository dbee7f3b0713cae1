// Epoch nanoseconds of an activity's instants without a bigint: an instant is `ticks` (100 ns)
// from its time base's whole-millisecond origin, so its nanoseconds are `ms * 1e6 + sub` with
// `ms = originMs + floor(ticks / 1e4)` and `sub` below 1e6, both exact numbers whenever the
// ticks and `ms` are safe integers (every instant a `Date` can hold, on the default clock).
// ProtoWriter.fixed64Nanos and JsonWriter.nanos write them.

import { TICKS_PER_MS, type TimeBase } from "../_time.ts";

/** Epoch nanoseconds as whole milliseconds and the nanoseconds past them. */
export interface Nanos {
  /** Whole milliseconds since the epoch (negative before 1970). */
  ms: number;
  /** Nanoseconds past `ms`, 0 to 999,900. */
  sub: number;
}

/**
 * Splits the instant `ticks` of `base` into `out`; false when a number would not be exact (a
 * clock whose origin or ticks are beyond 2^53), and the caller then uses `unixNano`.
 */
export function splitNanos(base: TimeBase, ticks: number, out: Nanos): boolean {
  if (!Number.isSafeInteger(ticks)) return false;
  const q = Math.floor(ticks / TICKS_PER_MS);
  const ms = base.originMs + q;
  if (!Number.isSafeInteger(ms)) return false;
  out.ms = ms;
  out.sub = (ticks - q * TICKS_PER_MS) * 100;
  return true;
}
