// Beside Deno's built-in telemetry: a two-hop service (frontend → backend) whose requests Deno
// traces on its own (`Deno.serve` and `fetch` spans) and this module traces with activities
// (instrumentHandler, instrumentFetch, an activity of the backend's work). Both kinds of spans
// form one trace: the activities are children of Deno's request spans, Deno's fetch span is the
// child of the client activity, and each request carries one traceparent (Deno's fetch span's,
// the innermost client span).
//
//   OTEL_DENO=true OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 \
//     deno run --allow-net=127.0.0.1,localhost --allow-env examples/deno_otel.ts
//
// Deno exports its spans to OTEL_EXPORTER_OTLP_ENDPOINT; this module's activities go there too.

import { ActivitySource, createTracerProviderBuilder } from "../mod.ts";
import { instrumentFetch, instrumentHandler, setHttpRoute } from "../http.ts";

const provider = createTracerProviderBuilder()
  .addSource("Shop.*")
  .setServiceName("shop")
  .addOtlpExporter()
  .build();

const frontendSource = new ActivitySource("Shop.Frontend");
const backendSource = new ActivitySource("Shop.Backend");
const tracedFetch = instrumentFetch({ source: frontendSource });

/** The traceparent headers each hop received, as received (one per request expected). */
const received: Record<string, string | null> = {};

const backend = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen() {} },
  instrumentHandler(async (request) => {
    received.backend = request.headers.get("traceparent");
    setHttpRoute("/price");
    const price = await backendSource.startActiveActivity("LookUpPrice", async (activity) => {
      activity?.setTag("item", "book");
      await new Promise((resolve) => setTimeout(resolve, 2));
      return 42;
    });
    return Response.json({ price });
  }, { source: backendSource }),
);

const frontend = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen() {} },
  instrumentHandler(async (request) => {
    received.frontend = request.headers.get("traceparent");
    setHttpRoute("/checkout");
    const response = await tracedFetch(`http://127.0.0.1:${backend.addr.port}/price`);
    const { price } = await response.json();
    return new Response(`total: ${price}`);
  }, { source: frontendSource }),
);

const answer = await (await fetch(`http://127.0.0.1:${frontend.addr.port}/checkout`)).text();
await frontend.shutdown();
await backend.shutdown();
await provider.shutdown();
console.log(JSON.stringify({ answer, received }));
