// A batch exporter added to a tracer provider builder: its processor is made when the provider
// is built, with the builder's explicit options over those of the OTEL_BSP_* variables.

import type { ActivityExporter } from "./processor.ts";
import { BatchProcessor, type BatchProcessorOptions, DEFAULT_BATCH_OPTIONS } from "./batch.ts";
import { type ErrorHandler, safeReport } from "./_diagnostics.ts";

/** A batch exporter added to a builder: its processor is made at build time. */
export class DeferredBatch {
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
export function withoutUndefined<T extends object>(record: T | undefined): Partial<T> {
  const out: Record<string, unknown> = {};
  if (record !== undefined) {
    for (const [key, value] of Object.entries(record)) if (value !== undefined) out[key] = value;
  }
  return out as Partial<T>;
}
