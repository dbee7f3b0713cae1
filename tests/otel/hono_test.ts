// A Hono app instrumented by @hono/otel, on Deno.serve, with this module registered as the
// OpenTelemetry API's implementation. Needs --allow-net=127.0.0.1 (`deno task test:net`).
import assert from "node:assert/strict";
import * as api from "npm:@opentelemetry/api@1.9.1";
import { Hono } from "npm:hono@4.13.19";
import { httpInstrumentationMiddleware } from "npm:@hono/otel@1.1.2";
import { ActivitySource, createTracerProviderBuilder, InMemoryExporter } from "../../mod.ts";
import { registerOpenTelemetry } from "../../otel/mod.ts";

const net = await Deno.permissions.query({ name: "net", host: "127.0.0.1" });

Deno.test({
  name:
    "registerOpenTelemetry() with @hono/otel: the request span and the handler's activities form one trace",
  ignore: net.state !== "granted",
  async fn() {
    const exporter = new InMemoryExporter();
    using _provider = createTracerProviderBuilder().addSource("*").addInMemoryExporter(exporter)
      .build();
    using _otel = registerOpenTelemetry(api);
    const source = new ActivitySource("Shop");
    const app = new Hono();
    app.use(httpInstrumentationMiddleware({ serviceName: "shop" }));
    app.get("/orders/:id", async (c) => {
      const total = await source.startActiveActivity("LoadOrder", async (load) => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        source.startActivity("Query")?.stop();
        load?.setTag("order.id", c.req.param("id"));
        return 42;
      });
      return c.json({ total });
    });
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
    try {
      const url = `http://127.0.0.1:${server.addr.port}/orders/7`;
      assert.deepEqual(await (await fetch(url)).json(), { total: 42 });
      const incoming = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
      await (await fetch(url, { headers: { traceparent: incoming } })).text();
    } finally {
      await server.shutdown();
    }
    const all = exporter.activities;
    assert.equal(all.length, 6);
    const requests = all.filter((a) => a.kind === "server");
    assert.deepEqual(requests.map((a) => a.displayName), ["GET /orders/:id", "GET /orders/:id"]);
    for (const request of requests) {
      assert.equal(request.source.name, "@hono/otel");
      assert.equal(request.getTagItem("http.response.status_code"), 200);
      const load = all.find((a) =>
        a.displayName === "LoadOrder" && a.parentSpanId === request.spanId
      );
      const query = all.find((a) => a.displayName === "Query" && a.parentSpanId === load?.spanId);
      assert.equal(load?.traceId, request.traceId);
      assert.equal(query?.traceId, request.traceId);
      assert.equal(load?.getTagItem("order.id"), "7");
    }
    // The first request starts a trace; the second continues the incoming one.
    assert.equal(requests[0]?.parentSpanId, undefined);
    assert.equal(requests[1]?.traceId, "0af7651916cd43dd8448eb211c80319c");
    assert.equal(requests[1]?.parentSpanId, "b7ad6b7169203331");
    assert.equal(requests[1]?.hasRemoteParent, true);
  },
});
