// The Node.js counterpart of otlp_grpc_fanout.ts: the guide's fan-out, exported over OTLP/gRPC
// as the OTEL_* environment says, by a program that never calls shutdown(). tests/programs_test.ts
// runs it with `node`, the bundle of otlp_bundle.ts on standard input.

let bundle = "";
for await (const chunk of process.stdin) bundle += chunk;
const { Activity, ActivityLink, ActivitySource, createTracerProviderBuilder } = await import(
  `data:text/javascript;base64,${Buffer.from(bundle).toString("base64")}`
);

const source = new ActivitySource("MyCompany.MyApplication");
createTracerProviderBuilder()
  .addSource("MyCompany.MyApplication")
  .setErrorHandler((error, where, level) =>
    console.log(JSON.stringify({ where, level, message: error.message }))
  )
  .addOtlpExporter()
  .build();

await source.startActiveActivity("OrchestratingActivity", async (orchestrating) => {
  orchestrating?.setTag("operation", "main-process");
  const links = [new ActivityLink(Activity.current.context)];
  await Promise.all([1, 2, 3].map((i) =>
    source.startActiveActivity(
      `FannedOutActivity ${i}`,
      { kind: "internal", links, root: true },
      async () => {
        await Promise.resolve();
      },
    )
  ));
  const wrapUp = source.startActivity("WrapUp");
  wrapUp?.setTag("status", "completed");
  wrapUp?.stop();
});

// Time for the scheduled export of the fan-out, then one more activity left in the queue.
await new Promise((resolve) => setTimeout(resolve, 300));
source.startActivity("Done")?.stop();
