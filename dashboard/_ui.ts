// The UI address: the page, the JSON API it reads (documented in docs/dashboard.md), the exports
// of a group of linked traces, and the server-sent events that tell open pages what changed.

import { LinkGraph, type RelatedTraces } from "../graph/link_graph.ts";
import { renderHtmlReport } from "../graph/report.ts";
import { renderTree } from "../graph/tree.ts";
import {
  exportRequestJson,
  type Json,
  resourceJson,
  scopeJson,
  snapshotOf,
  spanJson,
} from "./_convert.ts";
import type { Guard } from "./_guard.ts";
import type { IngestCounts } from "./_ingest.ts";
import type { OtlpResource, OtlpScope, OtlpSpan } from "../otlp/_decode_model.ts";
import { newNonce, pageHtml, pagePolicy } from "./_page.ts";
import type { TraceFilter, TraceRecord, TraceStore } from "./_store.ts";

/** The bounds of the UI. */
export interface UiLimits {
  /** The most spans the trace view returns (its trace first, then related ones). */
  readonly maxViewSpans: number;
  /** The most spans an export holds. */
  readonly maxExportSpans: number;
  /** The most pages listening to events at once. */
  readonly maxEventStreams: number;
}

const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cross-origin-resource-policy": "same-origin",
  "x-frame-options": "DENY",
  "cache-control": "no-store",
};

const TRACE_PATH = /^\/api\/traces\/([0-9a-fA-F]{32})(\/report|\/otlp)?$/;
const MAX_RELATED_LISTED = 1000;
const MAX_EDGES_LISTED = 10_000;
const EVENT_DELAY = 100;
const KEEPALIVE = 15_000;

function json(body: Json, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...SECURITY_HEADERS, ...headers },
  });
}

function problem(status: number, message: string, headers: Record<string, string> = {}): Response {
  return json({ error: message }, status, headers);
}

function integerParam(
  params: URLSearchParams,
  name: string,
  fallback: number,
  max: number,
): number {
  const text = params.get(name);
  if (text === null || text === "") return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) {
    throw new RangeError(
      `Query parameter ${name} must be a whole number >= 0, got '${text.slice(0, 40)}'`,
    );
  }
  return Math.min(n, max);
}

/** A trace's summary, as the list and the trace view return it. */
function summary(store: TraceStore, trace: TraceRecord): { [key: string]: Json } {
  return {
    traceId: trace.traceId,
    service: trace.service ?? null,
    services: [...trace.services],
    rootName: trace.root?.name ?? null,
    rootSpanId: trace.root?.spanId ?? null,
    startTimeUnixNano: trace.start.toString(),
    endTimeUnixNano: trace.end.toString(),
    durationNano: (trace.end - trace.start).toString(),
    spanCount: trace.spans.length,
    errorCount: trace.errors,
    linksOut: trace.linksOut,
    linksIn: store.linksIn(trace.traceId),
  };
}

/**
 * Spans as the trace view returns them: each with the index of its resource and scope in the
 * lists that go beside them, each resource and scope listed once.
 */
function spansJson(
  spans: readonly OtlpSpan[],
): { spanList: Json[]; resources: OtlpResource[]; scopes: OtlpScope[] } {
  const resources: OtlpResource[] = [];
  const scopes: OtlpScope[] = [];
  const resourceIndex = new Map<OtlpResource, number>();
  const scopeIndex = new Map<OtlpScope, number>();
  const spanList = spans.map((span) => {
    let r = resourceIndex.get(span.resource);
    if (r === undefined) {
      resourceIndex.set(span.resource, r = resources.length);
      resources.push(span.resource);
    }
    let s = scopeIndex.get(span.scope);
    if (s === undefined) {
      scopeIndex.set(span.scope, s = scopes.length);
      scopes.push(span.scope);
    }
    return { ...spanJson(span), resource: r, scope: s };
  });
  return { spanList, resources, scopes };
}

/** The UI and API handler. */
export class Ui {
  readonly #store: TraceStore;
  readonly #guard: Guard;
  readonly #limits: UiLimits;
  readonly #counts: IngestCounts;
  readonly #streams = new Set<ReadableStreamDefaultController<Uint8Array>>();
  #changed = new Set<string>();
  #overflow = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #keepalive: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  constructor(store: TraceStore, guard: Guard, limits: UiLimits, counts: IngestCounts) {
    this.#store = store;
    this.#guard = guard;
    this.#limits = limits;
    this.#counts = counts;
    store.onChange((ids) => this.#noteChange(ids));
  }

  /** The counters shown in the page's header and returned by the API. */
  stats(): { [key: string]: Json } {
    const s = this.#store;
    return {
      traces: s.traceCount,
      spans: s.spanCount,
      estimatedBytes: s.bytes,
      maxTraces: s.limits.maxTraces,
      maxBytes: s.limits.maxBytes,
      evictedTraces: s.evictedTraces,
      evictedSpans: s.evictedSpans,
      rejectedSpans: this.#counts.rejectedSpans,
      duplicateSpans: s.duplicateSpans,
      failedRequests: this.#counts.failed,
      ignoredRequests: this.#counts.ignored,
      version: s.version,
    };
  }

  /** Answers one request to the UI address. */
  handle(request: Request): Response {
    const url = new URL(request.url);
    const hostProblem = this.#guard.hostProblem(request);
    if (hostProblem !== undefined) return problem(403, hostProblem);
    if (request.method !== "GET" && request.method !== "HEAD") {
      return problem(405, "The dashboard answers GET only", { allow: "GET, HEAD" });
    }
    const site = request.headers.get("sec-fetch-site");
    const navigation = request.headers.get("sec-fetch-mode") === "navigate";
    if (site === "cross-site" && !(url.pathname === "/" && navigation)) {
      return problem(403, "Requests from other sites are refused");
    }
    if (url.pathname === "/" && url.searchParams.has("token")) {
      if (!this.#guard.tokenMatches(url.searchParams.get("token")!)) {
        return problem(401, "The token is not this dashboard's token");
      }
      return new Response(null, {
        status: 303,
        headers: { location: "/", "set-cookie": this.#guard.sessionCookie(), ...SECURITY_HEADERS },
      });
    }
    if (!this.#guard.uiAllowed(request)) {
      return problem(
        401,
        "This dashboard needs its token: open the address printed at start (it ends with ?token=…), or send Authorization: Bearer <token>",
        { "www-authenticate": "Bearer" },
      );
    }
    try {
      if (url.pathname === "/") return this.#page();
      if (url.pathname === "/api/traces") return this.#list(url.searchParams);
      if (url.pathname === "/api/events") return this.#events();
      const match = TRACE_PATH.exec(url.pathname);
      if (match !== null) {
        const traceId = match[1]!.toLowerCase();
        if (match[2] === "/report") return this.#report(traceId);
        if (match[2] === "/otlp") return this.#otlp(traceId);
        return this.#trace(traceId, url.searchParams);
      }
    } catch (error) {
      if (error instanceof RangeError) return problem(400, error.message);
      throw error;
    }
    return problem(404, `Nothing at ${url.pathname.slice(0, 200)}`);
  }

  #page(): Response {
    const nonce = newNonce();
    return new Response(pageHtml(nonce), {
      headers: {
        "content-type": "text/html; charset=utf-8",
        "content-security-policy": pagePolicy(nonce),
        ...SECURITY_HEADERS,
      },
    });
  }

  #list(params: URLSearchParams): Response {
    const filter: TraceFilter = {};
    for (const name of ["service", "name", "attribute", "traceId"] as const) {
      const value = params.get(name);
      if (value !== null && value !== "") filter[name] = value;
    }
    const error = params.get("error");
    if (error === "true" || error === "false") filter.error = error === "true";
    else if (error !== null && error !== "") {
      throw new RangeError(
        `Query parameter error must be true or false, got '${error.slice(0, 40)}'`,
      );
    }
    const limit = integerParam(params, "limit", 100, 1000);
    const offset = integerParam(params, "offset", 0, Number.MAX_SAFE_INTEGER);
    const found = this.#store.find(filter);
    return json({
      traces: found.slice(offset, offset + limit).map((t) => summary(this.#store, t)),
      total: found.length,
      offset,
      limit,
      services: this.#store.services(),
      stats: this.stats(),
    });
  }

  /** The traces of a group to show, the given one first, within a number of spans. */
  #groupSpans(
    traceId: string,
    max: number,
  ): { shown: string[]; spans: OtlpSpan[]; omitted: number } {
    const related = this.#store.related(traceId);
    const shown: string[] = [];
    const spans: OtlpSpan[] = [];
    let omitted = 0;
    for (const t of related.traces) {
      const trace = this.#store.get(t.traceId);
      if (trace === undefined) continue;
      if (spans.length + trace.spans.length > max && shown.length > 0) {
        omitted += trace.spans.length;
        continue;
      }
      shown.push(t.traceId);
      const take = Math.min(trace.spans.length, max - spans.length);
      for (let i = 0; i < take; i++) spans.push(trace.spans[i]!);
      omitted += trace.spans.length - take;
    }
    return { shown, spans, omitted };
  }

  /** A graph of full snapshots of some spans, for the tree and the report. */
  #graphOf(spans: readonly OtlpSpan[]): LinkGraph {
    const graph = new LinkGraph({ maxActivities: Math.max(1, spans.length) });
    for (const span of spans) graph.add(snapshotOf(span, true));
    return graph;
  }

  #trace(traceId: string, params: URLSearchParams): Response {
    const max = integerParam(
      params,
      "maxSpans",
      this.#limits.maxViewSpans,
      this.#limits.maxViewSpans,
    );
    const trace = this.#store.get(traceId);
    const related = this.#store.related(traceId);
    if (trace === undefined && related.traces.length === 1) {
      return problem(404, `Trace ${traceId} is not held, and nothing held links to it`);
    }
    const { shown, spans, omitted } = this.#groupSpans(traceId, max);
    const { spanList, resources, scopes } = spansJson(spans);
    const graph = this.#graphOf(spans);
    return json({
      traceId,
      summary: trace === undefined ? null : summary(this.#store, trace),
      related: this.#relatedJson(related),
      shownTraces: shown,
      spans: spanList,
      omittedSpans: omitted,
      resources: resources.map(resourceJson),
      scopes: scopes.map(scopeJson),
      tree: renderTree(graph, traceId, { depth: 1 }),
      stats: this.stats(),
    });
  }

  /** The related traces and the links between them, as the trace view lists them. */
  #relatedJson(related: RelatedTraces): Json {
    return {
      traces: related.traces.slice(0, MAX_RELATED_LISTED).map((t) => {
        const held = this.#store.get(t.traceId);
        return {
          traceId: t.traceId,
          depth: t.depth,
          known: t.known,
          summary: held === undefined ? null : summary(this.#store, held),
        };
      }),
      omittedTraces: Math.max(0, related.traces.length - MAX_RELATED_LISTED),
      edges: related.edges.slice(0, MAX_EDGES_LISTED).map((e) => ({
        from: { traceId: e.from.traceId, spanId: e.from.spanId },
        to: { traceId: e.to.traceId, spanId: e.to.spanId },
        linkIndex: e.linkIndex,
        resolved: e.resolved,
      })),
      omittedEdges: Math.max(0, related.edges.length - MAX_EDGES_LISTED),
    };
  }

  #exportSpans(traceId: string): OtlpSpan[] | undefined {
    if (this.#store.get(traceId) === undefined) return undefined;
    return this.#groupSpans(traceId, this.#limits.maxExportSpans).spans;
  }

  #report(traceId: string): Response {
    const spans = this.#exportSpans(traceId);
    if (spans === undefined) return problem(404, `Trace ${traceId} is not held`);
    const html = renderHtmlReport(this.#graphOf(spans), {
      title: `Linked traces of ${traceId}`,
      traceIds: [traceId],
    });
    return new Response(html, {
      headers: {
        "content-type": "text/html; charset=utf-8",
        "content-disposition": `attachment; filename="traces-${traceId}.html"`,
        ...SECURITY_HEADERS,
      },
    });
  }

  #otlp(traceId: string): Response {
    const spans = this.#exportSpans(traceId);
    if (spans === undefined) return problem(404, `Trace ${traceId} is not held`);
    return json(exportRequestJson(spans), 200, {
      "content-disposition": `attachment; filename="traces-${traceId}.otlp.json"`,
    });
  }

  #events(): Response {
    if (this.#closed) return problem(503, "The dashboard is shutting down");
    if (this.#streams.size >= this.#limits.maxEventStreams) {
      return problem(503, "Too many pages are listening: close one and reload", {
        "retry-after": "5",
      });
    }
    let me: ReadableStreamDefaultController<Uint8Array>;
    const stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        me = controller;
        this.#streams.add(controller);
        controller.enqueue(
          encode(
            `retry: 1000\nevent: hello\ndata: ${
              JSON.stringify({ version: this.#store.version })
            }\n\n`,
          ),
        );
        this.#keepalive ??= setInterval(() => this.#broadcast(": keepalive\n\n"), KEEPALIVE);
      },
      cancel: () => this.#drop(me),
    }, { highWaterMark: 64 * 1024, size: (chunk) => chunk.byteLength });
    return new Response(stream, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        ...SECURITY_HEADERS,
      },
    });
  }

  #drop(controller: ReadableStreamDefaultController<Uint8Array>): void {
    this.#streams.delete(controller);
    if (this.#streams.size === 0 && this.#keepalive !== undefined) {
      clearInterval(this.#keepalive);
      this.#keepalive = undefined;
    }
  }

  #broadcast(text: string): void {
    const bytes = encode(text);
    for (const controller of [...this.#streams]) {
      // A page that does not read its events falls behind; it is dropped rather than buffered.
      if ((controller.desiredSize ?? 0) <= 0) {
        try {
          controller.close();
        } catch {
          // already closed
        }
        this.#drop(controller);
        continue;
      }
      try {
        controller.enqueue(bytes);
      } catch {
        this.#drop(controller);
      }
    }
  }

  #noteChange(traceIds: readonly string[]): void {
    if (this.#streams.size === 0) return;
    for (const id of traceIds) {
      if (this.#changed.size >= 500) {
        this.#overflow = true;
        break;
      }
      this.#changed.add(id);
    }
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      const traces = this.#overflow ? null : [...this.#changed];
      this.#changed = new Set();
      this.#overflow = false;
      this.#broadcast(
        `event: change\ndata: ${
          JSON.stringify({ version: this.#store.version, traces, stats: this.stats() })
        }\n\n`,
      );
    }, EVENT_DELAY);
  }

  /** Ends every event stream and stops the timers. */
  close(): void {
    this.#closed = true;
    for (const controller of [...this.#streams]) {
      try {
        controller.close();
      } catch {
        // already closed
      }
      this.#drop(controller);
    }
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

const utf8 = new TextEncoder();
function encode(text: string): Uint8Array {
  return utf8.encode(text);
}
