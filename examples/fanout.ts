// The fan-out example of the OpenTelemetry .NET guide "Creating links between traces":
// an orchestrating activity fans out to three new root activities, each in a trace of its own
// with a link back to the orchestrator, then finishes with a child activity.
//
//   deno run examples/fanout.ts
//
// Prints five records: FannedOutActivity 1 to 3, WrapUp, then OrchestratingActivity.

import { Activity, ActivityLink, ActivitySource, createTracerProviderBuilder } from "../mod.ts";

// Create an activity source
const source = new ActivitySource("MyCompany.MyApplication");

// Configure tracing
using _provider = createTracerProviderBuilder()
  .addSource("MyCompany.MyApplication")
  .addConsoleExporter()
  .build();

// Start a parent activity, current for the callback
await source.startActiveActivity("OrchestratingActivity", async (orchestrating) => {
  orchestrating?.setTag("operation", "main-process");

  // Fan out to several operations with linked activities
  await doFanout(source, 3);

  // Continue with the original activity: still the current one here
  using wrapUp = source.startActivity("WrapUp");
  wrapUp?.setTag("status", "completed");
});

// Starts new root activities that link to the current activity. There is nothing to
// restore afterwards: the current activity changes only inside each callback.
async function doFanout(source: ActivitySource, operationCount: number): Promise<void> {
  // The context of the current activity, for linking
  const links = [new ActivityLink(Activity.current!.context)];

  const tasks = Array.from({ length: operationCount }, (_, i) =>
    // root: true starts a new trace although an activity is current
    source.startActiveActivity(
      `FannedOutActivity ${i + 1}`,
      { kind: "internal", links, root: true },
      async () => {
        // Perform work for this operation...
        await Promise.resolve();
      },
    ));

  // Wait for all fanned-out operations to complete
  await Promise.all(tasks);
}
