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

import type { Activity } from "./activity.ts";
import { type ActivityLimits, checkLimits, DEFAULT_LIMITS } from "./limits.ts";
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
import { Resource } from "./resource.ts";
import type { ActivityProcessor, FlushOptions } from "./processor.ts";
import { type Tags, toTagList } from "./tags.ts";
import {
  addDiagnosticHandler,
  type ErrorHandler,
  exporterName,
  filterReports,
  LOG_LEVELS,
  type LogLevel,
  removeDiagnosticHandler,
  ReportOnce,
  reportToStderr,
  safeReport,
} from "./_diagnostics.ts";
import { checkTimeoutMillis, settlesWithin, timeoutOption } from "./_timers.ts";
import { offProgramExit, onProgramExit } from "./_exit.ts";
import { notifyEach } from "./_notify.ts";
import { SourceCheck } from "./_source_check.ts";

/** The default of {@linkcode TracerProviderOptions.flushTimeoutMillis}, OpenTelemetry's 30 s. */
export const DEFAULT_FLUSH_TIMEOUT = 30_000;

/** How much longer than its processors the provider waits before it stops waiting for them. */
const FLUSH_GRACE = 100;

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
  // Debug mode only: says when no source matched.
  #sourceCheck: SourceCheck | undefined;

  /**
   * Makes a provider and starts listening.
   *
   * @param options Sources, processors, sampler, resource, limits and error handler.
   * @throws {TypeError} When an option has the wrong shape.
   */
  constructor(options: TracerProviderOptions = {}) {
    const { sources, processors, sampler, resource, given, logLevel } = checkOptions(options);
    this.#flushTimeout = options.flushTimeoutMillis === undefined
      ? DEFAULT_FLUSH_TIMEOUT
      : checkTimeoutMillis(options.flushTimeoutMillis, "Cannot build TracerProvider");
    const onError = filterReports(given, logLevel);
    const limits = options.limits === undefined ? undefined : checkLimits(options.limits);
    this.#pattern = wildcardPattern(sources);
    this.#processors = processors;
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
    if (logLevel === "debug") this.#sourceCheck = new SourceCheck(sources, onError);
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
    this.#sourceCheck?.saw(source.name, listens);
    return listens;
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
    notifyEach(
      this.#processors,
      callOnStart,
      activity,
      this.#reporter,
      "ActivityProcessor.onStart",
    );
  }

  #stopped(activity: Activity): void {
    // Also after shutdown: a processor counts what it can no longer export (an activity that
    // was running when the provider shut down), rather than it being lost unseen.
    if (!activity.isAllDataRequested) return;
    notifyEach(this.#processors, callOnEnd, activity, this.#reporter, "ActivityProcessor.onEnd");
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
    this.#sourceCheck?.end(true);
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

function callOnStart(processor: ActivityProcessor, activity: Activity): void {
  processor.onStart?.(activity);
}

function callOnEnd(processor: ActivityProcessor, activity: Activity): void {
  processor.onEnd(activity);
}

/**
 * Checks the options of a provider and fills in the defaults.
 *
 * @throws {TypeError} When an option has the wrong shape.
 */
function checkOptions(options: TracerProviderOptions): {
  sources: readonly string[];
  processors: readonly ActivityProcessor[];
  sampler: Sampler;
  resource: Resource;
  given: ErrorHandler;
  logLevel: LogLevel;
} {
  const sources = options.sources ?? [];
  for (const name of sources) {
    if (typeof name !== "string" || name === "") {
      throw new TypeError("Cannot build TracerProvider: source names must be non-empty strings");
    }
  }
  const processors = Object.freeze([...(options.processors ?? [])]);
  for (const processor of processors) {
    if (
      typeof processor !== "object" || processor === null || typeof processor.onEnd !== "function"
    ) {
      throw new TypeError("Cannot build TracerProvider: a processor must have an onEnd() function");
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
  return { sources, processors, sampler, resource, given, logLevel };
}
