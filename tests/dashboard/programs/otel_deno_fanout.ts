// The guide's fan-out through Deno's built-in telemetry: run with OTEL_DENO=true, and spans made
// through npm:@opentelemetry/api go to Deno's own tracer, which sends them as OTLP/HTTP protobuf
// to OTEL_EXPORTER_OTLP_ENDPOINT when the program ends.

import { context, trace } from "npm:@opentelemetry/api@1.9.1";

const tracer = trace.getTracer("MyCompany.MyApplication");
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

await tracer.startActiveSpan("OrchestratingActivity", async (orchestrating) => {
  orchestrating.setAttribute("operation", "main-process");
  const links = [{ context: orchestrating.spanContext() }];
  await Promise.all(
    [1, 2, 3].map((n) =>
      tracer.startActiveSpan(`FannedOutActivity ${n}`, { root: true, links }, async (span) => {
        await pause(2 * n);
        span.end();
      })
    ),
  );
  const wrapUp = tracer.startSpan("WrapUp", {}, context.active());
  wrapUp.setAttribute("status", "completed");
  wrapUp.end();
  orchestrating.end();
});
