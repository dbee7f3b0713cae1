// Telling a promise-like result (an exporter's export, a callback's return value) from a plain
// one, for code that must handle both.

/** Whether a value has a `then` function: a promise or any other thenable. */
export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === "object" || typeof value === "function") && value !== null &&
    typeof (value as { then?: unknown }).then === "function";
}
