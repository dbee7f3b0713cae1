/**
 * The tracer provider: a listener that samples the activities of chosen sources and hands the
 * recorded ones to processors and exporters. Built as in OpenTelemetry .NET with
 * {@linkcode createTracerProviderBuilder}.
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

import type { Activity, ActivityLimits, TagList, Tags } from "./activity.ts";
import { DEFAULT_LIMITS } from "./activity.ts";
import {
  type ActivityCreationOptions,
  type ActivityListener,
  type ActivitySamplingResult,
  ActivitySource,
  type ListenerRegistration,
} from "./source.ts";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  ParentBasedSampler,
  type Sampler,
  type SamplingResult,
} from "./sampler.ts";
import {
  type ActivityExporter,
  ConsoleExporter,
  type ConsoleExporterOptions,
  InMemoryExporter,
} from "./exporter.ts";
import { toTagList } from "./_tags.ts";
import {
  type ErrorHandler,
  exporterName,
  ReportOnce,
  reportToStderr,
  safeReport,
} from "./_report.ts";
import { BatchProcessor, type BatchProcessorOptions, DEFAULT_BATCH_OPTIONS } from "./batch.ts";
import { type EnvironmentSource, readEnvConfig, runtimeEnv, toEnvReader } from "./_env.ts";
import type { OtlpExporterOptions } from "./otlp.ts";
import { OtlpExporterLoader } from "./_lazy_otlp.ts";
import { isPromiseLike } from "./_promise.ts";

export type { EnvironmentSource, ErrorHandler };

/**
 * What produced the telemetry: attributes such as `service.name`, printed at the end of each
 * console record and sent with every OTLP batch.
 *
 * @example
 * ```ts
 * import { Resource } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * const resource = new Resource({ "service.name": "a" }).merge(new Resource({ "service.name": "b" }));
 * assert.deepEqual(resource.attributes, [["service.name", "b"]]);
 * ```
 */
export class Resource {
  /** The attributes, in insertion order, each key once. */
  readonly attributes: TagList;

  /**
   * Makes a resource.
   *
   * @param attributes A record, `Map` or pairs; a later duplicate key wins.
   * @throws {TypeError} When the attributes have the wrong shape.
   */
  constructor(attributes?: Tags) {
    const byKey = new Map<string, unknown>();
    for (const [key, value] of toTagList(attributes, "resource")) {
      if (value === null || value === undefined) byKey.delete(key);
      else byKey.set(key, value);
    }
    this.attributes = Object.freeze([...byKey]);
  }

  /** A resource without attributes. */
  static readonly empty: Resource = new Resource();

  /**
   * Returns a resource with the attributes of both; `other` wins on duplicate keys.
   *
   * @param other The resource to merge in.
   * @returns The merged resource.
   */
  merge(other: Resource): Resource {
    return new Resource([...this.attributes, ...other.attributes] as [string, never][]);
  }

  /**
   * Returns the value of an attribute.
   *
   * @param key The attribute's key.
   * @returns The value, or `undefined`.
   */
  get(key: string): unknown {
    for (const [k, v] of this.attributes) if (k === key) return v;
    return undefined;
  }
}

/** What a provider gives its processors when it is built. */
export interface ProcessorContext {
  /** The provider's resource. */
  readonly resource: Resource;
  /** Where failures are reported. */
  readonly reportError: ErrorHandler;
}

/**
 * Sits between the provider and exporters: hears every activity that starts and stops with
 * all data requested. Only recorded activities should reach exporters.
 */
export interface ActivityProcessor {
  /** Called once, when the provider is built. */
  register?(context: ProcessorContext): void;
  /** Called when an activity starts. */
  onStart?(activity: Activity): void;
  /** Called when an activity stops. */
  onEnd(activity: Activity): void;
  /** Exports whatever is pending. */
  forceFlush?(): void | Promise<void>;
  /** Exports whatever is pending and releases the exporter. */
  shutdown?(): void | Promise<void>;
}

/**
 * Exports each recorded activity as soon as it stops, one at a time (.NET's
 * `SimpleActivityExportProcessor`). A failing exporter is reported once and counted.
 *
 * @example
 * ```ts
 * import { ActivitySource, createTracerProviderBuilder, InMemoryExporter, SimpleProcessor } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * const exporter = new InMemoryExporter();
 * using _provider = createTracerProviderBuilder()
 *   .addSource("App")
 *   .addProcessor(new SimpleProcessor(exporter))
 *   .build();
 * new ActivitySource("App").startActivity("Work")?.stop();
 * assert.equal(exporter.activities.length, 1);
 * ```
 */
export class SimpleProcessor implements ActivityProcessor {
  readonly #exporter: ActivityExporter;
  #resource: Resource = Resource.empty;
  #reporter: ReportOnce = new ReportOnce();
  readonly #pending = new Set<Promise<void>>();
  #failed = 0;
  #shutdown: Promise<void> | undefined;

  /**
   * Makes the processor.
   *
   * @param exporter The exporter to hand activities to.
   * @throws {TypeError} When the exporter has no `export` function.
   */
  constructor(exporter: ActivityExporter) {
    if (
      typeof exporter !== "object" || exporter === null || typeof exporter.export !== "function"
    ) {
      throw new TypeError("Cannot make SimpleProcessor: exporter must have an export() function");
    }
    this.#exporter = exporter;
  }

  /** The number of exports that threw or rejected. */
  get failedExportCount(): number {
    return this.#failed;
  }

  /**
   * Takes the provider's resource and error handler.
   *
   * @param context The provider's context.
   */
  register(context: ProcessorContext): void {
    this.#resource = context.resource;
    this.#reporter = new ReportOnce(context.reportError);
  }

  /**
   * Exports the activity if it is recorded.
   *
   * @param activity The stopped activity.
   */
  onEnd(activity: Activity): void {
    if (!activity.recorded || this.#shutdown !== undefined) return;
    let result: void | Promise<void>;
    try {
      result = this.#exporter.export([activity], this.#resource);
    } catch (error) {
      this.#fail(error);
      return;
    }
    if (isPromiseLike(result)) {
      const pending: Promise<void> = Promise.resolve(result).then(
        () => {
          this.#pending.delete(pending);
        },
        (error: unknown) => {
          this.#pending.delete(pending);
          this.#fail(error);
        },
      );
      this.#pending.add(pending);
    }
  }

  #fail(error: unknown): void {
    this.#failed++;
    this.#reporter.report(this.#exporter, error, `Exporter ${exporterName(this.#exporter)}`);
  }

  /**
   * Waits for exports under way, then flushes the exporter.
   *
   * @returns A promise that settles when done; it never rejects.
   */
  async forceFlush(): Promise<void> {
    await Promise.all(this.#pending);
    try {
      await this.#exporter.forceFlush?.();
    } catch (error) {
      this.#fail(error);
    }
  }

  /**
   * Flushes, then shuts the exporter down; later activities are not exported. Calling it again
   * returns the same promise.
   *
   * @returns A promise that settles when done; it never rejects.
   */
  shutdown(): Promise<void> {
    return this.#shutdown ??= (async () => {
      await this.forceFlush();
      try {
        await this.#exporter.shutdown?.();
      } catch (error) {
        this.#fail(error);
      }
    })();
  }
}

/** Options of the {@linkcode TracerProvider} constructor (what the builder collects). */
export interface TracerProviderOptions {
  /**
   * Names of the sources to listen to; `*` matches any run of characters and `?` one character; matching ignores
   * case, as in .NET.
   * @default {[]}
   */
  sources?: readonly string[];
  /**
   * The processors, in order.
   * @default {[]}
   */
  processors?: readonly ActivityProcessor[];
  /**
   * The sampler.
   * @default {new ParentBasedSampler(new AlwaysOnSampler())}
   */
  sampler?: Sampler;
  /**
   * The resource.
   * @default {Resource.empty}
   */
  resource?: Resource;
  /**
   * Limits on what each activity keeps.
   * @default {DEFAULT_LIMITS}
   */
  limits?: Partial<ActivityLimits>;
  /**
   * Receives failures of processors and exporters (each failing party once).
   * @default {a line on stderr}
   */
  onError?: ErrorHandler;
}

function wildcardPattern(names: readonly string[]): RegExp | undefined {
  if (names.length === 0) return undefined;
  const alternatives = names.map((name) =>
    name.replace(/[.+^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*").replaceAll("?", ".")
  );
  return new RegExp(`^(?:${alternatives.join("|")})$`, "i");
}

function checkLimits(limits: Partial<ActivityLimits>): Partial<ActivityLimits> {
  if (typeof limits !== "object" || limits === null) {
    throw new TypeError("Cannot set limits: expected an object");
  }
  for (const key of Object.keys(limits)) {
    if (!(key in DEFAULT_LIMITS)) throw new TypeError(`Cannot set limits: unknown limit '${key}'`);
    const value = (limits as Record<string, unknown>)[key];
    if (value === undefined) continue;
    if (typeof value !== "number") {
      throw new TypeError(`Cannot set limits: ${key} must be a number, got ${typeof value}`);
    }
    if (
      !(value === Infinity || (Number.isInteger(value) && value >= 0))
    ) {
      throw new RangeError(
        `Cannot set limits: ${key} must be a non-negative integer or Infinity, got ${
          String(value)
        }`,
      );
    }
  }
  return limits;
}

/**
 * Listens to the chosen sources, samples their activities, and passes the recorded ones to its
 * processors. Make one with {@linkcode createTracerProviderBuilder}; end it with
 * {@linkcode TracerProvider.shutdown}, `using` or `await using`.
 *
 * @example Flush and shut down
 * ```ts
 * import { ActivitySource, createTracerProviderBuilder, InMemoryExporter } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * const exporter = new InMemoryExporter();
 * const provider = createTracerProviderBuilder().addSource("App").addInMemoryExporter(exporter).build();
 * new ActivitySource("App").startActivity("Work")?.stop();
 * await provider.shutdown();
 * assert.equal(exporter.activities.length, 1);
 * assert.equal(new ActivitySource("App").startActivity("Later"), undefined);
 * ```
 */
export class TracerProvider {
  readonly #pattern: RegExp | undefined;
  readonly #processors: readonly ActivityProcessor[];
  readonly #sampler: Sampler;
  readonly #resource: Resource;
  readonly #onError: ErrorHandler;
  readonly #reporter: ReportOnce;
  readonly #registration: ListenerRegistration;
  #shutdown: Promise<void> | undefined;

  /**
   * Makes a provider and starts listening.
   *
   * @param options Sources, processors, sampler, resource, limits and error handler.
   * @throws {TypeError} When an option has the wrong shape.
   */
  constructor(options: TracerProviderOptions = {}) {
    const sources = options.sources ?? [];
    for (const name of sources) {
      if (typeof name !== "string" || name === "") {
        throw new TypeError("Cannot build TracerProvider: source names must be non-empty strings");
      }
    }
    const processors = options.processors ?? [];
    for (const processor of processors) {
      if (
        typeof processor !== "object" || processor === null || typeof processor.onEnd !== "function"
      ) {
        throw new TypeError(
          "Cannot build TracerProvider: a processor must have an onEnd() function",
        );
      }
    }
    const sampler = options.sampler ?? new ParentBasedSampler(new AlwaysOnSampler());
    if (
      typeof sampler !== "object" || sampler === null || typeof sampler.shouldSample !== "function"
    ) {
      throw new TypeError(
        "Cannot build TracerProvider: the sampler must have a shouldSample() function",
      );
    }
    const resource = options.resource ?? Resource.empty;
    if (!(resource instanceof Resource)) {
      throw new TypeError("Cannot build TracerProvider: resource must be a Resource");
    }
    const onError = options.onError ?? reportToStderr;
    if (typeof onError !== "function") {
      throw new TypeError("Cannot build TracerProvider: onError must be a function");
    }
    const limits = options.limits === undefined ? undefined : checkLimits(options.limits);
    this.#pattern = wildcardPattern(sources);
    this.#processors = Object.freeze([...processors]);
    this.#sampler = sampler;
    this.#resource = resource;
    this.#onError = onError;
    this.#reporter = new ReportOnce(onError);
    for (const processor of this.#processors) {
      try {
        processor.register?.({ resource, reportError: onError });
      } catch (error) {
        this.#reporter.report(processor, error, "ActivityProcessor.register");
      }
    }
    const listener: ActivityListener = {
      shouldListenTo: (source) => this.#pattern?.test(source.name) ?? false,
      sample: (creation) => this.#sample(creation),
      activityStarted: (activity) => this.#started(activity),
      activityStopped: (activity) => this.#stopped(activity),
      // Always stated, so that a provider left at the defaults keeps them beside a stricter one.
      limits: limits ?? DEFAULT_LIMITS,
    };
    this.#registration = ActivitySource.addActivityListener(listener);
  }

  /** The provider's resource. */
  get resource(): Resource {
    return this.#resource;
  }

  /** The provider's sampler. */
  get sampler(): Sampler {
    return this.#sampler;
  }

  /** Whether {@linkcode TracerProvider.shutdown} has been called. */
  get isShutdown(): boolean {
    return this.#shutdown !== undefined;
  }

  #sample(creation: ActivityCreationOptions): ActivitySamplingResult {
    const sampler = this.#sampler;
    if (sampler instanceof AlwaysOffSampler) {
      return creation.parent === undefined ? "none" : "propagationData";
    }
    let result: SamplingResult;
    let tags: [string, unknown][] | undefined;
    try {
      result = sampler.shouldSample(creation);
      // Tags and trace state matter only for an activity whose data are kept. A result that
      // cannot be read (not an object, tags of a wrong shape) counts as a throw.
      if (result.decision !== "drop" && result.tags !== undefined) {
        tags = toTagList(result.tags as Tags, "sampling");
      }
    } catch (error) {
      this.#reporter.report(sampler, error, `Sampler ${sampler.description}`);
      return "propagationData"; // counts as a drop, whose answer this is
    }
    if (result.decision !== "drop") {
      if (tags !== undefined) creation.samplingTags.push(...tags);
      if (result.traceState !== undefined) creation.traceState = result.traceState;
    }
    switch (result.decision) {
      case "recordAndSample":
        return "allDataAndRecorded";
      case "recordOnly":
        return "allData";
      default:
        return "propagationData";
    }
  }

  #started(activity: Activity): void {
    if (!activity.isAllDataRequested) return;
    const processors = this.#processors;
    for (let i = 0; i < processors.length; i++) {
      const processor = processors[i]!;
      if (processor.onStart === undefined) continue;
      try {
        processor.onStart(activity);
      } catch (error) {
        this.#reporter.report(processor, error, "ActivityProcessor.onStart");
      }
    }
  }

  #stopped(activity: Activity): void {
    // Also after shutdown: a processor counts what it can no longer export (an activity that
    // was running when the provider shut down), rather than it being lost unseen.
    if (!activity.isAllDataRequested) return;
    const processors = this.#processors;
    for (let i = 0; i < processors.length; i++) {
      const processor = processors[i]!;
      try {
        processor.onEnd(activity);
      } catch (error) {
        this.#reporter.report(processor, error, "ActivityProcessor.onEnd");
      }
    }
  }

  /**
   * Asks every processor to export what it holds.
   *
   * @returns A promise that settles when all processors are done; it never rejects.
   */
  async forceFlush(): Promise<void> {
    await Promise.all(this.#processors.map(async (processor) => {
      try {
        await processor.forceFlush?.();
      } catch (error) {
        this.#reporter.report(processor, error, "ActivityProcessor.forceFlush");
      }
    }));
  }

  /**
   * Stops listening, then shuts every processor down, which exports everything stopped before
   * this call. An activity still running is handed to the processors when it stops; a
   * {@linkcode BatchProcessor} counts it as dropped (`afterShutdown`). Calling it again returns
   * the same promise.
   *
   * @returns A promise that settles when done; it never rejects.
   */
  shutdown(): Promise<void> {
    if (this.#shutdown !== undefined) return this.#shutdown;
    this.#registration.remove();
    const done = Promise.all(this.#processors.map(async (processor) => {
      try {
        await processor.shutdown?.();
      } catch (error) {
        this.#reporter.report(processor, error, "ActivityProcessor.shutdown");
      }
    })).then(() => {});
    this.#shutdown = done;
    return done;
  }

  /**
   * Shuts down (for `using`). Synchronous exporters, such as the console exporter, have
   * written everything when this returns; use `await using` with asynchronous ones.
   */
  [Symbol.dispose](): void {
    this.shutdown().catch((error) => safeReport(this.#onError, error, "TracerProvider.shutdown"));
  }

  /** Shuts down and waits for it (for `await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }
}

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
   * Sets where failures of processors and exporters are reported (default: stderr).
   *
   * @param handler Receives the error and what failed.
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
    const onError = this.#onError ?? reportToStderr;
    const env = this.#environment === false ? undefined : readEnvConfig(
      this.#environment === undefined ? runtimeEnv : toEnvReader(this.#environment),
      (name, error) => safeReport(onError, error, `Environment variable ${name}`),
    );
    const processors = this.#processors.map((entry) =>
      entry instanceof DeferredBatch ? entry.make(env?.batch, onError) : entry
    );
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
