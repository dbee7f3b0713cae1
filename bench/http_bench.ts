// The cost of instrumentHandler per request, without a network: the wrapped handler called
// with a Request and its response read as a server would, next to the same handler unwrapped.
// Three responses: no body (ends the activity at once), a small text body, and a body streamed in
// 16 chunks (the wrapped body forwards each chunk).
//
//   deno bench bench/http_bench.ts

import { ActivitySource, createTracerProviderBuilder, InMemoryExporter } from "../mod.ts";
import { instrumentHandler } from "../http.ts";

const exporter = new InMemoryExporter();
createTracerProviderBuilder().addSource("bench.http").addInMemoryExporter(exporter).build();
const source = new ActivitySource("bench.http");

const chunk = new TextEncoder().encode("x".repeat(64));

function streamed(): Response {
  let n = 0;
  return new Response(
    new ReadableStream<Uint8Array>({
      pull(controller) {
        if (n++ < 16) controller.enqueue(chunk);
        else controller.close();
      },
    }),
  );
}

const bodies = {
  "no body": () => new Response(null, { status: 204 }),
  "text body": () => new Response("ok"),
  "streamed body": streamed,
};

for (const [what, respond] of Object.entries(bodies)) {
  const plain = (_request: Request): Response => respond();
  const wrapped = instrumentHandler(plain, { source, route: "/bench" });
  Deno.bench({
    name: `plain handler, ${what}`,
    group: what,
    baseline: true,
    async fn() {
      await plain(new Request("http://bench.test/bench")).arrayBuffer();
    },
  });
  Deno.bench({
    name: `instrumentHandler, ${what}`,
    group: what,
    async fn() {
      await (await wrapped(new Request("http://bench.test/bench"))).arrayBuffer();
      if (exporter.activities.length >= 1_000) exporter.reset();
    },
  });
}
