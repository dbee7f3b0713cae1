// The dashboard's own benchmark: ingest throughput (spans/s) for protobuf and JSON, through the
// handler and over HTTP on 127.0.0.1; the memory held per 10,000 traces; and the time the page
// takes to show a trace of 1,000 spans in headless Chromium. Prints a Markdown table.
//
//   deno task bench:dashboard
//
// Traces look like a small service's: a server span with HTTP attributes, then nine children
// (database and HTTP client calls) with their attributes; 10 spans per trace, 100 traces (1,000
// spans) per request, as an exporter's batch would send them.

import {
  type Activity,
  ActivityLink,
  ActivitySource,
  createTracerProviderBuilder,
  InMemoryExporter,
  Resource,
} from "../mod.ts";
import { encodeOtlpTraces } from "../otlp/mod.ts";
import { Dashboard, serveDashboard } from "../dashboard/mod.ts";

const TRACES_PER_REQUEST = 100;
const SPANS_PER_TRACE = 10;
const REQUESTS = 100; // 10,000 traces, 100,000 spans
const ROUNDS = 7;
const gc = (globalThis as { gc?: () => void }).gc;

function makeActivities(traces: number): Activity[] {
  const memory = new InMemoryExporter();
  const source = new ActivitySource("Bench.Dashboard");
  const provider = createTracerProviderBuilder().addSource(source.name).addInMemoryExporter(memory)
    .setLimits({ linkCount: 16 }).build();
  for (let t = 0; t < traces; t++) {
    const root = source.startActivity("GET /orders/{id}", {
      kind: "server",
      root: true,
      tags: {
        "http.request.method": "GET",
        "url.path": `/orders/${t}`,
        "http.route": "/orders/{id}",
        "server.address": "shop.internal",
        "user_agent.original": "Mozilla/5.0 (X11; Linux x86_64) bench",
      },
    })!;
    for (let c = 1; c < SPANS_PER_TRACE; c++) {
      const db = c % 2 === 0;
      source.startActivity(db ? "SELECT orders" : "GET /inventory", {
        kind: "client",
        parent: root.context,
        tags: db
          ? {
            "db.system": "postgresql",
            "db.query.text": `SELECT * FROM orders WHERE id = $1`,
            "db.rows": c,
          }
          : {
            "http.request.method": "GET",
            "url.full": `http://inventory/items/${c}`,
            "http.response.status_code": 200,
          },
      })?.stop();
    }
    root.setTag("http.response.status_code", 200);
    root.stop();
  }
  provider.shutdown();
  return memory.activities.slice();
}

function bodies(protocol: "http/protobuf" | "http/json"): Uint8Array[] {
  const resource = new Resource({
    "service.name": "shop",
    "service.version": "1.2.3",
    "host.name": "bench",
  });
  return Array.from(
    { length: REQUESTS },
    () => encodeOtlpTraces(makeActivities(TRACES_PER_REQUEST), resource, { protocol }),
  );
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const TYPES = {
  "http/protobuf": "application/x-protobuf",
  "http/json": "application/json",
} as const;

/** Spans per second through Dashboard.handleOtlp: 100 requests of 1,000 spans, into 10,000 traces. */
async function handlerRate(
  protocol: "http/protobuf" | "http/json",
  sets: Uint8Array[][],
): Promise<number> {
  const rates: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const dashboard = new Dashboard({ maxBodyBytes: 16 * 1024 * 1024 });
    const set = sets[round % sets.length]!;
    const start = performance.now();
    for (const body of set) {
      const response = await dashboard.handleOtlp(
        new Request("http://127.0.0.1:4318/v1/traces", {
          method: "POST",
          headers: { "content-type": TYPES[protocol] },
          body: body as BodyInit,
        }),
      );
      if (response.status !== 200) throw new Error(`${protocol}: ${response.status}`);
      await response.body?.cancel();
    }
    const seconds = (performance.now() - start) / 1000;
    if (dashboard.stats.spans !== REQUESTS * TRACES_PER_REQUEST * SPANS_PER_TRACE) {
      throw new Error(`${protocol}: ${dashboard.stats.spans} spans held`);
    }
    rates.push((REQUESTS * TRACES_PER_REQUEST * SPANS_PER_TRACE) / seconds);
    dashboard.close();
  }
  return median(rates);
}

/** Spans per second over HTTP on 127.0.0.1 (fetch to a served dashboard, one request at a time). */
async function httpRate(
  protocol: "http/protobuf" | "http/json",
  sets: Uint8Array[][],
): Promise<number> {
  const rates: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    await using served = await serveDashboard({
      otlp: "127.0.0.1:0",
      ui: "127.0.0.1:0",
      maxBodyBytes: 16 * 1024 * 1024,
    });
    const set = sets[round % sets.length]!;
    const start = performance.now();
    for (const body of set) {
      const response = await fetch(`${served.otlpUrl}/v1/traces`, {
        method: "POST",
        headers: { "content-type": TYPES[protocol] },
        body: body as BodyInit,
      });
      if (response.status !== 200) throw new Error(`${protocol}: ${response.status}`);
      await response.body?.cancel();
    }
    rates.push(
      (REQUESTS * TRACES_PER_REQUEST * SPANS_PER_TRACE) / ((performance.now() - start) / 1000),
    );
  }
  return median(rates);
}

/** The heap held by a dashboard with 10,000 traces of 10 spans, and its own estimate. */
async function memory(set: Uint8Array[]): Promise<{ held: number; estimated: number }> {
  if (gc === undefined) throw new Error("Run with --v8-flags=--expose-gc");
  gc();
  gc();
  const before = Deno.memoryUsage().heapUsed;
  const dashboard = new Dashboard({ maxBodyBytes: 16 * 1024 * 1024 });
  for (const body of set) {
    const response = await dashboard.handleOtlp(
      new Request("http://127.0.0.1:4318/v1/traces", {
        method: "POST",
        headers: { "content-type": "application/x-protobuf" },
        body: body as BodyInit,
      }),
    );
    await response.body?.cancel();
  }
  gc();
  gc();
  const held = Deno.memoryUsage().heapUsed - before;
  const estimated = dashboard.stats.estimatedBytes;
  if (dashboard.stats.traces !== 10_000) throw new Error(`${dashboard.stats.traces} traces held`);
  dashboard.close();
  return { held, estimated };
}

/** Milliseconds from opening a trace's address to its 1,000 rows and their arrows drawn. */
async function pageTime(): Promise<number | undefined> {
  const chromium = "/usr/bin/chromium";
  try {
    Deno.statSync(chromium);
  } catch {
    return undefined;
  }
  const { chromium: driver } = await import("npm:playwright-core@1.61.1");
  await using served = await serveDashboard({
    otlp: "127.0.0.1:0",
    ui: "127.0.0.1:0",
    maxBodyBytes: 16 * 1024 * 1024,
  });
  // One trace of 1,000 spans: a root, 111 children, each with 8 children of its own; 23 spans
  // link to another trace.
  const memory = new InMemoryExporter();
  const source = new ActivitySource("Bench.Dashboard.Page");
  const provider = createTracerProviderBuilder().addSource(source.name).addInMemoryExporter(memory)
    .build();
  const other = source.startActivity("Other", { root: true })!;
  other.stop();
  const root = source.startActivity("Big trace", { root: true })!;
  for (let i = 0; i < 111; i++) {
    const child = source.startActivity(`step ${i}`, { parent: root.context, tags: { i } })!;
    for (let j = 0; j < 8; j++) {
      source.startActivity(`part ${i}.${j}`, {
        parent: child.context,
        links: j === 0 && i % 5 === 0 ? [new ActivityLink(other.context)] : [],
      })?.stop();
    }
    child.stop();
  }
  root.stop();
  await provider.shutdown();
  const response = await fetch(`${served.otlpUrl}/v1/traces`, {
    method: "POST",
    headers: { "content-type": "application/x-protobuf" },
    body: encodeOtlpTraces(memory.activities) as BodyInit,
  });
  await response.body?.cancel();
  const browser = await driver.launch({
    executablePath: chromium,
    args: ["--headless", "--no-sandbox", "--disable-gpu"],
  });
  const times: number[] = [];
  try {
    for (let i = 0; i < 7; i++) {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const start = performance.now();
      await page.goto(`${served.uiUrl}#/trace/${root.traceId}`);
      // Locators, not a function evaluated in the page: the page's CSP forbids eval.
      await page.locator(".span-row").nth(999).waitFor({ state: "attached" });
      await page.locator("path.link-arrow[d]").first().waitFor({ state: "attached" });
      times.push(performance.now() - start);
      await page.close();
    }
  } finally {
    await browser.close();
  }
  return median(times);
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
console.log("Preparing 2 × 3 sets of 100 requests of 1,000 spans ...");
const proto = [bodies("http/protobuf"), bodies("http/protobuf"), bodies("http/protobuf")];
const json = [bodies("http/json"), bodies("http/json"), bodies("http/json")];
const avgProto = proto[0]!.reduce((n, b) => n + b.length, 0) / REQUESTS;
const avgJson = json[0]!.reduce((n, b) => n + b.length, 0) / REQUESTS;
const rows: [string, string][] = [];
rows.push([
  "ingest, protobuf, Dashboard.handleOtlp (decode + store)",
  `${fmt(await handlerRate("http/protobuf", proto))} spans/s`,
]);
rows.push([
  "ingest, JSON, Dashboard.handleOtlp (decode + store)",
  `${fmt(await handlerRate("http/json", json))} spans/s`,
]);
rows.push([
  "ingest, protobuf, over HTTP on 127.0.0.1 (fetch, one at a time)",
  `${fmt(await httpRate("http/protobuf", proto))} spans/s`,
]);
rows.push([
  "ingest, JSON, over HTTP on 127.0.0.1 (fetch, one at a time)",
  `${fmt(await httpRate("http/json", json))} spans/s`,
]);
const mem = await memory(proto[0]!);
rows.push([
  "heap held per 10,000 traces (100,000 spans)",
  `${(mem.held / 1024 / 1024).toFixed(1)} MiB (${fmt(mem.held / 100_000)} B per span)`,
]);
rows.push([
  "the store's own estimate of the same",
  `${(mem.estimated / 1024 / 1024).toFixed(1)} MiB (${fmt(mem.estimated / 100_000)} B per span)`,
]);
const page = await pageTime();
rows.push([
  "page: open a 1,000-span trace until its rows and arrows are drawn (median of 7)",
  page === undefined ? "skipped (no /usr/bin/chromium)" : `${fmt(page)} ms`,
]);
console.log(`\nRequest sizes: protobuf ${fmt(avgProto)} B, JSON ${fmt(avgJson)} B for 1,000 spans`);
console.log(
  `deno ${Deno.version.deno}, V8 ${Deno.version.v8}, ${navigator.hardwareConcurrency} cores\n`,
);
console.log("| what | result |\n| --- | --- |");
for (const [what, result] of rows) console.log(`| ${what} | ${result} |`);
