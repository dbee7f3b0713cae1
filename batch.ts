/**
 * {@linkcode BatchProcessor}: queues recorded activities and hands them to an exporter in
 * batches, one export at a time, as OpenTelemetry's batch span processor does: a bounded queue
 * that drops and counts when full, a scheduled delay whose timer never keeps the program alive,
 * an export timeout, bounded retries of a batch that failed with a retryable error, and a
 * `forceFlush` and `shutdown` that export everything queued before they return.
 *
 * @example Batch into an in-memory exporter
 * ```ts
 * import { ActivitySource, BatchProcessor, createTracerProviderBuilder, InMemoryExporter } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * const exporter = new InMemoryExporter();
 * const batch = new BatchProcessor(exporter, { maxExportBatchSize: 100 });
 * const provider = createTracerProviderBuilder().addSource("App").addProcessor(batch).build();
 * const source = new ActivitySource("App");
 * for (let i = 0; i < 250; i++) source.startActivity(`Work ${i}`)?.stop();
 * await provider.shutdown();
 * assert.equal(exporter.activities.length, 250);
 * assert.equal(batch.droppedCount, 0);
 * ```
 *
 * @module
 */

import type { Activity } from "./activity.ts";
import type { ActivityExporter } from "./exporter.ts";
import {
  type ActivityProcessor,
  type FlushOptions,
  type ProcessorContext,
  registerExporter,
} from "./processor.ts";
import { Resource } from "./resource.ts";
import {
  type ErrorHandler,
  exporterName,
  ReportOnce,
  reportToStderr,
  safeReport,
} from "./_diagnostics.ts";
import { isPromiseLike } from "./_promise.ts";
import { MAX_TIMER_DELAY, timeoutOption, unrefTimer } from "./_timers.ts";

/**
 * The timer functions a {@linkcode BatchProcessor} uses, shaped like `setTimeout` and
 * `clearTimeout`. Inject your own to drive the processor with a fake clock in tests.
 */
export interface BatchTimers {
  /**
   * Calls `callback` once after `delay` milliseconds.
   *
   * @param callback What to call.
   * @param delay Milliseconds to wait.
   * @returns A handle for `clearTimeout`.
   */
  setTimeout(callback: () => void, delay: number): unknown;
  /**
   * Cancels a timer.
   *
   * @param handle What `setTimeout` returned.
   */
  clearTimeout(handle: unknown): void;
}

/** Options of {@linkcode BatchProcessor}; the names and defaults of OpenTelemetry's. */
export interface BatchProcessorOptions {
  /**
   * Activities waiting for export at most; beyond it, stopped activities are dropped and
   * counted (`OTEL_BSP_MAX_QUEUE_SIZE`). A positive integer.
   * @default {2048}
   */
  maxQueueSize?: number;
  /**
   * Activities per export at most; a full batch is exported at once, without waiting for the
   * scheduled delay (`OTEL_BSP_MAX_EXPORT_BATCH_SIZE`). A positive integer, at most
   * `maxQueueSize`.
   * @default {512}
   */
  maxExportBatchSize?: number;
  /**
   * Milliseconds between the first activity queued and the export of a batch that is not
   * full (`OTEL_BSP_SCHEDULE_DELAY`). From 0 to 2147483647.
   * @default {5000}
   */
  scheduledDelayMillis?: number;
  /**
   * Milliseconds an export may take; a batch whose export takes longer is counted as dropped
   * and the next batch goes (`OTEL_BSP_EXPORT_TIMEOUT`). From 1 to 2147483647, or `Infinity`
   * for no limit. It also bounds the exporter's `forceFlush` and `shutdown`.
   * @default {30000}
   */
  exportTimeoutMillis?: number;
  /**
   * Attempts per batch when the exporter fails with a retryable error (see
   * {@linkcode RetryableExportError}); 1 disables retries. A positive integer.
   * @default {5}
   */
  maxExportAttempts?: number;
  /**
   * Milliseconds before the first retry; each further retry waits twice as long as the one
   * before, at most 60 s. A retryable error's `retryAfterMillis` replaces this delay.
   * @default {1000}
   */
  retryDelayMillis?: number;
  /**
   * The timer functions. By default the runtime's `setTimeout`, with each timer unreferenced
   * (`Deno.unrefTimer`, or `timer.unref()` on Node and Bun) so that it never keeps the program
   * alive.
   * @default {globalThis}
   */
  timers?: BatchTimers;
  /**
   * Receives failures: a full queue (once per burst), a failed or timed-out export (once per
   * kind). By default the handler of the tracer provider the processor is added to.
   * @default {the provider's error handler, else a line on stderr}
   */
  onError?: ErrorHandler;
}

/** How many activities a {@linkcode BatchProcessor} dropped, by reason. */
export interface BatchDropCounts {
  /** Stopped while the queue was full. */
  readonly queueFull: number;
  /** In a batch whose export failed (a non-retryable error, or retries used up). */
  readonly exportFailed: number;
  /** In a batch whose export took longer than the export timeout. */
  readonly timedOut: number;
  /** Handed to the processor after `shutdown` was called. */
  readonly afterShutdown: number;
  /**
   * Still queued, or in an export under way, when `shutdown` gave up at its `timeoutMillis`
   * (an export under way is counted here even if it arrives later).
   */
  readonly abandoned: number;
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

/**
 * The default values of {@linkcode BatchProcessorOptions}, OpenTelemetry's.
 *
 * @example
 * ```ts
 * import { DEFAULT_BATCH_OPTIONS } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * assert.equal(DEFAULT_BATCH_OPTIONS.maxQueueSize, 2048);
 * assert.equal(DEFAULT_BATCH_OPTIONS.maxExportBatchSize, 512);
 * ```
 */
export const DEFAULT_BATCH_OPTIONS: Readonly<{
  maxQueueSize: number;
  maxExportBatchSize: number;
  scheduledDelayMillis: number;
  exportTimeoutMillis: number;
  maxExportAttempts: number;
  retryDelayMillis: number;
}> = Object.freeze({
  maxQueueSize: 2048,
  maxExportBatchSize: 512,
  scheduledDelayMillis: 5000,
  exportTimeoutMillis: 30000,
  maxExportAttempts: 5,
  retryDelayMillis: 1000,
});

const MAX_RETRY_DELAY = 60_000;

const OK = 0;
const TIMED_OUT = 1;
type Outcome = typeof OK | typeof TIMED_OUT | { error: unknown };

/** A batch whose export is under way asynchronously. */
interface InFlight {
  readonly size: number;
  /** Set when shutdown gave up on it: its outcome is no longer counted. */
  abandoned: boolean;
}

/**
 * Queues recorded activities and exports them in batches, one export at a time (.NET's
 * `BatchActivityExportProcessor`, OpenTelemetry's batch span processor).
 *
 * - A batch is exported when `maxExportBatchSize` activities are queued, or
 *   `scheduledDelayMillis` after the first activity of a batch was queued. The timer is
 *   unreferenced: it never keeps the program alive, so end the program with
 *   `await provider.shutdown()` (or `await using provider = ...`) to export what is queued.
 * - When `maxQueueSize` activities are waiting, further ones are dropped and counted
 *   ({@linkcode BatchProcessor.droppedCount}); the error handler hears of it once per burst (a
 *   burst ends when the queue has drained to half).
 * - An export that throws or rejects with a {@linkcode RetryableExportError} (or any error with
 *   `retryable: true`) is tried again, up to `maxExportAttempts` attempts in all, with a
 *   doubling delay; other failures, and the last failed attempt, drop the batch and count it.
 *   An export that takes longer than `exportTimeoutMillis` is abandoned and its batch counted
 *   as dropped (it is not retried, since it may have arrived). Every activity handed to the
 *   processor is therefore either exported once or counted once.
 * - {@linkcode BatchProcessor.forceFlush} exports everything queued when it is called;
 *   {@linkcode BatchProcessor.shutdown} stops accepting, exports everything queued, then shuts
 *   the exporter down. Both resolve, never reject; a second `shutdown` returns the first one's
 *   promise; activities handed over after `shutdown` are counted as dropped
 *   (`droppedByReason.afterShutdown`), and a flush with nothing queued only flushes the
 *   exporter. Given a `timeoutMillis` (the tracer provider passes its own, 30 s by default),
 *   they give up when it passes: a flush leaves the rest queued, a shutdown counts it as
 *   dropped (`droppedByReason.abandoned`); either reports it once.
 *   `exportedCount + droppedCount + pendingCount` is always the number of recorded activities
 *   handed over.
 *
 * @example Retry a busy collector, then shut down
 * ```ts
 * import { ActivitySource, BatchProcessor, createTracerProviderBuilder, RetryableExportError } from "@tracelinks/activity";
 * import type { Activity } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * const received: Activity[] = [];
 * let calls = 0;
 * const batch = new BatchProcessor({
 *   export(activities) {
 *     if (++calls === 1) throw new RetryableExportError("Busy", { retryAfterMillis: 1 });
 *     received.push(...activities);
 *   },
 * });
 * const provider = createTracerProviderBuilder().addSource("App").addProcessor(batch).build();
 * new ActivitySource("App").startActivity("Work")?.stop();
 * await provider.shutdown();
 * assert.equal(received.length, 1);
 * assert.equal(calls, 2);
 * assert.equal(batch.exportedCount, 1);
 * ```
 */
export class BatchProcessor implements ActivityProcessor {
  readonly #exporter: ActivityExporter;
  readonly #maxQueue: number;
  readonly #batchSize: number;
  readonly #delay: number;
  readonly #timeout: number;
  readonly #attempts: number;
  readonly #retryDelay: number;
  readonly #timers: BatchTimers;
  readonly #ownTimers: boolean;
  readonly #ownHandler: ErrorHandler | undefined;
  #onError: ErrorHandler;
  #reporter: ReportOnce;
  #resource: Resource = Resource.empty;
  readonly #timeoutParty = {};

  // The queue: a ring buffer of maxQueueSize slots.
  readonly #queue: (Activity | undefined)[];
  #head = 0;
  #count = 0;
  // Activities ever queued, taken out for export, and done with (exported or dropped).
  #enqueued = 0;
  #settled = 0;

  #exported = 0;
  #droppedQueueFull = 0;
  #droppedFailed = 0;
  #droppedTimedOut = 0;
  #droppedAfterShutdown = 0;
  #droppedAbandoned = 0;
  #inBurst = false;
  // The batch whose export is under way asynchronously, if any.
  #current: InFlight | undefined;
  readonly #flushGaveUpParty = {};
  #exporterShutdown: Promise<void> | undefined;

  #timer: unknown;
  #timerArmed = false;
  #busy: Promise<void> | undefined;
  #exporting = false;
  #closed = false;
  #shutdown: Promise<void> | undefined;

  /**
   * Makes the processor.
   *
   * @param exporter Where batches go.
   * @param options Queue and batch sizes, delays, timeout, retries, timers, error handler.
   * @throws {TypeError} When the exporter has no `export` function, or an option has the
   * wrong type.
   * @throws {RangeError} When a number is out of range (a negative or non-integer queue size, a
   * batch larger than the queue, ...); the message names the option and the value.
   */
  constructor(exporter: ActivityExporter, options: BatchProcessorOptions = {}) {
    if (
      typeof exporter !== "object" || exporter === null || typeof exporter.export !== "function"
    ) {
      throw new TypeError(
        "Cannot make BatchProcessor: the exporter must have an export() function",
      );
    }
    if (typeof options !== "object" || options === null) {
      throw new TypeError("Cannot make BatchProcessor: options must be an object");
    }
    const d = DEFAULT_BATCH_OPTIONS;
    this.#maxQueue = checkInteger("maxQueueSize", options.maxQueueSize, d.maxQueueSize, 1);
    this.#batchSize = checkInteger(
      "maxExportBatchSize",
      options.maxExportBatchSize,
      d.maxExportBatchSize,
      1,
    );
    if (this.#batchSize > this.#maxQueue) {
      if (options.maxExportBatchSize === undefined) {
        this.#batchSize = this.#maxQueue;
      } else {
        throw new RangeError(
          `Cannot make BatchProcessor: maxExportBatchSize ${this.#batchSize} is larger than maxQueueSize ${this.#maxQueue}`,
        );
      }
    }
    this.#delay = checkMillis(
      "scheduledDelayMillis",
      options.scheduledDelayMillis,
      d.scheduledDelayMillis,
      0,
      false,
    );
    this.#timeout = checkMillis(
      "exportTimeoutMillis",
      options.exportTimeoutMillis,
      d.exportTimeoutMillis,
      1,
      true,
    );
    this.#attempts = checkInteger(
      "maxExportAttempts",
      options.maxExportAttempts,
      d.maxExportAttempts,
      1,
    );
    this.#retryDelay = checkMillis(
      "retryDelayMillis",
      options.retryDelayMillis,
      d.retryDelayMillis,
      0,
      false,
    );
    const timers = options.timers;
    if (
      timers !== undefined &&
      (typeof timers !== "object" || timers === null ||
        typeof timers.setTimeout !== "function" || typeof timers.clearTimeout !== "function")
    ) {
      throw new TypeError(
        "Cannot make BatchProcessor: timers must have setTimeout() and clearTimeout() functions",
      );
    }
    if (options.onError !== undefined && typeof options.onError !== "function") {
      throw new TypeError("Cannot make BatchProcessor: onError must be a function");
    }
    this.#exporter = exporter;
    this.#timers = timers ?? RUNTIME_TIMERS;
    this.#ownTimers = timers === undefined;
    this.#ownHandler = options.onError;
    this.#onError = options.onError ?? reportToStderr;
    this.#reporter = new ReportOnce(this.#onError);
    this.#queue = new Array(this.#maxQueue);
  }

  /** Activities waiting in the queue (not counting a batch being exported). */
  get queueLength(): number {
    return this.#count;
  }

  /** Activities exported successfully. */
  get exportedCount(): number {
    return this.#exported;
  }

  /**
   * Activities handed to the processor and not exported: the sum of
   * {@linkcode BatchProcessor.droppedByReason}.
   */
  get droppedCount(): number {
    return this.#droppedQueueFull + this.#droppedFailed + this.#droppedTimedOut +
      this.#droppedAfterShutdown + this.#droppedAbandoned;
  }

  /**
   * Activities handed over and neither exported nor dropped yet: queued, or in an export under
   * way. `exportedCount + droppedCount + pendingCount` is the number of recorded activities
   * handed to the processor.
   */
  get pendingCount(): number {
    return this.#enqueued - this.#settled;
  }

  /** The dropped activities by reason (a snapshot). */
  get droppedByReason(): BatchDropCounts {
    return Object.freeze({
      queueFull: this.#droppedQueueFull,
      exportFailed: this.#droppedFailed,
      timedOut: this.#droppedTimedOut,
      afterShutdown: this.#droppedAfterShutdown,
      abandoned: this.#droppedAbandoned,
    });
  }

  /** Whether {@linkcode BatchProcessor.shutdown} has been called. */
  get isShutdown(): boolean {
    return this.#closed;
  }

  /**
   * Takes the provider's resource, and its error handler unless `onError` was given, and
   * passes them on to the exporter.
   *
   * @param context The provider's context.
   */
  register(context: ProcessorContext): void {
    this.#resource = context.resource;
    if (this.#ownHandler === undefined) {
      this.#onError = context.reportError;
      this.#reporter = new ReportOnce(context.reportError);
    }
    registerExporter(
      this.#exporter,
      { resource: context.resource, reportError: this.#onError },
      this.#reporter,
    );
  }

  /**
   * Queues the activity if it is recorded; drops and counts it when the queue is full or the
   * processor is shut down. Never throws.
   *
   * @param activity The stopped activity.
   */
  onEnd(activity: Activity): void {
    if (!activity.recorded) return;
    if (this.#closed) {
      this.#droppedAfterShutdown++;
      return;
    }
    if (this.#count >= this.#maxQueue) {
      this.#droppedQueueFull++;
      if (!this.#inBurst) {
        this.#inBurst = true;
        safeReport(
          this.#onError,
          new Error(
            `Cannot queue activity: ${this.#maxQueue} activities are waiting for export; activities are dropped until the queue drains (droppedCount has the total)`,
          ),
          "BatchProcessor queue",
        );
      }
      return;
    }
    let tail = this.#head + this.#count;
    if (tail >= this.#maxQueue) tail -= this.#maxQueue;
    this.#queue[tail] = activity;
    this.#count++;
    this.#enqueued++;
    if (this.#exporting) return;
    if (this.#count >= this.#batchSize) this.#startExport();
    else if (!this.#timerArmed) this.#armTimer();
  }

  #armTimer(): void {
    this.#timerArmed = true;
    this.#timer = this.#setTimer(() => {
      this.#timerArmed = false;
      this.#timer = undefined;
      if (!this.#exporting && this.#count > 0) this.#startExport();
    }, this.#delay);
  }

  #clearTimer(): void {
    if (!this.#timerArmed) return;
    this.#timerArmed = false;
    const handle = this.#timer;
    this.#timer = undefined;
    try {
      this.#timers.clearTimeout(handle);
    } catch (error) {
      safeReport(this.#onError, error, "BatchProcessor timers.clearTimeout");
    }
  }

  #setTimer(callback: () => void, delay: number): unknown {
    try {
      const handle = this.#timers.setTimeout(callback, delay);
      if (this.#ownTimers) unrefTimer(handle);
      return handle;
    } catch (error) {
      // Without a timer, run on the next turn rather than never.
      safeReport(this.#onError, error, "BatchProcessor timers.setTimeout");
      queueMicrotask(callback);
      return undefined;
    }
  }

  /**
   * Exports batches one at a time. While the exporter answers synchronously (the console and
   * in-memory exporters do), batches go one after another at once, so a synchronous burst
   * larger than the queue is not dropped; an asynchronous export holds the slot until it
   * settles.
   */
  #startExport(): void {
    this.#clearTimer();
    this.#exporting = true;
    for (;;) {
      const pending = this.#exportBatch();
      if (pending !== undefined) {
        this.#busy = pending.then(() => {
          this.#busy = undefined;
          this.#exporting = false;
          this.#next();
        });
        return;
      }
      if (!(this.#count >= this.#batchSize || (this.#closed && this.#count > 0))) break;
    }
    this.#exporting = false;
    this.#next();
  }

  /** After an export: the next full batch at once, else the timer for a partial one. */
  #next(): void {
    if (this.#count >= this.#batchSize || (this.#closed && this.#count > 0)) {
      this.#startExport();
    } else if (this.#count > 0 && !this.#timerArmed && !this.#closed) {
      this.#armTimer();
    }
  }

  /** Takes a batch and exports it; returns a promise unless it was done with synchronously. */
  #exportBatch(): Promise<void> | undefined {
    const n = Math.min(this.#count, this.#batchSize);
    const batch: Activity[] = new Array(n);
    const queue = this.#queue;
    let head = this.#head;
    for (let i = 0; i < n; i++) {
      batch[i] = queue[head]!;
      queue[head] = undefined;
      if (++head === this.#maxQueue) head = 0;
    }
    this.#head = head;
    this.#count -= n;
    if (this.#inBurst && this.#count <= this.#maxQueue / 2) this.#inBurst = false;
    Object.freeze(batch);
    const outcome = this.#attempt(batch);
    if (!isPromiseLike(outcome) && this.#conclude(n, outcome, 1)) {
      this.#settled += n;
      return undefined;
    }
    const token: InFlight = { size: n, abandoned: false };
    this.#current = token;
    return this.#exportAsync(batch, outcome, token);
  }

  async #exportAsync(
    batch: readonly Activity[],
    first: Outcome | Promise<Outcome>,
    token: InFlight,
  ): Promise<void> {
    try {
      let outcome = await first;
      for (let attempt = 1;; attempt++) {
        // A batch that shutdown gave up on is already counted: its outcome is ignored.
        if (token.abandoned || this.#conclude(batch.length, outcome, attempt)) return;
        await this.#sleep(this.#backoff(attempt, (outcome as { error: unknown }).error));
        if (token.abandoned) return;
        outcome = await this.#attempt(batch);
      }
    } catch (error) {
      // Not expected: every failure of the exporter is an outcome.
      safeReport(this.#onError, error, "BatchProcessor export");
    } finally {
      if (!token.abandoned) this.#settled += batch.length;
      if (this.#current === token) this.#current = undefined;
    }
  }

  /**
   * Counts the outcome of an attempt; returns false when the batch is to be tried again (a
   * retryable error with attempts left).
   */
  #conclude(n: number, outcome: Outcome, attempt: number): boolean {
    if (outcome === OK) {
      this.#exported += n;
      return true;
    }
    if (outcome === TIMED_OUT) {
      this.#droppedTimedOut += n;
      this.#reporter.report(
        this.#timeoutParty,
        new Error(
          `Export timed out after ${this.#timeout} ms; its ${n} activities are counted as dropped`,
        ),
        `Exporter ${exporterName(this.#exporter)}`,
      );
      return true;
    }
    if (attempt < this.#attempts && isRetryable(outcome.error)) return false;
    this.#droppedFailed += n;
    this.#reporter.report(
      this.#exporter,
      outcome.error,
      `Exporter ${exporterName(this.#exporter)}`,
    );
    return true;
  }

  #attempt(batch: readonly Activity[]): Outcome | Promise<Outcome> {
    let result: unknown;
    try {
      result = this.#exporter.export(batch, this.#resource);
    } catch (error) {
      return { error };
    }
    if (!isPromiseLike(result)) return OK;
    return this.#bounded(result, this.#timeout);
  }

  /** Waits for a promise, at most `ms` milliseconds (`Infinity`: no limit). */
  #bounded(promise: PromiseLike<unknown>, ms: number): Promise<Outcome> {
    if (ms === Infinity) {
      return Promise.resolve(promise).then(() => OK, (error: unknown) => ({ error }));
    }
    return new Promise<Outcome>((resolve) => {
      let done = false;
      const handle = this.#setTimer(() => {
        if (done) return;
        done = true;
        resolve(TIMED_OUT);
      }, ms);
      const finish = (outcome: Outcome) => {
        if (done) return;
        done = true;
        try {
          this.#timers.clearTimeout(handle);
        } catch {
          // The timer fires later and finds the outcome settled.
        }
        resolve(outcome);
      };
      Promise.resolve(promise).then(() => finish(OK), (error: unknown) => finish({ error }));
    });
  }

  #backoff(attempt: number, error: unknown): number {
    let after: unknown;
    try {
      after = (error as { retryAfterMillis?: unknown }).retryAfterMillis;
    } catch {
      // A hostile error object: the usual backoff.
    }
    if (typeof after === "number" && after >= 0 && Number.isFinite(after)) {
      return Math.min(after, MAX_RETRY_DELAY);
    }
    return Math.min(this.#retryDelay * 2 ** (attempt - 1), MAX_RETRY_DELAY);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#setTimer(resolve, ms);
    });
  }

  /** Exports, one batch at a time, until every activity queued so far is done with. */
  async #drain(): Promise<void> {
    const target = this.#enqueued;
    while (this.#settled < target) {
      if (this.#busy !== undefined) await this.#busy;
      else if (this.#count > 0 && !this.#exporting) this.#startExport();
      else break;
    }
  }

  /** Keeps the program alive while a flush or shutdown is awaited (the runtime's timers only). */
  #hold(): () => void {
    if (!this.#ownTimers) return noop;
    try {
      const handle = globalThis.setInterval(noop, MAX_TIMER_DELAY);
      return () => globalThis.clearInterval(handle);
    } catch {
      return noop;
    }
  }

  /**
   * Calls an optional exporter method, bounded by the export timeout; reports failures. The
   * exporter is told the time left before `deadline` (a `Date.now()` value).
   */
  async #callExporter(method: "forceFlush" | "shutdown", deadline: number): Promise<void> {
    let result: unknown;
    try {
      result = this.#exporter[method]?.(
        deadline === Infinity ? undefined : { timeoutMillis: Math.max(0, deadline - Date.now()) },
      );
    } catch (error) {
      this.#reporter.report(this.#exporter, error, `Exporter ${exporterName(this.#exporter)}`);
      return;
    }
    if (!isPromiseLike(result)) return;
    const outcome = await this.#bounded(result, this.#timeout);
    if (outcome === OK) return;
    this.#reporter.report(
      outcome === TIMED_OUT ? this.#timeoutParty : this.#exporter,
      outcome === TIMED_OUT
        ? new Error(`Exporter ${method} timed out after ${this.#timeout} ms`)
        : outcome.error,
      `Exporter ${exporterName(this.#exporter)}`,
    );
  }

  /**
   * Exports everything queued when called (in batches, one at a time, after any export under
   * way), then flushes the exporter. With nothing queued it only flushes the exporter; after
   * {@linkcode BatchProcessor.shutdown} it waits for the shutdown and does nothing more.
   * With `timeoutMillis`, it stops waiting when that time has passed and reports once how many
   * activities are still waiting; they stay queued and are exported as usual.
   *
   * @param options `timeoutMillis`: how long to wait at most (default: no limit beyond the
   * export timeout of each batch).
   * @returns A promise that settles when done; it never rejects.
   * @throws {TypeError} When `options` or `timeoutMillis` has the wrong type.
   * @throws {RangeError} When `timeoutMillis` is negative.
   */
  forceFlush(options?: FlushOptions): Promise<void> {
    const timeout = timeoutOption(options, Infinity, "Cannot flush BatchProcessor");
    return this.#flush(timeout);
  }

  async #flush(timeout: number): Promise<void> {
    if (this.#shutdown !== undefined) {
      await this.#bounded(this.#shutdown, timeout);
      return;
    }
    await this.#drainThen("forceFlush", timeout);
  }

  /**
   * Stops accepting activities, exports everything queued, then shuts the exporter down.
   * With `timeoutMillis`, it gives up when that time has passed: what is still queued or in an
   * export under way is counted as dropped (`droppedByReason.abandoned`), reported once, and
   * the exporter is shut down without waiting for it. Calling it again returns the same
   * promise.
   *
   * @param options `timeoutMillis`: how long to wait at most (default: no limit beyond the
   * export timeout of each batch).
   * @returns A promise that settles when done; it never rejects.
   * @throws {TypeError} When `options` or `timeoutMillis` has the wrong type.
   * @throws {RangeError} When `timeoutMillis` is negative.
   */
  shutdown(options?: FlushOptions): Promise<void> {
    if (this.#shutdown !== undefined) return this.#shutdown;
    const timeout = timeoutOption(options, Infinity, "Cannot shut down BatchProcessor");
    return this.#shutdown = this.#close(timeout);
  }

  async #close(timeout: number): Promise<void> {
    this.#closed = true;
    this.#clearTimer();
    await this.#drainThen("shutdown", timeout);
  }

  /** Shuts the exporter down once, bounded by the export timeout; reports failures. */
  #shutdownExporter(deadline: number): Promise<void> {
    return this.#exporterShutdown ??= this.#callExporter("shutdown", deadline);
  }

  /**
   * Exports everything queued, then calls the exporter's `method`, keeping the program alive
   * meanwhile and giving up after `timeout`; reports rather than rejects.
   */
  async #drainThen(method: "forceFlush" | "shutdown", timeout: number): Promise<void> {
    const release = this.#hold();
    const deadline = timeout === Infinity ? Infinity : Date.now() + timeout;
    try {
      const work = this.#drain().then(() =>
        method === "shutdown"
          ? this.#shutdownExporter(deadline)
          : this.#callExporter(method, deadline)
      );
      // The work reports its own failures; a rejection here is not expected.
      work.catch((error: unknown) => safeReport(this.#onError, error, `BatchProcessor.${method}`));
      if ((await this.#bounded(work, timeout)) === TIMED_OUT) this.#giveUp(method, timeout);
    } catch (error) {
      safeReport(this.#onError, error, `BatchProcessor.${method}`);
    } finally {
      release();
    }
  }

  /**
   * The time of a flush or shutdown has passed. A flush leaves everything queued; a shutdown
   * counts everything not exported yet as dropped and shuts the exporter down without waiting.
   */
  #giveUp(method: "forceFlush" | "shutdown", timeout: number): void {
    const current = this.#current;
    const inFlight = current === undefined || current.abandoned ? 0 : current.size;
    const queued = this.#count;
    const pending = this.pendingCount;
    const name = exporterName(this.#exporter);
    if (method === "forceFlush") {
      this.#reporter.report(
        this.#flushGaveUpParty,
        new Error(
          pending === 0
            ? `Flush gave up after ${timeout} ms waiting for exporter ${name} to flush`
            : `Flush gave up after ${timeout} ms: ${pending} activities are still waiting for export (${queued} queued, ${inFlight} in an export under way); they stay queued`,
        ),
        "BatchProcessor.forceFlush",
        "warn",
      );
      return;
    }
    if (current !== undefined) current.abandoned = true;
    for (let i = 0; i < this.#queue.length; i++) this.#queue[i] = undefined;
    this.#head = 0;
    this.#count = 0;
    this.#droppedAbandoned += pending;
    this.#settled += pending;
    safeReport(
      this.#onError,
      new Error(
        pending === 0
          ? `Shutdown gave up after ${timeout} ms waiting for exporter ${name} to shut down; no activity was lost`
          : `Shutdown gave up after ${timeout} ms: ${pending} activities not exported yet (${queued} queued, ${inFlight} in an export under way) are counted as dropped`,
      ),
      "BatchProcessor.shutdown",
      pending === 0 ? "warn" : "error",
    );
    // No time is left: the exporter gives up what it still sends (at once, if it can).
    this.#shutdownExporter(0);
  }
}

function noop(): void {}

const RUNTIME_TIMERS: BatchTimers = {
  setTimeout: (callback, delay) => globalThis.setTimeout(callback, delay),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as number),
};

function isRetryable(error: unknown): boolean {
  if (error instanceof RetryableExportError) return true;
  try {
    return typeof error === "object" && error !== null &&
      (error as { retryable?: unknown }).retryable === true;
  } catch {
    return false; // A hostile error object: not retryable.
  }
}

function describe(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

function checkInteger(name: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number") {
    throw new TypeError(
      `Cannot make BatchProcessor: ${name} must be a number, got ${typeof value}`,
    );
  }
  if (!Number.isInteger(value) || value < min || value > MAX_TIMER_DELAY) {
    throw new RangeError(
      `Cannot make BatchProcessor: ${name} must be an integer from ${min} to ${MAX_TIMER_DELAY}, got ${
        describe(value)
      }`,
    );
  }
  return value;
}

function checkMillis(
  name: string,
  value: unknown,
  fallback: number,
  min: number,
  infinityAllowed: boolean,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number") {
    throw new TypeError(
      `Cannot make BatchProcessor: ${name} must be a number, got ${typeof value}`,
    );
  }
  if (value === Infinity && infinityAllowed) return value;
  if (!(value >= min && value <= MAX_TIMER_DELAY)) {
    throw new RangeError(
      `Cannot make BatchProcessor: ${name} must be from ${min} to ${MAX_TIMER_DELAY} milliseconds${
        infinityAllowed ? " or Infinity" : ""
      }, got ${describe(value)}`,
    );
  }
  return value;
}
