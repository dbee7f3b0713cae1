// The current activity's storage, shared by every copy of the module in the program (see
// `_registry.ts`), and how a value is made current: with Deno's built-in tracing on, Deno's
// context gets a span with the activity's ids for the same callback (see `_deno_telemetry.ts`).

import { ContextVariable } from "./context.ts";
import { isValidSpanId } from "./ids.ts";
import { reportUnusable } from "./_diagnostics.ts";
import { BRANDS, hasBrand, shared } from "./_registry.ts";
import { EMPTY_FRAME, frameOf } from "./_frame.ts";
import { denoTracing, type IdsLike, runInDeno } from "./_deno_telemetry.ts";

/**
 * The current-activity variable: an activity of any copy, a frame (`_frame.ts`), or
 * `undefined`.
 */
export const current: ContextVariable<unknown> = shared(
  "current",
  () => new ContextVariable<unknown>(),
);

/**
 * Calls `fn` with `activity` current. Inside a frame that holds more than a span (OpenTelemetry
 * baggage or other keys), the frame's values are kept beside the activity.
 */
export function runCurrent<R>(
  activity: IdsLike,
  isOwn: (value: unknown) => boolean,
  fn: () => R,
): R {
  const now = current.get();
  const value = now === undefined || isOwn(now)
    ? activity
    : frameOf(now)?.withActivity(activity) ?? activity;
  if (denoTracing) return runInDeno(activity, () => current.run(value, fn));
  return current.run(value, fn);
}

/**
 * Calls `fn` with no current activity. With Deno's tracing on, an empty frame is stored rather
 * than nothing, so that activities started inside are roots rather than children of Deno's span.
 */
export function runWithout<R>(fn: () => R): R {
  return current.run(denoTracing ? EMPTY_FRAME : undefined, fn);
}

/**
 * The activity of a current value that is not this copy's activity: an activity of another
 * copy, or a frame's activity.
 */
export function foreignCurrent(value: unknown, own: OwnClass): unknown {
  if (isForeignActivity(value, own)) return value;
  const activity = frameOf(value)?.activity;
  return activity instanceof own || isForeignActivity(activity, own) ? activity : undefined;
}

// deno-lint-ignore no-explicit-any
type OwnClass = abstract new (...args: any[]) => unknown;

/**
 * Whether a value is an activity of another copy of the module: branded, not of this copy's
 * class (a lookalike made from this copy's prototype is not one), with a readable span id.
 */
export function isForeignActivity(value: unknown, own: OwnClass): boolean {
  if (!hasBrand(value, BRANDS.activity) || value instanceof own) return false;
  try {
    return isValidSpanId((value as { spanId: unknown }).spanId);
  } catch {
    return false;
  }
}

/** The baggage of an activity of another copy, read through its public members. */
export function foreignBaggage(activity: { readonly baggage: unknown }): [string, string][] {
  try {
    const baggage = activity.baggage;
    return Array.isArray(baggage) ? baggage : [];
  } catch {
    return [];
  }
}

/** `Activity.run`: checks its arguments and calls `fn` with the activity current, or none. */
export function runActivity<R>(
  activity: unknown,
  own: OwnClass,
  isOwn: (value: unknown) => boolean,
  fn: () => R,
): R {
  if (typeof fn !== "function") {
    throw new TypeError(`Cannot run: fn must be a function, got ${typeof fn}`);
  }
  if (activity === null || activity === undefined) return runWithout(fn);
  if (isOwn(activity) || isForeignActivity(activity, own)) {
    return runCurrent(activity as IdsLike, isOwn, fn);
  }
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
