// BatchProcessor: timing (a fake clock injected through `timers`, and node:test's mock.timers
// for the runtime's own timers), the bounded queue and its dropped count, flush and shutdown,
// the export timeout, retries, and the "nothing lost" guarantee over 100,000 activities.

import assert from "node:assert/strict";
import { mock } from "node:test";
import {
  type Activity,
  type ActivityExporter,
  ActivitySource,
  createTracerProviderBuilder,
  InMemoryExporter,
  RetryableExportError,
} from "../mod.ts";
import { CountingExporter, FakeTimers, settle, setup, uniqueSourceName } from "./_batch_helpers.ts";

Deno.test("BatchProcessor exports a partial batch after the scheduled delay, not before", async () => {
  const timers = new FakeTimers();
  const exporter = new CountingExporter();
  const { provider, end } = setup(exporter, { timers, scheduledDelayMillis: 5000 });
  end(3);
  await timers.advance(4999);
  assert.deepEqual(exporter.calls, []);
  await timers.advance(1);
  assert.deepEqual(exporter.calls, [3]);
  assert.equal(timers.pending, 0);
  end(2);
  await timers.advance(5000);
  assert.deepEqual(exporter.calls, [3, 2]);
  await provider.shutdown();
});

Deno.test("BatchProcessor exports a full batch at once, without waiting for the delay", async () => {
  const timers = new FakeTimers();
  const exporter = new CountingExporter();
  const { batch, provider, end } = setup(exporter, { timers, maxExportBatchSize: 4 });
  end(9);
  await settle();
  assert.deepEqual(exporter.calls, [4, 4]);
  assert.equal(batch.queueLength, 1);
  await timers.advance(5000);
  assert.deepEqual(exporter.calls, [4, 4, 1]);
  await provider.shutdown();
});

Deno.test("BatchProcessor hands a synchronous burst larger than the queue to a synchronous exporter", async () => {
  const timers = new FakeTimers();
  const exporter = new CountingExporter();
  const { batch, provider, end } = setup(exporter, { timers });
  end(10_000);
  // 19 full batches went during the burst; 272 wait for the delay; nothing was dropped.
  assert.equal(exporter.calls.length, 19);
  assert.ok(exporter.calls.every((size) => size === 512));
  assert.equal(batch.queueLength, 10_000 - 19 * 512);
  assert.equal(batch.droppedCount, 0);
  await timers.advance(5000);
  assert.equal(exporter.activities.length, 10_000);
  assert.equal(new Set(exporter.activities).size, 10_000);
  await provider.shutdown();
});

Deno.test("BatchProcessor runs one export at a time", async () => {
  const timers = new FakeTimers();
  let running = 0;
  let maxRunning = 0;
  const releases: (() => void)[] = [];
  const sizes: number[] = [];
  const exporter: ActivityExporter = {
    export(activities) {
      sizes.push(activities.length);
      running++;
      maxRunning = Math.max(maxRunning, running);
      return new Promise<void>((resolve) =>
        releases.push(() => {
          running--;
          resolve();
        })
      );
    },
  };
  const { provider, end } = setup(exporter, { timers, maxExportBatchSize: 2 });
  end(6);
  await settle();
  assert.deepEqual(sizes, [2]);
  releases.shift()!();
  await settle();
  assert.deepEqual(sizes, [2, 2]);
  releases.shift()!();
  await settle();
  releases.shift()!();
  await settle();
  assert.deepEqual(sizes, [2, 2, 2]);
  assert.equal(maxRunning, 1);
  await provider.shutdown();
});

Deno.test("BatchProcessor drops and counts when the queue is full, reporting once per burst", async (t) => {
  const timers = new FakeTimers();
  let release: (() => void) | undefined;
  const received: Activity[] = [];
  const exporter: ActivityExporter = {
    export(activities) {
      received.push(...activities);
      return new Promise<void>((resolve) => release = resolve);
    },
  };
  const { batch, provider, errors, end } = setup(exporter, {
    timers,
    maxQueueSize: 10,
    maxExportBatchSize: 5,
  });

  await t.step("the first batch is taken out, then ten fill the queue, seven are dropped", () => {
    end(5); // exported at once: the export hangs until released
    end(17);
    assert.equal(batch.queueLength, 10);
    assert.equal(batch.droppedCount, 7);
    assert.deepEqual(batch.droppedByReason, {
      queueFull: 7,
      exportFailed: 0,
      timedOut: 0,
      afterShutdown: 0,
      abandoned: 0,
    });
    assert.equal(errors.length, 1);
    assert.equal(errors[0]![1], "BatchProcessor queue");
    assert.match(String(errors[0]![0]), /10 activities are waiting for export/);
  });

  await t.step("the same burst is not reported again", () => {
    end(3);
    assert.equal(batch.droppedCount, 10);
    assert.equal(errors.length, 1);
  });

  await t.step("once the queue drains to half, a new burst is reported again", async () => {
    release!();
    await settle(); // the next batch of 5 is taken: 5 left, half of 10
    assert.equal(batch.queueLength, 5);
    end(6);
    assert.equal(batch.droppedCount, 11);
    assert.equal(errors.length, 2);
  });

  await t.step("shutdown exports what was queued; the total is exact", async () => {
    const done = provider.shutdown();
    while (release !== undefined) {
      const r = release;
      release = undefined;
      r();
      await settle();
    }
    await done;
    // 31 handed over: 5 + 10 + 5 queued, 11 dropped, and the 5 queued last
    assert.equal(received.length, 20);
    assert.equal(new Set(received).size, 20);
    assert.equal(received.length + batch.droppedCount, 5 + 17 + 3 + 6);
    assert.equal(batch.exportedCount, received.length);
  });
});

Deno.test("BatchProcessor.forceFlush() exports everything queued, in batches", async () => {
  const timers = new FakeTimers();
  const exporter = new CountingExporter();
  let exporterFlushes = 0;
  exporter.forceFlush = () => {
    exporterFlushes++;
  };
  const { batch, provider, end } = setup(exporter, { timers });
  end(1000);
  // 512 went at once; 488 wait for the 5 s delay
  await settle();
  assert.deepEqual(exporter.calls, [512]);
  await batch.forceFlush();
  assert.deepEqual(exporter.calls, [512, 488]);
  assert.equal(exporterFlushes, 1);
  assert.equal(timers.pending, 0);
  // With nothing queued, a flush exports nothing and only flushes the exporter.
  await batch.forceFlush();
  assert.deepEqual(exporter.calls, [512, 488]);
  assert.equal(exporterFlushes, 2);
  await provider.shutdown();
});

Deno.test("BatchProcessor.shutdown() delivers everything queued; twice, and after, are defined", async (t) => {
  const timers = new FakeTimers();
  const exporter = new CountingExporter();
  let exporterShutdowns = 0;
  let exporterFlushes = 0;
  exporter.forceFlush = () => {
    exporterFlushes++;
  };
  exporter.shutdown = () => {
    exporterShutdowns++;
  };
  const { batch, provider, end, source } = setup(exporter, { timers });
  end(700);

  await t.step("shutdown exports all 700 and shuts the exporter down once", async () => {
    const first = batch.shutdown();
    const second = batch.shutdown();
    assert.equal(first, second);
    await first;
    assert.equal(exporter.activities.length, 700);
    assert.equal(exporterShutdowns, 1);
    assert.equal(batch.isShutdown, true);
    assert.equal(timers.pending, 0);
  });

  await t.step("an activity handed over after shutdown is counted as dropped", () => {
    const late = source.startActivity("Late")!;
    late.stop();
    assert.equal(exporter.activities.length, 700);
    assert.equal(batch.droppedByReason.afterShutdown, 1);
    assert.equal(batch.droppedCount, 1);
  });

  await t.step("flush after shutdown resolves without exporting", async () => {
    await batch.forceFlush();
    assert.equal(exporter.activities.length, 700);
    assert.equal(exporterShutdowns, 1);
    // It does nothing more: not even the exporter is flushed.
    assert.equal(exporterFlushes, 0);
  });
  await provider.shutdown();
  assert.equal(exporterShutdowns, 1);
});

Deno.test("BatchProcessor cuts off an exporter that hangs at the export timeout", async () => {
  const timers = new FakeTimers();
  const calls: number[] = [];
  const exporter: ActivityExporter = {
    export(activities) {
      calls.push(activities.length);
      return calls.length === 1 ? new Promise<void>(() => {}) : undefined;
    },
  };
  const { batch, provider, end, errors } = setup(exporter, {
    timers,
    maxExportBatchSize: 3,
    exportTimeoutMillis: 30000,
  });
  end(5); // a batch of 3 goes at once and hangs; 2 wait
  let flushed = false;
  const flush = batch.forceFlush().then(() => flushed = true);
  await timers.advance(29999);
  assert.equal(flushed, false);
  assert.deepEqual(calls, [3]);
  await timers.advance(1);
  await flush;
  assert.deepEqual(calls, [3, 2]);
  assert.equal(batch.droppedByReason.timedOut, 3);
  assert.equal(batch.exportedCount, 2);
  assert.equal(errors.length, 1);
  assert.match(String(errors[0]![0]), /timed out after 30000 ms/);
  await provider.shutdown();
});

Deno.test("BatchProcessor retries a retryable failure with a doubling delay, then drops", async (t) => {
  await t.step("a RetryableExportError is retried after retryDelayMillis", async () => {
    const timers = new FakeTimers();
    let calls = 0;
    const received: Activity[] = [];
    const { batch, provider, end } = setup({
      export(activities) {
        if (++calls === 1) throw new RetryableExportError("Busy");
        received.push(...activities);
      },
    }, { timers, maxExportBatchSize: 2, retryDelayMillis: 100 });
    end(2);
    await timers.advance(99);
    assert.equal(calls, 1);
    await timers.advance(1);
    assert.equal(calls, 2);
    assert.equal(received.length, 2);
    assert.equal(batch.droppedCount, 0);
    await provider.shutdown();
  });

  await t.step("retries stop after maxExportAttempts; the batch is counted once", async () => {
    const timers = new FakeTimers();
    const at: number[] = [];
    const { batch, provider, end, errors } = setup({
      export() {
        at.push(timers.now);
        return Promise.reject(Object.assign(new Error("Down"), { retryable: true }));
      },
    }, { timers, maxExportBatchSize: 2, retryDelayMillis: 100, maxExportAttempts: 4 });
    end(2);
    await timers.advance(10_000);
    assert.deepEqual(at, [0, 100, 300, 700]);
    assert.equal(batch.droppedByReason.exportFailed, 2);
    assert.equal(errors.length, 1);
    await provider.shutdown();
  });

  await t.step("retryAfterMillis replaces the backoff", async () => {
    const timers = new FakeTimers();
    const at: number[] = [];
    const { provider, end } = setup({
      export() {
        at.push(timers.now);
        if (at.length === 1) throw new RetryableExportError("429", { retryAfterMillis: 2500 });
      },
    }, { timers, maxExportBatchSize: 1 });
    end(1);
    await timers.advance(10_000);
    assert.deepEqual(at, [0, 2500]);
    await provider.shutdown();
  });

  await t.step("any other error drops the batch at once and is reported once", async () => {
    const timers = new FakeTimers();
    let calls = 0;
    const { batch, provider, end, errors } = setup({
      export() {
        calls++;
        throw new TypeError("Bad payload");
      },
    }, { timers, maxExportBatchSize: 1 });
    end(3);
    await timers.advance(10_000);
    assert.equal(calls, 3);
    assert.equal(batch.droppedByReason.exportFailed, 3);
    assert.equal(errors.length, 1);
    assert.match(String(errors[0]![0]), /Bad payload/);
    await provider.shutdown();
  });
});

Deno.test("BatchProcessor loses nothing: 100,000 activities through a failing exporter arrive once or are counted", async () => {
  const total = 100_000;
  const timers = new FakeTimers();
  const seen = new Set<string>();
  let duplicates = 0;
  let calls = 0;
  const exporter: ActivityExporter = {
    export(activities) {
      calls++;
      if (calls % 3 === 0) {
        return Promise.reject(new RetryableExportError(`Call ${calls} fails`));
      }
      for (const activity of activities) {
        if (seen.has(activity.spanId)) duplicates++;
        seen.add(activity.spanId);
      }
      return Promise.resolve();
    },
  };
  const { batch, provider, end } = setup(exporter, { timers, retryDelayMillis: 50 });
  // Bursts of 1,500 with 100 ms between them fit the queue; then bursts of 3,000 overflow it.
  let produced = 0;
  while (produced < total) {
    const burst = Math.min(produced < total / 2 ? 1500 : 3000, total - produced);
    end(burst);
    produced += burst;
    await timers.advance(100);
  }
  const done = provider.shutdown();
  let finished = false;
  done.then(() => finished = true);
  while (!finished) await timers.advance(1000);
  assert.equal(duplicates, 0);
  assert.equal(seen.size, batch.exportedCount);
  assert.equal(seen.size + batch.droppedCount, total);
  assert.equal(batch.droppedByReason.exportFailed, 0);
  assert.equal(batch.droppedByReason.timedOut, 0);
  assert.ok(calls > total / 512, `expected retries among ${calls} export calls`);
  assert.ok(batch.droppedByReason.queueFull > 0, "expected some bursts to overflow the queue");
});

Deno.test("BatchProcessor with the runtime's timers: mock.timers drives the delay; timers are unreferenced", async () => {
  const unrefs: unknown[] = [];
  mock.timers.enable({ apis: ["setTimeout"] });
  const realSetTimeout = globalThis.setTimeout;
  const setTimeoutSpy = mock.method(
    globalThis,
    "setTimeout",
    ((callback: () => void, delay: number) => {
      const handle = realSetTimeout(callback, delay) as unknown as { unref?: () => unknown };
      const unref = handle.unref;
      handle.unref = function () {
        unrefs.push(handle);
        return unref?.call(this);
      };
      return handle;
    }) as unknown as typeof setTimeout,
  );
  try {
    const exporter = new CountingExporter();
    const { provider, end } = setup(exporter, { scheduledDelayMillis: 5000 });
    end(2);
    mock.timers.tick(4999);
    await Promise.resolve();
    assert.deepEqual(exporter.calls, []);
    mock.timers.tick(1);
    await Promise.resolve();
    assert.deepEqual(exporter.calls, [2]);
    assert.equal(setTimeoutSpy.mock.callCount(), 1);
    assert.equal(unrefs.length, 1);
    await provider.shutdown();
  } finally {
    setTimeoutSpy.mock.restore();
    mock.timers.reset();
  }
});

Deno.test("BatchProcessor contains a failing exporter: another processor still receives everything", async () => {
  const name = uniqueSourceName();
  const errors: string[] = [];
  const healthy = new InMemoryExporter();
  const provider = createTracerProviderBuilder()
    .addSource(name)
    .setEnvironment(false)
    .setErrorHandler((_error, where) => errors.push(where))
    .addBatchExporter({
      export() {
        return Promise.reject(new Error("Collector down"));
      },
    }, { maxExportBatchSize: 10 })
    .addBatchExporter(healthy, { maxExportBatchSize: 10 })
    .build();
  const source = new ActivitySource(name);
  for (let i = 0; i < 25; i++) source.startActivity(`Work ${i}`)?.stop();
  await provider.shutdown();
  assert.equal(healthy.activities.length, 25);
  assert.equal(errors.length, 1);
  assert.match(errors[0]!, /^Exporter /);
});

Deno.test("BatchProcessor counts a batch whose error cannot be read, and goes on", async () => {
  const hostile = new Proxy(new Error("Unreadable"), {
    get(target, key) {
      if (key === "retryable" || key === "retryAfterMillis") throw new Error("No access");
      return Reflect.get(target, key);
    },
  });
  let calls = 0;
  const delivered: Activity[] = [];
  const exporter: ActivityExporter = {
    export(activities) {
      if (++calls === 1) throw hostile;
      delivered.push(...activities);
    },
  };
  const timers = new FakeTimers();
  const { batch, provider, end, errors } = setup(exporter, { timers, maxExportBatchSize: 1 });
  end(3);
  await provider.shutdown();
  assert.equal(delivered.length, 2);
  assert.equal(batch.exportedCount, 2);
  assert.equal(batch.droppedByReason.exportFailed, 1);
  assert.equal(batch.exportedCount + batch.droppedCount, 3);
  assert.equal(batch.queueLength, 0);
  assert.equal(errors.length, 1);
});

Deno.test("BatchProcessor.shutdown() gives up at its timeout and counts what it abandons as dropped", async () => {
  const timers = new FakeTimers();
  let finish: (() => void) | undefined;
  let exporterShutdowns = 0;
  const shutdownOptions: unknown[] = [];
  const exporter: ActivityExporter = {
    export: () => new Promise<void>((resolve) => finish = resolve),
    shutdown: (options) => {
      exporterShutdowns++;
      shutdownOptions.push(options);
    },
  };
  const { batch, provider, end, errors } = setup(exporter, { timers, maxExportBatchSize: 3 });
  end(8); // a batch of 3 goes at once and hangs; 5 wait behind it
  let resolved = false;
  const done = batch.shutdown({ timeoutMillis: 1000 }).then(() => resolved = true);
  await timers.advance(999);
  assert.equal(resolved, false);
  await timers.advance(1);
  await done;
  assert.equal(batch.droppedByReason.abandoned, 8);
  assert.equal(batch.exportedCount, 0);
  assert.equal(batch.droppedCount, 8);
  assert.equal(batch.pendingCount, 0);
  assert.equal(batch.queueLength, 0);
  assert.equal(batch.exportedCount + batch.droppedCount, 8);
  // The exporter is shut down at once, told that no time is left for what it still sends.
  assert.equal(exporterShutdowns, 1);
  assert.deepEqual(shutdownOptions, [{ timeoutMillis: 0 }]);
  assert.equal(errors.length, 1);
  assert.equal(errors[0]![1], "BatchProcessor.shutdown");
  assert.equal(
    (errors[0]![0] as Error).message,
    "Shutdown gave up after 1000 ms: 8 activities not exported yet (5 queued, 3 in an export under way) are counted as dropped",
  );
  // The abandoned export ends later: nothing is counted twice, nothing more is reported.
  finish!();
  await timers.advance(60_000);
  assert.equal(batch.exportedCount, 0);
  assert.equal(batch.droppedCount, 8);
  assert.equal(errors.length, 1);
  assert.equal(exporterShutdowns, 1);
  end(1);
  assert.equal(batch.droppedByReason.afterShutdown, 1);
  await provider.shutdown();
});

Deno.test("BatchProcessor.forceFlush() gives up at its timeout and keeps the queue", async () => {
  const timers = new FakeTimers();
  const releases: (() => void)[] = [];
  const received: Activity[] = [];
  const exporter: ActivityExporter = {
    export(activities) {
      return new Promise<void>((resolve) =>
        releases.push(() => {
          received.push(...activities);
          resolve();
        })
      );
    },
  };
  const { batch, provider, end, errors } = setup(exporter, { timers, maxExportBatchSize: 2 });
  end(5); // 2 go at once and hang; 3 wait
  let resolved = false;
  const flush = batch.forceFlush({ timeoutMillis: 500 }).then(() => resolved = true);
  await timers.advance(499);
  assert.equal(resolved, false);
  await timers.advance(1);
  await flush;
  assert.equal(batch.pendingCount, 5);
  assert.equal(batch.droppedCount, 0);
  assert.equal(errors.length, 1);
  assert.equal(errors[0]![1], "BatchProcessor.forceFlush");
  assert.equal(
    (errors[0]![0] as Error).message,
    "Flush gave up after 500 ms: 5 activities are still waiting for export (3 queued, 2 in an export under way); they stay queued",
  );
  // The exports go on: everything arrives, and a second give-up is not reported again.
  const second = batch.forceFlush({ timeoutMillis: 0 });
  await timers.advance(0);
  await second;
  while (releases.length > 0) {
    releases.shift()!();
    await timers.advance(0);
  }
  assert.equal(received.length, 5);
  assert.equal(batch.exportedCount, 5);
  assert.equal(batch.pendingCount, 0);
  assert.equal(errors.length, 1);
  await provider.shutdown();
});

Deno.test("BatchProcessor through the provider: shutdown() ends after 30 s by default, whatever the export timeout", async () => {
  mock.timers.enable({ apis: ["setTimeout"] });
  try {
    const exporter: ActivityExporter = { export: () => new Promise<void>(() => {}) };
    const { batch, provider, end, errors } = setup(exporter, { exportTimeoutMillis: 60_000 });
    end(600); // 512 go at once and hang; 88 wait
    let resolved = false;
    const done = provider.shutdown().then(() => resolved = true);
    mock.timers.tick(29_999);
    for (let i = 0; i < 20; i++) await Promise.resolve(); // (setTimeout is faked here)
    assert.equal(resolved, false);
    mock.timers.tick(1);
    await done;
    assert.equal(batch.droppedByReason.abandoned, 600);
    assert.equal(batch.exportedCount + batch.droppedCount, 600);
    assert.deepEqual(errors.map(([, where]) => where), ["BatchProcessor.shutdown"]);
  } finally {
    mock.timers.reset();
  }
});
