/**
 * {@linkcode configureFromEnvironment}: a tracer provider made from OpenTelemetry's standard
 * environment variables alone, as the OpenTelemetry SDKs make one. It listens to every source,
 * exports as `OTEL_TRACES_EXPORTER` says (OTLP by default), and sets the process's propagator
 * from `OTEL_PROPAGATORS`. Importing `@tracelinks/activity/auto` calls it.
 *
 * @example Every source heard, exporters of your own beside the environment's
 * ```ts
 * import { type Activity, ActivitySource, configureFromEnvironment } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * const exported: Activity[] = [];
 * await using provider = configureFromEnvironment({
 *   environment: { OTEL_TRACES_EXPORTER: "none", OTEL_SERVICE_NAME: "checkout" },
 *   configure: (builder) => builder.addInMemoryExporter(exported),
 * });
 * assert.equal(provider.resource.get("service.name"), "checkout");
 * new ActivitySource("Anything").startActivity("Work")?.stop();
 * assert.equal(exported[0]?.displayName, "Work");
 * ```
 *
 * @module
 */

import { createTracerProviderBuilder, type TracerProviderBuilder } from "./builder.ts";
import type { TracerProvider } from "./provider.ts";
import { type EnvironmentSource, runtimeEnv, toEnvReader, unreadableEnv } from "./_env.ts";
import { readPropagators } from "./_env_config.ts";
import { setDefaultPropagator } from "./propagator.ts";
import { type ErrorHandler, reportModuleOnce, reportToLiveHandlers } from "./_diagnostics.ts";

/** Options of {@linkcode configureFromEnvironment}. */
export interface ConfigureFromEnvironmentOptions {
  /**
   * Where the `OTEL_*` variables are read from: a record or a function (tests, a config
   * file). By default the runtime's environment, read without ever prompting: on Deno, only
   * the variables whose env permission is already granted (a warning says so once).
   * @default {the runtime's environment}
   */
  environment?: EnvironmentSource;
  /**
   * Receives what the provider reports, as {@linkcode TracerProviderBuilder.setErrorHandler}.
   * @default {a line on stderr}
   */
  onError?: ErrorHandler;
  /**
   * Settings of your own, applied to the builder before it builds: they win over the
   * environment, as explicit builder options always do (an exporter added here is added
   * beside those of `OTEL_TRACES_EXPORTER`).
   * @default {undefined}
   */
  configure?: (builder: TracerProviderBuilder) => TracerProviderBuilder | void;
}

/** The variables read here and by the builder, for the permission warning. */
const VARIABLES = [
  "OTEL_SDK_DISABLED",
  "OTEL_TRACES_EXPORTER",
  "OTEL_PROPAGATORS",
  "OTEL_SERVICE_NAME",
  "OTEL_RESOURCE_ATTRIBUTES",
  "OTEL_TRACES_SAMPLER",
  "OTEL_EXPORTER_OTLP_ENDPOINT",
];

let current: TracerProvider | undefined;

/**
 * Makes the process's tracer provider from the `OTEL_*` environment variables, as the
 * OpenTelemetry SDKs do: it listens to every source; `OTEL_TRACES_EXPORTER` chooses the
 * exporters (`otlp`, the default, behind a batch processor; `console` behind a simple one;
 * `none`); sampler, batch, limits, resource and OTLP variables apply as in
 * {@linkcode TracerProviderBuilder.setEnvironment}; and `OTEL_PROPAGATORS` (default
 * `tracecontext,baggage`) becomes the process's propagator (`getDefaultPropagator()`), which
 * the HTTP helpers use. Unknown names are reported once and left out.
 *
 * The provider flushes and shuts down by itself when the program ends (Deno's `unload`, the
 * `beforeExit` of Node and Bun); `@tracelinks/activity/auto` also does so on SIGINT and
 * SIGTERM. A provider this function made before is shut down and replaced, so that nothing is
 * exported twice.
 *
 * @param options Where the variables come from, the error handler, settings of your own.
 * @returns The provider.
 * @throws {TypeError} When an option has the wrong type.
 *
 * @example What a program gets with no variable set
 * ```ts
 * import { configureFromEnvironment, getDefaultPropagator } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * await using provider = configureFromEnvironment({
 *   environment: { OTEL_TRACES_EXPORTER: "console", OTEL_PROPAGATORS: "b3multi" },
 * });
 * assert.match(String(provider.resource.get("service.name")), /^unknown_service:/);
 * assert.deepEqual(getDefaultPropagator().fields().slice(0, 2), ["x-b3-traceid", "x-b3-spanid"]);
 * // Replaces the console provider; back to W3C propagation.
 * await configureFromEnvironment({ environment: { OTEL_TRACES_EXPORTER: "none" } }).shutdown();
 * assert.deepEqual(getDefaultPropagator().fields(), ["traceparent", "tracestate", "baggage"]);
 * ```
 */
export function configureFromEnvironment(
  options: ConfigureFromEnvironmentOptions = {},
): TracerProvider {
  const { environment, onError, configure } = options ?? {};
  if (configure !== undefined && typeof configure !== "function") {
    throw new TypeError("Cannot configure from environment: configure must be a function");
  }
  const builder = createTracerProviderBuilder().addSource("*").addExportersFromEnvironment();
  if (environment !== undefined) builder.setEnvironment(environment);
  if (onError !== undefined) builder.setErrorHandler(onError);
  configure?.(builder);
  const previous = current;
  const provider = builder.build();
  current = provider;
  // Shut down after the new one is built, so that no activity goes unheard in between.
  previous?.shutdown().catch(() => {});
  const warnings: [string, Error][] = [];
  const read = environment === undefined ? runtimeEnv : toEnvReader(environment);
  setDefaultPropagator(readPropagators(read, (name, error) => warnings.push([name, error])));
  for (const [name, error] of warnings) {
    reportToLiveHandlers(error, `Environment variable ${name}`, "warn");
  }
  if (environment === undefined) warnUnreadable();
  return provider;
}

/** On Deno without the env permission: says once that the variables were not read. */
function warnUnreadable(): void {
  const unreadable = unreadableEnv(VARIABLES);
  if (unreadable.length === 0) return;
  reportModuleOnce(
    "configureFromEnvironment env permission",
    new Error(
      `Cannot read ${
        unreadable.join(", ")
      }: the env permission is not granted (it is never asked for); run with --allow-env (or --allow-env=OTEL_*); using the defaults`,
    ),
    "configureFromEnvironment()",
    "warn",
  );
}
