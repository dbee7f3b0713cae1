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

/** The parts of an `http:` or `https:` URL that the server tags hold. */
interface UrlParts {
  /** `http` or `https`. */
  scheme: string;
  /** As `URL.hostname` has it (an IPv6 address in brackets). */
  hostname: string;
  /** As `URL.port` has it: `""` for none. */
  port: string;
  /** As `URL.pathname`. */
  path: string;
  /** As `URL.search` without its `?`. */
  query: string;
}

/**
 * Reads the parts of a serialized `http:` or `https:` URL (what `Request.url` gives: already
 * parsed and normalized, so no parsing rule is left but where the parts are): the same as
 * `new URL(href)` gives, without building a URL. `undefined` for another scheme, a URL with
 * user information, or anything unexpected, which the caller reads with `URL`.
 */
export function httpUrlParts(href: string): UrlParts | undefined {
  let at: number;
  let scheme: string;
  if (href.startsWith("http://")) {
    at = 7;
    scheme = "http";
  } else if (href.startsWith("https://")) {
    at = 8;
    scheme = "https";
  } else {
    return undefined;
  }
  let end = at;
  while (end < href.length) {
    const c = href.charCodeAt(end);
    if (c === 0x2f || c === 0x3f || c === 0x23) break; // "/", "?", "#"
    if (c === 0x40 || c === 0x5c) return undefined; // "@" (user information), "\"
    end++;
  }
  const host = href.slice(at, end);
  const colon = host.lastIndexOf(":");
  const hostEnd = colon > host.lastIndexOf("]") ? colon : host.length;
  const hostname = host.slice(0, hostEnd);
  if (hostname === "") return undefined;
  const port = hostEnd < host.length ? host.slice(hostEnd + 1) : "";
  let hash = href.indexOf("#", end);
  if (hash < 0) hash = href.length;
  let question = href.indexOf("?", end);
  if (question < 0 || question > hash) question = hash;
  const path = question > end ? href.slice(end, question) : "/";
  const query = question + 1 < hash ? href.slice(question + 1, hash) : "";
  return { scheme, hostname, port, path, query };
}

function urlPartsOf(href: string): UrlParts | undefined {
  const parts = httpUrlParts(href);
  if (parts !== undefined) return parts;
  try {
    const url = new URL(href);
    return {
      scheme: url.protocol.replace(/:$/, ""),
      hostname: url.hostname,
      port: url.port,
      path: url.pathname,
      query: url.search.slice(1),
    };
  } catch {
    return undefined;
  }
}

/** The tags of a request to a server: method, URL parts, server, user agent; and the name. */
export function requestTags(request: Request): { name: string; tags: [string, string | number][] } {
  let url: UrlParts | undefined;
  try {
    url = urlPartsOf(request.url);
  } catch {
    url = undefined;
  }
  const tags: [string, string | number][] = [];
  const name = methodTags(request.method, tags);
  if (url !== undefined) {
    tags.push(["url.path", url.path]);
    if (url.query !== "") tags.push(["url.query", url.query]);
    tags.push(["url.scheme", url.scheme]);
    const port = url.port !== "" ? Number(url.port) : url.scheme === "https" ? 443 : 80;
    tags.push(["server.address", url.hostname], ["server.port", port]);
  }
  const agent = request.headers.get("user-agent");
  if (agent !== null) tags.push(["user_agent.original", agent]);
  return { name, tags };
}
