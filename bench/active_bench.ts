// Row 2: a current activity with one child: startActiveActivity, and a child started (and
// stopped) inside it, both recorded into the in-memory exporter. Peer: startActiveSpan with the
// AsyncLocalStorageContextManager, a child from startSpan inside it, both ended.
//
//   deno bench --allow-env bench/active_bench.ts

import {
  AsyncLocalStorageContextManager,
  bench,
  otel,
  recordedSource,
  recordedTracer,
  RESET_AT,
} from "./_common.ts";

const { source, exporter } = recordedSource("bench.active");

otel.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const { tracer, spanExporter } = recordedTracer("bench.active");

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
