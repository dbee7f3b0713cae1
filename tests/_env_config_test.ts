// Configuration from the OTEL_* environment variables. Most tests inject the environment with
// `setEnvironment(record or function)` and need no permission. The runtime's environment is
// read only where the env permission is already granted: one test checks that nothing else is
// read (it runs everywhere), one reads a granted variable and runs only when granted:
//
//   deno test --allow-env=OTEL_SERVICE_NAME tests/_env_config_test.ts

import assert from "node:assert/strict";
import { mock } from "node:test";
import {
  type Activity,
  ActivityContext,
  ActivityLink,
  ActivitySource,
  type BatchTimers,
  createTracerProviderBuilder,
  defaultResource,
  type EnvironmentSource,
  newSpanId,
  newTraceId,
  TraceIdRatioSampler,
  type TracerProvider,
  type TracerProviderBuilder,
} from "../mod.ts";
import { withoutDefaults } from "../_default_resource.ts";

let counter = 0;

/** Builds a provider from an environment, collecting the warnings. */
function fromEnv(
  env: EnvironmentSource,
  configure: (builder: TracerProviderBuilder) => TracerProviderBuilder = (b) => b,
): { provider: TracerProvider; source: ActivitySource; warnings: [string, string][] } {
  const name = `Env.Test.${++counter}`;
  const warnings: [string, string][] = [];
  const builder = createTracerProviderBuilder()
    .addSource(name)
    .setEnvironment(env)
    .setErrorHandler((error, where) => warnings.push([where, String(error)]));
  const provider = configure(builder).build();
  return { provider, source: new ActivitySource(name), warnings };
}

/** A clock that moves only when told. */
class FakeTimers implements BatchTimers {
  now = 0;
  #next = 1;
  readonly #timers = new Map<number, { at: number; callback: () => void }>();
  setTimeout(callback: () => void, delay: number): number {
    this.#timers.set(this.#next, { at: this.now + delay, callback });
    return this.#next++;
  }
  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }
  async advance(ms: number): Promise<void> {
    this.now += ms;
    for (const [id, timer] of [...this.#timers].sort((a, b) => a[1].at - b[1].at)) {
      if (timer.at > this.now) continue;
      this.#timers.delete(id);
      timer.callback();
    }
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

Deno.test("env: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES make the resource", async (t) => {
  await t.step(
    "attributes are percent-decoded; OTEL_SERVICE_NAME wins over service.name",
    async () => {
      const { provider, warnings } = fromEnv({
        OTEL_RESOURCE_ATTRIBUTES:
          "service.name=ignored, deployment.environment=prod,team=a%2Cb%3Dc",
        OTEL_SERVICE_NAME: " checkout ",
      });
      // Over the default resource: service.name keeps its place, first.
      assert.deepEqual(withoutDefaults(provider.resource.attributes), [
        ["service.name", "checkout"],
        ["deployment.environment", "prod"],
        ["team", "a,b=c"],
      ]);
      assert.deepEqual(warnings, []);
      await provider.shutdown();
    },
  );
  await t.step("explicit resource and service name win over the environment", async () => {
    const { provider } = fromEnv(
      { OTEL_SERVICE_NAME: "from-env", OTEL_RESOURCE_ATTRIBUTES: "team=env,region=eu" },
      (b) => b.setServiceName("explicit").setResource({ team: "explicit" }),
    );
    assert.equal(provider.resource.get("service.name"), "explicit");
    assert.equal(provider.resource.get("team"), "explicit");
    assert.equal(provider.resource.get("region"), "eu");
    await provider.shutdown();
  });
  await t.step("a malformed value is discarded whole, with a warning", async () => {
    for (const bad of ["a=1,b", "a=1,=2", "a=%E0%A4%A"]) {
      const { provider, warnings } = fromEnv({ OTEL_RESOURCE_ATTRIBUTES: bad });
      assert.deepEqual(provider.resource.attributes, defaultResource().attributes, bad);
      assert.equal(warnings.length, 1, bad);
      assert.equal(warnings[0]![0], "Environment variable OTEL_RESOURCE_ATTRIBUTES");
      assert.match(warnings[0]![1], /^SyntaxError: Cannot parse OTEL_RESOURCE_ATTRIBUTES/);
      await provider.shutdown();
    }
  });
  await t.step("empty and blank values count as unset", async () => {
    const { provider, warnings } = fromEnv({ OTEL_SERVICE_NAME: "  ", OTEL_TRACES_SAMPLER: "" });
    assert.deepEqual(provider.resource.attributes, defaultResource().attributes);
    assert.equal(provider.sampler.description, "ParentBased{root=AlwaysOnSampler}");
    assert.deepEqual(warnings, []);
    await provider.shutdown();
  });
});

Deno.test("env: OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG choose the sampler", async (t) => {
  const cases: [Record<string, string>, string][] = [
    [{ OTEL_TRACES_SAMPLER: "always_on" }, "AlwaysOnSampler"],
    [{ OTEL_TRACES_SAMPLER: "always_off" }, "AlwaysOffSampler"],
    [{ OTEL_TRACES_SAMPLER: "traceidratio" }, "TraceIdRatioBased{1}"],
    [
      { OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.25" },
      "TraceIdRatioBased{0.25}",
    ],
    [{ OTEL_TRACES_SAMPLER: "parentbased_always_on" }, "ParentBased{root=AlwaysOnSampler}"],
    [{ OTEL_TRACES_SAMPLER: "parentbased_always_off" }, "ParentBased{root=AlwaysOffSampler}"],
    [
      { OTEL_TRACES_SAMPLER: "PARENTBASED_TRACEIDRATIO", OTEL_TRACES_SAMPLER_ARG: ".1" },
      "ParentBased{root=TraceIdRatioBased{0.1}}",
    ],
  ];
  for (const [env, description] of cases) {
    await t.step(`${JSON.stringify(env)} gives ${description}`, async () => {
      const { provider, warnings } = fromEnv(env);
      assert.equal(provider.sampler.description, description);
      assert.deepEqual(warnings, []);
      await provider.shutdown();
    });
  }
  await t.step("an unknown sampler name: a warning and the default", async () => {
    const { provider, warnings } = fromEnv({ OTEL_TRACES_SAMPLER: "jaeger_remote" });
    assert.equal(provider.sampler.description, "ParentBased{root=AlwaysOnSampler}");
    assert.deepEqual(warnings, [[
      "Environment variable OTEL_TRACES_SAMPLER",
      "RangeError: Cannot use OTEL_TRACES_SAMPLER 'jaeger_remote': unknown sampler; using the default parentbased_always_on",
    ]]);
    await provider.shutdown();
  });
  await t.step("a bad ratio: a warning and ratio 1", async () => {
    for (const arg of ["1.5", "-0.1", "abc", "0x1", "NaN"]) {
      const { provider, warnings } = fromEnv({
        OTEL_TRACES_SAMPLER: "traceidratio",
        OTEL_TRACES_SAMPLER_ARG: arg,
      });
      assert.equal(provider.sampler.description, "TraceIdRatioBased{1}", arg);
      assert.equal(warnings.length, 1, arg);
      assert.match(warnings[0]![1], new RegExp(`OTEL_TRACES_SAMPLER_ARG '${arg}'`));
      await provider.shutdown();
    }
  });
  await t.step("an explicit sampler wins", async () => {
    const { provider } = fromEnv(
      { OTEL_TRACES_SAMPLER: "always_off" },
      (b) => b.setSampler(new TraceIdRatioSampler(0.5)),
    );
    assert.equal(provider.sampler.description, "TraceIdRatioBased{0.5}");
    await provider.shutdown();
  });
  await t.step("the sampler from the environment decides", async () => {
    const { provider, source } = fromEnv({ OTEL_TRACES_SAMPLER: "always_off" });
    assert.equal(source.startActivity("Work"), undefined);
    await provider.shutdown();
  });
});

Deno.test("env: OTEL_BSP_* configure batch exporters; explicit options win", async (t) => {
  await t.step("batch size and schedule delay from the environment", async () => {
    const timers = new FakeTimers();
    const sizes: number[] = [];
    const { provider, source, warnings } = fromEnv(
      { OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "2", OTEL_BSP_SCHEDULE_DELAY: "1000" },
      (b) => b.addBatchExporter({ export: (a) => void sizes.push(a.length) }, { timers }),
    );
    for (let i = 0; i < 5; i++) source.startActivity("Work")?.stop();
    await timers.advance(0);
    assert.deepEqual(sizes, [2, 2]);
    await timers.advance(999);
    assert.deepEqual(sizes, [2, 2]);
    await timers.advance(1);
    assert.deepEqual(sizes, [2, 2, 1]);
    assert.deepEqual(warnings, []);
    await provider.shutdown();
  });
  await t.step("an explicit batch size wins over the environment's", async () => {
    const sizes: number[] = [];
    const { provider, source } = fromEnv(
      { OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "2" },
      (b) =>
        b.addBatchExporter({ export: (a) => void sizes.push(a.length) }, {
          maxExportBatchSize: 3,
          timers: new FakeTimers(),
        }),
    );
    for (let i = 0; i < 6; i++) source.startActivity("Work")?.stop();
    await provider.shutdown();
    assert.deepEqual(sizes, [3, 3]);
  });
  await t.step("the queue size from the environment bounds the queue", async () => {
    let release: (() => void) | undefined;
    let received = 0;
    const { provider, source, warnings } = fromEnv(
      { OTEL_BSP_MAX_QUEUE_SIZE: "4" },
      (b) =>
        b.addBatchExporter({
          export(activities) {
            received += activities.length;
            return new Promise<void>((resolve) => release = resolve);
          },
        }, { timers: new FakeTimers() }),
    );
    // The default batch size (512) is lowered to the queue's (4), without a warning: four
    // activities fill a batch, whose export waits; four more fill the queue; two are dropped.
    for (let i = 0; i < 10; i++) source.startActivity("Work")?.stop();
    const done = provider.shutdown();
    while (release !== undefined) {
      const r = release;
      release = undefined;
      r();
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    await done;
    assert.equal(received, 8);
    assert.deepEqual(warnings.map(([where]) => where), ["BatchProcessor queue"]);
  });
  await t.step("bad values: a warning each, and the defaults", async () => {
    const sizes: number[] = [];
    const { provider, source, warnings } = fromEnv(
      {
        OTEL_BSP_MAX_QUEUE_SIZE: "-5",
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "1.5",
        OTEL_BSP_SCHEDULE_DELAY: "soon",
        OTEL_BSP_EXPORT_TIMEOUT: "99999999999",
      },
      (b) => b.addBatchExporter({ export: (a) => void sizes.push(a.length) }),
    );
    assert.deepEqual(warnings.map(([where]) => where), [
      "Environment variable OTEL_BSP_SCHEDULE_DELAY",
      "Environment variable OTEL_BSP_EXPORT_TIMEOUT",
      "Environment variable OTEL_BSP_MAX_QUEUE_SIZE",
      "Environment variable OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
    ]);
    assert.match(warnings[2]![1], /OTEL_BSP_MAX_QUEUE_SIZE '-5': expected an integer/);
    for (let i = 0; i < 600; i++) source.startActivity("Work")?.stop();
    await provider.shutdown();
    assert.deepEqual(sizes, [512, 88]);
  });
  await t.step(
    "explicit sizes that conflict are the caller's error, even with OTEL_BSP_* set",
    () => {
      const warnings: [string, string][] = [];
      assert.throws(
        () =>
          createTracerProviderBuilder()
            .addSource("Env.Test.Conflict")
            .setEnvironment({ OTEL_BSP_MAX_QUEUE_SIZE: "100" })
            .setErrorHandler((error, where) => warnings.push([where, String(error)]))
            .addBatchExporter({ export: () => {} }, { maxQueueSize: 10, maxExportBatchSize: 20 })
            .build(),
        RangeError,
      );
      assert.deepEqual(warnings, []);
    },
  );
  await t.step(
    "a queue smaller than an explicit batch, from the environment: the queue variable is named",
    async () => {
      const { provider, warnings } = fromEnv(
        { OTEL_BSP_MAX_QUEUE_SIZE: "3" },
        (b) => b.addBatchExporter({ export: () => {} }, { maxExportBatchSize: 10 }),
      );
      assert.equal(warnings.length, 1);
      assert.equal(warnings[0]![0], "Environment variable OTEL_BSP_MAX_QUEUE_SIZE");
      await provider.shutdown();
    },
  );
  await t.step(
    "a batch larger than the queue, from the environment: a warning, then clamped",
    async () => {
      const sizes: number[] = [];
      const { provider, source, warnings } = fromEnv(
        { OTEL_BSP_MAX_QUEUE_SIZE: "3", OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "10" },
        (b) => b.addBatchExporter({ export: (a) => void sizes.push(a.length) }),
      );
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]![1], /batch size of 10 with a queue of 3/);
      for (let i = 0; i < 3; i++) source.startActivity("Work")?.stop();
      await provider.shutdown();
      assert.deepEqual(sizes, [3]);
    },
  );
});

Deno.test("env: OTEL_ATTRIBUTE_*, OTEL_SPAN_*, OTEL_EVENT_*, OTEL_LINK_* set the limits", async (t) => {
  const tags = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));
  const link = (n: number) =>
    new ActivityLink(new ActivityContext(newTraceId(), newSpanId()), tags(n));
  await t.step("the general limits apply to activities, events and links", async () => {
    const { provider, source } = fromEnv({
      OTEL_ATTRIBUTE_COUNT_LIMIT: "3",
      OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: "2",
    });
    using activity: Activity = source.startActivity("Work", {
      tags: { ...tags(4), s: "abc" },
      links: [link(5)],
    })!;
    activity.addEvent("e", { tags: tags(6) });
    assert.equal(activity.tags.length, 3);
    assert.equal(activity.droppedTagCount, 2);
    assert.equal(activity.events[0]?.droppedTagCount, 3);
    assert.equal(activity.links[0]?.tags.length, 3);
    activity.setTag("k0", "long");
    assert.equal(activity.getTagItem("k0"), "lo");
    await provider.shutdown();
  });
  await t.step("the specific limits win over the general ones", async () => {
    const { provider, source } = fromEnv({
      OTEL_ATTRIBUTE_COUNT_LIMIT: "3",
      OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: "2",
      OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: "5",
      OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: "4",
      OTEL_SPAN_EVENT_COUNT_LIMIT: "1",
      OTEL_SPAN_LINK_COUNT_LIMIT: "2",
      OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT: "1",
      OTEL_LINK_ATTRIBUTE_COUNT_LIMIT: "4",
    });
    using activity: Activity = source.startActivity("Work", {
      tags: { ...tags(6), s: "abcdef" },
      links: [link(5), link(0), link(0)],
    })!;
    activity.addEvent("one", { tags: tags(3) }).addEvent("two");
    assert.equal(activity.tags.length, 5);
    assert.equal(activity.droppedTagCount, 2);
    assert.equal(activity.events.length, 1);
    assert.equal(activity.droppedEventCount, 1);
    assert.equal(activity.events[0]?.tags.length, 1);
    assert.equal(activity.links.length, 2);
    assert.equal(activity.droppedLinkCount, 1);
    assert.equal(activity.links[0]?.tags.length, 4);
    activity.setTag("k0", "abcdef");
    assert.equal(activity.getTagItem("k0"), "abcd");
    await provider.shutdown();
  });
  await t.step("explicit limits win, key by key", async () => {
    const { provider, source } = fromEnv(
      { OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: "2", OTEL_SPAN_EVENT_COUNT_LIMIT: "1" },
      (b) => b.setLimits({ tagCount: 4 }),
    );
    using activity: Activity = source.startActivity("Work", { tags: tags(6) })!;
    activity.addEvent("one").addEvent("two");
    assert.equal(activity.tags.length, 4);
    assert.equal(activity.events.length, 1);
    await provider.shutdown();
  });
  await t.step("bad values: a warning and the default", async () => {
    const { provider, source, warnings } = fromEnv({
      OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: "-1",
      OTEL_SPAN_EVENT_COUNT_LIMIT: "2.5",
    });
    using activity: Activity = source.startActivity("Work", { tags: tags(130) })!;
    assert.equal(activity.tags.length, 128);
    assert.equal(warnings.length, 2);
    assert.match(warnings[0]![1], /OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT '-1'/);
    await provider.shutdown();
  });
});

Deno.test("env: OTEL_SDK_DISABLED=true makes a provider that records nothing", async () => {
  const { provider, source } = fromEnv({ OTEL_SDK_DISABLED: "TRUE" });
  assert.equal(source.startActivity("Work"), undefined);
  await provider.shutdown();
  const other = fromEnv({ OTEL_SDK_DISABLED: "maybe" });
  assert.ok(other.source.startActivity("Work") !== undefined);
  assert.equal(other.warnings.length, 1);
  await other.provider.shutdown();
});

Deno.test("env: a reader function is asked for the standard names only", async () => {
  const asked: string[] = [];
  const { provider } = fromEnv((name) => {
    asked.push(name);
    return name === "OTEL_SERVICE_NAME" ? "reader" : undefined;
  });
  assert.equal(provider.resource.get("service.name"), "reader");
  assert.ok(asked.length > 0);
  assert.ok(asked.every((name) => name.startsWith("OTEL_")), asked.join());
  assert.ok(asked.includes("OTEL_BSP_MAX_QUEUE_SIZE"));
  // Every standard name but OTEL_TRACES_SAMPLER_ARG, which is read only for a ratio sampler.
  assert.deepEqual([...new Set(asked)].sort(), [
    "OTEL_ATTRIBUTE_COUNT_LIMIT",
    "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
    "OTEL_BSP_EXPORT_TIMEOUT",
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
    "OTEL_BSP_MAX_QUEUE_SIZE",
    "OTEL_BSP_SCHEDULE_DELAY",
    "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT",
    "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT",
    "OTEL_LOG_LEVEL",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_SDK_DISABLED",
    "OTEL_SERVICE_NAME",
    "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT",
    "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT",
    "OTEL_SPAN_EVENT_COUNT_LIMIT",
    "OTEL_SPAN_LINK_COUNT_LIMIT",
    "OTEL_TRACES_SAMPLER",
  ]);
  await provider.shutdown();
});

Deno.test("env: setEnvironment(false) ignores the environment; a bad source is a TypeError", async () => {
  const asked: string[] = [];
  const provider = createTracerProviderBuilder()
    .setEnvironment((name) => {
      asked.push(name);
      return "always_off";
    })
    .setEnvironment(false)
    .build();
  assert.deepEqual(asked, []);
  assert.equal(provider.sampler.description, "ParentBased{root=AlwaysOnSampler}");
  await provider.shutdown();
  assert.throws(() => createTracerProviderBuilder().setEnvironment(42 as never), {
    name: "TypeError",
    message: /Cannot set environment: expected a record, a function or false/,
  });
});

Deno.test("env: the runtime environment is read only where the permission is granted", async () => {
  const deno = Deno as unknown as { env: { get(name: string): string | undefined } };
  const get = mock.method(deno.env, "get");
  try {
    const provider = createTracerProviderBuilder().build();
    await provider.shutdown();
    for (const call of get.mock.calls) {
      const variable = String(call.arguments[0]);
      const state = Deno.permissions.querySync({ name: "env", variable }).state;
      assert.equal(state, "granted", `read ${variable} without the permission`);
    }
  } finally {
    get.mock.restore();
  }
});

const serviceNameGranted =
  (await Deno.permissions.query({ name: "env", variable: "OTEL_SERVICE_NAME" })).state ===
    "granted";

Deno.test({
  name: "env: a granted OTEL_SERVICE_NAME is read from the runtime (--allow-env=OTEL_SERVICE_NAME)",
  ignore: !serviceNameGranted,
  async fn() {
    const before = Deno.env.get("OTEL_SERVICE_NAME");
    Deno.env.set("OTEL_SERVICE_NAME", "granted-service");
    try {
      const provider = createTracerProviderBuilder().build();
      assert.equal(provider.resource.get("service.name"), "granted-service");
      await provider.shutdown();
    } finally {
      if (before === undefined) Deno.env.delete("OTEL_SERVICE_NAME");
      else Deno.env.set("OTEL_SERVICE_NAME", before);
    }
  },
});
