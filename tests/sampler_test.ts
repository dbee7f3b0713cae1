import assert from "node:assert/strict";
import {
  ActivityContext,
  type ActivityCreationOptions,
  ActivitySource,
  AlwaysOffSampler,
  AlwaysOnSampler,
  createTracerProviderBuilder,
  InMemoryExporter,
  ParentBasedSampler,
  type Sampler,
  type SamplingDecision,
} from "../mod.ts";

const TRACE = "5ce4d8ad4926ecdd0084681f46fa38d9";
const SPAN = "8f9e9441f0789f6e";

let counter = 0;

/** What a sampler sees for an activity with the given parent. */
function creation(parent?: ActivityContext): ActivityCreationOptions {
  return {
    source: undefined as unknown as ActivitySource,
    name: "Work",
    kind: "internal",
    parent,
    traceId: parent?.traceId ?? TRACE,
    tags: [],
    links: [],
    samplingTags: [],
    traceState: undefined,
  };
}

/** A sampler that always answers `decision` and says which it is. */
function fixed(decision: SamplingDecision, description: string): Sampler {
  return { description, shouldSample: () => ({ decision, tags: [["by", description]] }) };
}

Deno.test("AlwaysOnSampler and AlwaysOffSampler answer the same for everything", () => {
  const parents = [
    undefined,
    new ActivityContext(TRACE, SPAN, { traceFlags: 1 }),
    new ActivityContext(TRACE, SPAN, { traceFlags: 0, isRemote: true }),
  ];
  for (const parent of parents) {
    assert.equal(new AlwaysOnSampler().shouldSample(creation(parent)).decision, "recordAndSample");
    assert.equal(new AlwaysOffSampler().shouldSample(creation(parent)).decision, "drop");
  }
  assert.equal(new AlwaysOnSampler().description, "AlwaysOnSampler");
  assert.equal(new AlwaysOffSampler().description, "AlwaysOffSampler");
});

Deno.test("ParentBasedSampler asks the sampler for the parent's kind", async (t) => {
  const sampler = new ParentBasedSampler(fixed("recordOnly", "root"), {
    remoteParentSampled: fixed("recordAndSample", "remoteSampled"),
    remoteParentNotSampled: fixed("drop", "remoteNotSampled"),
    localParentSampled: fixed("recordAndSample", "localSampled"),
    localParentNotSampled: fixed("recordOnly", "localNotSampled"),
  });
  const cases: [string, ActivityContext | undefined, string][] = [
    ["no parent", undefined, "root"],
    [
      "remote, sampled",
      new ActivityContext(TRACE, SPAN, { traceFlags: 1, isRemote: true }),
      "remoteSampled",
    ],
    [
      "remote, sampled with the random bit",
      new ActivityContext(TRACE, SPAN, { traceFlags: 3, isRemote: true }),
      "remoteSampled",
    ],
    [
      "remote, not sampled",
      new ActivityContext(TRACE, SPAN, { traceFlags: 2, isRemote: true }),
      "remoteNotSampled",
    ],
    ["local, sampled", new ActivityContext(TRACE, SPAN, { traceFlags: 1 }), "localSampled"],
    ["local, not sampled", new ActivityContext(TRACE, SPAN, { traceFlags: 0 }), "localNotSampled"],
  ];
  for (const [what, parent, expected] of cases) {
    await t.step(what, () => {
      assert.deepEqual(sampler.shouldSample(creation(parent)).tags, [["by", expected]]);
    });
  }
  await t.step("defaults: follow the parent's recorded flag", () => {
    const defaults = new ParentBasedSampler(new AlwaysOffSampler());
    const decide = (parent?: ActivityContext) => defaults.shouldSample(creation(parent)).decision;
    assert.equal(decide(), "drop");
    assert.equal(
      decide(new ActivityContext(TRACE, SPAN, { traceFlags: 1, isRemote: true })),
      "recordAndSample",
    );
    assert.equal(
      decide(new ActivityContext(TRACE, SPAN, { traceFlags: 0, isRemote: true })),
      "drop",
    );
    assert.equal(decide(new ActivityContext(TRACE, SPAN, { traceFlags: 1 })), "recordAndSample");
    assert.equal(decide(new ActivityContext(TRACE, SPAN, { traceFlags: 0 })), "drop");
    assert.equal(defaults.description, "ParentBased{root=AlwaysOffSampler}");
  });
  await t.step("a sampler without shouldSample() is a TypeError", () => {
    assert.throws(() => new ParentBasedSampler({} as Sampler), TypeError);
    assert.throws(
      () => new ParentBasedSampler(new AlwaysOnSampler(), { localParentSampled: {} as Sampler }),
      { name: "TypeError", message: /localParentSampled/ },
    );
  });
});

/** A provider with the given sampler on a fresh source. */
function sampled(sampler: Sampler) {
  const name = `SamplerTest.${++counter}`;
  const exporter = new InMemoryExporter();
  const provider = createTracerProviderBuilder().addSource(name).setSampler(sampler)
    .addInMemoryExporter(exporter).build();
  const source = new ActivitySource(name);
  return {
    source,
    exporter,
    [Symbol.dispose]() {
      provider[Symbol.dispose]();
      source[Symbol.dispose]();
    },
  };
}

Deno.test("TracerProvider applies the sampler's decision, tags and trace state", async (t) => {
  await t.step("recordAndSample: recorded and exported, with the sampler's tags", () => {
    using s = sampled({
      description: "Tagging",
      shouldSample: () => ({
        decision: "recordAndSample",
        tags: [["sampler.name", "Tagging"], ["sampler.ratio", 1]],
        traceState: "sampler=yes",
      }),
    });
    const a = s.source.startActivity("Work", { tags: { given: true } })!;
    a.stop();
    assert.deepEqual(a.tags, [["given", true], ["sampler.name", "Tagging"], ["sampler.ratio", 1]]);
    assert.equal(a.traceState, "sampler=yes");
    assert.equal(a.recorded, true);
    assert.deepEqual(s.exporter.activities, [a]);
  });
  await t.step("recordOnly: data kept, not exported", () => {
    using s = sampled(fixed("recordOnly", "RecordOnly"));
    const a = s.source.startActivity("Work")!;
    a.setTag("kept", 1).stop();
    assert.deepEqual(a.tags, [["by", "RecordOnly"], ["kept", 1]]);
    assert.equal(a.recorded, false);
    assert.deepEqual(s.exporter.activities, []);
  });
  await t.step("drop: created for propagation only", () => {
    using s = sampled(fixed("drop", "Drop"));
    const a = s.source.startActivity("Work")!;
    a.setTag("ignored", 1).stop();
    assert.equal(a.isAllDataRequested, false);
    assert.deepEqual(a.tags, []);
    assert.deepEqual(s.exporter.activities, []);
  });
  await t.step("the sampler sees the parent's trace state and may replace it", () => {
    const seen: (string | undefined)[] = [];
    using s = sampled({
      description: "Replacing",
      shouldSample: (o) => {
        seen.push(o.traceState);
        return { decision: "recordAndSample", traceState: "replaced=1" };
      },
    });
    const parent = ActivityContext.parse(`00-${TRACE}-${SPAN}-01`, "original=1");
    using a = s.source.startActivity("Child", { parent })!;
    assert.deepEqual(seen, ["original=1"]);
    assert.equal(a.traceState, "replaced=1");
  });
  await t.step("the default sampler follows a remote parent", () => {
    const name = `SamplerTest.${++counter}`;
    const exporter = new InMemoryExporter();
    using _provider = createTracerProviderBuilder().addSource(name).addInMemoryExporter(exporter)
      .build();
    const source = new ActivitySource(name);
    const notSampled = ActivityContext.parse(`00-${TRACE}-${SPAN}-00`);
    const isSampled = ActivityContext.parse(`00-${TRACE}-${SPAN}-01`);
    const a = source.startActivity("FromUnsampled", { parent: notSampled })!;
    const b = source.startActivity("FromSampled", { parent: isSampled })!;
    const root = source.startActivity("Root", { root: true })!;
    for (const x of [a, b, root]) x.stop();
    assert.deepEqual([a.isAllDataRequested, a.recorded, a.traceFlags], [false, false, 0]);
    assert.deepEqual([b.recorded, b.traceFlags], [true, 1]);
    assert.deepEqual([root.recorded, root.traceFlags], [true, 3]);
    assert.deepEqual(exporter.activities.map((x) => x.displayName), ["FromSampled", "Root"]);
    source[Symbol.dispose]();
  });
  await t.step("AlwaysOffSampler: no root, but a child of a remote parent propagates", () => {
    using s = sampled(new AlwaysOffSampler());
    assert.equal(s.source.startActivity("Root"), undefined);
    const child = s.source.startActivity("Child", {
      parent: ActivityContext.parse(`00-${TRACE}-${SPAN}-01`),
    });
    assert.ok(child);
    child.stop();
    assert.deepEqual([child.traceId, child.isAllDataRequested, child.recorded], [
      TRACE,
      false,
      false,
    ]);
    assert.deepEqual(s.exporter.activities, []);
  });
});
