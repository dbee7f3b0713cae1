// The dashboard's handlers, called directly (no network): OTLP/HTTP ingest and its statuses,
// hostile bodies, the token and the Host check, the JSON API, the exports and the event stream.

import assert from "node:assert/strict";
import { Dashboard, type DashboardOptions } from "../../dashboard/mod.ts";
import { decodeJsonTraces } from "../../otlp/_decode_json.ts";
import { type Inflater, inflateWithin } from "../../dashboard/_ingest.ts";
import { Resource } from "../../mod.ts";
import { encodeOtlpTraces } from "../../otlp/mod.ts";
import { decodeResponse, decodeRpcStatus, encodeProtobufRequest } from "../otlp/_helpers.ts";
import { canonRequests, fanoutActivities } from "../otlp/_decode_helpers.ts";

const OTLP = "http://127.0.0.1:4318/v1/traces";
const UI = "http://127.0.0.1:18888";
const TRACE = "5b8efff798038103d269b633813fc60c";
const SPAN = "eee19b7ec3c1b174";
const utf8 = new TextEncoder();
const MIB = 1024 * 1024;

function post(
  body: BodyInit | null,
  type = "application/x-protobuf",
  headers: Record<string, string> = {},
): Request {
  return new Request(OTLP, { method: "POST", headers: { "content-type": type, ...headers }, body });
}

function get(path: string, headers: Record<string, string> = {}): Request {
  return new Request(`${UI}${path}`, { headers });
}

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function jsonSpans(spans: Record<string, unknown>[], resource: Record<string, unknown> = {}) {
  return JSON.stringify({
    resourceSpans: [{ resource, scopeSpans: [{ scope: { name: "s" }, spans }] }],
  });
}

/** Runs `fn` with a dashboard that is closed after. */
async function withDashboard(
  options: DashboardOptions,
  fn: (dashboard: Dashboard) => Promise<void>,
): Promise<void> {
  const dashboard = new Dashboard(options);
  try {
    await fn(dashboard);
  } finally {
    dashboard.close();
  }
}

/** Posts the guide's fan-out (8 spans in 4 traces) in an encoding; returns its activities. */
async function postFanout(
  dashboard: Dashboard,
  protocol: "http/protobuf" | "http/json",
  zip = false,
) {
  const activities = await fanoutActivities(`fanout-${protocol}`);
  let body: Uint8Array = encodeOtlpTraces(
    activities,
    new Resource({ "service.name": `fanout-${protocol}` }),
    {
      protocol,
    },
  );
  if (zip) body = await gzip(body);
  const type = protocol === "http/json" ? "application/json" : "application/x-protobuf";
  const response = await dashboard.handleOtlp(
    post(body as BodyInit, type, zip ? { "content-encoding": "gzip" } : {}),
  );
  return { activities, response };
}

Deno.test("Dashboard.handleOtlp() accepts protobuf and JSON, gzip or not: full success", async () => {
  await withDashboard({}, async (dashboard) => {
    for (const protocol of ["http/protobuf", "http/json"] as const) {
      for (const zip of [false, true]) {
        const { response } = await postFanout(dashboard, protocol, zip);
        assert.equal(response.status, 200);
        const json = protocol === "http/json";
        assert.equal(
          response.headers.get("content-type"),
          json ? "application/json" : "application/x-protobuf",
        );
        assert.equal(await response.text(), json ? "{}" : ""); // partial_success left unset
      }
    }
    const stats = dashboard.stats;
    assert.equal(stats.traces, 16);
    assert.equal(stats.spans, 32);
    assert.equal(stats.acceptedRequests, 4);
    assert.equal(stats.rejectedSpans, 0);
  });
});

Deno.test("Dashboard.handleOtlp() answers a partial success naming what it rejected", async () => {
  await withDashboard({}, async (dashboard) => {
    const spans = [
      { traceId: TRACE, spanId: SPAN, name: "kept" },
      { traceId: TRACE.slice(2), spanId: "0102030405060708", name: "short id" },
      { traceId: TRACE, spanId: "0000000000000000", name: "zero id" },
    ];
    const response = await dashboard.handleOtlp(post(jsonSpans(spans), "application/json"));
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), {
      partialSuccess: {
        rejectedSpans: "2",
        errorMessage:
          "a span was rejected: trace id must be 16 bytes, got 15; a span was rejected: span id is all zeros",
      },
    });
    // The same in protobuf: an ExportTraceServiceResponse with partial_success.
    const bytes = (hex: string) => Uint8Array.from(hex.match(/../g)!, (h) => parseInt(h, 16));
    const proto = await dashboard.handleOtlp(post(encodeProtobufRequest({
      resourceSpans: [{
        scopeSpans: [{
          spans: [
            { traceId: bytes(TRACE), spanId: bytes("0a0b0c0d0e0f0102"), name: "kept too" },
            { traceId: bytes(TRACE), spanId: bytes(SPAN), parentSpanId: new Uint8Array(9).fill(1) },
          ],
        }],
      }],
    }) as BodyInit));
    assert.equal(proto.status, 200);
    assert.equal(proto.headers.get("content-type"), "application/x-protobuf");
    assert.deepEqual(decodeResponse(new Uint8Array(await proto.arrayBuffer())), {
      rejectedSpans: "1",
      errorMessage: "a span was rejected: parent span id must be 8 bytes, got 9",
    });
    assert.equal(dashboard.stats.spans, 2);
    assert.equal(dashboard.stats.rejectedSpans, 3);
  });
});

Deno.test("Dashboard.handleOtlp() answers 400 with a google.rpc.Status for a malformed body", async () => {
  await withDashboard({}, async (dashboard) => {
    const body = encodeOtlpTraces(await fanoutActivities());
    const truncated = await dashboard.handleOtlp(
      post(body.subarray(0, body.length - 3) as BodyInit),
    );
    assert.equal(truncated.status, 400);
    const status = decodeRpcStatus(new Uint8Array(await truncated.arrayBuffer()));
    assert.equal(status.code, 3);
    assert.match(status.message!, /^Cannot decode OTLP protobuf: /);
    const wrongWire = await dashboard.handleOtlp(post(Uint8Array.from([0x08, 0x01])));
    assert.equal(wrongWire.status, 400);
    assert.match(
      decodeRpcStatus(new Uint8Array(await wrongWire.arrayBuffer())).message!,
      /ExportTraceServiceRequest field 1 \(resource_spans\) has wire type 0/,
    );
    const json = await dashboard.handleOtlp(post('{"resourceSpans": 5}', "application/json"));
    assert.equal(json.status, 400);
    assert.equal(json.headers.get("content-type"), "application/json");
    assert.deepEqual(await json.json(), {
      code: 3,
      message: "Cannot decode OTLP JSON: resourceSpans must be an array, got a number",
    });
    const badGzip = await dashboard.handleOtlp(
      post(Uint8Array.from([1, 2, 3]), "application/x-protobuf", {
        "content-encoding": "gzip",
      }),
    );
    assert.equal(badGzip.status, 400);
    assert.match(
      decodeRpcStatus(new Uint8Array(await badGzip.arrayBuffer())).message!,
      /is not valid gzip/,
    );
    assert.equal(dashboard.stats.failedRequests, 4);
    assert.equal(dashboard.stats.spans, 0);
  });
});

/** A valid protobuf request of exactly `size` bytes: one unknown field of padding. */
function paddedRequest(size: number): Uint8Array {
  const out = new Uint8Array(size);
  // Field 15, length-delimited: key 0x7a, then the length as a 4-byte varint.
  const length = size - 5;
  out.set([
    0x7a,
    (length & 0x7f) | 0x80,
    ((length >> 7) & 0x7f) | 0x80,
    ((length >> 14) & 0x7f) | 0x80,
    length >> 21,
  ], 0);
  return out;
}

Deno.test("Dashboard.handleOtlp() takes 4 MiB and answers 413 to 4 MiB + 1, streamed or not", async () => {
  await withDashboard({}, async (dashboard) => {
    assert.equal(
      (await dashboard.handleOtlp(post(paddedRequest(4 * MIB) as BodyInit))).status,
      200,
    );
    const over = await dashboard.handleOtlp(post(paddedRequest(4 * MIB + 1) as BodyInit));
    assert.equal(over.status, 413);
    assert.equal(
      decodeRpcStatus(new Uint8Array(await over.arrayBuffer())).message,
      "The body is larger than the limit of 4194304 bytes",
    );
    // Without a Content-Length: read up to the bound, then refused.
    let sent = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        sent += 65536;
        controller.enqueue(new Uint8Array(65536));
      },
    });
    const streamed = await dashboard.handleOtlp(post(endless));
    assert.equal(streamed.status, 413);
    assert.ok(sent <= 4 * MIB + 3 * 65536, `${sent} bytes were pulled`);
    await streamed.body?.cancel();
  });
});

/** 256 MiB of zeros, gzipped: about 256 KiB. */
async function gzipBomb(): Promise<Uint8Array> {
  const zeros = new Uint8Array(16 * MIB);
  const stream = new Blob(Array(16).fill(zeros)).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

Deno.test("Dashboard.handleOtlp() answers 413 to a gzip bomb, having inflated little more than the bound", async () => {
  const bomb = await gzipBomb();
  assert.ok(bomb.length < MIB);
  await withDashboard({}, async (dashboard) => {
    const response = await dashboard.handleOtlp(post(bomb as BodyInit, "application/x-protobuf", {
      "content-encoding": "gzip",
    }));
    assert.equal(response.status, 413);
    assert.equal(
      decodeRpcStatus(new Uint8Array(await response.arrayBuffer())).message,
      "The inflated body is larger than the limit of 4194304 bytes",
    );
  });
  // What the inflater made, counted.
  let made = 0;
  const counting: Inflater = () => {
    const inner = new DecompressionStream("gzip") as ReadableWritablePair<Uint8Array, Uint8Array>;
    const count = new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        made += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    return { writable: inner.writable, readable: inner.readable.pipeThrough(count) };
  };
  const read = await inflateWithin(bomb, 4 * MIB, 30_000, counting);
  assert.deepEqual(read, {
    status: 413,
    message: "The inflated body is larger than the limit of 4194304 bytes",
  });
  assert.ok(made <= 4 * MIB + 2 * 528 * 1024, `${made} bytes were inflated`);
});

Deno.test("Dashboard.handleOtlp() answers 415, 405, 404 and 408 as the OTLP/HTTP specification says", async () => {
  await withDashboard({ bodyTimeout: 50 }, async (dashboard) => {
    const status = async (request: Request) => {
      const response = await dashboard.handleOtlp(request);
      const message = decodeRpcStatus(new Uint8Array(await response.arrayBuffer())).message;
      return [response.status, message];
    };
    assert.deepEqual(await status(post("x", "text/plain")), [
      415,
      "Content-Type 'text/plain' is not accepted: send application/x-protobuf or application/json",
    ]);
    assert.deepEqual(
      await status(post("x", "application/x-protobuf", { "content-encoding": "br" })),
      [
        415,
        "Content-Encoding 'br' is not accepted: send gzip or no encoding",
      ],
    );
    assert.deepEqual(await status(new Request(OTLP)), [405, "Send traces with POST"]);
    assert.deepEqual(
      await status(new Request("http://127.0.0.1:4318/v1/metrics", { method: "POST" })),
      [
        404,
        "No OTLP endpoint at /v1/metrics: traces go to /v1/traces",
      ],
    );
    const stalled = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new Uint8Array(3));
      },
    });
    assert.deepEqual(await status(post(stalled)), [408, "The body did not arrive within 50 ms"]);
    // Charset parameters do not matter; the response uses the request's encoding.
    const ok = await dashboard.handleOtlp(post("{}", "application/json; charset=utf-8"));
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), "{}");
  });
});

Deno.test("Dashboard.handleOtlp() answers metrics and logs with a warning, and does not keep them", async () => {
  await withDashboard({}, async (dashboard) => {
    const metrics = await dashboard.handleOtlp(
      new Request("http://127.0.0.1:4318/v1/metrics", {
        method: "POST",
        headers: { "content-type": "application/x-protobuf" },
        body: new Uint8Array([0x0a, 0x00]),
      }),
    );
    assert.equal(metrics.status, 200);
    assert.deepEqual(decodeResponse(new Uint8Array(await metrics.arrayBuffer())), {
      errorMessage: "This dashboard keeps traces only: these metrics were not kept",
    });
    const logs = await dashboard.handleOtlp(
      new Request("http://127.0.0.1:4318/v1/logs", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      }),
    );
    assert.deepEqual(await logs.json(), {
      partialSuccess: {
        errorMessage: "This dashboard keeps traces only: these logs were not kept",
      },
    });
    assert.equal(dashboard.stats.ignoredRequests, 2);
    assert.equal(dashboard.stats.failedRequests, 0);
    assert.equal(dashboard.stats.spans, 0);
  });
});

Deno.test("Dashboard.handleOtlp() answers 429 when 16 bodies are being read, then takes more", async () => {
  await withDashboard({}, async (dashboard) => {
    const controllers: ReadableStreamDefaultController<Uint8Array>[] = [];
    const held = Array.from(
      { length: 16 },
      () =>
        dashboard.handleOtlp(
          post(new ReadableStream<Uint8Array>({ start: (c) => void controllers.push(c) })),
        ),
    );
    await new Promise((resolve) => setTimeout(resolve, 10));
    const busy = await dashboard.handleOtlp(post(new Uint8Array(0)));
    assert.equal(busy.status, 429);
    assert.equal(busy.headers.get("retry-after"), "1");
    await busy.body?.cancel();
    for (const c of controllers) c.close();
    for (const response of await Promise.all(held)) {
      assert.equal(response.status, 200);
      await response.body?.cancel();
    }
    assert.equal((await dashboard.handleOtlp(post(new Uint8Array(0)))).status, 200);
  });
});

Deno.test("Dashboard with a token: every OTLP and UI request carries it; a login address sets a cookie", async () => {
  const token = "s3cret-token-0123456789";
  await withDashboard({ token }, async (dashboard) => {
    const bearer = { authorization: `Bearer ${token}` };
    const denied = await dashboard.handleOtlp(post("{}", "application/json"));
    assert.equal(denied.status, 401);
    assert.equal(denied.headers.get("www-authenticate"), "Bearer");
    await denied.body?.cancel();
    const wrong = await dashboard.handleOtlp(
      post("{}", "application/json", { authorization: "Bearer nope" }),
    );
    assert.equal(wrong.status, 401);
    await wrong.body?.cancel();
    assert.equal((await dashboard.handleOtlp(post("{}", "application/json", bearer))).status, 200);

    for (const path of ["/", "/api/traces", "/api/events", `/api/traces/${TRACE}`]) {
      const response = dashboard.handleUi(get(path));
      assert.equal(response.status, 401, path);
      await response.body?.cancel();
    }
    assert.equal(dashboard.handleUi(get("/api/traces", bearer)).status, 200);
    assert.equal(dashboard.handleUi(get("/?token=wrong-token-0123456789")).status, 401);
    const login = dashboard.handleUi(get(`/?token=${token}`));
    assert.equal(login.status, 303);
    assert.equal(login.headers.get("location"), "/");
    const cookie = login.headers.get("set-cookie")!;
    assert.match(cookie, /^tracelinks_dashboard=[0-9a-f]{64}; Path=\/; HttpOnly; SameSite=Strict$/);
    assert.ok(!cookie.includes(token));
    const session = cookie.split(";")[0]!;
    const page = dashboard.handleUi(get("/", { cookie: `other=1; ${session}` }));
    assert.equal(page.status, 200);
    await page.body?.cancel();
    assert.equal(dashboard.handleUi(get("/api/traces", { cookie: `${session}x` })).status, 401);
    // The cookie is for the UI only: an OTLP request needs the bearer token.
    const otlpWithCookie = await dashboard.handleOtlp(
      post("{}", "application/json", { cookie: session }),
    );
    assert.equal(otlpWithCookie.status, 401);
    await otlpWithCookie.body?.cancel();
  });
  assert.throws(() => new Dashboard({ token: "short" }), RangeError);
});

Deno.test("Dashboard checks the Host header against DNS rebinding", async () => {
  await withDashboard({ allowedHosts: ["dev.example"] }, async (dashboard) => {
    for (
      const host of [
        "127.0.0.1:18888",
        "localhost:18888",
        "[::1]:18888",
        "app.localhost",
        "10.0.0.5:18888",
        "DEV.example:1",
      ]
    ) {
      const response = dashboard.handleUi(get("/api/traces", { host }));
      assert.equal(response.status, 200, host);
      await response.body?.cancel();
    }
    for (const host of ["evil.example:18888", "localhost.evil.example", "127.0.0.1.nip.io"]) {
      const response = dashboard.handleUi(get("/api/traces", { host }));
      assert.equal(response.status, 403, host);
      assert.match(
        (await response.json()).error,
        /is not allowed \(a defence against DNS rebinding\)/,
      );
      const otlp = await dashboard.handleOtlp(post("{}", "application/json", { host }));
      assert.equal(otlp.status, 403, host);
      await otlp.body?.cancel();
    }
  });
});

Deno.test("Dashboard.handleUi() refuses requests from other sites, and methods other than GET", async () => {
  await withDashboard({}, async (dashboard) => {
    const crossSite = dashboard.handleUi(
      get("/api/traces", { "sec-fetch-site": "cross-site", "sec-fetch-mode": "cors" }),
    );
    assert.equal(crossSite.status, 403);
    await crossSite.body?.cancel();
    const navigation = dashboard.handleUi(
      get("/", { "sec-fetch-site": "cross-site", "sec-fetch-mode": "navigate" }),
    );
    assert.equal(navigation.status, 200);
    await navigation.body?.cancel();
    const postUi = dashboard.handleUi(new Request(`${UI}/api/traces`, { method: "POST" }));
    assert.equal(postUi.status, 405);
    await postUi.body?.cancel();
  });
});

Deno.test("Dashboard.handleUi() serves a self-contained page under a strict Content-Security-Policy", async () => {
  await withDashboard({}, async (dashboard) => {
    const first = dashboard.handleUi(get("/"));
    const second = dashboard.handleUi(get("/"));
    const csp = first.headers.get("content-security-policy")!;
    const nonce = /'nonce-([^']+)'/.exec(csp)![1]!;
    assert.match(
      csp,
      /^default-src 'none'; script-src 'nonce-[^']+'; style-src 'nonce-[^']+'; connect-src 'self';/,
    );
    assert.ok(!csp.includes("unsafe"));
    assert.notEqual(second.headers.get("content-security-policy"), csp); // a fresh nonce
    await second.body?.cancel();
    const html = await first.text();
    assert.equal(html.match(/<script/g)?.length, 1);
    assert.ok(html.includes(`<script nonce="${nonce}">`));
    assert.ok(html.includes(`<style nonce="${nonce}">`));
    assert.ok(!/(src|href)="(https?:)?\/\//.test(html), "no load from elsewhere");
    assert.ok(!html.includes("innerHTML") && !html.includes("insertAdjacentHTML"));
    assert.equal(first.headers.get("x-content-type-options"), "nosniff");
    assert.equal(first.headers.get("x-frame-options"), "DENY");
  });
});

Deno.test("Dashboard's API lists the fan-out's traces with span counts and links, and filters them", async () => {
  await withDashboard({}, async (dashboard) => {
    const { activities } = await postFanout(dashboard, "http/protobuf");
    const hub = activities.find((a) => a.displayName === "OrchestratingActivity")!;
    const list = await dashboard.handleUi(get("/api/traces")).json();
    assert.equal(list.total, 4);
    const byName = Object.fromEntries(
      list.traces.map((t: { rootName: string }) => [t.rootName, t]),
    );
    assert.deepEqual(
      Object.keys(byName).sort(),
      [
        "FannedOutActivity 1",
        "FannedOutActivity 2",
        "FannedOutActivity 3",
        "OrchestratingActivity",
      ],
    );
    const orchestrator = byName["OrchestratingActivity"];
    assert.equal(orchestrator.traceId, hub.traceId);
    assert.equal(orchestrator.rootSpanId, hub.spanId);
    assert.equal(orchestrator.service, "fanout-http/protobuf");
    assert.equal(orchestrator.spanCount, 2);
    assert.equal(orchestrator.linksIn, 3);
    assert.equal(orchestrator.linksOut, 0);
    assert.equal(
      orchestrator.durationNano,
      (hub.endTimeUnixNano! - hub.startTimeUnixNano).toString(),
    );
    for (const n of [1, 2, 3]) {
      const t = byName[`FannedOutActivity ${n}`];
      assert.deepEqual([t.spanCount, t.linksIn, t.linksOut, t.errorCount], [2, 0, 1, 0]);
    }
    assert.deepEqual(list.services, ["fanout-http/protobuf"]);
    assert.equal(list.stats.traces, 4);
    assert.equal(list.stats.spans, 8);

    const names = async (query: string) =>
      (await dashboard.handleUi(get(`/api/traces?${query}`)).json()).traces.map((
        t: { rootName: string },
      ) => t.rootName);
    assert.deepEqual(await names("name=wrapup"), ["OrchestratingActivity"]);
    assert.deepEqual(await names("attribute=step=2"), ["FannedOutActivity 2"]);
    assert.deepEqual(await names("service=nobody"), []);
    assert.deepEqual(await names(`traceId=${hub.traceId.slice(0, 12)}`), ["OrchestratingActivity"]);
    assert.deepEqual(await names("error=true"), []);
    assert.equal((await names("limit=2")).length, 2);
    const page2 = await dashboard.handleUi(get("/api/traces?limit=3&offset=3")).json();
    assert.deepEqual([page2.traces.length, page2.total, page2.offset], [1, 4, 3]);
    const bad = dashboard.handleUi(get("/api/traces?limit=-1"));
    assert.equal(bad.status, 400);
    assert.deepEqual(await bad.json(), {
      error: "Query parameter limit must be a whole number >= 0, got '-1'",
    });
  });
});

Deno.test("Dashboard's API returns a trace with its related traces, links, spans and tree", async () => {
  await withDashboard({}, async (dashboard) => {
    const { activities } = await postFanout(dashboard, "http/json");
    const hub = activities.find((a) => a.displayName === "OrchestratingActivity")!;
    const fanned = activities.filter((a) => a.displayName.startsWith("FannedOut"));
    const view = await dashboard.handleUi(get(`/api/traces/${hub.traceId.toUpperCase()}`)).json();
    assert.equal(view.traceId, hub.traceId);
    assert.deepEqual(
      view.related.traces.map((t: { traceId: string; depth: number }) => [t.traceId, t.depth]),
      [
        [hub.traceId, 0],
        ...fanned.map((f) => [f.traceId, 1]),
      ],
    );
    assert.deepEqual(
      view.related.edges.map((
        e: { from: { spanId: string }; to: { spanId: string } },
      ) => [e.from.spanId, e.to.spanId]),
      fanned.map((f) => [f.spanId, hub.spanId]),
    );
    assert.equal(view.spans.length, 8);
    assert.deepEqual(
      view.shownTraces,
      view.related.traces.map((t: { traceId: string }) => t.traceId),
    );
    const link = view.spans.find((s: { spanId: string }) =>
      s.spanId === fanned[0]!.spanId
    ).links[0];
    assert.deepEqual(link.attributes, [{ key: "link.reason", value: { stringValue: "fan-out" } }]);
    assert.deepEqual(view.resources, [{
      attributes: [{ key: "service.name", value: { stringValue: "fanout-http/json" } }],
    }]);
    assert.match(
      view.tree,
      /^trace [0-9a-f]{32} {2}\[fanout-http\/json\]\n└── OrchestratingActivity {2}internal/,
    );
    assert.match(view.tree, /← linked from FannedOutActivity 1 in trace /);
    const missing = dashboard.handleUi(get(`/api/traces/${"1".repeat(32)}`));
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
    const notFound = dashboard.handleUi(get("/api/traces/xyz"));
    assert.equal(notFound.status, 404);
    await notFound.body?.cancel();
  });
});

Deno.test("Dashboard evicts the least recently updated traces, counts them, and keeps links into them", async () => {
  await withDashboard({ maxTraces: 3 }, async (dashboard) => {
    const activities = await fanoutActivities();
    const hub = activities.find((a) => a.displayName === "OrchestratingActivity")!;
    // The orchestrator's trace first: it is the least recently updated when the fourth arrives.
    const ordered = [
      ...activities.filter((a) => a.traceId === hub.traceId),
      ...activities.filter((a) => a.traceId !== hub.traceId),
    ];
    assert.equal((await dashboard.handleOtlp(post(encodeOtlpTraces(ordered)))).status, 200);
    const list = await dashboard.handleUi(get("/api/traces")).json();
    assert.equal(list.total, 3);
    assert.equal(list.stats.evictedTraces, 1);
    assert.equal(list.stats.evictedSpans, 2);
    assert.ok(list.traces.every((t: { traceId: string }) => t.traceId !== hub.traceId));
    // The links into the evicted orchestrator remain: its group is still there, without it.
    const view = await dashboard.handleUi(get(`/api/traces/${hub.traceId}`)).json();
    assert.equal(view.summary, null);
    assert.deepEqual(view.related.traces.map((t: { known: boolean }) => t.known), [
      false,
      true,
      true,
      true,
    ]);
    assert.equal(view.related.edges.length, 3);
    assert.equal(view.spans.length, 6);
  });
});

Deno.test("Dashboard's exports: the group as the HTML report and as OTLP JSON that reads back the same", async () => {
  await withDashboard({}, async (dashboard) => {
    const { activities } = await postFanout(dashboard, "http/protobuf");
    const hub = activities.find((a) => a.displayName === "OrchestratingActivity")!;
    const report = dashboard.handleUi(get(`/api/traces/${hub.traceId}/report`));
    assert.equal(
      report.headers.get("content-disposition"),
      `attachment; filename="traces-${hub.traceId}.html"`,
    );
    const html = await report.text();
    assert.match(html, /^<!doctype html>/);
    assert.equal(html.match(/<path class="link-arrow"/g)?.length, 3);
    const otlp = dashboard.handleUi(get(`/api/traces/${hub.traceId}/otlp`));
    assert.equal(
      otlp.headers.get("content-disposition"),
      `attachment; filename="traces-${hub.traceId}.otlp.json"`,
    );
    const exported = decodeJsonTraces(new Uint8Array(await otlp.arrayBuffer()));
    const again = new Dashboard();
    await again.handleOtlp(
      post(encodeOtlpTraces(activities, new Resource({ "service.name": "fanout-http/protobuf" }))),
    );
    const original = await again.handleUi(get(`/api/traces/${hub.traceId}/otlp`)).json();
    again.close();
    assert.equal(exported.spans.length, 8);
    assert.deepEqual(
      canonRequests(exported.spans),
      canonRequests(decodeJsonTraces(utf8.encode(JSON.stringify(original))).spans),
    );
  });
});

Deno.test("Dashboard keeps HTML in every string as data: JSON in the API, escaped in the report", async () => {
  await withDashboard({}, async (dashboard) => {
    const evil = "<img src=x onerror=alert(1)><script>alert(2)</script>";
    const body = jsonSpans([{
      traceId: TRACE,
      spanId: SPAN,
      name: evil,
      attributes: [{ key: evil, value: { stringValue: evil } }],
      events: [{
        timeUnixNano: "1",
        name: evil,
        attributes: [{ key: evil, value: { stringValue: evil } }],
      }],
      links: [{
        traceId: TRACE,
        spanId: "0102030405060708",
        attributes: [{ key: evil, value: { stringValue: evil } }],
      }],
      status: { code: 2, message: evil },
      startTimeUnixNano: "1",
      endTimeUnixNano: "2",
    }], { attributes: [{ key: "service.name", value: { stringValue: evil } }] });
    assert.equal((await dashboard.handleOtlp(post(body, "application/json"))).status, 200);
    const list = await dashboard.handleUi(get("/api/traces")).json();
    assert.equal(list.traces[0].rootName, evil);
    assert.equal(list.traces[0].service, evil);
    const html = await dashboard.handleUi(get(`/api/traces/${TRACE}/report`)).text();
    assert.ok(!html.includes("<img") && !html.includes("<script>alert"));
    assert.ok(
      html.includes("&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;alert(2)&lt;/script&gt;"),
    );
  });
});

Deno.test("Dashboard's event stream tells open pages which traces changed", async () => {
  const dashboard = new Dashboard();
  const response = dashboard.handleUi(get("/api/events"));
  assert.equal(response.headers.get("content-type"), "text/event-stream; charset=utf-8");
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const until = async (pattern: RegExp) => {
    while (!pattern.test(text)) {
      const { done, value } = await reader.read();
      if (done) break;
      text += value;
    }
  };
  await until(/event: hello\n/);
  assert.match(text, /^retry: 1000\nevent: hello\ndata: \{"version":0\}\n\n/);
  const { activities } = await postFanout(dashboard, "http/protobuf");
  await until(/event: change\ndata: .*\n\n/);
  const data = JSON.parse(/event: change\ndata: (.*)\n\n/.exec(text)![1]!);
  assert.deepEqual(new Set(data.traces), new Set(activities.map((a) => a.traceId)));
  assert.equal(data.stats.traces, 4);
  dashboard.close();
  await until(/$^/); // ends: close() closes the stream
  const after = dashboard.handleUi(get("/api/events"));
  assert.equal(after.status, 503);
  await after.body?.cancel();
});
