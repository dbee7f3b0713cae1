import assert from "node:assert/strict";
import {
  ActivityContext,
  ActivitySource,
  AlwaysOffSampler,
  createTracerProviderBuilder,
  InMemoryExporter,
  Resource,
  SimpleProcessor,
  TracerProvider,
} from "../mod.ts";

let counter = 0;
function uniqueName(prefix = "ProviderTest"): string {
  return `${prefix}${++counter}`;
}

Deno.test("TracerProviderBuilder.addSource() matches names with wildcards, ignoring case", async (t) => {
  const heard = (pattern: string, name: string): boolean => {
    using _provider = createTracerProviderBuilder().addSource(pattern).build();
    const source = new ActivitySource(name);
    const activity = source.startActivity("Probe");
    activity?.stop();
    source[Symbol.dispose]();
    return activity !== undefined;
  };
  const prefix = uniqueName("Wild");
  const cases: [pattern: string, name: string, expected: boolean][] = [
    [`${prefix}.MyApplication`, `${prefix}.MyApplication`, true],
    [`${prefix}.MyApplication`, `${prefix}.MyApplication2`, false],
    [`${prefix}.MyApplication`, `${prefix.toUpperCase()}.MYAPPLICATION`, true],
    [`${prefix.toLowerCase()}.*`, `${prefix}.Orders`, true],
    [`${prefix}.*`, `${prefix}.`, true],
    [`${prefix}.*`, `${prefix}.Orders.Deep`, true],
    [`${prefix}.*`, `${prefix}X.Orders`, false],
    [`${prefix}.*`, `Other.${prefix}.Orders`, false],
    [`${prefix}*App`, `${prefix}.CoolApp`, true],
    [`${prefix}*App`, `${prefix}.CoolApps`, false],
    [`${prefix}.A+B`, `${prefix}.A+B`, true],
    [`${prefix}.A+B`, `${prefix}.AAB`, false],
    [`${prefix}.(x)?`, `${prefix}.(x)?`, true],
    [`${prefix}.(x)?`, `${prefix}.x`, false],
  ];
  for (const [pattern, name, expected] of cases) {
    await t.step(`"${pattern}" ${expected ? "matches" : "does not match"} "${name}"`, () => {
      assert.equal(heard(pattern, name), expected);
    });
  }
  await t.step("several names, in one call or several", () => {
    const a = uniqueName(), b = uniqueName(), c = uniqueName();
    const exporter = new InMemoryExporter();
    using _provider = createTracerProviderBuilder().addSource(a, b).addSource(c)
      .addInMemoryExporter(exporter).build();
    for (const name of [a, b, c, uniqueName()]) {
      const source = new ActivitySource(name);
      source.startActivity(name)?.stop();
      source[Symbol.dispose]();
    }
    assert.deepEqual(exporter.activities.map((x) => x.displayName), [a, b, c]);
  });
  await t.step("no source added: the provider hears nothing", () => {
    using _provider = createTracerProviderBuilder().build();
    const source = new ActivitySource(uniqueName());
    assert.equal(source.startActivity("Unheard"), undefined);
    source[Symbol.dispose]();
  });
  await t.step("a source made before the provider is heard too", () => {
    const source = new ActivitySource(uniqueName());
    assert.equal(source.startActivity("Before"), undefined);
    using _provider = createTracerProviderBuilder().addSource(source.name).build();
    assert.ok(source.startActivity("After"));
    source[Symbol.dispose]();
  });
});

Deno.test("TracerProviderBuilder.setSampler() with AlwaysOffSampler creates no root", () => {
  const exporter = new InMemoryExporter();
  const name = uniqueName();
  using _provider = createTracerProviderBuilder().addSource(name)
    .setSampler(new AlwaysOffSampler()).addInMemoryExporter(exporter).build();
  const source = new ActivitySource(name);
  // The provider listens: the root is refused by the sampler, not by the source filter.
  assert.equal(source.hasListeners(), true);
  assert.equal(source.startActivity("Root"), undefined);
  // A child of a remote parent is still made, unrecorded, so that its context propagates.
  const parent = ActivityContext.parse("00-5ce4d8ad4926ecdd0084681f46fa38d9-8f9e9441f0789f6e-01");
  const child = source.startActivity("Child", { parent });
  assert.equal(child?.recorded, false);
  child.stop();
  assert.deepEqual(exporter.activities, []);
  source[Symbol.dispose]();
});

Deno.test("TracerProviderBuilder.setLimits() checks the limits", () => {
  const builder = createTracerProviderBuilder();
  assert.throws(() => builder.setLimits({ tags: 1 } as never), {
    name: "TypeError",
    message: "Cannot set limits: unknown limit 'tags'",
  });
  for (const bad of [-1, 1.5, NaN, -Infinity]) {
    assert.throws(() => builder.setLimits({ tagCount: bad }), RangeError, String(bad));
  }
  assert.throws(() => builder.setLimits(null as never), TypeError);
  assert.equal(builder.setLimits({ tagValueLength: Infinity, linkCount: 0 }), builder);
});

Deno.test("TracerProviderBuilder rejects arguments of the wrong shape", () => {
  const b = createTracerProviderBuilder();
  const bad: [string, () => unknown][] = [
    ["empty source name", () => b.addSource("")],
    ["number source name", () => b.addSource(1 as unknown as string)],
    ["processor without onEnd", () => b.addProcessor({} as never)],
    ["exporter without export", () => b.addExporter({} as never)],
    ["in-memory target", () => b.addInMemoryExporter("list" as never)],
    ["console write", () => b.addConsoleExporter({ write: 1 as never })],
    ["sampler", () => b.setSampler({} as never)],
    ["error handler", () => b.setErrorHandler("stderr" as never)],
    ["service name", () => b.setServiceName("")],
    ["resource", () => b.setResource("a=1" as never)],
    ["provider sampler", () => new TracerProvider({ sampler: {} as never })],
    ["provider resource", () => new TracerProvider({ resource: {} as never })],
    ["provider sources", () => new TracerProvider({ sources: [""] })],
    ["provider processors", () => new TracerProvider({ processors: [{}] as never })],
    ["provider onError", () => new TracerProvider({ onError: 1 as never })],
    ["simple processor", () => new SimpleProcessor({} as never)],
  ];
  for (const [what, call] of bad) assert.throws(call, TypeError, what);
});

Deno.test("addResourceDetector() merges detectors between the default resource and the environment", async (t) => {
  await t.step("precedence: default, detectors in order, environment, explicit", async () => {
    const reports: string[] = [];
    await using provider = createTracerProviderBuilder()
      .setEnvironment({ OTEL_RESOURCE_ATTRIBUTES: "zone=env,team=env" })
      .setErrorHandler((error) => reports.push(String(error)))
      .addResourceDetector(() => ({ zone: "first", cloud: "a", team: "first", rack: "r1" }))
      .addResourceDetector(() => new Resource({ cloud: "b", "service.name": "detected" }))
      .setResource({ team: "explicit" })
      .build();
    const resource = provider.resource;
    assert.equal(resource.get("telemetry.sdk.name"), "@tracelinks/activity");
    assert.equal(resource.get("service.name"), "detected");
    assert.equal(resource.get("cloud"), "b");
    assert.equal(resource.get("rack"), "r1");
    assert.equal(resource.get("zone"), "env");
    assert.equal(resource.get("team"), "explicit");
    assert.deepEqual(reports, []);
  });
  await t.step(
    "detectors that throw, return a promise or bad tags are reported and skipped",
    async () => {
      const reports: [string, string, string][] = [];
      await using provider = createTracerProviderBuilder()
        .setEnvironment(false)
        .setErrorHandler((error, where, level) =>
          reports.push([String(error), String(where), String(level)])
        )
        .addResourceDetector(function cloud() {
          throw new Error("metadata server down");
        })
        .addResourceDetector(() => Promise.resolve({ a: 1 }) as never)
        .addResourceDetector(() => 42 as never)
        .addResourceDetector(() => undefined)
        .addResourceDetector(() => ({ kept: true }))
        .build();
      assert.equal(provider.resource.get("kept"), true);
      assert.deepEqual(reports.map(([, where, level]) => [where, level]), [
        ["ResourceDetector cloud", "error"],
        ["ResourceDetector (anonymous)", "error"],
        ["ResourceDetector (anonymous)", "error"],
      ]);
      assert.equal(reports[0]![0], "Error: metadata server down");
      assert.match(
        reports[1]![0],
        /^TypeError: Cannot use a resource detector that returns a promise/,
      );
      assert.match(reports[2]![0], /^TypeError: /);
    },
  );
  await t.step("a detector must be a function", () => {
    assert.throws(
      () => createTracerProviderBuilder().addResourceDetector("cloud" as never),
      { name: "TypeError", message: "Cannot add resource detector: it must be a function" },
    );
  });
});
