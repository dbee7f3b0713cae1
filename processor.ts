/**
 * The contracts of the pipeline: {@linkcode ActivityProcessor} (with
 * {@linkcode ProcessorContext} and {@linkcode FlushOptions}), what a tracer provider hands
 * activities to, and {@linkcode ActivityExporter}, what processors hand them on to (an export
 * that may succeed if sent again fails with a {@linkcode RetryableExportError}); and the
 * simplest processor, {@linkcode SimpleProcessor}, which exports each activity as soon as it
 * stops.
 *
 * @example A processor of one's own
 * ```ts
 * import { type ActivityProcessor, ActivitySource, createTracerProviderBuilder } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * const names: string[] = [];
 * const processor: ActivityProcessor = { onEnd: (activity) => void names.push(activity.displayName) };
 * using _provider = createTracerProviderBuilder().addSource("App").addProcessor(processor).build();
 * new ActivitySource("App").startActivity("Work")?.stop();
 * assert.deepEqual(names, ["Work"]);
 * ```
 *
 * @module
 */

import type { Activity } from "./activity.ts";
import { Resource } from "./resource.ts";
import { type ErrorHandler, exporterName, ReportOnce } from "./_diagnostics.ts";
import { isPromiseLike } from "./_promise.ts";
import { settlesWithin, timeoutOption } from "./_timers.ts";

/**
 * Receives finished, recorded activities from a processor. `export` may return a promise;
 * throwing or rejecting marks the export as failed (the processor reports it and goes on).
 */
export interface ActivityExporter {
  /**
   * Exports a batch of stopped activities.
   *
   * @param activities The activities, in the order they stopped.
   * @param resource The resource of the provider they came through.
   */
  export(activities: readonly Activity[], resource: Resource): void | Promise<void>;
  /**
   * Sends whatever the exporter still holds. `options.timeoutMillis`, when given, is the time
   * the caller will wait.
   */
  forceFlush?(options?: FlushOptions): void | Promise<void>;
  /**
   * Flushes and releases the exporter; it receives nothing afterwards. When
   * `options.timeoutMillis` has passed, the exporter should give up what is still under way
   * (the caller has counted it as dropped).
   */
  shutdown?(options?: FlushOptions): void | Promise<void>;
  /**
   * Called by the processor the exporter is added to, when the provider is built: the
   * provider's resource and error handler, where the exporter's own reports should go.
   */
  register?(context: ProcessorContext): void;
}

/** Options of {@linkcode RetryableExportError}. */
export interface RetryableExportErrorOptions {
  /**
   * Milliseconds to wait before the retry (for example from an HTTP `Retry-After` header),
   * instead of the processor's backoff; at most 60 s is waited.
   * @default {undefined}
   */
  retryAfterMillis?: number;
  /**
   * The underlying error.
   * @default {undefined}
   */
  cause?: unknown;
}

/**
 * The error an exporter throws (or rejects with) when a batch may succeed if sent again, such
 * as a network error or an HTTP 429 or 503. A {@linkcode BatchProcessor} retries the same
 * batch, up to `maxExportAttempts` attempts in all, waiting between attempts; any other error
 * drops the batch at once. An error of another class with a property `retryable: true` counts
 * as retryable too.
 *
 * @example
 * ```ts
 * import { RetryableExportError } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * const error = new RetryableExportError("Collector busy (HTTP 503)", { retryAfterMillis: 2000 });
 * assert.equal(error.retryable, true);
 * assert.equal(error.retryAfterMillis, 2000);
 * assert.equal(error.name, "RetryableExportError");
 * ```
 */
export class RetryableExportError extends Error {
  /** `"RetryableExportError"`. */
  override name: string = "RetryableExportError";
  /** Always `true`: what the batch processor looks for. */
  readonly retryable: true = true;
  /** Milliseconds to wait before the retry, or `undefined` for the processor's backoff. */
  readonly retryAfterMillis: number | undefined;

  /**
   * Makes the error.
   *
   * @param message What failed.
   * @param options The delay before the retry, and the cause.
   */
  constructor(message: string, options: RetryableExportErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    const after = options.retryAfterMillis;
    this.retryAfterMillis = typeof after === "number" && after >= 0 && Number.isFinite(after)
      ? after
      : undefined;
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

/**
 * Whether an export error asks for a retry: a {@linkcode RetryableExportError}, or any error
 * with `retryable: true`. Never throws.
 */
export function isRetryable(error: unknown): boolean {
  if (error instanceof RetryableExportError) return true;
  try {
    return typeof error === "object" && error !== null &&
      (error as { retryable?: unknown }).retryable === true;
  } catch {
    return false; // A hostile error object: not retryable.
  }
}
