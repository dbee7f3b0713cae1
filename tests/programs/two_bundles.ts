// Two copies of the module in one program, as two bundles give them: `mod.ts` bundled twice and
// `http.ts` bundled once, each file a copy of its own. Prints what the test checks as JSON.
// Run with --allow-run=deno --allow-read --allow-write (for the bundles in a temporary folder).

const root = new URL("../../", import.meta.url).pathname;
const dir = await Deno.makeTempDir({ prefix: "two_bundles_" });
for (const [entry, out] of [["mod.ts", "mod.js"], ["mod.ts", "mod2.js"], ["http.ts", "http.js"]]) {
  const done = await new Deno.Command("deno", {
    args: ["bundle", "--quiet", `${root}${entry}`, "-o", `${dir}/${out}`],
  }).output();
  if (!done.success) throw new Error(new TextDecoder().decode(done.stderr));
}
if (Deno.args.includes("--other-version")) {
  // A registry of another version, as a copy of version 9 would leave it.
  Object.defineProperty(globalThis, Symbol.for("@tracelinks/activity/v9"), { value: {} });
}
const core = await import(`${dir}/mod.js`);
const other = await import(`${dir}/mod2.js`);
const http = await import(`${dir}/http.js`);
await Deno.remove(dir, { recursive: true });

const { scenario } = await import("./two_bundles_scenario.mjs");
console.log(JSON.stringify(await scenario(core, other, http)));
