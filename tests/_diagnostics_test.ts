import assert from "node:assert/strict";
import { mock } from "node:test";
import { Activity, ActivitySource, createTracerProviderBuilder, type ReportLevel } from "../mod.ts";
import { ReportOnce } from "../_diagnostics.ts";

Deno.test("ReportOnce reports each party once, an object or a name alike", () => {
  const reports: string[] = [];
  const once = new ReportOnce((error, where) => reports.push(`${where}: ${String(error)}`));
  const listener = {};
  assert.equal(once.report(listener, "first", "A"), true);
  assert.equal(once.report(listener, "second", "A"), false);
  assert.equal(once.report("Activity.run()", "third", "B"), true);
  assert.equal(once.report("Activity.run()", "fourth", "B"), false);
  assert.equal(once.report({}, "fifth", "C"), true);
  assert.deepEqual(reports, ["A: first", "B: third", "C: fifth"]);
});

Deno.test("reports that concern no provider reach the live providers' handlers, once each", async (t) => {
  const heard: [string, string, ReportLevel | undefined][] = [];
  const other: string[] = [];
  const one = createTracerProviderBuilder()
    .addSource("Diagnostics.One")
    .setEnvironment(false)
    .setErrorHandler((_error, where, level) => heard.push(["one", where, level]))
    .build();
  const two = createTracerProviderBuilder()
    .setEnvironment(false)
    .setErrorHandler((_error, where) => other.push(where))
    .build();
  const failing = {
    activityStarted(): void {
      throw new Error("Listener broke");
    },
  };
  using _registration = ActivitySource.addActivityListener(failing);
  const source = new ActivitySource("Diagnostics.One");

  await t.step("a listener that throws, reported once", () => {
    source.startActivity("First")?.stop();
    source.startActivity("Second")?.stop();
    assert.deepEqual(heard, [["one", "ActivityListener.activityStarted", "error"]]);
    assert.deepEqual(other, ["ActivityListener.activityStarted"]);
  });

  await t.step("input a method cannot use, reported once per method and option", () => {
    heard.length = 0;
    Activity.run(42 as never, () => {});
    Activity.run(43 as never, () => {});
    source.startActivity("Third", { kind: "database" as never })?.stop();
    assert.deepEqual(heard, [
      ["one", "Activity.run()", "error"],
      ["one", "ActivitySource.startActivity() option kind", "error"],
    ]);
  });

  await t.step(
    "after shutdown, a provider hears nothing more; stderr does when none lives",
    async () => {
      await one.shutdown();
      await two.shutdown();
      heard.length = 0;
      other.length = 0;
      const stderr = mock.method(console, "error", () => {});
      try {
        Activity.run("not an activity" as never, () => {}); // said already: not again
        source.startActivity("Fourth", { parent: "not a traceparent" })?.stop();
        source.startActivity("Fifth", { parent: "not a traceparent" })?.stop();
        assert.equal(stderr.mock.callCount(), 1);
        assert.match(
          String(stderr.mock.calls[0]?.arguments[0]),
          /^\[@tracelinks\/activity\] ActivitySource\.startActivity\(\) option parent failed: TypeError: Cannot parse traceparent: /,
        );
      } finally {
        stderr.mock.restore();
      }
      assert.deepEqual(heard, []);
      assert.deepEqual(other, []);
    },
  );
});
