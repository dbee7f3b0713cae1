/**
 * Optional HTTP helpers: {@linkcode instrumentFetch} wraps `fetch` so each request is a `client`
 * activity that carries the trace (`traceparent`, `tracestate`, `baggage`), and
 * {@linkcode instrumentHandler} wraps a `Deno.serve` (or any `Request` → `Response`) handler so
 * each request is a `server` activity continuing the caller's trace. Both set the usual
 * OpenTelemetry HTTP tags. Import them from `@tracelinks/activity/http`.
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
 * await (await fetch("http://shop.example/cart")).text();
 * const [server, client] = exporter.activities;
 * assert.equal(server?.kind, "server");
 * assert.equal(server?.parentSpanId, client?.spanId);
 * assert.equal(client?.getTagItem("http.response.status_code"), 200);
 * ```
 *
 * @module
 */

import { Activity } from "./activity.ts";
import type { ActivitySource } from "./source.ts";
import { extract, inject } from "./propagation.ts";
import { extractBaggage, injectBaggage } from "./baggage.ts";

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

/** Options of {@linkcode instrumentHandler}. */
export interface InstrumentHandlerOptions {
  /** The source that starts the `server` activities. */
  source: ActivitySource;
  /**
   * The route template (`http.route`), also used in the activity name (`GET /orders/:id`).
   * @default {undefined}
   */
  route?: string;
}

function serverTags(url: URL): [string, string | number][] {
  const port = url.port !== "" ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
  return [["server.address", url.hostname], ["server.port", port]];
}

/**
 * Wraps `fetch` so each call is a `client` activity (named after the method, as OpenTelemetry's
 * HTTP conventions say) whose context and baggage travel in the request headers. Tags:
 * `http.request.method`, `url.full` (without user and password), `server.address`,
 * `server.port`, `http.response.status_code`; a status of 400 or more, or a thrown error, sets
 * the `error` status and `error.type`. When no listener samples the activity, the current
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
    const activity = source.startActivity(request.method, {
      kind: "client",
      tags: [
        ["http.request.method", request.method],
        ["url.full", full.href],
        ...serverTags(url),
      ],
    });
    const carrierOf = activity ?? Activity.current;
    inject(carrierOf, request.headers);
    // Through a setter, so that with no baggage to send a header the caller set is kept.
    if (carrierOf !== undefined) {
      injectBaggage(carrierOf, request.headers, {
        setter: (headers, name, value) => (headers as Headers).set(name, value),
      });
    }
    try {
      const response = await inner(request);
      activity?.setTag("http.response.status_code", response.status);
      if (response.status >= 400) {
        activity?.setTag("error.type", String(response.status)).setStatus("error");
      }
      return response;
    } catch (error) {
      activity?.setTag("error.type", error instanceof Error ? error.name : typeof error)
        .recordException(error).setStatus("error");
      throw error;
    } finally {
      activity?.stop();
    }
  };
}

/**
 * Wraps a request handler (such as the one given to `Deno.serve`) so each request is a
 * `server` activity, current while the handler runs: the child of the caller's context when
 * the request has a valid `traceparent`, else the root of a new trace. The request's `baggage`
 * becomes the activity's baggage. Tags: `http.request.method`, `url.path`, `url.query`,
 * `url.scheme`, `server.address`, `server.port`, `user_agent.original`, `http.route`,
 * `http.response.status_code`; a status of 500 or more sets the `error` status.
 *
 * @param handler The handler to wrap; extra arguments (such as `Deno.serve`'s `info`) pass
 * through.
 * @param options The source, and the route template.
 * @returns The wrapped handler.
 * @throws {TypeError} When the handler is not a function or `options.source` is missing.
 *
 * @example
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
 * await handler(new Request("http://api.test/hello", {
 *   headers: { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" },
 * }));
 * assert.equal(exporter.activities[0]?.displayName, "GET /hello");
 * assert.equal(exporter.activities[0]?.parentSpanId, "b7ad6b7169203331");
 * assert.equal(exporter.activities[0]?.hasRemoteParent, true);
 * ```
 */
export function instrumentHandler<A extends unknown[]>(
  handler: (request: Request, ...rest: A) => Response | Promise<Response>,
  options: InstrumentHandlerOptions,
): (request: Request, ...rest: A) => Promise<Response> {
  if (typeof handler !== "function") {
    throw new TypeError("Cannot instrument handler: handler must be a function");
  }
  const source = options?.source;
  if (source === undefined || typeof source.startActiveActivity !== "function") {
    throw new TypeError("Cannot instrument handler: options.source must be an ActivitySource");
  }
  const route = typeof options.route === "string" ? options.route : undefined;
  return (request, ...rest) => {
    const parent = extract(request.headers);
    let url: URL | undefined;
    try {
      url = new URL(request.url);
    } catch {
      url = undefined;
    }
    const tags: [string, string | number][] = [["http.request.method", request.method]];
    if (url !== undefined) {
      tags.push(["url.path", url.pathname]);
      if (url.search !== "") tags.push(["url.query", url.search.slice(1)]);
      tags.push(["url.scheme", url.protocol.replace(/:$/, "")], ...serverTags(url));
    }
    const agent = request.headers.get("user-agent");
    if (agent !== null) tags.push(["user_agent.original", agent]);
    if (route !== undefined) tags.push(["http.route", route]);
    const name = route === undefined ? request.method : `${request.method} ${route}`;
    const startOptions = parent !== undefined
      ? { kind: "server" as const, parent, tags }
      : { kind: "server" as const, root: true, tags };
    return source.startActiveActivity(name, startOptions, async (activity) => {
      if (activity !== undefined) {
        const baggage = extractBaggage(request.headers);
        for (let i = baggage.length - 1; i >= 0; i--) {
          activity.addBaggage(baggage[i]!.key, baggage[i]!.value);
        }
      }
      const response = await handler(request, ...rest);
      activity?.setTag("http.response.status_code", response.status);
      if (response.status >= 500) activity?.setStatus("error");
      return response;
    });
  };
}
