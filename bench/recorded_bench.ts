// Row 1: a recorded activity: start, one tag, stop, through the provider's simple processor
// into the in-memory exporter. Peer: startSpan / setAttribute / end with SimpleSpanProcessor
// and InMemorySpanExporter, default (parent-based, always-on) sampler on both sides.
//
// A third benchmark is for information only (no target): the same peer with an exporter that
// keeps spans synchronously. InMemorySpanExporter schedules a setTimeout for every export, and
// timers are costly in Deno; this shows what the SDK costs without that timer.
//
//   deno bench --allow-env bench/recorded_bench.ts

import { ActivitySource, createTracerProviderBuilder, InMemoryExporter } from "../mod.ts";
import {
  BasicTracerProvider,
  bench,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "./_common.ts";

const exporter = new InMemoryExporter();
createTracerProviderBuilder().addSource("bench.recorded").addInMemoryExporter(exporter).build();
const source = new ActivitySource("bench.recorded");

const spanExporter = new InMemorySpanExporter();
const tracer = new BasicTracerProvider({
  spanProcessors: [new SimpleSpanProcessor(spanExporter)],
}).getTracer("bench.recorded");

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

// The exporters keep what they receive: empty them now and then so the heap stays flat.
const RESET_AT = 1_000;

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
