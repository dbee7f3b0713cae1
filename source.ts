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
  type ActivityKind,
  type ActivityLimits,
  createActivity,
  DEFAULT_LIMITS,
  isActivityObject,
} from "./activity.ts";
import { ActivityContext, type ActivityLink, cleanTraceState } from "./links.ts";
import {
  type IdGenerator,
  isValidSpanId,
  isValidTraceId,
  randomIdGenerator,
  TRACE_FLAG_RANDOM_TRACE_ID,
  TRACE_FLAG_RECORDED,
} from "./ids.ts";
import {
  type Clock,
  DEFAULT_TIME_BASE,
  nowTicks,
  type TimeBase,
  timeBase,
  toTicks,
} from "./_time.ts";
import { type TagList, type Tags, toTagList } from "./tags.ts";
import { ReportOnce, reportToLiveHandlers, reportUnusable } from "./_diagnostics.ts";
import { safeString } from "./_format.ts";
import { isPromiseLike } from "./_promise.ts";

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
export interface ActivityListener {
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

const KINDS = new Set<string>(["internal", "server", "client", "producer", "consumer"]);
const EMPTY_LINKS: readonly ActivityLink[] = Object.freeze([]);
// Start tags when none are given: shared, never written (an activity keeps only a list with tags).
const NO_TAGS = Object.freeze([]) as unknown as [string, unknown][];

const START = "ActivitySource.startActivity()";

const allListeners: ActivityListener[] = [];
const allSources = new Set<ActivitySource>();
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
export class ActivitySource {
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
    const clock = opts.clock;
    if (
      clock !== undefined && (typeof clock.now !== "function" || !Number.isFinite(clock.timeOrigin))
    ) {
      throw new TypeError(
        "Cannot make ActivitySource: clock must have a finite timeOrigin and a now() function",
      );
    }
    const ids = opts.idGenerator;
    if (
      ids !== undefined &&
      (typeof ids.newTraceId !== "function" || typeof ids.newSpanId !== "function")
    ) {
      throw new TypeError(
        "Cannot make ActivitySource: idGenerator must have newTraceId() and newSpanId()",
      );
    }
    this.name = name;
    this.version = opts.version === "" ? undefined : opts.version;
    this.tags = Object.freeze(toTagList(opts.tags, "source"));
    this.#time = clock ? timeBase(clock) : DEFAULT_TIME_BASE;
    this.#ids = ids === undefined ? randomIdGenerator : checkedIds(ids);
    allSources.add(this);
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
      for (const source of allSources) source.#consider(listener);
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
    for (const source of allSources) source.#drop(listener);
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
    this.#limits = mergeLimits(listeners);
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

  #start(
    listeners: readonly ActivityListener[],
    name: string,
    options: StartActivityOptions | undefined,
  ): Activity | undefined {
    if (typeof name !== "string") name = safeString(name);

    let kind: ActivityKind = "internal";
    let parentActivity: Activity | undefined;
    let parentContext: ActivityContext | undefined;
    let links: readonly ActivityLink[] = EMPTY_LINKS;
    let droppedLinks = 0;
    let tags: [string, unknown][] = NO_TAGS;
    let startTicks: number | undefined;
    if (options !== undefined && options !== null) {
      // Each option is read once, inside a guard: one that cannot be read counts as not given.
      // The reads are written out: through a helper taking the name they would be megamorphic.
      let givenKind: StartActivityOptions["kind"];
      try {
        givenKind = options.kind;
      } catch (error) {
        reportUnusable(`${START} option kind`, error);
      }
      if (givenKind !== undefined) {
        kind = KINDS.has(givenKind) ? givenKind : this.#kindOf(givenKind);
      }
      let parent: StartActivityOptions["parent"];
      try {
        parent = options.parent;
      } catch (error) {
        reportUnusable(`${START} option parent`, error);
      }
      if (parent === undefined || parent === null) {
        let root: boolean | undefined;
        try {
          root = options.root;
        } catch (error) {
          reportUnusable(`${START} option root`, error);
        }
        if (root !== true) parentActivity = Activity.current;
      } else if (isActivityObject(parent)) {
        parentActivity = parent;
      } else {
        parentContext = this.#parentContext(parent);
      }
      let givenLinks: StartActivityOptions["links"];
      try {
        givenLinks = options.links;
      } catch (error) {
        reportUnusable(`${START} option links`, error);
      }
      if (givenLinks !== undefined) {
        const limit = this.#limits.linkCount;
        try {
          if (!Array.isArray(givenLinks)) {
            throw new TypeError(`Cannot read links: expected an array, got ${typeof givenLinks}`);
          }
          links = givenLinks;
          // Samplers and the activity see the links within the limit; the rest is counted.
          if (links.length > limit) {
            droppedLinks = links.length - limit;
            links = links.slice(0, limit);
          }
        } catch (error) {
          links = EMPTY_LINKS;
          reportUnusable("ActivitySource.startActivity() option links", error);
        }
      }
      let givenTags: StartActivityOptions["tags"];
      try {
        givenTags = options.tags;
      } catch (error) {
        reportUnusable(`${START} option tags`, error);
      }
      if (givenTags !== undefined) {
        try {
          tags = toTagList(givenTags, "start");
        } catch (error) {
          reporter.report(this, error, `ActivitySource.startActivity("${name}") tags`);
        }
      }
      let startTime: StartActivityOptions["startTime"];
      try {
        startTime = options.startTime;
      } catch (error) {
        reportUnusable(`${START} option startTime`, error);
      }
      if (startTime !== undefined) startTicks = toTicks(this.#time, startTime);
    } else {
      parentActivity = Activity.current;
    }

    let traceId: string;
    let parentSpanId: string | undefined;
    let parentFlags: number;
    let traceState: string | undefined;
    if (parentActivity !== undefined) {
      traceId = parentActivity.traceId;
      parentSpanId = parentActivity.spanId;
      parentFlags = parentActivity.traceFlags;
      traceState = parentActivity.traceState;
    } else if (parentContext !== undefined) {
      traceId = parentContext.traceId;
      parentSpanId = parentContext.spanId;
      parentFlags = parentContext.traceFlags;
      traceState = parentContext.traceState;
    } else {
      traceId = this.#ids.newTraceId();
      parentFlags = TRACE_FLAG_RANDOM_TRACE_ID;
    }

    // Listeners without sample() answer "none": nothing to start.
    if (!this.#samples) return undefined;
    const creation: ActivityCreationOptions = {
      source: this,
      name,
      kind,
      parent: parentActivity !== undefined ? parentActivity.context : parentContext,
      traceId,
      tags,
      links,
      samplingTags: [],
      traceState,
    };
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
    if (result === 0) return undefined;
    const samplingTags = creation.samplingTags;
    // The parent's trace state is clean already; only one a sampler set needs cleaning.
    if (creation.traceState !== traceState) {
      traceState = typeof creation.traceState === "string"
        ? cleanTraceState(creation.traceState)
        : undefined;
    }
    if (samplingTags.length > 0) {
      const added = checkedPairs(samplingTags);
      tags = tags === NO_TAGS ? added : [...tags, ...added];
    }

    const flags = (parentFlags & TRACE_FLAG_RANDOM_TRACE_ID) |
      (result === 3 ? TRACE_FLAG_RECORDED : 0);
    const activity = createActivity({
      source: this,
      name,
      kind,
      traceId,
      spanId: this.#ids.newSpanId(),
      parentSpanId,
      parent: parentActivity,
      hasRemoteParent: parentContext !== undefined && parentContext.isRemote,
      traceFlags: flags,
      traceState,
      allData: result >= 2,
      tags: result >= 2 ? tags : NO_TAGS,
      links: result >= 2 ? links : undefined,
      droppedLinks: result >= 2 ? droppedLinks : 0,
      startTicks: startTicks ?? nowTicks(this.#time),
      time: this.#time,
      limits: this.#limits,
      listeners,
    });
    for (let i = 0; i < listeners.length; i++) {
      const listener = listeners[i]!;
      if (listener.activityStarted === undefined) continue;
      try {
        listener.activityStarted(activity);
      } catch (error) {
        reporter.report(listener, error, "ActivityListener.activityStarted");
      }
    }
    return activity;
  }

  /** The kind of a kind given in another case, else `"internal"` (reported once). */
  #kindOf(kind: unknown): ActivityKind {
    const lower = typeof kind === "string" ? kind.toLowerCase() : undefined;
    if (lower !== undefined && KINDS.has(lower)) return lower as ActivityKind;
    reportUnusable(
      "ActivitySource.startActivity() option kind",
      new TypeError(
        `Cannot use kind ${
          typeof kind === "string" ? JSON.stringify(kind.slice(0, 40)) : typeof kind
        }: expected one of internal, server, client, producer, consumer; "internal" is used`,
      ),
    );
    return "internal";
  }

  /**
   * The context of a parent given as a context or a traceparent string; `undefined` (a new
   * trace) for anything else, reported once.
   */
  #parentContext(parent: unknown): ActivityContext | undefined {
    let problem: string;
    try {
      if (typeof parent === "string") {
        // parse, not tryParse: its message says what is wrong with the text.
        return ActivityContext.parse(parent);
      }
      if (parent instanceof ActivityContext) {
        // A context made by the constructor is frozen and checked; anything else made to look
        // like one is copied through the constructor, which checks it, so that children never
        // get bad ids.
        if (
          Object.isFrozen(parent) && isValidTraceId(parent.traceId) && isValidSpanId(parent.spanId)
        ) {
          return parent;
        }
        return new ActivityContext(parent.traceId, parent.spanId, {
          traceFlags: parent.traceFlags,
          traceState: parent.traceState,
          isRemote: parent.isRemote,
        });
      }
      problem =
        `Cannot use parent: expected an Activity, an ActivityContext or a traceparent string, got ${
          typeof parent === "object" ? "another object" : typeof parent
        }`;
    } catch (error) {
      problem = messageOf(error);
    }
    reportUnusable(
      "ActivitySource.startActivity() option parent",
      new TypeError(`${problem}; the activity starts a new trace`),
    );
    return undefined;
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
    return Activity.run(activity, () => {
      let result: R;
      try {
        result = fn(activity);
      } catch (error) {
        fail(activity, error);
        throw error;
      }
      if (isPromiseLike(result)) {
        // Promise.resolve also covers thenables whose then() returns nothing or throws; it
        // throws itself only for a promise whose `constructor` cannot be read, which a
        // promise's resolve function does not look at.
        let settled: Promise<unknown>;
        try {
          settled = Promise.resolve(result);
        } catch {
          settled = new Promise((resolve) => resolve(result));
        }
        return settled.then(
          (value) => {
            activity.stop();
            return value;
          },
          (error: unknown) => {
            fail(activity, error);
            throw error;
          },
        ) as R;
      }
      activity.stop();
      return result;
    });
  }

  /** Unregisters the source: it starts no more activities. */
  [Symbol.dispose](): void {
    allSources.delete(this);
    this.#setListeners([]);
  }
}

/**
 * Wraps a caller's id generator: an id it gets wrong (or a throw) is replaced by a random one
 * and reported once, so that no activity carries an id that a context or a child rejects.
 */
function checkedIds(ids: IdGenerator): IdGenerator {
  const replace = (error: unknown, random: () => string): string => {
    reporter.report(ids, error, "ActivitySource idGenerator");
    return random();
  };
  return {
    newTraceId(): string {
      let id: unknown;
      try {
        id = ids.newTraceId();
      } catch (error) {
        return replace(error, randomIdGenerator.newTraceId);
      }
      if (isValidTraceId(id)) return id;
      return replace(
        new TypeError(
          `Cannot use trace id ${safeString(id)}: not 32 lowercase hex digits, not all zeros`,
        ),
        randomIdGenerator.newTraceId,
      );
    },
    newSpanId(): string {
      let id: unknown;
      try {
        id = ids.newSpanId();
      } catch (error) {
        return replace(error, randomIdGenerator.newSpanId);
      }
      if (isValidSpanId(id)) return id;
      return replace(
        new TypeError(
          `Cannot use span id ${safeString(id)}: not 16 lowercase hex digits, not all zeros`,
        ),
        randomIdGenerator.newSpanId,
      );
    },
  };
}

/** The `[key, value]` pairs of a list a sampler wrote to, skipping anything else. */
function checkedPairs(list: readonly unknown[]): [string, unknown][] {
  const out: [string, unknown][] = [];
  try {
    for (let i = 0; i < list.length; i++) {
      const pair = list[i];
      if (Array.isArray(pair) && typeof pair[0] === "string") out.push([pair[0], pair[1]]);
    }
  } catch (error) {
    reportUnusable("ActivityCreationOptions.samplingTags", error);
  }
  return out;
}

/** The message of an error, never throwing. */
function messageOf(error: unknown): string {
  try {
    return error instanceof Error ? error.message : safeString(error);
  } catch {
    return "[unreadable error]";
  }
}

function fail(activity: Activity, error: unknown): void {
  activity.recordException(error);
  let description: string | undefined;
  try {
    description = error instanceof Error ? error.message : safeString(error);
  } catch {
    // A hostile error object: the status is set without a description.
  }
  activity.setStatus("error", description);
  activity.stop();
}

/** The most generous of the listeners' limits, a limit a listener leaves out being the default. */
function mergeLimits(listeners: readonly ActivityListener[]): ActivityLimits {
  let merged: { -readonly [K in keyof ActivityLimits]: number } | undefined;
  for (const listener of listeners) {
    const limits = listener.limits;
    if (limits === undefined) continue;
    const first = merged === undefined;
    merged ??= { ...DEFAULT_LIMITS };
    for (const key of Object.keys(DEFAULT_LIMITS) as (keyof ActivityLimits)[]) {
      const value = limits[key] ?? DEFAULT_LIMITS[key];
      merged[key] = first ? value : Math.max(merged[key], value);
    }
  }
  return merged === undefined ? DEFAULT_LIMITS : Object.freeze(merged);
}
