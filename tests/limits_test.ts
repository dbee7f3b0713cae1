// Limits, as OpenTelemetry names them: tags per activity, tag value length, events, links, tags
// per event and per link. Counts and dropped counts exact at and past each limit.

import assert from "node:assert/strict";
import {
  type Activity,
  ActivityContext,
  type ActivityLimits,
  ActivityLink,
  ActivitySource,
  createTracerProviderBuilder,
  DEFAULT_LIMITS,
  droppedLinkTagCount,
  newSpanId,
  newTraceId,
  Resource,
  type TracerProvider,
} from "../mod.ts";
import { mock } from "node:test";
import { encodeOtlpTraces } from "../otlp/mod.ts";

let counter = 0;

/** A provider with the given limits on a source of its own. */
function limited(limits: Partial<ActivityLimits>): {
  provider: TracerProvider;
  source: ActivitySource;
} {
  const name = `Limits.Test.${++counter}`;
  const provider = createTracerProviderBuilder()
    .addSource(name)
    .setLimits(limits)
    .setEnvironment(false)
    .build();
  return { provider, source: new ActivitySource(name) };
}

function tags(count: number, prefix = "k"): Record<string, number> {
  return Object.fromEntries(Array.from({ length: count }, (_, i) => [`${prefix}${i}`, i]));
}

function link(tagCount = 0): ActivityLink {
  return new ActivityLink(new ActivityContext(newTraceId(), newSpanId()), tags(tagCount));
}

function start(source: ActivitySource, options = {}): Activity {
  const activity = source.startActivity("Work", options);
  assert.ok(activity !== undefined);
  return activity;
}

Deno.test("limits: the defaults are OpenTelemetry's", async () => {
  assert.deepEqual(DEFAULT_LIMITS, {
    tagCount: 128,
    tagValueLength: Infinity,
    eventCount: 128,
    linkCount: 128,
    eventTagCount: 128,
    linkTagCount: 128,
  });
  const { provider, source } = limited({});
  using at = start(source, { tags: tags(128) });
  using past = start(source, { tags: tags(129) });
  assert.equal(at.tags.length, 128);
  assert.equal(at.droppedTagCount, 0);
  assert.equal(past.tags.length, 128);
  assert.equal(past.droppedTagCount, 1);
  for (let i = 0; i < 129; i++) at.addEvent(`e${i}`);
  assert.equal(at.events.length, 128);
  assert.equal(at.droppedEventCount, 1);
  await provider.shutdown();
});

Deno.test("limits: tagCount, at and past the limit", async (t) => {
  const { provider, source } = limited({ tagCount: 3 });
  await t.step("tags given at start", () => {
    using at = start(source, { tags: tags(3) });
    using past = start(source, { tags: tags(5) });
    assert.deepEqual(at.tags, [["k0", 0], ["k1", 1], ["k2", 2]]);
    assert.equal(at.droppedTagCount, 0);
    assert.deepEqual(past.tags, [["k0", 0], ["k1", 1], ["k2", 2]]);
    assert.equal(past.droppedTagCount, 2);
  });
  await t.step("setTag: a new key past the limit is dropped, an existing key is replaced", () => {
    using activity = start(source);
    activity.setTag("a", 1).setTag("b", 2).setTag("c", 3);
    assert.equal(activity.droppedTagCount, 0);
    activity.setTag("d", 4).setTag("a", 10).setTag("e", 5);
    assert.deepEqual(activity.tags, [["a", 10], ["b", 2], ["c", 3]]);
    assert.equal(activity.droppedTagCount, 2);
  });
  await t.step("addTag past the limit is dropped and counted", () => {
    using activity = start(source, { tags: tags(2) });
    activity.addTag("x", 1);
    assert.equal(activity.droppedTagCount, 0);
    activity.addTag("x", 2).addTag("x", 3);
    assert.equal(activity.tags.length, 3);
    assert.equal(activity.droppedTagCount, 2);
  });
  await t.step("removing a tag frees a place", () => {
    using activity = start(source, { tags: tags(3) });
    activity.setTag("k0", null).setTag("new", 1);
    assert.deepEqual(activity.tags, [["k1", 1], ["k2", 2], ["new", 1]]);
    assert.equal(activity.droppedTagCount, 0);
  });
  await provider.shutdown();
});

Deno.test("limits: tagCount 0 keeps no tag and counts each", async () => {
  const { provider, source } = limited({ tagCount: 0 });
  using activity = start(source, { tags: tags(2) });
  activity.setTag("a", 1).addTag("b", 2);
  assert.deepEqual(activity.tags, []);
  assert.equal(activity.droppedTagCount, 4);
  await provider.shutdown();
});

Deno.test("limits: tagValueLength truncates strings at and past the limit, everywhere", async () => {
  const { provider, source } = limited({ tagValueLength: 4 });
  using activity = start(source, { tags: { at: "abcd", past: "abcdef", n: 123456, b: true } });
  activity.setTag("arr", ["abcdefg", "ab", 7]);
  activity.addEvent("e", { tags: { v: "xyz12345" } });
  activity.addLink(
    new ActivityLink(new ActivityContext(newTraceId(), newSpanId()), { v: "123456" }),
  );
  assert.deepEqual(activity.tags, [
    ["at", "abcd"],
    ["past", "abcd"],
    ["n", 123456],
    ["b", true],
    ["arr", ["abcd", "ab", 7]],
  ]);
  assert.deepEqual(activity.events[0]?.tags, [["v", "xyz1"]]);
  assert.deepEqual(activity.links[0]?.tags, [["v", "1234"]]);
  assert.equal(activity.droppedTagCount, 0);
  await provider.shutdown();
});

Deno.test("limits: eventCount, at and past the limit", async () => {
  const { provider, source } = limited({ eventCount: 2 });
  using activity = start(source);
  activity.addEvent("one").addEvent("two");
  assert.equal(activity.events.length, 2);
  assert.equal(activity.droppedEventCount, 0);
  activity.addEvent("three").recordException(new Error("Four"));
  assert.deepEqual(activity.events.map((e) => e.name), ["one", "two"]);
  assert.equal(activity.droppedEventCount, 2);
  await provider.shutdown();
});

Deno.test("limits: eventTagCount, at and past the limit", async () => {
  const { provider, source } = limited({ eventTagCount: 2 });
  using activity = start(source);
  activity.addEvent("at", { tags: tags(2) }).addEvent("past", { tags: tags(5) });
  assert.equal(activity.events[0]?.tags.length, 2);
  assert.equal(activity.events[0]?.droppedTagCount, 0);
  assert.deepEqual(activity.events[1]?.tags, [["k0", 0], ["k1", 1]]);
  assert.equal(activity.events[1]?.droppedTagCount, 3);
  assert.equal(activity.droppedTagCount, 0);
  await provider.shutdown();
});

Deno.test("limits: linkCount, at and past the limit, at start and after", async () => {
  const { provider, source } = limited({ linkCount: 2 });
  using at = start(source, { links: [link(), link()] });
  assert.equal(at.links.length, 2);
  assert.equal(at.droppedLinkCount, 0);
  const given = [link(), link(), link()];
  using past = start(source, { links: given });
  assert.deepEqual(past.links.map((l) => l.context), given.slice(0, 2).map((l) => l.context));
  assert.equal(past.droppedLinkCount, 1);
  past.addLink(link());
  assert.equal(past.links.length, 2);
  assert.equal(past.droppedLinkCount, 2);
  await provider.shutdown();
});

Deno.test("limits: linkTagCount, at and past the limit", async () => {
  const { provider, source } = limited({ linkTagCount: 2 });
  const atLimit = link(2);
  const pastLimit = link(5);
  using activity = start(source, { links: [atLimit, pastLimit] });
  assert.equal(activity.links[0]?.tags.length, 2);
  assert.equal(droppedLinkTagCount(activity.links[0]!), 0);
  assert.deepEqual(activity.links[1]?.tags, [["k0", 0], ["k1", 1]]);
  assert.equal(droppedLinkTagCount(activity.links[1]!), 3);
  // The caller's link is not changed.
  assert.equal(pastLimit.tags.length, 5);
  assert.equal(droppedLinkTagCount(pastLimit), 0);
  await provider.shutdown();
});

Deno.test("limits: tagValueLength also limits the length of array values", async () => {
  const { provider, source } = limited({ tagValueLength: 3 });
  using activity = start(source, { tags: { start: [1, 2, 3, 4, 5] } });
  activity.setTag("set", ["abcdef", "b", "c", "d"]).addTag("added", [true, false, true, true]);
  activity.addEvent("e", { tags: { v: [1, 2, 3, 4] } });
  activity.addLink(
    new ActivityLink(new ActivityContext(newTraceId(), newSpanId()), { v: [9, 8, 7, 6] }),
  );
  assert.deepEqual(activity.tags, [
    ["start", [1, 2, 3]],
    ["set", ["abc", "b", "c"]],
    ["added", [true, false, true]],
  ]);
  assert.deepEqual(activity.events[0]?.tags, [["v", [1, 2, 3]]]);
  assert.deepEqual(activity.links[0]?.tags, [["v", [9, 8, 7]]]);
  await provider.shutdown();
});

Deno.test("limits: array values are copied dense, holes as null, and bounded", async (t) => {
  const { provider, source } = limited({});
  await t.step("a copy: changing the caller's array later changes nothing", () => {
    using activity = start(source);
    const given = [1, 2, 3];
    activity.setTag("a", given);
    given.push(4);
    given[0] = 0;
    assert.deepEqual(activity.getTagItem("a"), [1, 2, 3]);
  });
  await t.step("holes and undefined become null", () => {
    using activity = start(source);
    // deno-lint-ignore no-sparse-arrays
    activity.setTag("holes", [1, , 3, undefined]);
    assert.deepEqual(activity.getTagItem("holes"), [1, null, 3, null]);
  });
  await t.step("a holey array of 2 ** 32 - 1 keeps 65,536 elements, and says so once", () => {
    const errors = mock.method(console, "error", () => {});
    try {
      using activity = start(source);
      activity.setTag("huge", new Array(2 ** 32 - 1)).addTag("again", new Array(2 ** 32 - 1));
      const kept = activity.getTagItem("huge") as unknown[];
      assert.equal(kept.length, 65_536);
      assert.ok(kept.every((v) => v === null));
      assert.equal(errors.mock.callCount(), 1);
      assert.match(
        String(errors.mock.calls[0]?.arguments[0]),
        /Activity tag value failed: RangeError: An array tag value was cut by 4294901759 elements: an array keeps at most 65536 elements, nested ones included/,
      );
    } finally {
      errors.mock.restore();
    }
  });
  await t.step("nested arrays share the bound; cycles are cut", () => {
    using activity = start(source);
    const cycle: unknown[] = ["x"];
    cycle.push(cycle);
    activity.setTag("nested", [[1, [2]], cycle] as never);
    assert.deepEqual(activity.getTagItem("nested"), [[1, [2]], ["x", "[Circular]"]]);
  });
  await provider.shutdown();
});

Deno.test("limits: huge and holey arrays that bypass an activity are bounded where they are encoded", async () => {
  const { provider, source } = limited({});
  const activity = start(source);
  activity.stop();
  // A resource keeps its values as given, so this array reaches the encoders whole.
  const resource = new Resource({ holey: new Array(2 ** 32 - 1) as never });
  const body = encodeOtlpTraces([activity], resource, { protocol: "http/json" });
  const request = JSON.parse(new TextDecoder().decode(body));
  const holey = request.resourceSpans[0].resource.attributes
    .find((a: { key: string }) => a.key === "holey");
  assert.equal(holey.value.arrayValue.values.length, 65_536);
  assert.deepEqual(holey.value.arrayValue.values[0], {});
  const protobuf = encodeOtlpTraces([activity], resource);
  assert.ok(protobuf.length < 65_536 * 8, `${protobuf.length} bytes`);
  await provider.shutdown();
});

Deno.test("limits: baggage keeps the W3C Baggage limits and counts what it drops", async (t) => {
  const { provider, source } = limited({});
  await t.step("at most 180 own items; 300,000 adds stay linear", () => {
    using activity = start(source);
    for (let i = 0; i < 300_000; i++) activity.addBaggage(`k${i}`, "v");
    assert.equal(activity.baggage.length, 180);
    assert.deepEqual(activity.baggage[0], ["k179", "v"]); // newest first
    assert.deepEqual(activity.baggage[179], ["k0", "v"]);
    assert.equal(activity.droppedBaggageCount, 300_000 - 180);
    activity.setBaggage("k0", "w").setBaggage("new", "x");
    assert.equal(activity.getBaggageItem("k0"), "w");
    assert.equal(activity.getBaggageItem("new"), undefined);
    assert.equal(activity.droppedBaggageCount, 300_000 - 180 + 1);
  });
  await t.step("at most 8192 characters of key=value in all", () => {
    using activity = start(source);
    activity.addBaggage("a", "x".repeat(4094)); // 4096 characters with "a="
    activity.addBaggage("b", "x".repeat(4094)); // 8192 in all: kept
    activity.addBaggage("c", "");
    assert.deepEqual(activity.baggage.map(([k]) => k), ["b", "a"]);
    assert.equal(activity.droppedBaggageCount, 1);
    activity.setBaggage("a", "x".repeat(4095)); // one more character: dropped, old value kept
    assert.equal(activity.getBaggageItem("a")?.length, 4094);
    activity.setBaggage("a", null).addBaggage("c", "1");
    assert.deepEqual(activity.baggage, [["c", "1"], ["b", "x".repeat(4094)]]);
    assert.equal(activity.droppedBaggageCount, 2);
  });
  await provider.shutdown();
});

Deno.test("limits: tagCount Infinity keeps 100,000 tags with .NET's setTag semantics", async () => {
  const { provider, source } = limited({ tagCount: Infinity });
  using activity = start(source);
  const n = 100_000;
  for (let i = 0; i < n; i++) activity.setTag(`k${i}`, i);
  for (let i = 0; i < n; i += 2) activity.setTag(`k${i}`, -i); // replace in place
  activity.addTag("k1", "duplicate").setTag("k1", "first");
  activity.setTag("k3", null); // removal: later positions move
  activity.setTag("k5", "five").setTag("k99999", "last");
  assert.equal(activity.tags.length, n); // n - 1 removed + 1 duplicate
  assert.equal(activity.getTagItem("k1"), "first");
  assert.deepEqual(activity.tags.at(-1), ["k1", "duplicate"]);
  assert.equal(activity.getTagItem("k3"), undefined);
  assert.equal(activity.getTagItem("k4"), -4);
  assert.deepEqual(activity.tags[4], ["k5", "five"]);
  assert.equal(activity.getTagItem("k99999"), "last");
  assert.equal(activity.droppedTagCount, 0);
  await provider.shutdown();
});

Deno.test("limits: setLimits rejects bad values, naming them", () => {
  const builder = createTracerProviderBuilder();
  assert.throws(() => builder.setLimits({ tagCount: -1 }), {
    name: "RangeError",
    message: /tagCount must be a non-negative integer or Infinity, got -1/,
  });
  assert.throws(() => builder.setLimits({ eventCount: 1.5 }), {
    name: "RangeError",
    message: /eventCount .* got 1\.5/,
  });
  assert.throws(() => builder.setLimits({ spanCount: 1 } as Partial<ActivityLimits>), {
    name: "TypeError",
    message: /unknown limit 'spanCount'/,
  });
});
