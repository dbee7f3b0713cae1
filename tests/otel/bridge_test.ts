// The OpenTelemetry API bridge: spans made through @opentelemetry/api 1.x are activities, field
// by field, in one context with activities.
import assert from "node:assert/strict";
import * as api from "npm:@opentelemetry/api@1.9.1";
import {
  Activity,
  ActivityContext,
  ActivityLink,
  ActivitySource,
  B3Propagator,
  createTracerProviderBuilder,
  getDefaultPropagator,
  InMemoryExporter,
  setDefaultPropagator,
  type StartActivityOptions,
} from "../../mod.ts";
import { registerOpenTelemetry } from "../../otel/mod.ts";

const REMOTE = {
  traceId: "0af7651916cd43dd8448eb211c80319c",
  spanId: "b7ad6b7169203331",
  traceFlags: 1,
  isRemote: true,
};

function setup(sampler?: "off" | "propagation") {
  const exporter = new InMemoryExporter();
  const builder = createTracerProviderBuilder().addSource("*").addInMemoryExporter(exporter);
  if (sampler === "off") {
    builder.setSampler({ shouldSample: () => ({ decision: "drop" }), description: "Off" });
  }
  const provider = builder.build();
  const otel = registerOpenTelemetry(api);
  const tracer = api.trace.getTracer("lib", "1.2.3");
  const source = new ActivitySource("App");
  return {
    exporter,
    tracer,
    source,
    [Symbol.dispose]() {
      otel.unregister();
      provider.shutdown();
      source[Symbol.dispose]();
    },
  };
}

Deno.test("registerOpenTelemetry() installs the three globals and unregisters them", () => {
  {
    using s = setup();
    assert.equal(s.tracer.startSpan("x").isRecording(), true);
  }
  // After unregister the API is back to its no-op tracer.
  assert.equal(api.trace.getTracer("lib").startSpan("x").isRecording(), false);
});

Deno.test("registerOpenTelemetry() throws a TypeError for something that is not the API", () => {
  assert.throws(
    () => registerOpenTelemetry({} as never),
    /^TypeError: Cannot register OpenTelemetry: expected the @opentelemetry\/api module object/,
  );
});

Deno.test("Tracer.startSpan() makes an activity on a source named after the tracer", () => {
  using s = setup();
  const span = s.tracer.startSpan("work", {
    kind: api.SpanKind.PRODUCER,
    attributes: { s: "x", n: 1.5, i: 2, b: true, as: ["a", "b"], an: [1, 2], ab: [true, false] },
  });
  span.end();
  const [a] = s.exporter.activities;
  assert.equal(a?.source.name, "lib");
  assert.equal(a?.source.version, "1.2.3");
  assert.equal(a?.kind, "producer");
  assert.deepEqual(a?.tags, [
    ["s", "x"],
    ["n", 1.5],
    ["i", 2],
    ["b", true],
    ["as", ["a", "b"]],
    ["an", [1, 2]],
    ["ab", [true, false]],
  ]);
});

Deno.test("Tracer.startSpan() maps every SpanKind", () => {
  using s = setup();
  for (const kind of [0, 1, 2, 3, 4]) s.tracer.startSpan("k", { kind }).end();
  assert.deepEqual(
    s.exporter.activities.map((a) => a.kind),
    ["internal", "server", "client", "producer", "consumer"],
  );
});

Deno.test("Span methods map to the activity's, as OpenTelemetry's SDK records them", () => {
  using s = setup();
  const span = s.tracer.startSpan("before", { startTime: [1_699_999_999, 0] });
  const linked = { traceId: REMOTE.traceId, spanId: REMOTE.spanId, traceFlags: 1 };
  span.setAttribute("k", "v").setAttribute("gone", undefined as never).setAttributes({ m: 1 });
  span.addEvent("plain").addEvent("with", { e: 1 }).addEvent("at", new Date(1_700_000_000_000));
  span.addEvent("attrs and time", { e: 2 }, [1_700_000_000, 500_000_000]);
  span.addLink({ context: linked, attributes: { why: "x" } });
  span.addLinks([{ context: linked }, { context: api.INVALID_SPAN_CONTEXT }]);
  span.recordException("text only");
  const error = new TypeError("bad");
  span.recordException(error);
  span.recordException(Object.assign(new Error("coded"), { code: "E42" }));
  span.updateName("after");
  span.setStatus({ code: api.SpanStatusCode.ERROR, message: "failed" });
  assert.equal(span.isRecording(), true);
  span.end([1_700_000_001, 0]);
  assert.equal(span.isRecording(), false);
  span.setAttribute("late", 1); // ignored once ended
  const [a] = s.exporter.activities;
  assert.equal(a?.displayName, "after");
  assert.equal(a?.operationName, "before");
  assert.deepEqual(a?.tags, [["k", "v"], ["m", 1]]);
  assert.deepEqual(a?.events.map((e) => [e.name, e.tags]), [
    ["plain", []],
    ["with", [["e", 1]]],
    ["at", []],
    ["attrs and time", [["e", 2]]],
    ["exception", [["exception.message", "text only"]]],
    ["exception", [
      ["exception.type", "TypeError"],
      ["exception.message", "bad"],
      ["exception.stacktrace", error.stack],
    ]],
    ["exception", [
      ["exception.type", "E42"],
      ["exception.message", "coded"],
      ["exception.stacktrace", a?.events[6]?.tags[2]?.[1]],
    ]],
  ]);
  assert.equal(a?.events[2]?.timeUnixNano, 1_700_000_000_000_000_000n);
  assert.equal(a?.events[3]?.timeUnixNano, 1_700_000_000_500_000_000n);
  assert.deepEqual(a?.links.map((l) => [l.context.spanId, l.tags]), [
    [REMOTE.spanId, [["why", "x"]]],
    [REMOTE.spanId, []],
  ]);
  assert.equal(a?.status, "error");
  assert.equal(a?.statusDescription, "failed");
  assert.equal(a?.endTimeUnixNano, 1_700_000_001_000_000_000n);
});

Deno.test("Span.setStatus() keeps Ok final and ignores Unset", () => {
  using s = setup();
  const ok = s.tracer.startSpan("ok");
  ok.setStatus({ code: api.SpanStatusCode.OK, message: "dropped" });
  ok.setStatus({ code: api.SpanStatusCode.ERROR, message: "ignored" });
  ok.end();
  const unset = s.tracer.startSpan("unset");
  unset.setStatus({ code: api.SpanStatusCode.ERROR, message: "kept" });
  unset.setStatus({ code: api.SpanStatusCode.UNSET });
  unset.end();
  assert.deepEqual(
    s.exporter.activities.map((a) => [a.status, a.statusDescription]),
    [["ok", undefined], ["error", "kept"]],
  );
});

Deno.test("Span.end() reads every TimeInput form as OpenTelemetry JS does", () => {
  using s = setup();
  const epochMs = 1_700_000_000_123;
  const perfMs = performance.now() - 5; // a performance time: ms since timeOrigin
  const cases: [api.TimeInput, bigint][] = [
    [epochMs, 1_700_000_000_123_000_000n],
    [new Date(epochMs), 1_700_000_000_123_000_000n],
    [[1_700_000_000, 123_000_000], 1_700_000_000_123_000_000n],
    [perfMs, BigInt(Math.round((performance.timeOrigin + perfMs) * 1e4)) * 100n],
  ];
  for (const [time] of cases) {
    s.tracer.startSpan("t", { startTime: [1_600_000_000, 0] }).end(time);
  }
  const ends = s.exporter.activities.map((a) => a.endTimeUnixNano!);
  for (let i = 0; i < 3; i++) assert.equal(ends[i], cases[i]![1]);
  // A performance time is placed after performance.timeOrigin, within the 100 ns tick.
  assert.ok(ends[3]! - cases[3]![1] < 1_000n && cases[3]![1] - ends[3]! < 1_000n);
  assert.equal(s.exporter.activities[0]?.startTimeUnixNano, 1_600_000_000_000_000_000n);
});

Deno.test("Span.spanContext() carries flags, a TraceState and isRemote false", () => {
  using s = setup();
  const parent = api.trace.wrapSpanContext({
    ...REMOTE,
    traceState: api.createTraceState("rojo=1,congo=2"),
  });
  const span = s.tracer.startSpan("child", {}, api.trace.setSpan(api.ROOT_CONTEXT, parent));
  const sc = span.spanContext();
  assert.equal(sc.traceId, REMOTE.traceId);
  assert.equal(sc.traceFlags & api.TraceFlags.SAMPLED, api.TraceFlags.SAMPLED);
  assert.equal(sc.isRemote, false);
  assert.equal(sc.traceState?.serialize(), "rojo=1,congo=2");
  assert.equal(sc.traceState?.get("congo"), "2");
  assert.equal(sc.traceState?.set("congo", "3").serialize(), "congo=3,rojo=1");
  assert.equal(sc.traceState?.unset("rojo").serialize(), "congo=2");
  assert.equal(sc.traceState?.serialize(), "rojo=1,congo=2"); // immutable
  assert.equal(span.spanContext(), sc); // the same object while nothing changes
  span.end();
  const [a] = s.exporter.activities;
  assert.equal(a?.parentSpanId, REMOTE.spanId);
  assert.equal(a?.hasRemoteParent, true);
});

Deno.test("Tracer.startSpan() sampled out gives a non-recording span with a valid context", () => {
  using s = setup("off");
  const span = s.tracer.startSpan("dropped");
  assert.equal(span.isRecording(), false);
  assert.ok(api.isSpanContextValid(span.spanContext()));
  assert.equal(span.spanContext().traceFlags & 1, 0);
  span.end();
  assert.equal(s.exporter.activities.length, 0);
});

Deno.test("Tracer.startSpan() with nothing listening propagates the parent's context", () => {
  const otel = registerOpenTelemetry(api);
  try {
    const tracer = api.trace.getTracer("nobody-listens");
    const parent = api.trace.wrapSpanContext(REMOTE);
    const ctx = api.trace.setSpan(api.ROOT_CONTEXT, parent);
    const span = tracer.startSpan("child", {}, ctx);
    assert.equal(span.isRecording(), false);
    assert.deepEqual(span.spanContext(), REMOTE);
    const inside = api.context.with(ctx, () => tracer.startSpan("implicit").spanContext());
    assert.deepEqual(inside, REMOTE);
    assert.equal(api.isSpanContextValid(tracer.startSpan("root").spanContext()), false);
  } finally {
    otel.unregister();
  }
});

Deno.test("context: getActiveSpan() inside an activity is its span view, the same each time", () => {
  using s = setup();
  s.source.startActiveActivity("Outer", (outer) => {
    const span = api.trace.getActiveSpan();
    assert.equal(span?.spanContext().spanId, outer?.spanId);
    assert.equal(api.trace.getActiveSpan(), span);
    assert.equal(api.context.active(), api.context.active());
  });
  assert.equal(api.trace.getActiveSpan(), undefined);
});

Deno.test("context: activities and spans nest both ways, through await, timers and concurrency", async () => {
  using s = setup();
  const results = await Promise.all(
    ["a", "b"].map((name) =>
      s.tracer.startActiveSpan(`span ${name}`, async (span) => {
        await new Promise((resolve) => setTimeout(resolve, 2));
        assert.equal(Activity.current?.spanId, span.spanContext().spanId);
        const inner = await s.source.startActiveActivity(`activity ${name}`, async (activity) => {
          await Promise.resolve();
          const child = s.tracer.startSpan(`grandchild ${name}`);
          child.end();
          return [activity, child.spanContext().spanId] as const;
        });
        span.end();
        return [span.spanContext(), inner] as const;
      })
    ),
  );
  const byName = new Map(s.exporter.activities.map((a) => [a.displayName, a]));
  for (const [i, name] of ["a", "b"].entries()) {
    const [spanContext, [activity]] = results[i]!;
    assert.equal(activity?.parentSpanId, spanContext.spanId);
    assert.equal(byName.get(`grandchild ${name}`)?.parentSpanId, activity?.spanId);
    assert.equal(byName.get(`span ${name}`)?.parentSpanId, undefined);
  }
  assert.equal(Activity.current, undefined);
});

Deno.test("context: context.with(ROOT_CONTEXT) gives no parent; other keys are kept", () => {
  using s = setup();
  const key = api.createContextKey("custom");
  s.source.startActiveActivity("Outer", () => {
    api.context.with(api.ROOT_CONTEXT, () => {
      assert.equal(Activity.current, undefined);
      assert.equal(s.source.startActivity("Root")?.parentSpanId, undefined);
    });
    const withKey = api.context.active().setValue(key, "kept");
    api.context.with(withKey, () => {
      assert.equal(Activity.current?.displayName, "Outer");
      s.source.startActiveActivity("Inner", (inner) => {
        assert.equal(api.context.active().getValue(key), "kept");
        assert.equal(api.trace.getActiveSpan()?.spanContext().spanId, inner?.spanId);
      });
      s.tracer.startActiveSpan("Span", (span) => {
        assert.equal(api.context.active().getValue(key), "kept");
        span.end();
      });
    });
  });
});

Deno.test("context: an activity started under a wrapSpanContext span is its child", () => {
  using s = setup();
  const ctx = api.trace.setSpan(api.context.active(), api.trace.wrapSpanContext(REMOTE));
  const child = api.context.with(ctx, () => s.source.startActivity("Child"));
  child?.stop();
  assert.equal(child?.traceId, REMOTE.traceId);
  assert.equal(child?.parentSpanId, REMOTE.spanId);
  assert.equal(child?.hasRemoteParent, true);
});

Deno.test("propagation: api.propagation follows the process's propagator (B3 only, no baggage)", () => {
  using s = setup();
  const before = getDefaultPropagator();
  setDefaultPropagator(new B3Propagator());
  try {
    s.source.startActiveActivity("Call", (activity) => {
      activity?.addBaggage("from", "activity");
      const headers: Record<string, string> = {};
      api.propagation.inject(api.context.active(), headers);
      assert.deepEqual(headers, { b3: `${activity?.traceId}-${activity?.spanId}-1` });
      const ctx = api.propagation.extract(api.ROOT_CONTEXT, {
        b3: `${REMOTE.traceId}-${REMOTE.spanId}-1`,
        traceparent: `00-${"1".repeat(32)}-${"2".repeat(16)}-01`,
        baggage: "k=v",
      });
      assert.equal(api.trace.getSpanContext(ctx)?.spanId, REMOTE.spanId);
      assert.equal(api.propagation.getBaggage(ctx), undefined);
    });
    assert.deepEqual(api.propagation.fields(), ["b3"]);
  } finally {
    setDefaultPropagator(before);
  }
});

Deno.test("propagation: inject and extract use W3C Trace Context and Baggage, both ways", () => {
  using s = setup();
  s.source.startActiveActivity("Call", (activity) => {
    activity?.addBaggage("from", "activity");
    const bag = api.propagation.createBaggage({
      user: { value: "ada lovelace", metadata: api.baggageEntryMetadataFromString("p=1") },
    });
    const headers: Record<string, string> = {};
    api.propagation.inject(api.propagation.setBaggage(api.context.active(), bag), headers);
    assert.deepEqual(headers, {
      traceparent: activity?.id,
      baggage: "user=ada%20lovelace;p=1,from=activity",
    });
    const ctx = api.propagation.extract(api.ROOT_CONTEXT, { ...headers, tracestate: "a=1" });
    const sc = api.trace.getSpanContext(ctx);
    assert.equal(sc?.spanId, activity?.spanId);
    assert.equal(sc?.isRemote, true);
    assert.equal(sc?.traceState?.serialize(), "a=1");
    const back = api.propagation.getBaggage(ctx);
    assert.equal(back?.getEntry("user")?.value, "ada lovelace");
    assert.equal(back?.getEntry("user")?.metadata?.toString(), "p=1");
    assert.equal(back?.getEntry("from")?.value, "activity");
    // A server activity under the extracted context continues the trace.
    const server = api.context.with(ctx, () => s.source.startActivity("Serve", { kind: "server" }));
    server?.stop();
    assert.equal(server?.parentSpanId, activity?.spanId);
  });
  assert.deepEqual(api.propagation.fields(), ["traceparent", "tracestate", "baggage"]);
});

Deno.test("registerOpenTelemetry() takes a propagator of this module's inject/extract shape", () => {
  const calls: string[] = [];
  const otel = registerOpenTelemetry(api, {
    propagator: {
      inject: (context, carrier) => {
        calls.push(`inject ${context.spanId}`);
        (carrier as Record<string, string>)["x-id"] = context.spanId;
      },
      extract: () => new ActivityContext(REMOTE.traceId, REMOTE.spanId, { isRemote: true }),
      fields: () => ["x-id"],
    },
  });
  try {
    const carrier: Record<string, string> = {};
    const ctx = api.trace.setSpan(api.ROOT_CONTEXT, api.trace.wrapSpanContext(REMOTE));
    api.propagation.inject(ctx, carrier);
    assert.deepEqual(carrier, { "x-id": REMOTE.spanId });
    assert.equal(
      api.trace.getSpanContext(api.propagation.extract(api.ROOT_CONTEXT, {}))?.spanId,
      REMOTE.spanId,
    );
    assert.deepEqual(api.propagation.fields(), ["x-id", "baggage"]);
  } finally {
    otel.unregister();
  }
});

Deno.test("registerOpenTelemetry() takes a propagator whose extract gives { activityContext, baggage }", () => {
  const otel = registerOpenTelemetry(api, {
    propagator: {
      inject: () => {},
      extract: () => ({
        activityContext: new ActivityContext(REMOTE.traceId, REMOTE.spanId, { isRemote: true }),
        baggage: [{ key: "tier", value: "gold", properties: [{ key: "ttl", value: "30" }] }],
      }),
      fields: () => ["traceparent", "baggage"],
    },
  });
  try {
    // The carrier's own baggage header is not read: the propagator read the baggage.
    const ctx = api.propagation.extract(api.ROOT_CONTEXT, { baggage: "other=1" });
    assert.equal(api.trace.getSpanContext(ctx)?.spanId, REMOTE.spanId);
    const bag = api.propagation.getBaggage(ctx);
    assert.deepEqual(bag?.getAllEntries().map(([k, e]) => [k, e.value, e.metadata?.toString()]), [
      ["tier", "gold", "ttl=30"],
    ]);
    assert.deepEqual(api.propagation.fields(), ["traceparent", "baggage"]);
  } finally {
    otel.unregister();
  }
});

Deno.test("Tracer.startSpan() links at start reach samplers as activity links", () => {
  const seen: number[] = [];
  using _listener = ActivitySource.addActivityListener({
    shouldListenTo: (source) => source.name === "linked-lib",
    sample: (options) => {
      seen.push(options.links.length);
      return "allDataAndRecorded";
    },
  });
  const otel = registerOpenTelemetry(api);
  try {
    const span = api.trace.getTracer("linked-lib").startSpan("s", {
      links: [{ context: REMOTE, attributes: { n: 1 } }],
    });
    span.end();
    assert.deepEqual(seen, [1]);
  } finally {
    otel.unregister();
  }
});

/** The console records of a run, with ids, times and durations normalised. */
function normalised(records: string[]): string[] {
  const ids = new Map<string, string>();
  return records.map((r) =>
    r.replace(/\b[0-9a-f]{32}\b|\b[0-9a-f]{16}\b/g, (id) => {
      if (!ids.has(id)) ids.set(id, `<id${ids.size}>`);
      return ids.get(id)!;
    })
      .replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, "<time>")
      .replace(/Duration: .*/g, "Duration: <d>")
      .replace(/at .*\n/g, "")
  );
}

Deno.test("OpenTelemetry API code produces the same records as the equivalent activity code", async () => {
  const run = async (body: (write: string[]) => Promise<void>) => {
    const records: string[] = [];
    const provider = createTracerProviderBuilder().addSource("same")
      .addConsoleExporter({ write: (text) => records.push(text) }).build();
    const otel = registerOpenTelemetry(api);
    try {
      await body(records);
    } finally {
      otel.unregister();
      await provider.shutdown();
    }
    return normalised(records);
  };
  const link = { traceId: REMOTE.traceId, spanId: REMOTE.spanId, traceFlags: 1 };
  const viaOtel = await run(async () => {
    const tracer = api.trace.getTracer("same", "1.0");
    await tracer.startActiveSpan("outer", { kind: api.SpanKind.SERVER }, async (outer) => {
      outer.setAttribute("a", 1);
      await tracer.startActiveSpan("inner", { links: [{ context: link }] }, async (inner) => {
        await Promise.resolve();
        inner.addEvent("step", { n: 2 });
        inner.recordException("broken");
        inner.setStatus({ code: api.SpanStatusCode.ERROR, message: "broken" });
        const headers: Record<string, string> = {};
        api.propagation.inject(api.context.active(), headers);
        api.context.with(api.ROOT_CONTEXT, () => tracer.startSpan("detached").end());
        inner.end();
      });
      outer.end();
    });
  });
  const viaActivities = await run(async () => {
    const source = new ActivitySource("same", "1.0");
    const options: StartActivityOptions = { kind: "server" };
    await source.startActiveActivity("outer", options, async (outer) => {
      outer?.setTag("a", 1);
      const links = [new ActivityLink(new ActivityContext(link.traceId, link.spanId, link))];
      await source.startActiveActivity("inner", { links }, async (inner) => {
        await Promise.resolve();
        inner?.addEvent("step", { tags: { n: 2 } });
        inner?.addEvent("exception", { tags: { "exception.message": "broken" } });
        inner?.setStatus("error", "broken");
        Activity.run(null, () => source.startActivity("detached")?.stop());
      });
    });
    source[Symbol.dispose]();
  });
  assert.equal(viaOtel.length, 3);
  assert.deepEqual(viaOtel, viaActivities);
});

Deno.test("Span and Tracer methods never throw on hostile input", () => {
  using s = setup();
  const errors: unknown[] = [];
  const { proxy: revoked, revoke } = Proxy.revocable({}, {});
  revoke();
  const throwing = Object.defineProperty({}, "code", {
    get() {
      throw new Error("boom");
    },
  });
  const hostile: unknown[] = [revoked, throwing, null, 42, "x", [revoked], { context: revoked }];
  try {
    for (const bad of hostile) {
      const span = s.tracer.startSpan("h", bad as never);
      span.setAttribute(bad as never, bad as never);
      span.setAttributes(bad as never);
      span.addEvent("e", bad as never, bad as never);
      span.addLink(bad as never);
      span.addLinks(bad as never);
      span.setStatus(bad as never);
      span.recordException(bad as never, bad as never);
      span.updateName(bad as never);
      span.end(bad as never);
      span.isRecording();
      span.spanContext();
    }
  } catch (error) {
    errors.push(error);
  }
  assert.deepEqual(errors, []);
  assert.equal(s.exporter.activities.length, hostile.length);
});
