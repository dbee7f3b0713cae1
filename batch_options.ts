/**
 * The options of {@linkcode BatchProcessor} ({@linkcode BatchProcessorOptions}, with the names
 * and defaults of OpenTelemetry's batch span processor, {@linkcode DEFAULT_BATCH_OPTIONS}), the
 * timers it runs on ({@linkcode BatchTimers}), and its drop counts ({@linkcode BatchDropCounts}).
 *
 * @example Options beside the defaults
 * ```ts
 * import { BatchProcessor, DEFAULT_BATCH_OPTIONS, InMemoryExporter } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * const batch = new BatchProcessor(new InMemoryExporter(), { maxQueueSize: 100 });
 * assert.equal(DEFAULT_BATCH_OPTIONS.maxExportBatchSize, 512);
 * assert.throws(() => new BatchProcessor(new InMemoryExporter(), { maxQueueSize: 0 }), RangeError);
 * await batch.shutdown();
 * ```
 *
 * @module
 */

import type { ErrorHandler } from "./_diagnostics.ts";
import { MAX_TIMER_DELAY } from "./_timers.ts";

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

/** The timer functions of the runtime. */
export const RUNTIME_TIMERS: BatchTimers = {
  setTimeout: (callback, delay) => globalThis.setTimeout(callback, delay),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as number),
};

/** The numbers of {@linkcode BatchProcessorOptions}, checked, with the defaults filled in. */
export type ResolvedBatchOptions = { -readonly [K in keyof typeof DEFAULT_BATCH_OPTIONS]: number };

/**
 * Checks the numbers of a batch processor's options and fills in the defaults. A default batch
 * size larger than a given queue is cut to the queue; a given one is an error.
 *
 * @throws {TypeError} When `options` is not an object or an option is not a number.
 * @throws {RangeError} When a number is out of range; the message names the option and value.
 */
export function resolveBatchOptions(options: BatchProcessorOptions): ResolvedBatchOptions {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("Cannot make BatchProcessor: options must be an object");
  }
  const d = DEFAULT_BATCH_OPTIONS;
  const maxQueueSize = checkInteger("maxQueueSize", options.maxQueueSize, d.maxQueueSize, 1);
  let maxExportBatchSize = checkInteger(
    "maxExportBatchSize",
    options.maxExportBatchSize,
    d.maxExportBatchSize,
    1,
  );
  if (maxExportBatchSize > maxQueueSize) {
    if (options.maxExportBatchSize !== undefined) {
      throw new RangeError(
        `Cannot make BatchProcessor: maxExportBatchSize ${maxExportBatchSize} is larger than maxQueueSize ${maxQueueSize}`,
      );
    }
    maxExportBatchSize = maxQueueSize;
  }
  return {
    maxQueueSize,
    maxExportBatchSize,
    scheduledDelayMillis: checkMillis(
      "scheduledDelayMillis",
      options.scheduledDelayMillis,
      d.scheduledDelayMillis,
      0,
      false,
    ),
    exportTimeoutMillis: checkMillis(
      "exportTimeoutMillis",
      options.exportTimeoutMillis,
      d.exportTimeoutMillis,
      1,
      true,
    ),
    maxExportAttempts: checkInteger(
      "maxExportAttempts",
      options.maxExportAttempts,
      d.maxExportAttempts,
      1,
    ),
    retryDelayMillis: checkMillis(
      "retryDelayMillis",
      options.retryDelayMillis,
      d.retryDelayMillis,
      0,
      false,
    ),
  };
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
