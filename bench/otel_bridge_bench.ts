// Row 9: a span made through @opentelemetry/api with this module registered as its
// implementation (registerOpenTelemetry): startSpan, setAttribute, end, recorded through the
// provider's simple processor into the in-memory exporter. Peer: the same API calls with the
// OpenTelemetry JS SDK registered as the global tracer provider (SimpleSpanProcessor,
// InMemorySpanExporter). Each side goes through the API's global proxy tracer, as library code
// does; the globals are swapped between the two, outside the timed batches' loops.
//
//   deno bench --allow-env bench/otel_bridge_bench.ts

import { registerOpenTelemetry } from "../otel/mod.ts";
import {
  BasicTracerProvider,
  bench,
  InMemorySpanExporter,
  otel,
  recordedSource,
  RESET_AT,
  SimpleSpanProcessor,
} from "./_common.ts";

const { exporter } = recordedSource("bench.bridge");
registerOpenTelemetry(otel);
// The API's tracer: a proxy to the global provider, resolved once (as libraries hold theirs).
const bridged = otel.trace.getTracer("bench.bridge");
bridged.startSpan("warm up").end();

const spanExporter = new InMemorySpanExporter();
const sdk = new BasicTracerProvider({
  spanProcessors: [new SimpleSpanProcessor(spanExporter)],
}).getTracer("bench.bridge");

bench({
  name: "activity: api startSpan, setAttribute, end (registerOpenTelemetry)",
  group: "otel bridge",
  baseline: true,
  fn() {
    const span = bridged.startSpan("GET /orders");
    span.setAttribute("http.route", "/orders");
    span.end();
    if (exporter.activities.length >= RESET_AT) exporter.reset();
  },
});

bench({
  name: "opentelemetry sdk: api startSpan, setAttribute, end",
  group: "otel bridge",
  fn() {
    const span = sdk.startSpan("GET /orders");
    span.setAttribute("http.route", "/orders");
    span.end();
    if (spanExporter.getFinishedSpans().length >= RESET_AT) spanExporter.reset();
  },
});
