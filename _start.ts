// Reading the options of ActivitySource.startActivity(): each option is read once, inside a
// guard, so that one that cannot be read (a throwing getter, a revoked proxy) counts as not
// given and is reported once; a parent that cannot be used starts a new trace, as W3C Trace
// Context asks for a malformed traceparent.

import { Activity, isActivityObject } from "./activity.ts";
import {
  ActivityContext,
  type ActivityLink,
  cleanTraceState,
  isActivityContext,
  ownContext,
} from "./links.ts";
import { foreignCurrent, isForeignActivity } from "./_current.ts";
import { frameOf } from "./_frame.ts";
import { denoParent } from "./_deno_telemetry.ts";
import { isPromiseLike } from "./_promise.ts";
import { type ActivityKind, toActivityKind } from "./kind.ts";
import { toTagList } from "./tags.ts";
import { NO_TAGS as EMPTY_TAGS } from "./_activity_record.ts";
import { type TimeBase, toTicks } from "./_time.ts";
import { ReportOnce, reportToLiveHandlers, reportUnusable } from "./_diagnostics.ts";
import { safeString } from "./_format.ts";

const START = "ActivitySource.startActivity()";
const reporter = new ReportOnce(reportToLiveHandlers);

/** The options of `startActivity` as a caller gives them, each read as `unknown`. */
export interface StartInput {
  readonly kind?: unknown;
  readonly parent?: unknown;
  readonly root?: unknown;
  readonly tags?: unknown;
  readonly links?: unknown;
  readonly startTime?: unknown;
}

/** The options of `startActivity`, read and checked. */
export interface StartOptions {
  readonly kind: ActivityKind;
  /** Whether the parent is the current activity (no parent given, and not `root`). */
  readonly useCurrent: boolean;
  /** The parent given as an activity. */
  readonly parentActivity: Activity | undefined;
  /** The parent given as a context or a traceparent. */
  readonly parentContext: ActivityContext | undefined;
  /** The links within the link limit. */
  readonly links: readonly ActivityLink[];
  /** Links given beyond the link limit. */
  readonly droppedLinks: number;
  /** The tags given, as a list of the activity's own; {@linkcode NO_TAGS} when none. */
  readonly tags: [string, unknown][];
  /** The start time given, in ticks, or `undefined` for now. */
  readonly startTicks: number | undefined;
}

const EMPTY_LINKS: readonly ActivityLink[] = Object.freeze([]);

/**
 * Start tags when none are given: the activities' shared empty list, never written (an activity
 * keeps only a list with tags).
 */
export const NO_TAGS = EMPTY_TAGS as unknown as [string, unknown][];

/** What no options mean: an internal activity, a child of the current one, now. */
export const NO_OPTIONS: StartOptions = {
  kind: "internal",
  useCurrent: true,
  parentActivity: undefined,
  parentContext: undefined,
  links: EMPTY_LINKS,
  droppedLinks: 0,
  tags: NO_TAGS,
  startTicks: undefined,
};

/**
 * Reads the options of `startActivity` once each. `linkLimit` cuts the links (the rest are
 * counted); tags of a wrong shape are reported once per `source`.
 */
export function readStartOptions(
  options: StartInput,
  time: TimeBase,
  linkLimit: number,
  source: object,
  name: string,
): StartOptions {
  const kind = kindOf(options);
  const activityKind = kind === undefined
    ? "internal"
    : toActivityKind(kind, `${START} option kind`);
  const parent = parentOf(options);
  let useCurrent = false;
  let parentActivity: Activity | undefined;
  let parentContext: ActivityContext | undefined;
  if (parent === undefined || parent === null) useCurrent = rootOf(options) !== true;
  else if (isActivityObject(parent) || isForeignActivity(parent, Activity)) {
    parentActivity = parent as Activity;
  } else parentContext = parentContextOf(parent);
  const links = linksOf(options);
  const kept = links === undefined ? EMPTY_LINKS : linksWithin(links, linkLimit);
  // Links beyond the limit are counted; links of the wrong shape were reported.
  const dropped = kept === links || kept === EMPTY_LINKS
    ? 0
    : (links as readonly unknown[]).length - kept.length;
  const tags = tagsOf(options);
  const tagList = tags === undefined ? NO_TAGS : tagListOf(tags, source, name);
  const startTime = startTimeOf(options);
  return {
    kind: activityKind,
    useCurrent,
    parentActivity,
    parentContext,
    links: kept,
    droppedLinks: dropped,
    tags: tagList,
    startTicks: startTime === undefined ? undefined : toTicks(time, startTime),
  };
}

// One reader per option: each reads its option once, inside a guard, so that each property read
// stays monomorphic in its name (a reader taking the name would be megamorphic).

function kindOf(options: StartInput): unknown {
  try {
    return options.kind;
  } catch (error) {
    reportUnusable(`${START} option kind`, error);
    return undefined;
  }
}

function parentOf(options: StartInput): unknown {
  try {
    return options.parent;
  } catch (error) {
    reportUnusable(`${START} option parent`, error);
    return undefined;
  }
}

function rootOf(options: StartInput): unknown {
  try {
    return options.root;
  } catch (error) {
    reportUnusable(`${START} option root`, error);
    return undefined;
  }
}

function linksOf(options: StartInput): unknown {
  try {
    return options.links;
  } catch (error) {
    reportUnusable(`${START} option links`, error);
    return undefined;
  }
}

function tagsOf(options: StartInput): unknown {
  try {
    return options.tags;
  } catch (error) {
    reportUnusable(`${START} option tags`, error);
    return undefined;
  }
}

function startTimeOf(options: StartInput): unknown {
  try {
    return options.startTime;
  } catch (error) {
    reportUnusable(`${START} option startTime`, error);
    return undefined;
  }
}

/** The links given at start within the limit (the rest are counted by the caller). */
function linksWithin(links: unknown, limit: number): readonly ActivityLink[] {
  try {
    if (!Array.isArray(links)) {
      throw new TypeError(`Cannot read links: expected an array, got ${typeof links}`);
    }
    // Samplers and the activity see the links within the limit.
    return links.length <= limit ? links : links.slice(0, limit);
  } catch (error) {
    reportUnusable(`${START} option links`, error);
    return EMPTY_LINKS;
  }
}

function tagListOf(tags: unknown, source: object, name: string): [string, unknown][] {
  try {
    return toTagList(tags as Parameters<typeof toTagList>[0], "start");
  } catch (error) {
    reporter.report(source, error, `ActivitySource.startActivity("${name}") tags`);
    return NO_TAGS;
  }
}

/**
 * The context of a parent given as a context or a traceparent string; `undefined` (a new
 * trace) for anything else, reported once.
 */
function parentContextOf(parent: unknown): ActivityContext | undefined {
  let problem: string;
  try {
    if (typeof parent === "string") {
      // parse, not tryParse: its message says what is wrong with the text.
      return ActivityContext.parse(parent);
    }
    if (isActivityContext(parent)) {
      // A context made by the constructor is frozen and checked; anything else made to look
      // like one (or one of another copy of the module) is copied through the constructor,
      // which checks it, so that children never get bad ids.
      return ownContext(parent);
    }
    problem =
      `Cannot use parent: expected an Activity, an ActivityContext or a traceparent string, got ${
        typeof parent === "object" ? "another object" : typeof parent
      }`;
  } catch (error) {
    problem = messageOf(error);
  }
  reportUnusable(
    `${START} option parent`,
    new TypeError(`${problem}; the activity starts a new trace`),
  );
  return undefined;
}

/** The message of an error (its text for a non-error), or `undefined` when it cannot be read. */
function readableMessage(error: unknown): string | undefined {
  try {
    return error instanceof Error ? error.message : safeString(error);
  } catch {
    return undefined;
  }
}

/** The message of an error, never throwing. */
function messageOf(error: unknown): string {
  return readableMessage(error) ?? "[unreadable error]";
}

/** The `[key, value]` pairs of a list a sampler wrote to, skipping anything else. */
export function checkedPairs(list: readonly unknown[]): [string, unknown][] {
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

/**
 * Ends an activity whose callback failed: an `exception` event, the error status with the
 * error's message, and stop.
 */
export function failActivity(activity: Activity, error: unknown): void {
  activity.recordException(error);
  // A hostile error object: the status is set without a description.
  activity.setStatus("error", readableMessage(error));
  activity.stop();
}

/** The trace state a sampler set, if it is one an activity can keep. */
export function samplerTraceState(traceState: unknown): string | undefined {
  return typeof traceState === "string" ? cleanTraceState(traceState) : undefined;
}

/** The start tags, then the `[key, value]` pairs samplers added. */
export function withSamplingTags(
  tags: [string, unknown][],
  samplingTags: readonly unknown[],
): [string, unknown][] {
  if (!(samplingTags.length > 0)) return tags;
  const added = checkedPairs(samplingTags);
  return tags === NO_TAGS ? added : [...tags, ...added];
}

/**
 * The parent of an activity started with no parent given, when the current value is not an
 * activity of this copy: an activity of another copy, a frame's activity, or the context of a
 * frame's span that is not an activity (another tracer's), or of Deno's current span when there
 * is no current value at all.
 */
export function parentOfCurrent(
  value: unknown,
): [Activity | undefined, ActivityContext | undefined] {
  const activity = foreignCurrent(value, Activity) as Activity | undefined;
  if (activity !== undefined) return [activity, undefined];
  const fields = value === undefined ? denoParent() : frameOf(value)?.parent;
  if (fields === undefined) return [undefined, undefined];
  try {
    return [undefined, new ActivityContext(fields.traceId, fields.spanId, fields)];
  } catch (error) {
    reportUnusable("the current OpenTelemetry span", error);
    return [undefined, undefined];
  }
}

/**
 * Runs the callback of `startActiveActivity` with the activity current, and stops the activity
 * when the callback returns or its promise settles; an exception is recorded and rethrown.
 */
export function runActive<R>(activity: Activity, fn: (activity: Activity | undefined) => R): R {
  return Activity.run(activity, () => {
    let result: R;
    try {
      result = fn(activity);
    } catch (error) {
      failActivity(activity, error);
      throw error;
    }
    if (!isPromiseLike(result)) {
      activity.stop();
      return result;
    }
    // Promise.resolve also covers thenables whose then() returns nothing or throws; it throws
    // itself only for a promise whose `constructor` cannot be read, which a promise's resolve
    // function does not look at.
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
        failActivity(activity, error);
        throw error;
      },
    ) as R;
  });
}
