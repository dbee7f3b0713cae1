// Runs the module as where neither AsyncContext nor AsyncLocalStorage exists (Node.js before
// 20.16, browsers): `process` is removed before the module loads (in Deno the module only
// checks that `process` is there, as making it takes milliseconds; Deno 2 can load
// AsyncLocalStorage through it). With "provider"
// as argument, a provider with an error handler is built first. Prints the context backend, the
// reports, and whether an activity started after an await found its parent, as JSON.
// tests/programs_test.ts runs it.

delete (globalThis as { process?: unknown }).process;
const { ActivitySource, contextBackend, ContextVariable, createTracerProviderBuilder } =
  await import("../../mod.ts");

const reports: { where: string; level: string | undefined; message: string }[] = [];
const withProvider = Deno.args[0] === "provider";
const provider = withProvider
  ? createTracerProviderBuilder().addSource("Sync")
    .setErrorHandler((error, where, level) =>
      reports.push({ where, level, message: (error as Error).message })
    )
    .build()
  : undefined;

const parents: boolean[] = [];
if (withProvider) {
  const source = new ActivitySource("Sync");
  for (let i = 0; i < 2; i++) {
    await source.startActiveActivity("Outer", async (outer) => {
      await Promise.resolve();
      const inner = source.startActivity("Inner");
      parents.push(inner?.parentSpanId === outer?.spanId);
      inner?.stop();
    });
  }
  // Synchronous callbacks keep their value: nothing to say about them.
  source.startActiveActivity("Sync", () => {});
} else {
  const variable = new ContextVariable<string>();
  await variable.run("value", async () => {});
  await variable.run("value", async () => {});
}
await provider?.shutdown();
console.log(JSON.stringify({ contextBackend, reports, parents }));
