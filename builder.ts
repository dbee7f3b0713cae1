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
import { Resource } from "./resource.ts";
import { TracerProvider, type TracerProviderOptions } from "./provider.ts";
import { BatchProcessor, type BatchProcessorOptions, DEFAULT_BATCH_OPTIONS } from "./batch.ts";
import { type EnvironmentSource, runtimeEnv, toEnvReader } from "./_env.ts";
import { readEnvConfig } from "./_env_config.ts";
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
  readonly #processors: (ActivityProcessor | DeferredBatch)[] = [];
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
   * Adds resource attributes (later calls win on duplicate keys).
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
    const warnings: [string, Error][] = [];
    const onError = this.#onError ?? reportToStderr;
    const env = this.#environment === false ? undefined : readEnvConfig(
      this.#environment === undefined ? runtimeEnv : toEnvReader(this.#environment),
      (name, error) => warnings.push([name, error]),
    );
    const logLevel = this.#logLevel ?? env?.logLevel ?? "info";
    // Warnings of the environment pass the same level filter as the provider's reports.
    const report = filterReports(onError, logLevel);
    for (const [name, error] of warnings) {
      safeReport(report, error, `Environment variable ${name}`, "warn");
    }
    const processors = this.#processors.map((entry) =>
      entry instanceof DeferredBatch ? entry.make(env?.batch, report) : entry
    );
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
      resource: env === undefined || env.resource.length === 0
        ? this.#resource
        : new Resource(env.resource).merge(this.#resource),
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
}

/** A batch exporter added to a builder: its processor is made at build time. */
class DeferredBatch {
  readonly #exporter: ActivityExporter;
  readonly #options: BatchProcessorOptions;

  constructor(exporter: ActivityExporter, options: BatchProcessorOptions) {
    this.#exporter = exporter;
    this.#options = options;
  }

  /** Makes the processor: explicit options over the environment's. */
  make(env: BatchProcessorOptions | undefined, onError: ErrorHandler): BatchProcessor {
    const options: BatchProcessorOptions = { ...env, ...withoutUndefined(this.#options) };
    const queue = options.maxQueueSize ?? DEFAULT_BATCH_OPTIONS.maxQueueSize;
    const batch = options.maxExportBatchSize ?? DEFAULT_BATCH_OPTIONS.maxExportBatchSize;
    // Only a size that came from the environment is corrected with a warning; explicit
    // options that conflict are an error of the caller's, thrown by the processor.
    const batchFromEnv = this.#options.maxExportBatchSize === undefined &&
      env?.maxExportBatchSize !== undefined;
    const queueFromEnv = this.#options.maxQueueSize === undefined &&
      env?.maxQueueSize !== undefined;
    if (
      options.maxExportBatchSize !== undefined && (batchFromEnv || queueFromEnv) &&
      typeof batch === "number" && typeof queue === "number" && batch > queue
    ) {
      safeReport(
        onError,
        new RangeError(
          `Cannot use a batch size of ${batch} with a queue of ${queue} (OTEL_BSP_*); using ${queue}`,
        ),
        `Environment variable ${
          batchFromEnv ? "OTEL_BSP_MAX_EXPORT_BATCH_SIZE" : "OTEL_BSP_MAX_QUEUE_SIZE"
        }`,
        "warn",
      );
      options.maxExportBatchSize = queue;
    }
    return new BatchProcessor(this.#exporter, options);
  }
}

/** The own properties of `record` that are not `undefined`: spread over defaults, they win. */
function withoutUndefined<T extends object>(record: T | undefined): Partial<T> {
  const out: Record<string, unknown> = {};
  if (record !== undefined) {
    for (const [key, value] of Object.entries(record)) if (value !== undefined) out[key] = value;
  }
  return out as Partial<T>;
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
