// The Node.js counterpart of two_bundles.ts: the bundles of mod.ts and http.ts come as JSON on
// standard input ({ mod, http }); mod.ts is loaded twice (two module URLs), http.ts once.

import { scenario } from "./two_bundles_scenario.mjs";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const { mod, http } = JSON.parse(input);
const load = (text) =>
  import(`data:text/javascript;base64,${Buffer.from(text).toString("base64")}`);
const core = await load(mod);
const other = await load(`${mod}\n// the second copy\n`);
const httpCopy = await load(http);
console.log(JSON.stringify(await scenario(core, other, httpCopy)));
