/**
 * This module as the implementation of the OpenTelemetry API: code written against
 * `@opentelemetry/api` 1.x (libraries, instrumentations, middleware such as `@hono/otel`) makes
 * activities, which go through the same tracer providers, samplers, processors and exporters as
 * the activities of `ActivitySource`s, in one trace with them. Import it from
 * `@tracelinks/activity/otel` and pass your own `@opentelemetry/api` module in: nothing is
 * imported, the types are structural.
 *
 * - Each tracer is an `ActivitySource` named after it (name, version); a span is an activity,
 *   and `trace.getActiveSpan()` inside an activity is a span view of it.
 * - The context is one: the bridge's `ContextManager` keeps OpenTelemetry's context in the
 *   module's own current-activity storage, so `Activity.current` inside `startActiveSpan` or
 *   `context.with` is the span's activity, and values other than the span (baggage, other keys)
 *   are kept.
 * - The propagator is the process's (`getDefaultPropagator()`): this module's W3C Trace Context
 *   and W3C Baggage code unless `OTEL_PROPAGATORS` or `setDefaultPropagator()` chose others.
 *
 * @example A library's span and an activity in one trace
 * ```ts
 * import * as api from "@opentelemetry/api";
 * import { Activity, ActivitySource, createTracerProviderBuilder, InMemoryExporter } from "@tracelinks/activity";
 * import { registerOpenTelemetry } from "@tracelinks/activity/otel";
 * import assert from "node:assert/strict";
 *
 * const exporter = new InMemoryExporter();
 * using _provider = createTracerProviderBuilder().addSource("*").addInMemoryExporter(exporter).build();
 * using _otel = registerOpenTelemetry(api);
 * const source = new ActivitySource("App");
 * api.trace.getTracer("some-library").startActiveSpan("library work", (span) => {
 *   source.startActivity("App work")?.stop(); // a child of the library's span
 *   assert.equal(Activity.current?.displayName, "library work");
 *   span.end();
 * });
 * const [child, parent] = exporter.activities;
 * assert.equal(child?.parentSpanId, parent?.spanId);
 * ```
 *
 * @module
 */

import { reportToLiveHandlers } from "../_diagnostics.ts";
import type { OtelApi } from "./_api.ts";
import { BridgeContextManager } from "./_context.ts";
import { BridgePropagator, type ContextPropagator } from "./_propagator.ts";
import { BridgeTracerProvider } from "./_tracer.ts";

export type { ContextPropagator, ExtractedFields, PropagatedContext } from "./_propagator.ts";

/**
 * The `@opentelemetry/api` 1.x module object (`import * as api from "@opentelemetry/api"`), as
 * far as {@linkcode registerOpenTelemetry} needs to know its shape; the functions it calls are
 * checked when it is called.
 */
export interface OpenTelemetryApi {
  /** `api.trace`: `setGlobalTracerProvider`, `wrapSpanContext`, `disable`. */
  readonly trace: object;
  /** `api.context`: `setGlobalContextManager`, `active`, `disable`. */
  readonly context: object;
  /** `api.propagation`: `setGlobalPropagator`, baggage functions, `disable`. */
  readonly propagation: object;
  /** `api.ROOT_CONTEXT`. */
  readonly ROOT_CONTEXT: object;
}

/** Options of {@linkcode registerOpenTelemetry}. */
export interface RegisterOpenTelemetryOptions {
  /**
   * The trace-context propagator behind `api.propagation` (W3C Baggage is then always added): any
   * object with the shape of this module's `inject` and `extract`.
   * @default {the process's propagator, getDefaultPropagator(), looked up at each call}
   */
  propagator?: ContextPropagator;
}

/** What {@linkcode registerOpenTelemetry} returns: the registration, undone by `using`. */
export interface OpenTelemetryRegistration {
  /** The tracer provider installed (or that would have been, had the API taken it). */
  readonly tracerProvider: OtelTracerProviderLike;
  /** Whether each global was installed (the API refuses a second one). */
  readonly installed: { tracerProvider: boolean; contextManager: boolean; propagator: boolean };
  /** Removes the globals this registration installed and unregisters its sources. */
  unregister(): void;
  /** The same as `unregister`, for `using`. */
  [Symbol.dispose](): void;
}

/** The part of a tracer provider a caller may use directly. */
export interface OtelTracerProviderLike {
  /** The tracer (and activity source) for a name and version. */
  getTracer(name: string, version?: string, options?: { schemaUrl?: string }): unknown;
}

/**
 * Installs this module as the implementation of the OpenTelemetry API given: a global
 * `TracerProvider` (`api.trace.setGlobalTracerProvider`), `ContextManager`
 * (`api.context.setGlobalContextManager`) and `TextMapPropagator`
 * (`api.propagation.setGlobalPropagator`). A global the API refuses (one is installed already,
 * or Deno's built-in telemetry holds the API under `OTEL_DENO=true`) is left as it is, and this
 * is reported once.
 *
 * @param otelApi The `@opentelemetry/api` module object (1.x).
 * @param options The propagator behind `api.propagation`.
 * @returns The registration; `unregister()` (or `using`) removes what it installed.
 * @throws {TypeError} When `api` is not an OpenTelemetry API module object.
 *
 * @example Propagation through the API, with this module's W3C code
 * ```ts
 * import * as api from "@opentelemetry/api";
 * import { ActivitySource, createTracerProviderBuilder } from "@tracelinks/activity";
 * import { registerOpenTelemetry } from "@tracelinks/activity/otel";
 * import assert from "node:assert/strict";
 *
 * using _provider = createTracerProviderBuilder().addSource("App").build();
 * using _otel = registerOpenTelemetry(api);
 * new ActivitySource("App").startActiveActivity("Call", (activity) => {
 *   const headers: Record<string, string> = {};
 *   api.propagation.inject(api.context.active(), headers);
 *   assert.equal(headers.traceparent, activity?.id);
 * });
 * ```
 */
export function registerOpenTelemetry(
  otelApi: OpenTelemetryApi,
  options?: RegisterOpenTelemetryOptions,
): OpenTelemetryRegistration {
  const api = otelApi as unknown as OtelApi;
  checkApi(api);
  const propagatorOption = options?.propagator;
  if (
    propagatorOption !== undefined &&
    (typeof propagatorOption?.inject !== "function" ||
      typeof propagatorOption?.extract !== "function")
  ) {
    throw new TypeError(
      "Cannot register OpenTelemetry: options.propagator must have inject and extract functions",
    );
  }
  const manager = new BridgeContextManager(api.ROOT_CONTEXT);
  const tracerProvider = new BridgeTracerProvider(api, manager);
  const propagator = new BridgePropagator(api, propagatorOption);
  const installed = {
    tracerProvider: api.trace.setGlobalTracerProvider(tracerProvider) === true,
    contextManager: api.context.setGlobalContextManager(manager) === true,
    propagator: api.propagation.setGlobalPropagator(propagator) === true,
  };
  const refused = Object.entries(installed).filter(([, ok]) => !ok).map(([name]) => name);
  if (refused.length > 0) reportRefused(refused);
  let done = false;
  const unregister = () => {
    if (done) return;
    done = true;
    if (installed.tracerProvider) api.trace.disable();
    if (installed.contextManager) api.context.disable();
    if (installed.propagator) api.propagation.disable();
    tracerProvider.dispose();
  };
  return { tracerProvider, installed, unregister, [Symbol.dispose]: unregister };
}

function checkApi(api: OtelApi): void {
  let ok = false;
  try {
    ok = typeof api?.trace?.setGlobalTracerProvider === "function" &&
      typeof api.context?.setGlobalContextManager === "function" &&
      typeof api.propagation?.setGlobalPropagator === "function" &&
      typeof api.trace.wrapSpanContext === "function" &&
      typeof api.ROOT_CONTEXT?.setValue === "function" &&
      typeof api.propagation.getBaggage === "function" &&
      typeof api.propagation.setBaggage === "function" &&
      typeof api.propagation.createBaggage === "function";
  } catch {
    ok = false;
  }
  if (!ok) {
    throw new TypeError(
      'Cannot register OpenTelemetry: expected the @opentelemetry/api module object (import * as api from "@opentelemetry/api")',
    );
  }
}

function reportRefused(refused: readonly string[]): void {
  reportToLiveHandlers(
    new Error(
      `The OpenTelemetry API refused this module's ${
        refused.join(", ")
      }: another one is installed (a second registerOpenTelemetry, an SDK, or Deno's built-in telemetry under OTEL_DENO=true); spans made through the API do not become activities`,
    ),
    "registerOpenTelemetry()",
    "warn",
  );
}
