import assert from "node:assert/strict";
import {
  type Activity,
  ActivityContext,
  ActivityLink,
  ActivitySource,
  createTracerProviderBuilder,
  type TracerProvider,
} from "../../mod.ts";
import {
  type ActivitySnapshot,
  type LinkEdge,
  LinkGraph,
  renderTree,
  snapshotActivity,
  TreeExporter,
} from "../../graph/mod.ts";

let counter = 0;
/** A source with a name no other test listens to, and a provider feeding `graph`. */
function setup(
  graph: LinkGraph,
  as: "processor" | "exporter" = "processor",
  service?: string,
): { source: ActivitySource; provider: TracerProvider } {
  const name = `Graph.Test.${++counter}`;
  const builder = createTracerProviderBuilder().addSource(name);
  if (service !== undefined) builder.setServiceName(service);
  if (as === "processor") builder.addProcessor(graph);
  else builder.addExporter(graph);
  return { source: new ActivitySource(name), provider: builder.build() };
}

/** Starts and stops an activity at once. */
function run(
  source: ActivitySource,
  name: string,
  options: Parameters<ActivitySource["startActivity"]>[1] = {},
): Activity {
  const activity = source.startActivity(name, options);
  assert.ok(activity !== undefined, `${name} was not sampled`);
  activity.stop();
  return activity;
}

function names(graph: LinkGraph, refs: readonly { traceId: string; spanId: string }[]): string[] {
  return refs.map((ref) => graph.get(ref)?.name ?? `external ${ref.spanId}`);
}

const edgeNames = (graph: LinkGraph, edges: readonly LinkEdge[]): string[] =>
  edges.map((e) =>
    `${graph.get(e.from)?.name ?? "?"} -> ${graph.get(e.to)?.name ?? `external ${e.to.spanId}`}`
  );

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

Deno.test("LinkGraph answers the fan-out's queries", async (t) => {
  const graph = new LinkGraph();
  const { source, provider } = setup(graph);
  const { orchestrating, fanned, wrapUp } = await fanout(source);
  await provider.shutdown();

  await t.step("tree() nests WrapUp under the orchestrator", () => {
    const tree = graph.tree(orchestrating.traceId)!;
    assert.equal(tree.size, 2);
    assert.equal(tree.roots.length, 1);
    assert.equal(tree.roots[0]!.activity.spanId, orchestrating.spanId);
    assert.deepEqual(tree.roots[0]!.children.map((c) => c.activity.spanId), [wrapUp.spanId]);
    for (const a of fanned) {
      const own = graph.tree(a.traceId)!;
      assert.equal(own.size, 1);
      assert.equal(own.roots[0]!.activity.name, a.displayName);
    }
  });

  await t.step("linksTo() lists the three fanned-out activities as backlinks", () => {
    const backlinks = graph.linksTo(orchestrating);
    assert.deepEqual(
      backlinks.map((e) => e.from.spanId).sort(),
      fanned.map((a) => a.spanId).sort(),
    );
    assert.ok(backlinks.every((e) => e.resolved && e.to.spanId === orchestrating.spanId));
    assert.deepEqual(graph.linksTo(wrapUp), []);
  });

  await t.step("linksFrom() points each fanned-out activity at the orchestrator", () => {
    for (const a of fanned) {
      const out = graph.linksFrom(a);
      assert.equal(out.length, 1);
      assert.deepEqual(out[0]!.to, {
        traceId: orchestrating.traceId,
        spanId: orchestrating.spanId,
      });
      assert.equal(out[0]!.linkIndex, 0);
      assert.equal(out[0]!.resolved, true);
    }
    assert.deepEqual(graph.linksFrom(orchestrating), []);
  });

  await t.step("related() walks both directions, breadth first", () => {
    const fromHub = graph.related(orchestrating.traceId);
    assert.deepEqual(fromHub.traces[0], {
      traceId: orchestrating.traceId,
      depth: 0,
      known: true,
    });
    assert.deepEqual(
      fromHub.traces.slice(1).map((tr) => [tr.traceId, tr.depth]).sort(),
      fanned.map((a) => [a.traceId, 1]).sort(),
    );
    assert.equal(fromHub.edges.length, 3);

    // From a leaf, the orchestrator is one link away and the sibling fan-outs two.
    const fromLeaf = graph.related(fanned[0]!.traceId);
    const depths = new Map(fromLeaf.traces.map((tr) => [tr.traceId, tr.depth]));
    assert.equal(depths.get(fanned[0]!.traceId), 0);
    assert.equal(depths.get(orchestrating.traceId), 1);
    assert.equal(depths.get(fanned[1]!.traceId), 2);
    assert.equal(depths.get(fanned[2]!.traceId), 2);
    assert.equal(fromLeaf.edges.length, 3);
    assert.equal(graph.related(fanned[0]!.traceId, { maxDepth: 1 }).traces.length, 2);
    assert.equal(graph.related(fanned[0]!.traceId, { maxDepth: 0 }).traces.length, 1);
  });

  await t.step("groups() puts the four traces in one group led by the orchestrator", () => {
    const groups = graph.groups();
    assert.equal(groups.length, 1);
    assert.equal(groups[0]!.traces[0]!.traceId, orchestrating.traceId);
    assert.equal(groups[0]!.traces.length, 4);
  });
});

Deno.test("LinkGraph answers the batch's queries (one activity, links to several traces)", async () => {
  const graph = new LinkGraph();
  const { source, provider } = setup(graph, "exporter");
  const requests = ["A", "B", "C"].map((id) =>
    run(source, `Request ${id}`, { kind: "producer", root: true, tags: { "order.id": id } })
  );
  const batch = run(source, "ProcessBatch", {
    kind: "consumer",
    root: true,
    links: requests.map((r, i) => new ActivityLink(r.context, { "batch.index": i })),
  });
  await provider.shutdown();

  const out = graph.linksFrom(batch);
  assert.deepEqual(out.map((e) => e.to.spanId), requests.map((r) => r.spanId));
  assert.deepEqual(out.map((e) => e.tags), [[["batch.index", 0]], [["batch.index", 1]], [[
    "batch.index",
    2,
  ]]]);
  assert.ok(out.every((e) => e.resolved));
  for (const r of requests) {
    assert.deepEqual(graph.linksTo(r).map((e) => e.from.spanId), [batch.spanId]);
  }
  const related = graph.related(requests[1]!.traceId);
  assert.deepEqual(related.traces.map((tr) => tr.depth), [0, 1, 2, 2]);
  assert.deepEqual(edgeNames(graph, related.edges).sort(), [
    "ProcessBatch -> Request A",
    "ProcessBatch -> Request B",
    "ProcessBatch -> Request C",
  ]);
  assert.equal(graph.groups()[0]!.traces[0]!.traceId, batch.traceId);
});

Deno.test("LinkGraph joins a trace across two services (remote parent and remote link)", async (t) => {
  const graph = new LinkGraph();
  const front = setup(graph, "exporter", "frontend");
  const back = setup(graph, "exporter", "orders");
  const alone = new LinkGraph();
  const backAlone = createTracerProviderBuilder().addSource(back.source.name).addProcessor(alone)
    .setServiceName("orders").build();

  let client: Activity | undefined;
  let producer: Activity | undefined;
  const checkout = front.source.startActiveActivity("Checkout", { kind: "server" }, (root) => {
    client = run(front.source, "POST /orders", { kind: "client" });
    producer = run(front.source, "Publish order", { kind: "producer" });
    return root!;
  });
  // What travels: traceparent headers, parsed on the other side as remote contexts.
  const parent = ActivityContext.parse(client!.context.toTraceparent());
  const message = ActivityContext.parse(producer!.context.toTraceparent());
  const handle = run(back.source, "HandleOrder", { kind: "server", parent });
  const consume = run(back.source, "ConsumeOrder", {
    kind: "consumer",
    root: true,
    links: [new ActivityLink(message, { "messaging.system": "queue" })],
  });
  await Promise.all([front.provider.shutdown(), back.provider.shutdown(), backAlone.shutdown()]);

  await t.step("one graph fed by both services nests the server under the client", () => {
    const tree = graph.tree(checkout.traceId)!;
    assert.equal(tree.roots.length, 1);
    const root = tree.roots[0]!;
    assert.equal(root.activity.serviceName, "frontend");
    const clientNode = root.children.find((c) => c.activity.kind === "client")!;
    assert.deepEqual(clientNode.children.map((c) => c.activity.spanId), [handle.spanId]);
    const server = clientNode.children[0]!.activity;
    assert.equal(server.hasRemoteParent, true);
    assert.equal(server.serviceName, "orders");
  });

  await t.step("a link to a remote context resolves when the graph holds it", () => {
    const [edge] = graph.linksFrom(consume);
    assert.equal(edge?.resolved, true);
    assert.equal(graph.get(edge!.to)?.name, "Publish order");
    assert.deepEqual(graph.linksTo(producer!).map((e) => e.from.spanId), [consume.spanId]);
    assert.deepEqual(graph.related(consume.traceId).traces.map((tr) => tr.traceId), [
      consume.traceId,
      checkout.traceId,
    ]);
  });

  await t.step("the server's own graph shows the remote parent as a root, not an error", () => {
    const tree = alone.tree(handle.traceId)!;
    assert.equal(tree.roots.length, 1);
    assert.equal(tree.roots[0]!.activity.parentSpanId, client!.spanId);
    assert.equal(tree.roots[0]!.activity.hasRemoteParent, true);
    const [edge] = alone.linksFrom(consume);
    assert.equal(edge?.resolved, false);
    assert.deepEqual(alone.related(consume.traceId).traces, [
      { traceId: consume.traceId, depth: 0, known: true },
      // Known: this graph holds HandleOrder, of the same trace, but not the producer.
      { traceId: checkout.traceId, depth: 1, known: true },
    ]);
  });
});

Deno.test("LinkGraph walks link cycles once", async (t) => {
  const graph = new LinkGraph();
  const { source, provider } = setup(graph);
  const a = source.startActivity("A", { root: true })!;
  const b = source.startActivity("B", { root: true, links: [new ActivityLink(a.context)] })!;
  const c = source.startActivity("C", { root: true, links: [new ActivityLink(b.context)] })!;
  a.addLink(new ActivityLink(c.context)); // A -> C -> B -> A
  a.addLink(new ActivityLink(a.context, { self: true })); // and a link to itself
  for (const x of [a, b, c]) x.stop();
  await provider.shutdown();

  await t.step("related() reports each trace and each link once", () => {
    const related = graph.related(a.traceId);
    assert.deepEqual(
      related.traces.map((tr) => tr.traceId).sort(),
      [
        a.traceId,
        b.traceId,
        c.traceId,
      ].sort(),
    );
    assert.deepEqual(edgeNames(graph, related.edges).sort(), [
      "A -> A",
      "A -> C",
      "B -> A",
      "C -> B",
    ]);
  });

  await t.step("renderTree() draws each trace once and says where the cycle closes", () => {
    const text = renderTree(graph, a.traceId);
    assert.equal(text.match(/── A {2}internal/g)?.length, 1);
    assert.equal(text.match(/── B {2}internal/g)?.length, 1);
    assert.equal(text.match(/── C {2}internal/g)?.length, 1);
    assert.equal(text.match(/\(see above\)/g)?.length, 2); // the self-link and the closing link
  });
});

Deno.test("LinkGraph treats unknown link targets as external nodes", async () => {
  const graph = new LinkGraph();
  const { source, provider } = setup(graph);
  const elsewhere = ActivityContext.parse(
    "00-2890476acefb53b93af64a0d91939051-16b83c1517629363-01",
  );
  const first = run(source, "First", { root: true, links: [new ActivityLink(elsewhere)] });
  const second = run(source, "Second", { root: true, links: [new ActivityLink(elsewhere)] });
  await provider.shutdown();

  assert.equal(graph.get(elsewhere), undefined);
  assert.deepEqual(graph.linksFrom(first).map((e) => [e.to.spanId, e.resolved]), [[
    "16b83c1517629363",
    false,
  ]]);
  assert.deepEqual(names(graph, graph.linksTo(elsewhere).map((e) => e.from)), ["First", "Second"]);
  // Two traces pointing at the same external activity are related through it.
  assert.deepEqual(
    graph.related(first.traceId).traces.map((tr) => [tr.traceId, tr.depth, tr.known]),
    [
      [first.traceId, 0, true],
      [elsewhere.traceId, 1, false],
      [second.traceId, 2, true],
    ],
  );
  assert.equal(graph.tree(elsewhere.traceId), undefined);
  assert.equal(graph.groups().length, 1);
  assert.match(
    renderTree(graph, first.traceId),
    /→ links to span 16b83c1517629363 in trace 2890476acefb53b93af64a0d91939051 \(not in graph\)\n {8}└── ← linked from Second in trace [0-9a-f]{32}\n/,
  );
});

Deno.test("LinkGraph stays within maxActivities by evicting whole traces", async (t) => {
  await t.step("the least recently updated trace goes first, and is counted", async () => {
    const graph = new LinkGraph({ maxActivities: 4 });
    const { source, provider } = setup(graph);
    const old = source.startActivity("Old", { root: true })!;
    run(source, "Old child", { parent: old });
    old.stop();
    const kept = source.startActivity("Kept", { root: true })!;
    run(source, "Kept child", { parent: kept }); // trace Kept: 1 activity, most recent
    const linker = run(source, "Linker", { root: true, links: [new ActivityLink(old.context)] });
    assert.equal(graph.size, 4);
    kept.stop(); // Kept updated: Old is now the least recently updated trace
    assert.equal(graph.evictedTraceCount, 1);
    assert.equal(graph.evictedActivityCount, 2);
    assert.equal(graph.size, 3);
    assert.equal(graph.hasTrace(old.traceId), false);
    assert.deepEqual(graph.traceIds(), [linker.traceId, kept.traceId]);
    // The link into the evicted trace is now an external node.
    assert.equal(graph.linksFrom(linker)[0]?.resolved, false);
    assert.equal(graph.linksTo(old).length, 1);
    await provider.shutdown();
  });

  await t.step("a trace alone at the limit drops what comes next, and counts it", async () => {
    const graph = new LinkGraph({ maxActivities: 2 });
    const { source, provider } = setup(graph);
    await source.startActiveActivity("Root", () => {
      for (let i = 0; i < 3; i++) run(source, `Child ${i}`);
    });
    assert.equal(graph.size, 2);
    assert.equal(graph.droppedActivityCount, 2);
    assert.equal(graph.evictedTraceCount, 0);
    await provider.shutdown();
  });

  await t.step("evicted links are removed from the backlink index", async () => {
    const graph = new LinkGraph({ maxActivities: 1 });
    const { source, provider } = setup(graph);
    const target = ActivityContext.parse("00-2890476acefb53b93af64a0d91939051-16b83c1517629363-01");
    for (let i = 0; i < 50; i++) {
      run(source, `L${i}`, { root: true, links: [new ActivityLink(target)] });
    }
    assert.deepEqual(names(graph, graph.linksTo(target).map((e) => e.from)), ["L49"]);
    assert.equal(graph.evictedTraceCount, 49);
    await provider.shutdown();
  });

  await t.step("evictTrace() evicts one trace whole, counted, its backlinks kept", async () => {
    const graph = new LinkGraph();
    const { source, provider } = setup(graph);
    const { orchestrating, fanned } = await fanout(source);
    assert.equal(graph.evictTrace(orchestrating.traceId), 2); // the orchestrator and WrapUp
    assert.equal(graph.hasTrace(orchestrating.traceId), false);
    assert.equal(graph.evictedTraceCount, 1);
    assert.equal(graph.evictedActivityCount, 2);
    assert.equal(graph.size, 3);
    // Links into the evicted trace are external nodes now, still found as backlinks.
    assert.equal(graph.linksFrom(fanned[0]!)[0]?.resolved, false);
    assert.equal(graph.linksTo(orchestrating).length, 3);
    assert.equal(graph.related(orchestrating.traceId).traces.length, 4);
    // Links out of an evicted trace are gone from the index.
    assert.equal(graph.evictTrace(fanned[0]!.traceId), 1);
    assert.equal(graph.linksTo(orchestrating).length, 2);
    assert.equal(graph.evictTrace(fanned[0]!.traceId), 0);
    assert.equal(graph.evictedTraceCount, 2);
    await provider.shutdown();
  });

  await t.step("clear() empties the graph and keeps the counters", async () => {
    const graph = new LinkGraph({ maxActivities: 1 });
    const { source, provider } = setup(graph);
    run(source, "One", { root: true });
    run(source, "Two", { root: true });
    graph.clear();
    assert.equal(graph.size, 0);
    assert.equal(graph.traceCount, 0);
    assert.equal(graph.evictedTraceCount, 1);
    await provider.shutdown();
  });
});

Deno.test("LinkGraph.find() matches names, tags, kinds and traces", async () => {
  const graph = new LinkGraph();
  const { source, provider } = setup(graph);
  const pay = run(source, "Pay", { kind: "client", tags: { "order.id": 7, items: ["a", "b"] } });
  run(source, "Ship", { root: true, tags: { "order.id": 8 } });
  run(source, "Pay again", { root: true, tags: { "order.id": "7" } });
  await provider.shutdown();

  const found = (q: Parameters<LinkGraph["find"]>[0]) => graph.find(q).map((a) => a.name);
  assert.deepEqual(found({ name: "Pay" }), ["Pay"]);
  assert.deepEqual(found({ name: /^Pay/ }), ["Pay", "Pay again"]);
  assert.deepEqual(found({ tag: ["order.id", 7] }), ["Pay"]); // 7 is not "7"
  assert.deepEqual(found({ tag: ["items", ["a", "b"]] }), ["Pay"]);
  assert.deepEqual(found({ tag: "order.id" }), ["Pay", "Ship", "Pay again"]);
  assert.deepEqual(found({ kind: "client" }), ["Pay"]);
  assert.deepEqual(found({ traceId: pay.traceId }), ["Pay"]);
  // A global regular expression is reused as given: find() resets its lastIndex on each test.
  const global = /^Pay/g;
  assert.deepEqual(found({ name: global }), ["Pay", "Pay again"]);
  assert.deepEqual(found({ name: global }), ["Pay", "Pay again"]);
  assert.deepEqual(found({ name: "Nothing" }), []);
  assert.equal(graph.find().length, 3);
});

Deno.test("LinkGraph rejects wrong input with the right error", () => {
  assert.throws(() => new LinkGraph({ maxActivities: 0 }), RangeError);
  assert.throws(() => new LinkGraph({ maxActivities: 1.5 }), RangeError);
  const graph = new LinkGraph();
  assert.throws(() => graph.add({ name: "x" } as unknown as ActivitySnapshot), TypeError);
  assert.throws(() => graph.related("x", { maxDepth: -1 }), RangeError);
  assert.throws(() => snapshotActivity({} as Activity), TypeError);
  assert.throws(() => new TreeExporter({ write: "no" as unknown as () => void }), TypeError);
  assert.throws(() => new TreeExporter({ maxActivities: -1 }), RangeError);
  // Queries about things never seen are empty, never errors.
  const nobody = { traceId: "2890476acefb53b93af64a0d91939051", spanId: "16b83c1517629363" };
  assert.equal(graph.tree(nobody.traceId), undefined);
  assert.deepEqual(graph.linksFrom(nobody), []);
  assert.deepEqual(graph.linksTo(nobody), []);
  assert.deepEqual(graph.related(nobody.traceId).traces, [
    { traceId: nobody.traceId, depth: 0, known: false },
  ]);
  assert.equal(renderTree(graph, nobody.traceId), "");
});
