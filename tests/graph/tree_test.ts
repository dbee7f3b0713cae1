import assert from "node:assert/strict";
import {
  type Activity,
  ActivityLink,
  ActivitySource,
  createTracerProviderBuilder,
} from "../../mod.ts";
import {
  LinkGraph,
  renderGraph,
  renderHtmlReport,
  renderTree,
  snapshotActivity,
  TreeExporter,
} from "../../graph/mod.ts";
import { batchGraph, deterministicSource, hostileGraph, run } from "./_fixtures.ts";

let counter = 0;

/** The guide's fan-out: an orchestrator, three new roots linking to it, then WrapUp. */
async function fanout(source: ActivitySource): Promise<{
  orchestrating: Activity;
  fanned: Activity[];
  wrapUp: Activity;
}> {
  const fanned: Activity[] = [];
  let wrapUp: Activity | undefined;
  const orchestrating = await source.startActiveActivity(
    "OrchestratingActivity",
    async (orchestrating) => {
      orchestrating?.setTag("operation", "main-process");
      const links = [new ActivityLink(orchestrating!.context)];
      await Promise.all(
        [1, 2, 3].map((n) =>
          source.startActiveActivity(`FannedOutActivity ${n}`, { root: true, links }, async (a) => {
            fanned.push(a!);
            await Promise.resolve();
          })
        ),
      );
      wrapUp = run(source, "WrapUp", { tags: { status: "completed" } });
      return orchestrating!;
    },
  );
  return { orchestrating, fanned, wrapUp: wrapUp! };
}

async function guideFanout(source: ActivitySource): Promise<void> {
  await source.startActiveActivity("OrchestratingActivity", async (orchestrating) => {
    orchestrating?.setTag("operation", "main-process");
    const links = [new ActivityLink(orchestrating!.context)];
    await Promise.all([1, 2, 3].map((n) =>
      source.startActiveActivity(
        `FannedOutActivity ${n}`,
        { kind: "internal", links, root: true },
        async () => {
          await Promise.resolve();
        },
      )
    ));
    run(source, "WrapUp", { tags: { status: "completed" } });
  });
}

Deno.test("TreeExporter prints the groups that changed, at flush and at shutdown", async () => {
  const pictures: string[] = [];
  const exporter = new TreeExporter({ write: (text) => pictures.push(text) });
  const name = `Graph.Test.${++counter}`;
  const provider = createTracerProviderBuilder().addSource(name).addExporter(exporter).build();
  const source = new ActivitySource(name);
  const { orchestrating } = await fanout(source);
  await provider.forceFlush();
  assert.equal(pictures.length, 1);
  assert.equal(pictures[0]!.match(/^trace /gm)?.length, 1, "one picture, one group");
  assert.equal(pictures[0]!.match(/← linked from FannedOutActivity/g)?.length, 3);
  assert.ok(pictures[0]!.startsWith(`trace ${orchestrating.traceId}\n`));
  await provider.forceFlush();
  assert.equal(pictures.length, 1, "nothing changed: nothing printed");
  run(source, "Lonely", { root: true });
  await provider.shutdown();
  assert.equal(pictures.length, 2);
  assert.match(pictures[1]!, /^trace [0-9a-f]{32}\n└── Lonely {2}internal {2}\S+\n$/);
  assert.equal(exporter.graph.size, 6);
});

Deno.test("TreeExporter's failing writer is contained by the processor", async () => {
  const errors: string[] = [];
  const name = `Graph.Test.${++counter}`;
  const provider = createTracerProviderBuilder().addSource(name)
    .addExporter(
      new TreeExporter({
        write: () => {
          throw new Error("disk full");
        },
      }),
    )
    .setErrorHandler((error) => errors.push((error as Error).message))
    .build();
  run(new ActivitySource(name), "Work");
  await provider.shutdown();
  assert.deepEqual(errors, ["disk full"]);
});

Deno.test("TreeExporter draws the guide's fan-out as one picture", async () => {
  const source = deterministicSource();
  const pictures: string[] = [];
  const provider = createTracerProviderBuilder()
    .addSource(source.name)
    .setServiceName("orders")
    .addExporter(new TreeExporter({ write: (text) => pictures.push(text) }))
    .build();
  await guideFanout(source);
  await provider.shutdown();
  assert.deepEqual(pictures, [
    [
      "trace a0000000000000000000000000000001  [orders]",
      "└── OrchestratingActivity  internal  11.25ms  operation=main-process",
      "    ├── ← linked from FannedOutActivity 1 in trace a0000000000000000000000000000002",
      "    │   └── FannedOutActivity 1  internal  3.75ms",
      "    ├── ← linked from FannedOutActivity 2 in trace a0000000000000000000000000000003",
      "    │   └── FannedOutActivity 2  internal  3.75ms",
      "    ├── ← linked from FannedOutActivity 3 in trace a0000000000000000000000000000004",
      "    │   └── FannedOutActivity 3  internal  3.75ms",
      "    └── WrapUp  internal  1.25ms  status=completed",
      "",
    ].join("\n"),
  ]);
});

Deno.test("renderGraph() draws a batch from the activity that links to the others", async () => {
  const { graph } = await batchGraph();
  assert.equal(
    renderGraph(graph),
    [
      "trace a0000000000000000000000000000003",
      "└── ProcessBatch  consumer  3.75ms  batch.size=3",
      "    ├── → links to EnqueueOrder in trace a0000000000000000000000000000001  batch.index=0",
      "    │   └── EnqueueOrder  producer  1.25ms  order.id=A-17",
      "    ├── → links to EnqueueOrder in trace a0000000000000000000000000000002  batch.index=1",
      "    │   └── EnqueueOrder  producer  1.25ms  order.id=B-42",
      "    ├── → links to span b7ad6b7169203331 in trace 0af7651916cd43dd8448eb211c80319c (not in graph)  batch.index=2",
      "    └── Commit  client  1.25ms",
      "",
    ].join("\n"),
  );
});

Deno.test("renderTree() with depth 0 lists the links without drawing the linked traces", async () => {
  const { graph, batch } = await batchGraph();
  assert.equal(
    renderTree(graph, batch.traceId, { depth: 0 }),
    [
      "trace a0000000000000000000000000000003",
      "└── ProcessBatch  consumer  3.75ms  batch.size=3",
      "    ├── → links to EnqueueOrder in trace a0000000000000000000000000000001  batch.index=0",
      "    ├── → links to EnqueueOrder in trace a0000000000000000000000000000002  batch.index=1",
      "    ├── → links to span b7ad6b7169203331 in trace 0af7651916cd43dd8448eb211c80319c (not in graph)  batch.index=2",
      "    └── Commit  client  1.25ms",
      "",
    ].join("\n"),
  );
  assert.throws(() => renderTree(graph, batch.traceId, { depth: -1 }), RangeError);
  assert.throws(() => renderTree(graph, batch.traceId, { maxTags: 1.5 }), RangeError);
  assert.throws(() => renderTree(graph, batch.traceId, { maxTagLength: 0 }), RangeError);
});

Deno.test("renderTree() shows a remote parent and escapes control and bidi characters", async () => {
  const { graph, server } = await hostileGraph();
  assert.equal(
    renderTree(graph, server.traceId),
    [
      "trace 4bf92f3577b34da6a3ce929d0e0e4736  [billing\\u202Egnp.exe]",
      "└── ⋯ parent 00f067aa0ba902b7 (remote)",
      '    └── Charge\\ncard \\u001B[31mred\\u001B[0m  server  3.75ms  ✗ error: Card\\r\\ndeclined  a=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx… b=2.5 c=[1,"two"] +2',
      "        └── \\u2067RTL\\u2069  internal  1.25ms",
      "",
    ].join("\n"),
  );
  assert.equal(
    renderTree(graph, server.traceId, { maxTags: 1, maxTagLength: 8 }).split("\n")[2],
    "    └── Charge\\ncard \\u001B[31mred\\u001B[0m  server  3.75ms  ✗ error: Card\\r\\ndeclined  a=xxxxxxx… +4",
  );
});

Deno.test("renderTree() draws a trace 2,000 activities deep and a chain of 1,500 linked traces", () => {
  const source = deterministicSource();
  const graph = new LinkGraph();
  using _provider = createTracerProviderBuilder().addSource(source.name).addProcessor(graph)
    .build();
  const chain: Activity[] = [source.startActivity("level 0")!];
  for (let i = 1; i < 2000; i++) {
    chain.push(source.startActivity(`level ${i}`, { parent: chain[i - 1]! })!);
  }
  for (const activity of [...chain].reverse()) activity.stop();
  const deep = renderTree(graph, chain[0]!.traceId).split("\n");
  assert.equal(deep.length, 2002); // header, 2,000 activities, final newline
  assert.equal(deep[2000], `${" ".repeat(4 * 1999)}└── level 1999  internal  1.25ms`);

  let previous = run(source, "link 0", { root: true });
  const first = previous;
  for (let i = 1; i < 1500; i++) {
    previous = run(source, `link ${i}`, {
      root: true,
      links: [new ActivityLink(previous.context)],
    });
  }
  const linked = renderTree(graph, first.traceId).split("\n");
  assert.equal(linked.length, 1 + 1500 + 1499 + 1); // header, each activity, each link
  assert.match(linked.at(-2)!, /└── link 1499 {2}internal {2}1\.25ms$/);
});

Deno.test("renderTree() and renderHtmlReport() escape the ids and status of hand-made snapshots", () => {
  const source = deterministicSource();
  using _provider = createTracerProviderBuilder().addSource(source.name).build();
  const snapshot = snapshotActivity(run(source, "Work"));
  const graph = new LinkGraph();
  const traceId = "\u001b]0;owned\u0007\u202Eevil";
  graph.add({ ...snapshot, traceId });
  assert.equal(
    renderTree(graph, traceId).split("\n")[0],
    "trace \\u001B]0;owned\\u0007\\u202Eevil",
  );
  // A status that is not one of the three codes is not a snapshot.
  assert.throws(
    () => graph.add({ ...snapshot, spanId: "1", status: "<img src=x>" as "ok" }),
    TypeError,
  );
  assert.ok(!renderHtmlReport(graph).includes("<img"));
});
