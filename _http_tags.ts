// The tags of OpenTelemetry's HTTP conventions that the client and the server wrappers of
// http.ts share: the method (an unknown one as `_OTHER`), the server's address and port, and a
// failure (`error.type`, the exception event and the error status).

import type { Activity } from "./activity.ts";

// The methods of RFC 9110 and PATCH (RFC 5789), the "known" methods of OpenTelemetry's HTTP
// conventions. Any other method is recorded as `_OTHER` and names the activity `HTTP`, so that
// a client cannot fill a backend with names of its own.
const KNOWN_METHODS = new Set([
  "CONNECT",
  "DELETE",
  "GET",
  "HEAD",
  "OPTIONS",
  "PATCH",
  "POST",
  "PUT",
  "TRACE",
]);

/** Adds the method tags and returns the method as it goes into the activity's name. */
export function methodTags(method: string, tags: [string, string | number][]): string {
  if (KNOWN_METHODS.has(method)) {
    tags.push(["http.request.method", method]);
    return method;
  }
  tags.push(["http.request.method", "_OTHER"], ["http.request.method_original", method]);
  return "HTTP";
}

/** Adds `server.address` and `server.port` of a URL. */
export function serverTags(url: URL, tags: [string, string | number][]): void {
  const port = url.port !== "" ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
  tags.push(["server.address", url.hostname], ["server.port", port]);
}

/** `error.type` of a thrown value: an error's name, else OpenTelemetry's `_OTHER`. */
export function errorType(error: unknown): string {
  try {
    if (error instanceof Error && typeof error.name === "string" && error.name !== "") {
      return error.name;
    }
  } catch {
    // A hostile error object.
  }
  return "_OTHER";
}

/** An error's message for a status description, never throwing. */
export function errorMessage(error: unknown): string | undefined {
  try {
    if (error instanceof Error) return String(error.message);
    if (typeof error === "string") return error;
  } catch {
    // A hostile error object: no description.
  }
  return undefined;
}

/** Records a failure on an activity: the exception event, `error.type` and the error status. */
export function failRequest(
  activity: Activity,
  error: unknown,
  type: string = errorType(error),
): void {
  activity.setTag("error.type", type).recordException(error)
    .setStatus("error", errorMessage(error));
}

/** The tags of a request to a server: method, URL parts, server, user agent; and the name. */
export function requestTags(request: Request): { name: string; tags: [string, string | number][] } {
  let url: URL | undefined;
  try {
    url = new URL(request.url);
  } catch {
    url = undefined;
  }
  const tags: [string, string | number][] = [];
  const name = methodTags(request.method, tags);
  if (url !== undefined) {
    tags.push(["url.path", url.pathname]);
    if (url.search !== "") tags.push(["url.query", url.search.slice(1)]);
    tags.push(["url.scheme", url.protocol.replace(/:$/, "")]);
    serverTags(url, tags);
  }
  const agent = request.headers.get("user-agent");
  if (agent !== null) tags.push(["user_agent.original", agent]);
  return { name, tags };
}
