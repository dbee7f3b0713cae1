// Tag lists shared by activities, events and links: an ordered list of key/value pairs, as
// .NET keeps them (duplicates are possible through `addTag`).
import type { TagList, Tags } from "./activity.ts";
import { ReportOnce } from "./_report.ts";
import { MAX_ARRAY_ELEMENTS } from "./_format.ts";

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

/** The most `[key, value]` pairs read from one iterable of tags. */
export const MAX_TAG_ENTRIES = 1 << 20;
const ENTRIES_CUT = {};

/** Arrays nested deeper than this are kept as the text `[Array]`. */
const MAX_ARRAY_DEPTH = 16;

/** What a value that cannot be read (a revoked proxy, a throwing trap) is kept as. */
export const UNREADABLE_VALUE = "[unreadable value]";

const reporter = new ReportOnce();
const ARRAY_CUT = {};

/**
 * A tag value as an activity keeps it: a string cut to `maxLength` characters; an array copied
 * into a new dense array of at most `maxLength` elements (and at most
 * {@linkcode MAX_ARRAY_ELEMENTS} in all, nested arrays included), with holes and `undefined` as
 * `null` and its strings cut, so that neither later changes to the caller's array nor a proxy
 * can change what is exported; anything else as given. Never throws: a value that cannot be
 * read becomes {@linkcode UNREADABLE_VALUE}.
 */
export function cleanValue(value: unknown, maxLength: number): unknown {
  if (typeof value === "string") {
    return value.length > maxLength ? value.slice(0, maxLength) : value;
  }
  if (typeof value !== "object" || value === null) return value;
  try {
    if (!Array.isArray(value)) return value;
    const budget = { left: MAX_ARRAY_ELEMENTS, cut: 0 };
    const copy = copyArray(value, maxLength, budget, []);
    if (budget.cut > 0) {
      reporter.report(
        ARRAY_CUT,
        new RangeError(
          `An array tag value was cut by ${budget.cut} elements: an array keeps at most ${MAX_ARRAY_ELEMENTS} elements, nested ones included`,
        ),
        "Activity tag value",
      );
    }
    return copy;
  } catch {
    return UNREADABLE_VALUE;
  }
}

function copyArray(
  array: readonly unknown[],
  maxLength: number,
  budget: { left: number; cut: number },
  outer: unknown[],
): unknown[] {
  const length = array.length;
  const wanted = typeof length === "number" && length >= 1
    ? Math.min(Math.floor(length), maxLength)
    : 0;
  const n = Math.min(wanted, budget.left);
  budget.left -= n;
  budget.cut += wanted - n;
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const v = array[i];
    if (v === undefined || v === null) out.push(null);
    else if (typeof v === "string") out.push(v.length > maxLength ? v.slice(0, maxLength) : v);
    else if (typeof v !== "object") out.push(v);
    else out.push(copyElement(v, maxLength, budget, outer, array));
  }
  return out;
}

function copyElement(
  value: object,
  maxLength: number,
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
      return copyArray(value, maxLength, budget, outer);
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
