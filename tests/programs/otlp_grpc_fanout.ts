// The guide's fan-out (examples/fanout.ts), exported with an OTLP exporter configured from the
// OTEL_* environment only (tests/programs_test.ts sets OTEL_EXPORTER_OTLP_PROTOCOL=grpc and an
// endpoint), by a program that never calls shutdown(). With a short OTEL_BSP_SCHEDULE_DELAY the
// fan-out goes while the program runs, and its session must not keep the program alive; the
// last activity, "Done", waits in the queue for the batch processor's end-of-program flush.
// Reports are printed as JSON lines.

import { Activity, ActivityLink, ActivitySource, createTracerProviderBuilder } from "../../mod.ts";

const source = new ActivitySource("MyCompany.MyApplication");
createTracerProviderBuilder()
  .addSource("MyCompany.MyApplication")
  .setErrorHandler((error, where, level) =>
    console.log(JSON.stringify({ where, level, message: (error as Error).message }))
  )
  .addOtlpExporter()
  .build();

await source.startActiveActivity("OrchestratingActivity", async (orchestrating) => {
  orchestrating?.setTag("operation", "main-process");
  const links = [new ActivityLink(Activity.current!.context)];
  await Promise.all(Array.from({ length: 3 }, (_, i) =>
    source.startActiveActivity(
      `FannedOutActivity ${i + 1}`,
      { kind: "internal", links, root: true },
      async () => {
        await Promise.resolve();
      },
    )));
  using wrapUp = source.startActivity("WrapUp");
  wrapUp?.setTag("status", "completed");
});

// Time for the scheduled export of the fan-out, then one more activity left in the queue.
await new Promise((resolve) => setTimeout(resolve, 300));
source.startActivity("Done")?.stop();
