// What the two OTLP encoders share: every tag value as an OTLP AnyValue (what the protocol
// cannot carry becomes text, within the element bound of a value), and the request's shape:
// activities grouped by instrumentation scope (their source), under one resource.

import type { Activity, ActivitySourceInfo } from "../activity.ts";
import type { ActivityKind } from "../kind.ts";
import type { Resource } from "../resource.ts";
import type { TagList } from "../tags.ts";
import { MAX_ARRAY_DEPTH, MAX_ARRAY_ELEMENTS, safeString } from "../_format.ts";

export type AnyValue =
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "bool"; readonly value: boolean }
  | { readonly kind: "int"; readonly value: bigint }
  | { readonly kind: "double"; readonly value: number }
  | { readonly kind: "bytes"; readonly value: Uint8Array }
  | { readonly kind: "array"; readonly value: readonly AnyValue[] }
  | { readonly kind: "kvlist"; readonly value: readonly (readonly [string, AnyValue])[] }
  | { readonly kind: "empty" };

const EMPTY_VALUE: AnyValue = { kind: "empty" };
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const TWO_POW_63 = 2 ** 63;

function text(value: string): AnyValue {
  return { kind: "string", value };
}

// Elements (of arrays, maps and objects, nested ones included) still to encode of the tag value
// being encoded: a holey `new Array(2 ** 32 - 1)` is a few bytes, its encoding all memory.
let budget = MAX_ARRAY_ELEMENTS;

/** How many of `length` elements to encode, taken from the budget. */
function take(length: unknown): number {
  const n = Math.min(typeof length === "number" && length >= 1 ? Math.floor(length) : 0, budget);
  budget -= n;
  return n;
}

/**
 * Converts a tag value: strings, booleans, integers (as `intValue`, bigints too when they fit
 * in 64 bits), other numbers (as `doubleValue`), byte arrays, arrays and plain objects or
 * maps (nested); `null`, `undefined` and holes are the empty value; anything else (symbols,
 * functions, class instances, cycles, too deep nesting) becomes its string form. At most
 * `MAX_ARRAY_ELEMENTS` elements of a value are encoded, nested ones included. Never throws.
 */
export function toAnyValue(value: unknown, stack: unknown[]): AnyValue {
  if (stack.length === 0) budget = MAX_ARRAY_ELEMENTS; // a new tag value
  switch (typeof value) {
    case "string":
      return text(value);
    case "boolean":
      return { kind: "bool", value };
    case "number":
      return Number.isInteger(value) && Math.abs(value) < TWO_POW_63
        ? { kind: "int", value: BigInt(value) }
        : { kind: "double", value };
    case "bigint":
      return value >= INT64_MIN && value <= INT64_MAX
        ? { kind: "int", value }
        : text(value.toString());
    case "undefined":
      return EMPTY_VALUE;
    case "symbol":
    case "function":
      return text(safeString(value));
  }
  if (value === null) return EMPTY_VALUE;
  if (stack.includes(value)) return text("[Circular]");
  if (stack.length >= MAX_ARRAY_DEPTH) return text(safeString(value));
  stack.push(value);
  try {
    return objectValue(value as object, stack);
  } catch {
    return text(safeString(value));
  } finally {
    stack.pop();
  }
}

/** An object as an AnyValue: bytes, an array, a key-value list, a date's text, else its text. */
function objectValue(value: object, stack: unknown[]): AnyValue {
  if (value instanceof Uint8Array) return { kind: "bytes", value };
  if (value instanceof ArrayBuffer) return { kind: "bytes", value: new Uint8Array(value) };
  if (value instanceof DataView) {
    return {
      kind: "bytes",
      value: new Uint8Array(value.buffer, value.byteOffset, value.byteLength),
    };
  }
  if (Array.isArray(value) || ArrayBuffer.isView(value)) {
    const list = value as ArrayLike<unknown>;
    const n = take(list.length);
    const out: AnyValue[] = [];
    for (let i = 0; i < n; i++) out.push(toAnyValue(list[i], stack));
    return { kind: "array", value: out };
  }
  if (value instanceof Map) {
    const n = take(value.size);
    const out: [string, AnyValue][] = [];
    for (const [k, v] of value) {
      if (out.length === n) break;
      out.push([safeString(k), toAnyValue(v, stack)]);
    }
    return { kind: "kvlist", value: out };
  }
  if (value instanceof Date) {
    return text(Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString());
  }
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record);
    const n = take(keys.length);
    const out: [string, AnyValue][] = [];
    for (let i = 0; i < n; i++) out.push([keys[i]!, toAnyValue(record[keys[i]!], stack)]);
    return { kind: "kvlist", value: out };
  }
  return text(safeString(value));
}

// ---------------------------------------------------------------------------------------------
// The request: activities grouped by instrumentation scope (their source), under one resource.

export const KIND: Record<ActivityKind, number> = {
  internal: 1,
  server: 2,
  client: 3,
  producer: 4,
  consumer: 5,
};
export const STATUS = { unset: 0, ok: 1, error: 2 } as const;
const HAS_IS_REMOTE = 0x100;
const IS_REMOTE = 0x200;

export function spanFlags(traceFlags: number, isRemote: boolean): number {
  return (traceFlags & 0xff) | HAS_IS_REMOTE | (isRemote ? IS_REMOTE : 0);
}

export function groupBySource(
  activities: readonly Activity[],
): Map<ActivitySourceInfo, Activity[]> {
  const groups = new Map<ActivitySourceInfo, Activity[]>();
  for (const activity of activities) {
    const group = groups.get(activity.source);
    if (group === undefined) groups.set(activity.source, [activity]);
    else group.push(activity);
  }
  return groups;
}

export function resourceTags(resource: Resource | undefined, serviceName: string): TagList {
  const attributes = resource?.attributes ?? [];
  for (const [key] of attributes) if (key === "service.name") return attributes;
  return [...attributes, ["service.name", serviceName]];
}

export function endTime(activity: Activity): bigint {
  return activity.endTimeUnixNano ?? activity.startTimeUnixNano;
}
