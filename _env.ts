// Reading environment variables without ever prompting: on Deno, only when
// `Deno.permissions.querySync` says the env permission for that variable is already granted; on
// Node and Bun from `process.env`; nowhere else. What the OTEL_* variables configure is read by
// _env_config.ts.

/** Reads one environment variable: its value, or `undefined` when unset or unreadable. */
export type EnvReader = (name: string) => string | undefined;

/**
 * Where a tracer provider builder reads `OTEL_*` variables from: a function that returns a
 * variable's value, or a record of values.
 */
export type EnvironmentSource =
  | ((name: string) => string | undefined)
  | Readonly<Record<string, string | undefined>>;

interface DenoEnv {
  permissions?: {
    querySync?(descriptor: { name: "env"; variable: string }): { state: string };
  };
  env?: { get(name: string): string | undefined };
}

/**
 * Reads a variable from the runtime without ever prompting: on Deno only when the permission
 * for it is already granted, on Node and Bun from `process.env`.
 */
export function runtimeEnv(name: string): string | undefined {
  try {
    const deno = (globalThis as { Deno?: DenoEnv }).Deno;
    if (deno !== undefined) {
      const query = deno.permissions?.querySync;
      if (typeof query !== "function" || deno.env === undefined) return undefined;
      const state = query.call(deno.permissions, { name: "env", variable: name }).state;
      return state === "granted" ? deno.env.get(name) : undefined;
    }
    const env = (globalThis as { process?: { env?: Record<string, string | undefined> } })
      .process?.env;
    const value = env?.[name];
    return typeof value === "string" ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The variables among `names` that {@linkcode runtimeEnv} cannot read for want of a permission:
 * on Deno, those whose env permission is not granted (asked without a prompt); elsewhere none.
 * Whether they are set cannot be told without the permission.
 */
export function unreadableEnv(names: readonly string[]): string[] {
  try {
    const deno = (globalThis as { Deno?: DenoEnv }).Deno;
    const query = deno?.permissions?.querySync;
    if (deno === undefined || typeof query !== "function") return [];
    return names.filter((variable) =>
      query.call(deno.permissions, { name: "env", variable }).state !== "granted"
    );
  } catch {
    return [];
  }
}

/** Turns an environment source into a reader. */
export function toEnvReader(source: EnvironmentSource): EnvReader {
  if (typeof source === "function") {
    return (name) => {
      const value = source(name);
      return typeof value === "string" ? value : undefined;
    };
  }
  return (name) => {
    const value = Object.hasOwn(source, name) ? source[name] : undefined;
    return typeof value === "string" ? value : undefined;
  };
}
