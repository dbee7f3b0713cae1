import assert from "node:assert/strict";
import { mock } from "node:test";
import { ACTIVITY_KINDS, ACTIVITY_STATUS_CODES, toActivityKind } from "../kind.ts";

Deno.test("ACTIVITY_KINDS and ACTIVITY_STATUS_CODES hold OpenTelemetry's kinds and codes", () => {
  assert.deepEqual([...ACTIVITY_KINDS], ["internal", "server", "client", "producer", "consumer"]);
  assert.deepEqual([...ACTIVITY_STATUS_CODES], ["unset", "ok", "error"]);
});

Deno.test("toActivityKind() takes a kind in any case; anything else is internal, said once", () => {
  const stderr = mock.method(console, "error", () => {});
  try {
    assert.equal(toActivityKind("server", "Test kind"), "server");
    assert.equal(toActivityKind("Consumer", "Test kind"), "consumer");
    assert.equal(toActivityKind("database", "Test kind"), "internal");
    assert.equal(toActivityKind(7, "Test kind"), "internal");
    assert.equal(stderr.mock.callCount(), 1);
    assert.equal(
      stderr.mock.calls[0]?.arguments[0],
      '[@tracelinks/activity] Test kind failed: TypeError: Cannot use kind "database": expected one of internal, server, client, producer, consumer; "internal" is used',
    );
  } finally {
    stderr.mock.restore();
  }
});
