import assert from "node:assert/strict";
import {
  ActivityContext,
  ActivitySource,
  B3Propagator,
  BaggagePropagator,
  CompositePropagator,
  createTracerProviderBuilder,
  getDefaultPropagator,
  setDefaultPropagator,
  type TextMapPropagator,
  TraceContextPropagator,
} from "../mod.ts";

const TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

Deno.test("CompositePropagator runs its propagators in order", async (t) => {
  await t.step("inject calls each; fields() lists each field once", () => {
    const composite = new CompositePropagator([
      new TraceContextPropagator(),
      new B3Propagator(),
      new TraceContextPropagator(),
    ]);
    const headers: Record<string, string> = {};
    composite.inject(ActivityContext.parse(TRACEPARENT), headers);
    assert.deepEqual(headers, {
      traceparent: TRACEPARENT,
      b3: "0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-1",
    });
    assert.deepEqual(composite.fields(), ["traceparent", "tracestate", "b3"]);
    assert.equal(composite.propagators.length, 3);
  });
  await t.step("extract: the last propagator that found a parent wins; baggage kept", () => {
    const composite = new CompositePropagator([
      new TraceContextPropagator(),
      new BaggagePropagator(),
      new B3Propagator(),
    ]);
    const read = composite.extract({
      traceparent: TRACEPARENT,
      baggage: "tier=gold",
      b3: "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-0",
    });
    assert.equal(read.activityContext?.spanId, "e457b5a2e4d86bd1");
    assert.deepEqual(read.baggage?.map((entry) => entry.value), ["gold"]);
    assert.deepEqual(composite.extract({ b3: "garbage" }), {});
  });
  await t.step("a propagator that throws is reported once and skipped", () => {
    const reports: string[] = [];
    // Reports go to the error handlers of live providers.
    using _provider = createTracerProviderBuilder()
      .setEnvironment(false)
      .setErrorHandler((error, where) => reports.push(`${where}: ${error}`))
      .build();
    const failing: TextMapPropagator = {
      inject() {
        throw new Error("inject failed");
      },
      extract() {
        throw new Error("extract failed");
      },
      fields: () => ["x-failing"],
    };
    const composite = new CompositePropagator([failing, new TraceContextPropagator()]);
    const headers: Record<string, string> = {};
    composite.inject(ActivityContext.parse(TRACEPARENT), headers);
    composite.inject(ActivityContext.parse(TRACEPARENT), headers);
    assert.equal(headers.traceparent, TRACEPARENT);
    assert.equal(composite.extract(headers).activityContext?.spanId, "b7ad6b7169203331");
    assert.deepEqual(reports, [
      "TextMapPropagator.inject: Error: inject failed",
      "TextMapPropagator.extract: Error: extract failed",
    ]);
  });
  await t.step("an empty composite propagates nothing", () => {
    const none = new CompositePropagator([]);
    const headers: Record<string, string> = {};
    none.inject(ActivityContext.parse(TRACEPARENT), headers);
    assert.deepEqual(headers, {});
    assert.deepEqual(none.extract({ traceparent: TRACEPARENT }), {});
  });
  await t.step("something that is not a propagator is a TypeError", () => {
    assert.throws(() => new CompositePropagator([{ inject() {} } as never]), {
      name: "TypeError",
      message:
        "Cannot make CompositePropagator: a propagator must have inject(), extract() and fields()",
    });
  });
});

Deno.test("BaggagePropagator sends an activity's baggage and keeps a header it cannot replace", () => {
  using _provider = createTracerProviderBuilder().setEnvironment(false).addSource("Bag").build();
  const source = new ActivitySource("Bag");
  const activity = source.startActivity("work")!.addBaggage("tier", "gold");
  const headers = new Headers({ baggage: "caller=set" });
  new BaggagePropagator().inject(activity, headers);
  assert.equal(headers.get("baggage"), "tier=gold");
  const plain = source.startActivity("plain", { root: true })!;
  const kept = new Headers({ baggage: "caller=set" });
  new BaggagePropagator().inject(plain, kept);
  assert.equal(kept.get("baggage"), "caller=set");
  plain.stop();
  activity.stop();
  source[Symbol.dispose]();
});

Deno.test("setDefaultPropagator() replaces the process's propagator until reset", () => {
  assert.deepEqual(getDefaultPropagator().fields(), ["traceparent", "tracestate", "baggage"]);
  const b3 = new B3Propagator({ encoding: "multi" });
  setDefaultPropagator(b3);
  try {
    assert.equal(getDefaultPropagator(), b3);
    assert.throws(() => setDefaultPropagator({} as never), {
      name: "TypeError",
      message:
        "Cannot set default propagator: a propagator must have inject(), extract() and fields()",
    });
    assert.equal(getDefaultPropagator(), b3);
  } finally {
    setDefaultPropagator(undefined);
  }
  assert.deepEqual(getDefaultPropagator().fields(), ["traceparent", "tracestate", "baggage"]);
});
