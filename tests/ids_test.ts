import assert from "node:assert/strict";
import { mock } from "node:test";
import {
  ActivityContext,
  type ActivitySamplingResult,
  ActivitySource,
  isValidSpanId,
  isValidTraceFlags,
  isValidTraceId,
  newSpanId,
  newTraceId,
  randomIdGenerator,
  TRACE_FLAG_NONE,
  TRACE_FLAG_RANDOM_TRACE_ID,
  TRACE_FLAG_RECORDED,
} from "../mod.ts";

Deno.test("newTraceId() and newSpanId() return lowercase hex of the W3C lengths", () => {
  for (let i = 0; i < 10_000; i++) {
    assert.match(newTraceId(), /^[0-9a-f]{32}$/);
    assert.match(newSpanId(), /^[0-9a-f]{16}$/);
  }
  assert.equal(randomIdGenerator.newTraceId().length, 32);
  assert.equal(randomIdGenerator.newSpanId().length, 16);
});

Deno.test("newTraceId() returns no duplicate in 1,000,000 ids", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 1_000_000; i++) seen.add(newTraceId());
  assert.equal(seen.size, 1_000_000);
});

Deno.test("newTraceId() uses every hex digit in every position", () => {
  // A biased or stuck generator (say, a byte always zero) shows up as a missing digit.
  const digits = Array.from({ length: 32 }, () => new Set<string>());
  for (let i = 0; i < 2_000; i++) {
    const id = newTraceId();
    for (let p = 0; p < 32; p++) digits[p]!.add(id[p]!);
  }
  for (const set of digits) assert.equal(set.size, 16);
});

Deno.test("newTraceId() and newSpanId() never return all zeros, even from zero random bytes", () => {
  let calls = 0;
  const real = crypto.getRandomValues.bind(crypto);
  const stub = mock.method(crypto, "getRandomValues", <T extends ArrayBufferView | null>(
    array: T,
  ): T => {
    calls++;
    // The first refill after the stub is installed is all zeros; later ones are random.
    if (calls === 1 && array !== null) {
      new Uint8Array(array.buffer, array.byteOffset, array.byteLength).fill(0);
      return array;
    }
    return real(array as Uint8Array) as unknown as T;
  });
  try {
    // Enough ids to use up the current pool, the zero-filled pool and part of a fresh one.
    for (let i = 0; i < 2_000; i++) {
      assert.ok(isValidTraceId(newTraceId()));
      assert.ok(isValidSpanId(newSpanId()));
    }
  } finally {
    stub.mock.restore();
  }
  assert.ok(calls >= 2, `expected the zero-filled pool to be used up, got ${calls} refill(s)`);
});

Deno.test("newSpanId() draws random bytes through a pool, not one call per id", () => {
  const stub = mock.method(crypto, "getRandomValues");
  try {
    for (let i = 0; i < 10_000; i++) newSpanId(); // 80,000 bytes
  } finally {
    stub.mock.restore();
  }
  const calls = stub.mock.callCount();
  assert.ok(calls >= 1 && calls <= 20, `expected a few pool refills, got ${calls}`);
});

Deno.test("isValidTraceId() and isValidSpanId() accept only lowercase, non-zero hex", async (t) => {
  await t.step("trace ids", () => {
    assert.equal(isValidTraceId("5ce4d8ad4926ecdd0084681f46fa38d9"), true);
    assert.equal(isValidTraceId("00000000000000000000000000000001"), true);
    assert.equal(isValidTraceId("00000000000000000000000000000000"), false);
    assert.equal(isValidTraceId("5CE4D8AD4926ECDD0084681F46FA38D9"), false);
    assert.equal(isValidTraceId("5ce4d8ad4926ecdd0084681f46fa38d"), false);
    assert.equal(isValidTraceId("5ce4d8ad4926ecdd0084681f46fa38d9a"), false);
    assert.equal(isValidTraceId("5ce4d8ad4926ecdd0084681f46fa38dg"), false);
    assert.equal(isValidTraceId(" 5ce4d8ad4926ecdd0084681f46fa38d"), false);
    assert.equal(isValidTraceId("5ce4d8ad4926ecdd0084681f46fa38d9\n"), false);
    assert.equal(isValidTraceId(12345), false);
    assert.equal(isValidTraceId(undefined), false);
  });
  await t.step("span ids", () => {
    assert.equal(isValidSpanId("8f9e9441f0789f6e"), true);
    assert.equal(isValidSpanId("0000000000000000"), false);
    assert.equal(isValidSpanId("8F9E9441F0789F6E"), false);
    assert.equal(isValidSpanId("8f9e9441f0789f6"), false);
    assert.equal(isValidSpanId("8f9e9441f0789f6e0"), false);
    assert.equal(isValidSpanId(null), false);
  });
});

Deno.test("isValidTraceFlags() accepts integers from 0 to 255", () => {
  for (const ok of [0, 1, 2, 3, 255]) assert.equal(isValidTraceFlags(ok), true, String(ok));
  for (const bad of [-1, 256, 1.5, NaN, "01", undefined]) {
    assert.equal(isValidTraceFlags(bad), false, String(bad));
  }
});

Deno.test("TRACE_FLAG_* constants are the W3C bits", () => {
  assert.equal(TRACE_FLAG_NONE, 0);
  assert.equal(TRACE_FLAG_RECORDED, 0x01);
  assert.equal(TRACE_FLAG_RANDOM_TRACE_ID, 0x02);
});

let counter = 0;
/** A source whose only listener answers `result` for every activity. */
function sourceSampling(result: ActivitySamplingResult): ActivitySource & Disposable {
  const name = `Ids.${++counter}`;
  const registration = ActivitySource.addActivityListener({
    shouldListenTo: (s) => s.name === name,
    sample: () => result,
  });
  const source = new ActivitySource(name);
  const dispose = source[Symbol.dispose].bind(source);
  source[Symbol.dispose] = () => {
    dispose();
    registration.remove();
  };
  return source;
}

Deno.test("ActivitySource.startActivity() sets trace flags as specified", async (t) => {
  await t.step("a recorded root has 0x03: random trace id and recorded", () => {
    using source = sourceSampling("allDataAndRecorded");
    using root = source.startActivity("Root", { root: true })!;
    assert.equal(root.traceFlags, 0x03);
    assert.equal(root.recorded, true);
    assert.equal(root.id, `00-${root.traceId}-${root.spanId}-03`);
    assert.equal(root.context.toTraceparent(), root.id);
  });
  await t.step("a root that is not recorded has only the random bit", () => {
    using allData = sourceSampling("allData");
    using propagation = sourceSampling("propagationData");
    assert.equal(allData.startActivity("A")?.traceFlags, 0x02);
    assert.equal(propagation.startActivity("P")?.traceFlags, 0x02);
  });
  await t.step("a child keeps its parent's trace id and random bit", () => {
    using source = sourceSampling("allDataAndRecorded");
    using parent = source.startActivity("Parent")!;
    using child = source.startActivity("Child", { parent })!;
    assert.equal(child.traceId, parent.traceId);
    assert.equal(child.parentSpanId, parent.spanId);
    assert.notEqual(child.spanId, parent.spanId);
    assert.equal(child.traceFlags, 0x03);
  });
  await t.step("a remote parent with flags 00 gives a child without the random bit", () => {
    using source = sourceSampling("allDataAndRecorded");
    const parent = ActivityContext.parse("00-5ce4d8ad4926ecdd0084681f46fa38d9-8f9e9441f0789f6e-00");
    using child = source.startActivity("Child", { parent })!;
    assert.equal(child.traceId, "5ce4d8ad4926ecdd0084681f46fa38d9");
    assert.equal(child.parentSpanId, "8f9e9441f0789f6e");
    assert.equal(child.traceFlags, 0x01);
    assert.equal(child.hasRemoteParent, true);
  });
  await t.step("a remote parent with flags 02 gives a recorded child with the random bit", () => {
    using source = sourceSampling("allDataAndRecorded");
    const parent = ActivityContext.parse("00-5ce4d8ad4926ecdd0084681f46fa38d9-8f9e9441f0789f6e-02");
    using child = source.startActivity("Child", { parent })!;
    assert.equal(child.traceFlags, 0x03);
  });
  await t.step("the unknown flag bits of a parent are not copied", () => {
    using source = sourceSampling("allData");
    const parent = ActivityContext.parse("00-5ce4d8ad4926ecdd0084681f46fa38d9-8f9e9441f0789f6e-ff");
    using child = source.startActivity("Child", { parent })!;
    assert.equal(child.traceFlags, 0x02);
  });
});

Deno.test("ActivitySource uses an injected id generator", () => {
  const traceIds = ["11111111111111111111111111111111"];
  const spanIds = ["2222222222222222", "3333333333333333"];
  const name = `Ids.${++counter}`;
  using _registration = ActivitySource.addActivityListener({
    shouldListenTo: (s) => s.name === name,
    sample: () => "allDataAndRecorded",
  });
  using source = new ActivitySource(name, {
    idGenerator: { newTraceId: () => traceIds.shift()!, newSpanId: () => spanIds.shift()! },
  });
  using parent = source.startActivity("Parent")!;
  using child = source.startActivity("Child", { parent })!;
  assert.deepEqual(
    [parent.traceId, parent.spanId, child.traceId, child.spanId],
    [
      "11111111111111111111111111111111",
      "2222222222222222",
      "11111111111111111111111111111111",
      "3333333333333333",
    ],
  );
});
