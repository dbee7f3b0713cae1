/**
 * Tags: the `[key, value]` pairs that activities, events, links, sources and resources carry
 * (what OpenTelemetry calls attributes), as callers give them ({@linkcode Tags}) and as they are
 * kept ({@linkcode TagList}): an ordered list, as .NET keeps them (duplicates are possible
 * through `addTag`), with values copied and bounded so that no later change of the caller's
 * array, and no huge or hostile value, reaches what is exported.
 *
 * @example Tags as a record, a Map or pairs
 * ```ts
 * import { ActivityLink, ActivityContext, type Tags } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * const context = ActivityContext.parse("00-2890476acefb53b93af64a0d91939051-16b83c1517629363-01");
 * const given: Tags[] = [{ a: 1 }, new Map([["a", 1]]), [["a", 1]]];
 * for (const tags of given) assert.deepEqual(new ActivityLink(context, tags).tags, [["a", 1]]);
 * ```
 *
 * @module
 */

import { ReportOnce, reportToLiveHandlers } from "./_diagnostics.ts";
import { MAX_ARRAY_DEPTH, MAX_ARRAY_ELEMENTS } from "./_format.ts";

/** A primitive tag value. */
export type TagPrimitive = string | number | boolean | bigint;

/**
 * A tag value: a primitive, an array of primitives, or `null`/`undefined` (which removes the
 * tag in {@linkcode Activity.setTag}). Other values are accepted at run time and printed as
 * their string form.
 */
export type TagValue =
  | TagPrimitive
  | readonly (TagPrimitive | null | undefined)[]
  | null
  | undefined;

/** Tags as a caller gives them: a record, a `Map`, or `[key, value]` pairs. */
export type Tags =
  | Readonly<Record<string, TagValue>>
  | ReadonlyMap<string, TagValue>
  | Iterable<readonly [string, TagValue]>;

/** Tags as an activity, event or link holds them: ordered `[key, value]` pairs. */
export type TagList = readonly (readonly [string, unknown])[];

/** The most `[key, value]` pairs read from one iterable of tags. */
export const MAX_TAG_ENTRIES = 1 << 20;

/** What a value that cannot be read (a revoked proxy, a throwing trap) is kept as. */
export const UNREADABLE_VALUE = "[unreadable value]";

const reporter = new ReportOnce(reportToLiveHandlers);
const ENTRIES_CUT = {};
const ARRAY_CUT = {};

/** Converts the tags a caller gave (a record, a Map or pairs) to a fresh list, checking keys. */
export function toTagList(tags: Tags | undefined, what: string): [string, unknown][] {
  if (tags === undefined || tags === null) return [];
  const out: [string, unknown][] = [];
  if (typeof tags !== "object") {
    throw new TypeError(
      `Cannot read ${what} tags: expected an object, a Map or pairs, got ${typeof tags}`,
    );
  }
  if (Symbol.iterator in tags) {
    for (const pair of tags as Iterable<readonly [string, unknown]>) {
      if (!Array.isArray(pair) || typeof pair[0] !== "string") {
        throw new TypeError(`Cannot read ${what} tags: each entry must be a [string, value] pair`);
      }
      if (out.length === MAX_TAG_ENTRIES) {
        // An endless or enormous iterable: keep what was read, so the work stays bounded.
        reporter.report(
          ENTRIES_CUT,
          new RangeError(
            `Cannot read more than ${MAX_TAG_ENTRIES} ${what} tags from one iterable: the rest are ignored`,
          ),
          "Tags",
        );
        break;
      }
      out.push([pair[0], pair[1]]);
    }
    return out;
  }
  for (const key of Object.keys(tags)) {
    out.push([key, (tags as Record<string, unknown>)[key]]);
  }
  return out;
}

/** How an array tag value is copied: how much of it is kept, and whether the copy is frozen. */
export interface ArrayCopyBounds {
  /** Characters kept of each string element. */
  readonly maxLength: number;
  /** Elements kept in all, nested arrays included. */
  readonly maxElements: number;
  /** Whether the copy (and each nested copy) is frozen. */
  readonly freeze: boolean;
}

/** A copied array value and the number of elements it left out. */
export interface ArrayCopy {
  readonly value: unknown[];
  readonly cut: number;
}

/**
 * Copies an array tag value into a new dense array: at most `bounds.maxElements` elements in
 * all (nested arrays included, each of them copied too), holes and `undefined` as `null`,
 * strings cut to `bounds.maxLength`, a cycle as `"[Circular]"`, nesting deeper than 16 as
 * `"[Array]"`. Each element is read once; other values are kept as they are. This is the one
 * bound on array values: activities keep at most {@linkcode MAX_ARRAY_ELEMENTS} elements of a
 * value, the graph's snapshots fewer.
 *
 * @throws {unknown} What reading the array throws (a revoked proxy, a throwing trap).
 */
export function copyArrayValue(array: readonly unknown[], bounds: ArrayCopyBounds): ArrayCopy {
  const budget = { left: bounds.maxElements, cut: 0 };
  const value = copyArray(array, bounds, budget, []);
  return { value, cut: budget.cut };
}

/**
 * A tag value as an activity keeps it: a string cut to `maxLength` characters; an array copied
 * by {@linkcode copyArrayValue} (at most `maxLength` elements each and
 * {@linkcode MAX_ARRAY_ELEMENTS} in all), so that neither later changes to the caller's array
 * nor a proxy can change what is exported; anything else as given. Never throws: a value that
 * cannot be read becomes {@linkcode UNREADABLE_VALUE}.
 */
export function cleanValue(value: unknown, maxLength: number): unknown {
  if (typeof value === "string") {
    return value.length > maxLength ? value.slice(0, maxLength) : value;
  }
  if (typeof value !== "object" || value === null) return value;
  try {
    if (!Array.isArray(value)) return value;
    const copy = copyArrayValue(value, {
      maxLength,
      maxElements: MAX_ARRAY_ELEMENTS,
      freeze: false,
    });
    if (copy.cut > 0) {
      reporter.report(
        ARRAY_CUT,
        new RangeError(
          `An array tag value was cut by ${copy.cut} elements: an array keeps at most ${MAX_ARRAY_ELEMENTS} elements, nested ones included`,
        ),
        "Activity tag value",
      );
    }
    return copy.value;
  } catch {
    return UNREADABLE_VALUE;
  }
}

function copyArray(
  array: readonly unknown[],
  bounds: ArrayCopyBounds,
  budget: { left: number; cut: number },
  outer: unknown[],
): unknown[] {
  const length = array.length;
  const wanted = typeof length === "number" && length >= 1
    ? Math.min(Math.floor(length), bounds.maxLength)
    : 0;
  const n = Math.min(wanted, budget.left);
  budget.left -= n;
  budget.cut += wanted - n;
  const maxLength = bounds.maxLength;
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const v = array[i];
    if (v === undefined || v === null) out.push(null);
    else if (typeof v === "string") out.push(v.length > maxLength ? v.slice(0, maxLength) : v);
    else if (typeof v !== "object") out.push(v);
    else out.push(copyElement(v, bounds, budget, outer, array));
  }
  if (bounds.freeze) Object.freeze(out);
  return out;
}

function copyElement(
  value: object,
  bounds: ArrayCopyBounds,
  budget: { left: number; cut: number },
  outer: unknown[],
  array: readonly unknown[],
): unknown {
  try {
    if (!Array.isArray(value)) return value;
    if (value === array || outer.includes(value)) return "[Circular]";
    if (outer.length >= MAX_ARRAY_DEPTH) return "[Array]";
    outer.push(array);
    try {
      return copyArray(value, bounds, budget, outer);
    } finally {
      outer.pop();
    }
  } catch {
    return UNREADABLE_VALUE;
  }
}

/** Whether {@linkcode cleanValue} would change or copy a value. */
function needsCleaning(value: unknown, maxLength: number): boolean {
  return typeof value === "object"
    ? value !== null
    : typeof value === "string" && value.length > maxLength;
}

/**
 * Whether a tag list is within a count limit and holds nothing {@linkcode cleanValue} would
 * change, so that {@linkcode limitTags} would return it as it is.
 */
export function isWithinLimits(list: TagList, maxCount: number, maxLength: number): boolean {
  const length = list.length;
  if (length > maxCount) return false;
  for (let i = 0; i < length; i++) if (needsCleaning(list[i]![1], maxLength)) return false;
  return true;
}

/**
 * Applies a count limit and a value-length limit to a tag list and cleans its values
 * ({@linkcode cleanValue}), returning the kept list and how many were dropped. The list is not
 * modified: when it is within both limits and holds only primitives it is itself the kept list
 * (so a caller that keeps the result passes a list of its own), else a limited copy is.
 */
export function limitTags<T extends TagList>(
  list: T,
  maxCount: number,
  maxLength: number,
): { tags: T | [string, unknown][]; dropped: number } {
  if (isWithinLimits(list, maxCount, maxLength)) return { tags: list, dropped: 0 };
  const length = list.length;
  const n = Math.min(length, maxCount);
  const kept: [string, unknown][] = [];
  for (let i = 0; i < n; i++) {
    const tag = list[i]!;
    kept.push([tag[0], cleanValue(tag[1], maxLength)]);
  }
  return { tags: kept, dropped: length - n };
}

// A tag list this long gets a key-to-position index, so that setTag stays linear with a large
// tagCount; shorter lists are searched, which is faster. The index is kept beside the list
// (keyed by it), so activities with few tags pay nothing for it.
const INDEX_AT = 16;
const tagIndexes = new WeakMap<TagList, Map<string, number>>();

/** The position of the first tag with `key` in a list, or -1 when there is none. */
export function tagPosition(tags: TagList, key: string): number {
  const length = tags.length;
  if (length < INDEX_AT) {
    for (let i = 0; i < length; i++) if (tags[i]![0] === key) return i;
    return -1;
  }
  let index = tagIndexes.get(tags);
  if (index === undefined) {
    index = new Map();
    for (let i = 0; i < length; i++) {
      const k = tags[i]![0];
      if (!index.has(k)) index.set(k, i);
    }
    tagIndexes.set(tags, index);
  }
  return index.get(key) ?? -1;
}

/** Keeps the index of a list in step with a tag about to be appended to it. */
export function tagAppended(tags: TagList, key: string): void {
  if (tags.length < INDEX_AT) return;
  const index = tagIndexes.get(tags);
  if (index !== undefined && !index.has(key)) index.set(key, tags.length);
}

/** Drops the index of a list from which a tag was removed; it is rebuilt when next needed. */
export function tagRemoved(tags: TagList): void {
  tagIndexes.delete(tags);
}
