import assert from "node:assert/strict";
import { mock } from "node:test";
import {
  Activity,
  ActivityContext,
  type ActivityLimits,
  ActivityLink,
  ActivitySource,
  type Clock,
  createTracerProviderBuilder,
  DEFAULT_LIMITS,
  droppedLinkTagCount,
  InMemoryExporter,
} from "../mod.ts";

const ORIGIN = Date.UTC(2023, 9, 17, 1, 24, 40, 495);

class FakeClock implements Clock {
  readonly timeOrigin = ORIGIN;
  ms = 0;
  now(): number {
    return this.ms;
  }
}

let counter = 0;

interface Setup extends Disposable {
  source: ActivitySource;
  exporter: InMemoryExporter;
  start(name?: string): Activity;
}

/** A source listened to by its own provider, with optional limits and clock. */
function setup(options: { limits?: Partial<ActivityLimits>; clock?: Clock } = {}): Setup {
  const name = `ActivityTest.${++counter}`;
  const exporter = new InMemoryExporter();
  const builder = createTracerProviderBuilder().addSource(name).addInMemoryExporter(exporter);
  if (options.limits !== undefined) builder.setLimits(options.limits);
  const provider = builder.build();
  const source = new ActivitySource(
    name,
    options.clock === undefined ? undefined : { clock: options.clock },
  );
  return {
    source,
    exporter,
    start(activityName = "Work") {
      const activity = source.startActivity(activityName);
      assert.ok(activity, "the provider should sample the activity");
      return activity;
    },
    [Symbol.dispose]() {
      provider[Symbol.dispose]();
      source[Symbol.dispose]();
    },
  };
}

const CONTEXT = new ActivityContext("2890476acefb53b93af64a0d91939051", "16b83c1517629363");

Deno.test("Activity.setTag() follows .NET: replace the first, remove on null, else add", async (t) => {
  using s = setup();
  await t.step("adds, then replaces in place", () => {
    using a = s.start();
    a.setTag("a", 1).setTag("b", 2).setTag("a", 3);
    assert.deepEqual(a.tags, [["a", 3], ["b", 2]]);
  });
  await t.step("replaces only the first of duplicate keys", () => {
    using a = s.start();
    a.addTag("k", 1).addTag("k", 2).setTag("k", 3);
    assert.deepEqual(a.tags, [["k", 3], ["k", 2]]);
    assert.equal(a.getTagItem("k"), 3);
  });
  await t.step("null and undefined remove the first tag with the key", () => {
    using a = s.start();
    a.addTag("k", 1).addTag("k", 2).setTag("x", "y").setTag("k", null);
    assert.deepEqual(a.tags, [["k", 2], ["x", "y"]]);
    a.setTag("k", undefined);
    assert.deepEqual(a.tags, [["x", "y"]]);
    a.setTag("absent", null);
    assert.deepEqual(a.tags, [["x", "y"]]);
    assert.equal(a.getTagItem("k"), undefined);
  });
  await t.step("a key that is not a string is ignored", () => {
    using a = s.start();
    a.setTag(1 as unknown as string, "v").addTag(undefined as unknown as string, "v");
    assert.deepEqual(a.tags, []);
  });
});

Deno.test("Activity.addTag() appends, even a repeated key or a null value", () => {
  using s = setup();
  using a = s.start();
  a.addTag("retry", 1).addTag("retry", 2).addTag("none", null);
  assert.deepEqual(a.tags, [["retry", 1], ["retry", 2], ["none", null]]);
});

Deno.test("Activity limits drop and count exactly at and past each limit", async (t) => {
  await t.step("tag count, through setTag, addTag and start tags", () => {
    using s = setup({ limits: { tagCount: 2 } });
    using a = s.start();
    a.setTag("a", 1).setTag("b", 2);
    assert.equal(a.droppedTagCount, 0);
    a.setTag("c", 3);
    assert.equal(a.droppedTagCount, 1);
    a.setTag("a", 10); // a replacement needs no room
    a.addTag("d", 4);
    assert.deepEqual(a.tags, [["a", 10], ["b", 2]]);
    assert.equal(a.droppedTagCount, 2);
    a.setTag("b", null).setTag("e", 5); // a removal makes room
    assert.deepEqual(a.tags, [["a", 10], ["e", 5]]);
    assert.equal(a.droppedTagCount, 2);

    using exact = s.source.startActivity("Start", { tags: { a: 1, b: 2 } })!;
    assert.equal(exact.droppedTagCount, 0);
    using past = s.source.startActivity("Start", { tags: { a: 1, b: 2, c: 3, d: 4 } })!;
    assert.deepEqual(past.tags, [["a", 1], ["b", 2]]);
    assert.equal(past.droppedTagCount, 2);
  });
  await t.step("a limit of zero keeps nothing", () => {
    using s = setup({ limits: { tagCount: 0, eventCount: 0, linkCount: 0 } });
    using a = s.start();
    a.setTag("a", 1).addEvent("e").addLink(new ActivityLink(CONTEXT));
    assert.deepEqual([a.tags.length, a.events.length, a.links.length], [0, 0, 0]);
    assert.deepEqual([a.droppedTagCount, a.droppedEventCount, a.droppedLinkCount], [1, 1, 1]);
  });
  await t.step("value length truncates strings and strings in arrays", () => {
    using s = setup({ limits: { tagValueLength: 3 } });
    using a = s.start();
    a.setTag("exact", "abc")
      .setTag("long", "abcdef")
      .addTag("added", "wxyz")
      .setTag("array", ["abcd", "ab", "abc"])
      .setTag("numbers", [12345, 1.5])
      .setTag("number", 123456)
      .addEvent("e", { tags: { detail: "long text" } })
      .addLink(new ActivityLink(CONTEXT, { reason: "because" }));
    assert.deepEqual(a.tags, [
      ["exact", "abc"],
      ["long", "abc"],
      ["added", "wxy"],
      ["array", ["abc", "ab", "abc"]],
      ["numbers", [12345, 1.5]],
      ["number", 123456],
    ]);
    assert.deepEqual(a.events[0]?.tags, [["detail", "lon"]]);
    assert.deepEqual(a.links[0]?.tags, [["reason", "bec"]]);
    using started = s.source.startActivity("Start", { tags: { name: "truncated" } })!;
    assert.deepEqual(started.tags, [["name", "tru"]]);
  });
  await t.step("event count and tags per event", () => {
    using s = setup({ limits: { eventCount: 2, eventTagCount: 1 } });
    using a = s.start();
    a.addEvent("one", { tags: { x: 1 } }).addEvent("two", { tags: { x: 1, y: 2, z: 3 } });
    assert.equal(a.droppedEventCount, 0);
    a.addEvent("three");
    assert.deepEqual(a.events.map((e) => e.name), ["one", "two"]);
    assert.equal(a.droppedEventCount, 1);
    assert.deepEqual(a.events.map((e) => [e.tags, e.droppedTagCount]), [
      [[["x", 1]], 0],
      [[["x", 1]], 2],
    ]);
  });
  await t.step("link count, at start and added later, and tags per link", () => {
    using s = setup({ limits: { linkCount: 2, linkTagCount: 1 } });
    const full = new ActivityLink(CONTEXT, { a: 1 });
    const over = new ActivityLink(CONTEXT, { a: 1, b: 2, c: 3 });
    using a = s.source.startActivity("Linked", { links: [full, over] })!;
    assert.equal(a.droppedLinkCount, 0);
    assert.equal(a.links[0], full); // kept whole: the same object
    assert.deepEqual(a.links[1]?.tags, [["a", 1]]);
    assert.equal(droppedLinkTagCount(a.links[0]!), 0);
    assert.equal(droppedLinkTagCount(a.links[1]!), 2);
    assert.deepEqual(over.tags, [["a", 1], ["b", 2], ["c", 3]]); // the caller's link is untouched
    a.addLink(new ActivityLink(CONTEXT));
    assert.equal(a.links.length, 2);
    assert.equal(a.droppedLinkCount, 1);
    using b = s.source.startActivity("Linked", { links: [full, full, full, full] })!;
    assert.equal(b.links.length, 2);
    assert.equal(b.droppedLinkCount, 2);
  });
  await t.step("defaults are 128 of each and unlimited length", () => {
    assert.deepEqual({ ...DEFAULT_LIMITS }, {
      tagCount: 128,
      tagValueLength: Infinity,
      eventCount: 128,
      linkCount: 128,
      eventTagCount: 128,
      linkTagCount: 128,
    });
    using s = setup();
    using a = s.start();
    for (let i = 0; i < 130; i++) a.addTag(`k${i}`, i).addEvent(`e${i}`);
    assert.deepEqual([a.tags.length, a.droppedTagCount], [128, 2]);
    assert.deepEqual([a.events.length, a.droppedEventCount], [128, 2]);
  });
});

Deno.test("Activity methods on a stopped activity are no-ops", () => {
  const stopped: string[] = [];
  using s = setup();
  using _registration = ActivitySource.addActivityListener({
    shouldListenTo: (source) => source === s.source,
    activityStopped: (a) => stopped.push(a.spanId),
  });
  const a = s.start("Before");
  a.setTag("kept", 1);
  a.stop();
  const end = a.endTimeUnixNano;
  const duration = a.durationTicks;
  a.setTag("kept", 2).setTag("new", 1).addTag("added", 1).addEvent("late")
    .addLink(new ActivityLink(CONTEXT)).setStatus("error", "late").recordException(new Error("x"));
  a.displayName = "After";
  a.traceState = "late=1";
  a.stop();
  a[Symbol.dispose]();
  assert.deepEqual(a.tags, [["kept", 1]]);
  assert.deepEqual([a.events.length, a.links.length], [0, 0]);
  assert.deepEqual([a.status, a.statusDescription], ["unset", undefined]);
  assert.deepEqual([a.displayName, a.traceState], ["Before", undefined]);
  assert.deepEqual([a.endTimeUnixNano, a.durationTicks], [end, duration]);
  assert.deepEqual(stopped, [a.spanId]); // listeners hear of the stop once
  assert.equal(s.exporter.activities.length, 1); // exported once
});

Deno.test("Activity works with `using`, also when the activity is undefined", () => {
  const nobody = new ActivitySource(`ActivityTest.${++counter}`);
  {
    using a = nobody.startActivity("Unheard");
    assert.equal(a, undefined);
  }
  using s = setup();
  let kept: Activity | undefined;
  {
    using a = s.start();
    kept = a;
    assert.equal(a.isStopped, false);
  }
  assert.equal(kept.isStopped, true);
  assert.equal(s.exporter.activities[0], kept);
  nobody[Symbol.dispose]();
});

Deno.test("new Activity() throws: activities come from a source", () => {
  assert.throws(() => new Activity(undefined), {
    name: "TypeError",
    message: "Cannot construct Activity directly: use ActivitySource.startActivity()",
  });
});

Deno.test("Activity.current is read-only and changes only inside Activity.run()", async () => {
  using s = setup();
  using a = s.start();
  assert.throws(() => {
    (Activity as unknown as { current: Activity }).current = a;
  }, TypeError);
  assert.equal(Activity.current, undefined);
  const inside = await Activity.run(a, async () => {
    await new Promise((resolve) => setTimeout(resolve, 0));
    const seen = [Activity.current];
    Activity.run(null, () => seen.push(Activity.current));
    Activity.run(undefined, () => seen.push(Activity.current));
    seen.push(Activity.current);
    return seen;
  });
  assert.deepEqual(inside, [a, undefined, undefined, a]);
  assert.equal(Activity.current, undefined);
  assert.equal(a.isStopped, false); // run() does not stop
});

Deno.test("Activity exposes its identity and context", async (t) => {
  using s = setup();
  await t.step("id, context and parent", () => {
    using parent = s.start("Parent");
    using a = s.source.startActivity("Child", { parent })!;
    assert.equal(a.id, `00-${a.traceId}-${a.spanId}-03`);
    assert.equal(a.parent, parent);
    assert.equal(a.parentSpanId, parent.spanId);
    assert.equal(a.hasRemoteParent, false);
    assert.equal(a.source, s.source);
    assert.deepEqual(
      [a.context.traceId, a.context.spanId, a.context.traceFlags, a.context.isRemote],
      [a.traceId, a.spanId, 3, false],
    );
    const context = a.context;
    assert.equal(a.context, context); // the same object while nothing changes
  });
  await t.step("a new trace state shows in the next context", () => {
    using a = s.start();
    const before = a.context;
    a.traceState = "vendor=1";
    assert.equal(before.traceState, undefined);
    assert.equal(a.context.traceState, "vendor=1");
    a.traceState = "";
    assert.equal(a.traceState, undefined);
    a.traceState = 5 as unknown as string;
    assert.equal(a.traceState, undefined);
  });
  await t.step("display name changes, operation name stays", () => {
    using a = s.start("Original");
    a.displayName = "Shown";
    a.displayName = 5 as unknown as string;
    assert.deepEqual([a.operationName, a.displayName], ["Original", "Shown"]);
  });
  await t.step("kind defaults to internal; an unknown kind falls back to it", () => {
    using a = s.source.startActivity("K", { kind: "server" })!;
    using b = s.source.startActivity("K", { kind: "database" as "server" })!;
    assert.deepEqual([a.kind, b.kind], ["server", "internal"]);
  });
});

Deno.test("Activity times come from the source's clock, in 100 ns ticks", async (t) => {
  const clock = new FakeClock();
  using s = setup({ clock });
  await t.step("start, end, duration and event time", () => {
    clock.ms = 0.7326;
    const a = s.start();
    assert.equal(a.startTimeUnixNano, 1_697_505_880_495_732_600n);
    assert.equal(a.startTime.getTime(), ORIGIN);
    assert.equal(a.endTimeUnixNano, undefined);
    assert.equal(a.durationTicks, 0);
    clock.ms = 1.1;
    a.addEvent("validated");
    assert.equal(a.events[0]?.timeUnixNano, 1_697_505_880_496_100_000n);
    clock.ms = 1.5982;
    a.stop();
    assert.equal(a.endTimeUnixNano, 1_697_505_880_496_598_200n);
    assert.equal(a.durationTicks, 8656);
    assert.equal(a.duration, 0.8656);
  });
  await t.step("explicit start, event and end times (Date or epoch ms)", () => {
    const a = s.source.startActivity("Timed", { startTime: new Date(ORIGIN + 1000) })!;
    a.addEvent("e", { timestamp: ORIGIN + 1500 });
    a.stop({ endTime: new Date(ORIGIN + 2000) });
    assert.equal(a.startTimeUnixNano, BigInt(ORIGIN + 1000) * 1_000_000n);
    assert.equal(a.events[0]?.timeUnixNano, BigInt(ORIGIN + 1500) * 1_000_000n);
    assert.equal(a.durationTicks, 10_000_000);
  });
  await t.step("an invalid explicit time falls back to now", () => {
    clock.ms = 7;
    const a = s.source.startActivity("Timed", { startTime: NaN })!;
    a.addEvent("e", { timestamp: new Date(NaN) });
    clock.ms = 8;
    a.stop({ endTime: Infinity });
    assert.equal(a.startTimeUnixNano, BigInt(ORIGIN + 7) * 1_000_000n);
    assert.equal(a.events[0]?.timeUnixNano, BigInt(ORIGIN + 7) * 1_000_000n);
    assert.equal(a.durationTicks, 10_000);
  });
  await t.step("a time beyond the range of a Date falls back to now", () => {
    clock.ms = 9;
    const a = s.source.startActivity("Far", { startTime: 1e20 })!;
    a.addEvent("e", { timestamp: -1e17 });
    clock.ms = 10;
    a.stop({ endTime: 8.64e15 + 1 });
    assert.equal(a.startTimeUnixNano, BigInt(ORIGIN + 9) * 1_000_000n);
    assert.equal(a.startTime.getTime(), ORIGIN + 9);
    assert.equal(a.events[0]?.timeUnixNano, BigInt(ORIGIN + 9) * 1_000_000n);
    assert.equal(a.durationTicks, 10_000);
  });
});

Deno.test("Activity.setStatus() keeps a description only for error", () => {
  using s = setup();
  using a = s.start();
  a.setStatus("error", "Payment failed");
  assert.deepEqual([a.status, a.statusDescription], ["error", "Payment failed"]);
  a.setStatus("ok", "ignored");
  assert.deepEqual([a.status, a.statusDescription], ["ok", undefined]);
  a.setStatus("bogus" as "ok");
  assert.equal(a.status, "ok");
  a.setStatus("unset");
  assert.equal(a.status, "unset");
});

Deno.test("Activity.recordException() adds an exception event and leaves the status", async (t) => {
  using s = setup();
  await t.step("an Error", () => {
    using a = s.start();
    const error = new RangeError("Too big");
    a.recordException(error, { tags: { "extra": 1 }, timestamp: ORIGIN });
    const event = a.events[0]!;
    assert.equal(event.name, "exception");
    assert.deepEqual(event.tags, [
      ["exception.type", "RangeError"],
      ["exception.message", "Too big"],
      ["exception.stacktrace", error.stack],
      ["extra", 1],
    ]);
    assert.equal(event.timeUnixNano, BigInt(ORIGIN) * 1_000_000n);
    assert.equal(a.status, "unset");
  });
  await t.step("a thrown value that is not an Error", () => {
    using a = s.start();
    a.recordException("plain string").recordException(Symbol("sym"));
    assert.deepEqual(a.events.map((e) => e.tags), [
      [["exception.type", "string"], ["exception.message", "plain string"]],
      [["exception.type", "symbol"], ["exception.message", "Symbol(sym)"]],
    ]);
  });
  await t.step("a hostile error object does not throw", () => {
    using a = s.start();
    const hostile = new Error("hidden");
    Object.defineProperty(hostile, "message", {
      get(): never {
        throw new Error("no message for you");
      },
    });
    a.recordException(hostile);
    assert.equal(a.events[0]?.name, "exception");
    assert.deepEqual(a.events[0]?.tags, [["exception.type", "Error"]]);
  });
});

Deno.test("Activity.addEvent() ignores tags of the wrong shape, keeps the event, and says so once", () => {
  const errors = mock.method(console, "error", () => {});
  try {
    using s = setup();
    using a = s.start();
    a.addEvent("bad", { tags: "x=1" as unknown as Record<string, string> });
    a.addEvent("bad again", { tags: 7 as unknown as Record<string, string> });
    a.addEvent(5 as unknown as string);
    assert.deepEqual(a.events.map((e) => [e.name, e.tags]), [["bad", []], ["bad again", []]]);
    assert.ok(Object.isFrozen(a.events[0]));
    assert.equal(errors.mock.callCount(), 1);
    assert.match(
      String(errors.mock.calls[0]?.arguments[0]),
      /Activity\.addEvent\(\) option tags failed: TypeError: Cannot read event tags/,
    );
  } finally {
    errors.mock.restore();
  }
});

Deno.test("Activity.addEvent(), recordException() and stop() read each option once, inside a guard", async (t) => {
  const clock = new FakeClock();
  const errors = mock.method(console, "error", () => {});
  try {
    using s = setup({ clock });
    let reads = 0;
    const throwing = (what: string) => ({
      get timestamp(): never {
        reads++;
        throw new Error(`${what} timestamp`);
      },
      get endTime(): never {
        reads++;
        throw new Error(`${what} endTime`);
      },
      get tags() {
        reads++;
        return { step: 1 };
      },
    });
    await t.step("a throwing timestamp getter: the event is kept at the current time", () => {
      clock.ms = 3;
      using a = s.start();
      reads = 0;
      a.addEvent("e", throwing("event") as never);
      a.recordException(new RangeError("r"), throwing("exception") as never);
      assert.equal(reads, 4); // timestamp and tags, once each, per call
      assert.deepEqual(a.events.map((e) => [e.name, e.timeUnixNano, e.tags.at(-1)]), [
        ["e", BigInt(ORIGIN + 3) * 1_000_000n, ["step", 1]],
        ["exception", BigInt(ORIGIN + 3) * 1_000_000n, ["step", 1]],
      ]);
    });
    await t.step("a throwing endTime getter: the activity stops now and is exported", () => {
      clock.ms = 4;
      const a = s.start();
      clock.ms = 5;
      reads = 0;
      a.stop(throwing("stop") as never);
      assert.equal(reads, 1);
      assert.equal(a.isStopped, true);
      assert.equal(a.durationTicks, 10_000);
      assert.equal(s.exporter.activities.at(-1), a);
    });
    await t.step("revoked proxies as options, link, timestamp and tag value", () => {
      const revoked = () => {
        const { proxy, revoke } = Proxy.revocable({}, {});
        revoke();
        return proxy;
      };
      clock.ms = 6;
      const a = s.start();
      a.setTag("k", revoked() as never)
        .addLink(revoked() as never)
        .addEvent("e", { timestamp: revoked() as never, tags: { v: revoked() as never } })
        .addEvent("f", revoked() as never)
        .recordException(revoked(), revoked() as never);
      a.stop(revoked() as never);
      assert.deepEqual(a.tags, [["k", "[unreadable value]"]]);
      assert.deepEqual(a.links, []);
      assert.deepEqual(a.events.map((e) => [e.name, e.tags]), [
        ["e", [["v", "[unreadable value]"]]],
        ["f", []],
        ["exception", [["exception.type", "object"], ["exception.message", "[unprintable value]"]]],
      ]);
      assert.equal(a.isStopped, true);
    });
    // Each kind of unusable input is reported, once.
    const reported = errors.mock.calls.map((c) => String(c.arguments[0]).split(" failed")[0]);
    assert.equal(new Set(reported).size, reported.length);
    for (
      const where of [
        "Activity.addEvent() option timestamp",
        "Activity.addLink()",
        "Activity.recordException() option timestamp",
        "Activity.stop() option endTime",
      ]
    ) {
      assert.ok(reported.includes(`[@tracelinks/activity] ${where}`), where);
    }
  } finally {
    errors.mock.restore();
  }
});

Deno.test("Activity works back-dated: explicit start and end times before the clock's origin", () => {
  using s = setup(); // the real clock: its origin is this process's start
  const a = s.source.startActivity("Imported", {
    startTime: new Date("2020-01-02T03:04:05Z"),
  })!;
  assert.equal(a.isStopped, false);
  a.stop({ endTime: new Date("2020-01-02T03:04:06Z") });
  assert.equal(a.isStopped, true);
  assert.equal(a.durationTicks, 10_000_000);
  assert.equal(a.startTimeUnixNano, BigInt(Date.UTC(2020, 0, 2, 3, 4, 5)) * 1_000_000n);
  assert.equal(a.endTimeUnixNano, BigInt(Date.UTC(2020, 0, 2, 3, 4, 6)) * 1_000_000n);
  assert.equal(a.startTime.toISOString(), "2020-01-02T03:04:05.000Z");
  a.stop();
  a.setTag("late", 1);
  assert.deepEqual(a.tags, []);
  assert.equal(a.durationTicks, 10_000_000);
  assert.deepEqual(s.exporter.activities, [a]); // exported once
});

Deno.test("Activity back-dated by decades still stops once with a positive duration", () => {
  using s = setup({ clock: new FakeClock() }); // origin 2023-10-17
  // 1969-12-31, 54 years before the origin: ticks are then spaced more than one apart.
  const early = s.source.startActivity("Early", { startTime: -86_400_000 })!;
  early.stop({ endTime: -86_400_000 - 5 }); // an end before the start
  assert.equal(early.isStopped, true);
  assert.ok(early.durationTicks > 0 && early.durationTicks <= 4, `${early.durationTicks}`);
  assert.equal(early.startTimeUnixNano, -86_400_000_000_000n);
  // An end exactly one tick before the origin is a stop like any other.
  using epoch = setup({ clock: { timeOrigin: 0, now: () => 0 } });
  const tick = epoch.source.startActivity("Tick", { startTime: -0.0002 })!;
  tick.stop({ endTime: -0.0001 });
  tick.stop();
  assert.equal(tick.isStopped, true);
  assert.ok(tick.durationTicks >= 1);
  assert.deepEqual(epoch.exporter.activities, [tick]);
  const later = s.source.startActivity("Later", { startTime: -86_400_000 })!;
  later.stop({ endTime: -86_399_000 });
  assert.equal(later.durationTicks, 10_000_000);
  assert.deepEqual(s.exporter.activities, [early, later]);
});

Deno.test("Activity.run() ignores a value that is not an activity, and says so once", () => {
  const errors = mock.method(console, "error", () => {});
  try {
    using s = setup();
    const outer = s.start("Outer");
    const fake = Object.create(Activity.prototype);
    const seen = Activity.run(
      outer,
      () =>
        ["not-hex", fake, { traceId: "not-hex", spanId: "x" }, 42].map((x) =>
          Activity.run(x as never, () => {
            const child = s.source.startActivity("Child")!;
            child.stop();
            return [Activity.current, child.traceId, child.parentSpanId];
          })
        ),
    );
    for (const [current, traceId, parentSpanId] of seen) {
      assert.equal(current, outer); // the current activity is unchanged
      assert.equal(traceId, outer.traceId);
      assert.equal(parentSpanId, outer.spanId);
    }
    outer.stop();
    assert.equal(errors.mock.callCount(), 1);
    assert.match(
      String(errors.mock.calls[0]?.arguments[0]),
      /Activity\.run\(\) failed: TypeError: Cannot make string current: the callback runs with the current activity unchanged/,
    );
  } finally {
    errors.mock.restore();
  }
});

Deno.test("Activity.current = ... throws a TypeError that says what to write instead", () => {
  for (const value of [null, undefined]) {
    assert.throws(
      () => {
        (Activity as unknown as { current: unknown }).current = value;
      },
      {
        name: "TypeError",
        message: "Cannot assign Activity.current: the current activity changes only for a " +
          "callback. Instead of Activity.current = activity, write Activity.run(activity, fn); " +
          "instead of Activity.current = null, write Activity.run(null, fn) or " +
          "source.startActivity(name, { root: true })",
      },
    );
  }
  assert.equal(Activity.current, undefined);
});

Deno.test("Activity.stop() goes on when a listener throws, and reports it once", () => {
  const errors = mock.method(console, "error", () => {});
  try {
    using s = setup();
    using _registration = ActivitySource.addActivityListener({
      shouldListenTo: (source) => source === s.source,
      activityStopped: () => {
        throw new Error("listener broke");
      },
    });
    s.start().stop();
    s.start().stop();
    assert.equal(s.exporter.activities.length, 2);
    assert.equal(errors.mock.callCount(), 1);
    assert.match(String(errors.mock.calls[0]?.arguments[0]), /activityStopped.*listener broke/);
  } finally {
    errors.mock.restore();
  }
});

Deno.test("Activity.traceState keeps only what its context keeps, from a setter or a sampler", () => {
  const dirty = "a=1\r\nx-injected: yes";
  using _provider = createTracerProviderBuilder()
    .addSource("TraceStateConsistency")
    .setSampler({
      description: "DirtyTraceState",
      shouldSample: (o) => ({
        decision: "recordAndSample",
        traceState: o.name === "Clean" ? "sampler=1" : dirty,
      }),
    })
    .build();
  const source = new ActivitySource("TraceStateConsistency");
  // The sampler's trace state is taken when valid, so the undefined below is its cleaning.
  using clean = source.startActivity("Clean")!;
  assert.equal(clean.traceState, "sampler=1");
  assert.equal(clean.context.traceState, "sampler=1");
  using fromSampler = source.startActivity("FromSampler")!;
  assert.equal(fromSampler.traceState, undefined);
  assert.equal(fromSampler.context.traceState, undefined);

  fromSampler.traceState = "vendor=abc";
  assert.equal(fromSampler.traceState, "vendor=abc");
  assert.equal(fromSampler.context.traceState, "vendor=abc");
  fromSampler.traceState = dirty;
  assert.equal(fromSampler.traceState, undefined);
  assert.equal(fromSampler.context.traceState, undefined);
});
