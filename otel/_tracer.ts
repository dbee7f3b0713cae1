// The bridge's `TracerProvider` and `Tracer`: each tracer is an `ActivitySource` named after it
// (name, version, scope attributes), so that spans go through the providers, samplers,
// processors and exporters that activities go through. A span is the span view of the activity
// started for it. When no listener samples the span, the tracer does what OpenTelemetry's API
// does without an SDK: it returns a non-recording span that carries the parent's span context,
// so that the trace still propagates.

import { Activity } from "../activity.ts";
import { ActivitySource, type StartActivityOptions } from "../source.ts";
import { SPAN_KEY } from "../_deno_telemetry.ts";
import { reportUnusable } from "../_diagnostics.ts";
import type {
  OtelApi,
  OtelContext,
  OtelSpan,
  OtelSpanContext,
  OtelSpanOptions,
  OtelTracer,
  OtelTracerOptions,
  OtelTracerProvider,
} from "./_api.ts";
import { attributesOf, contextOf, kindOf, linksOf, timeOf } from "./_convert.ts";
import { spanOf, SpanView } from "./_span.ts";
import type { BridgeContextManager } from "./_context.ts";

const INVALID_SPAN_CONTEXT: OtelSpanContext = Object.freeze({
  traceId: "00000000000000000000000000000000",
  spanId: "0000000000000000",
  traceFlags: 0,
});

/** Options of a tracer beyond OpenTelemetry 1.x's: scope attributes, where the caller gives them. */
interface TracerOptionsWithAttributes extends OtelTracerOptions {
  attributes?: Record<string, unknown>;
}

/** The bridge's tracer provider: one tracer (and source) per name and version. */
export class BridgeTracerProvider implements OtelTracerProvider {
  readonly #api: OtelApi;
  readonly #manager: BridgeContextManager;
  readonly #tracers = new Map<string, BridgeTracer>();

  constructor(api: OtelApi, manager: BridgeContextManager) {
    this.#api = api;
    this.#manager = manager;
  }

  getTracer(name: string, version?: string, options?: OtelTracerOptions): BridgeTracer {
    const sourceName = typeof name === "string" && name !== "" ? name : "unknown";
    const sourceVersion = typeof version === "string" && version !== "" ? version : undefined;
    const key = `${sourceName}\u0000${sourceVersion ?? ""}`;
    let tracer = this.#tracers.get(key);
    if (tracer === undefined) {
      const attributes = attributesOf((options as TracerOptionsWithAttributes)?.attributes);
      const source = new ActivitySource(sourceName, {
        ...(sourceVersion === undefined ? {} : { version: sourceVersion }),
        ...(attributes === undefined ? {} : { tags: attributes }),
      });
      tracer = new BridgeTracer(source, this.#api, this.#manager);
      this.#tracers.set(key, tracer);
    }
    return tracer;
  }

  /** Unregisters the tracers' sources. */
  dispose(): void {
    for (const tracer of this.#tracers.values()) tracer.source[Symbol.dispose]();
    this.#tracers.clear();
  }
}

/** A tracer: starts activities on its source and gives their span views. */
export class BridgeTracer implements OtelTracer {
  /** The source the tracer starts activities on. */
  readonly source: ActivitySource;
  readonly #api: OtelApi;
  readonly #manager: BridgeContextManager;

  constructor(source: ActivitySource, api: OtelApi, manager: BridgeContextManager) {
    this.source = source;
    this.#api = api;
    this.#manager = manager;
  }

  startSpan(name: string, options?: OtelSpanOptions, context?: OtelContext): OtelSpan {
    const start = startOptions(options, context);
    const activity = this.source.startActivity(name, start);
    if (activity !== undefined) return spanOf(activity);
    // Nothing samples the span: a non-recording span with the parent's context, as the API's
    // own tracer gives without an SDK.
    let parent: OtelSpanContext = INVALID_SPAN_CONTEXT;
    if (start.root !== true) {
      try {
        const span = (context ?? this.#manager.active()).getValue(SPAN_KEY) as OtelSpan;
        parent = span?.spanContext?.() ?? INVALID_SPAN_CONTEXT;
      } catch {
        // A context or span that cannot be read: no parent to carry.
      }
    }
    return this.#api.trace.wrapSpanContext(parent);
  }

  startActiveSpan<F extends (span: OtelSpan) => unknown>(
    name: string,
    ...rest: unknown[]
  ): ReturnType<F> {
    const fn = rest[rest.length - 1] as F;
    if (typeof fn !== "function") {
      throw new TypeError("Cannot start active span: the last argument must be a function");
    }
    const options = rest.length >= 2 ? rest[0] as OtelSpanOptions | undefined : undefined;
    const context = rest.length >= 3 ? rest[1] as OtelContext | undefined : undefined;
    const span = this.startSpan(name, options, context);
    if (context === undefined && span instanceof SpanView) {
      // The activity becomes current beside what the current context holds.
      return Activity.run(span.activity, () => fn(span)) as ReturnType<F>;
    }
    const base = context ?? this.#manager.active();
    return this.#manager.with(base.setValue(SPAN_KEY, span), () => fn(span)) as ReturnType<F>;
  }
}

/** The start options of an activity for a span's options and parent context. */
function startOptions(
  options: OtelSpanOptions | undefined,
  context: OtelContext | undefined,
): StartActivityOptions {
  try {
    return readStartOptions(options, context);
  } catch (error) {
    // Options or a context that cannot be read (a revoked proxy, a throwing getter).
    reportUnusable("Tracer.startSpan() options", error);
    return {};
  }
}

function readStartOptions(
  options: OtelSpanOptions | undefined,
  context: OtelContext | undefined,
): StartActivityOptions {
  const out: StartActivityOptions = {};
  if (options !== undefined && options !== null) {
    const { kind, attributes, links, startTime, root } = options;
    if (kind !== undefined) out.kind = kindOf(kind);
    const tags = attributesOf(attributes);
    if (tags !== undefined) out.tags = tags;
    const made = linksOf(links);
    if (made !== undefined) out.links = made;
    const time = timeOf(startTime);
    if (time !== undefined) out.startTime = time;
    if (root === true) {
      out.root = true;
      return out;
    }
  }
  if (context !== undefined && context !== null) {
    const span = context.getValue(SPAN_KEY);
    if (span instanceof SpanView) out.parent = span.activity;
    else {
      const parent = contextOf((span as OtelSpan | undefined)?.spanContext?.());
      if (parent !== undefined) out.parent = parent;
      else out.root = true;
    }
  }
  return out;
}
