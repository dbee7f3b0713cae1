// The samplers: the basic ones and the parent-based choice for each kind of parent, the
// trace-id ratio sampler, the links-aware sampler across the guide's fan-out, and how a tracer
// provider applies a sampler's decision, tags and trace state.

import assert from "node:assert/strict";
import {
  Activity,
  ActivityContext,
  type ActivityCreationOptions,
  ActivityLink,
  ActivitySource,
  AlwaysOffSampler,
  AlwaysOnSampler,
  createTracerProviderBuilder,
  InMemoryExporter,
  LinksAwareSampler,
  newSpanId,
  newTraceId,
  ParentBasedSampler,
  type Sampler,
  type SamplingDecision,
  type SamplingResult,
  TraceIdRatioSampler,
} from "../mod.ts";

const SOURCE = new ActivitySource("Sampling.Test");

/** What a sampler sees, for calling samplers directly. */
function creation(
  init: { traceId?: string; parent?: ActivityContext | undefined; links?: ActivityLink[] } = {},
): ActivityCreationOptions {
  return {
    source: SOURCE,
    name: "Work",
    kind: "internal",
    parent: init.parent,
    traceId: init.traceId ?? init.parent?.traceId ?? newTraceId(),
    tags: [],
    links: init.links ?? [],
    samplingTags: [],
    traceState: undefined,
  };
}

/** A sampler that answers `decision` and remembers that it was asked. */
class Spy implements Sampler {
  calls = 0;
  readonly description: string;
  constructor(readonly decision: SamplingResult["decision"], name: string) {
    this.description = name;
  }
  shouldSample(): SamplingResult {
    this.calls++;
    return { decision: this.decision };
  }
}

const TRACE = "5ce4d8ad4926ecdd0084681f46fa38d9";
const SPAN = "8f9e9441f0789f6e";

let counter = 0;

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
    assert.equal(
      new AlwaysOnSampler().shouldSample(creation({ parent })).decision,
      "recordAndSample",
    );
    assert.equal(new AlwaysOffSampler().shouldSample(creation({ parent })).decision, "drop");
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
      assert.deepEqual(sampler.shouldSample(creation({ parent })).tags, [["by", expected]]);
    });
  }
  await t.step("defaults: follow the parent's recorded flag", () => {
    const defaults = new ParentBasedSampler(new AlwaysOffSampler());
    const decide = (parent?: ActivityContext) =>
      defaults.shouldSample(creation({ parent })).decision;
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

Deno.test("TraceIdRatioSampler keeps the ratio of 100,000 random trace ids, within 1 %", async (t) => {
  const ids = Array.from({ length: 100_000 }, () => newTraceId());
  for (const ratio of [0.01, 0.1, 0.25, 0.5, 0.9]) {
    await t.step(`ratio ${ratio}`, () => {
      const sampler = new TraceIdRatioSampler(ratio);
      let kept = 0;
      for (const id of ids) if (sampler.sampleTraceId(id)) kept++;
      const fraction = kept / ids.length;
      assert.ok(
        Math.abs(fraction - ratio) <= 0.01,
        `kept ${fraction} of the trace ids for ratio ${ratio}`,
      );
    });
  }
  await t.step("ratio 0 keeps none, ratio 1 keeps all", () => {
    const none = new TraceIdRatioSampler(0);
    const all = new TraceIdRatioSampler(1);
    assert.equal(ids.filter((id) => none.sampleTraceId(id)).length, 0);
    assert.equal(ids.filter((id) => all.sampleTraceId(id)).length, ids.length);
  });
});

Deno.test("TraceIdRatioSampler gives the same trace id the same decision, everywhere", async (t) => {
  const ids = Array.from({ length: 10_000 }, () => newTraceId());
  await t.step("two samplers (two services) with one ratio agree on every id", () => {
    const a = new TraceIdRatioSampler(0.3);
    const b = new TraceIdRatioSampler(0.3);
    for (const id of ids) {
      const first = a.shouldSample(creation({ traceId: id })).decision;
      assert.equal(a.shouldSample(creation({ traceId: id })).decision, first);
      assert.equal(b.shouldSample(creation({ traceId: id })).decision, first);
    }
  });
  await t.step("a lower ratio keeps a subset of what a higher ratio keeps", () => {
    const low = new TraceIdRatioSampler(0.1);
    const high = new TraceIdRatioSampler(0.5);
    for (const id of ids) {
      if (low.sampleTraceId(id)) assert.ok(high.sampleTraceId(id), id);
    }
  });
  await t.step("only the right-most 7 bytes decide", () => {
    const sampler = new TraceIdRatioSampler(0.5);
    // Threshold for 0.5 is 2^55: 0x80000000000000 is kept, 0x7fffffffffffff is not.
    assert.equal(sampler.sampleTraceId("ffffffffffffffffff80000000000000"), true);
    assert.equal(sampler.sampleTraceId("000000000000000001" + "80000000000000"), true);
    assert.equal(sampler.sampleTraceId("ffffffffffffffffff7fffffffffffff"), false);
    assert.equal(sampler.sampleTraceId("000000000000000001" + "7fffffffffffff"), false);
  });
  await t.step("a parent's recorded flag does not change its decision", () => {
    const sampler = new TraceIdRatioSampler(0.5);
    const parent = new ActivityContext("ffffffffffffffffff7fffffffffffff", newSpanId(), {
      traceFlags: 1,
    });
    assert.equal(sampler.shouldSample(creation({ parent })).decision, "drop");
  });
  await t.step("an invalid trace id is never sampled", () => {
    assert.equal(new TraceIdRatioSampler(1).sampleTraceId("not a trace id"), false);
    // 32 characters, but the random part is not lowercase hex.
    assert.equal(
      new TraceIdRatioSampler(1).sampleTraceId("4bf92f3577b34da6a3FFFFFFFFFFFFFF"),
      false,
    );
    // Only the lower half of the random part is not hex.
    assert.equal(
      new TraceIdRatioSampler(1).sampleTraceId("4bf92f3577b34da6a3ffffffffffffzz"),
      false,
    );
  });
});

Deno.test("TraceIdRatioSampler rejects a ratio outside [0, 1], naming it", () => {
  for (const bad of [-0.1, 1.5, NaN, Infinity]) {
    assert.throws(() => new TraceIdRatioSampler(bad), {
      name: "RangeError",
      message: `Cannot make TraceIdRatioSampler: ratio ${bad} is outside [0, 1]`,
    });
  }
  assert.throws(() => new TraceIdRatioSampler("0.5" as unknown as number), {
    name: "TypeError",
    message: /ratio must be a number, got string/,
  });
  assert.equal(new TraceIdRatioSampler(0.25).description, "TraceIdRatioBased{0.25}");
});

Deno.test("LinksAwareSampler records when any start link is recorded, else asks its inner sampler", async (t) => {
  const recorded = new ActivityContext(newTraceId(), newSpanId(), { traceFlags: 1 });
  const unrecorded = new ActivityContext(newTraceId(), newSpanId(), { traceFlags: 0 });
  await t.step("one recorded link among others is enough; the inner sampler is not asked", () => {
    const inner = new Spy("drop", "Inner");
    const sampler = new LinksAwareSampler(inner);
    const links = [new ActivityLink(unrecorded), new ActivityLink(recorded)];
    assert.equal(sampler.shouldSample(creation({ links })).decision, "recordAndSample");
    assert.equal(inner.calls, 0);
  });
  await t.step("no recorded link: the inner sampler's answer", () => {
    const inner = new Spy("recordOnly", "Inner");
    const sampler = new LinksAwareSampler(inner);
    const links = [new ActivityLink(unrecorded)];
    assert.equal(sampler.shouldSample(creation({ links })).decision, "recordOnly");
    assert.equal(sampler.shouldSample(creation()).decision, "recordOnly");
    assert.equal(inner.calls, 2);
  });
  await t.step("composes: description and a bad inner sampler", () => {
    const sampler = new LinksAwareSampler(new ParentBasedSampler(new TraceIdRatioSampler(0.1)));
    assert.equal(sampler.description, "LinksAware{ParentBased{root=TraceIdRatioBased{0.1}}}");
    assert.throws(() => new LinksAwareSampler({} as Sampler), {
      name: "TypeError",
      message: /inner sampler: it must have a shouldSample\(\) function/,
    });
  });
});

Deno.test("LinksAwareSampler keeps the fanned-out traces of every kept orchestrator", async () => {
  const exporter = new InMemoryExporter();
  const source = new ActivitySource("Sampling.FanOut");
  const orchestrators = new Map<string, boolean>();
  const provider = createTracerProviderBuilder()
    .addSource("Sampling.FanOut")
    .setSampler(new LinksAwareSampler(new ParentBasedSampler(new TraceIdRatioSampler(0.1))))
    .addInMemoryExporter(exporter)
    .setEnvironment(false)
    .build();
  for (let i = 0; i < 400; i++) {
    await source.startActiveActivity("OrchestratingActivity", async (orchestrating) => {
      orchestrators.set(orchestrating!.spanId, orchestrating!.recorded);
      const links = [new ActivityLink(Activity.current!.context)];
      await Promise.all(
        [1, 2, 3].map((n) =>
          source.startActiveActivity(`FannedOutActivity ${n}`, { links, root: true }, async () => {
            source.startActivity("Child")?.stop();
            await Promise.resolve();
          })
        ),
      );
    });
  }
  await provider.shutdown();
  const kept = [...orchestrators.values()].filter(Boolean).length;
  assert.ok(kept > 0 && kept < 400, `kept ${kept} of 400 orchestrators`);
  const exported = exporter.activities;
  const fannedOfKept = exported.filter((a) =>
    a.displayName.startsWith("FannedOut") &&
    orchestrators.get(a.links[0]!.context.spanId) === true
  );
  assert.equal(fannedOfKept.length, kept * 3);
  // Each kept fanned-out trace is a new trace, and its child follows it.
  for (const fanned of fannedOfKept) {
    assert.equal(fanned.parentSpanId, undefined);
    const child = exported.find((a) => a.parentSpanId === fanned.spanId);
    assert.equal(child?.traceId, fanned.traceId);
  }
  // The fanned-out traces of dropped orchestrators follow their own ratio draw.
  const fannedOfDropped = exported.filter((a) =>
    a.displayName.startsWith("FannedOut") &&
    orchestrators.get(a.links[0]!.context.spanId) === false
  );
  const ratio = new TraceIdRatioSampler(0.1);
  for (const fanned of fannedOfDropped) assert.ok(ratio.sampleTraceId(fanned.traceId));
});

Deno.test("ParentBasedSampler asks the sampler for each kind of parent", async (t) => {
  const kinds = [
    ["remoteParentSampled", true, 1],
    ["remoteParentNotSampled", true, 0],
    ["localParentSampled", false, 1],
    ["localParentNotSampled", false, 0],
  ] as const;
  await t.step("each kind reaches its own sampler, and only it", () => {
    const root = new Spy("recordOnly", "Root");
    const spies = {
      remoteParentSampled: new Spy("drop", "RS"),
      remoteParentNotSampled: new Spy("recordAndSample", "RN"),
      localParentSampled: new Spy("drop", "LS"),
      localParentNotSampled: new Spy("recordOnly", "LN"),
    };
    const sampler = new ParentBasedSampler(root, spies);
    for (const [kind, isRemote, traceFlags] of kinds) {
      const parent = new ActivityContext(newTraceId(), newSpanId(), { traceFlags, isRemote });
      const before = Object.values(spies).map((s) => s.calls);
      assert.equal(sampler.shouldSample(creation({ parent })).decision, spies[kind].decision);
      const after = Object.values(spies).map((s) => s.calls);
      const changed = Object.keys(spies).filter((_, i) => after[i] !== before[i]);
      assert.deepEqual(changed, [kind]);
    }
    assert.equal(root.calls, 0);
    assert.equal(sampler.shouldSample(creation()).decision, "recordOnly");
    assert.equal(root.calls, 1);
  });
  await t.step("defaults: follow the parent's recorded flag, local or remote", () => {
    const sampler = new ParentBasedSampler(new AlwaysOffSampler());
    for (const [kind, isRemote, traceFlags] of kinds) {
      const parent = new ActivityContext(newTraceId(), newSpanId(), { traceFlags, isRemote });
      assert.equal(
        sampler.shouldSample(creation({ parent })).decision,
        traceFlags === 1 ? "recordAndSample" : "drop",
        kind,
      );
    }
  });
  await t.step("through a provider: local and remote parents, sampled and not", () => {
    const source = new ActivitySource("Sampling.Parents");
    using _provider = createTracerProviderBuilder()
      .addSource("Sampling.Parents")
      .setSampler(
        new ParentBasedSampler(new AlwaysOffSampler(), {
          remoteParentNotSampled: new AlwaysOnSampler(),
          localParentSampled: new AlwaysOffSampler(),
        }),
      )
      .setEnvironment(false)
      .build();
    const remoteSampled = new ActivityContext(newTraceId(), newSpanId(), {
      traceFlags: 1,
      isRemote: true,
    });
    const remoteNotSampled = new ActivityContext(newTraceId(), newSpanId(), { isRemote: true });
    using a = source.startActivity("A", { parent: remoteSampled });
    using b = source.startActivity("B", { parent: remoteNotSampled });
    assert.equal(a?.recorded, true); // default for a sampled remote parent: on
    assert.equal(b?.recorded, true); // overridden: on
    // A local parent that is recorded (a) gets AlwaysOff; one that is not (root) gets the
    // default for unsampled local parents: off.
    using c = source.startActivity("C", { parent: a! });
    using root = source.startActivity("Root", { root: true });
    using d = source.startActivity("D", { parent: root! });
    assert.equal(c?.recorded, false);
    assert.equal(c?.hasRemoteParent, false);
    assert.equal(root?.recorded, false);
    assert.equal(d?.recorded, false);
    assert.equal(a?.hasRemoteParent, true);
  });
});
