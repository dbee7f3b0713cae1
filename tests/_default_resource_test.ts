import assert from "node:assert/strict";
import {
  defaultAttributes,
  executableName,
  runtimeAttributes,
  withoutDefaults,
} from "../_default_resource.ts";
import { defaultResource } from "../mod.ts";

Deno.test("defaultResource() describes this Deno process", () => {
  const resource = defaultResource();
  assert.equal(resource, defaultResource());
  const hostname = Deno.permissions.querySync({ name: "sys", kind: "hostname" }).state ===
    "granted";
  assert.deepEqual(resource.attributes, [
    ["service.name", `unknown_service:${executableName(Deno.execPath())}`],
    ["telemetry.sdk.name", "@tracelinks/activity"],
    ["telemetry.sdk.language", "nodejs"],
    ["telemetry.sdk.version", "0.1.0"],
    ["process.runtime.name", "deno"],
    ["process.runtime.version", Deno.version.deno],
    ["process.runtime.description", "Deno"],
    ["process.pid", Deno.pid],
    // Only where the sys permission for the host name is already granted: never a prompt.
    ...(hostname ? [["host.name", Deno.hostname()]] : []),
  ]);
});

Deno.test("runtimeAttributes() reads Node, Bun and browsers", async (t) => {
  const os = { hostname: () => "box" };
  await t.step("Node.js", () => {
    const process = {
      pid: 7,
      execPath: "/usr/local/bin/node",
      versions: { node: "22.1.0" },
      getBuiltinModule: (name: string) => name === "node:os" ? os : undefined,
    };
    assert.deepEqual(runtimeAttributes({ process }), [
      ["service.name", "unknown_service:node"],
      ["telemetry.sdk.name", "@tracelinks/activity"],
      ["telemetry.sdk.language", "nodejs"],
      ["telemetry.sdk.version", "0.1.0"],
      ["process.runtime.name", "nodejs"],
      ["process.runtime.version", "22.1.0"],
      ["process.runtime.description", "Node.js"],
      ["process.pid", 7],
      ["host.name", "box"],
    ]);
  });
  await t.step("Bun, which also has process.versions.node", () => {
    const process = {
      pid: 8,
      execPath: "C:\\bun\\bun.exe",
      versions: { node: "22.6.0", bun: "1.2.0" },
    };
    const attributes = runtimeAttributes({ process, Bun: {} });
    assert.deepEqual(attributes.filter(([key]) => !key.startsWith("telemetry.")), [
      ["service.name", "unknown_service:bun"],
      ["process.runtime.name", "bun"],
      ["process.runtime.version", "1.2.0"],
      ["process.runtime.description", "Bun"],
      ["process.pid", 8],
    ]);
  });
  await t.step("a browser: webjs, the user agent as version, no process", () => {
    const attributes = runtimeAttributes({ navigator: { userAgent: "Mozilla/5.0" } });
    assert.deepEqual(attributes.filter(([key]) => key !== "telemetry.sdk.version"), [
      ["service.name", "unknown_service"],
      ["telemetry.sdk.name", "@tracelinks/activity"],
      ["telemetry.sdk.language", "webjs"],
      ["process.runtime.name", "browser"],
      ["process.runtime.version", "Mozilla/5.0"],
      ["process.runtime.description", "Web browser"],
    ]);
  });
  await t.step("throwing getters describe an unknown runtime and never throw", () => {
    const hostile = {
      get process(): never {
        throw new Error("boom");
      },
      get navigator(): never {
        throw new Error("boom");
      },
    };
    assert.deepEqual(runtimeAttributes(hostile).slice(4), [
      ["process.runtime.name", "unknown"],
      ["process.runtime.version", "unknown"],
      ["process.runtime.description", "unknown"],
    ]);
  });
});

Deno.test("executableName() is the base name without .exe", () => {
  assert.equal(executableName("/usr/bin/deno"), "deno");
  assert.equal(executableName("C:\\Program Files\\nodejs\\node.exe"), "node");
  assert.equal(executableName("/"), undefined);
  assert.equal(executableName(""), undefined);
  assert.equal(executableName(42), undefined);
});

Deno.test("withoutDefaults() keeps what differs from the default attributes", () => {
  const defaults = [...defaultAttributes()];
  assert.deepEqual(withoutDefaults(defaults), []);
  assert.deepEqual(
    withoutDefaults([["service.name", "checkout"], ...defaults.slice(1), ["zone", "eu"]]),
    [["service.name", "checkout"], ["zone", "eu"]],
  );
});
