// Row 8: start, one tag, stop, against Deno's built-in tracer: with OTEL_DENO=true, spans made
// through npm:@opentelemetry/api go to Deno's own tracer, which records them and queues them
// for its OTLP exporter. Ours: a provider with the simple processor and the in-memory exporter.
// Both run in the same process, so under the same OTEL_DENO=true runtime.
//
//   OTEL_DENO=true deno bench --allow-env bench/deno_otel_bench.ts
//
// Without OTEL_DENO=true the API has no tracer behind it, so both benchmarks are skipped.

import { bench, otel, recordedSource, RESET_AT } from "./_common.ts";

const { source, exporter } = recordedSource("bench.deno");

const tracer = otel.trace.getTracer("bench.deno");
const probe = tracer.startSpan("probe");
const denoTracerActive = probe.isRecording();
probe.end();

bench({
  name: "activity: start, setTag, stop",
  group: "deno built-in tracer",
  baseline: true,
  ignore: !denoTracerActive,
  fn() {
    const activity = source.startActivity("GET /orders");
    activity?.setTag("http.route", "/orders");
    activity?.stop();
    if (exporter.activities.length >= RESET_AT) exporter.reset();
  },
});

bench({
  name: "deno OTEL_DENO=true: startSpan, setAttribute, end",
  group: "deno built-in tracer",
  ignore: !denoTracerActive,
  fn() {
    const span = tracer.startSpan("GET /orders");
    span.setAttribute("http.route", "/orders");
    span.end();
  },
});
