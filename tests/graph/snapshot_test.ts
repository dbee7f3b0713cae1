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
  LinkGraph,
  renderHtmlReport,
  snapshotActivity,
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

/** A copy of `value` whose every field is a getter that counts its reads. */
function counted<T extends object>(
  value: T,
  reads: Map<string, number>,
  prefix: string,
  later: Partial<Record<keyof T, unknown>> = {},
): T {
  const out = {} as T;
  for (const [key, v] of Object.entries(value)) {
    Object.defineProperty(out, key, {
      enumerable: true,
      get() {
        const n = (reads.get(prefix + key) ?? 0) + 1;
        reads.set(prefix + key, n);
        // After the first read, some fields turn into something else.
        return n > 1 && key in later ? later[key as keyof T] : v;
      },
    });
  }
  return out;
}

Deno.test("LinkGraph keeps plain, frozen snapshots of recorded activities only", async () => {
  const graph = new LinkGraph();
  const name = `Graph.Test.${++counter}`;
  const provider = createTracerProviderBuilder().addSource(name).addProcessor(graph)
    .setSampler({
      description: "KeptOnly",
      shouldSample: (o) => ({ decision: o.name === "Kept" ? "recordAndSample" : "recordOnly" }),
    })
    .build();
  const source = new ActivitySource(name);
  const kept = source.startActivity("Kept", { tags: { list: [1, 2] } })!;
  kept.addEvent("happened", { tags: { n: 1 } });
  kept.setStatus("error", "Broke");
  kept.stop();
  run(source, "Not recorded");
  await provider.shutdown();

  assert.equal(graph.size, 1);
  const snapshot = graph.get(kept)!;
  assert.ok(Object.isFrozen(snapshot));
  assert.ok(Object.isFrozen(snapshot.tags));
  assert.equal(snapshot.status, "error");
  assert.equal(snapshot.statusDescription, "Broke");
  assert.equal(snapshot.events[0]?.name, "happened");
  assert.equal(
    snapshot.endTimeUnixNano - snapshot.startTimeUnixNano,
    BigInt(kept.durationTicks) * 100n,
  );
  assert.equal(snapshot.sourceName, name);
  // Structured clone proves it holds no class instance (an Activity would not clone).
  assert.deepEqual(structuredClone(snapshot), { ...snapshot });

  graph.shutdown();
  const other = new LinkGraph();
  assert.equal(other.add(snapshotActivity(kept)), true);
  assert.equal(other.add({ ...snapshot } as ActivitySnapshot), false); // same ids: kept once
  graph.onEnd(kept);
  assert.equal(graph.size, 1);
});

Deno.test("LinkGraph.add() rejects a malformed snapshot whole, before taking any of it", () => {
  using _provider = createTracerProviderBuilder().addSource("Graph.Test.Malformed").build();
  const activity = new ActivitySource("Graph.Test.Malformed").startActivity("Work")!;
  activity.stop();
  const snapshot = snapshotActivity(activity);
  const graph = new LinkGraph();
  const malformed: Record<string, unknown>[] = [
    { links: [null] },
    { links: [{ spanId: "16b83c1517629363", tags: [] }] },
    { events: [{ name: "e", timeUnixNano: 1, tags: [] }] },
    { tags: [[1, "one"]] },
    { status: "broken" },
    { sourceName: undefined },
    { parentSpanId: 7 },
    { statusDescription: ["x"] },
    { droppedLinkCount: { valueOf: () => 1, toString: () => "<img src=x>" } },
  ];
  for (const change of malformed) {
    assert.throws(
      () => graph.add({ ...snapshot, ...change } as unknown as ActivitySnapshot),
      TypeError,
      JSON.stringify(change),
    );
  }
  assert.equal(graph.size, 0);
  assert.deepEqual(graph.linksTo({ traceId: "x", spanId: "y" }), []);
  assert.equal(graph.add(snapshot), true);
});

Deno.test("LinkGraph evicts a hand-made snapshot cleanly after its caller changed it", () => {
  using _provider = createTracerProviderBuilder().addSource("Graph.Test.Mutated").build();
  const source = new ActivitySource("Graph.Test.Mutated");
  const target = ActivityContext.parse("00-2890476acefb53b93af64a0d91939051-16b83c1517629363-01");
  const activity = source.startActivity("Linker", {
    root: true,
    links: [new ActivityLink(target)],
  })!;
  activity.stop();
  const snapshot = { ...snapshotActivity(activity), links: [...snapshotActivity(activity).links] };
  const graph = new LinkGraph({ maxActivities: 1 });
  graph.add(snapshot);
  assert.equal(graph.linksTo(target).length, 1);
  snapshot.links.length = 0; // the caller reuses its object
  const next = source.startActivity("Next", { root: true })!;
  next.stop();
  assert.equal(graph.add(next), true); // evicts the hand-made snapshot
  assert.equal(graph.evictedActivityCount, 1);
  assert.deepEqual(graph.linksTo(target), []);
  assert.deepEqual(graph.related(target.traceId).edges, []);
});

Deno.test("LinkGraph.add() copies a hand-made snapshot, reading each field once", () => {
  const graph = new LinkGraph();
  const { source, provider } = setup(new LinkGraph());
  using _provider = provider;
  const target = ActivityContext.parse("00-2890476acefb53b93af64a0d91939051-16b83c1517629363-01");
  const activity = source.startActivity("Work", {
    links: [new ActivityLink(target, { why: "batch" })],
    tags: { list: [1, 2] },
  })!;
  activity.addEvent("happened", { tags: { n: 1 } });
  activity.setStatus("error", "Broke");
  activity.stop();
  const snapshot = snapshotActivity(activity);
  const reads = new Map<string, number>();
  const refresh = '<meta http-equiv="refresh" content="0;url=https://evil.test">';
  const link = counted(snapshot.links[0]!, reads, "links[0].", { spanId: "ffffffffffffffff" });
  const tags = [["list", [1, 2]]] as [string, unknown][];
  const hostile = counted({ ...snapshot, links: [link], tags }, reads, "", {
    status: refresh,
    droppedLinkCount: refresh,
    name: refresh,
  });
  assert.equal(graph.add(hostile), true);
  for (const key of [...Object.keys(snapshot), ...Object.keys(snapshot.links[0]!)]) {
    const name = Object.keys(snapshot).includes(key) ? key : `links[0].${key}`;
    if (reads.has(name)) assert.equal(reads.get(name), 1, name);
  }
  assert.equal(reads.size, Object.keys(snapshot).length + Object.keys(snapshot.links[0]!).length);
  // The graph keeps what it checked, frozen, and nothing the caller does later reaches it.
  tags[0]![1] = "changed";
  (tags as unknown[]).push(["added", 1]);
  const kept = graph.get(snapshot)!;
  assert.notEqual(kept, hostile);
  assert.ok(Object.isFrozen(kept) && Object.isFrozen(kept.links[0]) && Object.isFrozen(kept.tags));
  assert.equal(kept.status, "error");
  assert.equal(kept.droppedLinkCount, 0);
  assert.equal(kept.name, "Work");
  assert.deepEqual(kept.tags, [["list", [1, 2]]]);
  assert.equal(kept.links[0]!.spanId, "16b83c1517629363");
  assert.equal(graph.linksTo(target).length, 1);
  const html = renderHtmlReport(graph);
  assert.ok(!html.includes('<meta http-equiv="refresh"'));
  assert.ok(!html.includes("evil.test"));
});

Deno.test("LinkGraph.add() turns a snapshot it cannot read into a TypeError and takes nothing", () => {
  const graph = new LinkGraph();
  const { source, provider } = setup(new LinkGraph());
  using _provider = provider;
  const snapshot = snapshotActivity(run(source, "Work"));
  const revoked = Proxy.revocable({}, {});
  revoked.revoke();
  const throwing = Object.defineProperty({ ...snapshot }, "name", {
    get() {
      throw new Error("Gone");
    },
  });
  const cases: [unknown, RegExp][] = [
    [throwing, /^Cannot add to LinkGraph: the snapshot could not be read \(Error: Gone\)$/],
    [revoked.proxy, /^Cannot add to LinkGraph: the snapshot could not be read \(TypeError: /],
    [{ ...snapshot, tags: revoked.proxy }, /could not be read/],
    [
      { ...snapshot, links: new Array(2 ** 32 - 1) },
      /^Cannot add to LinkGraph: links\[0\] must be an object$/,
    ],
    [{ ...snapshot, hasRemoteParent: "no" }, /hasRemoteParent must be a boolean/],
    [{ ...snapshot, durationTicks: NaN }, /durationTicks must be a finite number >= 0/],
    [{ ...snapshot, droppedLinkCount: -1 }, /droppedLinkCount must be an integer >= 0/],
  ];
  for (const [input, message] of cases) {
    assert.throws(() => graph.add(input as ActivitySnapshot), (error: unknown) => {
      assert.ok(error instanceof TypeError);
      assert.match(error.message, message);
      return true;
    });
  }
  assert.equal(graph.size, 0);
  // A tag value that cannot be read is kept as a placeholder, as the console exporter shows it.
  assert.equal(graph.add({ ...snapshot, tags: [["k", revoked.proxy]] }), true);
  assert.deepEqual(graph.get(snapshot)?.tags, [["k", "[unreadable value]"]]);
});

Deno.test("LinkGraph keeps at most 1,000 elements of an array tag value, and counts the cut", async () => {
  const graph = new LinkGraph();
  const { source, provider } = setup(graph);
  const activity = source.startActivity("Huge")!;
  activity.setTag("sparse", new Array(2 ** 32 - 1)); // a valid TagValue, almost all holes
  activity.setTag("small", [1, , 3]);
  activity.stop();
  await provider.shutdown();
  const kept = graph.get(activity)!;
  const sparse = kept.tags[0]![1] as unknown[];
  assert.equal(sparse.length, 1000);
  assert.ok(sparse.every((v) => v === null));
  assert.deepEqual(kept.tags[1], ["small", [1, null, 3]]);
  assert.equal(graph.truncatedArrayCount, 1);
  // The same for a snapshot given by hand.
  const other = new LinkGraph();
  other.add({ ...snapshotActivity(activity), tags: [["huge", new Array(5000).fill(7)]] });
  assert.equal((other.get(activity)!.tags[0]![1] as unknown[]).length, 1000);
  assert.equal(other.truncatedArrayCount, 1);
});

Deno.test("LinkGraph copies nested array values too, 1,000 elements in all", async () => {
  const { source, provider } = setup(new LinkGraph());
  const activity = source.startActivity("Nested")!;
  activity.stop();
  await provider.shutdown();
  const inner = new Array(600).fill(1);
  const given: unknown[] = [inner, [...inner], "last"];
  const graph = new LinkGraph();
  assert.equal(graph.add({ ...snapshotActivity(activity), tags: [["nested", given]] }), true);
  const kept = graph.get(activity)!.tags[0]![1] as unknown[][];
  assert.equal(kept[0]!.length, 600);
  assert.equal(kept[1]!.length, 397); // 1,000 in all: 3 outer elements, 600, then the rest
  assert.equal(kept.length, 3);
  assert.notEqual(kept[0], inner); // a copy: a later change of the caller's array does not reach it
  inner.fill(2);
  assert.equal(kept[0]![0], 1);
  assert.ok(Object.isFrozen(kept[0]));
  assert.equal(graph.truncatedArrayCount, 1);
});

Deno.test("snapshotActivity() names no service for the default unknown_service:<executable>", () => {
  const { source, provider } = setup(new LinkGraph());
  const activity = run(source, "Unnamed");
  assert.equal(provider.resource.get("service.name"), "unknown_service:deno");
  assert.equal(snapshotActivity(activity, provider.resource).serviceName, undefined);
  const named = createTracerProviderBuilder().setServiceName("unknown_service:other").build();
  assert.equal(snapshotActivity(activity, named.resource).serviceName, "unknown_service:other");
  named[Symbol.dispose]();
  provider[Symbol.dispose]();
  source[Symbol.dispose]();
});
