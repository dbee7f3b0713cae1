// An activity's own baggage items, as .NET's Activity keeps them: newest first to readers, kept
// oldest first so that adding one is a push, within the W3C Baggage limits that the `baggage`
// header also keeps to (at most 180 items and 8192 characters of `key=value` in all).

import { BAGGAGE_MAX_BYTES, BAGGAGE_MAX_MEMBERS } from "./limits.ts";

/** An activity's own baggage items (oldest first), their size and what was dropped. */
export interface OwnBaggage {
  readonly items: [string, string][];
  /** The characters of `key=value` of the items, in all. */
  chars: number;
  dropped: number;
}

/** A list without items. */
export function newOwnBaggage(): OwnBaggage {
  return { items: [], chars: 0, dropped: 0 };
}

/** Adds an item (a key may repeat), or counts it as dropped beyond the limits. */
export function addOwnBaggage(own: OwnBaggage, key: string, value: string): void {
  const size = key.length + value.length + 1;
  if (own.items.length >= BAGGAGE_MAX_MEMBERS || own.chars + size > BAGGAGE_MAX_BYTES) {
    own.dropped++;
    return;
  }
  own.items.push([key, value]);
  own.chars += size;
}

/**
 * Sets the newest own item with the key in place, or adds one; `null` or `undefined` removes
 * it. A new value beyond the character limit is dropped and counted.
 */
export function setOwnBaggage(
  own: OwnBaggage,
  key: string,
  value: string | null | undefined,
): void {
  const items = own.items;
  let at = items.length - 1;
  while (at >= 0 && items[at]![0] !== key) at--;
  if (at < 0) {
    if (value !== null && value !== undefined) addOwnBaggage(own, key, value);
    return;
  }
  const old = items[at]![1];
  if (value === null || value === undefined) {
    items.splice(at, 1);
    own.chars -= key.length + old.length + 1;
  } else if (own.chars - old.length + value.length > BAGGAGE_MAX_BYTES) {
    own.dropped++;
  } else {
    items[at] = [key, value];
    own.chars += value.length - old.length;
  }
}

/** The value of the newest own item with the key, or `undefined`. */
export function ownBaggageItem(own: OwnBaggage | undefined, key: string): string | undefined {
  const items = own?.items;
  if (items === undefined) return undefined;
  for (let i = items.length - 1; i >= 0; i--) if (items[i]![0] === key) return items[i]![1];
  return undefined;
}

/** Appends the own items to `out`, newest first. */
export function pushOwnBaggage(
  out: (readonly [string, string])[],
  own: OwnBaggage | undefined,
): void {
  const items = own?.items;
  if (items === undefined) return;
  for (let i = items.length - 1; i >= 0; i--) out.push([items[i]![0], items[i]![1]]);
}
