/**
 * W3C Trace Context (Level 2) propagation: {@linkcode inject} writes the `traceparent` and
 * `tracestate` headers of an activity or context into a carrier, {@linkcode extract} reads them
 * back into a remote {@linkcode ActivityContext}, by every rule of the specification. Malformed
 * input is ignored (a new trace starts; an invalid `tracestate` is dropped) and never throws;
 * whatever trace state a caller set, `inject` writes only what the grammar allows.
 *
 * Carriers: `Headers`, `Map` and plain objects, with names matched without regard to case
 * (values may be strings or arrays of strings, one per header line), or anything else through a
 * `getter`/`setter` pair.
 *
 * @example Continue a trace from an incoming request
 * ```ts
 * import { extract, inject } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * const incoming = new Headers({
 *   traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
 *   tracestate: "congo=t61rcWkgMzE",
 * });
 * const parent = extract(incoming);
 * assert.equal(parent?.traceId, "0af7651916cd43dd8448eb211c80319c");
 * assert.equal(parent?.isRemote, true);
 *
 * const outgoing: Record<string, string> = {};
 * inject(parent, outgoing);
 * assert.deepEqual(outgoing, {
 *   traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
 *   tracestate: "congo=t61rcWkgMzE",
 * });
 * ```
 *
 * @module
 */

import { type Activity, isActivityObject } from "./activity.ts";
import { isActivity } from "./_is_activity.ts";
import {
  ActivityContext,
  formatTraceparent,
  isActivityContext,
  TRACESTATE_MAX_LENGTH,
  withTraceState,
} from "./links.ts";
import {
  type CarrierGet,
  type CarrierSet,
  joinLines,
  readField,
  removeField,
  trimOws,
  writeField,
} from "./_carrier.ts";
import { printable } from "./_format.ts";
import {
  isValidSpanId,
  isValidTraceFlags,
  isValidTraceId,
  TRACE_FLAG_RANDOM_TRACE_ID,
  TRACE_FLAG_RECORDED,
} from "./ids.ts";

/** The name of the W3C `traceparent` header. */
export const TRACEPARENT_HEADER = "traceparent";
/** The name of the W3C `tracestate` header. */
export const TRACESTATE_HEADER = "tracestate";

/** The most list members a `tracestate` may have. */
export const TRACESTATE_MAX_MEMBERS = 32;
export { TRACESTATE_MAX_LENGTH };

/** A `traceparent` longer than this is not read (future versions may add fields, but not this many). */
const TRACEPARENT_MAX_INPUT = 1024;
/** A combined `tracestate` longer than this is dropped unread (a valid one is at most 16,447 characters plus whitespace). */
const TRACESTATE_MAX_INPUT = 32768;
/** The trace flags version `00` defines (recorded, random trace id); others are sent as 0. */
const VERSION_00_FLAGS = TRACE_FLAG_RECORDED | TRACE_FLAG_RANDOM_TRACE_ID;
/** Members longer than this are the first to go when a `tracestate` must be shortened. */
const LONG_MEMBER = 128;

/** Options of {@linkcode extract}. */
export interface ExtractOptions {
  /**
   * Reads a field of a carrier that is not a `Headers`, `Map` or plain object: returns the
   * value, an array of values (one per header line), or `undefined`/`null` when absent.
   * @default {undefined}
   */
  getter?: (carrier: unknown, name: string) => string | readonly string[] | null | undefined;
}

/** Options of {@linkcode inject}. */
export interface InjectOptions {
  /**
   * Writes a field of a carrier that is not a `Headers`, `Map` or plain object.
   * @default {undefined}
   */
  setter?: (carrier: unknown, name: string, value: string) => void;
}

// W3C Trace Context Level 2:
//   key      = ( lcalpha / DIGIT ) 0*255 ( keychar )
//   keychar  = lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@"
//   value    = 0*255(chr) nblk-chr
//   nblk-chr = %x21-2B / %x2D-3C / %x3E-7E
//   chr      = %x20 / nblk-chr
const KEY = /^[a-z0-9][a-z0-9_\-*/@]{0,255}$/;
const VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

/**
 * Tells whether a text is a valid `tracestate` key by the Level 2 grammar: a lowercase letter
 * or a digit, then up to 255 of `a-z 0-9 _ - * / @` (so `tenant@system` keys, and `@` anywhere
 * after the first character).
 */
function isValidKey(key: string): boolean {
  return KEY.test(key);
}

/** A member read from a `tracestate`: its key and value, or why it is not one. */
type ReadMember = { key: string; value: string } | { error: string } | undefined;

/** Reads one comma-separated part; `undefined` for an empty (allowed) member. */
function readMember(part: string): ReadMember {
  const member = trimOws(part);
  if (member === "") return undefined;
  const eq = member.indexOf("=");
  if (eq < 0) return { error: `member '${member}' has no '='` };
  const key = member.slice(0, eq);
  const value = member.slice(eq + 1);
  if (!isValidKey(key)) return { error: `key '${key}' is not a valid tracestate key` };
  if (!VALUE.test(value)) return { error: `value of key '${key}' is not a valid tracestate value` };
  return { key, value };
}

/**
 * Strict reading: any invalid member or a 33rd member (counted as sent, repeated keys included)
 * invalidates all. A repeated key keeps its first (left-most) member, the vendor's latest
 * position; the later ones are left out.
 */
function readStrict(text: string): [string, string][] | string {
  const members: [string, string][] = [];
  const seen = new Set<string>();
  let count = 0;
  for (const part of text.split(",")) {
    const read = readMember(part);
    if (read === undefined) continue;
    if ("error" in read) return read.error;
    if (++count > TRACESTATE_MAX_MEMBERS) {
      return `more than ${TRACESTATE_MAX_MEMBERS} list members`;
    }
    if (seen.has(read.key)) continue;
    seen.add(read.key);
    members.push([read.key, read.value]);
  }
  return members;
}

/** Lenient reading, for trace state a caller set: keeps the valid members, first of each key. */
function readLenient(text: string): [string, string][] {
  const members: [string, string][] = [];
  const seen = new Set<string>();
  for (const part of text.split(",")) {
    const read = readMember(part);
    if (read === undefined || "error" in read || seen.has(read.key)) continue;
    seen.add(read.key);
    members.push([read.key, read.value]);
    if (members.length === TRACESTATE_MAX_MEMBERS) break;
  }
  return members;
}

function memberLength(member: readonly [string, string]): number {
  return member[0].length + 1 + member[1].length;
}

/**
 * Shortens a member list to at most 512 characters by the specification's rule: whole members
 * only; members longer than 128 characters go first (right-most first), then members from the
 * right. The first `keep` members are never removed.
 */
function fit(members: [string, string][], keep = 0): [string, string][] {
  let length = members.length - 1;
  for (const member of members) length += memberLength(member);
  if (length <= TRACESTATE_MAX_LENGTH) return members;
  const kept = members.slice();
  for (let i = kept.length - 1; i >= keep && length > TRACESTATE_MAX_LENGTH; i--) {
    const size = memberLength(kept[i]!);
    if (size > LONG_MEMBER) {
      kept.splice(i, 1);
      length -= size + 1;
    }
  }
  while (length > TRACESTATE_MAX_LENGTH && kept.length > keep) {
    length -= memberLength(kept.pop()!) + 1;
  }
  return kept;
}

function format(members: readonly (readonly [string, string])[]): string | undefined {
  if (members.length === 0) return undefined;
  let out = "";
  for (const [key, value] of members) out += (out === "" ? "" : ",") + key + "=" + value;
  return out;
}

/**
 * Reads a `tracestate` value (or several header lines of one, combined with commas) by the
 * strict rules of W3C Trace Context Level 2: optional whitespace around members is ignored,
 * empty members are allowed, and any invalid key or value or more than 32 members makes the
 * whole value invalid. A repeated key keeps its first (left-most) member, the latest position
 * of that vendor; the later members with that key are left out.
 *
 * @param text The header value, or its header lines in order.
 * @returns The `[key, value]` members in order, one per key (an empty array for an empty
 * header), or `undefined` when the value is invalid.
 *
 * @example Valid, multi-tenant and invalid values
 * ```ts
 * import { parseTraceState } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseTraceState("rojo=00f067aa0ba902b7, congo@t61=rcWkgMzE"), [
 *   ["rojo", "00f067aa0ba902b7"],
 *   ["congo@t61", "rcWkgMzE"],
 * ]);
 * assert.deepEqual(parseTraceState(["a=1", "b=2"]), [["a", "1"], ["b", "2"]]);
 * assert.deepEqual(parseTraceState("foo@bar@baz=1,1st=2"), [["foo@bar@baz", "1"], ["1st", "2"]]);
 * assert.deepEqual(parseTraceState("a=1,b=2,a=3"), [["a", "1"], ["b", "2"]]);
 * assert.equal(parseTraceState("Upper=1"), undefined);
 * assert.equal(parseTraceState("@foo=1"), undefined);
 * ```
 */
export function parseTraceState(text: string | readonly string[]): [string, string][] | undefined {
  const joined = joinLines(text);
  if (joined === undefined || joined.length > TRACESTATE_MAX_INPUT) return undefined;
  const members = readStrict(joined);
  return typeof members === "string" ? undefined : members;
}

/**
 * Adds or updates one `tracestate` member, as a vendor resuming a trace does: the member moves
 * to the left; when the list would have 33 members the right-most is dropped; when the result
 * would exceed 512 characters other members are dropped by the specification's truncation rule
 * (longer than 128 characters first, then from the right). Invalid members of the existing
 * value are left out.
 *
 * @param traceState The current value, or `undefined`.
 * @param key The member's key (`vendor` or `tenant@vendor`).
 * @param value The member's value: up to 256 printable ASCII characters except `,` and `=`,
 * not ending in a space.
 * @returns The new `tracestate` value.
 * @throws {TypeError} When the key or value is not a string.
 * @throws {SyntaxError} When the key or value breaks the grammar.
 * @throws {RangeError} When the member alone is longer than 512 characters.
 *
 * @example Update moves the member to the front
 * ```ts
 * import { setTraceStateMember } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * assert.equal(setTraceStateMember("rojo=1,congo=2", "congo", "3"), "congo=3,rojo=1");
 * assert.equal(setTraceStateMember(undefined, "rojo", "1"), "rojo=1");
 * ```
 */
export function setTraceStateMember(
  traceState: string | undefined,
  key: string,
  value: string,
): string {
  if (typeof key !== "string" || typeof value !== "string") {
    throw new TypeError("Cannot set tracestate member: key and value must be strings");
  }
  if (!isValidKey(key)) {
    throw new SyntaxError(`Cannot set tracestate member: key '${printable(key)}' is not valid`);
  }
  if (!VALUE.test(value)) {
    throw new SyntaxError(
      `Cannot set tracestate member: value '${printable(value)}' of key '${key}' is not valid`,
    );
  }
  if (key.length + 1 + value.length > TRACESTATE_MAX_LENGTH) {
    throw new RangeError(
      `Cannot set tracestate member: '${key}' with its value is more than ${TRACESTATE_MAX_LENGTH} characters`,
    );
  }
  const others = typeof traceState === "string"
    ? readLenient(traceState).filter(([k]) => k !== key)
    : [];
  const members: [string, string][] = [[key, value], ...others];
  if (members.length > TRACESTATE_MAX_MEMBERS) members.length = TRACESTATE_MAX_MEMBERS;
  return format(fit(members, 1))!;
}

/**
 * Removes one `tracestate` member. Invalid members of the existing value are left out too.
 *
 * @param traceState The current value, or `undefined`.
 * @param key The key to remove.
 * @returns The new value, or `undefined` when no member is left.
 *
 * @example
 * ```ts
 * import { deleteTraceStateMember } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * assert.equal(deleteTraceStateMember("rojo=1,congo=2", "rojo"), "congo=2");
 * assert.equal(deleteTraceStateMember("rojo=1", "rojo"), undefined);
 * ```
 */
export function deleteTraceStateMember(
  traceState: string | undefined,
  key: string,
): string | undefined {
  if (typeof traceState !== "string") return undefined;
  return format(readLenient(traceState).filter(([k]) => k !== key));
}

/**
 * Makes any trace state an activity or context holds safe to send: only valid members, the
 * first of each key, at most 32.
 */
function sanitize(traceState: string | undefined): string | undefined {
  if (typeof traceState !== "string" || traceState === "") return undefined;
  // Activities and contexts keep only printable ASCII of at most 512 characters
  // (cleanTraceState), so what remains to do is dropping members outside the grammar; the
  // result is never longer than the input.
  return format(readLenient(traceState));
}

/**
 * Reads the W3C `traceparent` and `tracestate` of a carrier into a remote context. Header names
 * are matched without regard to case. Several `traceparent` lines (an array of values, two
 * names that differ in case, or a value with `,` as `Headers` combines lines) are no parent, so
 * `undefined`, whatever each line holds; several `tracestate` lines are combined with commas, as
 * RFC 9110 says. A malformed or missing `traceparent` gives `undefined` and its `tracestate` is
 * not read; an invalid `tracestate` is dropped and the context kept; a repeated `tracestate`
 * key keeps its first member; a valid `tracestate` longer than 512 characters is shortened by
 * the specification's truncation rule. Never throws.
 *
 * @param carrier `Headers`, a `Map`, a plain object, or anything the `getter` option reads.
 * @param options A `getter` for other carriers.
 * @returns The remote context (`isRemote` true), or `undefined` when there is no valid
 * `traceparent`.
 *
 * @example A future version is read; version ff is not
 * ```ts
 * import { extract } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * const id = "12345678901234567890123456789012-1234567890123456-01";
 * assert.equal(extract({ TraceParent: `cc-${id}-what-the-future-will-be-like` })?.traceFlags, 1);
 * assert.equal(extract({ traceparent: `ff-${id}` }), undefined);
 * assert.equal(extract(new Map([["traceparent", `00-${id}`], ["tracestate", "a=1,a=2"]]))?.traceState, "a=1");
 * assert.equal(extract(new Map([["traceparent", `00-${id}`], ["tracestate", "A=1"]]))?.traceState, undefined);
 * ```
 */
export function extract(carrier: unknown, options?: ExtractOptions): ActivityContext | undefined {
  const getter = typeof options?.getter === "function" ? options.getter as CarrierGet : undefined;
  const lines = readField(carrier, TRACEPARENT_HEADER, getter);
  // Several lines (or, from Headers, one value with a ',') are no parent: a new trace starts.
  if (lines.length !== 1) return undefined;
  const traceparent = trimOws(lines[0]!);
  if (traceparent.length > TRACEPARENT_MAX_INPUT) return undefined;
  const parsed = ActivityContext.tryParse(traceparent);
  if (parsed === undefined) return undefined;
  const stateLines = readField(carrier, TRACESTATE_HEADER, getter);
  if (stateLines.length === 0) return parsed;
  const members = parseTraceState(stateLines);
  const traceState = members === undefined ? undefined : format(fit(members));
  if (traceState === undefined) return parsed;
  return withTraceState(parsed, traceState);
}

/**
 * Writes the W3C `traceparent` (version `00`) and `tracestate` of an activity or context into a
 * carrier. Trace flags other than sampled (`0x01`) and random (`0x02`) are written as zero, as
 * version `00` requires. The trace state is written only as far as it is valid (valid members,
 * the first of each key, at most 32, at most 512 characters), so no CR, LF or other forbidden
 * character ever reaches the carrier; with no trace state, a `tracestate` field already in a
 * `Headers`, `Map` or plain object is removed. Does nothing for `undefined` or `null`, and
 * never throws.
 *
 * @param context The activity or context to propagate.
 * @param carrier `Headers`, a `Map`, a plain object, or anything the `setter` option writes.
 * @param options A `setter` for other carriers.
 *
 * @example Inject into Headers for fetch
 * ```ts
 * import { ActivityContext, inject } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * const context = new ActivityContext("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", {
 *   traceFlags: 0xff,
 *   traceState: "rojo=1,Bad Key=2,congo=3",
 * });
 * const headers = new Headers();
 * inject(context, headers);
 * assert.equal(headers.get("traceparent"), "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03");
 * assert.equal(headers.get("tracestate"), "rojo=1,congo=3");
 * ```
 */
export function inject(
  context: ActivityContext | Activity | null | undefined,
  carrier: unknown,
  options?: InjectOptions,
): void {
  let traceId: string, spanId: string, traceFlags: number, traceState: string | undefined;
  if (isActivityObject(context)) {
    ({ traceId, spanId, traceFlags, traceState } = context);
  } else {
    if (!(isActivity(context) || isActivityContext(context))) return;
    try {
      // Each read once: a context (or another copy's activity) is used through its members.
      ({ traceId, spanId, traceFlags, traceState } = context);
      if (!isValidTraceId(traceId) || !isValidSpanId(spanId) || !isValidTraceFlags(traceFlags)) {
        return;
      }
    } catch {
      return;
    }
  }
  const setter = typeof options?.setter === "function" ? options.setter as CarrierSet : undefined;
  writeField(
    carrier,
    TRACEPARENT_HEADER,
    formatTraceparent(traceId, spanId, traceFlags & VERSION_00_FLAGS),
    setter,
  );
  const state = sanitize(traceState);
  if (state !== undefined) writeField(carrier, TRACESTATE_HEADER, state, setter);
  else if (setter === undefined) removeField(carrier, TRACESTATE_HEADER);
}
