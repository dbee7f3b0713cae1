import assert from "node:assert/strict";
import { type Activity, InMemoryExporter } from "../mod.ts";
import { runBatch } from "../examples/batch.ts";

Deno.test("examples/batch.ts: one consumer activity links to every message's trace", async () => {
  const exporter = new InMemoryExporter();
  const messages = await runBatch((builder) => builder.addInMemoryExporter(exporter));
  const producers = exporter.activities.filter((a) => a.displayName === "PublishOrders");
  const batches = exporter.activities.filter((a) => a.displayName === "ProcessBatch");
  assert.equal(exporter.activities.length, 4);
  assert.equal(producers.length, 3);
  assert.equal(batches.length, 1);
  const batch: Activity = batches[0]!;

  // Four traces: one per producer, and the batch in a trace of its own, as a root.
  const traces = new Set(exporter.activities.map((a) => a.traceId));
  assert.equal(traces.size, 4);
  assert.equal(batch.parentSpanId, undefined);
  assert.equal(batch.kind, "consumer");
  assert.equal(batch.getTagItem("messaging.batch.message_count"), 6);

  // One link per message, in order, tagged with the message id and index, pointing at the
  // producer activity (a remote context, as read back from the message headers).
  assert.equal(batch.links.length, messages.length);
  batch.links.forEach((link, index) => {
    const tags = Object.fromEntries(link.tags);
    assert.equal(tags["messaging.message.id"], messages[index]!.id);
    assert.equal(tags["messaging.batch.index"], index);
    assert.equal(link.context.isRemote, true);
    const customer = messages[index]!.id.split("-")[0];
    const producer = producers.find((p) => p.getTagItem("customer") === customer)!;
    assert.equal(link.context.traceId, producer.traceId);
    assert.equal(link.context.spanId, producer.spanId);
    assert.notEqual(link.context.traceId, batch.traceId);
  });
  // Two links into each producer trace.
  for (const producer of producers) {
    assert.equal(batch.links.filter((l) => l.context.traceId === producer.traceId).length, 2);
  }
});
