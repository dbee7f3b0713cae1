// The attributes of the `exception` event OpenTelemetry JS records for `span.recordException`:
// a string is the message; an object gives `exception.type` (its `code`, else its `name`),
// `exception.message` and `exception.stacktrace`; with neither a type nor a message nothing is
// recorded.

/** The event's attributes, or `undefined` when there is nothing to record. */
export function exceptionAttributes(exception: unknown): [string, never][] | undefined {
  const out: [string, string][] = [];
  try {
    if (typeof exception === "string") {
      out.push(["exception.message", exception]);
    } else if (typeof exception === "object" && exception !== null) {
      const { code, name, message, stack } = exception as Record<string, unknown>;
      if (code) out.push(["exception.type", String(code)]);
      else if (name) out.push(["exception.type", String(name)]);
      if (message) out.push(["exception.message", String(message)]);
      if (stack) out.push(["exception.stacktrace", String(stack)]);
    }
  } catch {
    // A hostile exception object: what was read is recorded.
  }
  const named = out.some(([key]) => key === "exception.type" || key === "exception.message");
  return named ? out as [string, never][] : undefined;
}
