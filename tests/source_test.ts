import assert from "node:assert/strict";
import { mock } from "node:test";
import {
  Activity,
  ActivityContext,
  type ActivityCreationOptions,
  ActivityLink,
  type ActivityListener,
  type ActivitySamplingResult,
  ActivitySource,
  createTracerProviderBuilder,
  InMemoryExporter,
} from "../mod.ts";

let counter = 0;
function uniqueName(): string {
  return `SourceTest.${++counter}`;
}

/** A fresh source with listeners that listen to it alone; disposing removes them all. */
function sourceWith(
  ...listeners: ActivityListener[]
): { source: ActivitySource } & Disposable {
  const name = uniqueName();
  const registrations = listeners.map((listener) =>
    ActivitySource.addActivityListener({
      ...listener,
      shouldListenTo: (s) => s.name === name && (listener.shouldListenTo?.(s) ?? true),
    })
  );
  const source = new ActivitySource(name);
  return {
    source,
    [Symbol.dispose]() {
      for (const r of registrations) r.remove();
      source[Symbol.dispose]();
    },
  };
}

const sampling = (result: ActivitySamplingResult): ActivityListener => ({ sample: () => result });

const REMOTE = ActivityContext.parse(
  "00-5ce4d8ad4926ecdd0084681f46fa38d9-8f9e9441f0789f6e-01",
  "vendor=abc",
);

Deno.test("ActivitySource.startActivity() returns undefined when nothing listens or samples", async (t) => {
  await t.step("no listener at all", () => {
    const source = new ActivitySource(uniqueName());
    assert.equal(source.hasListeners(), false);
    assert.equal(source.startActivity("Nobody"), undefined);
    source[Symbol.dispose]();
  });
  await t.step("a listener that does not listen to the source", () => {
    using s = sourceWith({ shouldListenTo: () => false, sample: () => "allDataAndRecorded" });
    assert.equal(s.source.hasListeners(), false);
    assert.equal(s.source.startActivity("Ignored"), undefined);
  });
  await t.step("a listener without sample() counts as none", () => {
    const started: Activity[] = [];
    using s = sourceWith({ activityStarted: (a) => started.push(a) });
    assert.equal(s.source.hasListeners(), true);
    assert.equal(s.source.startActivity("Unsampled"), undefined);
    assert.equal(started.length, 0);
  });
  await t.step("a listener answering none", () => {
    using s = sourceWith(sampling("none"));
    assert.equal(s.source.hasListeners(), true);
    assert.equal(s.source.startActivity("None"), undefined);
  });
});

Deno.test("ActivitySource.startActivity() applies each sampling result as .NET does", async (t) => {
  const link = new ActivityLink(REMOTE, { why: "test" });
  const start = { tags: { at: "start" }, links: [link] };

  await t.step("propagationData: ids only, no data, not recorded", () => {
    using s = sourceWith(sampling("propagationData"));
    using a = s.source.startActivity("Propagation", start)!;
    assert.ok(a instanceof Activity);
    assert.match(a.traceId, /^[0-9a-f]{32}$/);
    assert.equal(a.isAllDataRequested, false);
    assert.equal(a.recorded, false);
    a.setTag("k", "v").addTag("k", "v").addEvent("e").addLink(link).setStatus("error", "x");
    assert.deepEqual([a.tags, a.events, a.links], [[], [], []]);
    assert.equal(a.status, "unset");
  });
  await t.step("allData: data kept, not recorded", () => {
    using s = sourceWith(sampling("allData"));
    using a = s.source.startActivity("AllData", start)!;
    a.setTag("k", "v");
    assert.equal(a.isAllDataRequested, true);
    assert.equal(a.recorded, false);
    assert.deepEqual(a.tags, [["at", "start"], ["k", "v"]]);
    assert.deepEqual(a.links, [link]);
  });
  await t.step("allDataAndRecorded: data kept and recorded", () => {
    using s = sourceWith(sampling("allDataAndRecorded"));
    using a = s.source.startActivity("Recorded", start)!;
    assert.equal(a.isAllDataRequested, true);
    assert.equal(a.recorded, true);
    assert.deepEqual(a.tags, [["at", "start"]]);
  });
  await t.step("only allDataAndRecorded reaches an exporter", () => {
    const exporter = new InMemoryExporter();
    const name = uniqueName();
    const results: Record<string, ActivitySamplingResult> = {
      P: "propagationData",
      A: "allData",
      R: "allDataAndRecorded",
    };
    using _provider = createTracerProviderBuilder()
      .addSource(name)
      .setSampler({
        description: "ByName",
        shouldSample: (o) => ({
          decision: results[o.name] === "allDataAndRecorded"
            ? "recordAndSample"
            : results[o.name] === "allData"
            ? "recordOnly"
            : "drop",
        }),
      })
      .addInMemoryExporter(exporter)
      .build();
    const source = new ActivitySource(name);
    const made = ["P", "A", "R"].map((n) => source.startActivity(n));
    for (const a of made) a?.stop();
    assert.deepEqual(made.map((a) => a?.isAllDataRequested), [false, true, true]);
    assert.deepEqual(exporter.activities.map((a) => a.displayName), ["R"]);
    source[Symbol.dispose]();
  });
});

Deno.test("ActivitySource.startActivity() takes the highest answer of several listeners", () => {
  const orders: ActivitySamplingResult[][] = [
    ["none", "propagationData", "allData"],
    ["allData", "none", "propagationData"],
    ["propagationData", "allData", "none"],
  ];
  for (const order of orders) {
    using s = sourceWith(...order.map(sampling));
    using a = s.source.startActivity("Highest")!;
    assert.deepEqual([a.isAllDataRequested, a.recorded], [true, false], order.join(","));
  }
  using recorded = sourceWith(sampling("allData"), sampling("allDataAndRecorded"));
  assert.equal(recorded.source.startActivity("Highest")?.recorded, true);
  using none = sourceWith(sampling("none"), sampling("none"));
  assert.equal(none.source.startActivity("Highest"), undefined);
});

Deno.test("ActivitySource.startActivity() shows listeners what is about to start", async (t) => {
  const seen: ActivityCreationOptions[] = [];
  using s = sourceWith({
    sample: (options) => {
      seen.push({ ...options, samplingTags: [...options.samplingTags] });
      return "allDataAndRecorded";
    },
  });
  await t.step("a new root", () => {
    const link = new ActivityLink(REMOTE);
    using a = s.source.startActivity("Root", {
      kind: "server",
      tags: { a: 1 },
      links: [link],
      root: true,
    })!;
    const o = seen.pop()!;
    assert.equal(o.source, s.source);
    assert.equal(o.name, "Root");
    assert.equal(o.kind, "server");
    assert.equal(o.parent, undefined);
    assert.equal(o.traceId, a.traceId);
    assert.deepEqual(o.tags, [["a", 1]]);
    assert.deepEqual(o.links, [link]);
    assert.equal(o.traceState, undefined);
  });
  await t.step("a child of a remote parent", () => {
    using a = s.source.startActivity("Child", { parent: REMOTE })!;
    const o = seen.pop()!;
    assert.equal(o.parent, REMOTE);
    assert.equal(o.traceId, REMOTE.traceId);
    assert.equal(o.traceState, "vendor=abc");
    assert.equal(a.traceState, "vendor=abc");
    assert.equal(a.hasRemoteParent, true);
    assert.equal(a.parent, undefined);
  });
  await t.step("a child of a local activity sees its context", () => {
    using parent = s.source.startActivity("Parent")!;
    seen.pop();
    using _child = s.source.startActivity("Child", { parent })!;
    const o = seen.pop()!;
    assert.deepEqual(
      [o.parent?.traceId, o.parent?.spanId, o.parent?.isRemote],
      [parent.traceId, parent.spanId, false],
    );
  });
});

Deno.test("ActivitySource.startActivity() applies sampling tags and trace state", () => {
  using s = sourceWith(
    {
      sample: (options) => {
        options.samplingTags.push(["sampler.rule", "keep-all"]);
        options.traceState = "sampler=1";
        return "allData";
      },
    },
    {
      sample: (options) => {
        options.samplingTags.push(["second", true]);
        return "allDataAndRecorded";
      },
    },
  );
  using a = s.source.startActivity("Sampled", { tags: { given: 1 }, parent: REMOTE })!;
  assert.deepEqual(a.tags, [["given", 1], ["sampler.rule", "keep-all"], ["second", true]]);
  assert.equal(a.traceState, "sampler=1");
  assert.equal(a.context.traceState, "sampler=1");
  using cleared = sourceWith({
    sample: (options) => {
      options.traceState = "";
      return "allData";
    },
  });
  assert.equal(cleared.source.startActivity("C", { parent: REMOTE })?.traceState, undefined);
});

Deno.test("ActivitySource.startActivity() chooses the parent as specified", async (t) => {
  using s = sourceWith(sampling("allDataAndRecorded"));
  await t.step("the current activity by default", () => {
    using outer = s.source.startActivity("Outer")!;
    using child = Activity.run(outer, () => s.source.startActivity("Child"))!;
    using childWithOptions = Activity.run(
      outer,
      () => s.source.startActivity("Child", { kind: "client" }),
    )!;
    assert.equal(child.parent, outer);
    assert.equal(childWithOptions.parentSpanId, outer.spanId);
  });
  await t.step("root: true starts a new trace under a current activity", () => {
    using outer = s.source.startActivity("Outer")!;
    using root = Activity.run(outer, () => s.source.startActivity("Root", { root: true }))!;
    assert.notEqual(root.traceId, outer.traceId);
    assert.equal(root.parentSpanId, undefined);
    assert.equal(root.parent, undefined);
  });
  await t.step("an explicit parent wins over the current activity and over root", () => {
    using outer = s.source.startActivity("Outer")!;
    using other = s.source.startActivity("Other", { root: true })!;
    using a = Activity.run(outer, () => s.source.startActivity("A", { parent: other }))!;
    using b = Activity.run(
      outer,
      () => s.source.startActivity("B", { parent: REMOTE, root: true }),
    )!;
    assert.equal(a.parent, other);
    assert.equal(a.traceId, other.traceId);
    assert.equal(b.traceId, REMOTE.traceId);
    assert.equal(b.parentSpanId, REMOTE.spanId);
  });
  await t.step("a local context is a parent, not remote", () => {
    const local = new ActivityContext(REMOTE.traceId, REMOTE.spanId, { traceFlags: 1 });
    using a = s.source.startActivity("A", { parent: local })!;
    assert.equal(a.hasRemoteParent, false);
    assert.equal(a.parentSpanId, REMOTE.spanId);
  });
  await t.step("startActivity() does not make the activity current", () => {
    using a = s.source.startActivity("NotCurrent")!;
    assert.notEqual(Activity.current, a);
    assert.equal(Activity.current, undefined);
  });
});

Deno.test("ActivitySource.startActiveActivity() makes the activity current and stops it", async (t) => {
  const exporter = new InMemoryExporter();
  const name = uniqueName();
  using _provider = createTracerProviderBuilder().addSource(name).addInMemoryExporter(exporter)
    .build();
  const source = new ActivitySource(name);

  await t.step("a synchronous callback", () => {
    let inside: Activity | undefined;
    const result = source.startActiveActivity("Sync", (activity) => {
      inside = activity;
      assert.equal(Activity.current, activity);
      assert.equal(activity?.isStopped, false);
      return 42;
    });
    assert.equal(result, 42);
    assert.equal(inside?.isStopped, true);
    assert.equal(Activity.current, undefined);
  });
  await t.step("an async callback: stopped only after its promise settles", async () => {
    let inside: Activity | undefined;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => release = resolve);
    const promise = source.startActiveActivity("Async", { kind: "client" }, async (activity) => {
      inside = activity;
      await gate;
      assert.equal(Activity.current, activity);
      return "done";
    });
    assert.ok(promise instanceof Promise);
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.equal(inside?.isStopped, false);
    release();
    assert.equal(await promise, "done");
    assert.equal(inside?.isStopped, true);
    assert.equal(inside?.kind, "client");
    assert.equal(Activity.current, undefined);
  });
  await t.step("a synchronous throw is recorded and rethrown", () => {
    exporter.reset();
    const error = new TypeError("bad input");
    assert.throws(() =>
      source.startActiveActivity("Throws", () => {
        throw error;
      }), (e) => e === error);
    const a = exporter.activities[0]!;
    assert.equal(a.isStopped, true);
    assert.deepEqual([a.status, a.statusDescription], ["error", "bad input"]);
    assert.equal(a.events[0]?.name, "exception");
    assert.deepEqual(a.events[0]?.tags.slice(0, 2), [
      ["exception.type", "TypeError"],
      ["exception.message", "bad input"],
    ]);
    assert.equal(Activity.current, undefined);
  });
  await t.step("a rejection is recorded and rethrown", async () => {
    exporter.reset();
    await assert.rejects(
      source.startActiveActivity("Rejects", async () => {
        await Promise.resolve();
        throw "plain reason";
      }),
      (e) => e === "plain reason",
    );
    const a = exporter.activities[0]!;
    assert.deepEqual([a.status, a.statusDescription], ["error", "plain reason"]);
    assert.deepEqual(a.events[0]?.tags, [
      ["exception.type", "string"],
      ["exception.message", "plain reason"],
    ]);
  });
  await t.step("a thenable result is awaited before the stop", async () => {
    let inside: Activity | undefined;
    const thenable = {
      then(resolve: (value: number) => void) {
        setTimeout(() => resolve(7), 0);
      },
    };
    const result = source.startActiveActivity("Thenable", (activity) => {
      inside = activity;
      return thenable;
    });
    assert.equal(inside?.isStopped, false);
    assert.equal(await result, 7);
    assert.equal(inside?.isStopped, true);
  });
  await t.step("a thenable whose then() throws is recorded as a failure", async () => {
    exporter.reset();
    const hostile = {
      then(): never {
        throw new Error("then broke");
      },
    };
    await assert.rejects(
      Promise.resolve(source.startActiveActivity("Hostile", () => hostile)),
      { message: "then broke" },
    );
    assert.deepEqual(exporter.activities.map((a) => [a.status, a.isStopped]), [["error", true]]);
  });
  await t.step("the last argument must be a function", () => {
    assert.throws(
      () => source.startActiveActivity("NoFn", {} as never),
      { name: "TypeError", message: /last argument must be a function/ },
    );
  });
  source[Symbol.dispose]();
});

Deno.test("ActivitySource.startActiveActivity() runs the callback when not sampled", async (t) => {
  const outerSource = sourceWith(sampling("allDataAndRecorded"));
  using _outer = outerSource;
  const quiet = new ActivitySource(uniqueName());
  await t.step("with root: true there is no current activity inside", async () => {
    using outer = outerSource.source.startActivity("Outer")!;
    const seen = await Activity.run(
      outer,
      () =>
        quiet.startActiveActivity("Unsampled", { root: true }, async (activity) => {
          await Promise.resolve();
          return [activity, Activity.current];
        }),
    );
    assert.deepEqual(seen, [undefined, undefined]);
  });
  await t.step("without root the current activity stays the outer one", () => {
    using outer = outerSource.source.startActivity("Outer")!;
    const seen = Activity.run(
      outer,
      () => quiet.startActiveActivity("Unsampled", (activity) => [activity, Activity.current]),
    );
    assert.deepEqual(seen, [undefined, outer]);
  });
  quiet[Symbol.dispose]();
});

Deno.test("ActivitySource goes on when a listener throws, and reports each listener once", () => {
  const errors = mock.method(console, "error", () => {});
  try {
    const throwing: ActivityListener = {
      sample: () => {
        throw new Error("sample broke");
      },
      activityStarted: () => {
        throw new Error("started broke");
      },
    };
    const stopped: string[] = [];
    using s = sourceWith(throwing, {
      sample: () => "allDataAndRecorded",
      activityStopped: (a) => stopped.push(a.displayName),
    });
    for (const n of ["One", "Two", "Three"]) {
      const a = s.source.startActivity(n);
      assert.ok(a);
      a.stop();
    }
    assert.deepEqual(stopped, ["One", "Two", "Three"]);
    // sourceWith() wraps each listener in a new object: the wrapper is the party reported.
    assert.equal(errors.mock.callCount(), 1);
    assert.match(String(errors.mock.calls[0]?.arguments[0]), /sample.*sample broke/);

    const refuses = new ActivitySource(uniqueName());
    using _registration = ActivitySource.addActivityListener({
      shouldListenTo: (source) => {
        if (source === refuses) throw new Error("shouldListenTo broke");
        return false;
      },
      sample: () => "allDataAndRecorded",
    });
    assert.equal(refuses.hasListeners(), false);
    assert.equal(refuses.startActivity("Refused"), undefined);
    assert.equal(errors.mock.callCount(), 2);
    refuses[Symbol.dispose]();
  } finally {
    errors.mock.restore();
  }
});

Deno.test("ActivitySource.addActivityListener() reaches present and future sources", () => {
  const name = uniqueName();
  const before = new ActivitySource(name);
  const registration = ActivitySource.addActivityListener({
    shouldListenTo: (s) => s.name === name,
    sample: () => "allData",
  });
  const after = new ActivitySource(name);
  assert.ok(before.startActivity("A"));
  assert.ok(after.startActivity("B"));
  ActivitySource.addActivityListener({ shouldListenTo: () => false }).remove();
  registration.remove();
  registration.remove(); // twice is harmless
  assert.equal(before.startActivity("A"), undefined);
  assert.equal(after.startActivity("B"), undefined);
  assert.throws(() => ActivitySource.addActivityListener(null as never), TypeError);
  before[Symbol.dispose]();
  after[Symbol.dispose]();
});

Deno.test("ActivitySource tells the listeners of an activity when it stops, even after removal", () => {
  const stopped: string[] = [];
  const name = uniqueName();
  const registration = ActivitySource.addActivityListener({
    shouldListenTo: (s) => s.name === name,
    sample: () => "allData",
    activityStopped: (a) => stopped.push(a.displayName),
  });
  const source = new ActivitySource(name);
  const a = source.startActivity("Running")!;
  registration.remove();
  a.stop();
  assert.deepEqual(stopped, ["Running"]);
  source[Symbol.dispose]();
});

Deno.test("ActivitySource[Symbol.dispose]() stops the source starting activities", () => {
  using s = sourceWith(sampling("allData"));
  assert.ok(s.source.startActivity("Before"));
  s.source[Symbol.dispose]();
  assert.equal(s.source.hasListeners(), false);
  assert.equal(s.source.startActivity("After"), undefined);
});

Deno.test("new ActivitySource() checks its arguments", async (t) => {
  await t.step("name, version string or options", () => {
    const plain = new ActivitySource(uniqueName());
    const versioned = new ActivitySource(uniqueName(), "1.2.3");
    const withOptions = new ActivitySource(uniqueName(), { version: "", tags: { b: 1, a: 2 } });
    assert.equal(plain.version, undefined);
    assert.equal(versioned.version, "1.2.3");
    assert.equal(withOptions.version, undefined);
    assert.deepEqual(withOptions.tags, [["b", 1], ["a", 2]]);
    assert.ok(Object.isFrozen(withOptions.tags));
    for (const s of [plain, versioned, withOptions]) s[Symbol.dispose]();
  });
  await t.step("wrong shapes throw a TypeError", () => {
    const bad: [string, () => unknown][] = [
      ["empty name", () => new ActivitySource("")],
      ["number name", () => new ActivitySource(5 as unknown as string)],
      ["number options", () => new ActivitySource("X", 5 as never)],
      ["number version", () => new ActivitySource("X", { version: 1 as unknown as string })],
      ["tags as a string", () => new ActivitySource("X", { tags: "a=1" as never })],
      ["clock without now", () => new ActivitySource("X", { clock: { timeOrigin: 0 } as never })],
      [
        "clock with NaN origin",
        () => new ActivitySource("X", { clock: { timeOrigin: NaN, now: () => 0 } }),
      ],
      ["idGenerator without span ids", () =>
        new ActivitySource("X", {
          idGenerator: { newTraceId: () => "" } as never,
        })],
    ];
    for (const [what, make] of bad) {
      assert.throws(make, { name: "TypeError", message: /^Cannot / }, what);
    }
  });
});

Deno.test("ActivitySource.startActivity() accepts odd input without throwing", () => {
  const errors = mock.method(console, "error", () => {});
  try {
    using s = sourceWith(sampling("allData"));
    using named = s.source.startActivity(42 as unknown as string)!;
    assert.equal(named.displayName, "42");
    using badTags = s.source.startActivity("BadTags", { tags: 7 as never })!;
    assert.deepEqual(badTags.tags, []);
    using badLinks = s.source.startActivity("BadLinks", { links: "x" as never })!;
    assert.deepEqual(badLinks.links, []);
    const good = new ActivityLink(REMOTE);
    const lookalike = { context: REMOTE, tags: [] };
    using badLinkItems = s.source.startActivity("BadLinkItems", {
      links: [{}, null, lookalike, good] as never,
    })!;
    assert.deepEqual(badLinkItems.links, [good]);
    // Reported once each: the bad tags, links that are not an array, link items that are not
    // links.
    assert.equal(errors.mock.callCount(), 3);
  } finally {
    errors.mock.restore();
  }
});

Deno.test("ActivitySource.startActivity() takes null options as none", () => {
  using s = sourceWith(sampling("allDataAndRecorded"));
  const [outer, inner, active] = s.source.startActiveActivity("Outer", (outer) => {
    using inner = s.source.startActivity("Inner", null as never);
    const active = s.source.startActiveActivity("Active", null as never, (a) => a);
    return [outer, inner, active];
  });
  assert.ok(outer);
  assert.equal(inner?.parentSpanId, outer.spanId);
  assert.equal(active?.parentSpanId, outer.spanId);
});

Deno.test("ActivitySource replaces ids a custom generator gets wrong, and reports it once", () => {
  const errors = mock.method(console, "error", () => {});
  try {
    const name = uniqueName();
    using _registration = ActivitySource.addActivityListener({
      shouldListenTo: (s) => s.name === name,
      sample: () => "allDataAndRecorded",
    });
    let calls = 0;
    const source = new ActivitySource(name, {
      idGenerator: {
        // Trace ids: a short one (toString(16) unpadded), then an uppercase one; span ids throw.
        newTraceId: () => ["abc", "5CE4D8AD4926ECDD0084681F46FA38D9"][calls++ % 2]!,
        newSpanId: () => {
          throw new Error("no span id");
        },
      },
    });
    const parent = source.startActivity("Parent")!;
    assert.match(parent.traceId, /^[0-9a-f]{32}$/);
    assert.match(parent.spanId, /^[0-9a-f]{16}$/);
    assert.equal(parent.context.traceId, parent.traceId);
    const child = Activity.run(parent, () => source.startActivity("Child"))!;
    assert.equal(child.traceId, parent.traceId);
    assert.equal(child.parentSpanId, parent.spanId);
    child.stop();
    parent.stop();
    assert.equal(errors.mock.callCount(), 1);
    source[Symbol.dispose]();
  } finally {
    errors.mock.restore();
  }
});

Deno.test("ActivitySource.startActiveActivity() rethrows an error whose message cannot be read", () => {
  using s = sourceWith(sampling("allDataAndRecorded"));
  const hostile = new Error("hidden");
  Object.defineProperty(hostile, "message", {
    get() {
      throw new Error("message getter");
    },
  });
  let seen: Activity | undefined;
  assert.throws(
    () =>
      s.source.startActiveActivity("Work", (activity) => {
        seen = activity;
        throw hostile;
      }),
    (error) => error === hostile,
  );
  assert.equal(seen?.isStopped, true);
  assert.equal(seen?.status, "error");
});

Deno.test("ActivitySource.startActivity() takes a W3C traceparent string as the parent", async (t) => {
  const errors = mock.method(console, "error", () => {});
  try {
    using s = sourceWith(sampling("allDataAndRecorded"));
    const tp = "00-5ce4d8ad4926ecdd0084681f46fa38d9-8f9e9441f0789f6e-01";
    await t.step(
      "a valid one is a remote parent, as .NET's StartActivity(name, kind, parentId)",
      () => {
        using outer = s.source.startActivity("Outer")!;
        using a = Activity.run(outer, () => s.source.startActivity("A", { parent: tp }))!;
        assert.equal(a.traceId, "5ce4d8ad4926ecdd0084681f46fa38d9");
        assert.equal(a.parentSpanId, "8f9e9441f0789f6e");
        assert.equal(a.hasRemoteParent, true);
        assert.equal(a.parent, undefined);
        assert.equal(a.traceFlags & 1, 1);
      },
    );
    await t.step("a malformed one starts a new trace, not a child of the current one", () => {
      using outer = s.source.startActivity("Outer")!;
      for (const bad of ["not a traceparent", tp.replace("00-", "ff-"), tp.toUpperCase()]) {
        using a = Activity.run(outer, () => s.source.startActivity("A", { parent: bad }))!;
        assert.notEqual(a.traceId, outer.traceId);
        assert.equal(a.parentSpanId, undefined);
      }
      assert.equal(errors.mock.callCount(), 1); // reported once
      assert.match(
        String(errors.mock.calls[0]?.arguments[0]),
        /option parent failed: TypeError: Cannot parse traceparent: .*; the activity starts a new trace$/,
      );
    });
    await t.step("anything else that is not an activity or a context is treated the same", () => {
      using outer = s.source.startActivity("Outer")!;
      const lookalike = Object.assign(Object.create(ActivityContext.prototype), {
        traceId: "not-hex",
        spanId: "x",
      });
      for (const bad of [42, {}, lookalike, Object.create(Activity.prototype)]) {
        using a = Activity.run(outer, () => s.source.startActivity("A", { parent: bad }))!;
        assert.notEqual(a.traceId, outer.traceId);
        assert.match(a.traceId, /^[0-9a-f]{32}$/);
        assert.equal(a.parentSpanId, undefined);
      }
      // A context that is not frozen but has valid ids is copied, and kept as a parent.
      const thawed = Object.assign(Object.create(ActivityContext.prototype), {
        traceId: REMOTE.traceId,
        spanId: REMOTE.spanId,
        traceFlags: 1,
        isRemote: true,
      });
      using child = s.source.startActivity("Child", { parent: thawed })!;
      assert.equal(child.parentSpanId, REMOTE.spanId);
      assert.equal(child.hasRemoteParent, true);
    });
  } finally {
    errors.mock.restore();
  }
});

Deno.test("ActivitySource.startActivity() takes a kind in any case, and reports an unknown one once", () => {
  const errors = mock.method(console, "error", () => {});
  try {
    using s = sourceWith(sampling("allDataAndRecorded"));
    const kinds = ["Server", "CLIENT", "Producer", "consumer", "Internal", "database", 7];
    assert.deepEqual(
      kinds.map((kind) => {
        using a = s.source.startActivity("A", { kind: kind as never })!;
        return a.kind;
      }),
      ["server", "client", "producer", "consumer", "internal", "internal", "internal"],
    );
    assert.equal(errors.mock.callCount(), 1);
    assert.match(
      String(errors.mock.calls[0]?.arguments[0]),
      /option kind failed: TypeError: Cannot use kind "database": expected one of internal, server, client, producer, consumer; "internal" is used/,
    );
  } finally {
    errors.mock.restore();
  }
});

Deno.test("ActivitySource.startActivity() reads each option once and treats a throwing one as not given", () => {
  const errors = mock.method(console, "error", () => {});
  try {
    using s = sourceWith(sampling("allDataAndRecorded"));
    using outer = s.source.startActivity("Outer")!;
    const reads: string[] = [];
    const options = new Proxy({ kind: "server", tags: { k: 1 } }, {
      get(target, key) {
        reads.push(String(key));
        if (key === "parent" || key === "startTime") throw new Error(`no ${String(key)}`);
        return Reflect.get(target, key);
      },
    });
    using a = Activity.run(outer, () => s.source.startActivity("A", options as never))!;
    assert.deepEqual(reads.sort(), ["kind", "links", "parent", "root", "startTime", "tags"]);
    assert.equal(a.kind, "server");
    assert.deepEqual(a.tags, [["k", 1]]);
    assert.equal(a.parentSpanId, outer.spanId); // an unreadable parent: the current activity
    // Reported once per option (the parent option may have been reported by another test).
    const reported = errors.mock.calls.map((c) => String(c.arguments[0]));
    assert.ok(
      reported.includes(
        "[@tracelinks/activity] ActivitySource.startActivity() option startTime failed: Error: no startTime",
      ),
    );
    assert.ok(reported.every((line) => /option (parent|startTime) failed/.test(line)));
  } finally {
    errors.mock.restore();
  }
});

Deno.test("ActivitySource.startActiveActivity() stops the activity when the result's `then` throws", async () => {
  using s = sourceWith(sampling("allDataAndRecorded"));
  let inside: Activity | undefined;
  const result = {
    get then(): never {
      throw new Error("no then for you");
    },
  };
  const returned = s.source.startActiveActivity("A", (a) => {
    inside = a;
    return result;
  });
  // As `await result` would, the returned promise rejects with the getter's error.
  await assert.rejects(returned as unknown as Promise<unknown>, { message: "no then for you" });
  assert.equal(inside?.isStopped, true);
  assert.equal(inside?.status, "error");
  assert.equal(inside?.events[0]?.name, "exception");
});

Deno.test("ActivitySource.startActiveActivity() stops the activity when a promise's constructor cannot be read", async () => {
  using s = sourceWith(sampling("allDataAndRecorded"));
  let inside: Activity | undefined;
  const promise = Promise.resolve(5);
  Object.defineProperty(promise, "constructor", {
    get(): never {
      throw new Error("no constructor for you");
    },
  });
  const returned = s.source.startActiveActivity("A", (a) => {
    inside = a;
    return promise;
  });
  assert.equal(inside?.isStopped, false);
  // As `await promise` would, the returned promise rejects with the getter's error.
  await assert.rejects(returned, { message: "no constructor for you" });
  assert.equal(inside?.isStopped, true);
  assert.equal(inside?.status, "error");
});

Deno.test("ActivitySource.startActivity() goes on when a listener's activityStarted or activityStopped cannot be read", () => {
  const errors = mock.method(console, "error", () => {});
  try {
    const name = uniqueName();
    const stopped: string[] = [];
    const hostile = {
      shouldListenTo: (s: ActivitySource) => s.name === name,
      sample: () => "allDataAndRecorded" as const,
      get activityStarted(): never {
        throw new Error("started unreadable");
      },
      get activityStopped(): never {
        throw new Error("stopped unreadable");
      },
    };
    using _hostile = ActivitySource.addActivityListener(hostile);
    using _other = ActivitySource.addActivityListener({
      shouldListenTo: (s) => s.name === name,
      activityStopped: (a) => stopped.push(a.displayName),
    });
    const source = new ActivitySource(name);
    for (const n of ["One", "Two"]) source.startActivity(n)?.stop();
    assert.deepEqual(stopped, ["One", "Two"]);
    // Each hook is reported once: activityStarted here, activityStopped by the activity.
    assert.equal(errors.mock.callCount(), 2);
    assert.match(String(errors.mock.calls[0]?.arguments[0]), /activityStarted.*started unreadable/);
    assert.match(String(errors.mock.calls[1]?.arguments[0]), /activityStopped.*stopped unreadable/);
    source[Symbol.dispose]();
  } finally {
    errors.mock.restore();
  }
});
