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
import { safeString } from "./_format.ts";

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

// Random bytes come from crypto.getRandomValues, one call per 8 KiB. Each time the pool is
// filled, all of it is turned into one 16 KiB hex string at once, and an id is a slice of that
// string: no per-character concatenation, which engines keep as a chain of pieces (slow to
// build, and hundreds of bytes per id). A slice keeps its pool string alive while the id
// lives. The all-zeros check reads the bytes as 32-bit words; ids take 16 or 8 bytes, so the
// word reads stay aligned.
const POOL_SIZE = 8192;
const pool = new Uint8Array(POOL_SIZE);
const poolWords = new Uint32Array(pool.buffer);
const hexCodes = new Uint16Array(POOL_SIZE);
const hexBytes = new Uint8Array(hexCodes.buffer);
const poolHalves = new Uint16Array(pool.buffer);
const hexQuads = new Uint32Array(hexCodes.buffer);
const decoder = new TextDecoder();
let poolHex = "";
let poolOffset = POOL_SIZE;

// Two ASCII hex digits of each byte value, as one 16-bit unit in the platform's byte order.
const HEX_PAIRS = new Uint16Array(256);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
for (let i = 0; i < 256; i++) {
  const hi = "0123456789abcdef".charCodeAt(i >> 4);
  const lo = "0123456789abcdef".charCodeAt(i & 15);
  HEX_PAIRS[i] = LITTLE_ENDIAN ? hi | (lo << 8) : (hi << 8) | lo;
}

// The loop has a function of its own. Inside refill(), V8 optimized the loop while it ran,
// before the code after it had ever run, and that code was then thrown away at every refill.
function encodeHex(): void {
  if (LITTLE_ENDIAN) {
    // Two bytes in, four hex digits out per step.
    for (let i = 0; i < POOL_SIZE / 2; i++) {
      const two = poolHalves[i]!;
      hexQuads[i] = HEX_PAIRS[two & 0xff]! | (HEX_PAIRS[two >> 8]! << 16);
    }
  } else {
    for (let i = 0; i < POOL_SIZE; i++) hexCodes[i] = HEX_PAIRS[pool[i]!]!;
  }
}

function refill(): void {
  crypto.getRandomValues(pool);
  encodeHex();
  poolHex = decoder.decode(hexBytes);
  poolOffset = 0;
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
    if (poolOffset + 16 > POOL_SIZE) refill();
    const at = poolOffset;
    poolOffset = at + 16;
    const w = at >> 2;
    if ((poolWords[w]! | poolWords[w + 1]! | poolWords[w + 2]! | poolWords[w + 3]!) !== 0) {
      return poolHex.slice(at * 2, at * 2 + 32);
    }
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
    if (poolOffset + 8 > POOL_SIZE) refill();
    const at = poolOffset;
    poolOffset = at + 8;
    const w = at >> 2;
    if ((poolWords[w]! | poolWords[w + 1]!) !== 0) return poolHex.slice(at * 2, at * 2 + 16);
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

/**
 * Wraps a caller's id generator: an id it gets wrong (or a throw) is replaced by a random one
 * and passed to `onInvalid`, so that no activity carries an id that a context or a child
 * rejects.
 *
 * @throws {TypeError} When `ids` has no `newTraceId()` or `newSpanId()`; the message starts
 * with `what`.
 */
export function checkedIdGenerator(
  ids: IdGenerator,
  what: string,
  onInvalid: (error: unknown) => void,
): IdGenerator {
  if (typeof ids.newTraceId !== "function" || typeof ids.newSpanId !== "function") {
    throw new TypeError(`${what}: idGenerator must have newTraceId() and newSpanId()`);
  }
  const checked = (
    generate: () => unknown,
    isValid: (id: unknown) => id is string,
    random: () => string,
    name: string,
    digits: number,
  ) =>
  (): string => {
    let id: unknown;
    try {
      id = generate();
    } catch (error) {
      onInvalid(error);
      return random();
    }
    if (isValid(id)) return id;
    onInvalid(
      new TypeError(
        `Cannot use ${name} ${safeString(id)}: not ${digits} lowercase hex digits, not all zeros`,
      ),
    );
    return random();
  };
  return {
    newTraceId: checked(() => ids.newTraceId(), isValidTraceId, newTraceId, "trace id", 32),
    newSpanId: checked(() => ids.newSpanId(), isValidSpanId, newSpanId, "span id", 16),
  };
}
