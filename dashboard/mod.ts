/**
 * A local trace dashboard: any OTLP sender in, linked traces out, one command.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 jsr:@tracelinks/activity/dashboard
 * ```
 *
 * It receives OTLP/HTTP (`POST /v1/traces`, protobuf or JSON, gzip or not) at
 * `127.0.0.1:4318`, from this module's exporter, the OpenTelemetry SDKs, or Deno's built-in
 * telemetry (`OTEL_DENO=true`), and serves a page at `http://127.0.0.1:18888/`: a live list of
 * traces (new ones appear within a second, by server-sent events), and for each trace the
 * waterfall with an arrow per link, the tree, every span's attributes, events and links, the
 * related traces, and downloads of the group as the HTML report or as OTLP JSON. The page reads a
 * JSON API (`GET /api/traces`, `GET /api/traces/:id`) that scripts can use too.
 *
 * It holds at most `--max-traces` traces (10,000) and about `--max-memory` MiB (512): the least
 * recently updated traces are evicted first, and evictions are counted and shown. It binds to
 * loopback by default; any other address needs `--token`, and it checks the Host header against
 * DNS rebinding. {@linkcode Dashboard} is the same thing as request handlers, to embed or test.
 *
 * @example Post spans, then ask the API what arrived (no network: the handlers are called)
 * ```ts
 * import { Dashboard } from "@tracelinks/activity/dashboard";
 * import assert from "node:assert/strict";
 *
 * const dashboard = new Dashboard();
 * const span = {
 *   traceId: "5b8efff798038103d269b633813fc60c",
 *   spanId: "eee19b7ec3c1b174",
 *   name: "GET /orders",
 *   kind: 2,
 *   startTimeUnixNano: "1700000000000000000",
 *   endTimeUnixNano: "1700000000005000000",
 * };
 * const body = JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [span] }] }] });
 * const response = await dashboard.handleOtlp(
 *   new Request("http://127.0.0.1:4318/v1/traces", {
 *     method: "POST",
 *     headers: { "content-type": "application/json" },
 *     body,
 *   }),
 * );
 * assert.equal(response.status, 200);
 * const list = await dashboard.handleUi(new Request("http://127.0.0.1:18888/api/traces")).json();
 * assert.equal(list.traces[0].rootName, "GET /orders");
 * assert.equal(list.traces[0].spanCount, 1);
 * dashboard.close();
 * ```
 *
 * @module
 */

import { type DashboardArgs, type ListenAddress, parseAddress, parseArgs, USAGE } from "./_args.ts";
import { Guard, isLoopback } from "./_guard.ts";
import { Ingest } from "./_ingest.ts";
import { TraceStore } from "./_store.ts";
import { Ui } from "./_ui.ts";

/** Options of {@linkcode Dashboard}. */
export interface DashboardOptions {
  /**
   * The most traces held; beyond it the least recently updated are evicted whole, and counted.
   * @default {10000}
   */
  maxTraces?: number;
  /**
   * About the most bytes the spans held may take (an estimate of what they hold in memory);
   * beyond it the least recently updated traces are evicted.
   * @default {536870912}
   */
  maxMemoryBytes?: number;
  /**
   * The most spans of one trace held; later ones are not kept, and reported to the sender as
   * rejected.
   * @default {20000}
   */
  maxSpansPerTrace?: number;
  /**
   * The largest OTLP request body in bytes, before and after gzip; larger ones get 413.
   * @default {4194304}
   */
  maxBodyBytes?: number;
  /**
   * How long a request body may take to arrive, in milliseconds; slower ones get 408.
   * @default {30000}
   */
  bodyTimeout?: number;
  /**
   * A token every request must carry: `Authorization: Bearer <token>`, or (in a browser) the
   * session cookie that the login address `/?token=<token>` sets. None by default.
   * @default {undefined}
   */
  token?: string;
  /**
   * Host names (besides IP addresses, `localhost` and `*.localhost`) that the Host header may
   * name; any other gets 403, against DNS rebinding.
   * @default {[]}
   */
  allowedHosts?: readonly string[];
}

/** What the dashboard holds and has done, counted. */
export interface DashboardStats {
  /** Traces held. */
  readonly traces: number;
  /** Spans held. */
  readonly spans: number;
  /** The estimated bytes the spans held take. */
  readonly estimatedBytes: number;
  /** Traces evicted to stay within the bounds. */
  readonly evictedTraces: number;
  /** Spans evicted with their traces. */
  readonly evictedSpans: number;
  /** Spans rejected, as reported to senders in partial successes. */
  readonly rejectedSpans: number;
  /** Spans received again (same trace and span id) and not added twice. */
  readonly duplicateSpans: number;
  /** OTLP requests answered 200. */
  readonly acceptedRequests: number;
  /** OTLP requests answered with an error status. */
  readonly failedRequests: number;
  /**
   * OTLP requests of metrics or logs (`/v1/metrics`, `/v1/logs`): answered 200 with a warning
   * in the partial success, not kept.
   */
  readonly ignoredRequests: number;
}

function checkCount(value: unknown, name: string, fallback: number): number {
  const n = value ?? fallback;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1) {
    throw new RangeError(
      `Cannot make Dashboard: ${name} must be a positive integer, got ${String(value)}`,
    );
  }
  return n;
}

/**
 * The dashboard as two request handlers, one for the OTLP address and one for the page and its
 * API, over one bounded store of traces. {@linkcode serveDashboard} serves them; call them
 * directly to embed the dashboard in another server or to test without a network.
 *
 * @example Traces with links, and the group of one of them
 * ```ts
 * import { Activity, ActivityLink, ActivitySource, createTracerProviderBuilder, InMemoryExporter } from "@tracelinks/activity";
 * import { encodeOtlpTraces } from "@tracelinks/activity/otlp";
 * import { Dashboard } from "@tracelinks/activity/dashboard";
 * import assert from "node:assert/strict";
 *
 * const memory = new InMemoryExporter();
 * const source = new ActivitySource("Dashboard.Example");
 * using _provider = createTracerProviderBuilder().addSource(source.name).addInMemoryExporter(memory).build();
 * const hub = source.startActiveActivity("OrchestratingActivity", (activity) => {
 *   const links = [new ActivityLink(Activity.current!.context)];
 *   for (const n of [1, 2, 3]) source.startActivity(`FannedOutActivity ${n}`, { root: true, links })?.stop();
 *   return activity!;
 * });
 *
 * const dashboard = new Dashboard({ maxTraces: 100 });
 * await dashboard.handleOtlp(new Request("http://localhost:4318/v1/traces", {
 *   method: "POST",
 *   headers: { "content-type": "application/x-protobuf" },
 *   body: encodeOtlpTraces(memory.activities),
 * }));
 * const view = await dashboard.handleUi(new Request(`http://localhost:18888/api/traces/${hub.traceId}`)).json();
 * assert.equal(view.summary.linksIn, 3);
 * assert.equal(view.related.traces.length, 4);
 * assert.equal(dashboard.stats.traces, 4);
 * dashboard.close();
 * ```
 */
export class Dashboard {
  readonly #store: TraceStore;
  readonly #ingest: Ingest;
  readonly #ui: Ui;

  /**
   * Makes an empty dashboard.
   *
   * @param options The bounds, the token and the allowed host names.
   * @throws {RangeError} When a bound is not a positive integer, or the token is shorter than
   * 16 characters.
   * @throws {TypeError} When the token or a host name is not a string.
   */
  constructor(options: DashboardOptions = {}) {
    const maxTraces = checkCount(options.maxTraces, "maxTraces", 10_000);
    const maxBytes = checkCount(options.maxMemoryBytes, "maxMemoryBytes", 512 * 1024 * 1024);
    const maxSpansPerTrace = checkCount(options.maxSpansPerTrace, "maxSpansPerTrace", 20_000);
    const maxBodyBytes = checkCount(options.maxBodyBytes, "maxBodyBytes", 4 * 1024 * 1024);
    const bodyTimeout = checkCount(options.bodyTimeout, "bodyTimeout", 30_000);
    const token = options.token;
    if (token !== undefined) {
      if (typeof token !== "string") {
        throw new TypeError("Cannot make Dashboard: token must be a string");
      }
      if (token.length < 16 || !/^[\x21-\x7e]+$/.test(token)) {
        throw new RangeError(
          "Cannot make Dashboard: token must be at least 16 printable ASCII characters, no spaces",
        );
      }
    }
    const hosts = options.allowedHosts ?? [];
    if (!Array.isArray(hosts) || hosts.some((h) => typeof h !== "string")) {
      throw new TypeError("Cannot make Dashboard: allowedHosts must be an array of strings");
    }
    const guard = new Guard(token, hosts);
    this.#store = new TraceStore({ maxTraces, maxBytes, maxSpansPerTrace });
    this.#ingest = new Ingest(this.#store, guard, {
      maxBodyBytes,
      maxConcurrent: 16,
      bodyTimeout,
    });
    this.#ui = new Ui(this.#store, guard, {
      maxViewSpans: 10_000,
      maxExportSpans: 100_000,
      maxEventStreams: 32,
    }, this.#ingest.counts);
  }

  /** What the dashboard holds and has done. */
  get stats(): DashboardStats {
    const s = this.#store;
    const c = this.#ingest.counts;
    return {
      traces: s.traceCount,
      spans: s.spanCount,
      estimatedBytes: s.bytes,
      evictedTraces: s.evictedTraces,
      evictedSpans: s.evictedSpans,
      rejectedSpans: c.rejectedSpans,
      duplicateSpans: s.duplicateSpans,
      acceptedRequests: c.accepted,
      failedRequests: c.failed,
      ignoredRequests: c.ignored,
    };
  }

  /**
   * Answers a request to the OTLP address: `POST /v1/traces` with an
   * `ExportTraceServiceRequest` in protobuf (`application/x-protobuf`) or JSON
   * (`application/json`), gzip-compressed or not. The answer is an
   * `ExportTraceServiceResponse` in the same encoding (with `partialSuccess` when spans were
   * rejected), or an error status with a `google.rpc.Status`: 400 for a malformed body, 413
   * over the size bound, 415 for another content type or encoding, 401 without the token, 403
   * for a Host header that is not allowed, 429 when too many bodies are being read at once.
   * Metrics and logs (`/v1/metrics`, `/v1/logs`, which some senders post to the same address)
   * are answered 200 with a warning in the partial success, and counted, not kept.
   *
   * @param request The request.
   * @returns The response; it never rejects for anything a sender does.
   */
  handleOtlp(request: Request): Promise<Response> {
    return this.#ingest.handle(request);
  }

  /**
   * Answers a request to the UI address: the page (`/`), the JSON API (`/api/traces`,
   * `/api/traces/:id`), the exports (`/api/traces/:id/report`, `/api/traces/:id/otlp`) and the
   * event stream (`/api/events`). See docs/dashboard.md for the API.
   *
   * @param request The request.
   * @returns The response.
   */
  handleUi(request: Request): Response {
    return this.#ui.handle(request);
  }

  /** Ends the event streams of open pages; later event requests get 503. */
  close(): void {
    this.#ui.close();
  }
}

/** Options of {@linkcode serveDashboard}. */
export interface ServeDashboardOptions extends DashboardOptions {
  /**
   * Where OTLP/HTTP senders post, as `HOST:PORT` (port 0 picks a free one).
   * @default {"127.0.0.1:4318"}
   */
  otlp?: string;
  /**
   * Where the page and its API are served, as `HOST:PORT`; the same address as `otlp` serves
   * both on one port.
   * @default {"127.0.0.1:18888"}
   */
  ui?: string;
}

/** A dashboard being served. */
export interface ServedDashboard extends AsyncDisposable {
  /** The dashboard. */
  readonly dashboard: Dashboard;
  /** The base address of OTLP/HTTP, e.g. `http://127.0.0.1:4318` (senders add `/v1/traces`). */
  readonly otlpUrl: string;
  /** The address of the page, e.g. `http://127.0.0.1:18888/`. */
  readonly uiUrl: string;
  /** The address that logs a browser in (`uiUrl` with `?token=`), when there is a token. */
  readonly loginUrl: string | undefined;
  /** Stops serving; resolves once the listeners are closed. */
  shutdown(): Promise<void>;
}

function urlOf(hostname: string, port: number): string {
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  return `http://${host === "0.0.0.0" || host === "[::]" ? "127.0.0.1" : host}:${port}`;
}

/**
 * Serves a {@linkcode Dashboard}: OTLP/HTTP at `otlp`, the page and its API at `ui`.
 *
 * @param options The addresses, the bounds and the token.
 * @returns The dashboard and its addresses, once listening.
 * @throws {TypeError} When an address other than loopback is given without a token.
 * @throws {SyntaxError} When an address is not `HOST:PORT`.
 * @throws {Deno.errors.AddrInUse} When a port is taken; {@linkcode Deno.errors.PermissionDenied}
 * without the net permission.
 *
 * @example Serve on free ports (needs --allow-net=127.0.0.1)
 * ```ts ignore
 * import { serveDashboard } from "@tracelinks/activity/dashboard";
 *
 * await using served = await serveDashboard({ otlp: "127.0.0.1:0", ui: "127.0.0.1:0" });
 * console.log(`OTLP ${served.otlpUrl}, page ${served.uiUrl}`);
 * ```
 */
export function serveDashboard(options: ServeDashboardOptions = {}): Promise<ServedDashboard> {
  const { otlp, ui, hosts } = checkAddresses(options);
  const dashboard = new Dashboard({ ...options, allowedHosts: hosts });
  const controller = new AbortController();
  let servers: Deno.HttpServer<Deno.NetAddr>[];
  try {
    servers = listen(dashboard, otlp, ui, controller.signal);
  } catch (error) {
    controller.abort();
    dashboard.close();
    return Promise.reject(error);
  }
  const otlpUrl = urlOf(otlp.hostname, servers[0]!.addr.port);
  const uiServer = servers[servers.length - 1]!;
  const uiUrl = `${urlOf(ui.hostname, uiServer.addr.port)}/`;
  let closing: Promise<void> | undefined;
  const shutdown = (): Promise<void> =>
    closing ??= (async () => {
      dashboard.close();
      controller.abort();
      await Promise.all(servers.map((s) => s.finished));
    })();
  return Promise.resolve({
    dashboard,
    otlpUrl,
    uiUrl,
    loginUrl: options.token === undefined
      ? undefined
      : `${uiUrl}?token=${encodeURIComponent(options.token)}`,
    shutdown,
    [Symbol.asyncDispose]: shutdown,
  });
}

/**
 * The addresses to serve at, and the host names the Host header may then name (the given ones
 * and those of the addresses).
 *
 * @throws {TypeError} When an address other than loopback is given without a token.
 */
function checkAddresses(
  options: ServeDashboardOptions,
): { otlp: ListenAddress; ui: ListenAddress; hosts: string[] } {
  const otlp = parseAddress(options.otlp ?? "127.0.0.1:4318", "otlp");
  const ui = parseAddress(options.ui ?? "127.0.0.1:18888", "ui");
  for (const [what, address] of [["OTLP", otlp], ["UI", ui]] as const) {
    if (!isLoopback(address.hostname) && options.token === undefined) {
      throw new TypeError(
        `Cannot serve the dashboard's ${what} on ${address.hostname}: an address other than loopback needs a token (--token)`,
      );
    }
  }
  const hosts = [...(options.allowedHosts ?? [])];
  for (const { hostname } of [otlp, ui]) {
    if (!/^[\d.]+$/.test(hostname) && !hostname.includes(":")) hosts.push(hostname);
  }
  return { otlp, ui, hosts };
}

/**
 * Starts the servers: one for OTLP and one for the page, or one for both when the two
 * addresses are the same (OTLP first in the list either way).
 */
function listen(
  dashboard: Dashboard,
  otlp: ListenAddress,
  ui: ListenAddress,
  signal: AbortSignal,
): Deno.HttpServer<Deno.NetAddr>[] {
  const serve = (address: ListenAddress, handler: Deno.ServeHandler) =>
    Deno.serve(
      { hostname: address.hostname, port: address.port, signal, onListen: () => {} },
      handler,
    );
  const same = otlp.hostname === ui.hostname && otlp.port === ui.port && otlp.port !== 0;
  if (same) {
    return [serve(otlp, (request) => {
      const path = new URL(request.url).pathname;
      return path.startsWith("/v1/") ? dashboard.handleOtlp(request) : dashboard.handleUi(request);
    })];
  }
  const servers = [serve(otlp, (request) => dashboard.handleOtlp(request))];
  // When this one throws, the OTLP server stops as the caller aborts `signal`.
  servers.push(serve(ui, (request) => dashboard.handleUi(request)));
  return servers;
}

/**
 * Reads the dashboard's command line (`--otlp=HOST:PORT`, `--ui=HOST:PORT`, `--max-traces=N`,
 * `--max-memory=MIB`, `--max-body=MIB`, `--token[=TOKEN]`, `--allow-host=NAME`) into options of
 * {@linkcode serveDashboard}. `--token` without a value makes a random token.
 *
 * @param args The arguments, as `Deno.args`.
 * @returns The options.
 * @throws {TypeError} When an option is unknown or lacks its value.
 * @throws {SyntaxError} When an address is not `HOST:PORT`.
 * @throws {RangeError} When a number is out of range or a token too short.
 *
 * @example
 * ```ts
 * import { parseDashboardArgs } from "@tracelinks/activity/dashboard";
 * import assert from "node:assert/strict";
 *
 * const options = parseDashboardArgs(["--otlp=127.0.0.1:4319", "--max-traces=500"]);
 * assert.equal(options.otlp, "127.0.0.1:4319");
 * assert.equal(options.ui, "127.0.0.1:18888");
 * assert.equal(options.maxTraces, 500);
 * assert.throws(() => parseDashboardArgs(["--otlp=4318"]), SyntaxError);
 * ```
 */
export function parseDashboardArgs(args: readonly string[]): ServeDashboardOptions {
  return toOptions(parseArgs(args));
}

function addressText(a: { hostname: string; port: number }): string {
  return `${a.hostname.includes(":") ? `[${a.hostname}]` : a.hostname}:${a.port}`;
}

function toOptions(args: DashboardArgs): ServeDashboardOptions {
  const options: ServeDashboardOptions = {
    otlp: addressText(args.otlp),
    ui: addressText(args.ui),
    maxTraces: args.maxTraces,
    maxMemoryBytes: args.maxMemoryBytes,
    maxBodyBytes: args.maxBodyBytes,
    allowedHosts: args.allowedHosts,
  };
  if (args.token !== undefined) options.token = args.token;
  return options;
}

async function main(): Promise<void> {
  let args: DashboardArgs;
  try {
    args = parseArgs(Deno.args);
  } catch (error) {
    console.error((error as Error).message);
    Deno.exit(2);
  }
  if (args.help) {
    console.log(USAGE);
    return;
  }
  let served: ServedDashboard;
  try {
    served = await serveDashboard(toOptions(args));
  } catch (error) {
    const message = error instanceof Deno.errors.PermissionDenied
      ? `${error.message}: run with --allow-net=${args.otlp.hostname},${args.ui.hostname}`
      : (error as Error).message;
    console.error(`Cannot start the dashboard: ${message}`);
    Deno.exit(1);
  }
  console.log(
    `OTLP/HTTP  ${served.otlpUrl}/v1/traces  (OTEL_EXPORTER_OTLP_ENDPOINT=${served.otlpUrl})`,
  );
  console.log(`Dashboard  ${served.loginUrl ?? served.uiUrl}`);
  if (args.token !== undefined) {
    console.log(`Token      senders add the header: Authorization: Bearer ${args.token}`);
  }
  const stop = () => {
    served.shutdown().then(() => Deno.exit(0));
  };
  Deno.addSignalListener("SIGINT", stop);
  if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", stop);
}

if (import.meta.main) await main();
