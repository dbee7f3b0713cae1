// Ends 1,000 activities through batch processors and never calls shutdown(). Its first argument
// says how the program ends: "end" (it runs out of work) or "exit" (Deno.exit() while
// activities wait); the second, if given, is an OTLP endpoint to send to as well. An
// asynchronous exporter prints each name after a timer; with "exit", a synchronous one prints
// "sync <name>". Reports are printed as JSON lines. tests/programs_test.ts runs it.

import { type Activity, ActivitySource, createTracerProviderBuilder } from "../../mod.ts";

const [mode, endpoint] = Deno.args;
const builder = createTracerProviderBuilder()
  .addSource("Exit")
  .setErrorHandler((error, where, level) =>
    console.log(JSON.stringify({ where, level, message: (error as Error).message }))
  )
  .addBatchExporter({
    async export(activities: readonly Activity[]) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      for (const activity of activities) console.log(activity.displayName);
    },
  });
if (mode === "exit") {
  builder.addBatchExporter({
    export(activities: readonly Activity[]) {
      for (const activity of activities) console.log(`sync ${activity.displayName}`);
    },
  });
}
if (endpoint !== undefined) builder.addOtlpExporter({ endpoint, env: () => undefined });
builder.build();

const source = new ActivitySource("Exit");
for (let i = 0; i < 1000; i++) source.startActivity(`Op ${i}`)?.stop();
if (mode === "exit") Deno.exit(0);
