import assert from "node:assert/strict";
import { mock } from "node:test";
import { exceptionTags, readEventOptions } from "../event.ts";

Deno.test("exceptionTags() gives OpenTelemetry's exception tags for any thrown value", () => {
  const error = new RangeError("Too big");
  assert.deepEqual(exceptionTags(error), [
    ["exception.type", "RangeError"],
    ["exception.message", "Too big"],
    ["exception.stacktrace", error.stack],
  ]);
  assert.deepEqual(exceptionTags("plain"), [
    ["exception.type", "string"],
    ["exception.message", "plain"],
  ]);
  const hostile = new Error("Hidden");
  Object.defineProperty(hostile, "message", {
    get() {
      throw new Error("Unreadable");
    },
  });
  assert.deepEqual(exceptionTags(hostile), [["exception.type", "Error"]]);
});

Deno.test("readEventOptions() reads each option once; one that cannot be used is left out, said once", () => {
  assert.deepEqual(readEventOptions(undefined, "Test.event()"), { timestamp: undefined, tags: [] });
  assert.deepEqual(readEventOptions({ tags: { a: 1 }, timestamp: 5 }, "Test.event()"), {
    timestamp: 5,
    tags: [["a", 1]],
  });
  const stderr = mock.method(console, "error", () => {});
  try {
    let reads = 0;
    const options = {
      get timestamp(): number {
        reads++;
        throw new Error("No time");
      },
      tags: 42 as never,
    };
    for (let i = 0; i < 2; i++) {
      assert.deepEqual(readEventOptions(options, "Test.event()"), {
        timestamp: undefined,
        tags: [],
      });
    }
    assert.equal(reads, 2);
    assert.deepEqual(stderr.mock.calls.map((call) => String(call.arguments[0]).split(":")[0]), [
      "[@tracelinks/activity] Test.event() option timestamp failed",
      "[@tracelinks/activity] Test.event() option tags failed",
    ]);
  } finally {
    stderr.mock.restore();
  }
});
