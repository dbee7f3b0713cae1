// The span view of an activity: what `@opentelemetry/api` code sees of an activity, whether the
// activity was started through the bridge's tracer or by an `ActivitySource`. Each method maps
// to the activity's, as OpenTelemetry JS's SDK span behaves: a span that has ended ignores
// changes, an `Ok` status is final, `null` and `undefined` attribute values are ignored.

import type { Activity } from "../activity.ts";
import type { AddEventOptions } from "../event.ts";
import { exceptionAttributes } from "./_exception.ts";
import type {
  OtelAttributes,
  OtelAttributeValue,
  OtelLink,
  OtelSpan,
  OtelSpanContext,
  OtelSpanStatus,
  OtelTimeInput,
} from "./_api.ts";
import { attributesOf, isTimeInput, linkOf, linksOf, timeOf, TraceState } from "./_convert.ts";

const views = new WeakMap<Activity, SpanView>();

/** The span view of an activity, made once per activity. */
export function spanOf(activity: Activity): SpanView {
  let view = views.get(activity);
  if (view === undefined) views.set(activity, view = new SpanView(activity));
  return view;
}

/** OpenTelemetry's `SpanStatusCode`: UNSET, OK, ERROR. */
const OK = 1;
const ERROR = 2;

/** An OpenTelemetry `Span` over an activity. */
export class SpanView implements OtelSpan {
  /** The activity the span stands for. */
  readonly activity: Activity;
  #spanContext: OtelSpanContext | undefined;
  #traceState: string | undefined;

  constructor(activity: Activity) {
    this.activity = activity;
  }

  spanContext(): OtelSpanContext {
    const a = this.activity;
    const state = a.traceState;
    if (this.#spanContext === undefined || state !== this.#traceState) {
      this.#traceState = state;
      this.#spanContext = {
        traceId: a.traceId,
        spanId: a.spanId,
        traceFlags: a.traceFlags,
        isRemote: false,
        ...(state === undefined ? {} : { traceState: new TraceState(state) }),
      };
    }
    return this.#spanContext;
  }

  setAttribute(key: string, value: OtelAttributeValue): this {
    if (typeof key === "string" && key !== "" && value !== null && value !== undefined) {
      this.activity.setTag(key, value);
    }
    return this;
  }

  setAttributes(attributes: OtelAttributes): this {
    for (const [key, value] of attributesOf(attributes) ?? []) this.activity.setTag(key, value);
    return this;
  }

  addEvent(
    name: string,
    attributesOrStartTime?: OtelAttributes | OtelTimeInput,
    startTime?: OtelTimeInput,
  ): this {
    let attributes: OtelAttributes | undefined;
    if (isTimeInput(attributesOrStartTime)) startTime = attributesOrStartTime;
    else attributes = attributesOrStartTime;
    this.activity.addEvent(name, eventOptions(attributesOf(attributes), startTime));
    return this;
  }

  addLink(link: OtelLink): this {
    const made = linkOf(link);
    if (made !== undefined) this.activity.addLink(made);
    return this;
  }

  addLinks(links: OtelLink[]): this {
    for (const link of linksOf(links) ?? []) this.activity.addLink(link);
    return this;
  }

  setStatus(status: OtelSpanStatus): this {
    let code: unknown, message: unknown;
    try {
      ({ code, message } = status);
    } catch {
      return this;
    }
    const a = this.activity;
    if (a.status === "ok") return this; // Ok is final
    if (code === OK) a.setStatus("ok");
    else if (code === ERROR) {
      a.setStatus("error", typeof message === "string" ? message : undefined);
    }
    return this;
  }

  updateName(name: string): this {
    if (typeof name === "string") this.activity.displayName = name;
    return this;
  }

  end(endTime?: OtelTimeInput): void {
    const time = timeOf(endTime);
    this.activity.stop(time === undefined ? undefined : { endTime: time });
  }

  isRecording(): boolean {
    return this.activity.isAllDataRequested && !this.activity.isStopped;
  }

  recordException(exception: unknown, time?: OtelTimeInput): void {
    const attributes = exceptionAttributes(exception);
    if (attributes !== undefined) {
      this.activity.addEvent("exception", eventOptions(attributes, time));
    }
  }
}

function eventOptions(
  tags: [string, never][] | undefined,
  time: OtelTimeInput | undefined,
): AddEventOptions {
  const timestamp = timeOf(time);
  const options: AddEventOptions = {};
  if (tags !== undefined) options.tags = tags;
  if (timestamp !== undefined) options.timestamp = timestamp;
  return options;
}
