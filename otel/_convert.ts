// Conversions between OpenTelemetry's API values and the activity model: times, kinds, span
// contexts, links, and a `TraceState` over this module's `tracestate` code.

import { ActivityContext, ActivityLink } from "../links.ts";
import type { ActivityKind } from "../kind.ts";
import { deleteTraceStateMember, parseTraceState, setTraceStateMember } from "../propagation.ts";
import { isValidSpanId, isValidTraceId } from "../ids.ts";
import type { OtelLink, OtelSpanContext, OtelTimeInput, OtelTraceState } from "./_api.ts";

/** OpenTelemetry's `SpanKind` values, by number: INTERNAL, SERVER, CLIENT, PRODUCER, CONSUMER. */
const KINDS: readonly ActivityKind[] = ["internal", "server", "client", "producer", "consumer"];

/** The activity kind of an OpenTelemetry `SpanKind`; `"internal"` for anything else. */
export function kindOf(kind: unknown): ActivityKind {
  return typeof kind === "number" ? KINDS[kind] ?? "internal" : "internal";
}

/**
 * A `TimeInput` as an activity takes a time (epoch milliseconds or a `Date`), read as
 * OpenTelemetry JS reads it: `[seconds, nanoseconds]` since the epoch; a number not later than
 * `performance.now()` is a `performance` time (milliseconds since `performance.timeOrigin`),
 * a larger one epoch milliseconds; a `Date`. `undefined` for anything else (now).
 */
export function timeOf(time: OtelTimeInput | undefined): number | Date | undefined {
  try {
    return readTime(time);
  } catch {
    return undefined; // a revoked proxy, a throwing getter
  }
}

function readTime(time: OtelTimeInput | undefined): number | Date | undefined {
  if (typeof time === "number") {
    if (!Number.isFinite(time)) return undefined;
    return time <= performance.now() ? performance.timeOrigin + time : time;
  }
  if (time instanceof Date) return time;
  if (
    Array.isArray(time) && time.length === 2 && typeof time[0] === "number" &&
    typeof time[1] === "number"
  ) {
    return time[0] * 1000 + time[1] / 1e6;
  }
  return undefined;
}

/** Whether a value is a `TimeInput` (for `addEvent(name, time)`). */
export function isTimeInput(value: unknown): value is OtelTimeInput {
  try {
    return typeof value === "number" || value instanceof Date ||
      (Array.isArray(value) && value.length === 2 && typeof value[0] === "number");
  } catch {
    return false;
  }
}

/**
 * The context of an OpenTelemetry span context, or `undefined` when its ids are not valid
 * (OpenTelemetry's `INVALID_SPAN_CONTEXT`, or a malformed one).
 */
export function contextOf(spanContext: OtelSpanContext | undefined): ActivityContext | undefined {
  try {
    if (spanContext === undefined || spanContext === null) return undefined;
    const { traceId, spanId, traceFlags, traceState, isRemote } = spanContext;
    if (!isValidTraceId(traceId) || !isValidSpanId(spanId)) return undefined;
    const state = traceState?.serialize();
    return new ActivityContext(traceId, spanId, {
      traceFlags: Number.isInteger(traceFlags) && traceFlags >= 0 && traceFlags <= 255
        ? traceFlags
        : 0,
      traceState: typeof state === "string" && state !== "" ? state : undefined,
      isRemote: isRemote === true,
    });
  } catch {
    return undefined;
  }
}

/** The activity links of OpenTelemetry links; links with an invalid span context are left out. */
export function linksOf(links: readonly OtelLink[] | undefined): ActivityLink[] | undefined {
  const out: ActivityLink[] = [];
  try {
    if (!Array.isArray(links) || links.length === 0) return undefined;
    for (const link of links) {
      const made = linkOf(link);
      if (made !== undefined) out.push(made);
    }
  } catch {
    // A hostile list: the links read so far are kept.
  }
  return out;
}

/** The activity link of an OpenTelemetry link, or `undefined` when it cannot be one. */
export function linkOf(link: OtelLink | undefined): ActivityLink | undefined {
  try {
    const context = contextOf(link?.context);
    if (context === undefined) return undefined;
    return new ActivityLink(context, attributesOf(link!.attributes));
  } catch {
    return undefined;
  }
}

/** OpenTelemetry attributes as tags: values that are `null` or `undefined` are left out. */
export function attributesOf(
  attributes: Record<string, unknown> | undefined,
): [string, never][] | undefined {
  if (typeof attributes !== "object" || attributes === null) return undefined;
  const out: [string, never][] = [];
  try {
    for (const key of Object.keys(attributes)) {
      const value = attributes[key];
      if (value !== null && value !== undefined && key !== "") out.push([key, value as never]);
    }
  } catch {
    // Hostile attributes (a throwing getter, a revoked proxy): what was read is kept.
  }
  return out;
}

/**
 * OpenTelemetry's `TraceState` over a `tracestate` value: immutable, `set` moves a member to the
 * front, as W3C Trace Context asks, and invalid keys or values are ignored.
 */
export class TraceState implements OtelTraceState {
  readonly #text: string | undefined;

  constructor(text?: string) {
    this.#text = typeof text === "string" && text !== "" ? text : undefined;
  }

  get(key: string): string | undefined {
    if (this.#text === undefined) return undefined;
    return parseTraceState(this.#text)?.find(([k]) => k === key)?.[1];
  }

  set(key: string, value: string): TraceState {
    try {
      return new TraceState(setTraceStateMember(this.#text, key, value));
    } catch {
      return this;
    }
  }

  unset(key: string): TraceState {
    return new TraceState(deleteTraceStateMember(this.#text, key));
  }

  serialize(): string {
    return this.#text ?? "";
  }
}
