// A program that never mentions a provider: run with `--import` of auto.ts, the environment
// decides where its activities go. With the argument "wait" it stays alive until a signal.
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
if (Deno.args[0] === "wait") {
  console.log("waiting");
  setTimeout(() => {}, 60_000);
}
