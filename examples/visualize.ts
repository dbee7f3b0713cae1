// Linked traces, seen: the guide's fan-out and a batch, printed as trees and written to a
// self-contained HTML report.
//
//   deno run -A examples/visualize.ts [report.html]
//
// Prints the trees, then writes the report to the path given, or to
// `<temp dir>/activity-report.html`, and prints where it went.

import { Activity, ActivityLink, ActivitySource, createTracerProviderBuilder } from "../mod.ts";
import { LinkGraph, renderHtmlReport, TreeExporter } from "../graph/mod.ts";

const source = new ActivitySource("MyCompany.MyApplication");
const graph = new LinkGraph();

// The exporter prints the groups of linked traces at shutdown, as one picture; the graph is
// shared so that the report below sees the same activities.
const provider = createTracerProviderBuilder()
  .addSource("MyCompany.MyApplication")
  .setServiceName("orders")
  .addExporter(new TreeExporter({ graph }))
  .build();

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Fan-out: an orchestrating activity starts three new traces, each linked back to it.
await source.startActiveActivity("OrchestratingActivity", async (orchestrating) => {
  orchestrating?.setTag("operation", "main-process");
  const links = [new ActivityLink(Activity.current!.context, { "link.reason": "fan-out" })];
  await Promise.all([1, 2, 3].map((n) =>
    source.startActiveActivity(
      `FannedOutActivity ${n}`,
      { root: true, links, tags: { "operation.index": n } },
      async () => {
        await pause(3 * n);
        using step = source.startActivity("Step");
        await pause(2);
        step?.setTag("step", "load");
      },
    )
  ));
  using wrapUp = source.startActivity("WrapUp");
  await pause(1);
  wrapUp?.setTag("status", "completed");
});

// Batch: three requests, each a trace of its own, then one batch activity linking to all.
const requests: ActivityLink[] = [];
for (const id of ["A-17", "B-42", "C-99"]) {
  await source.startActiveActivity(
    "EnqueueOrder",
    { kind: "producer", root: true, tags: { "order.id": id } },
    async (enqueue) => {
      await pause(1);
      if (enqueue) requests.push(new ActivityLink(enqueue.context, { "order.id": id }));
    },
  );
}
await source.startActiveActivity(
  "ProcessBatch",
  { kind: "consumer", root: true, links: requests, tags: { "batch.size": requests.length } },
  async (batch) => {
    await pause(4);
    batch?.addEvent("batch.committed");
  },
);

await provider.shutdown();

const path = Deno.args[0] ?? `${tempDir()}/activity-report.html`;
await Deno.writeTextFile(path, renderHtmlReport(graph, { title: "Fan-out and batch" }));
console.log(`\nReport: ${path} (${graph.size} activities in ${graph.traceCount} traces)`);

function tempDir(): string {
  return (Deno.env.get("TMPDIR") ?? "/tmp").replace(/\/$/, "");
}
