// The attributes every resource a builder makes starts from, as OpenTelemetry's SDKs give them:
// `service.name` for a service that has not named itself (`unknown_service:<executable>`), the
// SDK (`telemetry.sdk.*`), the runtime (`process.runtime.*`), and the process id and host name
// where the runtime gives them without a permission prompt (Deno's host name needs
// `--allow-sys=hostname`, asked with `Deno.permissions.querySync`). Read once per program;
// nothing here throws.

import { MODULE_NAME, MODULE_VERSION } from "./_version.ts";

/** The default attributes, in the order a resource lists them. */
export type DefaultAttributes = readonly (readonly [string, string | number])[];

interface DenoLike {
  version?: { deno?: string };
  pid?: number;
  execPath?(): string;
  hostname?(): string;
  permissions?: { querySync?(descriptor: { name: "sys"; kind: "hostname" }): { state: string } };
}

interface ProcessLike {
  pid?: number;
  execPath?: string;
  versions?: { node?: string; bun?: string };
  getBuiltinModule?(name: string): unknown;
}

interface Runtime {
  readonly name: string;
  readonly version: string;
  readonly description: string;
  readonly language: "nodejs" | "webjs";
  readonly executable?: string | undefined;
  readonly pid?: number | undefined;
  readonly hostname?: string | undefined;
}

let cached: DefaultAttributes | undefined;

/** The default attributes of this program, read on first use. */
export function defaultAttributes(): DefaultAttributes {
  return cached ??= runtimeAttributes(globalThis);
}

/**
 * The default attributes of the runtime whose global object is `global` (`globalThis`; tests
 * pass others).
 */
export function runtimeAttributes(global: object): DefaultAttributes {
  return Object.freeze(attributesOf(detectRuntime(global)).map((a) => Object.freeze(a)));
}

/**
 * The attributes of a resource that the default resource does not supply with the same value:
 * what the program or its environment set. The console prints these.
 */
export function withoutDefaults<T extends readonly [string, unknown]>(
  attributes: readonly T[],
): T[] {
  const defaults = defaultAttributes();
  return attributes.filter(([key, value]) => !defaults.some(([k, v]) => k === key && v === value));
}

function attributesOf(runtime: Runtime): [string, string | number][] {
  const out: [string, string | number][] = [
    [
      "service.name",
      runtime.executable ? `unknown_service:${runtime.executable}` : "unknown_service",
    ],
    ["telemetry.sdk.name", MODULE_NAME],
    ["telemetry.sdk.language", runtime.language],
    ["telemetry.sdk.version", MODULE_VERSION],
    ["process.runtime.name", runtime.name],
    ["process.runtime.version", runtime.version],
    ["process.runtime.description", runtime.description],
  ];
  if (runtime.pid !== undefined) out.push(["process.pid", runtime.pid]);
  if (runtime.hostname) out.push(["host.name", runtime.hostname]);
  return out;
}

/** The base name of a path, on POSIX and Windows, without a Windows `.exe`. */
export function executableName(path: unknown): string | undefined {
  if (typeof path !== "string" || path === "") return undefined;
  const base = path.slice(Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\")) + 1);
  const name = /\.exe$/i.test(base) ? base.slice(0, -4) : base;
  return name === "" ? undefined : name;
}

function detectRuntime(globalObject: object): Runtime {
  const global = globalObject as { Deno?: DenoLike; process?: ProcessLike; navigator?: unknown };
  let process: ProcessLike | undefined;
  try {
    // Deno first, without reading `process`: in Deno that loads Node.js's process module, a cost
    // at start-up that a program not using it should not pay.
    const deno = global.Deno;
    if (typeof deno?.version?.deno === "string") return denoRuntime(deno, deno.version.deno);
    process = global.process;
    // Bun has `process.versions.node` too: it is told apart first.
    const bun = process?.versions?.bun;
    if (typeof bun === "string") return nodeLike(process!, "bun", bun, "Bun");
    const node = process?.versions?.node;
    if (typeof node === "string") return nodeLike(process!, "nodejs", node, "Node.js");
  } catch {
    // A runtime that cannot be read is described as unknown below.
  }
  let agent: unknown;
  try {
    agent = (global.navigator as { userAgent?: unknown } | undefined)?.userAgent;
  } catch {
    agent = undefined;
  }
  if (typeof agent === "string") {
    // OpenTelemetry's convention for browsers: the runtime's version is the user agent.
    return { name: "browser", version: agent, description: "Web browser", language: "webjs" };
  }
  return { name: "unknown", version: "unknown", description: "unknown", language: "nodejs" };
}

function denoRuntime(deno: DenoLike, version: string): Runtime {
  let executable: string | undefined;
  let hostname: string | undefined;
  try {
    executable = executableName(deno.execPath?.()); // no permission since Deno 2
  } catch {
    executable = undefined;
  }
  try {
    const state = deno.permissions?.querySync?.({ name: "sys", kind: "hostname" }).state;
    if (state === "granted") hostname = deno.hostname?.();
  } catch {
    hostname = undefined;
  }
  return {
    name: "deno",
    version,
    description: "Deno",
    language: "nodejs",
    executable: executable ?? "deno",
    pid: typeof deno.pid === "number" ? deno.pid : undefined,
    hostname,
  };
}

function nodeLike(
  process: ProcessLike,
  name: string,
  version: string,
  description: string,
): Runtime {
  let hostname: string | undefined;
  try {
    const os = process.getBuiltinModule?.("node:os") as { hostname?(): string } | undefined;
    hostname = os?.hostname?.();
  } catch {
    hostname = undefined;
  }
  return {
    name,
    version,
    description,
    language: "nodejs",
    executable: executableName(process.execPath) ?? (name === "nodejs" ? "node" : name),
    pid: typeof process.pid === "number" ? process.pid : undefined,
    hostname: typeof hostname === "string" ? hostname : undefined,
  };
}
