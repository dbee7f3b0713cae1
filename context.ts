/**
 * Async-context storage: a value that follows the logical flow of a program through `await`,
 * promise callbacks and timers, changed only for the duration of a callback. It is what keeps
 * `Activity.current`.
 *
 * The backend is the TC39 `AsyncContext.Variable` where the runtime has it, else
 * `AsyncLocalStorage` from `node:async_hooks` (Deno, Node and Bun), loaded without a static
 * import so the module still loads in a browser, where the value is kept only through
 * synchronous calls. The imperative setter of `AsyncLocalStorage` is never used: it leaks the
 * value into the caller and into sibling tasks.
 *
 * @example A value seen through await, and only inside the callback
 * ```ts
 * import { ContextVariable } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * const requestId = new ContextVariable<string>();
 * await requestId.run("r-1", async () => {
 *   await Promise.resolve();
 *   assert.equal(requestId.get(), "r-1");
 * });
 * assert.equal(requestId.get(), undefined);
 * ```
 *
 * @module
 */

import { reportModuleOnce } from "./_diagnostics.ts";
import { isPromiseLike } from "./_promise.ts";

/** Which mechanism carries context values in this runtime. */
export type ContextBackend = "AsyncContext" | "AsyncLocalStorage" | "synchronous";

interface Store<T> {
  get(): T | undefined;
  run<R>(value: T | undefined, fn: () => R): R;
}

interface AsyncContextVariableLike<T> {
  get(): T | undefined;
  run<R>(value: T | undefined, fn: () => R): R;
}

interface AsyncLocalStorageLike<T> {
  getStore(): T | undefined;
  run<R>(value: T | undefined, fn: () => R): R;
}

type AsyncLocalStorageClass = new <T>() => AsyncLocalStorageLike<T>;

const asyncContextVariable = (globalThis as {
  AsyncContext?: { Variable?: new <T>() => AsyncContextVariableLike<T> };
}).AsyncContext?.Variable;

type BuiltinModules = { getBuiltinModule?: (name: string) => unknown };

/** `process`, when it can load Node.js's built-in modules (Node.js 20.16+, Bun, Deno 2). */
function builtinModules(): BuiltinModules | undefined {
  try {
    const proc = (globalThis as { process?: BuiltinModules }).process;
    return typeof proc?.getBuiltinModule === "function" ? proc : undefined;
  } catch {
    return undefined;
  }
}

// Deno makes `process` on first access, which takes milliseconds (it loads Node.js's process
// module): there it is only checked to be present (`in` does not make it) until a variable first
// runs with a value, since Deno 2 has getBuiltinModule. Elsewhere `process` is asked at once.
const hasBuiltinModules = typeof (globalThis as { Deno?: unknown }).Deno === "object"
  ? "process" in globalThis
  : builtinModules() !== undefined;

/** AsyncLocalStorage once loaded (`null`: it could not be), `undefined` before. */
let asyncLocalStorage: AsyncLocalStorageClass | null | undefined;

/**
 * Loads AsyncLocalStorage, on the first `run` of a variable: `node:async_hooks` takes
 * milliseconds to load in Deno, which a program that never makes an activity current (one
 * that only records, say) need not pay at start-up.
 */
function loadAsyncLocalStorage(): AsyncLocalStorageClass | null {
  if (asyncLocalStorage === undefined) {
    try {
      const hooks = builtinModules()?.getBuiltinModule?.("node:async_hooks") as
        | { AsyncLocalStorage?: AsyncLocalStorageClass }
        | undefined;
      asyncLocalStorage = hooks?.AsyncLocalStorage ?? null;
    } catch {
      asyncLocalStorage = null;
    }
  }
  return asyncLocalStorage;
}

/**
 * The mechanism this runtime uses for context values: `"AsyncContext"`,
 * `"AsyncLocalStorage"`, or `"synchronous"` where neither exists (values then do not survive
 * an `await`; the first async callback run with a new value is reported once, as a warning, to
 * the error handler of every live tracer provider, or on stderr when there is none).
 *
 * @example
 * ```ts
 * import { contextBackend } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * assert.notEqual(contextBackend, "synchronous"); // Deno has AsyncLocalStorage
 * ```
 */
export const contextBackend: ContextBackend = asyncContextVariable
  ? "AsyncContext"
  : hasBuiltinModules
  ? "AsyncLocalStorage"
  : "synchronous";

class SynchronousStore<T> implements Store<T> {
  #value: T | undefined = undefined;
  get(): T | undefined {
    return this.#value;
  }
  run<R>(value: T | undefined, fn: () => R): R {
    const previous = this.#value;
    this.#value = value;
    let result: R;
    try {
      result = fn();
    } finally {
      this.#value = previous;
    }
    // A new value for an async callback lasts only until its first await: say so.
    if (value !== previous && isPromiseLike(result)) warnSynchronous();
    return result;
  }
}

/** Says once per program that values set for an async callback do not reach its awaits. */
function warnSynchronous(): void {
  reportModuleOnce(
    "synchronous-context",
    new Error(
      "This runtime has neither AsyncContext nor AsyncLocalStorage (Node.js before 20.16, a browser, or a runtime without process.getBuiltinModule): an async callback was run with a current activity (or context value), which it keeps only until its first await; activities started after an await do not find their parent",
    ),
    "ContextVariable.run",
    "warn",
  );
}

class LocalStorageStore<T> implements Store<T> {
  readonly #storage: AsyncLocalStorageLike<T>;
  constructor(storage: AsyncLocalStorageLike<T>) {
    this.#storage = storage;
  }
  get(): T | undefined {
    return this.#storage.getStore();
  }
  run<R>(value: T | undefined, fn: () => R): R {
    return this.#storage.run(value, fn);
  }
}

function newStore<T>(): Store<T> {
  if (asyncContextVariable) return new asyncContextVariable<T>();
  const storage = loadAsyncLocalStorage();
  if (storage) return new LocalStorageStore(new storage<T>());
  return new SynchronousStore<T>();
}

/**
 * A value carried through the async flow of a program, like TC39's `AsyncContext.Variable`:
 * {@linkcode ContextVariable.get} reads it, {@linkcode ContextVariable.run} sets it for the
 * duration of a callback and everything that callback starts. There is no setter.
 *
 * @typeParam T The type of the value.
 *
 * @example Concurrent flows keep their own values
 * ```ts
 * import { ContextVariable } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * const user = new ContextVariable<string>();
 * const seen = await Promise.all(["ada", "grace"].map((name) =>
 *   user.run(name, async () => {
 *     await new Promise((resolve) => setTimeout(resolve, 1));
 *     return user.get();
 *   })
 * ));
 * assert.deepEqual(seen, ["ada", "grace"]);
 * ```
 */
export class ContextVariable<T> {
  // Made on the first run with a value: until then every flow's value is undefined.
  #store: Store<T> | undefined = undefined;

  /**
   * Returns the value of the current flow.
   *
   * @returns The value, or `undefined` outside any {@linkcode ContextVariable.run}.
   */
  get(): T | undefined {
    const store = this.#store;
    return store === undefined ? undefined : store.get();
  }

  /**
   * Calls `fn` with the value set to `value` for the call and for everything it starts
   * (awaits, promise callbacks, timers); the value outside is unchanged.
   *
   * @param value The value for the callback's flow; `undefined` clears it.
   * @param fn The callback.
   * @returns What `fn` returns (a promise stays a promise).
   */
  run<R>(value: T | undefined, fn: () => R): R {
    let store = this.#store;
    if (store === undefined) {
      // No flow has a value yet, so running without one changes nothing.
      if (value === undefined) return fn();
      store = this.#store = newStore<T>();
    }
    return store.run(value, fn);
  }
}
