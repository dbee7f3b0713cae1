// BatchProcessor's options (batch_options.ts): bad values are rejected with a message that names
// them, and the sizes, delays and timeouts given are the ones the processor works with.

import assert from "node:assert/strict";
import {
  type ActivityExporter,
  BatchProcessor,
  createTracerProviderBuilder,
  InMemoryExporter,
} from "../mod.ts";
import { CountingExporter, FakeTimers, settle, setup } from "./_batch_helpers.ts";

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
