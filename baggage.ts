/**
 * The W3C `baggage` header: {@linkcode parseBaggage} and {@linkcode formatBaggage} (percent-encoded
 * values, properties, the size limits), and {@linkcode extractBaggage} / {@linkcode injectBaggage}
 * for the same carriers as {@linkcode extract} and {@linkcode inject}. An activity's baggage
 * (`activity.addBaggage`, `activity.baggage`) is what `injectBaggage` sends.
 *
 * Limits: at most 180 list members, at most 4096 bytes per member and 8192 bytes in all. The
 * W3C Baggage specification requires that up to 64 members and 8192 bytes be propagated and
 * lets a platform drop members beyond that; 180 members and 4096 bytes per member are the
 * figures OpenTelemetry's propagators use, so this module accepts and sends everything they do.
 * Members beyond a limit are dropped (the first ones kept), and so are invalid members; the
 * others are kept.
 *
 * @example Send an activity's baggage, read it on the other side
 * ```ts
 * import { extractBaggage, formatBaggage, parseBaggage } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * const header = formatBaggage([["user.id", "Zoë 42"], ["tier", "gold"]]);
 * assert.equal(header, "user.id=Zo%C3%AB%2042,tier=gold");
 * assert.deepEqual(parseBaggage(header!).map((e) => [e.key, e.value]), [["user.id", "Zoë 42"], ["tier", "gold"]]);
 * assert.equal(extractBaggage({ Baggage: "a=1;ttl=30" })[0]?.properties?.[0]?.key, "ttl");
 * ```
 *
 * @module
 */

import type { Activity } from "./activity.ts";
import { isActivity } from "./_is_activity.ts";
import {
  type CarrierGet,
  type CarrierSet,
  joinLines,
  readField,
  removeField,
  trimOws,
  writeField,
} from "./_carrier.ts";
import { BAGGAGE_MAX_BYTES, BAGGAGE_MAX_MEMBER_BYTES, BAGGAGE_MAX_MEMBERS } from "./limits.ts";

/** The name of the W3C `baggage` header. */
export const BAGGAGE_HEADER = "baggage";
export { BAGGAGE_MAX_BYTES, BAGGAGE_MAX_MEMBER_BYTES, BAGGAGE_MAX_MEMBERS };

/** Raw header text beyond this is not looked at (only 8192 bytes of members are kept anyway). */
const MAX_INPUT = 65536;

/** A property of a baggage member: `;key` or `;key=value` (kept as sent). */
export interface BaggageProperty {
  /** The property's key. */
  readonly key: string;
  /** The property's value, or `undefined` for a key-only property. */
  readonly value?: string | undefined;
}

/** One member of a `baggage` header. */
export interface BaggageEntry {
  /** The key (an HTTP token). */
  readonly key: string;
  /** The value, percent-decoded. */
  readonly value: string;
  /** The member's properties, or `undefined` for none. */
  readonly properties?: readonly BaggageProperty[] | undefined;
}

/** Options of {@linkcode extractBaggage}. */
export interface ExtractBaggageOptions {
  /**
   * Reads a field of a carrier that is not a `Headers`, `Map` or plain object.
   * @default {undefined}
   */
  getter?: (carrier: unknown, name: string) => string | readonly string[] | null | undefined;
}

/** Options of {@linkcode injectBaggage}. */
export interface InjectBaggageOptions {
  /**
   * Writes a field of a carrier that is not a `Headers`, `Map` or plain object.
   * @default {undefined}
   */
  setter?: (carrier: unknown, name: string, value: string) => void;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const OCTETS = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*$/;
const HEX = /^[0-9A-Fa-f]{2}$/;

/**
 * UTF-8 without BOM sniffing: a value that starts with U+FEFF keeps it, as any other code point
 * (the default decoder would strip it).
 */
const UTF8 = new TextDecoder("utf-8", { ignoreBOM: true });

/** Decodes percent-encoded UTF-8, every code point kept; malformed sequences become U+FFFD. */
function decodeValue(text: string): string {
  if (!text.includes("%")) return text;
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x25 && HEX.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(c);
    }
  }
  return UTF8.decode(new Uint8Array(bytes));
}

/** Percent-encodes a value: every code point outside the baggage octets, and `%`. */
function encodeValue(value: string): string {
  let wellFormed = value;
  if (typeof wellFormed.toWellFormed === "function") wellFormed = wellFormed.toWellFormed();
  try {
    return encodeURIComponent(wellFormed);
  } catch {
    return encodeURIComponent(wellFormed.replace(/[\ud800-\udfff]/g, "\ufffd"));
  }
}

function readEntry(part: string): BaggageEntry | undefined {
  const pieces = part.split(";");
  const head = pieces[0]!;
  const eq = head.indexOf("=");
  if (eq < 0) return undefined;
  const key = trimOws(head.slice(0, eq));
  const raw = trimOws(head.slice(eq + 1));
  if (!TOKEN.test(key) || !OCTETS.test(raw)) return undefined;
  let properties: BaggageProperty[] | undefined;
  for (let i = 1; i < pieces.length; i++) {
    const text = trimOws(pieces[i]!);
    const at = text.indexOf("=");
    const pkey = trimOws(at < 0 ? text : text.slice(0, at));
    if (!TOKEN.test(pkey)) return undefined;
    const property: BaggageProperty = at < 0
      ? { key: pkey }
      : { key: pkey, value: trimOws(text.slice(at + 1)) };
    if (property.value !== undefined && !OCTETS.test(property.value)) return undefined;
    (properties ??= []).push(Object.freeze(property));
  }
  return Object.freeze(
    properties === undefined
      ? { key, value: decodeValue(raw) }
      : { key, value: decodeValue(raw), properties: Object.freeze(properties) },
  );
}

/**
 * Reads a `baggage` header value (or several header lines of one). Invalid members are skipped;
 * at most 180 members are kept, none over 4096 bytes, and no more than 8192 bytes in all.
 * Never throws.
 *
 * @param text The header value, or its header lines in order.
 * @returns The members, in order (repeated keys are kept as sent).
 *
 * @example Percent-decoding and properties
 * ```ts
 * import { parseBaggage } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseBaggage("userId=alice, serverNode = DF%2028 ; ttl=30, bad key=1"), [
 *   { key: "userId", value: "alice" },
 *   { key: "serverNode", value: "DF 28", properties: [{ key: "ttl", value: "30" }] },
 * ]);
 * ```
 */
export function parseBaggage(text: string | readonly string[]): BaggageEntry[] {
  let joined = joinLines(text) ?? "";
  if (joined.length > MAX_INPUT) {
    // Cut between members only; with no comma before the bound, nothing is read.
    const cut = joined.lastIndexOf(",", MAX_INPUT);
    joined = cut < 0 ? "" : joined.slice(0, cut);
  }
  const out: BaggageEntry[] = [];
  let bytes = 0;
  for (const part of joined.split(",")) {
    if (out.length === BAGGAGE_MAX_MEMBERS) break;
    const member = trimOws(part);
    if (member === "" || member.length > BAGGAGE_MAX_MEMBER_BYTES) continue;
    const size = member.length + (out.length > 0 ? 1 : 0);
    if (bytes + size > BAGGAGE_MAX_BYTES) continue;
    const entry = readEntry(member);
    if (entry === undefined) continue;
    out.push(entry);
    bytes += size;
  }
  return out;
}

/**
 * Formats baggage as a `baggage` header value: values percent-encoded as UTF-8, properties
 * written back. Members whose key is not an HTTP token or whose properties are invalid are left
 * out, and so is a repeated key after its first member; members beyond 180, over 4096 bytes,
 * or past 8192 bytes in all are dropped.
 *
 * @param baggage Entries or `[key, value]` pairs, such as `activity.baggage`.
 * @returns The header value, or `undefined` when nothing is left to send.
 *
 * @example
 * ```ts
 * import { formatBaggage } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   formatBaggage([{ key: "a", value: "1,2", properties: [{ key: "p" }] }, ["a", "dropped"], ["b", "x=y"]]),
 *   "a=1%2C2;p,b=x%3Dy",
 * );
 * ```
 */
export function formatBaggage(
  baggage: Iterable<BaggageEntry | readonly [string, string]>,
): string | undefined {
  let out = "";
  let count = 0;
  const seen = new Set<string>();
  try {
    for (const item of baggage) {
      if (count === BAGGAGE_MAX_MEMBERS) break;
      const entry: BaggageEntry | undefined = Array.isArray(item)
        ? { key: item[0], value: item[1] }
        : item as BaggageEntry;
      if (entry === undefined || entry === null) continue;
      const { key, value } = entry;
      if (typeof key !== "string" || typeof value !== "string" || !TOKEN.test(key)) continue;
      if (seen.has(key)) continue;
      let member = key + "=" + encodeValue(value);
      let valid = true;
      for (const property of entry.properties ?? []) {
        // Each read once: a getter cannot pass the check with one text and be written with another.
        const { key: pkey, value: pvalue } = property;
        if (typeof pkey !== "string" || !TOKEN.test(pkey)) valid = false;
        else if (pvalue === undefined) member += ";" + pkey;
        else if (typeof pvalue !== "string" || !OCTETS.test(pvalue)) valid = false;
        else member += ";" + pkey + "=" + pvalue;
      }
      if (!valid || member.length > BAGGAGE_MAX_MEMBER_BYTES) continue;
      if (out.length + (out === "" ? 0 : 1) + member.length > BAGGAGE_MAX_BYTES) continue;
      seen.add(key);
      out += (out === "" ? "" : ",") + member;
      count++;
    }
  } catch {
    // A hostile iterable: send what was read.
  }
  return out === "" ? undefined : out;
}

/**
 * Reads the `baggage` header of a carrier (names matched without regard to case, several
 * lines combined). Never throws.
 *
 * @param carrier `Headers`, a `Map`, a plain object, or anything the `getter` option reads.
 * @param options A `getter` for other carriers.
 * @returns The members, in order (empty when there is no header).
 *
 * @example
 * ```ts
 * import { extractBaggage } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * const headers = new Headers([["baggage", "a=1"], ["baggage", "b=2"]]);
 * assert.deepEqual(extractBaggage(headers).map((e) => e.key), ["a", "b"]);
 * ```
 */
export function extractBaggage(carrier: unknown, options?: ExtractBaggageOptions): BaggageEntry[] {
  const getter = typeof options?.getter === "function" ? options.getter as CarrierGet : undefined;
  const lines = readField(carrier, BAGGAGE_HEADER, getter);
  return lines.length === 0 ? [] : parseBaggage(lines);
}

/**
 * Writes baggage into a carrier's `baggage` header: an activity's (its own and its parents',
 * nearest first) or given entries. With nothing to send, a `baggage` field already in a
 * `Headers`, `Map` or plain object is removed. Never throws.
 *
 * @param baggage An activity, or entries or `[key, value]` pairs.
 * @param carrier `Headers`, a `Map`, a plain object, or anything the `setter` option writes.
 * @param options A `setter` for other carriers.
 *
 * @example
 * ```ts
 * import { injectBaggage } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * const headers: Record<string, string> = {};
 * injectBaggage([["tenant", "acme corp"]], headers);
 * assert.deepEqual(headers, { baggage: "tenant=acme%20corp" });
 * ```
 */
export function injectBaggage(
  baggage: Activity | Iterable<BaggageEntry | readonly [string, string]> | null | undefined,
  carrier: unknown,
  options?: InjectBaggageOptions,
): void {
  if (baggage === null || baggage === undefined) return;
  const setter = typeof options?.setter === "function" ? options.setter as CarrierSet : undefined;
  const entries = isActivity(baggage) ? baggage.baggage : baggage;
  const value = formatBaggage(entries);
  if (value !== undefined) writeField(carrier, BAGGAGE_HEADER, value, setter);
  else if (setter === undefined) removeField(carrier, BAGGAGE_HEADER);
}
