/**
 * Optional HTTP helpers: {@linkcode instrumentFetch} wraps `fetch` so each request is a `client`
 * activity that carries the trace (`traceparent`, `tracestate`, `baggage`), and
 * {@linkcode instrumentHandler} wraps a `Deno.serve` (or any `Request` → `Response`) handler so
 * each request is a `server` activity continuing the caller's trace. Both set the usual
 * OpenTelemetry HTTP tags, and both speak the process's propagator (`getDefaultPropagator()`:
 * W3C Trace Context and Baggage unless `OTEL_PROPAGATORS` or `setDefaultPropagator()` chose
 * others, such as B3). Import them from `@tracelinks/activity/http`.
 *
 * @example A server and a client in one process
 * ```ts
 * import { ActivitySource, createTracerProviderBuilder, InMemoryExporter } from "@tracelinks/activity";
 * import { instrumentFetch, instrumentHandler } from "@tracelinks/activity/http";
 * import assert from "node:assert/strict";
 *
 * const exporter = new InMemoryExporter();
 * using _provider = createTracerProviderBuilder().addSource("Shop").addInMemoryExporter(exporter).build();
 * const source = new ActivitySource("Shop");
 * const handler = instrumentHandler(() => new Response("ok"), { source });
 * // Any fetch-like function works; here the "network" calls the handler directly.
 * const fetch = instrumentFetch({ source, fetch: (input, init) => handler(new Request(input, init)) });
 * assert.equal(await (await fetch("http://shop.example/cart")).text(), "ok");
 * const server = exporter.activities.find((a) => a.kind === "server");
 * const client = exporter.activities.find((a) => a.kind === "client");
 * assert.equal(server?.parentSpanId, client?.spanId);
 * assert.equal(client?.getTagItem("http.response.status_code"), 200);
 * ```
 *
 * @module
 */

import { Activity } from "./activity.ts";
import type { ActivitySource } from "./source.ts";
import { getDefaultPropagator } from "./propagator.ts";
import { inject } from "./propagation.ts";
import { injectBaggage } from "./baggage.ts";
import { ReportOnce, reportToLiveHandlers } from "./_diagnostics.ts";
import { ActivityContext } from "./links.ts";
import { denoParent, denoWritesTraceparent, runFetchInDeno } from "./_deno_telemetry.ts";
import { failRequest, methodTags, requestTags, serverTags } from "./_http_tags.ts";
import {
  applyRoute,
  end,
  forgetServer,
  rememberServer,
  respond,
  routeOf,
  type ServerState,
  serverStateOf,
} from "./_http_server.ts";

const reporter = new ReportOnce(reportToLiveHandlers);

/** A `fetch`-like function. */
export type FetchFunction = (
  input: string | URL | Request,
  init?: RequestInit,
) => Promise<Response>;

/** Options of {@linkcode instrumentFetch}. */
export interface InstrumentFetchOptions {
  /** The source that starts the `client` activities. */
  source: ActivitySource;
  /**
   * The `fetch` to wrap.
   * @default {globalThis.fetch}
   */
  fetch?: FetchFunction;
}

/**
 * The address of a connection's peer as `Deno.serve` gives it (the shape of `Deno.Addr`),
 * written out here so that the module needs no `Deno` types on Node.js and Bun.
 */
export type ServeAddr =
  | { transport: "tcp" | "udp"; hostname: string; port: number }
  | { transport: "unix" | "unixpacket"; path: string }
  | { transport: "vsock"; cid: number; port: number };

/**
 * The second argument `Deno.serve` passes to a handler (the shape of `Deno.ServeHandlerInfo`),
 * written out here so that the module needs no `Deno` types on Node.js and Bun.
 */
export interface ServeHandlerInfo {
  /** The remote address of the connection. */
  remoteAddr: ServeAddr;
  /** Settles when the response has been sent. */
  completed: Promise<void>;
}

/** Options of {@linkcode instrumentHandler}. */
export interface InstrumentHandlerOptions {
  /** The source that starts the `server` activities. */
  source: ActivitySource;
  /**
   * The route template (`http.route`, such as `/orders/:id`), which also names the activity
   * (`GET /orders/:id`): a string for a handler that serves one route, or a function that
   * returns the route of each request (`undefined` when it has none), called before the
   * handler. A handler can also set the route while it runs, with {@linkcode setHttpRoute}.
   * Without a route the activity is named after the method alone (`GET`): a URL path is never
   * used as a name.
   * @default {undefined}
   */
  route?: string | ((request: Request) => string | undefined);
}

/**
 * Wraps `fetch` so each call is a `client` activity (named after the method, as OpenTelemetry's
 * HTTP conventions say) whose context and baggage travel in the request headers. Tags:
 * `http.request.method` (`_OTHER` for a method outside RFC 9110 and PATCH, with
 * `http.request.method_original`), `url.full` (without user and password), `server.address`,
 * `server.port`, `http.response.status_code`; a status of 400 or more, or a thrown error, sets
 * the `error` status and `error.type` (the status code, or the error's name). The activity ends
 * when the response headers have arrived. When no listener samples the activity, the current
 * activity's context is sent instead.
 *
 * @param options The source, and the `fetch` to wrap.
 * @returns A function with the signature of `fetch`.
 * @throws {TypeError} When `options.source` is missing or no `fetch` is available.
 *
 * @example
 * ```ts
 * import { ActivitySource } from "@tracelinks/activity";
 * import { instrumentFetch } from "@tracelinks/activity/http";
 * import assert from "node:assert/strict";
 *
 * const seen: string[] = [];
 * const fetch = instrumentFetch({
 *   source: new ActivitySource("Client"),
 *   fetch: async (input) => {
 *     seen.push(new Request(input).headers.get("traceparent") ?? "none");
 *     return new Response(null, { status: 204 });
 *   },
 * });
 * assert.equal((await fetch("http://example.test/")).status, 204);
 * assert.deepEqual(seen, ["none"]); // nothing listens, no current activity: no header
 * ```
 */
export function instrumentFetch(options: InstrumentFetchOptions): FetchFunction {
  const source = options?.source;
  if (source === undefined || typeof source.startActivity !== "function") {
    throw new TypeError("Cannot instrument fetch: options.source must be an ActivitySource");
  }
  const inner = options.fetch ?? globalThis.fetch;
  if (typeof inner !== "function") {
    throw new TypeError("Cannot instrument fetch: no fetch function is available");
  }
  return async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    const full = new URL(url.href);
    full.username = "";
    full.password = "";
    const tags: [string, string | number][] = [];
    const method = methodTags(request.method, tags);
    tags.push(["url.full", full.href]);
    serverTags(url, tags);
    const activity = source.startActivity(method, { kind: "client", tags });
    const carrierOf = activity ?? Activity.current;
    // With Deno's tracing on, Deno's fetch span (the innermost client span) sends traceparent;
    // the activity adds its trace state and baggage. Otherwise the process's propagator (W3C
    // Trace Context and Baggage unless OTEL_PROPAGATORS or setDefaultPropagator() chose others)
    // writes the headers; with no baggage to send, a header the caller set is kept.
    const deno = denoWritesTraceparent(inner);
    if (!deno) {
      getDefaultPropagator().inject(carrierOf, request.headers);
    } else {
      injectTraceState(carrierOf, request.headers);
      if (carrierOf !== undefined) {
        injectBaggage(carrierOf, request.headers, {
          setter: (headers, name, value) => (headers as Headers).set(name, value),
        });
      }
    }
    try {
      const response = await (deno && activity !== undefined
        ? runFetchInDeno(activity, () =>
          inner(request))
        : inner(request));
      activity?.setTag("http.response.status_code", response.status);
      if (response.status >= 400) {
        activity?.setTag("error.type", String(response.status)).setStatus("error");
      }
      return response;
    } catch (error) {
      if (activity !== undefined) failRequest(activity, error);
      throw error;
    } finally {
      activity?.stop();
    }
  };
}

/**
 * Sets the route template (`http.route`) of the request being handled: the `server` activity
 * of {@linkcode instrumentHandler} that is current, or the nearest one up the chain of parents
 * of the current activity. The activity is renamed `METHOD route` (unless the handler gave it
 * a name of its own). Call it from a router once it has matched, when one wrapped handler
 * serves many routes. Setting the tag yourself (`Activity.current?.setTag("http.route", route)`
 * on the server activity) has the same effect when the activity ends.
 *
 * @param route The route template, such as `/orders/:id`: low in cardinality, never a raw path.
 * @returns Whether a server activity was found and the route was set (`false` outside a
 * wrapped handler, when nothing samples the request, or for an empty or non-string route).
 *
 * @example A router inside one wrapped handler
 * ```ts
 * import { ActivitySource, createTracerProviderBuilder, InMemoryExporter } from "@tracelinks/activity";
 * import { instrumentHandler, setHttpRoute } from "@tracelinks/activity/http";
 * import assert from "node:assert/strict";
 *
 * const exporter = new InMemoryExporter();
 * using _provider = createTracerProviderBuilder().addSource("Router").addInMemoryExporter(exporter).build();
 * const handler = instrumentHandler((request) => {
 *   const match = new URLPattern({ pathname: "/orders/:id" }).exec(request.url);
 *   if (match === null) return new Response("not found", { status: 404 });
 *   setHttpRoute("/orders/:id");
 *   return new Response(`order ${match.pathname.groups.id}`);
 * }, { source: new ActivitySource("Router") });
 * await (await handler(new Request("http://shop.test/orders/7"))).text();
 * await (await handler(new Request("http://shop.test/nowhere"))).text();
 * assert.deepEqual(exporter.activities.map((a) => a.displayName), ["GET /orders/:id", "GET"]);
 * assert.equal(exporter.activities[0]?.getTagItem("http.route"), "/orders/:id");
 * ```
 */
export function setHttpRoute(route: string): boolean {
  if (typeof route !== "string" || route === "") return false;
  for (let a = Activity.current; a !== undefined; a = a.parent) {
    const state = serverStateOf(a);
    if (state === undefined) continue;
    if (a.isStopped) return false;
    applyRoute(a, state, route);
    return true;
  }
  return false;
}

/**
 * Wraps a request handler (such as the one given to `Deno.serve`) so each request is a
 * `server` activity, current while the handler runs and while the response body is read: the
 * child of the caller's context when the request has a valid `traceparent` (or what the
 * process's propagator reads, such as B3), else the root of a new trace. The request's
 * `baggage` becomes the activity's baggage.
 *
 * The activity ends when the response has been sent, as OpenTelemetry's HTTP conventions ask,
 * not when the handler returns. A body still being produced when the handler returns is passed
 * on through a stream that ends the activity when the body finishes, is cancelled (the client
 * went away: `error.type` `cancelled`, error status) or fails (the error is recorded). A body
 * complete when the handler returns (a string, bytes, JSON) is handed to the server whole, with
 * its length, as it would be unwrapped, and a response without a body is returned as it is: the
 * activity ends then, with nothing left for the handler's code to do. Calling the wrapped
 * handler yourself (in a test), read or cancel a streamed body, or its activity never ends.
 *
 * Tags: `http.request.method` (`_OTHER` for a method outside RFC 9110 and PATCH, with
 * `http.request.method_original`), `url.path`, `url.query`, `url.scheme`, `server.address`,
 * `server.port`, `user_agent.original`, `http.route`, `http.response.status_code`. The name is
 * `METHOD route` when the route is known ({@linkcode InstrumentHandlerOptions.route},
 * {@linkcode setHttpRoute}), else `METHOD`. A status of 500 or more sets the `error` status and
 * `error.type` (the status code); a 4xx does not, on the server side. A handler that throws
 * gets the exception recorded, `error.type` (the error's name) and the `error` status, and no
 * status code, since the server's error handler chooses the response; the error is rethrown.
 *
 * The handler may take `Deno.serve`'s second argument, `info` (`Deno.ServeHandler`'s shape):
 * unless the handler or the place the wrapped handler goes says otherwise, it is typed
 * {@linkcode ServeHandlerInfo}, the shape of `Deno.ServeHandlerInfo`; for another server, name
 * the type (`instrumentHandler<MyInfo>(...)`) or annotate the parameter. The second and later
 * arguments pass through as they are; the wrapped handler can also be called with the request
 * alone (in a test), and then `info` is `undefined`.
 *
 * @typeParam I The type of the handler's second argument.
 * @param handler The handler to wrap.
 * @param options The source, and the route.
 * @returns The wrapped handler.
 * @throws {TypeError} When the handler is not a function, `options.source` is missing or
 * `options.route` is neither a string nor a function.
 *
 * @example A request with its trace context, in a test
 * ```ts
 * import { ActivitySource, createTracerProviderBuilder, InMemoryExporter } from "@tracelinks/activity";
 * import { instrumentHandler } from "@tracelinks/activity/http";
 * import assert from "node:assert/strict";
 *
 * const exporter = new InMemoryExporter();
 * using _provider = createTracerProviderBuilder().addSource("Api").addInMemoryExporter(exporter).build();
 * const handler = instrumentHandler(() => new Response("hi"), {
 *   source: new ActivitySource("Api"),
 *   route: "/hello",
 * });
 * const response = await handler(new Request("http://api.test/hello", {
 *   headers: { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" },
 * }));
 * assert.equal(await response.text(), "hi");
 * assert.equal(exporter.activities[0]?.displayName, "GET /hello");
 * assert.equal(exporter.activities[0]?.parentSpanId, "b7ad6b7169203331");
 * assert.equal(exporter.activities[0]?.hasRemoteParent, true);
 * ```
 *
 * @example Deno.serve's two-argument handler
 * ```ts ignore
 * import { ActivitySource } from "@tracelinks/activity";
 * import { instrumentHandler } from "@tracelinks/activity/http";
 *
 * Deno.serve(instrumentHandler((request, info) => {
 *   const peer = info.remoteAddr.transport === "tcp" ? info.remoteAddr.hostname : "local";
 *   return new Response(`${request.method} from ${peer}`);
 * }, { source: new ActivitySource("Api") }));
 * ```
 */
export function instrumentHandler<I = ServeHandlerInfo>(
  handler: (request: Request, info: I, ...rest: unknown[]) => Response | Promise<Response>,
  options: InstrumentHandlerOptions,
): (request: Request, info?: I, ...rest: unknown[]) => Promise<Response> {
  if (typeof handler !== "function") {
    throw new TypeError("Cannot instrument handler: handler must be a function");
  }
  const source = options?.source;
  if (source === undefined || typeof source.startActivity !== "function") {
    throw new TypeError("Cannot instrument handler: options.source must be an ActivitySource");
  }
  const route = options.route;
  if (route !== undefined && typeof route !== "string" && typeof route !== "function") {
    throw new TypeError("Cannot instrument handler: options.route must be a string or a function");
  }
  const call = handler as (request: Request, ...rest: unknown[]) => Response | Promise<Response>;
  // Not an async function: a handler that answers at once costs no promise but the one
  // returned, and no continuation of this function after an await.
  return (request: Request, ...rest: unknown[]): Promise<Response> => {
    let started: Started;
    try {
      started = startServerActivity(source, route, request);
    } catch (error) {
      // Not a request this wrapper can read (plain JavaScript): serve it untraced.
      reporter.report(handler, error, "instrumentHandler reading the request");
      return settle(() => call(request, ...rest));
    }
    const { activity, state } = started;
    if (activity === undefined || state === undefined) {
      // Nothing samples the request: a new trace's children must not attach elsewhere.
      return settle(() =>
        started.remote ? call(request, ...rest) : Activity.run(null, () => call(request, ...rest))
      );
    }
    return Activity.run(activity, () => serve(activity, state, call, request, rest));
  };
}

/** What a handler returns or throws, as a promise. */
function settle(fn: () => Response | Promise<Response>): Promise<Response> {
  try {
    return Promise.resolve(fn());
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Runs the handler (with its server activity current: the caller runs this in it), records its
 * response or failure, and returns the response, whose body ends the activity (see `respond`).
 */
function serve(
  activity: Activity,
  state: ServerState,
  call: (request: Request, ...rest: unknown[]) => Response | Promise<Response>,
  request: Request,
  rest: unknown[],
): Promise<Response> {
  let result: Response | Promise<Response>;
  try {
    result = call(request, ...rest);
  } catch (error) {
    return Promise.reject(failed(activity, state, error));
  }
  if (result instanceof Response) {
    try {
      return Promise.resolve(respond(activity, state, result));
    } catch (error) {
      return Promise.reject(error);
    }
  }
  return Promise.resolve(result).then(
    (response) => respond(activity, state, response),
    (error: unknown) => {
      throw failed(activity, state, error);
    },
  );
}

/** Records a handler's failure and ends its activity; returns the error, to be rethrown. */
function failed(activity: Activity, state: ServerState, error: unknown): unknown {
  failRequest(activity, error);
  end(activity, state);
  return error;
}

/** A request's server activity (when sampled) and whether the request carried a parent. */
interface Started {
  readonly activity: Activity | undefined;
  readonly state: ServerState | undefined;
  readonly remote: boolean;
}

/**
 * Starts the server activity of a request: the child of the caller's context, or a new root,
 * with the request's tags, name and baggage.
 *
 * @throws {unknown} What reading the request throws; an activity started is stopped first.
 */
function startServerActivity(
  source: ActivitySource,
  route: InstrumentHandlerOptions["route"],
  request: Request,
): Started {
  let activity: Activity | undefined;
  try {
    const extracted = getDefaultPropagator().extract(request.headers);
    const parent = denoServerParent(extracted.activityContext);
    const baggage = extracted.baggage;
    const { name: method, tags } = requestTags(request);
    const known = routeOf(route, request);
    if (known !== undefined) tags.push(["http.route", known]);
    const name = known === undefined ? method : `${method} ${known}`;
    activity = source.startActivity(
      name,
      parent !== undefined
        ? { kind: "server", parent, tags }
        : { kind: "server", root: true, tags },
    );
    if (activity === undefined) return { activity, state: undefined, remote: parent !== undefined };
    const state = { method, name };
    rememberServer(activity, state);
    for (let i = (baggage?.length ?? 0) - 1; i >= 0; i--) {
      activity.addBaggage(baggage![i]!.key, baggage![i]!.value);
    }
    return { activity, state, remote: parent !== undefined };
  } catch (error) {
    if (activity !== undefined) {
      forgetServer(activity);
      activity.stop();
    }
    throw error;
  }
}

/** Writes only the `tracestate` of an activity (Deno's fetch writes `traceparent`). */
function injectTraceState(activity: Activity | undefined, headers: Headers): void {
  const fields: Record<string, string> = {};
  inject(activity, fields);
  if (fields.tracestate !== undefined) headers.set("tracestate", fields.tracestate);
}

/**
 * The parent of a server activity: with Deno's tracing on, Deno's span of the request (which
 * continued the caller's trace, or started one), keeping the caller's trace state; else the
 * context extracted from the request.
 */
function denoServerParent(extracted: ActivityContext | undefined): ActivityContext | undefined {
  const deno = denoParent();
  if (deno === undefined) return extracted;
  const traceState = extracted?.traceId === deno.traceId ? extracted.traceState : undefined;
  return new ActivityContext(deno.traceId, deno.spanId, { ...deno, traceState, isRemote: false });
}
