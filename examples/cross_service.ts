// Cross-service correlation and an asynchronous workflow, two link cases of the OpenTelemetry
// .NET guide "Creating links between traces", with two HTTP services in one process:
//
//   client ──fetch──▶ frontend (/checkout) ──fetch──▶ orders (/orders) ──▶ queue
//                                                                            │ later
//                                                   worker: ProcessOrder ◀───┘ (own trace, linked)
//
// The frontend's outgoing request carries the trace (traceparent, tracestate) and baggage;
// the orders service continues it as a `server` activity and hands the work to an in-memory
// queue; a worker processes each message later in a trace of its own, linked to the request.
//
//   deno run --allow-net=127.0.0.1 examples/cross_service.ts
//
// Prints, per order, the records of one trace (orders server, frontend client, frontend
// server; the producer activity first), then one ProcessOrder record per order, each in its
// own trace with a link to the orders service's producer activity.

import {
  Activity,
  ActivityLink,
  ActivitySource,
  createTracerProviderBuilder,
  extract,
  inject,
  type TracerProviderBuilder,
} from "../mod.ts";
import { instrumentFetch, instrumentHandler, setHttpRoute } from "../http.ts";

/** A message on the work queue: the order and the headers carrying its trace context. */
export interface WorkItem {
  orderId: string;
  headers: Record<string, string>;
}

/**
 * Runs the example: starts both services on 127.0.0.1 (ports chosen by the system), places
 * two orders, processes the queue, and shuts everything down.
 *
 * @param configure Adds exporters to the provider (the console exporter by default).
 * @returns The work items the worker processed.
 */
export async function runCrossService(
  configure: (builder: TracerProviderBuilder) => TracerProviderBuilder = (b) =>
    b.addConsoleExporter(),
): Promise<WorkItem[]> {
  const provider = configure(createTracerProviderBuilder().addSource("MyCompany.*")).build();
  const frontendSource = new ActivitySource("MyCompany.Frontend");
  const ordersSource = new ActivitySource("MyCompany.Orders");
  const workerSource = new ActivitySource("MyCompany.Worker");
  const queue: WorkItem[] = [];

  // The orders service: continues the caller's trace, queues the work, answers 202. One
  // handler serves every path, so it names the route of each request once it has matched it.
  const orderRoute = new URLPattern({ pathname: "/orders" });
  const orders = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    instrumentHandler(async (request, info) => {
      if (!orderRoute.test(request.url) || request.method !== "POST") {
        return new Response("not found", { status: 404 });
      }
      setHttpRoute("/orders");
      const { orderId } = await request.json() as { orderId: string };
      const server = Activity.current;
      server?.setTag("client.address", info.remoteAddr.hostname);
      server?.setTag("order.id", orderId);
      server?.setTag("customer.tier", server.getBaggageItem("customer.tier") ?? "unknown");
      // Hand the work to the queue: a producer activity whose context travels with the item.
      using enqueue = ordersSource.startActivity("EnqueueOrder", { kind: "producer" });
      const headers: Record<string, string> = {};
      inject(enqueue ?? server, headers);
      queue.push({ orderId, headers });
      return Response.json({ accepted: orderId }, { status: 202 });
    }, { source: ordersSource }),
  );
  const ordersUrl = `http://127.0.0.1:${orders.addr.port}/orders`;

  // The frontend: adds baggage, calls the orders service with an instrumented fetch.
  const tracedFetch = instrumentFetch({ source: frontendSource });
  const frontend = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    instrumentHandler(async (request) => {
      const orderId = new URL(request.url).searchParams.get("order") ?? "none";
      Activity.current?.addBaggage("customer.tier", "gold");
      const response = await tracedFetch(ordersUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ orderId }),
      });
      // Read the body to the end: the orders service's activity ends when it has sent it.
      const { accepted } = await response.json() as { accepted: string };
      return new Response(`order ${accepted}: ${response.status}\n`);
    }, { source: frontendSource, route: "/checkout" }),
  );
  const frontendUrl = `http://127.0.0.1:${frontend.addr.port}/checkout`;

  try {
    // A client with no tracing of its own places two orders: each starts a trace.
    for (const orderId of ["A-1001", "A-1002"]) {
      const response = await fetch(`${frontendUrl}?order=${orderId}`);
      await response.text();
    }
  } finally {
    await frontend.shutdown();
    await orders.shutdown();
  }

  // Later, the worker processes the queue: each item in a new trace, linked to its request.
  const done = queue.splice(0, queue.length);
  for (const item of done) {
    const origin = extract(item.headers);
    const links = origin === undefined ? [] : [
      new ActivityLink(origin, { "messaging.message.id": item.orderId }),
    ];
    await workerSource.startActiveActivity(
      "ProcessOrder",
      { kind: "consumer", root: true, links, tags: { "order.id": item.orderId } },
      async (activity) => {
        // Process the order...
        await Promise.resolve();
        activity?.setStatus("ok");
      },
    );
  }

  await provider.shutdown();
  return done;
}

if (import.meta.main) await runCrossService();
