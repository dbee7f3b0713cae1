/**
 * {@linkcode Activity}: one timed operation of a trace, after .NET's
 * `System.Diagnostics.Activity`, with its ids, tags, events, links and status, and the current
 * activity of the async flow ({@linkcode Activity.current}, changed only by a scoped
 * {@linkcode Activity.run}).
 *
 * Activities come from {@linkcode ActivitySource.startActivity}; every method on a stopped or
 * unsampled activity is a silent no-op, and no method throws.
 *
 * @example Tags, an event and a status
 * ```ts
 * import { ActivitySource, createTracerProviderBuilder, InMemoryExporter } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * const exporter = new InMemoryExporter();
 * using _provider = createTracerProviderBuilder().addSource("Shop").addInMemoryExporter(exporter).build();
 * const source = new ActivitySource("Shop");
 * {
 *   using activity = source.startActivity("ProcessOrder", { kind: "server" });
 *   activity?.setTag("order.id", 1234).addEvent("validated").setStatus("ok");
 * }
 * assert.equal(exporter.activities[0]?.getTagItem("order.id"), 1234);
 * ```
 *
 * @module
 */

// deno-lint-ignore-file small-units/max-file-lines -- One class, .NET's Activity: 53 public
// members with their docs and examples (about 360 lines). A smaller file would need a public
// base class, or a call through another object on the hot path (start, setTag, stop).

import {
  ActivityContext,
  type ActivityLink,
  cleanTraceState,
  formatTraceparent,
  keptLink,
} from "./links.ts";
import { TRACE_FLAG_RECORDED } from "./ids.ts";
import { ContextVariable } from "./context.ts";
import type { ActivityKind, ActivityStatusCode } from "./kind.ts";
import { type ActivityLimits, DEFAULT_LIMITS } from "./limits.ts";
import {
  type ActivityEvent,
  type AddEventOptions,
  exceptionTags,
  readEventOptions,
} from "./event.ts";
import {
  cleanValue,
  limitTags,
  tagAppended,
  type TagList,
  tagPosition,
  tagRemoved,
  type TagValue,
} from "./tags.ts";
import {
  type Clock,
  epochMs,
  nowTicks,
  TICKS_PER_MS,
  type TimeBase,
  toTicks,
  unixNano,
} from "./_time.ts";
import { ReportOnce, reportToLiveHandlers, reportUnusable } from "./_diagnostics.ts";
import { notifyEach } from "./_notify.ts";
import {
  addOwnBaggage,
  newOwnBaggage,
  type OwnBaggage,
  ownBaggageItem,
  pushOwnBaggage,
  setOwnBaggage,
} from "./_own_baggage.ts";

export type { Clock };

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

const current = new ContextVariable<Activity>();
const reporter = new ReportOnce(reportToLiveHandlers);

// The end time of a running activity. Ticks count from the clock's origin and are negative
// for instants before it (a back-dated activity), so "running" is one particular value, which
// stop() never records (it moves such an end one tick later). A small integer keeps the field
// unboxed until the activity stops.
const RUNNING = -1;

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

let create: (init: ActivityInit) => Activity;
let isActivity: (value: unknown) => value is Activity;

/**
 * Whether a value is an activity made by this module (not merely an object whose prototype is
 * `Activity.prototype`); never throws.
 */
export function isActivityObject(value: unknown): value is Activity {
  return isActivity(value);
}

/**
 * Creates a started activity; used by {@linkcode ActivitySource}, not exported by the module.
 * Listeners are not notified here.
 */
export function createActivity(init: ActivityInit): Activity {
  return create(init);
}

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
 *
 * @example Tags, events, a status and a link; stopping twice is harmless
 * ```ts
 * import { ActivityLink, ActivitySource, createTracerProviderBuilder } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * using _provider = createTracerProviderBuilder().addSource("App").build();
 * const source = new ActivitySource("App");
 * using first = source.startActivity("First")!;
 * const work = source.startActivity("Work", { root: true })!;
 * work.setTag("a", 1).setTag("b", 2).setTag("a", 3).setTag("b", null); // set, replace, remove
 * work.addTag("retry", 1).addTag("retry", 2); // appended, even for a key already there
 * assert.deepEqual(work.tags, [["a", 3], ["retry", 1], ["retry", 2]]);
 * assert.equal(work.getTagItem("retry"), 1);
 * work.addEvent("validated", { tags: { step: 1 } }).recordException(new RangeError("Too big"));
 * assert.equal(work.events[0]?.name, "validated");
 * assert.deepEqual(work.events[1]?.tags.slice(0, 2), [
 *   ["exception.type", "RangeError"],
 *   ["exception.message", "Too big"],
 * ]);
 * work.setStatus("error", "Payment failed").addLink(new ActivityLink(first.context));
 * assert.equal(work.statusDescription, "Payment failed");
 * assert.equal(work.links[0]?.context.spanId, first.spanId);
 * work.stop();
 * work.stop();
 * assert.ok(work.isStopped && work.durationTicks >= 1);
 * ```
 *
 * @example Baggage: an activity's own items first, newest first, then its parent's
 * ```ts
 * import { ActivitySource, createTracerProviderBuilder } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * using _provider = createTracerProviderBuilder().addSource("App").build();
 * const source = new ActivitySource("App");
 * using parent = source.startActivity("Parent")!;
 * parent.addBaggage("tenant", "acme");
 * using child = source.startActivity("Child", { parent })!;
 * child.addBaggage("k", "1").addBaggage("k", "2"); // added, even for a key already there
 * child.setBaggage("a", "1").setBaggage("b", "2").setBaggage("a", "3").setBaggage("b", null);
 * assert.deepEqual(child.baggage, [["a", "3"], ["k", "2"], ["k", "1"], ["tenant", "acme"]]);
 * assert.equal(child.getBaggageItem("tenant"), "acme");
 * assert.equal(child.getBaggageItem("missing"), undefined);
 * for (let i = 0; i < 200; i++) child.addBaggage(`n${i}`, "v"); // 180 own items at most
 * assert.equal(child.droppedBaggageCount, 23);
 * ```
 */
export class Activity {
  static {
    isActivity = (value): value is Activity =>
      typeof value === "object" && value !== null && #spanId in value;
    create = (init) => {
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
      const tags = init.tags;
      if (tags.length > 0) {
        const kept = limitTags(tags, init.limits.tagCount, init.limits.tagValueLength);
        a.#tags = kept.tags;
        a.#droppedTags = kept.dropped;
      }
      const links = init.links;
      if (links !== undefined) a.#pushLinks(links);
      a.#droppedLinks += init.droppedLinks;
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
  #tags: [string, unknown][] | undefined;
  #droppedTags = 0;
  #events: ActivityEvent[] | undefined;
  #droppedEvents = 0;
  #links: ActivityLink[] | undefined;
  #droppedLinks = 0;
  #status: ActivityStatusCode = "unset";
  #statusDescription: string | undefined;
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
    return current.get();
  }

  /**
   * Not assignable: assigning throws a `TypeError` that says what to write instead. .NET code
   * sets `Activity.Current` and restores it; here the current activity changes only for a
   * callback, so `Activity.Current = null` becomes `Activity.run(null, fn)` or
   * `startActivity(name, { root: true })`, and `Activity.Current = a` becomes
   * `Activity.run(a, fn)`.
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
   * activities started inside become roots of new traces. The activity is not stopped.
   *
   * A value that is not an activity is ignored (and reported once): `fn` then runs with the
   * current activity unchanged.
   *
   * @param activity The activity to make current, or `null`/`undefined` for none.
   * @param fn The callback.
   * @returns What `fn` returns (a promise stays a promise).
   * @throws {TypeError} When `fn` is not a function (there is nothing to run); what `fn`
   * throws is rethrown.
   */
  static run<R>(activity: Activity | null | undefined, fn: () => R): R {
    if (typeof fn !== "function") {
      throw new TypeError(`Cannot run: fn must be a function, got ${typeof fn}`);
    }
    if (activity === null || activity === undefined) return current.run(undefined, fn);
    if (isActivity(activity)) return current.run(activity, fn);
    reportUnusable(
      "Activity.run()",
      new TypeError(
        `Cannot make ${
          typeof activity === "object" ? "an object that is not an Activity" : typeof activity
        } current: the callback runs with the current activity unchanged`,
      ),
    );
    return fn();
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
    return this.#tags ?? EMPTY;
  }

  /** The events, in the order added. */
  get events(): readonly ActivityEvent[] {
    return this.#events ?? EMPTY_EVENTS;
  }

  /** The links, those given at start first. */
  get links(): readonly ActivityLink[] {
    return this.#links ?? EMPTY_LINKS;
  }

  /** Tags dropped by the tag limit. */
  get droppedTagCount(): number {
    return this.#droppedTags;
  }

  /** Events dropped by the event limit. */
  get droppedEventCount(): number {
    return this.#droppedEvents;
  }

  /** Links dropped by the link limit. */
  get droppedLinkCount(): number {
    return this.#droppedLinks;
  }

  /** The status code. */
  get status(): ActivityStatusCode {
    return this.#status;
  }

  /** The status description (kept only for `"error"`), or `undefined`. */
  get statusDescription(): string | undefined {
    return this.#statusDescription;
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
    if (!this.#writable() || typeof key !== "string") return this;
    const tags = this.#tags;
    if (tags === undefined) {
      // The first tag: a list of exactly one, not an empty array grown to a default capacity.
      if (value === null || value === undefined) return this;
      if (this.#limits.tagCount > 0) {
        this.#tags = [[key, cleanValue(value, this.#limits.tagValueLength)]];
      } else {
        this.#droppedTags++;
      }
      return this;
    }
    const i = tagPosition(tags, key);
    if (value === null || value === undefined) {
      if (i >= 0) {
        tags.splice(i, 1);
        tagRemoved(tags);
      }
      return this;
    }
    const v = cleanValue(value, this.#limits.tagValueLength);
    if (i >= 0) {
      tags[i] = [key, v];
    } else if (tags.length < this.#limits.tagCount) {
      tagAppended(tags, key);
      tags.push([key, v]);
    } else {
      this.#droppedTags++;
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
    if (!this.#writable() || typeof key !== "string") return this;
    const tags = this.#tags ??= [];
    if (tags.length < this.#limits.tagCount) {
      tagAppended(tags, key);
      tags.push([key, cleanValue(value, this.#limits.tagValueLength)]);
    } else {
      this.#droppedTags++;
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
    const tags = this.#tags;
    const i = tags === undefined ? -1 : tagPosition(tags, key);
    return i < 0 ? undefined : tags![i]![1];
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
    if ((this.#events?.length ?? 0) >= this.#limits.eventCount) {
      this.#droppedEvents++;
      return this;
    }
    const input = readEventOptions(options, "Activity.addEvent()");
    this.#pushEvent(name, input.timestamp, input.tags);
    return this;
  }

  /** Adds an event, within the event limit, from options read once. */
  #pushEvent(name: string, timestamp: unknown, list: [string, unknown][]): void {
    const events = this.#events ??= [];
    if (events.length >= this.#limits.eventCount) {
      this.#droppedEvents++;
      return;
    }
    let ticks: number | undefined;
    if (timestamp !== undefined) ticks = toTicks(this.#time, timestamp);
    ticks ??= nowTicks(this.#time);
    const kept = limitTags(list, this.#limits.eventTagCount, this.#limits.tagValueLength);
    events.push(Object.freeze({
      name,
      timeUnixNano: unixNano(this.#time, ticks),
      tags: Object.freeze(kept.tags),
      droppedTagCount: kept.dropped,
    }));
  }

  /**
   * Adds a link after start. Samplers see only the links given at start, so prefer those.
   *
   * @param link The link.
   * @returns The activity, for chaining.
   */
  addLink(link: ActivityLink): this {
    if (this.#writable()) this.#pushLink(link, "Activity.addLink()");
    return this;
  }

  /** Adds the links given at start (the source has applied the link limit to the list). */
  #pushLinks(links: readonly ActivityLink[]): void {
    try {
      for (let i = 0; i < links.length; i++) {
        this.#pushLink(links[i], "ActivitySource.startActivity() links");
      }
    } catch (error) {
      reportUnusable("ActivitySource.startActivity() links", error);
    }
  }

  /**
   * Adds a link within the limits. Anything but an `ActivityLink` whose context and tags can
   * be read is ignored, and reported once.
   */
  #pushLink(link: unknown, where: string): void {
    let kept: ActivityLink;
    try {
      kept = keptLink(link, this.#limits.linkTagCount, this.#limits.tagValueLength);
    } catch (error) {
      reportUnusable(where, error);
      return;
    }
    const links = this.#links;
    if ((links === undefined ? 0 : links.length) >= this.#limits.linkCount) {
      this.#droppedLinks++;
      return;
    }
    // The first link: a list of exactly one, not an empty array grown to a default capacity.
    if (links === undefined) this.#links = [kept];
    else links.push(kept);
  }

  /**
   * Sets the status. A description is kept only for `"error"`.
   *
   * @param code `"unset"`, `"ok"` or `"error"`; other values are ignored.
   * @param description Why it failed (for `"error"`).
   * @returns The activity, for chaining.
   */
  setStatus(code: ActivityStatusCode, description?: string): this {
    if (!this.#writable()) return this;
    if (code !== "unset" && code !== "ok" && code !== "error") return this;
    this.#status = code;
    this.#statusDescription =
      code === "error" && typeof description === "string" && description !== ""
        ? description
        : undefined;
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
    if ((this.#events?.length ?? 0) >= this.#limits.eventCount) {
      this.#droppedEvents++;
      return this;
    }
    const tags = exceptionTags(error);
    const input = readEventOptions(options, "Activity.recordException()");
    for (let i = 0; i < input.tags.length; i++) tags.push(input.tags[i]!);
    this.#pushEvent("exception", input.timestamp, tags);
    return this;
  }

  // Baggage, as .NET's Activity has it: each activity keeps its own items, newest first, and
  // sees its parents' after its own. Baggage is propagation data, so it is kept also when
  // listeners asked only for propagation data; after stop, changes are ignored. The own items
  // are kept oldest first, so that adding one is a push.
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
    for (const a of this.#lineage()) pushOwnBaggage(out, a.#baggage);
    return out;
  }

  /** This activity, then its in-process parents up to the root. */
  *#lineage(): Generator<Activity> {
    yield this;
    for (let a = this.#parent; a !== undefined; a = a.#parent) yield a;
  }

  /**
   * Returns the value of a baggage item: this activity's own first, then its parents'
   * (.NET `GetBaggageItem`).
   *
   * @param key The item's key.
   * @returns The value, or `undefined` when no activity in the chain has the key.
   */
  getBaggageItem(key: string): string | undefined {
    for (const a of this.#lineage()) {
      const value = ownBaggageItem(a.#baggage, key);
      if (value !== undefined) return value;
    }
    return undefined;
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
    let end: number | undefined;
    if (options !== undefined && options !== null) {
      let endTime: unknown;
      try {
        endTime = options.endTime;
      } catch (error) {
        reportUnusable("Activity.stop() option endTime", error);
      }
      if (endTime !== undefined) end = toTicks(this.#time, endTime);
    }
    end ??= nowTicks(this.#time);
    const start = this.#startTicks;
    if (!(end > start)) {
      // At least one tick; more for an instant so far from the clock's origin (decades) that
      // the next tick is not a distinct number.
      end = start + 1;
      if (end === start) end = start + Math.abs(start) * Number.EPSILON;
    }
    this.#endTicks = end === RUNNING ? end + 1 : end;
    notifyEach(this.#listeners, callStopped, this, reporter, "ActivityListener.activityStopped");
  }

  /** Stops the activity, so `using activity = source.startActivity(...)` works. */
  [Symbol.dispose](): void {
    this.stop();
  }
}

const EMPTY: TagList = Object.freeze([]);
const EMPTY_EVENTS: readonly ActivityEvent[] = Object.freeze([]);
const EMPTY_LINKS: readonly ActivityLink[] = Object.freeze([]);

function callStopped(listener: ActivityStopListener, activity: Activity): void {
  listener.activityStopped?.(activity);
}
