import assert from "node:assert/strict";
import { mock } from "node:test";
import {
  type Activity,
  type ActivityExporter,
  type ActivityProcessor,
  ActivitySource,
  BatchProcessor,
  createTracerProviderBuilder,
  InMemoryExporter,
  type ProcessorContext,
  SimpleProcessor,
  type TracerProvider,
  type TracerProviderBuilder,
} from "../mod.ts";

let counter = 0;
function uniqueName(prefix = "ProviderTest"): string {
  return `${prefix}${++counter}`;
}

/** An exporter whose exports finish only when the test says so. */
class SlowExporter implements ActivityExporter {
  readonly exported: string[] = [];
  readonly calls: string[] = [];
  #waiting: (() => void)[] = [];
  export(activities: readonly Activity[]): Promise<void> {
    return new Promise((resolve) => {
      this.#waiting.push(() => {
        for (const a of activities) this.exported.push(a.displayName);
        resolve();
      });
    });
  }
  /** Finishes every export under way, after a timer. */
  finishSoon(): void {
    const waiting = this.#waiting;
    this.#waiting = [];
    setTimeout(() => waiting.forEach((finish) => finish()), 5);
  }
  forceFlush(): void {
    this.calls.push("forceFlush");
  }
  shutdown(): void {
    this.calls.push("shutdown");
  }
}

Deno.test("TracerProvider.shutdown() is idempotent and loses nothing stopped before it", async () => {
  const exporter = new SlowExporter();
  const name = uniqueName();
  const provider = createTracerProviderBuilder().addSource(name).addExporter(exporter).build();
  const source = new ActivitySource(name);
  source.startActivity("Before")?.stop();
  const running = source.startActivity("Running")!;
  const first = provider.shutdown();
  const second = provider.shutdown();
  assert.equal(first, second);
  assert.equal(provider.isShutdown, true);
  running.stop(); // stopped after shutdown: not exported
  assert.equal(source.startActivity("After"), undefined);
  let settled = false;
  first.then(() => settled = true);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(settled, false); // still waiting for the export of "Before"
  exporter.finishSoon();
  await first;
  assert.deepEqual(exporter.exported, ["Before"]);
  assert.deepEqual(exporter.calls, ["forceFlush", "shutdown"]);
  await provider.shutdown();
  assert.deepEqual(exporter.calls, ["forceFlush", "shutdown"]);
  source[Symbol.dispose]();
});

Deno.test("TracerProvider.forceFlush() waits for asynchronous exports", async () => {
  const exporter = new SlowExporter();
  const name = uniqueName();
  await using provider = createTracerProviderBuilder().addSource(name).addExporter(exporter)
    .build();
  const source = new ActivitySource(name);
  source.startActivity("One")?.stop();
  source.startActivity("Two")?.stop();
  assert.deepEqual(exporter.exported, []);
  const flushed = provider.forceFlush();
  exporter.finishSoon();
  await flushed;
  assert.deepEqual(exporter.exported, ["One", "Two"]);
  assert.deepEqual(exporter.calls, ["forceFlush"]);
  assert.equal(provider.isShutdown, false);
  source[Symbol.dispose]();
});

Deno.test("TracerProvider works with `await using` and `using`", async (t) => {
  await t.step("await using waits for the shutdown of asynchronous exporters", async () => {
    const exporter = new SlowExporter();
    const name = uniqueName();
    const source = new ActivitySource(name);
    let kept: TracerProvider | undefined;
    {
      await using provider = createTracerProviderBuilder().addSource(name).addExporter(exporter)
        .build();
      kept = provider;
      source.startActivity("Inside")?.stop();
      exporter.finishSoon();
    }
    assert.equal(kept.isShutdown, true);
    assert.deepEqual(exporter.exported, ["Inside"]);
    assert.deepEqual(exporter.calls, ["forceFlush", "shutdown"]);
    source[Symbol.dispose]();
  });
  await t.step("using: a synchronous exporter has written everything", () => {
    const written: string[] = [];
    const name = uniqueName();
    const source = new ActivitySource(name);
    {
      using _provider = createTracerProviderBuilder().addSource(name)
        .addConsoleExporter({ write: (text) => written.push(text) }).build();
      source.startActivity("Inside")?.stop();
    }
    assert.equal(written.length, 1);
    assert.equal(source.startActivity("Outside"), undefined);
    source[Symbol.dispose]();
  });
});

Deno.test("TracerProvider hands processors what they should see", async (t) => {
  await t.step("register, onStart and onEnd, for activities with all data only", () => {
    const events: string[] = [];
    let context: ProcessorContext | undefined;
    const processor: ActivityProcessor = {
      register: (c) => context = c,
      onStart: (a) => events.push(`start ${a.displayName}`),
      onEnd: (a) => events.push(`end ${a.displayName} recorded=${a.recorded}`),
    };
    const name = uniqueName();
    using _provider = createTracerProviderBuilder()
      .addSource(name)
      .addProcessor(processor)
      .setResource({ "service.name": "svc" })
      .setSampler({
        description: "ByName",
        shouldSample: (o) => ({
          decision: o.name === "Drop"
            ? "drop"
            : o.name === "Keep"
            ? "recordOnly"
            : "recordAndSample",
        }),
      })
      .build();
    assert.equal(context?.resource.get("service.name"), "svc");
    const source = new ActivitySource(name);
    for (const n of ["Drop", "Keep", "Record"]) source.startActivity(n, { root: true })?.stop();
    assert.deepEqual(events, [
      "start Keep",
      "end Keep recorded=false",
      "start Record",
      "end Record recorded=true",
    ]);
    source[Symbol.dispose]();
  });
  await t.step("several processors each receive the activity, in order", () => {
    const order: string[] = [];
    const name = uniqueName();
    using _provider = createTracerProviderBuilder()
      .addSource(name)
      .addProcessor({ onEnd: () => order.push("first") })
      .addProcessor({ onEnd: () => order.push("second") })
      .build();
    const source = new ActivitySource(name);
    source.startActivity("Work")?.stop();
    assert.deepEqual(order, ["first", "second"]);
    source[Symbol.dispose]();
  });
  await t.step("two providers on one source both export", () => {
    const name = uniqueName();
    const a = new InMemoryExporter(), b = new InMemoryExporter();
    using _pa = createTracerProviderBuilder().addSource(name).addInMemoryExporter(a).build();
    using _pb = createTracerProviderBuilder().addSource(name).addInMemoryExporter(b).build();
    const source = new ActivitySource(name);
    source.startActivity("Shared")?.stop();
    assert.deepEqual([a.activities.length, b.activities.length], [1, 1]);
    assert.equal(a.activities[0], b.activities[0]);
    source[Symbol.dispose]();
  });
});

Deno.test("TracerProvider reports each failing party once and goes on", async (t) => {
  await t.step("a processor that throws", () => {
    const reported: string[] = [];
    const memory = new InMemoryExporter();
    const name = uniqueName();
    using _provider = createTracerProviderBuilder()
      .addSource(name)
      .addProcessor({
        onStart: () => {
          throw new Error("start broke");
        },
        onEnd: () => {
          throw new Error("end broke");
        },
      })
      .addInMemoryExporter(memory)
      .setErrorHandler((error, where) => reported.push(`${where}: ${(error as Error).message}`))
      .build();
    const source = new ActivitySource(name);
    source.startActivity("One")?.stop();
    source.startActivity("Two")?.stop();
    assert.equal(memory.activities.length, 2);
    assert.equal(reported.length, 1);
    assert.match(reported[0]!, /ActivityProcessor\.onStart.*start broke/);
    source[Symbol.dispose]();
  });
  await t.step("an exporter that rejects; the failures are counted", async () => {
    const reported: unknown[] = [];
    const processor = new SimpleProcessor({
      export: () => Promise.reject(new Error("network down")),
    });
    const name = uniqueName();
    const provider = createTracerProviderBuilder()
      .addSource(name)
      .addProcessor(processor)
      .setErrorHandler((error) => reported.push(error))
      .build();
    const source = new ActivitySource(name);
    source.startActivity("One")?.stop();
    source.startActivity("Two")?.stop();
    await provider.forceFlush();
    assert.equal(processor.failedExportCount, 2);
    assert.equal(reported.length, 1);
    assert.equal((reported[0] as Error).message, "network down");
    await provider.shutdown();
    source[Symbol.dispose]();
  });
  await t.step("an exporter whose flush and shutdown throw: both promises resolve", async () => {
    const reported: unknown[] = [];
    const name = uniqueName();
    const provider = createTracerProviderBuilder()
      .addSource(name)
      .addExporter({
        export: () => {},
        forceFlush: () => {
          throw new Error("flush broke");
        },
        shutdown: () => Promise.reject(new Error("shutdown broke")),
      })
      .setErrorHandler((error) => reported.push(error))
      .build();
    await provider.forceFlush();
    await provider.shutdown();
    assert.equal(reported.length, 1); // the same exporter: reported once
  });
  await t.step("an error handler that throws falls back to stderr", () => {
    const errors = mock.method(console, "error", () => {});
    try {
      const name = uniqueName();
      using _provider = createTracerProviderBuilder()
        .addSource(name)
        .addConsoleExporter({
          write: () => {
            throw new Error("write broke");
          },
        })
        .setErrorHandler(() => {
          throw new Error("handler broke");
        })
        .build();
      const source = new ActivitySource(name);
      source.startActivity("Work")?.stop();
      assert.equal(errors.mock.callCount(), 1);
      assert.match(String(errors.mock.calls[0]?.arguments[0]), /write broke/);
      source[Symbol.dispose]();
    } finally {
      errors.mock.restore();
    }
  });
});

Deno.test("TracerProvider hands activities stopped after shutdown to its processors to count", async () => {
  const name = uniqueName();
  const exporter = new InMemoryExporter();
  const batch = new BatchProcessor(exporter);
  const provider = createTracerProviderBuilder().addSource(name).addProcessor(batch)
    .setEnvironment(false).build();
  const source = new ActivitySource(name);
  source.startActivity("Before")?.stop();
  const running = source.startActivity("Running")!;
  const done = provider.shutdown();
  running.stop(); // in flight at shutdown: not exported, but counted, not lost silently
  await done;
  assert.deepEqual(exporter.activities.map((a) => a.displayName), ["Before"]);
  assert.equal(batch.droppedByReason.afterShutdown, 1);
  assert.equal(batch.droppedCount, 1);
});

Deno.test("TracerProvider without limits keeps the default limits beside a stricter provider", async () => {
  const name = uniqueName();
  const strict = new InMemoryExporter();
  const plain = new InMemoryExporter();
  await using _strict = createTracerProviderBuilder().addSource(name).addInMemoryExporter(strict)
    .setLimits({ tagCount: 2 }).setEnvironment(false).build();
  await using _plain = createTracerProviderBuilder().addSource(name).addInMemoryExporter(plain)
    .setEnvironment(false).build();
  const source = new ActivitySource(name);
  source.startActivity("Work", { tags: { a: 1, b: 2, c: 3, d: 4 } })?.stop();
  // An activity keeps the most generous limits of its listeners: the plain provider's
  // default of 128 tags, not the other provider's 2.
  assert.equal(plain.activities[0]?.tags.length, 4);
  assert.equal(plain.activities[0]?.droppedTagCount, 0);
});

Deno.test("TracerProvider counts a sampler that throws as drop, also for a root", () => {
  const name = uniqueName();
  const exporter = new InMemoryExporter();
  const reports: string[] = [];
  using _provider = createTracerProviderBuilder().addSource(name).addInMemoryExporter(exporter)
    .setEnvironment(false).setErrorHandler((_error, where) => reports.push(where))
    .setSampler({
      description: "Broken",
      shouldSample: (o) => {
        if (o.parent === undefined) throw new Error("broken");
        return { decision: "recordAndSample" };
      },
    }).build();
  const source = new ActivitySource(name);
  // As a drop: the root is made, unrecorded, so its context still propagates and a child
  // shares its trace instead of starting one of its own.
  const child = source.startActiveActivity("Root", (root) => {
    assert.ok(root !== undefined);
    assert.equal(root.recorded, false);
    const child = source.startActivity("Child")!;
    child.stop();
    assert.equal(child.traceId, root.traceId);
    return child;
  });
  assert.equal(child.parentSpanId !== undefined, true);
  assert.deepEqual(reports, ["Sampler Broken"]);
});

Deno.test("TracerProvider counts a malformed sampling result as drop and reports it to its handler", () => {
  const name = uniqueName();
  const reports: string[] = [];
  const answers: unknown[] = [undefined, { decision: "recordAndSample", tags: 5 }];
  let call = 0;
  using _provider = createTracerProviderBuilder().addSource(name).setEnvironment(false)
    .setErrorHandler((_error, where) => reports.push(where))
    .setSampler({ description: "Malformed", shouldSample: () => answers[call++] as never })
    .build();
  const source = new ActivitySource(name);
  using first = source.startActivity("First");
  using second = source.startActivity("Second", { root: true });
  assert.deepEqual([first?.recorded, second?.recorded], [false, false]);
  assert.deepEqual([first?.isAllDataRequested, second?.isAllDataRequested], [false, false]);
  assert.deepEqual(reports, ["Sampler Malformed"]);
});

/** Settles with "done" or, if `promise` has not settled after 5 s, "still pending". */
async function within5s(promise: Promise<unknown>): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const guard = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve("still pending"), 5000);
  });
  try {
    return await Promise.race([promise.then(() => "done"), guard]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("TracerProvider.shutdown() stops waiting for a processor that never finishes, and says so once", async () => {
  const reports: [string, string, string | undefined][] = [];
  let stuckCalls = 0;
  const stuck: ActivityProcessor = {
    onEnd() {},
    forceFlush: () => new Promise<void>(() => {}),
    shutdown: () => {
      stuckCalls++;
      return new Promise<void>(() => {});
    },
  };
  const memory = new InMemoryExporter();
  const name = uniqueName();
  const provider = createTracerProviderBuilder().addSource(name).addProcessor(stuck)
    .addInMemoryExporter(memory)
    .setErrorHandler((error, where, level) =>
      reports.push([where, (error as Error).message, level])
    )
    .build();
  const source = new ActivitySource(name);
  source.startActivity("Work")?.stop();
  assert.equal(await within5s(provider.forceFlush({ timeoutMillis: 20 })), "done");
  assert.equal(await within5s(provider.shutdown({ timeoutMillis: 20 })), "done");
  assert.equal(stuckCalls, 1);
  assert.equal(memory.activities.length, 1); // the other processor still did its work
  assert.deepEqual(reports, [
    [
      "TracerProvider.forceFlush",
      "Object.forceFlush() did not finish within 20 ms; the provider no longer waits for it",
      "warn",
    ],
  ]);
  // A second shutdown returns the first one's promise.
  assert.equal(await within5s(provider.shutdown()), "done");
  source[Symbol.dispose]();
});

Deno.test("TracerProvider.shutdown() gives a hanging simple exporter up at the timeout", async () => {
  const reports: [string, string][] = [];
  const calls: string[] = [];
  const exporter: ActivityExporter = {
    export: () => new Promise<void>(() => {}),
    forceFlush: () => void calls.push("forceFlush"),
    shutdown: (options) => void calls.push(`shutdown ${JSON.stringify(options)}`),
  };
  const name = uniqueName();
  const provider = createTracerProviderBuilder().addSource(name).addExporter(exporter)
    .setErrorHandler((error, where) => reports.push([where, (error as Error).message]))
    .setFlushTimeout(30)
    .build();
  assert.equal(provider.flushTimeoutMillis, 30);
  const source = new ActivitySource(name);
  source.startActivity("One")?.stop();
  source.startActivity("Two")?.stop();
  assert.equal(await within5s(provider.shutdown()), "done");
  assert.deepEqual(reports, [[
    "SimpleProcessor.shutdown",
    "Shutdown gave up after 30 ms: 2 exports still under way are abandoned",
  ]]);
  // The exporter is not flushed (its exports have not ended), but shut down with no time left.
  assert.deepEqual(calls, ['shutdown {"timeoutMillis":0}']);
  source[Symbol.dispose]();
});

Deno.test("TracerProvider flush timeouts: 30 s by default; bad values are errors", async () => {
  const provider = createTracerProviderBuilder().build();
  assert.equal(provider.flushTimeoutMillis, 30_000);
  assert.throws(() => provider.forceFlush({ timeoutMillis: -1 }), {
    name: "RangeError",
    message:
      "Cannot flush TracerProvider: timeoutMillis must be from 0 to 2147483647 or Infinity, got -1",
  });
  assert.throws(() => provider.shutdown({ timeoutMillis: "5" as never }), {
    name: "TypeError",
    message: "Cannot shut down TracerProvider: timeoutMillis must be a number, got string",
  });
  assert.throws(() => createTracerProviderBuilder().setFlushTimeout(NaN), {
    name: "RangeError",
    message:
      /^Cannot set flush timeout: timeoutMillis must be from 0 to 2147483647 or Infinity, got NaN$/,
  });
  const unbounded = createTracerProviderBuilder().setFlushTimeout(Infinity).build();
  assert.equal(unbounded.flushTimeoutMillis, Infinity);
  await unbounded.shutdown();
  await provider.shutdown({ timeoutMillis: Infinity });
});

Deno.test("TracerProvider with OTEL_LOG_LEVEL=debug says when it records nothing for want of a source", async (t) => {
  const build = (env: Record<string, string>, configure = (b: TracerProviderBuilder) => b) => {
    const reports: [string, string, string | undefined][] = [];
    const provider = configure(
      createTracerProviderBuilder().setEnvironment(env)
        .setErrorHandler((error, where, level) =>
          reports.push([where, (error as Error).message, level])
        ),
    ).build();
    return { provider, reports };
  };
  const noSource =
    "The provider listens to no source, so it records nothing: add sources with addSource(name)";

  await t.step("no source: at build", async () => {
    const { provider, reports } = build({ OTEL_LOG_LEVEL: "debug" });
    assert.deepEqual(reports, [["TracerProvider", noSource, "debug"]]);
    await provider.shutdown();
  });

  await t.step("OTEL_SDK_DISABLED: at build", async () => {
    const { provider, reports } = build(
      { OTEL_LOG_LEVEL: "DEBUG", OTEL_SDK_DISABLED: "true" },
      (b) => b.addSource("App"),
    );
    assert.deepEqual(reports, [
      [
        "Environment variable OTEL_SDK_DISABLED",
        "OTEL_SDK_DISABLED is true: the provider listens to no source",
        "debug",
      ],
      ["TracerProvider", noSource, "debug"],
    ]);
    await provider.shutdown();
  });

  await t.step("patterns that match no source made in the first 5 s", async () => {
    mock.timers.enable({ apis: ["setTimeout"] });
    try {
      const prefix = uniqueName("Debug");
      const before = new ActivitySource(`${prefix}.Other`);
      const { provider, reports } = build(
        { OTEL_LOG_LEVEL: "verbose" },
        (b) => b.addSource(`${prefix}.Orders.*`, `${prefix}.Shop`),
      );
      const after = new ActivitySource(`${prefix}.Order`);
      mock.timers.tick(4999);
      assert.deepEqual(reports, []);
      mock.timers.tick(1);
      // Sources of other tests may be alive too: those made here are among those listed.
      assert.equal(reports.length, 1);
      // (deepEqual above narrowed the type to an empty list)
      const [where, message, level] = (reports as [string, string, string][])[0]!;
      assert.equal(where, "TracerProvider");
      assert.equal(level, "debug");
      assert.ok(
        message.startsWith(
          `No source matched the provider's sources ("${prefix}.Orders.*", "${prefix}.Shop") in its first 5 s, so it has recorded nothing; sources seen: `,
        ),
        message,
      );
      assert.ok(message.includes(`"${prefix}.Other", "${prefix}.Order"`), message);
      await provider.shutdown();
      assert.equal(reports.length, 1);
      before[Symbol.dispose]();
      after[Symbol.dispose]();
    } finally {
      mock.timers.reset();
    }
  });

  await t.step(
    "a matching source, or a shutdown before any: said at most once, at shutdown",
    async () => {
      const prefix = uniqueName("Debug");
      const matched = build({ OTEL_LOG_LEVEL: "debug" }, (b) => b.addSource(`${prefix}.A`));
      const source = new ActivitySource(`${prefix}.A`); // alive: the next provider sees it too
      await matched.provider.shutdown();
      assert.deepEqual(matched.reports, []);
      const unmatched = build({ OTEL_LOG_LEVEL: "debug" }, (b) => b.addSource(`${prefix}.B`));
      await unmatched.provider.shutdown();
      assert.equal(unmatched.reports.length, 1);
      const message = unmatched.reports[0]![1];
      assert.ok(
        message.startsWith(
          `No source matched the provider's sources ("${prefix}.B") before it was shut down, so it has recorded nothing; sources seen: `,
        ),
        message,
      );
      assert.ok(message.endsWith(`"${prefix}.A"`), message); // (with sources of other tests)
      source[Symbol.dispose]();
    },
  );

  await t.step("without debug, nothing", async () => {
    const { provider, reports } = build({});
    await provider.shutdown();
    assert.deepEqual(reports, []);
  });
});

Deno.test("TracerProvider log levels: OTEL_LOG_LEVEL or setLogLevel() choose which reports reach the handler", async (t) => {
  const failing: ActivityExporter = {
    export() {
      throw new Error("Down");
    },
  };
  const run = async (env: Record<string, string>, level?: "none" | "error" | "warn" | "debug") => {
    const name = uniqueName();
    const reports: string[] = [];
    const builder = createTracerProviderBuilder().addSource(name)
      .setEnvironment({ OTEL_TRACES_SAMPLER: "sometimes", ...env })
      .setErrorHandler((_e, where, level) => reports.push(`${level} ${where}`))
      .addExporter(failing);
    if (level !== undefined) builder.setLogLevel(level);
    const provider = builder.build();
    const source = new ActivitySource(name);
    source.startActivity("Work")?.stop();
    await provider.shutdown();
    source[Symbol.dispose]();
    return reports;
  };
  const warning = "warn Environment variable OTEL_TRACES_SAMPLER";
  const failure = "error Exporter Object";
  await t.step("default (info): errors and warnings", async () => {
    assert.deepEqual(await run({}), [warning, failure]);
  });
  await t.step("error: errors only", async () => {
    assert.deepEqual(await run({ OTEL_LOG_LEVEL: "error" }), [failure]);
  });
  await t.step("none: nothing", async () => {
    assert.deepEqual(await run({ OTEL_LOG_LEVEL: "none" }), []);
  });
  await t.step("setLogLevel() wins over OTEL_LOG_LEVEL", async () => {
    assert.deepEqual(await run({ OTEL_LOG_LEVEL: "none" }, "warn"), [warning, failure]);
  });
  await t.step("an unknown OTEL_LOG_LEVEL is a warning; info applies", async () => {
    assert.deepEqual(await run({ OTEL_LOG_LEVEL: "loud" }), [
      "warn Environment variable OTEL_LOG_LEVEL",
      warning,
      failure,
    ]);
  });
  await t.step("a bad level is a TypeError", () => {
    assert.throws(() => createTracerProviderBuilder().setLogLevel("all" as never), {
      name: "TypeError",
      message: "Cannot set log level: expected one of none, error, warn, info, debug, got all",
    });
  });
});
