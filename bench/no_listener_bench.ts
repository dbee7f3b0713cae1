// Row 4: nothing listening. startActivity on a source that no listener listens to (a provider
// exists, but for other sources). Peers: a tracer of a provider whose sampler is
// AlwaysOffSampler, and the API's no-op tracer (no SDK registered). Each call also stops or
// ends what it got, as instrumented code does.
//
//   deno bench --allow-env bench/no_listener_bench.ts

import { ActivitySource, createTracerProviderBuilder, InMemoryExporter } from "../mod.ts";
import {
  AlwaysOffSampler,
  BasicTracerProvider,
  bench,
  InMemorySpanExporter,
  keep,
  otel,
  SimpleSpanProcessor,
} from "./_common.ts";

createTracerProviderBuilder().addSource("SomethingElse.*").addInMemoryExporter(
  new InMemoryExporter(),
).build();
const source = new ActivitySource("bench.quiet");

const offTracer = new BasicTracerProvider({
  sampler: new AlwaysOffSampler(),
  spanProcessors: [new SimpleSpanProcessor(new InMemorySpanExporter())],
}).getTracer("bench.quiet");
const noopTracer = otel.trace.getTracer("bench.quiet");

bench({
  name: "activity: startActivity, nobody listening",
  group: "nothing listening",
  baseline: true,
  fn() {
    const activity = source.startActivity("GET /orders");
    activity?.stop();
    keep(activity);
  },
});

bench({
  name: "opentelemetry: startSpan, AlwaysOffSampler",
  group: "nothing listening",
  fn() {
    const span = offTracer.startSpan("GET /orders");
    span.end();
    keep(span);
  },
});

bench({
  name: "opentelemetry: startSpan, API no-op tracer",
  group: "nothing listening",
  fn() {
    const span = noopTracer.startSpan("GET /orders");
    span.end();
    keep(span);
  },
});
