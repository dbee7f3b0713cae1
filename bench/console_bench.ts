// Row 6: console formatting of a full record (tags of each type, an error status, two events,
// two links, a resource) into a string sink. Ours: ConsoleExporter with a `write` that keeps the
// text. Peer: ConsoleSpanExporter with console.dir captured as the text the console would print
// (Deno.inspect with the exporter's depth). Both format the same finished activity and span.
//
//   deno bench --allow-env bench/console_bench.ts

import { ActivityContext, ActivityLink, ConsoleExporter, Resource } from "../mod.ts";
import {
  bench,
  ConsoleSpanExporter,
  type ReadableSpan,
  recordedSource,
  recordedTracer,
} from "./_common.ts";

const LINK_A = { traceId: "2890476acefb53b93af64a0d91939051", spanId: "16b83c1517629363" };
const LINK_B = { traceId: "46f0b5b68173b4acf4f50e1f5cdb3e55", spanId: "42e7f4439fc2b416" };
const TAGS = {
  "order.id": 1234,
  "order.total": 19.99,
  "order.express": true,
  "order.items": ["apple", "banana"],
  "order.ids": [1, 2, 3],
};

// The peer's finished span.
const { tracer, spanExporter } = recordedTracer("MyCompany.MyApplication");
{
  const span = tracer.startSpan("ProcessOrder", {
    kind: 1, // SpanKind.SERVER
    attributes: TAGS,
    links: [
      {
        context: { ...LINK_A, traceFlags: 1 },
        attributes: { "link.reason": "batch", "link.index": 0 },
      },
      { context: { ...LINK_B, traceFlags: 1 } },
    ],
  });
  span.addEvent("validated", { step: 1 });
  span.addEvent("retry");
  span.setStatus({ code: 2, message: "Payment failed" }); // SpanStatusCode.ERROR
  span.end();
}
const span: ReadableSpan = spanExporter.getFinishedSpans()[0]!;

// Ours: the same activity, and the same resource attributes as the peer's default resource.
const { source, exporter } = recordedSource("MyCompany.MyApplication");
{
  const activity = source.startActivity("ProcessOrder", {
    kind: "server",
    tags: TAGS,
    links: [
      new ActivityLink(new ActivityContext(LINK_A.traceId, LINK_A.spanId, { traceFlags: 1 }), {
        "link.reason": "batch",
        "link.index": 0,
      }),
      new ActivityLink(new ActivityContext(LINK_B.traceId, LINK_B.spanId, { traceFlags: 1 })),
    ],
  })!;
  activity.addEvent("validated", { tags: { step: 1 } });
  activity.addEvent("retry");
  activity.setStatus("error", "Payment failed");
  activity.stop();
}
const activity = exporter.activities[0]!;
const resource = new Resource(span.resource.attributes as Record<string, string>);

let written = 0;
const consoleExporter = new ConsoleExporter({ write: (text) => written += text.length });

// The peer prints through console.dir: capture it, as the text the console would write.
const spanConsoleExporter = new ConsoleSpanExporter();
console.dir = (value: unknown, options?: Deno.InspectOptions) => {
  written += (Deno.inspect(value, options) + "\n").length;
};

bench({
  name: "activity: ConsoleExporter, full record",
  group: "console",
  baseline: true,
  fn() {
    consoleExporter.export([activity], resource);
  },
});

bench({
  name: "opentelemetry: ConsoleSpanExporter, full span",
  group: "console",
  fn() {
    spanConsoleExporter.export([span], () => {});
  },
});
