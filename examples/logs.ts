// Logs that point at traces: every record written inside an activity carries `trace_id`,
// `span_id` and `trace_flags` (OpenTelemetry's log field names), on the console and through
// LogTape (`npm:@logtape/logtape`), with no dependency in the module: `logContext()` gives the
// fields, and a few lines here put them on each record.
//
//   deno run examples/logs.ts

import {
  configure,
  getConsoleSink,
  getLogger,
  jsonLinesFormatter,
  type LogRecord,
  reset,
  type Sink,
} from "npm:@logtape/logtape@2.4.2";
import { ActivitySource, createTracerProviderBuilder, logContext } from "../mod.ts";

/**
 * A LogTape sink that adds the current activity's trace fields to each record's properties
 * (properties the record has already win). LogTape calls sinks in the logging call, so the
 * current activity is the one the record was written in.
 */
export function withTraceContext(sink: Sink): Sink {
  return (record: LogRecord) => {
    const fields = logContext();
    if (!("trace_id" in fields)) return sink(record);
    sink({ ...record, properties: { ...fields, ...record.properties } });
  };
}

/**
 * A console logger whose structured records carry the trace fields: one JSON line per record.
 */
export function traceLog(
  message: string,
  properties: Record<string, unknown> = {},
  write: (line: string) => void = console.log,
): void {
  write(JSON.stringify({ message, ...logContext(), ...properties }));
}

if (import.meta.main) {
  using _provider = createTracerProviderBuilder().addSource("Shop").addConsoleExporter().build();
  await configure({
    sinks: { console: withTraceContext(getConsoleSink({ formatter: jsonLinesFormatter })) },
    loggers: [
      { category: "shop", lowestLevel: "info", sinks: ["console"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["console"] },
    ],
  });
  const logger = getLogger("shop");
  const source = new ActivitySource("Shop");
  await source.startActiveActivity("Checkout", async () => {
    logger.info("Cart has {count} items", { count: 3 });
    await Promise.resolve();
    traceLog("payment accepted", { amount: 42 });
  });
  await reset();
}
