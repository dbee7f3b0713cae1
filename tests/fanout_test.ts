// The fan-out scenario of examples/fanout.ts, run in-process with an in-memory exporter and
// with the console exporter writing into a string.
import assert from "node:assert/strict";
import {
  Activity,
  type ActivityExporter,
  ActivityLink,
  ActivitySource,
  ConsoleExporter,
  createTracerProviderBuilder,
  InMemoryExporter,
} from "../mod.ts";

let counter = 0;

/** The example's program, with the exporter chosen by the test. */
async function runFanout(exporter: ActivityExporter, sourceName: string): Promise<void> {
  const source = new ActivitySource(sourceName);
  using _provider = createTracerProviderBuilder()
    .addSource(sourceName)
    .addExporter(exporter)
    .build();

  await source.startActiveActivity("OrchestratingActivity", async (orchestrating) => {
    orchestrating?.setTag("operation", "main-process");
    await doFanout(source, 3);
    using wrapUp = source.startActivity("WrapUp");
    wrapUp?.setTag("status", "completed");
  });
  source[Symbol.dispose]();
}

async function doFanout(source: ActivitySource, operationCount: number): Promise<void> {
  const links = [new ActivityLink(Activity.current!.context)];
  const tasks = Array.from({ length: operationCount }, (_, i) =>
    source.startActiveActivity(
      `FannedOutActivity ${i + 1}`,
      { kind: "internal", links, root: true },
      async () => {
        // Uneven work, so that the three finish in the order they started only by chance.
        await new Promise((resolve) => setTimeout(resolve, (3 - i) % 3));
        await Promise.resolve();
      },
    ));
  await Promise.all(tasks);
}

Deno.test("fan-out: each fanned-out activity is a new trace linked to the orchestrator", async (t) => {
  const exporter = new InMemoryExporter();
  await runFanout(exporter, `MyCompany.MyApplication.${++counter}`);
  const byName = new Map(exporter.activities.map((a) => [a.displayName, a]));
  const orchestrator = byName.get("OrchestratingActivity")!;
  const wrapUp = byName.get("WrapUp")!;
  const fanned = [1, 2, 3].map((n) => byName.get(`FannedOutActivity ${n}`)!);

  await t.step("five records, children first, the orchestrator last", () => {
    const names = exporter.activities.map((a) => a.displayName);
    assert.equal(names.length, 5);
    assert.deepEqual(
      names.slice(0, 3).sort(),
      ["FannedOutActivity 1", "FannedOutActivity 2", "FannedOutActivity 3"],
    );
    assert.deepEqual(names.slice(3), ["WrapUp", "OrchestratingActivity"]);
  });
  await t.step("the trace ids of the orchestrator and the three fanned-out are distinct", () => {
    const traceIds = new Set([orchestrator, ...fanned].map((a) => a.traceId));
    assert.equal(traceIds.size, 4);
  });
  await t.step(
    "each fanned-out activity is a root with one link: the orchestrator's context",
    () => {
      for (const a of fanned) {
        assert.equal(a.parentSpanId, undefined);
        assert.equal(a.parent, undefined);
        assert.equal(a.links.length, 1);
        assert.deepEqual(a.links[0]!.context, orchestrator.context);
        assert.equal(a.links[0]!.context.spanId, orchestrator.spanId);
        assert.deepEqual(a.links[0]!.tags, []);
        assert.equal(a.kind, "internal");
        assert.equal(a.traceFlags, 0x03);
      }
    },
  );
  await t.step("WrapUp is a child of the orchestrator, in its trace", () => {
    assert.equal(wrapUp.parent, orchestrator);
    assert.equal(wrapUp.parentSpanId, orchestrator.spanId);
    assert.equal(wrapUp.traceId, orchestrator.traceId);
    assert.deepEqual(wrapUp.tags, [["status", "completed"]]);
    assert.deepEqual(wrapUp.links, []);
  });
  await t.step("the orchestrator is a root with its tag, and ends after everything", () => {
    assert.equal(orchestrator.parentSpanId, undefined);
    assert.deepEqual(orchestrator.tags, [["operation", "main-process"]]);
    for (const a of [...fanned, wrapUp]) {
      assert.ok(a.startTimeUnixNano >= orchestrator.startTimeUnixNano);
      assert.ok(a.endTimeUnixNano! <= orchestrator.endTimeUnixNano!);
    }
  });
  await t.step("nothing is current once the program is done", () => {
    assert.equal(Activity.current, undefined);
  });
});

Deno.test("fan-out: the console exporter prints the five records of the guide", async () => {
  const records: string[] = [];
  const name = `MyCompany.MyApplication.${++counter}`;
  await runFanout(new ConsoleExporter({ write: (text) => records.push(text) }), name);
  assert.equal(records.length, 5);
  const hex32 = "[0-9a-f]{32}", hex16 = "[0-9a-f]{16}";
  const start = "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{7}Z";
  const duration = "\\d\\d:\\d\\d:\\d\\d(?:\\.\\d{7})?";
  const header = (displayName: string, parent: boolean) =>
    [
      `Activity\\.TraceId:            (${hex32})`,
      `Activity\\.SpanId:             (${hex16})`,
      "Activity\\.TraceFlags:         Recorded",
      ...(parent ? [`Activity\\.ParentSpanId:       (${hex16})`] : []),
      `Activity\\.ActivitySourceName: ${name.replaceAll(".", "\\.")}`,
      `Activity\\.DisplayName:        ${displayName}`,
      "Activity\\.Kind:               Internal",
      `Activity\\.StartTime:          ${start}`,
      `Activity\\.Duration:           ${duration}`,
    ].join("\n");
  const fanned = new RegExp(
    `^${
      header("FannedOutActivity [123]", false)
    }\nActivity\\.Links:\n    (${hex32}) (${hex16})\n\n$`,
  );
  const wrapUp = new RegExp(
    `^${header("WrapUp", true)}\nActivity\\.Tags:\n    status: completed\n\n$`,
  );
  const orchestrating = new RegExp(
    `^${
      header("OrchestratingActivity", false)
    }\nActivity\\.Tags:\n    operation: main-process\n\n$`,
  );
  const o = records[4]!.match(orchestrating);
  assert.ok(o, String(records[4]));
  const [, orchestratorTrace, orchestratorSpan] = o;
  const w = records[3]!.match(wrapUp);
  assert.ok(w, String(records[3]));
  assert.deepEqual([w[1], w[3]], [orchestratorTrace, orchestratorSpan]);
  const names = new Set<string>();
  for (const record of records.slice(0, 3)) {
    const f = record.match(fanned);
    assert.ok(f, record);
    assert.notEqual(f[1], orchestratorTrace);
    assert.deepEqual([f[3], f[4]], [orchestratorTrace, orchestratorSpan]);
    names.add(record.split("\n")[4]!);
  }
  assert.equal(names.size, 3);
});
