/**
 * {@linkcode logContext}: the ids that tie a log record to the activity it was written in, under
 * the field names of OpenTelemetry's log data model.
 *
 * @module
 */

import { Activity } from "./activity.ts";
import { isActivity } from "./_is_activity.ts";

/** The trace fields of a log record, as {@linkcode logContext} gives them. */
export interface LogTraceFields {
  /** The trace id: 32 lowercase hex characters. */
  readonly trace_id: string;
  /** The span id: 16 lowercase hex characters. */
  readonly span_id: string;
  /** The W3C trace flags as two lowercase hex digits, as in `traceparent` (`"01"` sampled). */
  readonly trace_flags: string;
}

/**
 * The fields that tie a log record to an activity: `trace_id`, `span_id` and `trace_flags`, the
 * names of OpenTelemetry's log data model and of its "Trace Context in non-OTLP log formats"
 * (flags as two hex digits, as in `traceparent`), or `{}` outside any activity. Spread it into
 * a structured record, or add it in a logger's sink; it never throws.
 *
 * @param activity The activity; the current one when not given.
 * @returns The fields, or an empty object when there is no activity.
 *
 * @example A console record that points at its trace
 * ```ts
 * import { ActivitySource, createTracerProviderBuilder, logContext } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * using _provider = createTracerProviderBuilder().addSource("App").build();
 * assert.deepEqual(logContext(), {});
 * new ActivitySource("App").startActiveActivity("Work", (activity) => {
 *   const record = { message: "working", ...logContext() };
 *   assert.deepEqual(record, {
 *     message: "working",
 *     trace_id: activity?.traceId,
 *     span_id: activity?.spanId,
 *     trace_flags: "03",
 *   });
 * });
 * ```
 */
export function logContext(
  activity: Activity | undefined = Activity.current,
): LogTraceFields | Record<string, never> {
  if (!isActivity(activity)) return {};
  try {
    const id = activity.id;
    return { trace_id: id.slice(3, 35), span_id: id.slice(36, 52), trace_flags: id.slice(53, 55) };
  } catch {
    return {};
  }
}
