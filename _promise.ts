// Telling a promise-like result (an exporter's export, a callback's return value) from a plain
// one, for code that must handle both.

/**
 * Whether a value has a `then` function: a promise or any other thenable. A value whose `then`
 * cannot be read (a throwing getter, a revoked proxy) counts as one, a thenable that rejects:
 * that is what `await` and `Promise.resolve` make of it, so a caller that goes on with
 * `Promise.resolve(value)` sees the error as a rejection. Never throws.
 */
export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  if ((typeof value !== "object" && typeof value !== "function") || value === null) return false;
  try {
    return typeof (value as { then?: unknown }).then === "function";
  } catch {
    return true;
  }
}
