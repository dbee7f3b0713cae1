// What the current-activity variable holds. Usually an activity (of this copy or another), read
// as it is. Inside the OpenTelemetry bridge's `context.with(ctx, fn)`, when `ctx` holds more
// than a span of an activity (baggage, other keys, a span of another tracer, or nothing at all),
// it holds a frame: the OpenTelemetry context itself, with what the activity model needs of it
// worked out once, when the frame is made.

import { BRANDS, hasBrand } from "./_registry.ts";

/** The ids of a span that is not an activity (another tracer's, a wrapped span context). */
export interface ParentFields {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceFlags: number;
  readonly traceState: string | undefined;
  readonly isRemote: boolean;
}

/** A value of the current-activity variable that is not an activity. */
export interface ContextFrame {
  /** The activity current in the frame (a span view's activity), or `undefined`. */
  readonly activity: object | undefined;
  /** With no activity: the context of the frame's span, if it has one. */
  readonly parent: ParentFields | undefined;
  /** The OpenTelemetry context the frame stands for, or `undefined` for none. */
  readonly otel: unknown;
  /**
   * The value to make current for an activity run inside this frame: the activity itself when
   * the frame holds nothing else worth keeping, else a frame with the activity's span added.
   */
  withActivity(activity: object): unknown;
}

/** A frame that holds nothing: no current activity, no parent (`Activity.run(null, fn)`). */
export const EMPTY_FRAME: ContextFrame = Object.freeze({
  [BRANDS.frame]: true,
  activity: undefined,
  parent: undefined,
  otel: undefined,
  withActivity: (activity: object) => activity,
});

/** The frame a value is, or `undefined`; never throws. */
export function frameOf(value: unknown): ContextFrame | undefined {
  return hasBrand(value, BRANDS.frame) ? value as ContextFrame : undefined;
}
