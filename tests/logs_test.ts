import assert from "node:assert/strict";
import { configure, getLogger, type LogRecord, reset } from "npm:@logtape/logtape@2.4.2";
import { ActivitySource, createTracerProviderBuilder, logContext } from "../mod.ts";
import { traceLog, withTraceContext } from "../examples/logs.ts";

Deno.test("logContext() gives the OpenTelemetry log fields of an activity, or {} outside one", () => {
  using _provider = createTracerProviderBuilder().addSource("Logs").build();
  const source = new ActivitySource("Logs");
  assert.deepEqual(logContext(), {});
  assert.deepEqual(logContext(undefined), {});
  assert.deepEqual(logContext({ traceId: "x" } as never), {});
  source.startActiveActivity("Work", (activity) => {
    assert.deepEqual(logContext(), {
      trace_id: activity!.traceId,
      span_id: activity!.spanId,
      trace_flags: "03",
    });
    using other = source.startActivity("Other", { root: true })!;
    assert.equal(logContext(other).span_id, other.spanId);
  });
});

Deno.test("withTraceContext() stamps the trace fields on every LogTape record written in an activity", async () => {
  using _provider = createTracerProviderBuilder().addSource("Logs").build();
  const records: LogRecord[] = [];
  await configure({
    sinks: { memory: withTraceContext((record) => records.push(record)) },
    loggers: [
      { category: "app", lowestLevel: "debug", sinks: ["memory"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: [] },
    ],
  });
  try {
    const logger = getLogger("app");
    logger.info("outside");
    const activity = await new ActivitySource("Logs").startActiveActivity("Work", async (a) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      logger.info("inside {n}", { n: 1 });
      return a;
    });
    assert.deepEqual(records.map((r) => r.properties), [
      {},
      { trace_id: activity!.traceId, span_id: activity!.spanId, trace_flags: "03", n: 1 },
    ]);
  } finally {
    await reset();
  }
});

Deno.test("traceLog() writes console records that carry the trace fields", () => {
  using _provider = createTracerProviderBuilder().addSource("Logs").build();
  const lines: string[] = [];
  new ActivitySource("Logs").startActiveActivity("Work", (activity) => {
    traceLog("paid", { amount: 42 }, (line) => lines.push(line));
    assert.deepEqual(JSON.parse(lines[0]!), {
      message: "paid",
      trace_id: activity!.traceId,
      span_id: activity!.spanId,
      trace_flags: "03",
      amount: 42,
    });
  });
  traceLog("outside", {}, (line) => lines.push(line));
  assert.deepEqual(JSON.parse(lines[1]!), { message: "outside" });
});
