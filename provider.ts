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
  addDiagnosticHandler,
  type ErrorHandler,
  exporterName,
  filterReports,
  LOG_LEVELS,
  type LogLevel,
  removeDiagnosticHandler,
  type ReportLevel,
  ReportOnce,
  reportToStderr,
  safeReport,
} from "./_report.ts";
import { BatchProcessor, type BatchProcessorOptions, DEFAULT_BATCH_OPTIONS } from "./batch.ts";
import { type EnvironmentSource, readEnvConfig, runtimeEnv, toEnvReader } from "./_env.ts";
import type { OtlpExporterOptions } from "./otlp.ts";
import { OtlpExporterLoader } from "./_lazy_otlp.ts";
import { isPromiseLike } from "./_promise.ts";
import { checkTimeoutMillis, settlesWithin, timeoutOption, unrefTimer } from "./_timers.ts";
import { offProgramExit, onProgramExit } from "./_exit.ts";

export type { EnvironmentSource, ErrorHandler, LogLevel, ReportLevel };

/** The default of {@linkcode TracerProviderOptions.flushTimeoutMillis}, OpenTelemetry's 30 s. */
const DEFAULT_FLUSH_TIMEOUT = 30_000;

/** How much longer than its processors the provider waits before it stops waiting for them. */
const FLUSH_GRACE = 100;

/** How long after it is built a provider in debug mode checks that a source matched. */
const SOURCE_CHECK_DELAY = 5_000;

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

/** What a provider gives its processors (and they their exporters) when it is built. */
export interface ProcessorContext {
  /** The provider's resource. */
  readonly resource: Resource;
  /** Where failures and warnings are reported: the provider's error handler. */
  readonly reportError: ErrorHandler;
}

/** Options of `forceFlush` and `shutdown` (of providers and processors). */
export interface FlushOptions {
  /**
   * Milliseconds to wait at most, from 0 to 2147483647, or `Infinity` for no limit. When the
   * time has passed the call resolves: a flush leaves what is still pending queued, a
   * shutdown gives it up and counts it as dropped; either reports it once.
   * @default {the provider's flushTimeoutMillis (30000); for a processor used alone, Infinity}
   */
  timeoutMillis?: number;
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
  /** Exports whatever is pending, within `options.timeoutMillis` when given. */
  forceFlush?(options?: FlushOptions): void | Promise<void>;
  /** Exports whatever is pending and releases the exporter, within `options.timeoutMillis`. */
  shutdown?(options?: FlushOptions): void | Promise<void>;
  /**
   * Activities handed over and neither exported nor dropped yet, when the processor can tell;
   * the provider reports them if the program exits while they wait.
   */
  readonly pendingCount?: number;
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
  readonly #gaveUpParty = {};
  #exporterShutdown = false;
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

  /** Exports under way (one activity each). */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /**
   * Takes the provider's resource and error handler, and passes them on to the exporter.
   *
   * @param context The provider's context.
   */
  register(context: ProcessorContext): void {
    this.#resource = context.resource;
    this.#reporter = new ReportOnce(context.reportError);
    registerExporter(this.#exporter, context, this.#reporter);
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

  /** Calls the exporter, telling it the time left before `deadline` (a `Date.now()` value). */
  async #call(method: "forceFlush" | "shutdown", deadline: number): Promise<void> {
    if (method === "shutdown") {
      if (this.#exporterShutdown) return;
      this.#exporterShutdown = true;
    }
    try {
      await this.#exporter[method]?.(
        deadline === Infinity ? undefined : { timeoutMillis: Math.max(0, deadline - Date.now()) },
      );
    } catch (error) {
      this.#fail(error);
    }
  }

  /**
   * Waits for exports under way, then flushes the exporter; with `timeoutMillis`, stops
   * waiting when that time has passed and reports once how many exports are still under way.
   *
   * @param options `timeoutMillis`: how long to wait at most (default: no limit).
   * @returns A promise that settles when done; it never rejects.
   * @throws {TypeError} When `options` or `timeoutMillis` has the wrong type.
   * @throws {RangeError} When `timeoutMillis` is negative.
   */
  forceFlush(options?: FlushOptions): Promise<void> {
    const timeout = timeoutOption(options, Infinity, "Cannot flush SimpleProcessor");
    return this.#bounded("forceFlush", timeout);
  }

  /** Waits for the exports under way, then calls the exporter, at most `timeout` ms. */
  async #bounded(method: "forceFlush" | "shutdown", timeout: number): Promise<void> {
    const deadline = timeout === Infinity ? Infinity : Date.now() + timeout;
    const work = Promise.all(this.#pending).then(async () => {
      await this.#call("forceFlush", deadline);
      if (method === "shutdown") await this.#call("shutdown", deadline);
    });
    if (await settlesWithin(work, timeout)) return;
    const pending = this.#pending.size;
    const what = method === "forceFlush" ? "Flush" : "Shutdown";
    const message = pending === 0
      ? `${what} gave up after ${timeout} ms waiting for exporter ${
        exporterName(this.#exporter)
      } to ${method === "forceFlush" ? "flush" : "shut down"}`
      : method === "forceFlush"
      ? `${what} gave up after ${timeout} ms: ${pending} exports are still under way`
      : `${what} gave up after ${timeout} ms: ${pending} exports still under way are abandoned`;
    this.#reporter.report(
      this.#gaveUpParty,
      new Error(message),
      `SimpleProcessor.${method}`,
      method === "shutdown" && pending > 0 ? "error" : "warn",
    );
    // No time is left: the exporter gives up what it still sends (at once, if it can).
    if (method === "shutdown") this.#call("shutdown", 0);
  }

  /**
   * Flushes, then shuts the exporter down; later activities are not exported. With
   * `timeoutMillis`, gives up when that time has passed and reports how many exports were
   * still under way. Calling it again returns the same promise.
   *
   * @param options `timeoutMillis`: how long to wait at most (default: no limit).
   * @returns A promise that settles when done; it never rejects.
   * @throws {TypeError} When `options` or `timeoutMillis` has the wrong type.
   * @throws {RangeError} When `timeoutMillis` is negative.
   */
  shutdown(options?: FlushOptions): Promise<void> {
    if (this.#shutdown !== undefined) return this.#shutdown;
    const timeout = timeoutOption(options, Infinity, "Cannot shut down SimpleProcessor");
    return this.#shutdown = this.#bounded("shutdown", timeout);
  }
}

/**
 * Gives an exporter that wants them (the OTLP exporter does) the provider's resource and error
 * handler, so that what it reports goes where the provider's reports go.
 */
export function registerExporter(
  exporter: ActivityExporter,
  context: ProcessorContext,
  reporter: ReportOnce,
): void {
  try {
    exporter.register?.(context);
  } catch (error) {
    reporter.report(exporter, error, `Exporter ${exporterName(exporter)}.register`);
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
   * Receives failures of processors and exporters (each failing party once), warnings, and
   * debug notes when `logLevel` is `"debug"`.
   * @default {a line on stderr}
   */
  onError?: ErrorHandler;
  /**
   * How long {@linkcode TracerProvider.forceFlush} and {@linkcode TracerProvider.shutdown}
   * wait at most, in milliseconds (0 to 2147483647, or `Infinity` for no limit), unless a call
   * gives its own `timeoutMillis`. It also bounds the flush when the program ends without
   * `shutdown()`.
   * @default {30000}
   */
  flushTimeoutMillis?: number;
  /**
   * Which reports reach `onError`: `"none"`, `"error"`, `"warn"`, `"info"` (errors and
   * warnings) or `"debug"` (also notes such as a provider whose sources matched nothing).
   * @default {"info"}
   */
  logLevel?: LogLevel;
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
  readonly #flushTimeout: number;
  readonly #stuck = new WeakSet<ActivityProcessor>();
  readonly #exitHooks = { beforeExit: () => this.#beforeExit(), exit: () => this.#exit() };
  #shutdown: Promise<void> | undefined;
  #ended = false;
  // Debug mode only: whether a source matched, and the names of some that did not.
  #sourceCheck:
    | {
      timer: unknown;
      matched: boolean;
      seen: string[];
      earlier: number;
      names: readonly string[];
    }
    | undefined;

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
    const given = options.onError ?? reportToStderr;
    if (typeof given !== "function") {
      throw new TypeError("Cannot build TracerProvider: onError must be a function");
    }
    const logLevel = options.logLevel ?? "info";
    if (!LOG_LEVELS.includes(logLevel)) {
      throw new TypeError(
        `Cannot build TracerProvider: logLevel must be one of ${LOG_LEVELS.join(", ")}, got ${
          String(logLevel)
        }`,
      );
    }
    this.#flushTimeout = options.flushTimeoutMillis === undefined
      ? DEFAULT_FLUSH_TIMEOUT
      : checkTimeoutMillis(options.flushTimeoutMillis, "Cannot build TracerProvider");
    const onError = filterReports(given, logLevel);
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
    if (logLevel === "debug") this.#startSourceCheck(sources);
    const listener: ActivityListener = {
      shouldListenTo: (source) => this.#listensTo(source),
      sample: (creation) => this.#sample(creation),
      activityStarted: (activity) => this.#started(activity),
      activityStopped: (activity) => this.#stopped(activity),
      // Always stated, so that a provider left at the defaults keeps them beside a stricter one.
      limits: limits ?? DEFAULT_LIMITS,
    };
    this.#registration = ActivitySource.addActivityListener(listener);
    addDiagnosticHandler(onError);
    onProgramExit(this.#exitHooks);
  }

  #listensTo(source: ActivitySource): boolean {
    const listens = this.#pattern?.test(source.name) ?? false;
    const check = this.#sourceCheck;
    if (check !== undefined) {
      if (listens) check.matched = true;
      else {
        // The last ten names are kept: those of the program's latest sources.
        if (check.seen.push(source.name) > 10) {
          check.seen.shift();
          check.earlier++;
        }
      }
    }
    return listens;
  }

  /** Debug mode: says when the provider listens to nothing, at once or after a few seconds. */
  #startSourceCheck(sources: readonly string[]): void {
    if (sources.length === 0) {
      safeReport(
        this.#onError,
        new Error(
          "The provider listens to no source, so it records nothing: add sources with addSource(name)",
        ),
        "TracerProvider",
        "debug",
      );
      return;
    }
    const check = {
      timer: undefined as unknown,
      matched: false,
      seen: [] as string[],
      earlier: 0,
      names: sources,
    };
    this.#sourceCheck = check;
    try {
      check.timer = globalThis.setTimeout(() => this.#endSourceCheck(false), SOURCE_CHECK_DELAY);
      unrefTimer(check.timer);
    } catch {
      // Without a timer, the check runs at shutdown only.
    }
  }

  #endSourceCheck(atShutdown: boolean): void {
    const check = this.#sourceCheck;
    if (check === undefined) return;
    this.#sourceCheck = undefined;
    try {
      globalThis.clearTimeout(check.timer as number);
    } catch {
      // Already fired.
    }
    if (check.matched) return;
    const patterns = check.names.map((n) => JSON.stringify(n)).join(", ");
    safeReport(
      this.#onError,
      new Error(
        `No source matched the provider's sources (${patterns}) ${
          atShutdown ? "before it was shut down" : `in its first ${SOURCE_CHECK_DELAY / 1000} s`
        }, so it has recorded nothing; sources seen: ${
          check.seen.length === 0
            ? "none"
            : `${check.earlier > 0 ? `${check.earlier} others, then ` : ""}${
              check.seen.map((n) => JSON.stringify(n)).join(", ")
            }`
        }`,
      ),
      "TracerProvider",
      "debug",
    );
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
   * How long {@linkcode TracerProvider.forceFlush} and {@linkcode TracerProvider.shutdown}
   * wait at most unless told otherwise, in milliseconds.
   */
  get flushTimeoutMillis(): number {
    return this.#flushTimeout;
  }

  /**
   * Asks every processor to export what it holds, and waits at most `timeoutMillis` (the
   * provider's `flushTimeoutMillis`, 30 s by default). When the time has passed it resolves;
   * what is still waiting stays queued and is reported once.
   *
   * @param options `timeoutMillis`: how long to wait at most (`Infinity`: no limit).
   * @returns A promise that settles when all processors are done or the time has passed; it
   * never rejects.
   * @throws {TypeError} When `options` or `timeoutMillis` has the wrong type.
   * @throws {RangeError} When `timeoutMillis` is negative.
   *
   * @example Flush with a deadline
   * ```ts
   * import { ActivitySource, createTracerProviderBuilder } from "@tracelinks/activity";
   * import assert from "node:assert/strict";
   *
   * const reports: string[] = [];
   * await using provider = createTracerProviderBuilder()
   *   .addSource("App")
   *   .addBatchExporter({ export: () => new Promise<void>(() => {}) }) // never answers
   *   .setErrorHandler((error, where) => reports.push(where))
   *   .build();
   * new ActivitySource("App").startActivity("Work")?.stop();
   * await provider.forceFlush({ timeoutMillis: 10 });
   * assert.deepEqual(reports, ["BatchProcessor.forceFlush"]);
   * await provider.shutdown({ timeoutMillis: 10 }); // gives the activity up, counted as dropped
   * ```
   */
  forceFlush(options?: FlushOptions): Promise<void> {
    const timeout = timeoutOption(options, this.#flushTimeout, "Cannot flush TracerProvider");
    return this.#each("forceFlush", timeout);
  }

  /**
   * Stops listening, then shuts every processor down, which exports everything stopped before
   * this call; waits at most `timeoutMillis` (the provider's `flushTimeoutMillis`, 30 s by
   * default). When the time has passed it resolves, and what was not exported is counted as
   * dropped (a {@linkcode BatchProcessor}'s `droppedByReason.abandoned`) and reported once.
   * An activity still running is handed to the processors when it stops; a batch processor
   * counts it as dropped (`afterShutdown`). Calling it again returns the same promise.
   *
   * @param options `timeoutMillis`: how long to wait at most (`Infinity`: no limit).
   * @returns A promise that settles when done or when the time has passed; it never rejects.
   * @throws {TypeError} When `options` or `timeoutMillis` has the wrong type.
   * @throws {RangeError} When `timeoutMillis` is negative.
   */
  shutdown(options?: FlushOptions): Promise<void> {
    if (this.#shutdown !== undefined) return this.#shutdown;
    const timeout = timeoutOption(options, this.#flushTimeout, "Cannot shut down TracerProvider");
    this.#registration.remove();
    this.#endSourceCheck(true);
    const done = this.#each("shutdown", timeout).then(() => {
      this.#ended = true;
      offProgramExit(this.#exitHooks);
      removeDiagnosticHandler(this.#onError);
    });
    this.#shutdown = done;
    return done;
  }

  /** Calls `method` on every processor, waiting at most `timeout` ms for them all. */
  async #each(method: "forceFlush" | "shutdown", timeout: number): Promise<void> {
    const unfinished = new Set<ActivityProcessor>();
    const calls = this.#processors.map(async (processor) => {
      unfinished.add(processor);
      try {
        // The processor gets the same time: it gives up (and counts what it drops) itself.
        await processor[method]?.({ timeoutMillis: timeout });
      } catch (error) {
        this.#reporter.report(processor, error, `ActivityProcessor.${method}`);
      } finally {
        unfinished.delete(processor);
      }
    });
    // A little later than the processors, whose own give-up (and count) comes first.
    const grace = timeout === Infinity ? timeout : timeout + FLUSH_GRACE;
    if (await settlesWithin(Promise.all(calls), grace)) return;
    // Processors that do not take a timeout: the provider stops waiting for them.
    for (const processor of unfinished) {
      if (this.#stuck.has(processor)) continue;
      this.#stuck.add(processor);
      safeReport(
        this.#onError,
        new Error(
          `${
            exporterName(processor)
          }.${method}() did not finish within ${timeout} ms; the provider no longer waits for it`,
        ),
        `TracerProvider.${method}`,
        method === "shutdown" ? "error" : "warn",
      );
    }
  }

  /**
   * The program has nothing left to do: shut down (or finish a shutdown that was not awaited),
   * which keeps it alive until done.
   */
  #beforeExit(): Promise<void> | undefined {
    return this.#ended ? undefined : this.#shutdown ?? this.shutdown();
  }

  /**
   * The program ends now (`Deno.exit()`, `process.exit()`, or a shutdown still under way):
   * what synchronous exporters can take is exported, the rest is reported as lost.
   */
  #exit(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#shutdown === undefined) this.shutdown().catch(() => {});
    let pending = 0;
    for (const processor of this.#processors) {
      try {
        const count = processor.pendingCount;
        if (typeof count === "number" && count > 0) pending += count;
      } catch {
        // A processor that cannot tell.
      }
    }
    if (pending === 0) return;
    safeReport(
      this.#onError,
      new Error(
        `The program ended with ${pending} ${
          pending === 1 ? "activity" : "activities"
        } not exported yet, which are lost: await provider.shutdown() (or use await using) before it ends`,
      ),
      "TracerProvider",
      "error",
    );
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
