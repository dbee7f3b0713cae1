/**
 * W3C Trace Context identifiers: random trace ids (32 lowercase hex characters) and span ids
 * (16), never all zeros, drawn from `crypto.getRandomValues` through a pooled buffer, plus the
 * trace-flag bits and validation functions.
 *
 * @example Make and check ids
 * ```ts
 * import { isValidSpanId, isValidTraceId, newSpanId, newTraceId } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * assert.ok(isValidTraceId(newTraceId()));
 * assert.ok(isValidSpanId(newSpanId()));
 * ```
 *
 * @module
 */

/** Trace flags with no bit set: not recorded, trace id not known to be random. */
export const TRACE_FLAG_NONE = 0x00;
/** Trace-flag bit `0x01` (W3C "sampled"): the activity is recorded. */
export const TRACE_FLAG_RECORDED = 0x01;
/**
 * Trace-flag bit `0x02` (W3C Trace Context Level 2 "random"): the right-most 7 bytes of the
 * trace id are random. Every trace id this module makes is fully random, so root activities set
 * this bit.
 */
export const TRACE_FLAG_RANDOM_TRACE_ID = 0x02;

/** A source of trace and span ids; inject one into an `ActivitySource` for tests. */
export interface IdGenerator {
  /** Returns a new trace id: 32 lowercase hex characters, not all zeros. */
  newTraceId(): string;
  /** Returns a new span id: 16 lowercase hex characters, not all zeros. */
  newSpanId(): string;
}

const POOL_SIZE = 8192;
const pool = new Uint8Array(POOL_SIZE);
let poolOffset = POOL_SIZE;

const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push(i.toString(16).padStart(2, "0"));

/** Reserves `n` random bytes in the pool and returns their offset. */
function take(n: number): number {
  if (poolOffset + n > POOL_SIZE) {
    crypto.getRandomValues(pool);
    poolOffset = 0;
  }
  const at = poolOffset;
  poolOffset += n;
  return at;
}

function hexOf(at: number, n: number): string | undefined {
  let out = "";
  let any = 0;
  for (let i = at; i < at + n; i++) {
    const b = pool[i]!;
    any |= b;
    out += HEX[b]!;
  }
  return any === 0 ? undefined : out;
}

/**
 * Returns a new random trace id: 32 lowercase hex characters, never all zeros.
 *
 * @returns The trace id.
 *
 * @example A trace id
 * ```ts
 * import { newTraceId } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * assert.match(newTraceId(), /^[0-9a-f]{32}$/);
 * ```
 */
export function newTraceId(): string {
  for (;;) {
    const id = hexOf(take(16), 16);
    if (id !== undefined) return id;
  }
}

/**
 * Returns a new random span id: 16 lowercase hex characters, never all zeros.
 *
 * @returns The span id.
 *
 * @example A span id
 * ```ts
 * import { newSpanId } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * assert.match(newSpanId(), /^[0-9a-f]{16}$/);
 * ```
 */
export function newSpanId(): string {
  for (;;) {
    const id = hexOf(take(8), 8);
    if (id !== undefined) return id;
  }
}

/**
 * The default id generator: {@linkcode newTraceId} and {@linkcode newSpanId}, cryptographically
 * random through a pooled buffer.
 *
 * @example Use it directly
 * ```ts
 * import { randomIdGenerator } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * assert.equal(randomIdGenerator.newSpanId().length, 16);
 * ```
 */
export const randomIdGenerator: IdGenerator = { newTraceId, newSpanId };

const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;
const ZEROS_32 = "0".repeat(32);
const ZEROS_16 = "0".repeat(16);

/**
 * Tells whether a value is a valid W3C trace id: a string of 32 lowercase hex characters that
 * are not all zeros.
 *
 * @param value The value to check.
 * @returns `true` when it is a valid trace id.
 *
 * @example Valid and invalid trace ids
 * ```ts
 * import { isValidTraceId } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * assert.ok(isValidTraceId("5ce4d8ad4926ecdd0084681f46fa38d9"));
 * assert.ok(!isValidTraceId("5CE4D8AD4926ECDD0084681F46FA38D9"));
 * assert.ok(!isValidTraceId("00000000000000000000000000000000"));
 * ```
 */
export function isValidTraceId(value: unknown): value is string {
  return typeof value === "string" && TRACE_ID.test(value) && value !== ZEROS_32;
}

/**
 * Tells whether a value is a valid W3C span id: a string of 16 lowercase hex characters that
 * are not all zeros.
 *
 * @param value The value to check.
 * @returns `true` when it is a valid span id.
 *
 * @example Valid and invalid span ids
 * ```ts
 * import { isValidSpanId } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * assert.ok(isValidSpanId("8f9e9441f0789f6e"));
 * assert.ok(!isValidSpanId("0000000000000000"));
 * ```
 */
export function isValidSpanId(value: unknown): value is string {
  return typeof value === "string" && SPAN_ID.test(value) && value !== ZEROS_16;
}

/**
 * Tells whether a value is valid trace flags: an integer from 0 to 255.
 *
 * @param value The value to check.
 * @returns `true` when it is a valid trace-flags byte.
 *
 * @example
 * ```ts
 * import { isValidTraceFlags } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * assert.ok(isValidTraceFlags(3));
 * assert.ok(!isValidTraceFlags(256));
 * ```
 */
export function isValidTraceFlags(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 255;
}
