// The fan-out of the OpenTelemetry .NET links guide, sent over OTLP/HTTP to a local collector
// (or Jaeger all-in-one, which listens on 4318) instead of printed: an orchestrating activity,
// three fanned-out activities in traces of their own, each linked back to it, and a WrapUp
// child.
//
//   deno run --allow-net=localhost examples/otlp.ts
//
// Options come from the OTEL_EXPORTER_OTLP_* variables when their env permission is granted,
// for example:
//
//   OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4318 \
//     deno run --allow-net --allow-env=OTEL_EXPORTER_OTLP_ENDPOINT examples/otlp.ts
//
// Without a receiver, the failure is reported, the program says how many activities were lost,
// and it exits (status 1) within the export timeout.

import { Activity, ActivityLink, ActivitySource, createTracerProviderBuilder } from "../mod.ts";
import { OtlpExporter } from "../otlp/mod.ts";

const source = new ActivitySource("MyCompany.MyApplication", "1.0.0");

// The exporter is made here (rather than with addOtlpExporter) to read its counts at the end.
const exporter = new OtlpExporter({ timeout: 3000 });
const provider = createTracerProviderBuilder()
  .addSource("MyCompany.MyApplication")
  .setServiceName("otlp-example")
  .addBatchExporter(exporter)
  .build();

await source.startActiveActivity("OrchestratingActivity", async (orchestrating) => {
  orchestrating?.setTag("operation", "main-process");
  const links = [new ActivityLink(Activity.current!.context)];
  await Promise.all([1, 2, 3].map((n) =>
    source.startActiveActivity(
      `FannedOutActivity ${n}`,
      { kind: "internal", links, root: true },
      async () => {
        await new Promise((resolve) => setTimeout(resolve, 5));
      },
    )
  ));
  using wrapUp = source.startActivity("WrapUp");
  wrapUp?.setTag("status", "completed");
  console.log(`Orchestrating trace: ${orchestrating?.traceId}`);
});

// Exports what is queued and waits for it (at most the export timeout).
await provider.shutdown();

console.log(
  `Sent to ${exporter.url}: ${exporter.deliveredCount} delivered, ${exporter.lostCount} lost`,
);
if (exporter.lostCount > 0) Deno.exitCode = 1;
