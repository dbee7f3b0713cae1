// BatchProcessor: timing (a fake clock injected through `timers`, and node:test's mock.timers
// for the runtime's own timers), the bounded queue and its dropped count, flush and shutdown,
// the export timeout, retries, and the "nothing lost" guarantee over 100,000 activities.

import assert from "node:assert/strict";
import {
  type Activity,
  type ActivityExporter,
  ActivitySource,
  BatchProcessor,
  type BatchProcessorOptions,
  type BatchTimers,
  createTracerProviderBuilder,
  InMemoryExporter,
  type TracerProvider,
} from "../mod.ts";

/** A clock that moves only when told; timers fire in time order. */
class FakeTimers implements BatchTimers {
  now = 0;
  #next = 1;
  readonly #timers = new Map<number, { at: number; callback: () => void }>();

  setTimeout(callback: () => void, delay: number): number {
    const id = this.#next++;
    this.#timers.set(id, { at: this.now + delay, callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  /** Timers waiting to fire. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves the clock by `ms`, firing due timers in order and letting promises settle. */
  async advance(ms: number): Promise<void> {
    const end = this.now + ms;
    for (;;) {
      await settle();
      let due: [number, { at: number; callback: () => void }] | undefined;
      for (const entry of this.#timers) {
        if (entry[1].at <= end && (due === undefined || entry[1].at < due[1].at)) due = entry;
      }
      if (due === undefined) break;
      this.#timers.delete(due[0]);
      this.now = due[1].at;
      due[1].callback();
    }
    this.now = end;
    await settle();
  }
}

/** Lets every pending promise callback run (one real macrotask turn). */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

let sourceCounter = 0;

/** A provider with one batch processor, a source it listens to, and the reported errors. */
function setup(exporter: ActivityExporter, options: BatchProcessorOptions = {}): {
  batch: BatchProcessor;
  provider: TracerProvider;
  source: ActivitySource;
  errors: [unknown, string][];
  end: (count: number) => void;
} {
  const name = `Batch.Test.${++sourceCounter}`;
  const errors: [unknown, string][] = [];
  const batch = new BatchProcessor(exporter, options);
  const provider = createTracerProviderBuilder()
    .addSource(name)
    .addProcessor(batch)
    .setEnvironment(false)
    .setErrorHandler((error, where) => errors.push([error, where]))
    .build();
  const source = new ActivitySource(name);
  const end = (count: number) => {
    for (let i = 0; i < count; i++) source.startActivity(`Work ${i}`)?.stop();
  };
  return { batch, provider, source, errors, end };
}

/** An exporter that records each call's batch size. */
class CountingExporter implements ActivityExporter {
  readonly calls: number[] = [];
  readonly activities: Activity[] = [];
  forceFlush?: () => void;
  shutdown?: () => void;
  export(activities: readonly Activity[]): void {
    this.calls.push(activities.length);
    this.activities.push(...activities);
  }
}

Deno.test("BatchProcessor rejects bad options, naming the value", async (t) => {
  const exporter = new InMemoryExporter();
  await t.step("a negative queue size", () => {
    assert.throws(() => new BatchProcessor(exporter, { maxQueueSize: -1 }), {
      name: "RangeError",
      message: /maxQueueSize must be an integer from 1 to 2147483647, got -1/,
    });
  });
  await t.step("a non-integer queue size", () => {
    assert.throws(() => new BatchProcessor(exporter, { maxQueueSize: 10.5 }), {
      name: "RangeError",
      message: /got 10\.5/,
    });
  });
  await t.step("a queue size that is not a number", () => {
    assert.throws(
      () => new BatchProcessor(exporter, { maxQueueSize: "10" as unknown as number }),
      { name: "TypeError", message: /maxQueueSize must be a number, got string/ },
    );
  });
  await t.step("a batch larger than the queue", () => {
    assert.throws(
      () => new BatchProcessor(exporter, { maxQueueSize: 10, maxExportBatchSize: 11 }),
      { name: "RangeError", message: /maxExportBatchSize 11 is larger than maxQueueSize 10/ },
    );
  });
  await t.step("a negative delay, a zero timeout", () => {
    assert.throws(() => new BatchProcessor(exporter, { scheduledDelayMillis: -5 }), {
      name: "RangeError",
      message: /scheduledDelayMillis .* got -5/,
    });
    assert.throws(() => new BatchProcessor(exporter, { exportTimeoutMillis: 0 }), {
      name: "RangeError",
      message: /exportTimeoutMillis .* got 0/,
    });
  });
  await t.step("an exporter without export()", () => {
    assert.throws(() => new BatchProcessor({} as ActivityExporter), { name: "TypeError" });
  });
  await t.step("the builder throws at build time", () => {
    const builder = createTracerProviderBuilder()
      .setEnvironment(false)
      .addBatchExporter(exporter, { maxQueueSize: -3 });
    assert.throws(() => builder.build(), { name: "RangeError", message: /got -3/ });
  });
  await t.step("a small queue lowers the default batch size to fit", async () => {
    const counting = new CountingExporter();
    const { provider, end } = setup(counting, { timers: new FakeTimers(), maxQueueSize: 8 });
    end(8);
    await settle();
    assert.deepEqual(counting.calls, [8]);
    await provider.shutdown();
  });
});
