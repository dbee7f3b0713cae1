// The service benchmark's own logic: the receiver's span count (on which "no span lost" rests),
// the reading of wrk's output, and the profile's categories.

import assert from "node:assert/strict";
import { ActivitySource, createTracerProviderBuilder, InMemoryExporter } from "../mod.ts";
import { encodeOtlpTraces } from "../otlp/mod.ts";
import { countSpans } from "../bench/service/receiver.ts";
import { parseWrk } from "../bench/service/run.ts";
import { categorize, type Frame } from "../bench/service/profile.ts";

function finishedActivities(): InMemoryExporter {
  const exporter = new InMemoryExporter();
  using _provider = createTracerProviderBuilder()
    .addSource("Shop", "Stock")
    .addInMemoryExporter(exporter)
    .build();
  const shop = new ActivitySource("Shop");
  const stock = new ActivitySource("Stock");
  for (let i = 0; i < 3; i++) {
    shop.startActivity("GET /cart", { kind: "server", tags: { "http.route": "/cart" } })?.stop();
  }
  stock.startActivity("reserve", { tags: { "cart.items": 3, "cart.id": "c-1" } })?.stop();
  return exporter;
}

Deno.test("countSpans() counts every span of a protobuf request, across sources", () => {
  const exporter = finishedActivities();
  assert.equal(exporter.activities.length, 4);
  const body = encodeOtlpTraces(exporter.activities);
  assert.equal(countSpans(body, false), 4);
});

Deno.test("countSpans() counts every span of a JSON request", () => {
  const exporter = finishedActivities();
  const body = encodeOtlpTraces(exporter.activities, undefined, { protocol: "http/json" });
  assert.equal(countSpans(body, true), 4);
});

Deno.test("countSpans() counts no span in an empty request and throws on a truncated one", () => {
  assert.equal(countSpans(new Uint8Array(0), false), 0);
  const body = encodeOtlpTraces(finishedActivities().activities);
  assert.throws(() => countSpans(body.subarray(0, body.length - 3), false), RangeError);
});

const WRK_OUTPUT = `Running 5s test @ http://127.0.0.1:18555/
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.85ms    4.56ms  49.12ms   94.77%
    Req/Sec    60.74k    24.07k  129.52k    74.00%
  Latency Distribution
     50%  420.00us
     75%    1.67ms
     90%    4.35ms
     99%   28.64ms
  303335 requests in 5.03s, 33.85MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  60311.14
Transfer/sec:      6.73MB
`;

Deno.test("parseWrk() reads rate, percentiles in their units, requests and errors", () => {
  assert.deepEqual(parseWrk(WRK_OUTPUT), {
    requestsPerSecond: 60311.14,
    p50Ms: 0.42,
    p99Ms: 28.64,
    requests: 303335,
    errors: 7,
  });
  assert.equal(parseWrk(WRK_OUTPUT.replace("28.64ms", "1.20s")).p99Ms, 1200);
  assert.throws(() => parseWrk("unable to connect"), /Cannot read wrk's output/);
});

const frame = (name: string, file: string): Frame => ({ name, file, line: 1 });
const serve = [frame("nativeMapped", "ext:deno_http/00_serve.ts"), frame("(root)", "(native)")];
const handler = frame("(anonymous)", "http.ts");

Deno.test("categorize() counts a helper and the runtime for the module code that called them", () => {
  // The id check under traceparent parsing under extract: extracting headers.
  const idCheck = [
    frame("RegExp: ^[0-9a-f]{32}$", "(native)"),
    frame("isValidTraceId", "ids.ts"),
    frame("readTraceparent", "links.ts"),
    frame("extract", "propagation.ts"),
    handler,
    ...serve,
  ];
  assert.equal(categorize(idCheck), "extracting headers (request.headers, traceparent, baggage)");
  // The same check under the child's start: the activities.
  const childStart = [
    ...idCheck.slice(0, 2),
    frame("ActivityContext", "links.ts"),
    frame("#start", "source.ts"),
    frame("handler", "bench/service/server.ts"),
    ...serve,
  ];
  assert.equal(
    categorize(childStart),
    "the activities: start, tags, stop (ids, clock, sampling, listeners)",
  );
  // URL parsing and a header look-up made by instrumentHandler itself.
  assert.equal(
    categorize([frame("parseSimpleSpecialUrl", "ext:deno_web/00_url.js"), handler, ...serve]),
    "naming and tagging the server activity: new URL(request.url)",
  );
  assert.equal(
    categorize([frame("op_http_get_request_header", "(native)"), handler, ...serve]),
    "extracting headers (request.headers, traceparent, baggage)",
  );
});

Deno.test("categorize() tells encoding from fetch inside the OTLP exporter", () => {
  const send = frame("#send", "otlp/exporter.ts");
  assert.equal(
    categorize([
      frame("hex", "otlp/_protobuf.ts"),
      frame("writeSpan", "otlp/_encode_proto.ts"),
      send,
    ]),
    "encoding (OTLP)",
  );
  assert.equal(
    categorize([frame("op_fetch", "(native)"), frame("fetch", "ext:deno_fetch/26_fetch.js"), send]),
    "fetch to the collector",
  );
  assert.equal(categorize([send]), "OTLP exporter, other (retries, timeout, response)");
  // A fetch continuation with no module code on the stack.
  assert.equal(
    categorize([frame("mainFetch", "ext:deno_fetch/26_fetch.js"), frame("(root)", "(native)")]),
    "fetch to the collector",
  );
});

Deno.test("categorize() names GC, idle, context entry and Deno.serve's promise path", () => {
  assert.equal(categorize([frame("(garbage collector)", "(native)")]), "GC");
  assert.equal(categorize([frame("(idle)", "(native)")]), "idle (event loop outside JavaScript)");
  assert.equal(
    categorize([
      frame("run", "node:async_hooks"), // AsyncLocalStorage, called by context.ts
      frame("run", "context.ts"),
      frame("startActiveActivity", "source.ts"),
      handler,
    ]),
    "context entry (startActiveActivity, the current activity)",
  );
  assert.equal(
    categorize([
      frame("get headerList", "ext:deno_http/00_serve.ts"),
      frame("cacheRequestHeaders", "ext:deno_fetch/23_request.js"),
      frame("finishOrReturnNative", "ext:deno_http/00_serve.ts"),
      frame("(root)", "(native)"),
    ]),
    "Deno.serve: the handler's promise (async path, request headers copied)",
  );
  assert.equal(
    categorize([frame("trySetServeFastStaticResponse", "ext:deno_http/00_serve.ts"), ...serve]),
    "HTTP server and runtime (no module frame on the stack)",
  );
});
