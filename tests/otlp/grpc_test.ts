// OTLP/gRPC: what the exporter sends, decoded field by field by an independent gRPC server
// (@grpc/grpc-js with proto-loader and the .proto files of ./proto) and compared with what the
// HTTP exporter sends; retries as the OTLP specification says of gRPC codes; deadlines, also
// against a server that never answers; gzip, metadata, trailers-only answers, partial successes,
// one session reused and closed, TLS, and that nothing is lost. Skipped without the permissions
// of `deno task test:grpc`.

import assert from "node:assert/strict";
import {
  type Activity,
  ActivityContext,
  ActivityLink,
  ActivitySource,
  createTracerProviderBuilder,
  InMemoryExporter,
  Resource,
} from "../../mod.ts";
import {
  encodeOtlpTraces,
  OtlpExporter,
  type OtlpExporterOptions,
  OtlpExportError,
} from "../../otlp/mod.ts";
import { decodeProtobuf, encodePartialSuccess } from "./_helpers.ts";
import {
  answerMessage,
  answerTrailersOnly,
  NO_GRPC,
  startGrpcReceiver,
  startRawServer,
  unframeRequest,
} from "./_grpc_receiver.ts";

import denoJson from "../../deno.json" with { type: "json" };

const FAST_RETRY = { initialBackoff: 1, maxBackoff: 5 };
const RESOURCE = new Resource({ "service.name": "checkout", "host.cores": 8 });

/** The guide's fan-out, with tags of several types, an event, links and a remote parent. */
function fanOut(): Activity[] {
  const memory = new InMemoryExporter();
  const provider = createTracerProviderBuilder().addSource("Grpc.*").addInMemoryExporter(memory)
    .build();
  const source = new ActivitySource("Grpc.Fanout", { version: "1.0", tags: { team: "core" } });
  const remote = ActivityContext.parse(
    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    "vendor=abc",
  );
  source.startActiveActivity("OrchestratingActivity", { parent: remote, kind: "server" }, (o) => {
    o?.setTag("operation", "main-process").setTag("retries", 3).setTag("ratio", 0.5)
      .setTag("ok", true).setTag("list", ["a", 1]).setTag("big", 2n ** 40n);
    o?.addEvent("started", { tags: { step: 1 } });
    const links = [new ActivityLink(o!.context, { "link.kind": "fan-out" })];
    for (let i = 1; i <= 3; i++) {
      source.startActivity(`FannedOutActivity ${i}`, { root: true, links })?.stop();
    }
    source.startActivity("WrapUp")?.setStatus("error", "partly done").stop();
  });
  provider.shutdown();
  return [...memory.activities];
}

function exporter(options: OtlpExporterOptions, reports: string[] = []): OtlpExporter {
  return new OtlpExporter({
    protocol: "grpc",
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

const spanNames = (calls: { request: ReturnType<typeof decodeProtobuf> }[]) =>
  calls.flatMap((c) =>
    c.request.flatMap((r) => r.scopes.flatMap((s) => s.spans.map((x) => x.name)))
  );

Deno.test({
  name: "OtlpExporter over gRPC sends what OTLP/HTTP sends, decoded field by field by grpc-js",
  ignore: NO_GRPC,
  async fn() {
    await using receiver = await startGrpcReceiver();
    const sent = fanOut();
    for (const compression of ["none", "gzip"] as const) {
      const before = Date.now();
      const otlp = exporter({
        endpoint: receiver.endpoint,
        compression,
        headers: { "X-Tenant": "t1", "api-key": "secret" },
        timeout: 4000,
      });
      await otlp.export(sent, RESOURCE);
      const call = receiver.calls.at(-1)!;
      assert.deepEqual(call.request, decodeProtobuf(encodeOtlpTraces(sent, RESOURCE)));
      assert.equal(call.request[0]!.scopes[0]!.spans.length, 5);
      assert.equal(call.metadata["x-tenant"], "t1");
      assert.equal(call.metadata["api-key"], "secret");
      // The grpc-timeout header carried the time the export had left.
      assert.ok(call.deadline > before && call.deadline <= Date.now() + 4000, `${call.deadline}`);
      assert.deepEqual([otlp.deliveredCount, otlp.lostCount], [5, 0]);
      await otlp.shutdown();
    }
    assert.equal(receiver.calls.length, 2);
  },
});

Deno.test({
  name: "OtlpExporter over gRPC retries UNAVAILABLE, then delivers each activity exactly once",
  ignore: NO_GRPC,
  async fn() {
    await using receiver = await startGrpcReceiver((_call, n) =>
      n <= 2 ? { code: 14, details: "collector busy" } : { ok: {} }
    );
    const otlp = exporter({ endpoint: receiver.endpoint });
    const sent = fanOut();
    await otlp.export(sent, RESOURCE);
    assert.equal(receiver.calls.length, 3);
    assert.deepEqual(receiver.calls[0]!.request, receiver.calls[2]!.request);
    assert.deepEqual(spanNames(receiver.calls.slice(2)), sent.map((a) => a.displayName));
    assert.deepEqual([otlp.deliveredCount, otlp.lostCount], [5, 0]);
    await otlp.shutdown();
  },
});

Deno.test({
  name: "OtlpExporter over gRPC retries RESOURCE_EXHAUSTED only with RetryInfo, after its delay",
  ignore: NO_GRPC,
  async fn(t) {
    await t.step("without RetryInfo: final, counted, not retried", async () => {
      await using receiver = await startGrpcReceiver(() => ({ code: 8, details: "quota" }));
      const otlp = exporter({ endpoint: receiver.endpoint });
      const error = await rejection(otlp.export(fanOut(), RESOURCE));
      assert.equal(receiver.calls.length, 1);
      assert.equal(error.grpcStatus, 8);
      assert.equal(error.lostCount, 5);
      assert.match(error.message, /failed: gRPC status 8 RESOURCE_EXHAUSTED: quota$/);
      assert.deepEqual([otlp.deliveredCount, otlp.lostCount], [0, 5]);
      await otlp.shutdown();
    });
    await t.step("with RetryInfo: retried after the delay it gives", async () => {
      await using receiver = await startGrpcReceiver((_call, n) =>
        n === 1 ? { code: 8, details: "slow down", retryDelayMs: 50 } : { ok: {} }
      );
      // The backoff alone (a minute) would pass the timeout: only the RetryInfo delay fits.
      const otlp = exporter({
        endpoint: receiver.endpoint,
        timeout: 5000,
        retry: { initialBackoff: 60_000, maxBackoff: 60_000 },
      });
      await otlp.export(fanOut(), RESOURCE);
      assert.equal(receiver.calls.length, 2);
      assert.ok(receiver.calls[1]!.at - receiver.calls[0]!.at >= 50);
      assert.deepEqual([otlp.deliveredCount, otlp.lostCount], [5, 0]);
      await otlp.shutdown();
    });
  },
});

Deno.test({
  name: "OtlpExporter over gRPC drops on UNIMPLEMENTED and the other final codes, and counts",
  ignore: NO_GRPC,
  async fn() {
    for (
      const [code, name] of [[12, "UNIMPLEMENTED"], [3, "INVALID_ARGUMENT"], [
        16,
        "UNAUTHENTICATED",
      ]] as const
    ) {
      await using receiver = await startGrpcReceiver(() => ({ code, details: "no" }));
      const reports: string[] = [];
      const otlp = exporter({ endpoint: receiver.endpoint }, reports);
      const error = await rejection(otlp.export(fanOut(), RESOURCE));
      assert.equal(receiver.calls.length, 1, name);
      assert.equal(error.grpcStatus, code);
      assert.match(error.message, new RegExp(`gRPC status ${code} ${name}: no$`));
      await otlp.shutdown();
      assert.deepEqual([otlp.deliveredCount, otlp.lostCount], [0, 5]);
      assert.match(
        reports.at(-1)!,
        /^5 of 5 activities were not delivered to http:\/\/127\.0\.0\.1:\d+\/opentelemetry\.proto\.collector\.trace\.v1\.TraceService\/Export\. Last error: /,
      );
    }
  },
});

Deno.test({
  name:
    "OtlpExporter over gRPC reads partial successes: rejected spans are lost, warnings reported",
  ignore: NO_GRPC,
  async fn() {
    await using receiver = await startGrpcReceiver((_call, n) =>
      n === 1
        ? { ok: { rejected: 2, message: "span name too long" } }
        : { ok: { message: "deprecated field" } }
    );
    const reports: string[] = [];
    const otlp = exporter({ endpoint: receiver.endpoint }, reports);
    const error = await rejection(otlp.export(fanOut(), RESOURCE));
    assert.match(error.message, /rejected 2 of 5 activities: span name too long$/);
    assert.equal(error.lostCount, 2);
    await otlp.export(fanOut(), RESOURCE);
    assert.equal(receiver.calls.length, 2);
    assert.deepEqual([otlp.deliveredCount, otlp.lostCount], [8, 2]);
    assert.match(reports[0]!, /warned: deprecated field$/);
    await otlp.shutdown();
  },
});

Deno.test({
  name: "OtlpExporter over gRPC ends an export at its timeout when the server never answers",
  ignore: NO_GRPC,
  async fn(t) {
    await t.step("a listener that accepts and says nothing", async () => {
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const held: Deno.Conn[] = [];
      (async () => {
        for await (const conn of listener) held.push(conn);
      })().catch(() => {});
      try {
        const otlp = exporter({ endpoint: `http://127.0.0.1:${listener.addr.port}`, timeout: 300 });
        const error = await rejection(otlp.export(fanOut(), RESOURCE));
        assert.match(error.message, /failed: timed out after 300 ms$/);
        assert.equal(error.lostCount, 5);
        // The silent connection is not used again: the next export opens another.
        await rejection(otlp.export(fanOut(), RESOURCE));
        assert.equal(held.length, 2);
        await otlp.shutdown();
        assert.deepEqual([otlp.deliveredCount, otlp.lostCount], [0, 10]);
      } finally {
        listener.close();
        for (const conn of held) conn.close();
      }
    });
    await t.step("grpc-js holds the call: its deadline is the export's", async () => {
      await using receiver = await startGrpcReceiver(() => "hang");
      const otlp = exporter({ endpoint: receiver.endpoint, timeout: 300 });
      const error = await rejection(otlp.export(fanOut(), RESOURCE));
      assert.match(error.message, /timed out after 300 ms|DEADLINE_EXCEEDED/);
      assert.ok(receiver.calls[0]!.deadline <= receiver.calls[0]!.at + 300);
      await otlp.shutdown();
      assert.deepEqual([otlp.deliveredCount, otlp.lostCount], [0, 5]);
    });
  },
});

Deno.test({
  name: "OtlpExporter over gRPC: the wire format, trailers-only answers, HTTP errors, compression",
  ignore: NO_GRPC,
  async fn(t) {
    await t.step("headers, framing and gzip as sent", async () => {
      await using server = await startRawServer((stream) =>
        answerMessage(stream, new Uint8Array(0))
      );
      const otlp = exporter({
        endpoint: server.endpoint,
        compression: "gzip",
        headers: { "x-b": "1" },
      });
      const sent = fanOut();
      await otlp.export(sent, RESOURCE);
      const { headers, body } = server.requests[0]!;
      assert.equal(headers[":method"], "POST");
      assert.equal(headers[":path"], "/opentelemetry.proto.collector.trace.v1.TraceService/Export");
      assert.equal(headers["content-type"], "application/grpc");
      assert.equal(headers["te"], "trailers");
      assert.equal(headers["grpc-encoding"], "gzip");
      assert.equal(headers["x-b"], "1");
      assert.equal(
        headers["user-agent"],
        `tracelinks-activity/${denoJson.version} OTel-OTLP-Exporter-TypeScript`,
      );
      assert.match(String(headers["grpc-timeout"]), /^\d{1,8}m$/);
      const { compressed, message } = unframeRequest(body);
      assert.equal(compressed, true);
      const inflated = new Uint8Array(
        await new Response(
          new Blob([message as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
            new DecompressionStream("gzip"),
          ),
        ).arrayBuffer(),
      );
      assert.deepEqual(inflated, encodeOtlpTraces(sent, RESOURCE));
      await otlp.shutdown();
    });
    await t.step(
      "trailers-only UNAVAILABLE is retried; trailers-only INVALID_ARGUMENT is final",
      async () => {
        await using server = await startRawServer((stream, _r, n) =>
          n === 1
            ? answerTrailersOnly(stream, 14, "try later")
            : n === 2
            ? answerMessage(stream, new Uint8Array(0))
            : answerTrailersOnly(stream, 3, "bad span: 100% wrong")
        );
        const otlp = exporter({ endpoint: server.endpoint });
        await otlp.export(fanOut(), RESOURCE);
        const error = await rejection(otlp.export(fanOut(), RESOURCE));
        assert.equal(server.requests.length, 3);
        assert.match(
          error.message,
          /failed: gRPC status 3 INVALID_ARGUMENT: bad span: 100% wrong$/,
        );
        assert.deepEqual([otlp.deliveredCount, otlp.lostCount], [5, 5]);
        await otlp.shutdown();
      },
    );
    await t.step(
      "an HTTP 503 without grpc-status is UNAVAILABLE; a non-gRPC answer is final",
      async () => {
        await using server = await startRawServer((stream, _r, n) => {
          if (n === 1) stream.respond({ ":status": 503 }, { endStream: true });
          else if (n === 2) answerMessage(stream, new Uint8Array(0));
          else {
            stream.respond({ ":status": 200, "content-type": "text/html" });
            stream.end("<html>");
          }
        });
        const otlp = exporter({ endpoint: server.endpoint });
        await otlp.export(fanOut(), RESOURCE);
        const error = await rejection(otlp.export(fanOut(), RESOURCE));
        assert.match(
          error.message,
          /gRPC status 2 UNKNOWN: not a gRPC response \(content-type 'text\/html'\)$/,
        );
        assert.equal(server.requests.length, 3);
        await otlp.shutdown();
      },
    );
    await t.step(
      "a gzip-compressed response is read; one past maxResponseBytes is not",
      async () => {
        const partial = encodePartialSuccess(1, "one bad span");
        const gzipped = new Uint8Array(
          await new Response(
            new Blob([partial]).stream().pipeThrough(new CompressionStream("gzip")),
          ).arrayBuffer(),
        );
        await using server = await startRawServer((stream, _r, n) =>
          n === 1
            ? answerMessage(stream, gzipped, undefined, { "grpc-encoding": "gzip" }, true)
            : answerMessage(stream, new Uint8Array(200))
        );
        const reports: string[] = [];
        const otlp = exporter({ endpoint: server.endpoint, maxResponseBytes: 100 }, reports);
        const error = await rejection(otlp.export(fanOut(), RESOURCE));
        assert.match(error.message, /rejected 1 of 5 activities: one bad span$/);
        await otlp.export(fanOut(), RESOURCE);
        assert.match(
          reports[0]!,
          /accepted 5 activities but its response could not be read: the response is larger than 100 bytes$/,
        );
        assert.deepEqual([otlp.deliveredCount, otlp.lostCount], [9, 1]);
        await otlp.shutdown();
      },
    );
  },
});

Deno.test({
  name: "OtlpExporter over gRPC reuses one session, reconnects after GOAWAY, closes it at shutdown",
  ignore: NO_GRPC,
  async fn() {
    let goaway: (() => void) | undefined;
    await using server = await startRawServer((stream, _r, n) => {
      const session = stream.session;
      answerMessage(stream, new Uint8Array(0));
      if (n === 3) goaway = () => session?.goaway();
    });
    const otlp = exporter({ endpoint: server.endpoint });
    for (let i = 0; i < 3; i++) await otlp.export(fanOut(), RESOURCE);
    assert.equal(server.sessions, 1);
    goaway!();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await otlp.export(fanOut(), RESOURCE);
    assert.equal(server.sessions, 2);
    assert.equal(server.openSessions, 1);
    assert.deepEqual([otlp.deliveredCount, otlp.lostCount], [20, 0]);
    await otlp.shutdown();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(server.openSessions, 0);
  },
});

Deno.test({
  name: "OtlpExporter over gRPC behind the batch processor: exported + dropped == ended",
  ignore: NO_GRPC,
  async fn() {
    // Calls alternate: UNAVAILABLE (retried), OK, UNIMPLEMENTED (dropped).
    const accepted: string[] = [];
    await using receiver = await startGrpcReceiver((call, n) => {
      if (n % 3 === 1) return { code: 14 };
      if (n % 3 === 0) return { code: 12 };
      accepted.push(...spanNames([call]));
      return { ok: {} };
    });
    const otlp = exporter({ endpoint: receiver.endpoint });
    const failures: string[] = [];
    const provider = createTracerProviderBuilder().addSource("Counted").setErrorHandler((e) =>
      failures.push((e as Error).message)
    ).addBatchExporter(otlp, {
      maxExportBatchSize: 10,
      scheduledDelayMillis: 1,
    }).build();
    const source = new ActivitySource("Counted");
    const ended: string[] = [];
    for (let i = 0; i < 100; i++) {
      const activity = source.startActivity(`Op ${i}`)!;
      ended.push(activity.displayName);
      activity.stop();
    }
    await provider.shutdown();
    assert.equal(otlp.deliveredCount + otlp.lostCount, ended.length);
    assert.equal(otlp.deliveredCount, accepted.length);
    assert.equal(new Set(accepted).size, accepted.length);
    assert.ok(otlp.lostCount > 0 && otlp.deliveredCount > 0);
    // The processor reported the dropped batches to the provider's handler.
    assert.match(
      failures[0]!,
      /^OTLP export of \d+ activities .* failed: gRPC status 12 UNIMPLEMENTED$/,
    );
  },
});

Deno.test({
  name: "OtlpExporter over gRPC with TLS: https, the certificate file, insecure host:port",
  ignore: NO_GRPC,
  async fn(t) {
    const dir = new URL("./tls/", import.meta.url).pathname;
    const tls = {
      key: await Deno.readTextFile(`${dir}localhost.key`),
      cert: await Deno.readTextFile(`${dir}localhost.crt`),
    };
    await t.step("an https endpoint, trusting the test's certificate authority", async () => {
      await using receiver = await startGrpcReceiver(undefined, tls);
      const endpoint = `https://127.0.0.1:${receiver.port}`;
      const otlp = exporter({ endpoint, certificate: `${dir}localhost.crt` });
      const sent = fanOut();
      await otlp.export(sent, RESOURCE);
      assert.deepEqual(
        receiver.calls[0]!.request,
        decodeProtobuf(encodeOtlpTraces(sent, RESOURCE)),
      );
      await otlp.shutdown();
      assert.deepEqual([otlp.deliveredCount, otlp.lostCount], [5, 0]);
    });
    await t.step("host:port is TLS: a certificate not trusted fails, and is counted", async () => {
      await using receiver = await startGrpcReceiver(undefined, tls);
      const otlp = exporter({
        endpoint: `127.0.0.1:${receiver.port}`,
        retry: { maxAttempts: 2, ...FAST_RETRY },
      });
      assert.equal(otlp.url.startsWith("https://"), true);
      const error = await rejection(otlp.export(fanOut(), RESOURCE));
      assert.match(error.message, /after 2 attempts: network error: .*(certificate|self.signed)/i);
      assert.equal(receiver.calls.length, 0);
      await otlp.shutdown();
      assert.deepEqual([otlp.deliveredCount, otlp.lostCount], [0, 5]);
    });
    await t.step("OTEL_EXPORTER_OTLP_INSECURE=true: host:port without TLS", async () => {
      await using receiver = await startGrpcReceiver();
      const otlp = exporter({
        env: (name) =>
          ({
            OTEL_EXPORTER_OTLP_ENDPOINT: `127.0.0.1:${receiver.port}`,
            OTEL_EXPORTER_OTLP_INSECURE: "true",
          })[name],
      });
      await otlp.export(fanOut(), RESOURCE);
      assert.equal(receiver.calls.length, 1);
      await otlp.shutdown();
      assert.deepEqual([otlp.deliveredCount, otlp.lostCount], [5, 0]);
    });
  },
});

Deno.test({
  name:
    "OtlpExporter over gRPC: a shutdown whose time is up gives the call up, counted, session closed",
  ignore: NO_GRPC,
  async fn() {
    // A server that takes the call and never answers.
    await using server = await startRawServer(() => {});
    const reports: string[] = [];
    const otlp = exporter({ endpoint: server.endpoint, timeout: 60_000 }, reports);
    const pending = otlp.export(fanOut(), RESOURCE).catch((error) => error);
    while (server.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(server.openSessions, 1);
    await otlp.shutdown({ timeoutMillis: 50 });
    const error = await pending;
    assert.ok(error instanceof OtlpExportError);
    assert.match(error.message, /failed: given up when the exporter was shut down$/);
    assert.deepEqual([otlp.deliveredCount, otlp.lostCount], [0, 5]);
    for (let i = 0; i < 400 && server.openSessions > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.equal(server.openSessions, 0);
    // After shutdown, an export fails at once and is counted too.
    const late = await rejection(otlp.export(fanOut(), RESOURCE));
    assert.equal(late.lostCount, 5);
    assert.deepEqual([otlp.deliveredCount, otlp.lostCount], [0, 10]);
  },
});
