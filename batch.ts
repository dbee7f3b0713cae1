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
import {
  type ActivityExporter,
  type ActivityProcessor,
  type FlushOptions,
  isRetryable,
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
import { timeoutOption } from "./_timers.ts";
import {
  type BatchDropCounts,
  type BatchProcessorOptions,
  resolveBatchOptions,
} from "./batch_options.ts";
import { backoff, BatchClock, OK, type Outcome, TIMED_OUT } from "./_batch_timers.ts";

export {
  type BatchDropCounts,
  type BatchProcessorOptions,
  type BatchTimers,
  DEFAULT_BATCH_OPTIONS,
} from "./batch_options.ts";

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
  readonly #clock: BatchClock;
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
    const resolved = resolveBatchOptions(options);
    this.#maxQueue = resolved.maxQueueSize;
    this.#batchSize = resolved.maxExportBatchSize;
    this.#delay = resolved.scheduledDelayMillis;
    this.#timeout = resolved.exportTimeoutMillis;
    this.#attempts = resolved.maxExportAttempts;
    this.#retryDelay = resolved.retryDelayMillis;
    const timers = options.timers;
    this.#exporter = exporter;
    this.#clock = new BatchClock(timers, () => this.#onError);
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
    this.#timer = this.#clock.set(() => {
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
    this.#clock.clear(handle);
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
        await this.#clock.sleep(
          backoff(attempt, (outcome as { error: unknown }).error, this.#retryDelay),
        );
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
    return this.#clock.within(result, this.#timeout);
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
    const outcome = await this.#clock.within(result, this.#timeout);
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
      await this.#clock.within(this.#shutdown, timeout);
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
    const release = this.#clock.hold();
    const deadline = timeout === Infinity ? Infinity : Date.now() + timeout;
    try {
      const work = this.#drain().then(() =>
        method === "shutdown"
          ? this.#shutdownExporter(deadline)
          : this.#callExporter(method, deadline)
      );
      // The work reports its own failures; a rejection here is not expected.
      work.catch((error: unknown) => safeReport(this.#onError, error, `BatchProcessor.${method}`));
      if ((await this.#clock.within(work, timeout)) === TIMED_OUT) this.#giveUp(method, timeout);
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
