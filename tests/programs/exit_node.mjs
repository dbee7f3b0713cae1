// The Node.js counterpart of exit_without_shutdown.ts ("end" mode): 1,000 activities through a
// batch processor, no shutdown(). tests/programs_test.ts runs it with `node`, the bundled module
// on standard input.

let bundle = "";
for await (const chunk of process.stdin) bundle += chunk;
const { ActivitySource, createTracerProviderBuilder } = await import(
  `data:text/javascript;base64,${Buffer.from(bundle).toString("base64")}`
);

createTracerProviderBuilder()
  .addSource("Exit")
  .setErrorHandler((error, where, level) =>
    console.log(JSON.stringify({ where, level, message: error.message }))
  )
  .addBatchExporter({
    async export(activities) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      for (const activity of activities) console.log(activity.displayName);
    },
  })
  .build();
const source = new ActivitySource("Exit");
for (let i = 0; i < 1000; i++) source.startActivity(`Op ${i}`)?.stop();
