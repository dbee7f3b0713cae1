// The process-wide registry: state that every copy of this module loaded in one program shares
// (two bundles, or two installs of compatible versions), so that they act as one module: the
// storage of the current activity, the activity listeners and sources, the handlers that hear
// module-wide diagnostics. It lives on `globalThis` under `Symbol.for(REGISTRY_KEY)`; the key
// names the module and the versions that may share it. Before 1.0 each minor version may change
// what is shared, so the key holds `0.<minor>`; from 1.0 on it holds the major version.
//
// A copy that finds the key holding something it cannot use keeps a registry of its own, and a
// copy that finds the registry of another version keeps its own too: `otherVersions` names
// them, and the first module to load that can report says so once.

/** The versions that share a registry: `0.<minor>` before 1.0, the major version after. */
export const REGISTRY_VERSION = "0.1";

/** What the registry is registered under, as `Symbol.for(REGISTRY_KEY)`. */
export const REGISTRY_KEY = `@tracelinks/activity/v${REGISTRY_VERSION}`;

/** The prefix of every version's key. */
const KEY_PREFIX = "@tracelinks/activity/v";

/** The shape of the registry: named slots, each made by the first copy that needs it. */
type Registry = Record<string, unknown> & { readonly version: string };

/** The symbols copies brand their objects with, so that they recognise each other's. */
export const BRANDS = {
  activity: Symbol.for(`${REGISTRY_KEY} Activity`),
  context: Symbol.for(`${REGISTRY_KEY} ActivityContext`),
  link: Symbol.for(`${REGISTRY_KEY} ActivityLink`),
  frame: Symbol.for(`${REGISTRY_KEY} context frame`),
} as const;

/** Why this copy keeps a registry of its own, or `undefined` when it shares the process's. */
export let registryProblem: string | undefined;

/** The keys of other versions' registries found on `globalThis` when this copy loaded. */
export const otherVersions: readonly string[] = findOtherVersions();

const registry: Registry = openRegistry();

function openRegistry(): Registry {
  const key = Symbol.for(REGISTRY_KEY);
  const global = globalThis as Record<symbol, unknown>;
  let found: unknown;
  try {
    found = global[key];
    if (found === undefined) {
      const made = Object.assign(Object.create(null), { version: REGISTRY_VERSION }) as Registry;
      Object.defineProperty(globalThis, key, { value: made, configurable: true });
      return made;
    }
    if (typeof found === "object" && found !== null) {
      if ((found as Registry).version === REGISTRY_VERSION) return found as Registry;
    }
    registryProblem = `globalThis[Symbol.for("${REGISTRY_KEY}")] holds something else`;
  } catch (error) {
    registryProblem = `globalThis[Symbol.for("${REGISTRY_KEY}")] cannot be used (${
      error instanceof Error ? error.message : "unreadable"
    })`;
  }
  return Object.assign(Object.create(null), { version: REGISTRY_VERSION }) as Registry;
}

function findOtherVersions(): string[] {
  const out: string[] = [];
  try {
    for (const symbol of Object.getOwnPropertySymbols(globalThis)) {
      const name = Symbol.keyFor(symbol);
      if (name !== undefined && name.startsWith(KEY_PREFIX) && name !== REGISTRY_KEY) {
        out.push(name);
      }
    }
  } catch {
    // A global object that cannot be listed: nothing is known of other versions.
  }
  return out;
}

/**
 * The registry's slot `name`, made by `make` when no copy has made it yet. Each copy calls it
 * once per slot, when its module loads.
 */
export function shared<T>(name: string, make: () => T): T {
  if (!(name in registry)) registry[name] = make();
  return registry[name] as T;
}

/**
 * Whether a value carries a brand (an object of some copy of this module); never throws, also
 * for a revoked proxy or a throwing getter.
 */
export function hasBrand(value: unknown, brand: symbol): boolean {
  if (typeof value !== "object" || value === null) return false;
  try {
    return (value as Record<symbol, unknown>)[brand] === true;
  } catch {
    return false;
  }
}

/** Puts a brand on a class's prototype (not enumerable, not writable). */
export function brand(prototype: object, symbol: symbol): void {
  Object.defineProperty(prototype, symbol, { value: true });
}
