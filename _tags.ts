// Tag lists shared by activities, events and links: an ordered list of key/value pairs, as
// .NET keeps them (duplicates are possible through `addTag`).
import type { TagList, Tags } from "./activity.ts";

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
      out.push([pair[0], pair[1]]);
    }
    return out;
  }
  for (const key of Object.keys(tags)) {
    out.push([key, (tags as Record<string, unknown>)[key]]);
  }
  return out;
}

/** Truncates a string value, or each string of an array value, to `max` characters. */
export function truncateValue(value: unknown, max: number): unknown {
  if (max === Infinity) return value;
  if (typeof value === "string") return value.length > max ? value.slice(0, max) : value;
  if (Array.isArray(value)) {
    let changed = false;
    const out = value.map((v) => {
      if (typeof v === "string" && v.length > max) {
        changed = true;
        return v.slice(0, max);
      }
      return v;
    });
    return changed ? out : value;
  }
  return value;
}

/**
 * Applies a count limit and a value-length limit to a tag list, returning the kept list and
 * how many were dropped. The list is not modified: when it is within both limits it is itself
 * the kept list (so a caller that keeps the result passes a list of its own), else a limited
 * copy is.
 */
export function limitTags<T extends TagList>(
  list: T,
  maxCount: number,
  maxLength: number,
): { tags: T | [string, unknown][]; dropped: number } {
  if (list.length <= maxCount && maxLength === Infinity) return { tags: list, dropped: 0 };
  const kept = list.length > maxCount ? list.slice(0, maxCount) : list.slice();
  if (maxLength !== Infinity) {
    for (let i = 0; i < kept.length; i++) {
      const [k, v] = kept[i]!;
      kept[i] = [k, truncateValue(v, maxLength)];
    }
  }
  return { tags: kept as [string, unknown][], dropped: list.length - kept.length };
}
