// Row 1: a recorded activity: start, one tag, stop, through the provider's simple processor
// into the in-memory exporter. Peer: startSpan / setAttribute / end with SimpleSpanProcessor
// and InMemorySpanExporter, default (parent-based, always-on) sampler on both sides.
//
// A third benchmark is for information only (no target): the same peer with an exporter that
// keeps spans synchronously. InMemorySpanExporter schedules a setTimeout for every export, and
// timers are costly in Deno; this shows what the SDK costs without that timer.
//
//   deno bench --allow-env bench/recorded_bench.ts

import {
  BasicTracerProvider,
  bench,
  type ReadableSpan,
  recordedSource,
  recordedTracer,
  RESET_AT,
  SimpleSpanProcessor,
} from "./_common.ts";

const { source, exporter } = recordedSource("bench.recorded");
const { tracer, spanExporter } = recordedTracer("bench.recorded");

const syncSpans: ReadableSpan[] = [];
const syncTracer = new BasicTracerProvider({
  spanProcessors: [
    new SimpleSpanProcessor({
      export(spans, done) {
        for (const span of spans) syncSpans.push(span);
        done({ code: 0 }); // ExportResultCode.SUCCESS
      },
      shutdown: () => Promise.resolve(),
    }),
  ],
}).getTracer("bench.recorded");

bench({
  name: "activity: start, setTag, stop",
  group: "recorded",
  baseline: true,
  fn() {
    const activity = source.startActivity("GET /orders");
    activity?.setTag("http.route", "/orders");
    activity?.stop();
    if (exporter.activities.length >= RESET_AT) exporter.reset();
  },
});

bench({
  name: "opentelemetry: startSpan, setAttribute, end",
  group: "recorded",
  fn() {
    const span = tracer.startSpan("GET /orders");
    span.setAttribute("http.route", "/orders");
    span.end();
    if (spanExporter.getFinishedSpans().length >= RESET_AT) spanExporter.reset();
  },
});

bench({
  name: "opentelemetry (information): synchronous exporter, no timer",
  group: "recorded",
  fn() {
    const span = syncTracer.startSpan("GET /orders");
    span.setAttribute("http.route", "/orders");
    span.end();
    if (syncSpans.length >= RESET_AT) syncSpans.length = 0;
  },
});
