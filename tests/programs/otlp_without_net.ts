// Sends five activities with addOtlpExporter() and its defaults, then prints the provider's
// reports as JSON. tests/programs_test.ts runs it without --allow-net.

import { ActivitySource, createTracerProviderBuilder } from "../../mod.ts";

const reports: { where: string; level: string | undefined; message: string }[] = [];
const provider = createTracerProviderBuilder()
  .addSource("NoNet")
  .setErrorHandler((error, where, level) =>
    reports.push({ where, level, message: error instanceof Error ? error.message : String(error) })
  )
  .addOtlpExporter()
  .build();
const source = new ActivitySource("NoNet");
for (let i = 0; i < 5; i++) source.startActivity(`Op ${i}`)?.stop();
await provider.shutdown();
console.log(JSON.stringify(reports));
