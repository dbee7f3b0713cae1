// Telling a promise-like result (an exporter's export, a callback's return value) from a plain
// one, for code that must handle both.

/**
 * Whether a value has a `then` function: a promise or any other thenable. A value whose `then`
 * cannot be read (a throwing getter, a revoked proxy) is not promise-like. Never throws.
 */
export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  if ((typeof value !== "object" && typeof value !== "function") || value === null) return false;
  try {
    return typeof (value as { then?: unknown }).then === "function";
  } catch {
    return false;
  }
}
