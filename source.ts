/**
 * {@linkcode ActivitySource}: where activities start, and {@linkcode ActivityListener}: who
 * decides whether they are made and recorded, with .NET's four sampling results.
 *
 * @example A listener of your own
 * ```ts
 * import { ActivitySource } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * const names: string[] = [];
 * using _registration = ActivitySource.addActivityListener({
 *   shouldListenTo: (source) => source.name === "Audit",
 *   sample: () => "allDataAndRecorded",
 *   activityStopped: (activity) => names.push(activity.displayName),
 * });
 * const source = new ActivitySource("Audit");
 * source.startActivity("Login")?.stop();
 * assert.deepEqual(names, ["Login"]);
 * ```
 *
 * @module
 */

import {
  Activity,
  type ActivitySourceInfo,
  type ActivityStopListener,
  createActivity,
  isActivityObject,
} from "./activity.ts";
import type { ActivityContext, ActivityLink } from "./links.ts";
import {
  checkedIdGenerator,
  type IdGenerator,
  randomIdGenerator,
  TRACE_FLAG_RANDOM_TRACE_ID,
  TRACE_FLAG_RECORDED,
} from "./ids.ts";
import type { ActivityKind } from "./kind.ts";
import { type ActivityLimits, DEFAULT_LIMITS, mergeLimits } from "./limits.ts";
import { type TagList, type Tags, toTagList } from "./tags.ts";
import { type Clock, nowTicks, type TimeBase, timeBaseOf } from "./_time.ts";
import { ReportOnce, reportToLiveHandlers, reportUnusable } from "./_diagnostics.ts";
import { safeString } from "./_format.ts";
import { shared } from "./_registry.ts";
import { current } from "./_current.ts";
import { denoTracing } from "./_deno_telemetry.ts";
import { notifyEach } from "./_notify.ts";
import {
  NO_OPTIONS,
  NO_TAGS,
  parentOfCurrent,
  readStartOptions,
  runActive,
  samplerTraceState,
  type StartOptions,
  withSamplingTags,
} from "./_start.ts";

/**
 * A listener's answer for an activity about to start, as in .NET:
 * - `"none"`: do not create it (`startActivity` returns `undefined`);
 * - `"propagationData"`: create it so its ids propagate, but keep no data and do not record it;
 * - `"allData"`: keep its data, but do not record it (trace flag `0x01` clear);
 * - `"allDataAndRecorded"`: keep its data and record it, so exporters receive it.
 *
 * The highest answer over all listeners wins.
 */
export type ActivitySamplingResult = "none" | "propagationData" | "allData" | "allDataAndRecorded";

const RANK: Record<ActivitySamplingResult, number> = {
  none: 0,
  propagationData: 1,
  allData: 2,
  allDataAndRecorded: 3,
};
const ALL_DATA = RANK.allData;
const ALL_DATA_AND_RECORDED = RANK.allDataAndRecorded;

/**
 * What a listener's `sample` sees of an activity about to start. A sampler may add tags
 * (`samplingTags`) and change the trace state the activity starts with (`traceState`).
 */
export interface ActivityCreationOptions {
  /** The source starting the activity. */
  readonly source: ActivitySource;
  /** The activity's name. */
  readonly name: string;
  /** The activity's kind. */
  readonly kind: ActivityKind;
  /** The parent context, or `undefined` for a new root. */
  readonly parent: ActivityContext | undefined;
  /** The trace id the activity will have (the parent's, or a new random one). */
  readonly traceId: string;
  /** The tags given at start. */
  readonly tags: TagList;
  /** The links given at start. */
  readonly links: readonly ActivityLink[];
  /** Tags to add to the activity; a sampler may push to it. */
  readonly samplingTags: [string, unknown][];
  /** The trace state the activity will start with; a sampler may change it. */
  traceState: string | undefined;
}

/**
 * Hears about activities, as .NET's `ActivityListener`. Register one with
 * {@linkcode ActivitySource.addActivityListener}. A tracer provider is such a listener.
 */
export interface ActivityListener extends ActivityStopListener {
  /**
   * Whether to listen to a source. When absent, the listener listens to every source.
   */
  shouldListenTo?(source: ActivitySource): boolean;
  /** Decides for an activity about to start; when absent, the answer is `"none"`. */
  sample?(options: ActivityCreationOptions): ActivitySamplingResult;
  /** Called after an activity of a listened source started. */
  activityStarted?(activity: Activity): void;
  /** Called after an activity of a listened source stopped. */
  activityStopped?(activity: Activity): void;
  /**
   * Limits this listener asks for; an activity keeps the most generous limits of the
   * listeners of its source.
   */
  readonly limits?: Partial<ActivityLimits>;
}

/** The handle {@linkcode ActivitySource.addActivityListener} returns. */
export interface ListenerRegistration {
  /** Stops the listener from hearing about new activities. */
  remove(): void;
  /** The same as `remove`, for `using`. */
  [Symbol.dispose](): void;
}

/** Options of the {@linkcode ActivitySource} constructor. */
export interface ActivitySourceOptions {
  /**
   * The source's version (the instrumentation scope's version).
   * @default {undefined}
   */
  version?: string;
  /**
   * Tags of the source (the instrumentation scope's attributes).
   * @default {undefined}
   */
  tags?: Tags;
  /**
   * The clock for start, stop and event times: `timeOrigin` in epoch ms and a monotonic
   * `now()` in ms, like `performance`.
   * @default {performance}
   */
  clock?: Clock;
  /**
   * The generator of trace and span ids. An id it gets wrong (or a throw) is replaced by a
   * random one, and reported once.
   * @default {randomIdGenerator}
   */
  idGenerator?: IdGenerator;
}

/** Options of {@linkcode ActivitySource.startActivity}. */
export interface StartActivityOptions {
  /**
   * The activity's kind. Any case is accepted (`"Server"`, as .NET's `ActivityKind.Server`,
   * is `"server"`); an unknown kind is reported once and taken as `"internal"`.
   * @default {"internal"}
   */
  kind?: ActivityKind;
  /**
   * The parent: a context (for example one extracted from a request), an activity, or a W3C
   * `traceparent` string (as .NET's `StartActivity(name, kind, parentId)`), which is parsed into
   * a remote context. When absent (or `null`), the parent is the current activity, unless
   * `root` is true. A parent that cannot be used (a malformed traceparent, any other value) is
   * reported once and the activity starts a new trace, as W3C Trace Context asks for a
   * malformed `traceparent`: it is not attached to the current activity.
   * @default {Activity.current}
   */
  parent?: ActivityContext | Activity | string;
  /**
   * Start a new trace even when there is a current activity (the guide's fan-out).
   * @default {false}
   */
  root?: boolean;
  /**
   * Tags given at start; samplers see them.
   * @default {undefined}
   */
  tags?: Tags;
  /**
   * Links given at start; samplers see them.
   * @default {undefined}
   */
  links?: readonly ActivityLink[];
  /**
   * The start time (a `Date` or epoch milliseconds).
   * @default {now}
   */
  startTime?: Date | number;
}

const START = "ActivitySource.startActivity()";

/** What the set of all sources keeps of a source: how to tell it of a listener. */
interface SourceEntry {
  readonly source: ActivitySource;
  consider(listener: ActivityListener): void;
  drop(listener: ActivityListener): void;
}

// Shared by every copy of the module in the program: a provider made with one copy listens to
// the sources of the others.
const allListeners = shared<ActivityListener[]>("listeners", () => []);
const allSources = shared("sources", () => new Set<SourceEntry>());
const reporter = new ReportOnce(reportToLiveHandlers);

/**
 * Where activities start, as .NET's `ActivitySource`: one per library or component, named so
 * that a tracer provider can choose to listen to it.
 *
 * @example The guide's source
 * ```ts
 * import { ActivitySource } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * const source = new ActivitySource("MyCompany.MyApplication", "1.0.0");
 * assert.equal(source.startActivity("Nobody listens"), undefined);
 * ```
 */
export class ActivitySource implements ActivitySourceInfo {
  /** The source's name. */
  readonly name: string;
  /** The source's version, or `undefined`. */
  readonly version: string | undefined;
  /** The source's tags (instrumentation scope attributes). */
  readonly tags: TagList;
  #listeners: readonly ActivityListener[] = [];
  #limits: ActivityLimits = DEFAULT_LIMITS;
  #samples = false;
  readonly #time: TimeBase;
  readonly #ids: IdGenerator;
  readonly #entry: SourceEntry;

  /**
   * Makes a source and lets the registered listeners decide whether to listen to it.
   *
   * @param name The source's name, such as `"MyCompany.MyApplication"`.
   * @param options The version (a string), or options with version, tags, clock and ids.
   * @throws {TypeError} When the name is not a non-empty string or an option has the wrong
   * shape.
   */
  constructor(name: string, options?: string | ActivitySourceOptions) {
    if (typeof name !== "string" || name === "") {
      throw new TypeError("Cannot make ActivitySource: name must be a non-empty string");
    }
    const opts: ActivitySourceOptions = typeof options === "string"
      ? { version: options }
      : options ?? {};
    if (typeof opts !== "object") {
      throw new TypeError(
        "Cannot make ActivitySource: options must be a version string or an object",
      );
    }
    if (opts.version !== undefined && typeof opts.version !== "string") {
      throw new TypeError("Cannot make ActivitySource: version must be a string");
    }
    const time = timeBaseOf(opts.clock, "Cannot make ActivitySource");
    const ids = opts.idGenerator;
    this.#ids = ids === undefined
      ? randomIdGenerator
      : checkedIdGenerator(ids, "Cannot make ActivitySource", (error) =>
        reporter.report(ids, error, "ActivitySource idGenerator"));
    this.name = name;
    this.version = opts.version === "" ? undefined : opts.version;
    this.tags = Object.freeze(toTagList(opts.tags, "source"));
    this.#time = time;
    this.#entry = {
      source: this,
      consider: (listener) => this.#consider(listener),
      drop: (listener) => this.#drop(listener),
    };
    allSources.add(this.#entry);
    for (const listener of allListeners) this.#consider(listener);
  }

  /**
   * Registers a listener with every source, present and future, as .NET's
   * `ActivitySource.AddActivityListener`.
   *
   * @param listener The listener.
   * @returns A handle whose `remove()` (or `using`) unregisters it.
   * @throws {TypeError} When the listener is not an object.
   *
   * @example
   * ```ts
   * import { ActivitySource } from "@tracelinks/activity";
   * import assert from "node:assert/strict";
   *
   * const source = new ActivitySource("Lib");
   * const registration = ActivitySource.addActivityListener({ sample: () => "propagationData" });
   * const activity = source.startActivity("Work");
   * assert.equal(activity?.isAllDataRequested, false);
   * registration.remove();
   * assert.equal(source.startActivity("Work"), undefined);
   * ```
   */
  static addActivityListener(listener: ActivityListener): ListenerRegistration {
    if (typeof listener !== "object" || listener === null) {
      throw new TypeError("Cannot add activity listener: expected an object");
    }
    if (!allListeners.includes(listener)) {
      allListeners.push(listener);
      for (const entry of [...allSources]) entry.consider(listener);
    }
    const remove = () => ActivitySource.removeActivityListener(listener);
    return { remove, [Symbol.dispose]: remove };
  }

  /**
   * Unregisters a listener; activities it already heard start still tell it when they stop.
   *
   * @param listener The listener.
   */
  static removeActivityListener(listener: ActivityListener): void {
    const at = allListeners.indexOf(listener);
    if (at < 0) return;
    allListeners.splice(at, 1);
    for (const entry of [...allSources]) entry.drop(listener);
  }

  #consider(listener: ActivityListener): void {
    let listens = true;
    if (listener.shouldListenTo !== undefined) {
      try {
        listens = listener.shouldListenTo(this) === true;
      } catch (error) {
        listens = false;
        reporter.report(listener, error, "ActivityListener.shouldListenTo");
      }
    }
    if (listens) this.#setListeners([...this.#listeners, listener]);
  }

  #drop(listener: ActivityListener): void {
    if (this.#listeners.includes(listener)) {
      this.#setListeners(this.#listeners.filter((l) => l !== listener));
    }
  }

  #setListeners(listeners: readonly ActivityListener[]): void {
    this.#listeners = Object.freeze(listeners);
    this.#samples = listeners.some((l) => l.sample !== undefined);
    this.#limits = mergeLimits(listeners.map((listener) => listener.limits));
  }

  /**
   * Whether any listener listens to this source.
   *
   * @returns `true` when at least one listener listens.
   */
  hasListeners(): boolean {
    return this.#listeners.length > 0;
  }

  /**
   * Starts an activity, unless no listener samples it. The activity is not made current; use
   * {@linkcode ActivitySource.startActiveActivity} for that.
   *
   * @param name The activity's name.
   * @param options Kind, parent (or `root`), tags, links and start time.
   * @returns The started activity, or `undefined` when no listener samples it.
   *
   * @example A child of the current activity, and a new root
   * ```ts
   * import { ActivitySource, createTracerProviderBuilder } from "@tracelinks/activity";
   * import assert from "node:assert/strict";
   *
   * using _provider = createTracerProviderBuilder().addSource("App").build();
   * const source = new ActivitySource("App");
   * source.startActiveActivity("Parent", (parent) => {
   *   using child = source.startActivity("Child");
   *   using root = source.startActivity("Root", { root: true });
   *   assert.equal(child?.parentSpanId, parent?.spanId);
   *   assert.equal(root?.parentSpanId, undefined);
   * });
   * ```
   */
  startActivity(name: string, options?: StartActivityOptions): Activity | undefined {
    // Kept small so that engines inline it: with nothing listening a call costs one check.
    const listeners = this.#listeners;
    return listeners.length === 0 ? undefined : this.#start(listeners, name, options);
  }

  /**
   * Reads the options and resolves the parent: the trace the activity joins (the parent's, or
   * a new one). Then samples.
   */
  #start(
    listeners: readonly ActivityListener[],
    name: string,
    options: StartActivityOptions | undefined,
  ): Activity | undefined {
    if (typeof name !== "string") name = safeString(name);
    const given = options === undefined || options === null
      ? NO_OPTIONS
      : readStartOptions(options, this.#time, this.#limits.linkCount, this, name);
    let parent = given.parentActivity;
    let remote = given.parentContext;
    if (given.useCurrent) {
      const value = current.get();
      if (isActivityObject(value)) parent = value;
      else if (value !== undefined || denoTracing) [parent, remote] = parentOfCurrent(value);
    }
    let traceId: string;
    let parentFlags: number;
    let traceState: string | undefined;
    if (parent !== undefined) {
      traceId = parent.traceId;
      parentFlags = parent.traceFlags;
      traceState = parent.traceState;
    } else if (remote !== undefined) {
      traceId = remote.traceId;
      parentFlags = remote.traceFlags;
      traceState = remote.traceState;
    } else {
      traceId = this.#ids.newTraceId();
      parentFlags = TRACE_FLAG_RANDOM_TRACE_ID;
    }
    // Listeners without sample() answer "none": nothing to start.
    if (!this.#samples) return undefined;
    return this.#sample(listeners, name, given, parent, remote, traceId, parentFlags, traceState);
  }

  /**
   * Asks the listeners what to do with the activity (the highest answer wins) and creates it
   * with what samplers added (tags, a trace state), or returns `undefined` when every listener
   * answers "none".
   */
  #sample(
    listeners: readonly ActivityListener[],
    name: string,
    given: StartOptions,
    parent: Activity | undefined,
    remote: ActivityContext | undefined,
    traceId: string,
    parentFlags: number,
    traceState: string | undefined,
  ): Activity | undefined {
    const creation: ActivityCreationOptions = {
      source: this,
      name,
      kind: given.kind,
      parent: parent !== undefined ? parent.context : remote,
      traceId,
      tags: given.tags,
      links: given.links,
      samplingTags: [],
      traceState,
    };
    const result = highestAnswer(listeners, creation);
    if (result === 0) return undefined;
    // The parent's trace state is clean already; only one a sampler set needs cleaning.
    if (creation.traceState !== traceState) traceState = samplerTraceState(creation.traceState);
    const tags = withSamplingTags(given.tags, creation.samplingTags);
    const allData = result >= ALL_DATA;
    const activity = createActivity({
      source: this,
      name,
      kind: given.kind,
      traceId,
      spanId: this.#ids.newSpanId(),
      parentSpanId: parent !== undefined ? parent.spanId : remote?.spanId,
      parent,
      hasRemoteParent: remote !== undefined && remote.isRemote,
      traceFlags: (parentFlags & TRACE_FLAG_RANDOM_TRACE_ID) |
        (result === ALL_DATA_AND_RECORDED ? TRACE_FLAG_RECORDED : 0),
      traceState,
      allData,
      tags: allData ? tags : NO_TAGS,
      links: allData ? given.links : undefined,
      droppedLinks: allData ? given.droppedLinks : 0,
      startTicks: given.startTicks ?? nowTicks(this.#time),
      time: this.#time,
      limits: this.#limits,
      listeners,
    });
    notifyEach(listeners, callStarted, activity, reporter, "ActivityListener.activityStarted");
    return activity;
  }

  /**
   * Starts an activity, makes it current for the callback, and stops it when the callback
   * returns or its promise settles. An exception is recorded (an `exception` event and status
   * `"error"`) and rethrown. When no listener samples the activity, the callback gets
   * `undefined` (and, with `root: true`, runs with no current activity).
   *
   * @param name The activity's name.
   * @param fn The callback; it receives the activity or `undefined`.
   * @returns What the callback returns (a promise stays a promise).
   *
   * @example
   * ```ts
   * import { Activity, ActivitySource, createTracerProviderBuilder } from "@tracelinks/activity";
   * import assert from "node:assert/strict";
   *
   * using _provider = createTracerProviderBuilder().addSource("App").build();
   * const source = new ActivitySource("App");
   * const answer = await source.startActiveActivity("Compute", async (activity) => {
   *   await Promise.resolve();
   *   assert.equal(Activity.current, activity);
   *   return 42;
   * });
   * assert.equal(answer, 42);
   * ```
   */
  startActiveActivity<R>(name: string, fn: (activity: Activity | undefined) => R): R;
  /**
   * Starts an activity with options, makes it current for the callback, and stops it when the
   * callback returns or its promise settles.
   *
   * @param name The activity's name.
   * @param options Kind, parent (or `root`), tags, links and start time.
   * @param fn The callback; it receives the activity or `undefined`.
   * @returns What the callback returns (a promise stays a promise).
   */
  startActiveActivity<R>(
    name: string,
    options: StartActivityOptions,
    fn: (activity: Activity | undefined) => R,
  ): R;
  startActiveActivity<R>(
    name: string,
    optionsOrFn: StartActivityOptions | ((activity: Activity | undefined) => R),
    maybeFn?: (activity: Activity | undefined) => R,
  ): R {
    const fn = typeof optionsOrFn === "function" ? optionsOrFn : maybeFn;
    const options = typeof optionsOrFn === "function" ? undefined : optionsOrFn;
    if (typeof fn !== "function") {
      throw new TypeError("Cannot start active activity: the last argument must be a function");
    }
    const activity = this.startActivity(name, options);
    if (activity === undefined) {
      let root: boolean | undefined;
      try {
        root = options?.root;
      } catch (error) {
        reportUnusable(`${START} option root`, error);
      }
      return root === true ? Activity.run(null, () => fn(undefined)) : fn(undefined);
    }
    return runActive(activity, fn);
  }

  /** Unregisters the source: it starts no more activities. */
  [Symbol.dispose](): void {
    allSources.delete(this.#entry);
    this.#setListeners([]);
  }
}

/** The highest rank of the listeners' answers; a listener that throws answers "none". */
function highestAnswer(
  listeners: readonly ActivityListener[],
  creation: ActivityCreationOptions,
): number {
  let result = 0;
  for (let i = 0; i < listeners.length; i++) {
    const listener = listeners[i]!;
    if (listener.sample === undefined) continue;
    let answer: ActivitySamplingResult;
    try {
      answer = listener.sample(creation);
    } catch (error) {
      reporter.report(listener, error, "ActivityListener.sample");
      continue;
    }
    const rank = RANK[answer];
    if (rank > result) result = rank;
  }
  return result;
}

function callStarted(listener: ActivityListener, activity: Activity): void {
  listener.activityStarted?.(activity);
}
