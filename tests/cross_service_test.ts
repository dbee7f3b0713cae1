// Needs a socket on 127.0.0.1: run with `deno task test:net` (`--allow-net=127.0.0.1`).
// Without the permission the test is ignored, so a plain `deno test` passes.
import assert from "node:assert/strict";
import { type Activity, InMemoryExporter } from "../mod.ts";
import { runCrossService } from "../examples/cross_service.ts";

const net = await Deno.permissions.query({ name: "net", host: "127.0.0.1" });

Deno.test({
  name: "examples/cross_service.ts: the trace crosses both services; the worker links back",
  ignore: net.state !== "granted",
  fn: async () => {
    const exporter = new InMemoryExporter();
    const items = await runCrossService((builder) => builder.addInMemoryExporter(exporter));
    assert.equal(items.length, 2);
    const all = exporter.activities;
    const named = (name: string): Activity[] => all.filter((a) => a.displayName === name);
    const checkouts = named("GET /checkout");
    const clients = named("POST");
    const servers = named("POST /orders");
    const enqueues = named("EnqueueOrder");
    const workers = named("ProcessOrder");
    assert.equal(all.length, 10);
    for (const list of [checkouts, clients, servers, enqueues, workers]) {
      assert.equal(list.length, 2);
    }

    for (const item of items) {
      const server = servers.find((s) => s.getTagItem("order.id") === item.orderId)!;
      const client = clients.find((c) => c.spanId === server.parentSpanId)!;
      const checkout = checkouts.find((c) => c.spanId === client.parentSpanId)!;
      const enqueue = enqueues.find((e) => e.parentSpanId === server.spanId)!;
      const worker = workers.find((w) => w.getTagItem("order.id") === item.orderId)!;
      // One trace from the frontend's server activity to the orders service's producer.
      assert.equal(checkout.parentSpanId, undefined);
      assert.equal(checkout.getTagItem("url.query"), `order=${item.orderId}`);
      assert.equal(client.kind, "client");
      assert.equal(server.kind, "server");
      assert.equal(server.hasRemoteParent, true);
      assert.equal(enqueue.kind, "producer");
      for (const a of [client, server, enqueue]) assert.equal(a.traceId, checkout.traceId);
      assert.equal(client.getTagItem("http.response.status_code"), 202);
      assert.equal(server.getTagItem("http.response.status_code"), 202);
      // One handler serves every path of the orders service and names the route it matched;
      // Deno.serve's second argument (info) reached it.
      assert.equal(server.getTagItem("http.route"), "/orders");
      assert.equal(server.getTagItem("client.address"), "127.0.0.1");
      // Both bodies were read to the end: no span ended in error.
      for (const a of [checkout, client, server]) assert.equal(a.status, "unset");
      // Baggage set by the frontend arrived at the orders service.
      assert.equal(server.getTagItem("customer.tier"), "gold");
      // The worker runs later in a trace of its own, linked to the producer activity.
      assert.notEqual(worker.traceId, checkout.traceId);
      assert.equal(worker.parentSpanId, undefined);
      assert.equal(worker.links.length, 1);
      assert.equal(worker.links[0]!.context.traceId, enqueue.traceId);
      assert.equal(worker.links[0]!.context.spanId, enqueue.spanId);
      assert.deepEqual(worker.links[0]!.tags, [["messaging.message.id", item.orderId]]);
    }
    // Two orders, two request traces, two worker traces.
    assert.equal(new Set(all.map((a) => a.traceId)).size, 4);
  },
});
