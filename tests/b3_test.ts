import assert from "node:assert/strict";
import { ActivityContext, B3Propagator, TRACE_FLAG_RECORDED } from "../mod.ts";

const TRACE = "80f198ee56343ba864fe8b2a57d3eff7";
const SPAN = "e457b5a2e4d86bd1";
const PARENT = "05e3ac9a4f6e3b90";

const read = (carrier: unknown) => {
  const context = new B3Propagator().extract(carrier).activityContext;
  return context === undefined
    ? undefined
    : [context.traceId, context.spanId, context.traceFlags, context.isRemote];
};

Deno.test("B3Propagator.extract() reads the single header", async (t) => {
  await t.step("sampled, not sampled, debug, deferred, with a parent span id", () => {
    assert.deepEqual(read({ b3: `${TRACE}-${SPAN}-1` }), [TRACE, SPAN, 1, true]);
    assert.deepEqual(read({ b3: `${TRACE}-${SPAN}-0-${PARENT}` }), [TRACE, SPAN, 0, true]);
    assert.deepEqual(read({ b3: `${TRACE}-${SPAN}-d` }), [TRACE, SPAN, 1, true]);
    assert.deepEqual(read({ b3: `${TRACE}-${SPAN}` }), [TRACE, SPAN, 0, true]);
    assert.deepEqual(read({ b3: `${TRACE}-${SPAN}-${PARENT}` }), [TRACE, SPAN, 0, true]);
  });
  await t.step("a 64-bit trace id is padded to 128 bits", () => {
    assert.deepEqual(read({ B3: `a3ce929d0e0e4736-${SPAN}-1` }), [
      "0000000000000000a3ce929d0e0e4736",
      SPAN,
      1,
      true,
    ]);
  });
  await t.step("the deny form `b3: 0` and anything outside the grammar give no context", () => {
    for (
      const value of [
        "0",
        "1",
        "d",
        `${TRACE.toUpperCase()}-${SPAN}-1`,
        `${TRACE}-${SPAN}-2`,
        `${TRACE}-${SPAN}-1-${PARENT}-1`,
        `x${TRACE}-${SPAN}-1`,
        `${"0".repeat(32)}-${SPAN}-1`,
        `${TRACE}-${"0".repeat(16)}-1`,
        `${TRACE}-${SPAN}-1-`.repeat(100),
      ]
    ) {
      assert.equal(read({ b3: value }), undefined, value);
    }
  });
  await t.step("the single header wins over the multi headers; the first value wins", () => {
    const carrier = new Headers({ "X-B3-TraceId": TRACE.slice(16), "X-B3-SpanId": PARENT });
    carrier.append("b3", `${TRACE}-${SPAN}-1`);
    carrier.append("b3", `${TRACE}-${PARENT}-0`);
    assert.deepEqual(read(carrier), [TRACE, SPAN, 1, true]);
  });
});

Deno.test("B3Propagator.extract() reads the multi headers", () => {
  const multi = (sampled?: string, flags?: string) => ({
    "X-B3-TraceId": TRACE,
    "X-B3-SpanId": SPAN,
    "X-B3-ParentSpanId": PARENT,
    ...(sampled === undefined ? {} : { "X-B3-Sampled": sampled }),
    ...(flags === undefined ? {} : { "X-B3-Flags": flags }),
  });
  assert.deepEqual(read(multi("1")), [TRACE, SPAN, 1, true]);
  assert.deepEqual(read(multi("0")), [TRACE, SPAN, 0, true]);
  assert.deepEqual(read(multi("true")), [TRACE, SPAN, 1, true]);
  assert.deepEqual(read(multi()), [TRACE, SPAN, 0, true]);
  assert.deepEqual(read(multi(undefined, "1")), [TRACE, SPAN, 1, true]);
  assert.equal(read(multi("yes")), undefined);
  assert.equal(read({ "X-B3-TraceId": TRACE }), undefined);
  assert.deepEqual(read({ "x-b3-traceid": TRACE.slice(16), "x-b3-spanid": SPAN }), [
    `0000000000000000${TRACE.slice(16)}`,
    SPAN,
    0,
    true,
  ]);
});

Deno.test("B3Propagator.inject() writes one encoding, no parent span id", async (t) => {
  // A trace never read with the debug flag (debug is remembered per trace id).
  const OTHER = "463ac35c9f6413ad48485a3953bb6124";
  const context = new ActivityContext(OTHER, SPAN, { traceFlags: TRACE_FLAG_RECORDED });
  await t.step("single", () => {
    const headers = new Headers({ "x-b3-parentspanid": PARENT });
    new B3Propagator().inject(context, headers);
    assert.deepEqual([...headers], [["b3", `${OTHER}-${SPAN}-1`], ["x-b3-parentspanid", PARENT]]);
  });
  await t.step("multi: stale flags and parent removed from a carrier it edits", () => {
    const headers = new Headers({ "x-b3-flags": "1", "x-b3-parentspanid": PARENT });
    new B3Propagator({ encoding: "multi" }).inject(context, headers);
    assert.deepEqual([...headers], [
      ["x-b3-sampled", "1"],
      ["x-b3-spanid", SPAN],
      ["x-b3-traceid", OTHER],
    ]);
  });
  await t.step("debug travels with the trace, in either encoding", () => {
    const debugTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
    const b3 = new B3Propagator();
    const parent = b3.extract({
      "x-b3-traceid": debugTrace,
      "x-b3-spanid": SPAN,
      "x-b3-flags": "1",
    })
      .activityContext!;
    // A child in the same trace: another span id, the same trace id.
    const child = new ActivityContext(debugTrace, PARENT, { traceFlags: TRACE_FLAG_RECORDED });
    assert.equal(parent.traceId, debugTrace);
    const out: Record<string, string> = {};
    b3.inject(child, out);
    assert.deepEqual(out, { b3: `${debugTrace}-${PARENT}-d` });
  });
  await t.step("nothing for no context; fields() names what it writes", () => {
    const out: Record<string, string> = {};
    new B3Propagator().inject(undefined, out);
    assert.deepEqual(out, {});
    assert.deepEqual(new B3Propagator().fields(), ["b3"]);
    assert.equal(new B3Propagator({ encoding: "multi" }).fields().length, 5);
  });
  await t.step("a bad encoding is a TypeError", () => {
    assert.throws(() => new B3Propagator({ encoding: "both" as never }), {
      name: "TypeError",
      message: 'Cannot make B3Propagator: encoding must be "single" or "multi", got both',
    });
  });
});
