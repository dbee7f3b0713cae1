// Hostile input for every public member of Activity: throwing getters, revoked proxies, proxies
// whose traps throw, huge and holey arrays, values without a string form. Telemetry must not
// break the program it observes: no call throws, the activity stops and is exported once, and
// what it holds can still be printed and encoded.

import assert from "node:assert/strict";
import { mock } from "node:test";
import {
  Activity,
  ActivityContext,
  ActivityLink,
  ActivitySource,
  createTracerProviderBuilder,
  formatConsoleRecord,
  InMemoryExporter,
  Resource,
} from "../mod.ts";
import { encodeOtlpTraces } from "../otlp/mod.ts";
import { MAX_TAG_ENTRIES } from "../tags.ts";

function revoked(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

function boom(): never {
  throw new Error("hostile");
}

/** A proxy every trap of which throws. */
const trapping = new Proxy({}, {
  get: boom,
  has: boom,
  ownKeys: boom,
  getPrototypeOf: boom,
  getOwnPropertyDescriptor: boom,
});

const hostileValues: [string, () => unknown][] = [
  ["undefined", () => undefined],
  ["null", () => null],
  ["NaN", () => NaN],
  ["-0", () => -0],
  ["a huge bigint", () => 10n ** 40n],
  ["a symbol", () => Symbol("s")],
  ["a function", () => function named() {}],
  ["an empty object", () => ({})],
  ["a revoked proxy", revoked],
  ["a proxy whose traps throw", () => trapping],
  ["throwing getters", () => ({
    get timestamp(): never {
      return boom();
    },
    get tags(): never {
      return boom();
    },
    get endTime(): never {
      return boom();
    },
    get context(): never {
      return boom();
    },
  })],
  ["no string form", () => ({ toString: boom, valueOf: boom, [Symbol.toPrimitive]: boom })],
  ["a holey array of 2 ** 32 - 1", () => new Array(2 ** 32 - 1)],
  ["an array proxy claiming 2 ** 32 - 1 elements", () =>
    new Proxy([], {
      get: (target, key) => key === "length" ? 2 ** 32 - 1 : Reflect.get(target, key),
    })],
  ["an array proxy whose elements throw", () => new Proxy([1, 2, 3], { get: boom })],
  ["a cyclic array", () => {
    const cycle: unknown[] = [1];
    cycle.push(cycle);
    return cycle;
  }],
  ["a string of 1e6 characters", () => "x".repeat(1_000_000)],
  ["an invalid Date", () => new Date(NaN)],
  ["a Date with a throwing getTime", () => Object.assign(new Date(0), { getTime: boom })],
  ["a lookalike link", () => Object.create(ActivityLink.prototype)],
  ["a lookalike activity", () => Object.create(Activity.prototype)],
  ["a lookalike context", () => Object.create(ActivityContext.prototype)],
];

type Call = (a: Activity, v: unknown) => unknown;
// deno-lint-ignore no-explicit-any
const any = (a: Activity): any => a;

// Every way to hand a value to each member. A member missing here fails the coverage check.
const calls: Record<string, Call[]> = {
  setTag: [(a, v) => any(a).setTag(v, "x"), (a, v) => any(a).setTag("k", v)],
  addTag: [(a, v) => any(a).addTag(v, "x"), (a, v) => any(a).addTag("k", v)],
  getTagItem: [(a, v) => any(a).setTag("k", [1]).getTagItem(v)],
  addEvent: [
    (a, v) => any(a).addEvent(v),
    (a, v) => any(a).addEvent("e", v),
    (a, v) => any(a).addEvent("e", { timestamp: v, tags: v }),
    (a, v) => any(a).addEvent("e", { tags: { k: v } }),
  ],
  addLink: [
    (a, v) => any(a).addLink(v),
    (a, v) => a.addLink(new ActivityLink(a.context, { k: v as string })),
  ],
  setStatus: [(a, v) => any(a).setStatus(v, v), (a, v) => any(a).setStatus("error", v)],
  recordException: [
    (a, v) => any(a).recordException(v),
    (a, v) => any(a).recordException(new Error("e"), v),
    (a, v) => any(a).recordException(new Error("e"), { timestamp: v, tags: v }),
  ],
  getBaggageItem: [(a, v) => any(a).getBaggageItem(v)],
  addBaggage: [(a, v) => any(a).addBaggage(v, "x"), (a, v) => any(a).addBaggage("k", v)],
  setBaggage: [(a, v) => any(a).setBaggage(v, "x"), (a, v) => any(a).setBaggage("k", v)],
  stop: [(a, v) => any(a).stop(v), (a, v) => any(a).stop({ endTime: v })],
  displayName: [(a, v) => any(a).displayName = v],
  traceState: [(a, v) => any(a).traceState = v],
  [Symbol.dispose as unknown as string]: [(a) => a[Symbol.dispose]()],
};

/** The getters, read after each call; each must return without throwing. */
function readAll(a: Activity): unknown[] {
  return getterNames().map((name) => (a as unknown as Record<string, unknown>)[name]);
}

function getterNames(): string[] {
  return Object.entries(Object.getOwnPropertyDescriptors(Activity.prototype))
    .filter(([, d]) => d.get !== undefined)
    .map(([name]) => name);
}

Deno.test("Activity: the hostile-input table covers every public member", () => {
  const descriptors = Object.getOwnPropertyDescriptors(Activity.prototype);
  // The brand by which copies of the module recognise each other's activities is data, not a member.
  const brand = Symbol.for("@tracelinks/activity/v0.1 Activity");
  const members = Reflect.ownKeys(descriptors).filter((k) => k !== "constructor" && k !== brand);
  for (const key of members) {
    const d = descriptors[key as string]!;
    const covered = (calls as Record<PropertyKey, Call[]>)[key] !== undefined ||
      (d.get !== undefined && d.set === undefined);
    assert.ok(covered, `${String(key)} has no hostile-input case`);
  }
});

Deno.test("Activity members never throw on hostile input, and the activity stops and exports once", async (t) => {
  const errors = mock.method(console, "error", () => {});
  try {
    const exporter = new InMemoryExporter();
    using _provider = createTracerProviderBuilder().addSource("Hostile")
      .addInMemoryExporter(exporter).build();
    const source = new ActivitySource("Hostile");
    for (
      const [member, ways] of Object.entries(calls).concat([[
        "[Symbol.dispose]",
        calls[Symbol.dispose as unknown as string]!,
      ]])
    ) {
      await t.step(member, () => {
        for (const [what, make] of hostileValues) {
          ways.forEach((call, i) => {
            const a = source.startActivity("Hostile")!;
            const label = `${member} #${i} with ${what}`;
            try {
              call(a, make());
            } catch (error) {
              assert.fail(`${label} threw ${error}`);
            }
            assert.doesNotThrow(() => readAll(a), label);
            a.stop();
            assert.ok(a.isStopped, label);
            assert.equal(exporter.activities.filter((x) => x === a).length, 1, label);
            // What the activity holds can be printed and encoded.
            assert.match(formatConsoleRecord(a), /^Activity\.TraceId: /, label);
            assert.ok(encodeOtlpTraces([a], undefined, { protocol: "http/json" }).length > 0);
            exporter.reset();
          });
        }
      });
    }
  } finally {
    errors.mock.restore();
  }
});

Deno.test("Activity.run() never throws on a hostile activity, and runs the callback once", () => {
  const errors = mock.method(console, "error", () => {});
  try {
    for (const [what, make] of hostileValues) {
      let calls = 0;
      const result = Activity.run(make() as Activity, () => {
        calls++;
        return Activity.current;
      });
      assert.equal(calls, 1, what);
      assert.equal(result, undefined, what); // nothing was current, and nothing became current
    }
  } finally {
    errors.mock.restore();
  }
});

Deno.test("Activity.run() throws a TypeError when there is no callback to run", () => {
  for (const fn of [undefined, null, 1, "fn", {}]) {
    assert.throws(() => Activity.run(null, fn as never), {
      name: "TypeError",
      message: `Cannot run: fn must be a function, got ${typeof fn}`,
    });
  }
});

Deno.test("ActivitySource.startActivity() never throws on hostile options", async () => {
  const errors = mock.method(console, "error", () => {});
  try {
    const exporter = new InMemoryExporter();
    using _provider = createTracerProviderBuilder().addSource("HostileOptions")
      .addInMemoryExporter(exporter).build();
    const source = new ActivitySource("HostileOptions");
    const keys = ["kind", "parent", "root", "tags", "links", "startTime"];
    for (const [what, make] of hostileValues) {
      const optionSets: unknown[] = [make(), ...keys.map((key) => ({ [key]: make() }))];
      for (const options of optionSets) {
        const a = source.startActivity(make() as string, options as never);
        assert.ok(a, what);
        assert.doesNotThrow(() => readAll(a), what);
        a.stop();
        assert.ok(a.isStopped, what);
        assert.match(formatConsoleRecord(a, new Resource({ r: make() as string })), /^Activity/);
      }
      // A callback's hostile return value is returned (one whose `then` cannot be read as a
      // promise that rejects, as `await` takes it), and the activity is stopped.
      let seen: Activity | undefined;
      const value = make();
      const returned = source.startActiveActivity("Active", (a) => {
        seen = a;
        return value;
      });
      if (returned !== value && typeof value !== "number") {
        assert.ok(returned instanceof Promise, what);
        await assert.rejects(returned, what);
      }
      assert.ok(seen?.isStopped, what);
    }
    assert.equal(exporter.activities.length, hostileValues.length * 8);
  } finally {
    errors.mock.restore();
  }
});

Deno.test("ActivitySource.startActivity() reads a bounded number of tags from an endless iterable", () => {
  const errors = mock.method(console, "error", () => {});
  try {
    const exporter = new InMemoryExporter();
    using _provider = createTracerProviderBuilder().addSource("EndlessTags")
      .setLimits({ tagCount: 10 }).addInMemoryExporter(exporter).build();
    const source = new ActivitySource("EndlessTags");
    let read = 0;
    const endless = (function* (): Generator<[string, number]> {
      for (;;) yield [`k${read}`, read++];
    })();
    const activity = source.startActivity("Endless", { tags: endless });
    activity?.stop();
    assert.equal(read, MAX_TAG_ENTRIES + 1);
    assert.equal(activity?.tags.length, 10);
    assert.equal(activity?.droppedTagCount, MAX_TAG_ENTRIES - 10);
    assert.ok(
      errors.mock.calls.some((call) => String(call.arguments[0]).includes("the rest are ignored")),
    );
  } finally {
    errors.mock.restore();
  }
});
