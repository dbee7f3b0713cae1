// The brand check for activities, beside those of links.ts for contexts and links: an object of
// any copy of the module loaded in the program is recognised, a lookalike is not.

import { Activity, isActivityObject } from "./activity.ts";
import { isForeignActivity } from "./_current.ts";

/**
 * Whether a value is an {@linkcode Activity}, made by this copy of the module or by another copy
 * loaded in the same program (another bundle, or another install of a compatible version), whose
 * activities are then used through their public members. An object made from
 * `Activity.prototype` is not one. Never throws.
 *
 * @param value Any value.
 * @returns `true` for an activity of any copy of the module.
 *
 * @example
 * ```ts
 * import { ActivitySource, createTracerProviderBuilder, isActivity } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * using _provider = createTracerProviderBuilder().addSource("App").build();
 * using activity = new ActivitySource("App").startActivity("Work");
 * assert.equal(isActivity(activity), true);
 * assert.equal(isActivity({ traceId: activity?.traceId }), false);
 * ```
 */
export function isActivity(value: unknown): value is Activity {
  return isActivityObject(value) || isForeignActivity(value, Activity);
}
