import assert from "node:assert/strict";
import { MODULE_NAME, MODULE_VERSION } from "../_version.ts";

Deno.test("MODULE_NAME and MODULE_VERSION are deno.json's name and version", async () => {
  const text = await Deno.readTextFile(new URL("../deno.json", import.meta.url)).catch(() =>
    undefined
  );
  // Without --allow-read the file is imported as JSON, which needs no permission.
  const config = text !== undefined
    ? JSON.parse(text)
    : (await import("../deno.json", { with: { type: "json" } })).default;
  assert.equal(MODULE_NAME, config.name);
  assert.equal(MODULE_VERSION, config.version);
});
