// Epoch nanoseconds of an activity's instants without a bigint: an instant is `ticks` (100 ns)
// from its time base's whole-millisecond origin, so its nanoseconds are `ms * 1e6 + sub` with
// `ms = originMs + floor(ticks / 1e4)` and `sub` below 1e6, both exact numbers whenever the
// ticks and `ms` are safe integers (every instant a `Date` can hold, on the default clock).

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

const TWO_POW_32 = 0x1_0000_0000;

/** The low 32 bits of `ms * 1e6 + sub` modulo 2^64, as `fixed64` writes it. */
export function nanosLow(ms: number, sub: number): number {
  const high = Math.floor(ms / TWO_POW_32);
  // (ms - high * 2^32) is below 2^32, so this product and sum stay below 2^53: exact.
  const x = (ms - high * TWO_POW_32) * 1e6 + sub;
  return x % TWO_POW_32;
}

/** The high 32 bits of `ms * 1e6 + sub` modulo 2^64 (two's complement below 1970). */
export function nanosHigh(ms: number, sub: number): number {
  const high = Math.floor(ms / TWO_POW_32);
  const x = (ms - high * TWO_POW_32) * 1e6 + sub;
  // |high| is at most 2^21, so high * 1e6 is exact; ToUint32 takes it modulo 2^32.
  return (high * 1e6 + Math.floor(x / TWO_POW_32)) >>> 0;
}
