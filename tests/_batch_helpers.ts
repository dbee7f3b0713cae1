// Shared by the batch processor's tests: a fake clock injected through `timers`, a way to let
// promise callbacks run, a provider with one batch processor, and an exporter that only counts.

import {
  type Activity,
  type ActivityExporter,
  ActivitySource,
  BatchProcessor,
  type BatchProcessorOptions,
  type BatchTimers,
  createTracerProviderBuilder,
  type TracerProvider,
} from "../mod.ts";

/** A clock that moves only when told; timers fire in time order. */
export class FakeTimers implements BatchTimers {
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
export function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

let sourceCounter = 0;

/** A source name no other test uses. */
export function uniqueSourceName(): string {
  return `Batch.Test.${++sourceCounter}`;
}

/** A provider with one batch processor, a source it listens to, and the reported errors. */
export function setup(exporter: ActivityExporter, options: BatchProcessorOptions = {}): {
  batch: BatchProcessor;
  provider: TracerProvider;
  source: ActivitySource;
  errors: [unknown, string][];
  end: (count: number) => void;
} {
  const name = uniqueSourceName();
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
export class CountingExporter implements ActivityExporter {
  readonly calls: number[] = [];
  readonly activities: Activity[] = [];
  forceFlush?: () => void;
  shutdown?: () => void;
  export(activities: readonly Activity[]): void {
    this.calls.push(activities.length);
    this.activities.push(...activities);
  }
}
