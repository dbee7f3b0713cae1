// The guide's fan-out sent by the OpenTelemetry JS SDK (2.x) and one of its OTLP exporters:
//
//   deno run --allow-env --allow-net=127.0.0.1 otel_js_fanout.ts proto|http URL
//
// `proto` is @opentelemetry/exporter-trace-otlp-proto (http/protobuf), `http` is
// @opentelemetry/exporter-trace-otlp-http (http/json); URL is the full /v1/traces address.

import { context } from "npm:@opentelemetry/api@1.9.1";
import { BasicTracerProvider, BatchSpanProcessor } from "npm:@opentelemetry/sdk-trace-base@2.12.1";
import { AsyncLocalStorageContextManager } from "npm:@opentelemetry/context-async-hooks@2.12.0";
import { resourceFromAttributes } from "npm:@opentelemetry/resources@2.12.1";
// @ts-types="./_otlp_exporter.d.ts"
import { OTLPTraceExporter as ProtoExporter } from "npm:@opentelemetry/exporter-trace-otlp-proto@0.223.1";
// @ts-types="./_otlp_exporter.d.ts"
import { OTLPTraceExporter as JsonExporter } from "npm:@opentelemetry/exporter-trace-otlp-http@0.223.1";

const [kind, url] = Deno.args;
if ((kind !== "proto" && kind !== "http") || url === undefined) {
  console.error("usage: otel_js_fanout.ts proto|http URL");
  Deno.exit(2);
}
const exporter = kind === "proto" ? new ProtoExporter({ url }) : new JsonExporter({ url });
const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({ "service.name": `otel-js-${kind}` }),
  spanProcessors: [new BatchSpanProcessor(exporter)],
});
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const tracer = provider.getTracer("MyCompany.MyApplication");
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
  const wrapUp = tracer.startSpan("WrapUp");
  wrapUp.setAttribute("status", "completed");
  wrapUp.end();
  orchestrating.end();
});
await provider.shutdown();
