// The Node.js counterpart of `--import auto.ts` with auto_app.ts: auto.ts imported first, then
// a program that never mentions a provider. tests/auto_test.ts bundles it into one file (so
// that both share the module) and runs it with `node`, the bundle on standard input. With
// AUTO_WAIT set it stays alive until a signal.
import "../../auto.ts";
import { ActivityLink, ActivitySource } from "../../mod.ts";

const source = new ActivitySource("MyCompany.MyApplication");
await source.startActiveActivity("OrchestratingActivity", async (orchestrating) => {
  const links = [new ActivityLink(orchestrating!.context)];
  await Promise.all(
    [1, 2, 3].map((n) =>
      source.startActiveActivity(`FannedOutActivity ${n}`, { links, root: true }, async () => {})
    ),
  );
});

const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env;
if (env?.AUTO_WAIT !== undefined) {
  console.log("waiting");
  setTimeout(() => {}, 60_000);
}
