// Deno's built-in telemetry (`OTEL_DENO=true`). When its tracing is on, Deno registers its own
// OpenTelemetry API implementation as the process's (under `Symbol.for("opentelemetry.js.api.1")`)
// and traces `Deno.serve` and `fetch` on its own, keeping its current span in a context of its own
// (`Deno.telemetry.contextManager`). This file lets activities meet those spans: an activity
// started with no current activity is the child of Deno's current span, and while an activity is
// current (`Activity.run`, `startActiveActivity`), Deno's context holds a non-recording span with
// the activity's ids, so that the spans Deno starts there (`fetch`) are its children. Nothing is
// imported: OpenTelemetry's context keys are `Symbol.for(description)`.

import type { ParentFields } from "./_frame.ts";
import { isValidSpanId, isValidTraceId } from "./ids.ts";

/** OpenTelemetry's context key of the current span. */
export const SPAN_KEY: unique symbol = Symbol.for("OpenTelemetry Context Key SPAN") as never;
/** OpenTelemetry's context key of the baggage. */
const BAGGAGE_KEY = Symbol.for("OpenTelemetry Baggage Key");

interface DenoContext {
  getValue(key: symbol): unknown;
  setValue(key: symbol, value: unknown): DenoContext;
}

interface DenoContextManager {
  active(): DenoContext;
  with<R>(context: DenoContext, fn: () => R): R;
}

interface SpanLike {
  spanContext(): { traceId?: unknown; spanId?: unknown; traceFlags?: unknown };
}

/** The ids of an activity, as Deno's context needs them. */
export interface IdsLike {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceFlags: number;
}

/** Deno's context manager when Deno's tracing is on, else `undefined`. */
const manager: DenoContextManager | undefined = detect();

/** Whether Deno's built-in tracing (`OTEL_DENO=true`) is on in this process. */
export const denoTracing: boolean = manager !== undefined;

/**
 * The header fields Deno's `fetch` writes itself (its propagators' fields), when its tracing is
 * on; empty otherwise.
 */
export const denoFetchFields: ReadonlySet<string> = fieldsOfDeno();

/** `fetch` as Deno made it (traced by Deno when its tracing is on). */
export const denoFetch: unknown = (globalThis as { fetch?: unknown }).fetch;

function openTelemetryGlobal(): Record<string, unknown> | undefined {
  const global = (globalThis as Record<symbol, unknown>)[Symbol.for("opentelemetry.js.api.1")];
  return typeof global === "object" && global !== null
    ? global as Record<string, unknown>
    : undefined;
}

function detect(): DenoContextManager | undefined {
  try {
    // Deno registers its context manager as the process's only when its tracing is on. The
    // global is read first: reading `Deno.telemetry` loads Deno's telemetry code (about 1.5 ms
    // at start-up), which a program without an OpenTelemetry API global does not need.
    const global = openTelemetryGlobal();
    if (global === undefined) return undefined;
    const deno = (globalThis as { Deno?: { telemetry?: { contextManager?: unknown } } }).Deno;
    const contextManager = deno?.telemetry?.contextManager;
    if (contextManager === undefined || global.context !== contextManager) return undefined;
    return contextManager as DenoContextManager;
  } catch {
    return undefined;
  }
}

function fieldsOfDeno(): ReadonlySet<string> {
  if (manager === undefined) return new Set();
  try {
    const propagation = openTelemetryGlobal()?.propagation as { fields?(): unknown } | undefined;
    const fields = propagation?.fields?.();
    return new Set(Array.isArray(fields) ? fields.filter((f) => typeof f === "string") : []);
  } catch {
    return new Set();
  }
}

/**
 * The context of Deno's current span (for example the span of a request `Deno.serve` traces),
 * or `undefined` when Deno's tracing is off or Deno has no current span.
 */
export function denoParent(): ParentFields | undefined {
  if (manager === undefined) return undefined;
  try {
    const span = manager.active().getValue(SPAN_KEY) as SpanLike | undefined;
    if (span === undefined || span === null || span instanceof DenoParentSpan) return undefined;
    const { traceId, spanId, traceFlags } = span.spanContext();
    if (!isValidTraceId(traceId) || !isValidSpanId(spanId)) return undefined;
    return {
      traceId,
      spanId,
      traceFlags: typeof traceFlags === "number" ? traceFlags & 0xff : 0,
      traceState: undefined,
      isRemote: false,
    };
  } catch {
    return undefined;
  }
}

/**
 * Calls `fn` with Deno's current span set to a non-recording span that carries `ids`, so that
 * what Deno traces inside is a child of the activity; `fn()` as it is when Deno's tracing is off.
 */
export function runInDeno<R>(ids: IdsLike, fn: () => R): R {
  if (manager === undefined) return fn();
  let context: DenoContext;
  try {
    context = manager.active().setValue(SPAN_KEY, new DenoParentSpan(ids));
  } catch {
    return fn();
  }
  return manager.with(context, fn);
}

/**
 * Whether Deno's own `fetch` instrumentation writes `traceparent` for requests sent through
 * `fetch`: Deno's tracing is on, its propagators write it, and `fetch` is Deno's. Deno appends
 * its header to those already there, so then only Deno's (its `fetch` span's, the innermost
 * client span) may be sent.
 */
export function denoWritesTraceparent(fetch: unknown): boolean {
  return manager !== undefined && fetch === denoFetch && denoFetchFields.has("traceparent");
}

/**
 * Calls Deno's `fetch` (through `fn`) with Deno's current span set to a non-recording span with
 * the client activity's ids, so that Deno's `fetch` span is the activity's child, and with no
 * baggage in Deno's context, so that only the `baggage` header of the activity is sent.
 */
export function runFetchInDeno<R>(ids: IdsLike, fn: () => R): R {
  if (manager === undefined) return fn();
  let context: DenoContext;
  try {
    context = manager.active().setValue(SPAN_KEY, new DenoParentSpan(ids)).setValue(
      BAGGAGE_KEY,
      undefined,
    );
  } catch {
    return fn();
  }
  return manager.with(context, fn);
}

/**
 * A non-recording span with an activity's ids, as OpenTelemetry's `NonRecordingSpan`: what
 * Deno's context holds while the activity is current.
 */
class DenoParentSpan {
  readonly #context: { traceId: string; spanId: string; traceFlags: number; isRemote: boolean };
  constructor(ids: IdsLike) {
    this.#context = {
      traceId: ids.traceId,
      spanId: ids.spanId,
      traceFlags: ids.traceFlags,
      isRemote: false,
    };
  }
  spanContext(): { traceId: string; spanId: string; traceFlags: number; isRemote: boolean } {
    return this.#context;
  }
  setAttribute(): this {
    return this;
  }
  setAttributes(): this {
    return this;
  }
  addEvent(): this {
    return this;
  }
  addLink(): this {
    return this;
  }
  addLinks(): this {
    return this;
  }
  setStatus(): this {
    return this;
  }
  updateName(): this {
    return this;
  }
  end(): void {}
  isRecording(): boolean {
    return false;
  }
  recordException(): void {}
}
