// Runs the bundled module on Node.js or Bun: the fan-out, with the current activity carried by
// AsyncLocalStorage across timers. `.ci/run` bundles mod.ts next to this file as mod.js.
import assert from "node:assert/strict";
// The bundle is made by .ci/run; a computed specifier keeps type checkers from resolving it.
const bundle = new URL("./mod.js", import.meta.url).href;
const {
  Activity,
  ActivityLink,
  ActivitySource,
  contextBackend,
  createTracerProviderBuilder,
  defaultResource,
  InMemoryExporter,
} = await import(bundle);

assert.equal(contextBackend, "AsyncLocalStorage");
const exporter = new InMemoryExporter();
const source = new ActivitySource("MyCompany.MyApplication");
const provider = createTracerProviderBuilder()
  .addSource("MyCompany.MyApplication")
  .addInMemoryExporter(exporter)
  .build();

let orchestrator;
const currentInside = [];
await source.startActiveActivity("OrchestratingActivity", async (activity) => {
  orchestrator = activity;
  const links = [new ActivityLink(Activity.current.context)];
  await Promise.all(
    [1, 2, 3].map((n) =>
      source.startActiveActivity(`FannedOutActivity ${n}`, { links, root: true }, async () => {
        await new Promise((resolve) => setTimeout(resolve, 3 - n));
        currentInside[n - 1] = Activity.current.displayName;
      })
    ),
  );
  source.startActivity("WrapUp")?.stop();
});
await provider.shutdown();

assert.deepEqual(currentInside, [1, 2, 3].map((n) => `FannedOutActivity ${n}`));

const names = exporter.activities.map((a) => a.displayName);
assert.deepEqual(names.slice(3), ["WrapUp", "OrchestratingActivity"]);
const fannedOut = exporter.activities.slice(0, 3);
assert.equal(new Set(fannedOut.map((a) => a.traceId)).size, 3);
for (const activity of fannedOut) {
  assert.notEqual(activity.traceId, orchestrator.traceId);
  assert.deepEqual(activity.links.map((l) => l.context.spanId), [orchestrator.spanId]);
}
assert.equal(exporter.activities[3].parentSpanId, orchestrator.spanId);
assert.equal(Activity.current, undefined);
const runtime = "Bun" in globalThis ? "Bun" : "Node.js";

// The default resource describes the runtime it runs on, as OpenTelemetry's SDKs do.
const resource = defaultResource();
const isBun = runtime === "Bun";
const executable = process.execPath.split(/[\\/]/).pop().replace(/\.exe$/, "");
assert.equal(resource.get("service.name"), `unknown_service:${executable}`);
assert.equal(resource.get("telemetry.sdk.name"), "@tracelinks/activity");
assert.equal(resource.get("telemetry.sdk.language"), "nodejs");
assert.equal(resource.get("process.runtime.name"), isBun ? "bun" : "nodejs");
assert.equal(
  resource.get("process.runtime.version"),
  isBun ? process.versions.bun : process.versions.node,
);
assert.equal(typeof resource.get("process.runtime.description"), "string");
assert.equal(resource.get("process.pid"), process.pid);
assert.equal(typeof resource.get("host.name"), "string");
console.log(
  `${runtime} smoke test: the bundled module ran the fan-out correctly; default resource: ${
    resource.get("process.runtime.description")
  } ${resource.get("process.runtime.version")}, ${resource.get("service.name")}`,
);
