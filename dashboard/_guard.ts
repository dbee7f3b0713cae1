// Who may talk to the dashboard: the Host header is checked against DNS rebinding (a name must be
// a loopback name or one allowed by name; IP addresses are what the browser connected to), and,
// when the dashboard has a token, every request carries it: OTLP senders and scripts as
// `Authorization: Bearer <token>`, the browser as a session cookie set by opening the one-time
// login address `/?token=<token>`.

/** The name of the session cookie. */
export const COOKIE = "tracelinks_dashboard";

const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;
const IPV6 = /^\[[0-9a-f:.]+\]$/;

/** Whether a host name (as given to a listener) is a loopback address. */
export function isLoopback(hostname: string): boolean {
  const h = hostname.toLowerCase();
  return h === "localhost" || h === "::1" || h === "[::1]" || /^127(?:\.\d{1,3}){3}$/.test(h);
}

/** The host part of a Host header (`[::1]:4318` gives `[::1]`), lowercased. */
export function hostOf(header: string): string {
  const h = header.trim().toLowerCase();
  if (h.startsWith("[")) {
    const close = h.indexOf("]");
    return close < 0 ? h : h.slice(0, close + 1);
  }
  const colon = h.lastIndexOf(":");
  return colon < 0 ? h : h.slice(0, colon);
}

/** Whether the Host header names this dashboard rather than a name an attacker controls. */
export function hostAllowed(header: string | null, allowed: ReadonlySet<string>): boolean {
  if (header === null) return true; // not a browser: rebinding needs one
  const host = hostOf(header);
  if (host.endsWith(".")) return hostAllowed(host.slice(0, -1), allowed);
  return IPV4.test(host) || IPV6.test(host) || host === "localhost" ||
    host.endsWith(".localhost") || allowed.has(host);
}

/** Compares two texts in time that depends on their length only. */
function same(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

function randomHex(bytes: number): string {
  const buf = new Uint8Array(bytes);
  crypto.getRandomValues(buf);
  return Array.from(buf, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A random token: 32 hex characters. */
export function newToken(): string {
  return randomHex(16);
}

/** Checks the Host header and the token of each request. */
export class Guard {
  readonly #token: string | undefined;
  readonly #session = randomHex(32);
  readonly #allowed: ReadonlySet<string>;

  constructor(token: string | undefined, allowedHosts: readonly string[]) {
    this.#token = token;
    this.#allowed = new Set(allowedHosts.map((h) => h.toLowerCase()));
  }

  /** Whether requests must carry a token. */
  get hasToken(): boolean {
    return this.#token !== undefined;
  }

  /** Why the Host header is refused, or `undefined` when it is allowed. */
  hostProblem(request: Request): string | undefined {
    const host = request.headers.get("host");
    if (hostAllowed(host, this.#allowed)) return undefined;
    const name = hostOf(host ?? "");
    return `Host '${name.slice(0, 200)}' is not allowed (a defence against DNS rebinding): ` +
      `use an IP address or localhost, or allow the name with --allow-host=${name.slice(0, 200)}`;
  }

  /** Whether a bearer token in the Authorization header is the dashboard's token. */
  #bearer(request: Request): boolean {
    const header = request.headers.get("authorization");
    if (header === null || this.#token === undefined) return false;
    const match = /^bearer\s+(\S+)\s*$/i.exec(header);
    return match !== null && same(match[1]!, this.#token);
  }

  /** Whether the session cookie is there. */
  #cookie(request: Request): boolean {
    const header = request.headers.get("cookie");
    if (header === null) return false;
    for (const part of header.split(";")) {
      const at = part.indexOf("=");
      if (at > 0 && part.slice(0, at).trim() === COOKIE) {
        if (same(part.slice(at + 1).trim(), this.#session)) return true;
      }
    }
    return false;
  }

  /** Whether an OTLP request may go on (it carries the token, when there is one). */
  otlpAllowed(request: Request): boolean {
    return this.#token === undefined || this.#bearer(request);
  }

  /** Whether a UI or API request may go on (token or session cookie, when there is a token). */
  uiAllowed(request: Request): boolean {
    return this.#token === undefined || this.#bearer(request) || this.#cookie(request);
  }

  /** Whether `token` (from a login address) is the dashboard's token. */
  tokenMatches(token: string): boolean {
    return this.#token !== undefined && same(token, this.#token);
  }

  /** The Set-Cookie value that starts a browser session. */
  sessionCookie(): string {
    return `${COOKIE}=${this.#session}; Path=/; HttpOnly; SameSite=Strict`;
  }
}
