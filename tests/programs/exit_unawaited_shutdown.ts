// Starts a shutdown and does not await it; the processor's shutdown waits on a timer that does not
// keep the program alive (as the runtime's own batch timers do not). Prints what the processor
// exported and the provider's reports. tests/programs_test.ts runs it.

import { type Activity, ActivitySource, createTracerProviderBuilder } from "../../mod.ts";

const held: string[] = [];
const provider = createTracerProviderBuilder()
  .addSource("Unawaited")
  .setErrorHandler((error, where) => console.log(`${where}: ${(error as Error).message}`))
  .addProcessor({
    onEnd: (activity: Activity) => void held.push(activity.displayName),
    shutdown: () =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          console.log(`exported ${held.join(", ")}`);
          resolve();
        }, 20);
        Deno.unrefTimer(timer);
      }),
  })
  .build();
new ActivitySource("Unawaited").startActivity("Work")?.stop();
provider.shutdown();
