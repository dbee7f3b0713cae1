// The OTLP exporter when things go wrong: retries then success (each activity arrives exactly
// once), a 400 (no retry, reported), a receiver that never answers (timeout), a receiver gone at
// shutdown (counted as lost, shutdown ends), partial successes, garbage and huge answers, and
// configuration from options and OTEL_EXPORTER_OTLP_* variables. Network tests are skipped
// without net permission; run them with `deno task test:net`.

import assert from "node:assert/strict";
import { mock } from "node:test";
import { type Activity, ActivitySource, createTracerProviderBuilder } from "../../mod.ts";
import { InMemoryExporter, Resource } from "../../mod.ts";
import type { FetchFunction as HttpFetchFunction } from "../../http.ts";
import {
  type FetchFunction,
  OtlpExporter,
  type OtlpExporterOptions,
  OtlpExportError,
} from "../../otlp/mod.ts";
import {
  decodeJson,
  decodeProtobuf,
  encodePartialSuccess,
  encodeRpcStatus,
  NO_NET,
  startReceiver,
} from "./_helpers.ts";

const FAST_RETRY = { initialBackoff: 1, maxBackoff: 5 };

function activities(count: number): Activity[] {
  const memory = new InMemoryExporter();
  const provider = createTracerProviderBuilder().addSource("Faults").addInMemoryExporter(memory)
    .build();
  const source = new ActivitySource("Faults");
  for (let i = 0; i < count; i++) source.startActivity(`Op ${i}`)?.stop();
  provider.shutdown();
  return [...memory.activities];
}

function exporter(options: OtlpExporterOptions, reports: string[] = []): OtlpExporter {
  return new OtlpExporter({
    env: () => undefined,
    retry: FAST_RETRY,
    onError: (error) => reports.push(error instanceof Error ? error.message : String(error)),
    ...options,
  });
}

async function rejection(promise: Promise<unknown>): Promise<OtlpExportError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof OtlpExportError, `expected OtlpExportError, got ${error}`);
    return error;
  }
  assert.fail("expected a rejection");
}

Deno.test({
  name: "OtlpExporter retries 503, 429 and 502 then delivers each activity exactly once",
  ignore: NO_NET,
  async fn() {
    const statuses = [503, 429, 502];
    await using receiver = startReceiver((_req, n) =>
      n <= statuses.length
        ? new Response("busy", { status: statuses[n - 1]!, headers: { "retry-after": "0" } })
        : new Response(null)
    );
    const sent = activities(4);
    const otlp = exporter({ endpoint: receiver.endpoint });
    await otlp.export(sent, Resource.empty);
    assert.equal(receiver.requests.length, 4);
    // Every attempt carried the same batch; only the last was accepted.
    const accepted = decodeProtobuf(receiver.requests[3]!.body)[0]!.scopes[0]!.spans;
    assert.deepEqual(accepted.map((s) => s.spanId), sent.map((a) => a.spanId));
    assert.deepEqual(receiver.requests[0]!.body, receiver.requests[3]!.body);
    assert.equal(otlp.deliveredCount, 4);
    assert.equal(otlp.lostCount, 0);
  },
});

Deno.test({
  name: "OtlpExporter behind the batch processor: 2 failures then success, nothing twice",
  ignore: NO_NET,
  async fn() {
    const accepted: string[] = [];
    await using receiver = startReceiver((req, n) => {
      if (n <= 2) return new Response(null, { status: 503 });
      for (const s of decodeJson(req.body)[0]!.scopes[0]!.spans) accepted.push(s.spanId);
      return new Response("{}", { headers: { "content-type": "application/json" } });
    });
    const otlp = exporter({ endpoint: receiver.endpoint, protocol: "http/json" });
    const provider = createTracerProviderBuilder().addSource("Exactly").addBatchExporter(otlp)
      .build();
    const source = new ActivitySource("Exactly");
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const a = source.startActivity(`Op ${i}`)!;
      ids.push(a.spanId);
      a.stop();
    }
    await provider.shutdown();
    assert.deepEqual(accepted, ids);
    assert.equal(new Set(accepted).size, 20);
    assert.equal(otlp.deliveredCount, 20);
    assert.equal(otlp.lostCount, 0);
  },
});

Deno.test({
  name: "OtlpExporter does not retry a 400; the failure is rejected, counted and reported",
  ignore: NO_NET,
  async fn() {
    await using receiver = startReceiver(() =>
      new Response(encodeRpcStatus(3, "span name must not be empty"), {
        status: 400,
        headers: { "content-type": "application/x-protobuf" },
      })
    );
    const otlp = exporter({ endpoint: receiver.endpoint });
    const error = await rejection(otlp.export(activities(3), Resource.empty));
    assert.equal(receiver.requests.length, 1);
    assert.equal(error.status, 400);
    assert.equal(error.attempts, 1);
    assert.equal(error.lostCount, 3);
    assert.match(error.message, /HTTP 400 Bad Request: span name must not be empty$/);
    assert.equal(otlp.lostCount, 3);
    assert.equal(otlp.deliveredCount, 0);

    // Through a provider, the processor reports it to the provider's handler.
    const handled: string[] = [];
    const provider = createTracerProviderBuilder().addSource("Faults")
      .setErrorHandler((e, where) => handled.push(`${where}: ${(e as Error).message}`))
      .addExporter(exporter({ endpoint: receiver.endpoint })).build();
    new ActivitySource("Faults").startActivity("Bad")?.stop();
    await provider.shutdown();
    assert.equal(handled.length, 1);
    assert.match(handled[0]!, /OtlpExporter.*HTTP 400/);
  },
});

Deno.test({
  name: "OtlpExporter gives up on a receiver that never answers when the timeout passes",
  ignore: NO_NET,
  async fn() {
    await using receiver = startReceiver(async (_req, _n, release) => {
      await release;
      return new Response(null);
    });
    const otlp = exporter({ endpoint: receiver.endpoint, timeout: 200 });
    const error = await rejection(otlp.export(activities(2), Resource.empty));
    assert.match(error.message, /timed out after 200 ms/);
    assert.equal(error.lostCount, 2);
    assert.equal(otlp.lostCount, 2);
    assert.equal(otlp.pendingCount, 0);
  },
});

Deno.test({
  name: "OtlpExporter counts a receiver gone at shutdown as lost, and shutdown ends",
  ignore: NO_NET,
  async fn() {
    const receiver = startReceiver();
    const endpoint = receiver.endpoint;
    await receiver.close(); // Nothing listens on that port any more.
    const reports: string[] = [];
    const otlp = exporter({ endpoint, timeout: 1000, retry: { initialBackoff: 20 } }, reports);
    const handled: string[] = [];
    const provider = createTracerProviderBuilder().addSource("Gone")
      .setErrorHandler((e) => handled.push((e as Error).message))
      .addBatchExporter(otlp).build();
    const source = new ActivitySource("Gone");
    for (let i = 0; i < 5; i++) source.startActivity(`Op ${i}`)?.stop();
    await provider.shutdown();
    assert.equal(otlp.lostCount, 5);
    assert.equal(otlp.deliveredCount, 0);
    assert.equal(otlp.pendingCount, 0);
    assert.match(handled[0]!, /network error/);
    assert.equal(reports.length, 1);
    assert.match(reports[0]!, /^5 of 5 activities were not delivered to http:\/\/127\.0\.0\.1:/);
  },
});

Deno.test({
  name: "OtlpExporter does not wait past its timeout for a Retry-After",
  ignore: NO_NET,
  async fn() {
    await using receiver = startReceiver(() =>
      new Response(null, { status: 503, headers: { "retry-after": "120" } })
    );
    const otlp = exporter({ endpoint: receiver.endpoint, timeout: 2000 });
    const error = await rejection(otlp.export(activities(1), Resource.empty));
    assert.equal(receiver.requests.length, 1);
    assert.match(error.message, /HTTP 503.*the next attempt, in 120000 ms, would pass/);
  },
});

Deno.test({
  name: "OtlpExporter reads partial successes in both encodings and counts the rejected",
  ignore: NO_NET,
  async fn(t) {
    await t.step("protobuf", async () => {
      await using receiver = startReceiver(() =>
        new Response(encodePartialSuccess(2, "2 spans had no name"), {
          headers: { "content-type": "application/x-protobuf" },
        })
      );
      const otlp = exporter({ endpoint: receiver.endpoint });
      const error = await rejection(otlp.export(activities(5), Resource.empty));
      assert.match(error.message, /rejected 2 of 5 activities: 2 spans had no name$/);
      assert.equal(otlp.deliveredCount, 3);
      assert.equal(otlp.lostCount, 2);
      assert.equal(receiver.requests.length, 1);
    });
    await t.step("json", async () => {
      await using receiver = startReceiver(() =>
        Response.json({ partialSuccess: { rejectedSpans: "1", errorMessage: "too old" } })
      );
      const otlp = exporter({ endpoint: receiver.endpoint, protocol: "http/json" });
      const error = await rejection(otlp.export(activities(4), Resource.empty));
      assert.match(error.message, /rejected 1 of 4 activities: too old$/);
      assert.equal(otlp.deliveredCount, 3);
      assert.equal(otlp.lostCount, 1);
    });
    await t.step("a warning without rejections is reported, not failed", async () => {
      await using receiver = startReceiver(() =>
        Response.json({ partialSuccess: { errorMessage: "deprecated field" } })
      );
      const reports: string[] = [];
      const otlp = exporter({ endpoint: receiver.endpoint, protocol: "http/json" }, reports);
      await otlp.export(activities(2), Resource.empty);
      assert.equal(otlp.deliveredCount, 2);
      assert.deepEqual(reports, [`OTLP receiver at ${otlp.url} warned: deprecated field`]);
    });
  },
});

Deno.test({
  name: "OtlpExporter survives garbage and huge answers, reading at most maxResponseBytes",
  ignore: NO_NET,
  async fn(t) {
    await t.step("garbage on 200: delivered, reported as unreadable", async () => {
      await using receiver = startReceiver(() =>
        new Response(new Uint8Array([0xff, 0xff, 0xff]), {
          headers: { "content-type": "application/x-protobuf" },
        })
      );
      const reports: string[] = [];
      const otlp = exporter({ endpoint: receiver.endpoint }, reports);
      await otlp.export(activities(1), Resource.empty);
      assert.equal(otlp.deliveredCount, 1);
      assert.equal(reports.length, 1);
      assert.match(reports[0]!, /accepted 1 activities but its response could not be read/);
    });
    await t.step("huge body on 200: read up to the limit only", async () => {
      let pulled = 0;
      await using receiver = startReceiver(() =>
        new Response(
          new ReadableStream({
            pull(controller) {
              pulled++;
              controller.enqueue(new Uint8Array(16_384));
              if (pulled > 10_000) controller.close();
            },
          }),
        )
      );
      const reports: string[] = [];
      const otlp = exporter({ endpoint: receiver.endpoint, maxResponseBytes: 1000 }, reports);
      await otlp.export(activities(1), Resource.empty);
      assert.equal(otlp.deliveredCount, 1);
      assert.match(reports[0]!, /larger than 1000 bytes/);
      assert.ok(pulled < 10_000, `the whole body was read (${pulled} chunks)`);
    });
    await t.step("a body that never ends: the timeout applies, delivered", async () => {
      await using receiver = startReceiver((_req, _n, release) =>
        new Response(
          new ReadableStream({
            start(controller) {
              controller.enqueue(new Uint8Array([0x0a]));
              release.then(() => controller.close());
            },
          }),
          { headers: { "content-type": "application/x-protobuf" } },
        )
      );
      const reports: string[] = [];
      const otlp = exporter({ endpoint: receiver.endpoint, timeout: 200 }, reports);
      await otlp.export(activities(1), Resource.empty);
      assert.equal(otlp.deliveredCount, 1);
      assert.equal(reports.length, 1);
      assert.match(reports[0]!, /its response could not be read: TimeoutError/);
    });
    await t.step("huge error body: a short message", async () => {
      await using receiver = startReceiver(() =>
        new Response("E".repeat(1_000_000), { status: 500 })
      );
      const otlp = exporter({ endpoint: receiver.endpoint });
      const error = await rejection(otlp.export(activities(1), Resource.empty));
      assert.match(error.message, /HTTP 500 Internal Server Error: E{200}\.\.\.$/);
      assert.equal(receiver.requests.length, 1);
    });
  },
});

// ---- Without a network: injected fetch ----

Deno.test("OtlpExporter retries network errors up to maxAttempts", async () => {
  let calls = 0;
  const otlp = exporter({
    retry: { ...FAST_RETRY, maxAttempts: 3 },
    fetch: () => {
      calls++;
      return Promise.reject(new TypeError("error sending request: connection refused"));
    },
  });
  const error = await rejection(otlp.export(activities(2), Resource.empty));
  assert.equal(calls, 3);
  assert.equal(error.attempts, 3);
  assert.match(error.message, /failed after 3 attempts: network error: TypeError: error sending/);
  assert.equal(otlp.lostCount, 2);
});

Deno.test("OtlpExporter after shutdown refuses exports and counts them as lost", async () => {
  let calls = 0;
  const reports: string[] = [];
  const otlp = exporter({
    fetch: () => {
      calls++;
      return Promise.resolve(new Response(null));
    },
  }, reports);
  await otlp.export(activities(1), Resource.empty);
  await otlp.shutdown();
  assert.equal(reports.length, 0);
  const error = await rejection(otlp.export(activities(2), Resource.empty));
  assert.match(error.message, /shut down/);
  assert.equal(calls, 1);
  assert.equal(otlp.deliveredCount, 1);
  assert.equal(otlp.lostCount, 2);
  assert.equal(await otlp.shutdown(), undefined);
});

Deno.test("OtlpExporter never throws for values the protocol cannot carry", async () => {
  const bodies: Uint8Array[] = [];
  const otlp = exporter({
    protocol: "http/json",
    fetch: (_url, init) => {
      bodies.push(init.body as Uint8Array);
      return Promise.resolve(new Response(null));
    },
  });
  const memory = new InMemoryExporter();
  const provider = createTracerProviderBuilder().addSource("Odd").addInMemoryExporter(memory)
    .build();
  const cyclic: unknown[] = [];
  cyclic.push(cyclic);
  const revoked = Proxy.revocable({}, {});
  revoked.revoke();
  new ActivitySource("Odd").startActivity("Odd", {
    tags: [["cyclic", cyclic], ["revoked", revoked.proxy], ["sym", Symbol.iterator]] as never,
  })?.stop();
  await provider.shutdown();
  await otlp.export(memory.activities, Resource.empty);
  const span = decodeJson(bodies[0]!)[0]!.scopes[0]!.spans[0]!;
  assert.deepEqual(span.attributes[0], ["cyclic", { a: [{ s: "[Circular]" }] }]);
  assert.equal(span.attributes[1]![0], "revoked");
  assert.ok("s" in span.attributes[1]![1]);
  assert.deepEqual(span.attributes[2], ["sym", { s: "Symbol(Symbol.iterator)" }]);
});

Deno.test("OtlpExporter configuration: options, then OTEL_EXPORTER_OTLP_TRACES_*, then OTEL_EXPORTER_OTLP_*", async (t) => {
  const envOf = (vars: Record<string, string>) => (name: string) => vars[name];
  await t.step("defaults", () => {
    const otlp = new OtlpExporter({ env: () => undefined });
    assert.equal(otlp.url, "http://localhost:4318/v1/traces");
    assert.equal(otlp.protocol, "http/protobuf");
    assert.equal(otlp.compression, "none");
    assert.equal(otlp.timeout, 10_000);
  });
  await t.step("general variables", async () => {
    const seen: Headers[] = [];
    const otlp = new OtlpExporter({
      env: envOf({
        OTEL_EXPORTER_OTLP_ENDPOINT: "https://collector.example:4318/base/",
        OTEL_EXPORTER_OTLP_HEADERS: "api-key=a%20b, x-tenant = t1 ,broken",
        OTEL_EXPORTER_OTLP_TIMEOUT: "2500",
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
        OTEL_EXPORTER_OTLP_COMPRESSION: "gzip",
      }),
      fetch: (_url, init) => {
        seen.push(new Headers(init.headers));
        return Promise.resolve(new Response(null));
      },
    });
    assert.equal(otlp.url, "https://collector.example:4318/base/v1/traces");
    assert.equal(otlp.protocol, "http/json");
    assert.equal(otlp.compression, "gzip");
    assert.equal(otlp.timeout, 2500);
    await otlp.export(activities(1), Resource.empty);
    assert.equal(seen[0]!.get("api-key"), "a b");
    assert.equal(seen[0]!.get("x-tenant"), "t1");
    assert.equal(seen[0]!.get("content-encoding"), "gzip");
    assert.equal(seen[0]!.get("content-type"), "application/json");
  });
  await t.step("traces variables win over general ones; options win over both", () => {
    const env = envOf({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://general:4318",
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://traces:4318/custom/path",
      OTEL_EXPORTER_OTLP_TIMEOUT: "2500",
      OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: "700",
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/protobuf",
    });
    const fromEnv = new OtlpExporter({ env });
    assert.equal(fromEnv.url, "http://traces:4318/custom/path");
    assert.equal(fromEnv.timeout, 700);
    assert.equal(fromEnv.protocol, "http/protobuf");
    const fromOptions = new OtlpExporter({
      env,
      endpoint: "http://option:4318",
      timeout: 50,
      protocol: "http/json",
    });
    assert.equal(fromOptions.url, "http://option:4318/v1/traces");
    assert.equal(fromOptions.timeout, 50);
    assert.equal(fromOptions.protocol, "http/json");
    assert.equal(new OtlpExporter({ env, url: "http://u:1/x" }).url, "http://u:1/x");
  });
  await t.step("bad values are reported and ignored", () => {
    const reports: string[] = [];
    const otlp = new OtlpExporter({
      env: envOf({
        OTEL_EXPORTER_OTLP_ENDPOINT: "not a url",
        OTEL_EXPORTER_OTLP_TIMEOUT: "-5",
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/proto",
        OTEL_EXPORTER_OTLP_COMPRESSION: "brotli",
      }),
      onError: (e) => reports.push((e as Error).message),
    });
    assert.equal(otlp.url, "http://localhost:4318/v1/traces");
    assert.equal(otlp.timeout, 10_000);
    assert.equal(otlp.protocol, "http/protobuf");
    assert.equal(otlp.compression, "none");
    assert.deepEqual(reports.map((r) => r.split("=")[0]), [
      "Ignoring OTEL_EXPORTER_OTLP_PROTOCOL",
      "Ignoring OTEL_EXPORTER_OTLP_ENDPOINT",
      "Ignoring OTEL_EXPORTER_OTLP_TIMEOUT",
      "Ignoring OTEL_EXPORTER_OTLP_COMPRESSION",
    ]);
  });
  await t.step({
    name: "the process environment is not read without env permission",
    ignore: Deno.permissions.querySync({ name: "env" }).state === "granted",
    fn: () => {
      assert.equal(new OtlpExporter().url, "http://localhost:4318/v1/traces");
    },
  });
});

Deno.test("OtlpExporter rejects bad options with the right error", () => {
  const cases: [OtlpExporterOptions, ErrorConstructor | TypeErrorConstructor, RegExp][] = [
    [{ endpoint: "nope" }, SyntaxError, /endpoint "nope" is not a URL/],
    [{ url: "ftp://x/y" }, TypeError, /url must be an http or https URL/],
    [{ timeout: 0 }, RangeError, /timeout must be a positive finite number/],
    [{ protocol: "http/proto" as never }, TypeError, /protocol must be/],
    [{ compression: "zstd" as never }, TypeError, /compression must be/],
    [{ retry: { maxAttempts: 0 } }, RangeError, /maxAttempts/],
    [{ retry: { multiplier: 0.5 } }, RangeError, /multiplier must be at least 1/],
    [{ maxResponseBytes: -1 }, RangeError, /maxResponseBytes/],
    [{ fetch: "fetch" as never }, TypeError, /fetch must be a function/],
    [{ headers: { "bad header": "x" } }, TypeError, /headers are not valid/],
  ];
  for (const [options, type, message] of cases) {
    assert.throws(
      () => new OtlpExporter({ env: () => undefined, ...options }),
      (e) => e instanceof type && message.test((e as Error).message),
      JSON.stringify(options),
    );
  }
});

Deno.test("addOtlpExporter() reports a bad option through the provider when first used", async () => {
  const handled: string[] = [];
  const provider = createTracerProviderBuilder()
    .addSource("Lazy")
    .setErrorHandler((e) => handled.push(`${(e as Error).name}: ${(e as Error).message}`))
    .addOtlpExporter({ timeout: -1, env: () => undefined })
    .build();
  new ActivitySource("Lazy").startActivity("Work")?.stop();
  await provider.shutdown();
  assert.ok(handled.length >= 1);
  assert.match(handled[0]!, /RangeError: Cannot make OtlpExporter: timeout must be a positive/);
});

// A fetch stand-in that answers after a short while unless its signal aborts first, as fetch does.
function honouringFetch(answer: () => Response): FetchFunction {
  return (_url, init) =>
    new Promise<Response>((resolve, reject) => {
      const signal = init.signal;
      if (signal?.aborted) return reject(signal.reason);
      const timer = setTimeout(() => resolve(answer()), 20);
      signal?.addEventListener("abort", () => {
        clearTimeout(timer);
        reject(signal.reason);
      }, { once: true });
    });
}

// Settles with the outcome of an export, or "still pending" if it has not ended after 2 s.
async function outcomeOf(otlp: OtlpExporter, count: number): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const guard = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve("still pending"), 2000);
  });
  try {
    return await Promise.race([
      otlp.export(activities(count), Resource.empty).then(
        () => "delivered",
        (error: unknown) => `rejected: ${error instanceof Error ? error.message : error}`,
      ),
      guard,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("OtlpExporter with a timeout beyond the timer range (2^31 ms) still delivers", async () => {
  const otlp = exporter({ timeout: 2 ** 32, fetch: honouringFetch(() => new Response(null)) });
  assert.equal(await outcomeOf(otlp, 1), "delivered");
  assert.equal(otlp.deliveredCount, 1);
  assert.equal(otlp.lostCount, 0);
  await otlp.shutdown();
});

Deno.test("OtlpExporter ends an export at its timeout even when fetch ignores the signal", async () => {
  const reports: string[] = [];
  const otlp = exporter({ timeout: 50, fetch: () => new Promise<Response>(() => {}) }, reports);
  assert.match(await outcomeOf(otlp, 2), /^rejected: .*timed out after 50 ms/);
  assert.equal(otlp.lostCount, 2);
  assert.equal(otlp.pendingCount, 0);
  await otlp.shutdown();
  assert.match(reports.join("\n"), /2 of 2 activities were not delivered/);
});

Deno.test("OtlpExporter stops reading an endless response body at its timeout", async (t) => {
  const endless = (status: number) => () =>
    Promise.resolve(
      new Response(
        new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new Uint8Array([1]));
          },
        }),
        { status },
      ),
    );
  await t.step("an accepted request is delivered, the unreadable answer reported", async () => {
    const reports: string[] = [];
    const otlp = exporter({ timeout: 50, fetch: endless(200) }, reports);
    assert.equal(await outcomeOf(otlp, 1), "delivered");
    assert.equal(otlp.deliveredCount, 1);
    assert.match(reports.join("\n"), /accepted 1 activities but its response could not be read/);
  });
  await t.step("a 503 fails at the timeout", async () => {
    const otlp = exporter({ timeout: 50, fetch: endless(503) });
    assert.match(await outcomeOf(otlp, 1), /^rejected: .*HTTP 503/);
    assert.equal(otlp.lostCount, 1);
  });
});

Deno.test("OtlpExporter ignores a Retry-After that is neither seconds nor an HTTP date", async () => {
  // Honoured, each of these would mean "retry now"; ignored, the backoff of 10 s passes the
  // 1 s timeout, so the export ends after one attempt.
  for (const retryAfter of ["1.5", "-1", "1 2", "+5"]) {
    let calls = 0;
    const otlp = exporter({
      timeout: 1000,
      retry: { initialBackoff: 10_000, maxBackoff: 10_000 },
      fetch: () => {
        calls++;
        return Promise.resolve(
          new Response(null, { status: 429, headers: { "retry-after": retryAfter } }),
        );
      },
    });
    const error = await rejection(otlp.export(activities(1), Resource.empty));
    assert.equal(calls, 1, `Retry-After: ${retryAfter}`);
    assert.match(error.message, /HTTP 429 .*would pass the 1000 ms timeout/);
  }
});

Deno.test("OtlpExporter honours a Retry-After HTTP date in the past as retry now", async () => {
  let calls = 0;
  const otlp = exporter({
    timeout: 1000,
    retry: { initialBackoff: 10_000, maxBackoff: 10_000 },
    fetch: () =>
      Promise.resolve(
        ++calls === 1
          ? new Response(null, {
            status: 503,
            headers: { "retry-after": "Sun, 06 Nov 1994 08:49:37 GMT" },
          })
          : new Response(null),
      ),
  });
  await otlp.export(activities(1), Resource.empty);
  assert.equal(calls, 2);
  assert.equal(otlp.deliveredCount, 1);
});

Deno.test("addOtlpExporter() sends every report to the provider's handler, naming OtlpExporter", async () => {
  const reports: [string, string, string | undefined][] = [];
  const stderr = mock.method(console, "error", () => {});
  try {
    const provider = createTracerProviderBuilder()
      .addSource("Handled")
      .setErrorHandler((e, where, level) => reports.push([where, (e as Error).message, level]))
      .addOtlpExporter({
        env: (name) => name === "OTEL_EXPORTER_OTLP_PROTOCOL" ? "http/proto" : undefined,
        fetch: () => Promise.resolve(new Response("bad span", { status: 400 })),
      })
      .build();
    const source = new ActivitySource("Handled");
    for (let i = 0; i < 3; i++) source.startActivity(`Op ${i}`)?.stop();
    await provider.shutdown();
    const failure =
      "OTLP export of 3 activities to http://localhost:4318/v1/traces failed: HTTP 400: bad span";
    assert.deepEqual(reports, [
      [
        "OtlpExporter configuration",
        'Ignoring OTEL_EXPORTER_OTLP_PROTOCOL="http/proto": expected one of http/protobuf, http/json, grpc',
        "warn",
      ],
      ["Exporter OtlpExporter", failure, "error"],
      [
        "OtlpExporter",
        `3 of 3 activities were not delivered to http://localhost:4318/v1/traces. Last error: ${failure}`,
        "error",
      ],
    ]);
    assert.equal(stderr.mock.callCount(), 0);
  } finally {
    stderr.mock.restore();
  }
});

Deno.test("OtlpExporter added with addBatchExporter() reports to the provider's handler unless given onError", async (t) => {
  const failing: FetchFunction = () => Promise.resolve(new Response(null, { status: 500 }));
  const stderr = mock.method(console, "error", () => {});
  try {
    await t.step(
      "without onError: the provider's handler, configuration warnings included",
      async () => {
        const reports: string[] = [];
        const otlp = new OtlpExporter({
          env: (name) => name === "OTEL_EXPORTER_OTLP_COMPRESSION" ? "zip" : undefined,
          fetch: failing,
        });
        const provider = createTracerProviderBuilder().addSource("Handled.Own")
          .setErrorHandler((_e, where) => reports.push(where))
          .addBatchExporter(otlp).build();
        new ActivitySource("Handled.Own").startActivity("Op")?.stop();
        await provider.shutdown();
        assert.deepEqual(reports, [
          "OtlpExporter configuration",
          "Exporter OtlpExporter",
          "OtlpExporter",
        ]);
      },
    );
    await t.step("with onError: the exporter's own handler", async () => {
      const own: string[] = [];
      const reports: string[] = [];
      const otlp = new OtlpExporter({
        env: () => undefined,
        fetch: failing,
        onError: (_e, where) => own.push(where),
      });
      const provider = createTracerProviderBuilder().addSource("Handled.Given")
        .setErrorHandler((_e, where) => reports.push(where))
        .addExporter(otlp).build();
      new ActivitySource("Handled.Given").startActivity("Op")?.stop();
      await provider.shutdown();
      assert.deepEqual(reports, ["Exporter OtlpExporter"]);
      assert.deepEqual(own, ["OtlpExporter"]);
    });
    assert.equal(stderr.mock.callCount(), 0);
  } finally {
    stderr.mock.restore();
  }
});

Deno.test({
  name:
    "addOtlpExporter() with a collector that never answers: shutdown() ends at its timeout and accounts for every activity",
  ignore: NO_NET,
  async fn() {
    // A collector that accepts the connection, reads, and never answers; it notices when the
    // client gives the request up (the connection closes).
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    let requests = 0;
    const givenUp = (async () => {
      const conn = await listener.accept();
      const buffer = new Uint8Array(65_536);
      for (let n; (n = await conn.read(buffer)) !== null;) if (n > 0 && requests === 0) requests++;
      conn.close();
    })();
    const reports: [string, string][] = [];
    const provider = createTracerProviderBuilder()
      .addSource("Silent")
      .setErrorHandler((e, where) => reports.push([where, (e as Error).message]))
      .addOtlpExporter({ endpoint: `http://127.0.0.1:${listener.addr.port}`, env: () => undefined })
      .build();
    const source = new ActivitySource("Silent");
    for (let i = 0; i < 2560; i++) source.startActivity(`Op ${i}`)?.stop();
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const outcome = await Promise.race([
        Promise.all([provider.shutdown({ timeoutMillis: 300 }), givenUp]).then(() => "ended"),
        new Promise<string>((resolve) => timer = setTimeout(() => resolve("still pending"), 5000)),
      ]);
      // Ended, and the request under way was given up rather than left to the exporter's
      // 10 s timeout.
      assert.equal(outcome, "ended");
    } finally {
      clearTimeout(timer);
      listener.close();
    }
    assert.equal(requests, 1);
    // 512 were being sent; 2048 waited: every one of the 2560 is counted, once, and said once.
    assert.deepEqual(reports, [[
      "BatchProcessor.shutdown",
      "Shutdown gave up after 300 ms: 2560 activities not exported yet (2048 queued, 512 in an export under way) are counted as dropped",
    ]]);
  },
});

const endpointVariablesGranted = [
  "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
  "OTEL_EXPORTER_OTLP_ENDPOINT",
]
  .some((variable) => Deno.permissions.querySync({ name: "env", variable }).state === "granted");

Deno.test({
  name:
    "OtlpExporter sending to the default endpoint because OTEL_EXPORTER_OTLP_*ENDPOINT cannot be read says so once, when sending fails",
  ignore: endpointVariablesGranted,
  async fn() {
    const reports: [string, string, string | undefined][] = [];
    let calls = 0;
    const otlp = new OtlpExporter({
      retry: { maxAttempts: 1 },
      fetch: () => {
        calls++;
        return Promise.reject(new TypeError("error sending request: connection refused"));
      },
    });
    const provider = createTracerProviderBuilder().addSource("Unread")
      .setErrorHandler((e, where, level) => reports.push([where, (e as Error).message, level]))
      .setEnvironment(false)
      .addExporter(otlp).build();
    const source = new ActivitySource("Unread");
    source.startActivity("One")?.stop();
    source.startActivity("Two")?.stop();
    await provider.shutdown();
    assert.equal(calls, 2);
    assert.deepEqual(reports.map(([where, , level]) => `${level} ${where}`), [
      "warn OtlpExporter",
      "error Exporter OtlpExporter",
      "error OtlpExporter",
    ]);
    assert.equal(
      reports[0]![1],
      "Sending to the default endpoint http://localhost:4318/v1/traces: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT and OTEL_EXPORTER_OTLP_ENDPOINT could not be read, as the env permission is not granted (it is never asked for); run with --allow-env=OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,OTEL_EXPORTER_OTLP_ENDPOINT or pass the endpoint option",
    );
  },
});

Deno.test("OtlpExporter with an endpoint given, or variables read elsewhere, has nothing to say about the environment", async () => {
  const reports: string[] = [];
  for (const options of [{ endpoint: "http://127.0.0.1:9" }, { env: () => undefined }]) {
    const otlp = new OtlpExporter({
      ...options,
      retry: { maxAttempts: 1 },
      fetch: () => Promise.reject(new TypeError("connection refused")),
      onError: (e) => reports.push((e as Error).message),
    });
    await otlp.export(activities(1), Resource.empty).catch(() => {});
    await otlp.shutdown();
  }
  assert.equal(reports.length, 2);
  assert.ok(reports.every((r) => /^1 of 1 activities were not delivered/.test(r)), reports.join());
});

Deno.test("OtlpExporter.shutdown() with a timeout gives up the requests still under way; forceFlush() only stops waiting", async () => {
  const reports: string[] = [];
  let aborted = 0;
  const otlp = exporter({
    fetch: (_url, init) =>
      new Promise<Response>((_resolve, reject) => {
        init.signal?.addEventListener("abort", () => {
          aborted++;
          reject(init.signal!.reason);
        });
      }),
  }, reports);
  const sent = otlp.export(activities(3), Resource.empty);
  const result = sent.then(() => "delivered", (e: unknown) => (e as Error).message);
  await otlp.forceFlush({ timeoutMillis: 10 });
  assert.equal(aborted, 0);
  assert.equal(otlp.pendingCount, 1);
  await otlp.shutdown({ timeoutMillis: 10 });
  assert.equal(aborted, 1);
  assert.equal(
    await result,
    `OTLP export of 3 activities to ${otlp.url} failed: given up when the exporter was shut down`,
  );
  assert.equal(otlp.lostCount, 3);
  assert.equal(otlp.pendingCount, 0);
  // Whoever gave the export up has counted it: no second report of the same loss.
  assert.deepEqual(reports, []);
});

Deno.test("OtlpExporter takes any fetch: the general FetchFunction of ./http, and the deprecated FetchFunction of ./otlp", async () => {
  const calls: string[] = [];
  const general: HttpFetchFunction = (input, init) => {
    calls.push(`general ${String(input)} ${init?.method}`);
    return Promise.resolve(new Response(null));
  };
  // The name the exporter's fetch had; it still types a fetch that gets a string and an init.
  const narrow: FetchFunction = (url, init) => {
    calls.push(`narrow ${url} ${init.method}`);
    return Promise.resolve(new Response(null));
  };
  for (const fetch of [general, narrow]) {
    const otlp = exporter({ fetch, url: "http://collector.test/v1/traces" });
    await otlp.export(activities(1), Resource.empty);
    assert.equal(otlp.deliveredCount, 1);
  }
  assert.deepEqual(calls, [
    "general http://collector.test/v1/traces POST",
    "narrow http://collector.test/v1/traces POST",
  ]);
});
