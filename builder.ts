/**
 * {@linkcode createTracerProviderBuilder}: configures and builds a
 * {@linkcode TracerProvider} as OpenTelemetry .NET's `TracerProviderBuilder` does, from explicit
 * settings and the standard `OTEL_*` environment variables.
 *
 * @example The guide's provider
 * ```ts
 * import { ActivitySource, createTracerProviderBuilder, InMemoryExporter } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * const exporter = new InMemoryExporter();
 * using _provider = createTracerProviderBuilder()
 *   .addSource("MyCompany.*")
 *   .addInMemoryExporter(exporter)
 *   .setServiceName("checkout")
 *   .build();
 * new ActivitySource("MyCompany.MyApplication").startActivity("Work")?.stop();
 * assert.equal(exporter.activities[0]?.displayName, "Work");
 * ```
 *
 * @module
 */

import type { Activity } from "./activity.ts";
import { type ActivityLimits, checkLimits } from "./limits.ts";
import type { Tags } from "./tags.ts";
import type { Sampler } from "./sampler.ts";
import { ConsoleExporter, type ConsoleExporterOptions, InMemoryExporter } from "./exporter.ts";
import { type ActivityExporter, type ActivityProcessor, SimpleProcessor } from "./processor.ts";
import { defaultResource, Resource, type ResourceDetector } from "./resource.ts";
import { TracerProvider, type TracerProviderOptions } from "./provider.ts";
import type { BatchProcessorOptions } from "./batch.ts";
import { type EnvironmentSource, type EnvReader, runtimeEnv, toEnvReader } from "./_env.ts";
import {
  type EnvConfig,
  type ExporterName,
  readEnvConfig,
  readTracesExporters,
} from "./_env_config.ts";
import { DeferredBatch, withoutUndefined } from "./_deferred_batch.ts";
import type { OtlpExporterOptions } from "./otlp/_config.ts";
import { OtlpExporterLoader } from "./_lazy_otlp.ts";
import {
  type ErrorHandler,
  filterReports,
  LOG_LEVELS,
  type LogLevel,
  reportToStderr,
  safeReport,
} from "./_diagnostics.ts";
import { checkTimeoutMillis } from "./_timers.ts";

/**
 * Collects a provider's configuration, as OpenTelemetry .NET's `TracerProviderBuilder`. Get
 * one from {@linkcode createTracerProviderBuilder}.
 */
export class TracerProviderBuilder {
  readonly #sources: string[] = [];
  readonly #processors: (ActivityProcessor | DeferredBatch | typeof FROM_ENVIRONMENT)[] = [];
  readonly #detectors: ResourceDetector[] = [];
  #sampler: Sampler | undefined;
  #resource: Resource = Resource.empty;
  #limits: Partial<ActivityLimits> | undefined;
  #onError: ErrorHandler | undefined;
  #environment: EnvironmentSource | false | undefined;
  #flushTimeout: number | undefined;
  #logLevel: LogLevel | undefined;

  /**
   * Listens to sources by name; `*` matches any run of characters, `?` one, case is ignored.
   *
   * @param names Source names or patterns, such as `"MyCompany.*"`.
   * @returns The builder.
   * @throws {TypeError} When a name is not a non-empty string.
   */
  addSource(...names: string[]): this {
    for (const name of names) {
      if (typeof name !== "string" || name === "") {
        throw new TypeError("Cannot add source: a source name must be a non-empty string");
      }
      this.#sources.push(name);
    }
    return this;
  }

  /**
   * Adds a processor.
   *
   * @param processor The processor.
   * @returns The builder.
   * @throws {TypeError} When it has no `onEnd` function.
   */
  addProcessor(processor: ActivityProcessor): this {
    if (
      typeof processor !== "object" || processor === null || typeof processor.onEnd !== "function"
    ) {
      throw new TypeError("Cannot add processor: it must have an onEnd() function");
    }
    this.#processors.push(processor);
    return this;
  }

  /**
   * Adds an exporter behind a {@linkcode SimpleProcessor}.
   *
   * @param exporter The exporter.
   * @returns The builder.
   * @throws {TypeError} When it has no `export` function.
   */
  addExporter(exporter: ActivityExporter): this {
    return this.addProcessor(new SimpleProcessor(exporter));
  }

  /**
   * Adds an exporter behind a {@linkcode BatchProcessor}. Options left out are taken from the
   * `OTEL_BSP_*` environment variables when set, else from the defaults; the processor is made
   * by {@linkcode TracerProviderBuilder.build}, which throws for a bad option.
   *
   * @param exporter The exporter.
   * @param options The batch processor's options; they win over the environment.
   * @returns The builder.
   * @throws {TypeError} When the exporter has no `export` function or `options` is not an
   * object.
   *
   * @example
   * ```ts
   * import { ActivitySource, createTracerProviderBuilder, InMemoryExporter } from "@tracelinks/activity";
   * import assert from "node:assert/strict";
   *
   * const exporter = new InMemoryExporter();
   * const provider = createTracerProviderBuilder()
   *   .addSource("App")
   *   .addBatchExporter(exporter, { scheduledDelayMillis: 1000 })
   *   .build();
   * new ActivitySource("App").startActivity("Work")?.stop();
   * assert.equal(exporter.activities.length, 0);
   * await provider.shutdown();
   * assert.equal(exporter.activities.length, 1);
   * ```
   */
  addBatchExporter(exporter: ActivityExporter, options: BatchProcessorOptions = {}): this {
    if (
      typeof exporter !== "object" || exporter === null || typeof exporter.export !== "function"
    ) {
      throw new TypeError("Cannot add batch exporter: it must have an export() function");
    }
    if (typeof options !== "object" || options === null) {
      throw new TypeError("Cannot add batch exporter: options must be an object");
    }
    this.#processors.push(new DeferredBatch(exporter, { ...options }));
    return this;
  }

  /**
   * Adds an OTLP/HTTP exporter (`OtlpExporter` of `@tracelinks/activity/otlp`) behind a
   * {@linkcode BatchProcessor}, as OpenTelemetry .NET's `AddOtlpExporter()`. The OTLP code is
   * loaded on first use, so a program that never calls this does not load it. Options left
   * out come from the `OTEL_EXPORTER_OTLP_*` variables where permitted, else the defaults
   * (`http://localhost:4318/v1/traces`, `http/protobuf`). A bad option is reported by the
   * processor when the exporter is first used; make the exporter yourself and pass it to
   * {@linkcode TracerProviderBuilder.addBatchExporter} to see errors at once and to read its
   * delivered and lost counts.
   *
   * @param options The exporter's options.
   * @param batchOptions The batch processor's options.
   * @returns The builder.
   * @throws {TypeError} When `options` or `batchOptions` is not an object.
   *
   * @example Send JSON to a stand-in collector
   * ```ts
   * import { ActivitySource, createTracerProviderBuilder } from "@tracelinks/activity";
   * import assert from "node:assert/strict";
   *
   * const names: string[] = [];
   * const provider = createTracerProviderBuilder()
   *   .addSource("App")
   *   .addOtlpExporter({
   *     protocol: "http/json",
   *     env: () => undefined,
   *     fetch: async (_url, init) => {
   *       const body = JSON.parse(new TextDecoder().decode(init.body as Uint8Array));
   *       names.push(body.resourceSpans[0].scopeSpans[0].spans[0].name);
   *       return new Response(null);
   *     },
   *   })
   *   .build();
   * new ActivitySource("App").startActivity("Work")?.stop();
   * await provider.shutdown();
   * assert.deepEqual(names, ["Work"]);
   * ```
   */
  addOtlpExporter(options?: OtlpExporterOptions, batchOptions?: BatchProcessorOptions): this {
    if (options !== undefined && (typeof options !== "object" || options === null)) {
      throw new TypeError("Cannot add OTLP exporter: options must be an object");
    }
    return this.addBatchExporter(new OtlpExporterLoader(options), batchOptions);
  }

  /**
   * Adds the exporters that `OTEL_TRACES_EXPORTER` names, read at
   * {@linkcode TracerProviderBuilder.build} from the builder's environment (see
   * {@linkcode TracerProviderBuilder.setEnvironment}): `otlp` (the default) adds an OTLP
   * exporter behind a batch processor, as {@linkcode TracerProviderBuilder.addOtlpExporter} with
   * no option (its `OTEL_EXPORTER_OTLP_*` variables come from the same environment), `console`
   * a console exporter behind a simple processor, `none` nothing. A list adds each once;
   * unknown names are reported and left out. They take the place of this call among the
   * processors.
   *
   * @returns The builder.
   *
   * @example
   * ```ts
   * import { createTracerProviderBuilder } from "@tracelinks/activity";
   * import assert from "node:assert/strict";
   *
   * const reports: string[] = [];
   * await using _provider = createTracerProviderBuilder()
   *   .setEnvironment({ OTEL_TRACES_EXPORTER: "none,zipkin" })
   *   .setErrorHandler((error) => reports.push((error as Error).message))
   *   .addExportersFromEnvironment()
   *   .build();
   * assert.deepEqual(reports, [
   *   "Cannot use OTEL_TRACES_EXPORTER 'none,zipkin': unknown 'zipkin' left out; expected otlp, console, none",
   * ]);
   * ```
   */
  addExportersFromEnvironment(): this {
    this.#processors.push(FROM_ENVIRONMENT);
    return this;
  }

  /**
   * Adds a resource detector, called once by {@linkcode TracerProviderBuilder.build}. What
   * detectors find is merged over the default resource (later detectors win), under
   * `OTEL_RESOURCE_ATTRIBUTES` and `OTEL_SERVICE_NAME`, and under what
   * {@linkcode TracerProviderBuilder.setResource} and
   * {@linkcode TracerProviderBuilder.setServiceName} set. Detectors are synchronous; one that
   * throws, returns a promise or returns something else than a {@linkcode Resource} or tags is
   * reported and left out.
   *
   * @param detector Returns attributes (a `Resource`, a record, a `Map` or pairs), or
   * `undefined`.
   * @returns The builder.
   * @throws {TypeError} When `detector` is not a function.
   *
   * @example
   * ```ts
   * import { createTracerProviderBuilder } from "@tracelinks/activity";
   * import assert from "node:assert/strict";
   *
   * await using provider = createTracerProviderBuilder()
   *   .addResourceDetector(() => ({ "deployment.environment.name": "staging" }))
   *   .build();
   * assert.equal(provider.resource.get("deployment.environment.name"), "staging");
   * ```
   */
  addResourceDetector(detector: ResourceDetector): this {
    if (typeof detector !== "function") {
      throw new TypeError("Cannot add resource detector: it must be a function");
    }
    this.#detectors.push(detector);
    return this;
  }

  /**
   * Chooses where the `OTEL_*` environment variables are read from at
   * {@linkcode TracerProviderBuilder.build}: by default the runtime's environment, read only
   * where no prompt can follow (on Deno, only variables whose env permission is already
   * granted). Pass a record or a function to read from elsewhere (tests, a config file), or
   * `false` to ignore the environment. Explicit builder options always win over it.
   *
   * @param source A record of values, a function that returns a variable's value, or `false`.
   * @returns The builder.
   * @throws {TypeError} When `source` is none of those.
   *
   * @example Configure from a record
   * ```ts
   * import { createTracerProviderBuilder } from "@tracelinks/activity";
   * import assert from "node:assert/strict";
   *
   * await using provider = createTracerProviderBuilder()
   *   .setEnvironment({ OTEL_SERVICE_NAME: "checkout", OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.25" })
   *   .build();
   * assert.equal(provider.resource.get("service.name"), "checkout");
   * assert.equal(provider.sampler.description, "TraceIdRatioBased{0.25}");
   * ```
   */
  setEnvironment(source: EnvironmentSource | false): this {
    if (
      source !== false && typeof source !== "function" &&
      (typeof source !== "object" || source === null)
    ) {
      throw new TypeError(
        "Cannot set environment: expected a record, a function or false",
      );
    }
    this.#environment = source;
    return this;
  }

  /**
   * Adds a {@linkcode ConsoleExporter} behind a simple processor.
   *
   * @param options The exporter's options.
   * @returns The builder.
   * @throws {TypeError} When an option has the wrong shape.
   */
  addConsoleExporter(options?: ConsoleExporterOptions): this {
    return this.addExporter(new ConsoleExporter(options));
  }

  /**
   * Adds an {@linkcode InMemoryExporter} behind a simple processor.
   *
   * @param target The exporter, or an array to append exported activities to.
   * @returns The builder.
   * @throws {TypeError} When `target` is neither.
   */
  addInMemoryExporter(target: InMemoryExporter | Activity[]): this {
    return this.addExporter(
      target instanceof InMemoryExporter ? target : new InMemoryExporter(target),
    );
  }

  /**
   * Sets the sampler.
   *
   * @param sampler The sampler.
   * @returns The builder.
   * @throws {TypeError} When it has no `shouldSample` function.
   */
  setSampler(sampler: Sampler): this {
    if (
      typeof sampler !== "object" || sampler === null || typeof sampler.shouldSample !== "function"
    ) {
      throw new TypeError("Cannot set sampler: it must have a shouldSample() function");
    }
    this.#sampler = sampler;
    return this;
  }

  /**
   * Adds resource attributes (later calls win on duplicate keys). They win over the default
   * resource, the detectors and the environment; an empty string does not replace a value.
   *
   * @param attributes A {@linkcode Resource}, or attributes as a record, `Map` or pairs.
   * @returns The builder.
   * @throws {TypeError} When the attributes have the wrong shape.
   */
  setResource(attributes: Resource | Tags): this {
    const resource = attributes instanceof Resource ? attributes : new Resource(attributes);
    this.#resource = this.#resource.merge(resource);
    return this;
  }

  /**
   * Sets `service.name` (and `service.version`) on the resource.
   *
   * @param name The service's name.
   * @param version The service's version.
   * @returns The builder.
   * @throws {TypeError} When the name is not a non-empty string.
   */
  setServiceName(name: string, version?: string): this {
    if (typeof name !== "string" || name === "") {
      throw new TypeError("Cannot set service name: it must be a non-empty string");
    }
    const attributes: Record<string, string> = { "service.name": name };
    if (typeof version === "string" && version !== "") attributes["service.version"] = version;
    return this.setResource(attributes);
  }

  /**
   * Sets limits on what each activity keeps (tags, events, links, their tags, value length).
   *
   * @param limits The limits to change; the others keep their defaults.
   * @returns The builder.
   * @throws {TypeError} For an unknown limit.
   * @throws {RangeError} For a value that is not a non-negative integer or `Infinity`.
   */
  setLimits(limits: Partial<ActivityLimits>): this {
    this.#limits = { ...this.#limits, ...checkLimits(limits) };
    return this;
  }

  /**
   * Sets where the provider's reports go (default: stderr): failures of processors and
   * exporters (`level` `"error"`), warnings such as an ignored environment variable
   * (`"warn"`), and debug notes when the log level is `"debug"`.
   *
   * @param handler Receives the error, what it concerns, and its level.
   * @returns The builder.
   * @throws {TypeError} When it is not a function.
   */
  setErrorHandler(handler: ErrorHandler): this {
    if (typeof handler !== "function") {
      throw new TypeError("Cannot set error handler: expected a function");
    }
    this.#onError = handler;
    return this;
  }

  /**
   * Sets how long `forceFlush()` and `shutdown()` of the provider wait at most (default
   * 30 s, as OpenTelemetry's); after that they resolve, and a shutdown counts what it gave up
   * as dropped. It also bounds the flush when the program ends without `shutdown()`.
   *
   * @param millis Milliseconds from 0 to 2147483647, or `Infinity` for no limit.
   * @returns The builder.
   * @throws {TypeError} When it is not a number.
   * @throws {RangeError} When it is out of range.
   *
   * @example
   * ```ts
   * import { createTracerProviderBuilder } from "@tracelinks/activity";
   * import assert from "node:assert/strict";
   *
   * await using provider = createTracerProviderBuilder().setFlushTimeout(5000).build();
   * assert.equal(provider.flushTimeoutMillis, 5000);
   * ```
   */
  setFlushTimeout(millis: number): this {
    this.#flushTimeout = checkTimeoutMillis(millis, "Cannot set flush timeout");
    return this;
  }

  /**
   * Sets which reports reach the error handler: `"none"`, `"error"`, `"warn"`, `"info"`
   * (errors and warnings, the default) or `"debug"` (also notes such as a provider whose
   * sources matched nothing). Wins over `OTEL_LOG_LEVEL`.
   *
   * @param level The level.
   * @returns The builder.
   * @throws {TypeError} When it is not one of those.
   */
  setLogLevel(level: LogLevel): this {
    if (!LOG_LEVELS.includes(level)) {
      throw new TypeError(
        `Cannot set log level: expected one of ${LOG_LEVELS.join(", ")}, got ${String(level)}`,
      );
    }
    this.#logLevel = level;
    return this;
  }

  /**
   * Builds the provider, which starts listening at once. The `OTEL_*` environment variables
   * (see {@linkcode TracerProviderBuilder.setEnvironment}) fill in what was not set
   * explicitly; a bad value there is reported to the error handler and the default is used.
   *
   * @returns The provider.
   * @throws {TypeError} When an option of a batch exporter has the wrong type.
   * @throws {RangeError} When an option of a batch exporter is out of range; the message names
   * the option and the value.
   */
  build(): TracerProvider {
    const read = this.#environment === false
      ? undefined
      : this.#environment === undefined
      ? runtimeEnv
      : toEnvReader(this.#environment);
    const { env, exporters, logLevel, report } = this.#readEnvironment(read);
    const processors: ActivityProcessor[] = [];
    for (const entry of this.#processors) {
      if (entry === FROM_ENVIRONMENT) processors.push(...this.#exportersOf(exporters, env, report));
      else processors.push(entry instanceof DeferredBatch ? entry.make(env?.batch, report) : entry);
    }
    if (env?.disabled === true) {
      safeReport(
        report,
        new Error("OTEL_SDK_DISABLED is true: the provider listens to no source"),
        "Environment variable OTEL_SDK_DISABLED",
        "debug",
      );
    }
    const options: TracerProviderOptions = {
      sources: env?.disabled === true ? [] : this.#sources,
      processors,
      resource: this.#resourceOf(env, report),
    };
    const sampler = this.#sampler ?? env?.sampler;
    if (sampler !== undefined) options.sampler = sampler;
    const limits = env === undefined || Object.keys(env.limits).length === 0
      ? this.#limits
      : { ...env.limits, ...withoutUndefined(this.#limits) };
    if (limits !== undefined) options.limits = limits;
    if (this.#onError !== undefined) options.onError = this.#onError;
    if (this.#flushTimeout !== undefined) options.flushTimeoutMillis = this.#flushTimeout;
    options.logLevel = logLevel;
    return new TracerProvider(options);
  }

  /**
   * Reads the environment (nothing when `read` is `undefined`) and reports its bad values, at
   * the log level they set unless the builder's wins.
   */
  #readEnvironment(read: EnvReader | undefined): {
    env: EnvConfig | undefined;
    exporters: ExporterName[];
    logLevel: LogLevel;
    report: ErrorHandler;
  } {
    const warnings: [string, Error][] = [];
    const warn = (name: string, error: Error) => warnings.push([name, error]);
    const env = read === undefined ? undefined : readEnvConfig(read, warn);
    let exporters: ExporterName[] = [];
    if (this.#processors.includes(FROM_ENVIRONMENT)) {
      exporters = read === undefined ? ["otlp"] : readTracesExporters(read, warn);
    }
    const logLevel = this.#logLevel ?? env?.logLevel ?? "info";
    // Warnings of the environment pass the same level filter as the provider's reports.
    const report = filterReports(this.#onError ?? reportToStderr, logLevel);
    for (const [name, error] of warnings) {
      safeReport(report, error, `Environment variable ${name}`, "warn");
    }
    return { env, exporters, logLevel, report };
  }

  /** The processors of the exporters `OTEL_TRACES_EXPORTER` named. */
  #exportersOf(
    names: readonly ExporterName[],
    env: EnvConfig | undefined,
    report: ErrorHandler,
  ): ActivityProcessor[] {
    const source = this.#environment;
    // The OTLP exporter reads its own variables, from the builder's environment.
    const otlp: OtlpExporterOptions | undefined = source === undefined
      ? undefined
      : { env: source === false ? () => undefined : toEnvReader(source) };
    return names.map((name) =>
      name === "console"
        ? new SimpleProcessor(new ConsoleExporter())
        : new DeferredBatch(new OtlpExporterLoader(otlp), {}).make(env?.batch, report)
    );
  }

  /**
   * The resource: the default one, what the detectors found, the environment's attributes,
   * then the explicit ones, each merged over the one before.
   */
  #resourceOf(env: EnvConfig | undefined, report: ErrorHandler): Resource {
    let resource = defaultResource();
    for (const detector of this.#detectors) {
      const found = detect(detector, report);
      if (found !== undefined) resource = resource.merge(found);
    }
    if (env !== undefined && env.resource.length > 0) {
      resource = resource.merge(new Resource(env.resource));
    }
    return resource.merge(this.#resource);
  }
}

/** Where the exporters of `OTEL_TRACES_EXPORTER` go among the processors. */
const FROM_ENVIRONMENT = Symbol("exporters from the environment");

/** Calls a detector; what it found, or `undefined` (reported) when it cannot be used. */
function detect(detector: ResourceDetector, report: ErrorHandler): Resource | undefined {
  const name = `ResourceDetector ${detector.name || "(anonymous)"}`;
  try {
    const found: unknown = detector();
    if (found === undefined || found === null) return undefined;
    if (found instanceof Resource) return found;
    if (typeof (found as { then?: unknown }).then === "function") {
      (found as Promise<unknown>).then(undefined, () => {}); // a rejection is not unhandled
      throw new TypeError(
        "Cannot use a resource detector that returns a promise: detectors are synchronous; await the attributes before building and pass them to setResource()",
      );
    }
    return new Resource(found as Tags);
  } catch (error) {
    safeReport(report, error, name, "error");
    return undefined;
  }
}

/**
 * Starts configuring a tracer provider, as OpenTelemetry .NET's
 * `Sdk.CreateTracerProviderBuilder()`.
 *
 * @returns A new builder.
 *
 * @example
 * ```ts
 * import { createTracerProviderBuilder } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * await using provider = createTracerProviderBuilder().addSource("MyCompany.MyApplication").build();
 * assert.equal(provider.isShutdown, false);
 * ```
 */
export function createTracerProviderBuilder(): TracerProviderBuilder {
  return new TracerProviderBuilder();
}
