// Row 3: a recorded activity started with one link (start, stop), into the in-memory
// exporter. Peer: startSpan with one link, end, SimpleSpanProcessor + InMemorySpanExporter.
// Each side links to a context made once, as the guide's fan-out does.
//
//   deno bench --allow-env bench/link_bench.ts

import { ActivityContext, ActivityLink } from "../mod.ts";
import { bench, type otel, recordedSource, recordedTracer, RESET_AT } from "./_common.ts";

const TRACE_ID = "2890476acefb53b93af64a0d91939051";
const SPAN_ID = "16b83c1517629363";

const { source, exporter } = recordedSource("bench.link");
const link = new ActivityLink(new ActivityContext(TRACE_ID, SPAN_ID, { traceFlags: 1 }));

const { tracer, spanExporter } = recordedTracer("bench.link");
const spanLink: otel.Link = { context: { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 1 } };

bench({
  name: "activity: start with one link, stop",
  group: "link",
  baseline: true,
  fn() {
    source.startActivity("FannedOutActivity", { root: true, links: [link] })?.stop();
    if (exporter.activities.length >= RESET_AT) exporter.reset();
  },
});

bench({
  name: "opentelemetry: startSpan with one link, end",
  group: "link",
  fn() {
    tracer.startSpan("FannedOutActivity", { root: true, links: [spanLink] }).end();
    if (spanExporter.getFinishedSpans().length >= RESET_AT) spanExporter.reset();
  },
});
