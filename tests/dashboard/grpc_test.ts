// The dashboard's OTLP/gRPC address (`otlpGrpc`, `--otlp-grpc`): this module's exporter and
// grpc-js as senders, and a raw HTTP/2 client for what well-behaved senders never do (a foreign
// Host, a body past the bound, two messages, an unknown method, too many calls at once). Each
// refusal is a gRPC status and is counted as the OTLP/HTTP address counts it. Needs
// --allow-net=127.0.0.1, and for grpc-js the permissions of `deno task test:dashboard`.

import assert from "node:assert/strict";
import http2 from "node:http2";
import {
  ActivityLink,
  ActivitySource,
  createTracerProviderBuilder,
  InMemoryExporter,
  Resource,
} from "../../mod.ts";
import { encodeOtlpTraces, OtlpExporter, OtlpExportError } from "../../otlp/mod.ts";
import { parseDashboardArgs, serveDashboard } from "../../dashboard/mod.ts";
import { NO_GRPC } from "../otlp/_grpc_receiver.ts";

const NET = (await Deno.permissions.query({ name: "net", host: "127.0.0.1" })).state === "granted";
const EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
const TOKEN = "0123456789abcdef0123";

/** The guide's fan-out: five activities in four traces. */
function fanOut() {
  const memory = new InMemoryExporter();
  const provider = createTracerProviderBuilder().addSource("GrpcIn").addInMemoryExporter(memory)
    .build();
  const source = new ActivitySource("GrpcIn");
  source.startActiveActivity("OrchestratingActivity", (o) => {
    for (let i = 1; i <= 3; i++) {
      source.startActivity(`FannedOutActivity ${i}`, {
        root: true,
        links: [new ActivityLink(o!.context)],
      })?.stop();
    }
    source.startActivity("WrapUp")?.stop();
  });
  provider.shutdown();
  return [...memory.activities];
}

function framed(message: Uint8Array, compressed = false): Uint8Array {
  const out = new Uint8Array(5 + message.length);
  out[0] = compressed ? 1 : 0;
  new DataView(out.buffer).setUint32(1, message.length);
  out.set(message, 5);
  return out;
}

/** What a raw call got back: the HTTP status, gRPC status and message, and the details. */
interface RawAnswer {
  status: number;
  grpcStatus: string | undefined;
  grpcMessage: string | undefined;
  details: string | undefined;
}

/**
 * One call on a raw HTTP/2 connection; `body` undefined sends the prefix of a message of 100
 * bytes (or nothing, with the header `x-send: nothing`) and leaves the request open.
 */
function rawCall(
  client: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body: Uint8Array | undefined,
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const stream = client.request({
      ":method": "POST",
      ":path": EXPORT,
      "content-type": "application/grpc",
      te: "trailers",
      ...headers,
    });
    const answer: RawAnswer = {
      status: 0,
      grpcStatus: undefined,
      grpcMessage: undefined,
      details: undefined,
    };
    const take = (h: http2.IncomingHttpHeaders) => {
      if (h[":status"] !== undefined) answer.status = Number(h[":status"]);
      answer.grpcStatus ??= h["grpc-status"] as string | undefined;
      answer.grpcMessage ??= h["grpc-message"] as string | undefined;
      answer.details ??= h["grpc-status-details-bin"] as string | undefined;
      // Answered: a call left open (a held one) ends here.
      if (answer.grpcStatus !== undefined && body === undefined) stream.close();
    };
    stream.on("response", take);
    stream.on("trailers", take);
    stream.on("data", () => {});
    stream.on("error", reject);
    stream.on("close", () => resolve(answer));
    if (body !== undefined) stream.end(body);
    else if (headers["x-send"] !== "nothing") {
      stream.write(framed(new Uint8Array(100)).subarray(0, 5));
    }
  });
}

Deno.test({
  name: "serveDashboard() with otlpGrpc keeps the fan-out this module's exporter sends over gRPC",
  ignore: !NET,
  async fn() {
    await using served = await serveDashboard({
      otlp: "127.0.0.1:0",
      ui: "127.0.0.1:0",
      otlpGrpc: "127.0.0.1:0",
    });
    assert.match(served.otlpGrpcUrl!, /^http:\/\/127\.0\.0\.1:\d+$/);
    for (const compression of ["none", "gzip"] as const) {
      const otlp = new OtlpExporter({
        protocol: "grpc",
        endpoint: served.otlpGrpcUrl!,
        compression,
        env: () => undefined,
      });
      await otlp.export(fanOut(), Resource.empty);
      await otlp.shutdown();
      assert.deepEqual([otlp.deliveredCount, otlp.lostCount], [5, 0]);
    }
    const list = await (await fetch(`${served.uiUrl}api/traces`)).json();
    assert.equal(list.total, 8);
    const stats = served.dashboard.stats;
    assert.deepEqual([stats.spans, stats.acceptedRequests, stats.failedRequests], [10, 2, 0]);
  },
});

Deno.test({
  name: "serveDashboard() with otlpGrpc answers grpc-js with an ExportTraceServiceResponse",
  ignore: !NET || NO_GRPC,
  async fn() {
    await using served = await serveDashboard({
      otlp: "127.0.0.1:0",
      ui: "127.0.0.1:0",
      otlpGrpc: "127.0.0.1:0",
      maxSpansPerTrace: 1,
    });
    Deno.env.delete("GRPC_DEFAULT_SSL_ROOTS_FILE_PATH");
    const grpc = (await import("npm:@grpc/grpc-js@1.14.3")).default;
    const protoLoader = (await import("npm:@grpc/proto-loader@0.8.0")).default;
    const dir = new URL("../otlp/proto", import.meta.url).pathname;
    const definition = protoLoader.loadSync(`${dir}/trace_service.proto`, {
      includeDirs: [dir],
      longs: String,
      defaults: false,
    });
    // deno-lint-ignore no-explicit-any
    const loaded = grpc.loadPackageDefinition(definition) as any;
    const TraceService = loaded.opentelemetry.proto.collector.trace.v1.TraceService;
    const client = new TraceService(
      served.otlpGrpcUrl!.slice("http://".length),
      grpc.credentials.createInsecure(),
      { "grpc.enable_http_proxy": 0 },
    );
    const traceId = new Uint8Array(16).fill(7);
    const span = (id: number) => ({
      traceId,
      spanId: new Uint8Array(8).fill(id),
      name: `grpc-js span ${id}`,
      startTimeUnixNano: "1700000000000000000",
      endTimeUnixNano: "1700000000005000000",
    });
    const request = { resourceSpans: [{ scopeSpans: [{ spans: [span(1), span(2)] }] }] };
    // deno-lint-ignore no-explicit-any
    const response = await new Promise<any>((resolve, reject) =>
      client.Export(
        request,
        (error: unknown, value: unknown) => error ? reject(error) : resolve(value),
      )
    );
    client.close();
    // One span kept; the second is past maxSpansPerTrace and reported as rejected.
    assert.equal(response.partialSuccess.rejectedSpans, "1");
    assert.match(response.partialSuccess.errorMessage, /1 span\(s\) not kept/);
    assert.equal(served.dashboard.stats.spans, 1);
  },
});

Deno.test({
  name: "serveDashboard() with otlpGrpc checks the token and the Host as OTLP/HTTP does",
  ignore: !NET,
  async fn(t) {
    await using served = await serveDashboard({
      otlp: "127.0.0.1:0",
      ui: "127.0.0.1:0",
      otlpGrpc: "127.0.0.1:0",
      token: TOKEN,
    });
    await t.step("without the token: UNAUTHENTICATED, not retried, counted", async () => {
      const otlp = new OtlpExporter({
        protocol: "grpc",
        endpoint: served.otlpGrpcUrl!,
        env: () => undefined,
        onError: () => {},
      });
      const error = await otlp.export(fanOut(), Resource.empty).catch((e) => e);
      await otlp.shutdown();
      assert.ok(error instanceof OtlpExportError);
      assert.equal(error.grpcStatus, 16);
      assert.equal(error.attempts, 1);
      assert.match(error.message, /UNAUTHENTICATED: This dashboard needs its token/);
    });
    await t.step("with the token as metadata: kept", async () => {
      const otlp = new OtlpExporter({
        protocol: "grpc",
        endpoint: served.otlpGrpcUrl!,
        headers: { authorization: `Bearer ${TOKEN}` },
        env: () => undefined,
      });
      await otlp.export(fanOut(), Resource.empty);
      await otlp.shutdown();
      assert.equal(served.dashboard.stats.spans, 5);
    });
    await t.step("a foreign :authority: PERMISSION_DENIED", async () => {
      const client = http2.connect(served.otlpGrpcUrl!);
      try {
        const answer = await rawCall(client, {
          ":authority": "attacker.example",
          authorization: `Bearer ${TOKEN}`,
        }, framed(encodeOtlpTraces(fanOut())));
        assert.equal(answer.grpcStatus, "7");
        assert.match(
          decodeURIComponent(answer.grpcMessage!),
          /Host 'attacker.example' is not allowed/,
        );
      } finally {
        client.close();
      }
    });
    const stats = served.dashboard.stats;
    assert.deepEqual([stats.acceptedRequests, stats.failedRequests, stats.spans], [1, 2, 5]);
  },
});

Deno.test({
  name: "serveDashboard() with otlpGrpc refuses what is not one bounded message, and counts it",
  ignore: !NET,
  async fn() {
    await using served = await serveDashboard({
      otlp: "127.0.0.1:0",
      ui: "127.0.0.1:0",
      otlpGrpc: "127.0.0.1:0",
      maxBodyBytes: 1000,
    });
    const client = http2.connect(served.otlpGrpcUrl!);
    const message = encodeOtlpTraces(fanOut());
    const bomb = new Uint8Array(
      await new Response(
        new Blob([new Uint8Array(1_000_000)]).stream().pipeThrough(new CompressionStream("gzip")),
      ).arrayBuffer(),
    );
    const cases: [string, http2.OutgoingHttpHeaders, Uint8Array, string, RegExp][] = [
      ["past the bound", {}, framed(new Uint8Array(2000)), "8", /larger than the limit of 1000/],
      ["a gzip bomb", { "grpc-encoding": "gzip" }, framed(bomb, true), "8", /larger than/],
      ["not protobuf", {}, framed(new Uint8Array([0xff, 0xff, 0xff])), "3", /./],
      [
        "two messages",
        {},
        new Uint8Array([...framed(message), ...framed(message)]),
        "3",
        /one message/,
      ],
      ["no message", {}, new Uint8Array(0), "13", /No message in the call/],
      ["compressed, said identity", {}, framed(message, true), "13", /grpc-encoding says identity/],
      ["an unknown encoding", { "grpc-encoding": "snappy" }, framed(message, true), "12", /snappy/],
      [
        "an unknown method",
        { ":path": "/x.Y/Z" },
        framed(message),
        "12",
        /Unknown method \/x\.Y\/Z/,
      ],
    ];
    try {
      for (const [what, headers, body, code, why] of cases) {
        const answer = await rawCall(client, headers, body);
        assert.equal(answer.status, 200, what);
        assert.equal(answer.grpcStatus, code, what);
        assert.match(decodeURIComponent(answer.grpcMessage ?? ""), why, what);
      }
      const notGrpc = await rawCall(client, { "content-type": "text/plain" }, message);
      assert.equal(notGrpc.status, 415);
      const metrics = await rawCall(client, {
        ":path": "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
      }, framed(new Uint8Array(0)));
      assert.equal(metrics.grpcStatus, "0");
    } finally {
      client.close();
    }
    const stats = served.dashboard.stats;
    assert.deepEqual(
      [stats.acceptedRequests, stats.failedRequests, stats.ignoredRequests, stats.spans],
      [0, cases.length + 1, 1, 0],
    );
  },
});

Deno.test({
  name: "serveDashboard() with otlpGrpc turns away calls past 16 at once with RetryInfo",
  ignore: !NET,
  async fn() {
    await using served = await serveDashboard({
      otlp: "127.0.0.1:0",
      ui: "127.0.0.1:0",
      otlpGrpc: "127.0.0.1:0",
      bodyTimeout: 2000,
    });
    const client = http2.connect(served.otlpGrpcUrl!);
    try {
      // Sixteen calls whose messages never finish arriving hold every reading slot.
      const held = Array.from({ length: 16 }, () => rawCall(client, {}, undefined));
      await new Promise((resolve) => setTimeout(resolve, 200));
      const turned = await rawCall(client, {}, framed(encodeOtlpTraces(fanOut())));
      assert.equal(turned.grpcStatus, "8");
      // google.rpc.Status { code 8, details: [Any RetryInfo { retry_delay { seconds: 1 } }] }
      const details = Uint8Array.from(atob(turned.details!), (c) => c.charCodeAt(0));
      const text = new TextDecoder().decode(details);
      assert.match(text, /type\.googleapis\.com\/google\.rpc\.RetryInfo/);
      assert.deepEqual([...details.subarray(details.length - 4)], [0x0a, 2, 0x08, 1]);
      const timedOut = await Promise.all(held);
      assert.deepEqual(new Set(timedOut.map((a) => a.grpcStatus)), new Set(["4"]));
      // A call whose message never starts is timed out as well.
      const silent = await rawCall(client, { "x-send": "nothing" }, undefined);
      assert.equal(silent.grpcStatus, "4");
      assert.match(decodeURIComponent(silent.grpcMessage!), /did not arrive within 2000 ms/);
    } finally {
      client.close();
    }
  },
});

Deno.test("parseDashboardArgs() reads --otlp-grpc; another host than loopback needs a token", async () => {
  assert.equal(parseDashboardArgs([]).otlpGrpc, undefined);
  assert.equal(parseDashboardArgs(["--otlp-grpc=127.0.0.1:4317"]).otlpGrpc, "127.0.0.1:4317");
  assert.throws(() => parseDashboardArgs(["--otlp-grpc=4317"]), {
    name: "SyntaxError",
    message: "Cannot parse --otlp-grpc: expected HOST:PORT, got '4317'",
  });
  await assert.rejects(
    serveDashboard({ otlp: "127.0.0.1:0", ui: "127.0.0.1:0", otlpGrpc: "0.0.0.0:0" }),
    {
      name: "TypeError",
      message:
        "Cannot serve the dashboard's OTLP/gRPC on 0.0.0.0: an address other than loopback needs a token (--token)",
    },
  );
});
