// Row 7: retained memory per finished activity with one tag and one link, over 100,000
// activities kept by an in-memory exporter. Peer: 100,000 finished ReadableSpans kept by
// InMemorySpanExporter behind SimpleSpanProcessor. Each activity (span) is a new root with its
// own link object pointing at one shared context, and one string tag.
//
//   deno run --allow-env --v8-flags=--expose-gc bench/memory.ts [--json]
//
// Prints the heap bytes retained per activity for each side and their ratio.

import { ActivityContext, ActivityLink } from "../mod.ts";
import { type otel, recordedSource, recordedTracer } from "./_common.ts";

const COUNT = 100_000;
const WARMUP = 2_000;
const TRACE_ID = "2890476acefb53b93af64a0d91939051";
const SPAN_ID = "16b83c1517629363";

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  console.error("Run with --v8-flags=--expose-gc");
  Deno.exit(2);
}

function heapUsed(): number {
  for (let i = 0; i < 4; i++) gc!();
  return Deno.memoryUsage().heapUsed;
}

/** Runs `work` over `count` items and returns the heap bytes retained per item. */
function retainedPerItem(work: (count: number) => unknown, reset: () => void): number {
  work(WARMUP);
  reset();
  const before = heapUsed();
  const kept = work(COUNT);
  const after = heapUsed();
  if (kept === undefined) throw new Error("nothing kept");
  reset();
  return (after - before) / COUNT;
}

// Ours.
const { source, exporter } = recordedSource("bench.memory");
const context = new ActivityContext(TRACE_ID, SPAN_ID, { traceFlags: 1 });
const ours = retainedPerItem((count) => {
  for (let i = 0; i < count; i++) {
    const activity = source.startActivity("FannedOutActivity", {
      links: [new ActivityLink(context)],
    });
    activity?.setTag("http.route", "/orders");
    activity?.stop();
  }
  if (exporter.activities.length !== count) throw new Error("lost activities");
  return exporter.activities;
}, () => exporter.reset());

// Peer.
const { tracer, spanExporter } = recordedTracer("bench.memory");
const spanContext: otel.SpanContext = { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 1 };
const peer = retainedPerItem((count) => {
  for (let i = 0; i < count; i++) {
    const span = tracer.startSpan("FannedOutActivity", { links: [{ context: spanContext }] });
    span.setAttribute("http.route", "/orders");
    span.end();
  }
  if (spanExporter.getFinishedSpans().length !== count) throw new Error("lost spans");
  return spanExporter.getFinishedSpans();
}, () => spanExporter.reset());

const result = {
  count: COUNT,
  activityBytes: Math.round(ours),
  readableSpanBytes: Math.round(peer),
  ratio: peer / ours,
};
if (Deno.args.includes("--json")) {
  console.log(JSON.stringify(result));
} else {
  console.log(`retained bytes per finished activity, over ${COUNT} (one tag, one link)`);
  console.log(`  activity:                    ${result.activityBytes} B`);
  console.log(`  opentelemetry ReadableSpan:  ${result.readableSpanBytes} B`);
  console.log(`  ours / peer: 1/${result.ratio.toFixed(2)}`);
}
