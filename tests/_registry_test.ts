import assert from "node:assert/strict";
import config from "../deno.json" with { type: "json" };
import { REGISTRY_KEY, REGISTRY_VERSION } from "../_registry.ts";

Deno.test("REGISTRY_VERSION names the versions that share state: 0.<minor> before 1.0, else the major", () => {
  const [major, minor] = config.version.split(".");
  assert.equal(REGISTRY_VERSION, major === "0" ? `0.${minor}` : major);
  assert.equal(REGISTRY_KEY, `@tracelinks/activity/v${REGISTRY_VERSION}`);
  const registry = (globalThis as Record<symbol, unknown>)[Symbol.for(REGISTRY_KEY)];
  assert.equal((registry as { version: string }).version, REGISTRY_VERSION);
  assert.equal(Object.keys(globalThis).includes(String(Symbol.for(REGISTRY_KEY))), false);
});
