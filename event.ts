/**
 * Events: what happened at one instant of an activity ({@linkcode ActivityEvent}), added with
 * `activity.addEvent(name, options)` ({@linkcode AddEventOptions}) or, for an error, with
 * `activity.recordException(error)`, which records OpenTelemetry's `exception` event.
 *
 * @example An event and an exception
 * ```ts
 * import { ActivitySource, createTracerProviderBuilder } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * using _provider = createTracerProviderBuilder().addSource("Events").build();
 * using activity = new ActivitySource("Events").startActivity("Work")!;
 * activity.addEvent("validated", { tags: { step: 1 } }).recordException(new Error("Late"));
 * assert.deepEqual(activity.events.map((e) => e.name), ["validated", "exception"]);
 * ```
 *
 * @module
 */

import { type TagList, type Tags, toTagList } from "./tags.ts";
import { reportUnusable } from "./_diagnostics.ts";
import { safeString } from "./_format.ts";

/** Something that happened at one instant of an activity. */
export interface ActivityEvent {
  /** The event's name. */
  readonly name: string;
  /** When it happened, in nanoseconds since the Unix epoch (100 ns resolution). */
  readonly timeUnixNano: bigint;
  /** The event's tags. */
  readonly tags: TagList;
  /** Tags dropped by the per-event limit. */
  readonly droppedTagCount: number;
}

/** Options of {@linkcode Activity.addEvent}. */
export interface AddEventOptions {
  /**
   * The event's tags.
   * @default {undefined}
   */
  tags?: Tags;
  /**
   * When it happened (a `Date` or epoch milliseconds).
   * @default {now}
   */
  timestamp?: Date | number;
}

/** The options of an event as read once: the timestamp as given, and the tags as a list. */
export interface EventInput {
  readonly timestamp: unknown;
  readonly tags: [string, unknown][];
}

// Options are read once each, inside a guard: one whose getter throws (or a revoked proxy) counts
// as not given, and is reported once. One reader per option name keeps each property read
// monomorphic in the name.

function timestampOf(options: AddEventOptions, where: string): unknown {
  try {
    return options.timestamp;
  } catch (error) {
    reportUnusable(`${where} option timestamp`, error);
    return undefined;
  }
}

function tagsOf(options: AddEventOptions, where: string): unknown {
  try {
    return options.tags;
  } catch (error) {
    reportUnusable(`${where} option tags`, error);
    return undefined;
  }
}

/**
 * Reads the options of `addEvent` or `recordException` (`where` names the method) once each;
 * what cannot be read or used is left out and reported once.
 */
export function readEventOptions(options: AddEventOptions | undefined, where: string): EventInput {
  if (options === undefined || options === null) return { timestamp: undefined, tags: [] };
  const timestamp = timestampOf(options, where);
  const tags = tagsOf(options, where);
  if (tags === undefined) return { timestamp, tags: [] };
  try {
    return { timestamp, tags: toTagList(tags as Tags, "event") };
  } catch (error) {
    reportUnusable(`${where} option tags`, error);
    return { timestamp, tags: [] };
  }
}

/**
 * The tags of OpenTelemetry's `exception` event for any thrown value: `exception.type`,
 * `exception.message` and, for an `Error` with a stack, `exception.stacktrace`. Never throws:
 * of a hostile error object (a throwing getter, a revoked proxy), what could be read is kept.
 */
export function exceptionTags(error: unknown): [string, unknown][] {
  const tags: [string, unknown][] = [];
  let isError = false;
  try {
    isError = error instanceof Error;
  } catch {
    // A revoked proxy: not an Error.
  }
  try {
    if (isError && typeof error === "object" && error !== null) {
      const e = error as Error;
      tags.push(["exception.type", e.name]);
      tags.push(["exception.message", e.message]);
      const stack = e.stack;
      if (typeof stack === "string") tags.push(["exception.stacktrace", stack]);
    } else {
      tags.push(["exception.type", typeof error]);
      tags.push(["exception.message", safeString(error)]);
    }
  } catch {
    // A hostile error object: keep what was read.
  }
  return tags;
}
