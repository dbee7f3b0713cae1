// Row 2: a current activity with one child: startActiveActivity, and a child started (and
// stopped) inside it, both recorded into the in-memory exporter. Peer: startActiveSpan with the
// AsyncLocalStorageContextManager, a child from startSpan inside it, both ended.
//
//   deno bench --allow-env bench/active_bench.ts

import { ActivitySource, createTracerProviderBuilder, InMemoryExporter } from "../mod.ts";
import {
  AsyncLocalStorageContextManager,
  BasicTracerProvider,
  bench,
  InMemorySpanExporter,
  otel,
  SimpleSpanProcessor,
} from "./_common.ts";

const exporter = new InMemoryExporter();
createTracerProviderBuilder().addSource("bench.active").addInMemoryExporter(exporter).build();
const source = new ActivitySource("bench.active");

otel.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const spanExporter = new InMemorySpanExporter();
const tracer = new BasicTracerProvider({
  spanProcessors: [new SimpleSpanProcessor(spanExporter)],
}).getTracer("bench.active");

const RESET_AT = 1_000;

bench({
  name: "activity: startActiveActivity + child",
  group: "active",
  baseline: true,
  fn() {
    source.startActiveActivity("HandleRequest", () => {
      source.startActivity("QueryDatabase")?.stop();
    });
    if (exporter.activities.length >= RESET_AT) exporter.reset();
  },
});

bench({
  name: "opentelemetry: startActiveSpan + child",
  group: "active",
  fn() {
    tracer.startActiveSpan("HandleRequest", (span) => {
      tracer.startSpan("QueryDatabase").end();
      span.end();
    });
    if (spanExporter.getFinishedSpans().length >= RESET_AT) spanExporter.reset();
  },
});
