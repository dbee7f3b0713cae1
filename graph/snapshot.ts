/**
 * Snapshots: a finished activity as plain, frozen data ({@linkcode ActivitySnapshot}), what the
 * graph keeps and renders instead of {@linkcode Activity} objects. {@linkcode snapshotActivity}
 * copies an activity; a snapshot given by hand (read back from a file, say) is read exactly
 * once, field by field, checked and copied, so that what the graph keeps cannot change after
 * it was checked (a getter, a proxy or a later change of the caller's object does not reach it).
 *
 * @example A snapshot is plain data
 * ```ts
 * import { ActivitySource, createTracerProviderBuilder } from "@tracelinks/activity";
 * import { snapshotActivity } from "@tracelinks/activity/graph";
 * import assert from "node:assert/strict";
 *
 * using _provider = createTracerProviderBuilder().addSource("Snapshot.Module").build();
 * const activity = new ActivitySource("Snapshot.Module").startActivity("Work")!;
 * activity.stop();
 * assert.ok(Object.isFrozen(snapshotActivity(activity)));
 * ```
 *
 * @module
 */

import type { Activity } from "../activity.ts";
import { isActivity } from "../_is_activity.ts";
import type { ActivityEvent } from "../event.ts";
import {
  ACTIVITY_KINDS,
  ACTIVITY_STATUS_CODES,
  type ActivityKind,
  type ActivityStatusCode,
} from "../kind.ts";
import type { Resource } from "../resource.ts";
import { copyArrayValue, type TagList } from "../tags.ts";
import { safeString } from "../_format.ts";
import { defaultAttributes } from "../_default_resource.ts";

/** What names one activity: its trace id and span id (an activity, a context or a snapshot). */
export interface ActivityRef {
  /** The trace id: 32 lowercase hex characters. */
  readonly traceId: string;
  /** The span id: 16 lowercase hex characters. */
  readonly spanId: string;
}

/** A link as the graph keeps it: the context it points at and its tags. */
export interface LinkSnapshot {
  /** The trace id the link points at. */
  readonly traceId: string;
  /** The span id the link points at. */
  readonly spanId: string;
  /** The trace flags of the linked context. */
  readonly traceFlags: number;
  /** The trace state of the linked context, or `undefined`. */
  readonly traceState: string | undefined;
  /** Whether the linked context came from another process. */
  readonly isRemote: boolean;
  /** The link's tags, in order. */
  readonly tags: TagList;
}

/**
 * A finished activity as the graph keeps it: plain data copied when it stopped, so the graph
 * never holds on to {@linkcode Activity} objects.
 */
export interface ActivitySnapshot {
  /** The trace id. */
  readonly traceId: string;
  /** The span id. */
  readonly spanId: string;
  /** The parent's span id, or `undefined` for the root of a trace. */
  readonly parentSpanId: string | undefined;
  /** Whether the parent came from another process. */
  readonly hasRemoteParent: boolean;
  /** The display name. */
  readonly name: string;
  /** The kind. */
  readonly kind: ActivityKind;
  /** The name of the source that started it. */
  readonly sourceName: string;
  /**
   * The `service.name` of the resource it was exported with, or `undefined` (also for the
   * default `unknown_service:<executable>` of this process, which names no service).
   */
  readonly serviceName: string | undefined;
  /** The start, in nanoseconds since the Unix epoch. */
  readonly startTimeUnixNano: bigint;
  /** The end, in nanoseconds since the Unix epoch. */
  readonly endTimeUnixNano: bigint;
  /** The duration in 100-nanosecond ticks. */
  readonly durationTicks: number;
  /** The tags, in order. */
  readonly tags: TagList;
  /** The events, in order. */
  readonly events: readonly ActivityEvent[];
  /** The links, in order. */
  readonly links: readonly LinkSnapshot[];
  /** The status code. */
  readonly status: ActivityStatusCode;
  /** The status description, or `undefined`. */
  readonly statusDescription: string | undefined;
  /** Links the activity dropped at its link limit. */
  readonly droppedLinkCount: number;
}

/** A node of a trace's parent/child tree. */
export interface TraceNode {
  /** The activity. */
  readonly activity: ActivitySnapshot;
  /** Its children, by start time. */
  readonly children: readonly TraceNode[];
}

/** A trace as a parent/child tree. */
export interface TraceTree {
  /** The trace id. */
  readonly traceId: string;
  /**
   * The activities without a parent in the graph, by start time: the root, and any activity
   * whose parent is remote or was not recorded here (its `parentSpanId` says which).
   */
  readonly roots: readonly TraceNode[];
  /** The number of activities of the trace the graph holds. */
  readonly size: number;
}

/**
 * Copies what the graph and the renderers need of a stopped activity into plain data, frozen.
 * An array tag value keeps its first 1,000 elements, nested arrays included, holes as `null` (a
 * holey array can claim billions); {@linkcode LinkGraph.truncatedArrayCount} counts the cuts of
 * a graph.
 *
 * @param activity A stopped activity.
 * @param resource The resource it was exported with (for the service name).
 * @returns The snapshot.
 * @throws {TypeError} When `activity` is not an {@linkcode Activity}.
 *
 * @example
 * ```ts
 * import { ActivitySource, createTracerProviderBuilder } from "@tracelinks/activity";
 * import { snapshotActivity } from "@tracelinks/activity/graph";
 * import assert from "node:assert/strict";
 *
 * using _provider = createTracerProviderBuilder().addSource("Snapshot.Example").build();
 * const activity = new ActivitySource("Snapshot.Example").startActivity("Work", { tags: { a: 1 } })!;
 * activity.stop();
 * const snapshot = snapshotActivity(activity);
 * assert.equal(snapshot.name, "Work");
 * assert.deepEqual(snapshot.tags, [["a", 1]]);
 * ```
 */
export function snapshotActivity(activity: Activity, resource?: Resource): ActivitySnapshot {
  return copyActivity(activity, resource, { truncatedArrays: 0 });
}

/** The default resource's `service.name`, set when no service named itself. */
function defaultServiceName(): unknown {
  return defaultAttributes().find(([key]) => key === "service.name")?.[1];
}

/** A snapshot of an activity, counting the array values it cuts in `counter`. */
export function copyActivity(
  activity: Activity,
  resource: Resource | undefined,
  counter: CopyCounter,
): ActivitySnapshot {
  if (!isActivity(activity)) {
    throw new TypeError("Cannot snapshot activity: expected an Activity");
  }
  const service = resource?.get("service.name");
  return Object.freeze({
    traceId: activity.traceId,
    spanId: activity.spanId,
    parentSpanId: activity.parentSpanId,
    hasRemoteParent: activity.hasRemoteParent,
    name: activity.displayName,
    kind: activity.kind,
    sourceName: activity.source.name,
    serviceName: typeof service === "string" && service !== "" && service !== defaultServiceName()
      ? service
      : undefined,
    startTimeUnixNano: activity.startTimeUnixNano,
    endTimeUnixNano: activity.endTimeUnixNano ?? activity.startTimeUnixNano,
    durationTicks: activity.durationTicks,
    tags: copyTagList(activity.tags, counter),
    events: Object.freeze(activity.events.map((event) =>
      Object.freeze({
        name: event.name,
        timeUnixNano: event.timeUnixNano,
        tags: copyTagList(event.tags, counter),
        droppedTagCount: event.droppedTagCount,
      })
    )),
    links: Object.freeze(activity.links.map((link) =>
      Object.freeze({
        traceId: link.context.traceId,
        spanId: link.context.spanId,
        traceFlags: link.context.traceFlags,
        traceState: link.context.traceState,
        isRemote: link.context.isRemote,
        tags: copyTagList(link.tags, counter),
      })
    )),
    status: activity.status,
    statusDescription: activity.statusDescription,
    droppedLinkCount: activity.droppedLinkCount,
  });
}

/**
 * The most elements of an array tag value a snapshot keeps, nested arrays included; the rest
 * are cut and counted.
 */
const SNAPSHOT_ARRAY_ELEMENTS = 1000;

const SNAPSHOT_ARRAY_BOUNDS = {
  maxLength: Infinity,
  maxElements: SNAPSHOT_ARRAY_ELEMENTS,
  freeze: true,
};

const EMPTY_TAGS: TagList = Object.freeze([]);

/** Counts array values cut while copying. */
export interface CopyCounter {
  /** Array tag values cut to 1,000 elements. */
  truncatedArrays: number;
}

/**
 * A tag value as a snapshot keeps it: primitives as they are, arrays copied and frozen by
 * `copyArrayValue` (holes as `null`, at most 1,000 elements, nested
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
    return readSnapshot(value as Record<string, unknown>, counter);
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

/** Reads every field of a snapshot given by hand once, checks it, and returns a frozen copy. */
function readSnapshot(s: Record<string, unknown>, counter: CopyCounter): ActivitySnapshot {
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
}

/** What {@linkcode LinkGraph.find} looks for; every given field must match. */
export interface ActivityQuery {
  /**
   * The display name: a string matches exactly, a regular expression by `test`.
   * @default {undefined}
   */
  name?: string | RegExp;
  /**
   * A tag: a key (any value), or a key and a value compared with `Object.is` (arrays element
   * by element).
   * @default {undefined}
   */
  tag?: string | readonly [key: string, value: unknown];
  /**
   * Only this trace.
   * @default {undefined}
   */
  traceId?: string;
  /**
   * Only this kind.
   * @default {undefined}
   */
  kind?: ActivityKind;
}

/** Whether a snapshot matches every field given of a query (its trace is checked by the caller). */
export function matches(snapshot: ActivitySnapshot, query: ActivityQuery): boolean {
  const { name, tag, kind } = query;
  if (kind !== undefined && snapshot.kind !== kind) return false;
  if (typeof name === "string" && snapshot.name !== name) return false;
  if (name instanceof RegExp) {
    name.lastIndex = 0;
    if (!name.test(snapshot.name)) return false;
  }
  if (tag === undefined) return true;
  const key = typeof tag === "string" ? tag : tag[0];
  return snapshot.tags.some(([k, v]) =>
    k === key && (typeof tag === "string" || sameValue(v, tag[1]))
  );
}

/** `Object.is`, and for two arrays, element by element. */
function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
  return a.every((v, i) => Object.is(v, b[i]));
}
