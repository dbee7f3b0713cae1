/**
 * {@linkcode Activity}, .NET's `System.Diagnostics.Activity`: one timed operation of a trace, and
 * the current activity of the async flow. What it records is kept in `_activity_record.ts`.
 *
 * @module
 */

import { ActivityContext, type ActivityLink, cleanTraceState, formatTraceparent } from "./links.ts";
import { TRACE_FLAG_RECORDED } from "./ids.ts";
import type { ActivityKind, ActivityStatusCode } from "./kind.ts";
import { type ActivityLimits, DEFAULT_LIMITS } from "./limits.ts";
import { type ActivityEvent, type AddEventOptions, readEventOptions } from "./event.ts";
import type { TagList, TagValue } from "./tags.ts";
import { endTicksOf, epochMs, RUNNING, TICKS_PER_MS, unixNano } from "./_time.ts";
import type { ActivityTimes, TimeBase } from "./_time.ts";
import { ActivityRecord, NO_EVENTS, NO_LINKS, NO_TAGS } from "./_activity_record.ts";
import { ReportOnce, reportToLiveHandlers, reportUnusable } from "./_diagnostics.ts";
import { notifyEach } from "./_notify.ts";
import { current, foreignBaggage, foreignCurrent, runActivity } from "./_current.ts";
import { brand, BRANDS } from "./_registry.ts";
import {
  addOwnBaggage,
  newOwnBaggage,
  type OwnBaggage,
  ownBaggageItem,
  pushOwnBaggage,
  setOwnBaggage,
} from "./_own_baggage.ts";

/**
 * What an activity knows of the source that started it: what OpenTelemetry calls the
 * instrumentation scope. {@linkcode ActivitySource} is one.
 */
export interface ActivitySourceInfo {
  /** The source's name. */
  readonly name: string;
  /** The source's version, or `undefined`. */
  readonly version: string | undefined;
  /** The source's tags (instrumentation scope attributes). */
  readonly tags: TagList;
}

/**
 * What an activity tells when it stops: the part of {@linkcode ActivityListener} that an
 * activity calls itself.
 */
export interface ActivityStopListener {
  /** Called after an activity of a listened source stopped. */
  activityStopped?(activity: Activity): void;
}

/** Options of {@linkcode Activity.stop}. */
export interface StopOptions {
  /**
   * When the activity ended (a `Date` or epoch milliseconds).
   * @default {now}
   */
  endTime?: Date | number;
}

const reporter = new ReportOnce(reportToLiveHandlers);

/** What {@linkcode ActivitySource} passes to create an activity. */
export interface ActivityInit {
  source: ActivitySourceInfo;
  name: string;
  kind: ActivityKind;
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  parent: Activity | undefined;
  hasRemoteParent: boolean;
  traceFlags: number;
  traceState: string | undefined;
  allData: boolean;
  /** Made for this activity, which keeps it without a copy when it is within the limits. */
  tags: [string, unknown][];
  links: readonly ActivityLink[] | undefined;
  /** Links given at start beyond the link limit, not passed in `links`. */
  droppedLinks: number;
  startTicks: number;
  time: TimeBase;
  limits: ActivityLimits;
  listeners: readonly ActivityStopListener[];
}

/**
 * Whether a value is an activity made by this module (not merely an object whose prototype is
 * `Activity.prototype`); never throws. Set once, when the class is defined.
 */
export let isActivityObject: (value: unknown) => value is Activity;

/**
 * Creates a started activity; used by {@linkcode ActivitySource}, not exported by the module.
 * Listeners are not notified here. Set once, when the class is defined.
 */
export let createActivity: (init: ActivityInit) => Activity;

/** The time base and raw ticks of an activity, for the OTLP encoders (false: not one); set once. */
export let activityTimes: (activity: Activity, out: ActivityTimes) => boolean;

const CONSTRUCTING = Symbol("constructing");

/**
 * One timed operation of a trace. Get one from {@linkcode ActivitySource.startActivity} (which
 * returns `undefined` when nothing listens or samples it, so write `activity?.setTag(...)`);
 * end it with {@linkcode Activity.stop} or `using`.
 *
 * @example The current activity is set for a callback only
 * ```ts
 * import { Activity, ActivitySource, createTracerProviderBuilder } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * using _provider = createTracerProviderBuilder().addSource("App").build();
 * const source = new ActivitySource("App");
 * await source.startActiveActivity("Outer", async (outer) => {
 *   await Promise.resolve();
 *   assert.equal(Activity.current, outer);
 *   // With no current activity, what starts inside is the root of a new trace.
 *   using root = Activity.run(null, () => source.startActivity("NewRoot"));
 *   assert.notEqual(root?.traceId, outer?.traceId);
 * });
 * assert.equal(Activity.current, undefined);
 * ```
 */
export class Activity {
  static {
    brand(Activity.prototype, BRANDS.activity);
    isActivityObject = (value): value is Activity =>
      typeof value === "object" && value !== null && #spanId in value;
    activityTimes = (a, out) => {
      if (!(#time in a)) return false;
      out.time = a.#time;
      out.startTicks = a.#startTicks;
      out.endTicks = a.#endTicks === RUNNING ? a.#startTicks : a.#endTicks;
      return true;
    };
    createActivity = (init) => {
      const a = new Activity(CONSTRUCTING);
      a.#source = init.source;
      a.#operationName = init.name;
      a.#displayName = init.name;
      a.#kind = init.kind;
      a.#traceId = init.traceId;
      a.#spanId = init.spanId;
      a.#parentSpanId = init.parentSpanId;
      a.#parent = init.parent;
      a.#hasRemoteParent = init.hasRemoteParent;
      a.#traceFlags = init.traceFlags;
      a.#traceState = init.traceState;
      a.#allData = init.allData;
      a.#startTicks = init.startTicks;
      a.#time = init.time;
      a.#limits = init.limits;
      a.#listeners = init.listeners;
      const { tags, links } = init;
      if (tags.length === 0 && links === undefined && init.droppedLinks === 0) return a;
      const record = a.#record = new ActivityRecord();
      if (tags.length > 0) record.startTags(tags, init.limits);
      if (links !== undefined) record.startLinks(links, init.limits);
      record.droppedLinks += init.droppedLinks;
      return a;
    };
  }

  #source!: ActivitySourceInfo;
  #operationName = "";
  #displayName = "";
  #kind: ActivityKind = "internal";
  #traceId = "";
  #spanId = "";
  #parentSpanId: string | undefined;
  #parent: Activity | undefined;
  #hasRemoteParent = false;
  #traceFlags = 0;
  #traceState: string | undefined;
  #allData = false;
  #startTicks = 0;
  #endTicks = RUNNING;
  #time!: TimeBase;
  #limits: ActivityLimits = DEFAULT_LIMITS;
  #listeners: readonly ActivityStopListener[] = [];
  #record: ActivityRecord | undefined;
  #context: ActivityContext | undefined;

  /**
   * Not for direct use: activities come from {@linkcode ActivitySource.startActivity}.
   *
   * @param key An internal key.
   * @throws {TypeError} Always, when called from outside the module.
   */
  constructor(key: unknown) {
    if (key !== CONSTRUCTING) {
      throw new TypeError(
        "Cannot construct Activity directly: use ActivitySource.startActivity()",
      );
    }
  }

  /**
   * The activity of the current async flow, or `undefined`. Read-only: it changes only inside
   * {@linkcode Activity.run} and `ActivitySource.startActiveActivity` callbacks.
   */
  static get current(): Activity | undefined {
    const value = current.get();
    return value === undefined || isActivityObject(value)
      ? value
      : foreignCurrent(value, Activity) as Activity | undefined;
  }

  /**
   * Not assignable: the current activity changes only for a callback, so .NET's
   * `Activity.Current = a` is `Activity.run(a, fn)`, and `= null` is `Activity.run(null, fn)`.
   *
   * @param _value Ignored.
   * @throws {TypeError} Always.
   */
  static set current(_value: never) {
    throw new TypeError(
      "Cannot assign Activity.current: the current activity changes only for a callback. " +
        "Instead of Activity.current = activity, write Activity.run(activity, fn); " +
        "instead of Activity.current = null, write Activity.run(null, fn) or " +
        "source.startActivity(name, { root: true })",
    );
  }

  /**
   * Calls `fn` with `activity` as the current activity for the call and everything it starts
   * (awaits, promise callbacks, timers). Pass `null` to run without a current activity, so that
   * activities started inside become roots of new traces. The activity is not stopped. A value
   * that is not an activity is ignored (and reported once): `fn` runs with no change.
   *
   * @param activity The activity to make current, or `null`/`undefined` for none.
   * @param fn The callback.
   * @returns What `fn` returns (a promise stays a promise).
   * @throws {TypeError} When `fn` is not a function (there is nothing to run); what `fn`
   * throws is rethrown.
   */
  static run<R>(activity: Activity | null | undefined, fn: () => R): R {
    return runActivity(activity, Activity, isActivityObject, fn);
  }

  /** The source that started the activity (its name, version and tags). */
  get source(): ActivitySourceInfo {
    return this.#source;
  }
  /** The name given at start (.NET `OperationName`). */
  get operationName(): string {
    return this.#operationName;
  }
  /** The name exporters show; the start name unless changed (.NET `DisplayName`). */
  get displayName(): string {
    return this.#displayName;
  }
  /** Changes the name exporters show; ignored once stopped or when not a string. */
  set displayName(value: string) {
    if (this.#endTicks === RUNNING && typeof value === "string") this.#displayName = value;
  }
  /** The activity's kind. */
  get kind(): ActivityKind {
    return this.#kind;
  }
  /** The trace id: 32 lowercase hex characters. */
  get traceId(): string {
    return this.#traceId;
  }
  /** The span id: 16 lowercase hex characters. */
  get spanId(): string {
    return this.#spanId;
  }
  /** The parent's span id, or `undefined` for the root of a trace. */
  get parentSpanId(): string | undefined {
    return this.#parentSpanId;
  }
  /** The parent activity when it is in this process and was current or given; else `undefined`. */
  get parent(): Activity | undefined {
    return this.#parent;
  }
  /** Whether the parent came from another process. */
  get hasRemoteParent(): boolean {
    return this.#hasRemoteParent;
  }
  /** The trace flags byte: `0x01` recorded, `0x02` random trace id. */
  get traceFlags(): number {
    return this.#traceFlags;
  }
  /** Whether the activity is recorded (trace flag `0x01`): exporters receive it. */
  get recorded(): boolean {
    return (this.#traceFlags & TRACE_FLAG_RECORDED) !== 0;
  }

  /**
   * Whether listeners asked for all data (sampling result `"allData"` or
   * `"allDataAndRecorded"`). When false, tags, events, links and status are not kept.
   */
  get isAllDataRequested(): boolean {
    return this.#allData;
  }
  /** The W3C `tracestate` value carried by the activity, or `undefined`. */
  get traceState(): string | undefined {
    return this.#traceState;
  }

  /**
   * Changes the trace state (.NET `TraceStateString`); ignored once stopped. A value that is
   * not printable ASCII of at most 512 characters is dropped (the activity then has none).
   */
  set traceState(value: string | undefined) {
    if (this.#endTicks !== RUNNING) return;
    if (value !== undefined && typeof value !== "string") return;
    this.#traceState = cleanTraceState(value);
    this.#context = undefined;
  }

  /** The activity as a link or child sees it: its ids, flags and trace state. */
  get context(): ActivityContext {
    return this.#context ??= new ActivityContext(this.#traceId, this.#spanId, {
      traceFlags: this.#traceFlags,
      traceState: this.#traceState,
    });
  }

  /** The W3C id, the activity's `traceparent` form: `00-{traceId}-{spanId}-{flags}`. */
  get id(): string {
    return formatTraceparent(this.#traceId, this.#spanId, this.#traceFlags);
  }
  /** The start time (millisecond precision; see {@linkcode Activity.startTimeUnixNano}). */
  get startTime(): Date {
    return new Date(epochMs(this.#time, this.#startTicks));
  }
  /** The start time in nanoseconds since the Unix epoch, exact to 100 ns. */
  get startTimeUnixNano(): bigint {
    return unixNano(this.#time, this.#startTicks);
  }
  /** The end time in nanoseconds since the Unix epoch, or `undefined` while running. */
  get endTimeUnixNano(): bigint | undefined {
    return this.#endTicks === RUNNING ? undefined : unixNano(this.#time, this.#endTicks);
  }
  /** The duration in 100-nanosecond ticks (at least 1 once stopped; 0 while running). */
  get durationTicks(): number {
    return this.#endTicks === RUNNING ? 0 : this.#endTicks - this.#startTicks;
  }
  /** The duration in milliseconds (0 while running). */
  get duration(): number {
    return this.durationTicks / TICKS_PER_MS;
  }
  /** Whether {@linkcode Activity.stop} has been called. */
  get isStopped(): boolean {
    return this.#endTicks !== RUNNING;
  }
  /** The tags, in insertion order (`addTag` may repeat a key). */
  get tags(): TagList {
    return this.#record?.tags ?? NO_TAGS;
  }
  /** The events, in the order added. */
  get events(): readonly ActivityEvent[] {
    return this.#record?.events ?? NO_EVENTS;
  }
  /** The links, those given at start first. */
  get links(): readonly ActivityLink[] {
    return this.#record?.links ?? NO_LINKS;
  }
  /** Tags dropped by the tag limit. */
  get droppedTagCount(): number {
    return this.#record?.droppedTags ?? 0;
  }
  /** Events dropped by the event limit. */
  get droppedEventCount(): number {
    return this.#record?.droppedEvents ?? 0;
  }
  /** Links dropped by the link limit. */
  get droppedLinkCount(): number {
    return this.#record?.droppedLinks ?? 0;
  }
  /** The status code. */
  get status(): ActivityStatusCode {
    return this.#record?.status ?? "unset";
  }
  /** The status description (kept only for `"error"`), or `undefined`. */
  get statusDescription(): string | undefined {
    return this.#record?.statusDescription;
  }

  #writable(): boolean {
    return this.#allData && this.#endTicks === RUNNING;
  }

  /**
   * Sets a tag as .NET does: replaces the first tag with the same key, adds it when there is
   * none, removes it when `value` is `null` or `undefined`.
   *
   * @param key The tag's key.
   * @param value The tag's value.
   * @returns The activity, for chaining.
   */
  setTag(key: string, value: TagValue): this {
    if (this.#writable() && typeof key === "string") {
      (this.#record ??= new ActivityRecord()).setTag(key, value, this.#limits);
    }
    return this;
  }

  /**
   * Adds a tag as .NET does: always appended, even when the key is already there.
   *
   * @param key The tag's key.
   * @param value The tag's value.
   * @returns The activity, for chaining.
   */
  addTag(key: string, value: TagValue): this {
    if (this.#writable() && typeof key === "string") {
      (this.#record ??= new ActivityRecord()).addTag(key, value, this.#limits);
    }
    return this;
  }

  /**
   * Returns the value of the first tag with the given key.
   *
   * @param key The tag's key.
   * @returns The value, or `undefined` when there is no such tag.
   */
  getTagItem(key: string): unknown {
    return this.#record?.tagItem(key);
  }

  /**
   * Adds an event.
   *
   * @param name The event's name.
   * @param options The event's tags and timestamp.
   * @returns The activity, for chaining.
   */
  addEvent(name: string, options?: AddEventOptions): this {
    if (!this.#writable() || typeof name !== "string") return this;
    const record = this.#record ??= new ActivityRecord();
    if (record.roomForEvent(this.#limits)) {
      const input = readEventOptions(options, "Activity.addEvent()");
      record.pushEvent(name, input, this.#limits, this.#time);
    }
    return this;
  }

  /**
   * Adds a link after start. Samplers see only the links given at start, so prefer those.
   * Anything but an `ActivityLink` whose context and tags can be read is ignored, and reported
   * once.
   *
   * @param link The link.
   * @returns The activity, for chaining.
   */
  addLink(link: ActivityLink): this {
    if (this.#writable()) {
      (this.#record ??= new ActivityRecord()).pushLink(link, this.#limits, "Activity.addLink()");
    }
    return this;
  }

  /**
   * Sets the status. A description is kept only for `"error"`.
   *
   * @param code `"unset"`, `"ok"` or `"error"`; other values are ignored.
   * @param description Why it failed (for `"error"`).
   * @returns The activity, for chaining.
   */
  setStatus(code: ActivityStatusCode, description?: string): this {
    if (this.#writable()) (this.#record ??= new ActivityRecord()).setStatus(code, description);
    return this;
  }

  /**
   * Records an error as an `exception` event with the OpenTelemetry tags `exception.type`,
   * `exception.message` and `exception.stacktrace`. The status is not changed.
   *
   * @param error The error (any thrown value).
   * @param options Extra tags and the timestamp.
   * @returns The activity, for chaining.
   */
  recordException(error: unknown, options?: AddEventOptions): this {
    if (!this.#writable()) return this;
    const record = this.#record ??= new ActivityRecord();
    if (record.roomForEvent(this.#limits)) {
      const input = readEventOptions(options, "Activity.recordException()");
      record.pushException(error, input, this.#limits, this.#time);
    }
    return this;
  }

  // Baggage, as .NET's: each activity's own items, newest first, then its parents'. It is
  // propagation data, kept also for propagation-only activities; ignored after stop.
  #baggage: OwnBaggage | undefined;

  /**
   * Baggage items of this activity that were not kept because of the W3C Baggage limits (at
   * most 180 own items and 8192 characters of `key=value` in all), or because a new value
   * would pass the character limit.
   */
  get droppedBaggageCount(): number {
    return this.#baggage?.dropped ?? 0;
  }

  /**
   * The baggage this activity sees: its own items (newest first), then its parent's, up the
   * chain of in-process parents (.NET `Activity.Baggage`). A key may appear more than once;
   * the first is the one {@linkcode Activity.getBaggageItem} returns.
   */
  get baggage(): readonly (readonly [string, string])[] {
    const out: (readonly [string, string])[] = [];
    let a: Activity | undefined;
    for (a = this; a !== undefined && #spanId in a; a = a.#parent) pushOwnBaggage(out, a.#baggage);
    // A parent from another copy of the module is read through its public members.
    if (a !== undefined) out.push(...foreignBaggage(a));
    return out;
  }

  /**
   * Returns the value of a baggage item: this activity's own first, then its parents'
   * (.NET `GetBaggageItem`).
   *
   * @param key The item's key.
   * @returns The value, or `undefined` when no activity in the chain has the key.
   */
  getBaggageItem(key: string): string | undefined {
    let a: Activity | undefined;
    for (a = this; a !== undefined && #spanId in a; a = a.#parent) {
      const value = ownBaggageItem(a.#baggage, key);
      if (value !== undefined) return value;
    }
    return a === undefined ? undefined : foreignBaggage(a).find(([k]) => k === key)?.[1];
  }

  /**
   * Adds a baggage item in front of this activity's own items, even when the key is already
   * there (.NET `AddBaggage`). Children started afterwards see it, and `injectBaggage` sends
   * it. Ignored when the key or value is not a string, or once stopped; beyond the W3C
   * Baggage limits it is dropped and counted ({@linkcode Activity.droppedBaggageCount}).
   *
   * @param key The item's key.
   * @param value The item's value.
   * @returns The activity, for chaining.
   */
  addBaggage(key: string, value: string): this {
    if (this.#endTicks !== RUNNING || typeof key !== "string" || typeof value !== "string") {
      return this;
    }
    addOwnBaggage(this.#baggage ??= newOwnBaggage(), key, value);
    return this;
  }

  /**
   * Sets a baggage item of this activity (.NET `SetBaggage`): updates this activity's own item
   * with the key in place, or adds one in front; `null` or `undefined` removes this activity's
   * own item (a parent's item with the key stays visible). Ignored once stopped; an item or a
   * new value beyond the W3C Baggage limits is dropped and counted
   * ({@linkcode Activity.droppedBaggageCount}).
   *
   * @param key The item's key.
   * @param value The new value, or `null`/`undefined` to remove.
   * @returns The activity, for chaining.
   */
  setBaggage(key: string, value: string | null | undefined): this {
    if (this.#endTicks !== RUNNING || typeof key !== "string") return this;
    if (value !== null && value !== undefined && typeof value !== "string") return this;
    setOwnBaggage(this.#baggage ??= newOwnBaggage(), key, value);
    return this;
  }

  /**
   * Stops the activity: records the end time and tells the listeners (so exporters receive
   * it). Later calls do nothing.
   *
   * @param options The end time, when not now.
   */
  stop(options?: StopOptions): void {
    if (this.#endTicks !== RUNNING) return;
    let endTime: unknown;
    if (options !== undefined && options !== null) {
      try {
        endTime = options.endTime;
      } catch (error) {
        reportUnusable("Activity.stop() option endTime", error);
      }
    }
    this.#endTicks = endTicksOf(this.#time, this.#startTicks, endTime);
    notifyEach(this.#listeners, callStopped, this, reporter, "ActivityListener.activityStopped");
  }

  /** Stops the activity, so `using activity = source.startActivity(...)` works. */
  [Symbol.dispose](): void {
    this.stop();
  }
}

function callStopped(listener: ActivityStopListener, activity: Activity): void {
  listener.activityStopped?.(activity);
}
