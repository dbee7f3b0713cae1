// Copying activity data into the plain, frozen snapshots that graph.ts keeps. A snapshot given
// by hand is read exactly once, field by field, checked, and copied: what the graph keeps and
// renders cannot change after it was checked (a getter, a proxy or a later mutation of the
// caller's object does not reach it).
import type { ActivityEvent } from "./event.ts";
import { ACTIVITY_KINDS, ACTIVITY_STATUS_CODES } from "./kind.ts";
import { copyArrayValue, type TagList } from "./tags.ts";
import type { ActivitySnapshot, LinkSnapshot } from "./graph.ts";
import { safeString } from "./_format.ts";

/**
 * The most elements of an array tag value a snapshot keeps, nested arrays included; the rest
 * are cut and counted.
 */
export const MAX_ARRAY_ELEMENTS = 1000;

const SNAPSHOT_ARRAY_BOUNDS = {
  maxLength: Infinity,
  maxElements: MAX_ARRAY_ELEMENTS,
  freeze: true,
};

const EMPTY_TAGS: TagList = Object.freeze([]);

/** Counts array values cut while copying. */
export interface CopyCounter {
  /** Array tag values cut to {@linkcode MAX_ARRAY_ELEMENTS} elements. */
  truncatedArrays: number;
}

/**
 * A tag value as a snapshot keeps it: primitives as they are, arrays copied and frozen by
 * `copyArrayValue` (holes as `null`, at most {@linkcode MAX_ARRAY_ELEMENTS} elements, nested
 * arrays included, each element read once), anything else as its string form. Never throws.
 */
export function copyValue(value: unknown, counter: CopyCounter): unknown {
  if (value === null || typeof value !== "object") {
    return typeof value === "function" || typeof value === "symbol" ? safeString(value) : value;
  }
  let array: boolean;
  try {
    array = Array.isArray(value);
  } catch {
    return "[unreadable value]"; // a revoked proxy
  }
  if (!array) return safeString(value);
  try {
    const copy = copyArrayValue(value as readonly unknown[], SNAPSHOT_ARRAY_BOUNDS);
    if (copy.cut > 0) counter.truncatedArrays++;
    return copy.value;
  } catch {
    return "[unreadable array]";
  }
}

/** A frozen copy of a tag list whose pairs are known to be `[string, value]`. Never throws. */
export function copyTagList(tags: TagList, counter: CopyCounter): TagList {
  if (tags.length === 0) return EMPTY_TAGS;
  const out = new Array<readonly [string, unknown]>(tags.length);
  for (let i = 0; i < tags.length; i++) {
    const [key, value] = tags[i]!;
    out[i] = Object.freeze([key, copyValue(value, counter)] as const);
  }
  return Object.freeze(out);
}

/** The errors this file makes, told apart from what a getter throws. */
const ours = new WeakSet<TypeError>();

function invalid(what: string): TypeError {
  const error = new TypeError(`Cannot add to LinkGraph: ${what}`);
  ours.add(error);
  return error;
}

/**
 * Reads an array field once (its length, then each element once) and maps each element as it
 * is read, so that a hole or a wrong element stops the copy where it is met.
 */
function readArray<T>(value: unknown, what: string, map: (element: unknown, i: number) => T): T[] {
  if (!Array.isArray(value)) throw invalid(`${what} must be an array`);
  const length = value.length;
  const out: T[] = [];
  for (let i = 0; i < length; i++) out.push(map(value[i], i));
  return out;
}

function readTagList(value: unknown, what: string, counter: CopyCounter): TagList {
  const out = readArray(value, what, (pair, i) => {
    if (!Array.isArray(pair)) throw invalid(`${what}[${i}] must be a [key, value] pair`);
    const key: unknown = pair[0];
    const tagValue: unknown = pair[1];
    if (typeof key !== "string") throw invalid(`${what}[${i}] must have a string key`);
    return Object.freeze([key, copyValue(tagValue, counter)] as const);
  });
  return out.length === 0 ? EMPTY_TAGS : Object.freeze(out);
}

function string(value: unknown, what: string): string {
  if (typeof value !== "string") throw invalid(`${what} must be a string`);
  return value;
}

function optionalString(value: unknown, what: string): string | undefined {
  if (value !== undefined && typeof value !== "string") {
    throw invalid(`${what} must be a string or undefined`);
  }
  return value;
}

function bigint(value: unknown, what: string): bigint {
  if (typeof value !== "bigint") throw invalid(`${what} must be a bigint`);
  return value;
}

function boolean(value: unknown, what: string): boolean {
  if (typeof value !== "boolean") throw invalid(`${what} must be a boolean`);
  return value;
}

function count(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw invalid(`${what} must be an integer >= 0`);
  }
  return value;
}

function readLink(value: unknown, i: number, counter: CopyCounter): LinkSnapshot {
  const what = `links[${i}]`;
  if (typeof value !== "object" || value === null) throw invalid(`${what} must be an object`);
  const l = value as Record<string, unknown>;
  const traceId = string(l.traceId, `${what}.traceId`);
  const spanId = string(l.spanId, `${what}.spanId`);
  const traceFlags = l.traceFlags;
  if (typeof traceFlags !== "number" || !Number.isInteger(traceFlags) || traceFlags < 0) {
    throw invalid(`${what}.traceFlags must be an integer >= 0`);
  }
  const traceState = optionalString(l.traceState, `${what}.traceState`);
  const isRemote = boolean(l.isRemote, `${what}.isRemote`);
  const tags = readTagList(l.tags, `${what}.tags`, counter);
  return Object.freeze({ traceId, spanId, traceFlags, traceState, isRemote, tags });
}

function readEvent(value: unknown, i: number, counter: CopyCounter): ActivityEvent {
  const what = `events[${i}]`;
  if (typeof value !== "object" || value === null) throw invalid(`${what} must be an object`);
  const e = value as Record<string, unknown>;
  const name = string(e.name, `${what}.name`);
  const timeUnixNano = bigint(e.timeUnixNano, `${what}.timeUnixNano`);
  const tags = readTagList(e.tags, `${what}.tags`, counter);
  const dropped = e.droppedTagCount;
  const droppedTagCount = dropped === undefined ? 0 : count(dropped, `${what}.droppedTagCount`);
  return Object.freeze({ name, timeUnixNano, tags, droppedTagCount });
}

/**
 * Checks a snapshot given by hand and copies it: every field (and every field of its links,
 * events and tags) read once, the copy frozen. Anything that cannot be read (a throwing getter,
 * a revoked proxy) or has the wrong type is a `TypeError` naming the field.
 */
export function copySnapshot(value: unknown, counter: CopyCounter): ActivitySnapshot {
  if (typeof value !== "object" || value === null) {
    throw invalid("expected an Activity or an ActivitySnapshot");
  }
  try {
    const s = value as Record<string, unknown>;
    const traceId = string(s.traceId, "traceId");
    const spanId = string(s.spanId, "spanId");
    const parentSpanId = optionalString(s.parentSpanId, "parentSpanId");
    const hasRemoteParent = boolean(s.hasRemoteParent, "hasRemoteParent");
    const name = string(s.name, "name");
    const kind = s.kind;
    if (typeof kind !== "string" || !ACTIVITY_KINDS.has(kind)) {
      throw invalid("kind must be one of internal, server, client, producer, consumer");
    }
    const sourceName = string(s.sourceName, "sourceName");
    const serviceName = optionalString(s.serviceName, "serviceName");
    const startTimeUnixNano = bigint(s.startTimeUnixNano, "startTimeUnixNano");
    const endTimeUnixNano = bigint(s.endTimeUnixNano, "endTimeUnixNano");
    const durationTicks = s.durationTicks;
    if (typeof durationTicks !== "number" || !Number.isFinite(durationTicks) || durationTicks < 0) {
      throw invalid("durationTicks must be a finite number >= 0");
    }
    const tags = readTagList(s.tags, "tags", counter);
    const events = Object.freeze(readArray(s.events, "events", (e, i) => readEvent(e, i, counter)));
    const links = Object.freeze(readArray(s.links, "links", (l, i) => readLink(l, i, counter)));
    const status = s.status;
    if (typeof status !== "string" || !ACTIVITY_STATUS_CODES.has(status)) {
      throw invalid("status must be unset, ok or error");
    }
    const statusDescription = optionalString(s.statusDescription, "statusDescription");
    const droppedLinkCount = count(s.droppedLinkCount, "droppedLinkCount");
    return Object.freeze({
      traceId,
      spanId,
      parentSpanId,
      hasRemoteParent,
      name,
      kind: kind as ActivitySnapshot["kind"],
      sourceName,
      serviceName,
      startTimeUnixNano,
      endTimeUnixNano,
      durationTicks,
      tags,
      events,
      links,
      status: status as ActivitySnapshot["status"],
      statusDescription,
      droppedLinkCount,
    });
  } catch (error) {
    if (ours.has(error as TypeError)) throw error;
    let detail: string;
    try {
      detail = error instanceof Error ? `${error.name}: ${error.message}` : safeString(error);
    } catch {
      detail = "an unreadable error";
    }
    throw new TypeError(`Cannot add to LinkGraph: the snapshot could not be read (${detail})`, {
      cause: error,
    });
  }
}
