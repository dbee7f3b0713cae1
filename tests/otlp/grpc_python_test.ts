// OTLP/gRPC against a second, independent gRPC implementation: Python's grpcio (gRPC's C core,
// tests/otlp/peers/grpcio_receiver.py) receives the calls as raw bytes, which protobufjs decodes
// with the official schema. Skipped without --allow-run=/usr/bin/python3 or without grpcio.

import assert from "node:assert/strict";
import {
  ActivityLink,
  ActivitySource,
  createTracerProviderBuilder,
  InMemoryExporter,
  Resource,
} from "../../mod.ts";
import { encodeOtlpTraces, OtlpExporter, OtlpExportError } from "../../otlp/mod.ts";
import { decodeProtobuf } from "./_helpers.ts";

const PYTHON = "/usr/bin/python3";
const PEER = new URL("./peers/grpcio_receiver.py", import.meta.url).pathname;
const NO_PYTHON = (await Deno.permissions.query({ name: "run", command: PYTHON })).state !==
    "granted" ||
  !(await new Deno.Command(PYTHON, { args: ["-c", "import grpc"], stdout: "null", stderr: "null" })
    .output().then((output) => output.success, () => false));

interface PeerCall {
  body: string;
  metadata: Record<string, string>;
  remaining: number;
}

/** Runs the grpcio receiver in `mode` around `fn`; the calls it got. */
async function withPeer(
  mode: string,
  fn: (endpoint: string) => Promise<void>,
): Promise<PeerCall[]> {
  const child = new Deno.Command(PYTHON, {
    args: [PEER, mode],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
    signal: AbortSignal.timeout(60_000),
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { done, value } = await lines.read();
    if (done) throw new Error(`The grpcio receiver did not start: ${text}`);
    text += value;
  }
  const port = /^PORT (\d+)/.exec(text)![1];
  try {
    await fn(`http://127.0.0.1:${port}`);
  } finally {
    await child.stdin.close();
  }
  while (true) {
    const { done, value } = await lines.read();
    if (done) break;
    text += value;
  }
  assert.equal((await child.status).code, 0);
  return text.trim().split("\n").slice(1).map((line) => JSON.parse(line));
}

function fanOut() {
  const memory = new InMemoryExporter();
  const provider = createTracerProviderBuilder().addSource("Py").addInMemoryExporter(memory)
    .build();
  const source = new ActivitySource("Py", { version: "2.0" });
  source.startActiveActivity("OrchestratingActivity", (o) => {
    o?.setTag("operation", "main-process").setTag("count", 3);
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

const RESOURCE = new Resource({ "service.name": "py-peer" });
const bytesOf = (hex: string) => Uint8Array.from(hex.match(/../g) ?? [], (b) => parseInt(b, 16));

function exporter(endpoint: string, options: { compression?: "gzip" | "none" } = {}) {
  return new OtlpExporter({
    protocol: "grpc",
    endpoint,
    headers: { "x-tenant": "t1" },
    timeout: 5000,
    retry: { initialBackoff: 1, maxBackoff: 5 },
    env: () => undefined,
    onError: () => {},
    ...options,
  });
}

Deno.test({
  name: "OtlpExporter over gRPC is understood by grpcio, plain and gzip, metadata and deadline",
  ignore: NO_PYTHON,
  async fn() {
    const sent = fanOut();
    const calls = await withPeer("ok", async (endpoint) => {
      for (const compression of ["none", "gzip"] as const) {
        const otlp = exporter(endpoint, { compression });
        await otlp.export(sent, RESOURCE);
        await otlp.shutdown();
        assert.deepEqual([otlp.deliveredCount, otlp.lostCount], [5, 0]);
      }
    });
    assert.equal(calls.length, 2);
    for (const call of calls) {
      assert.deepEqual(
        decodeProtobuf(bytesOf(call.body)),
        decodeProtobuf(encodeOtlpTraces(sent, RESOURCE)),
      );
      assert.equal(call.metadata["x-tenant"], "t1");
      assert.match(
        call.metadata["user-agent"]!,
        /^tracelinks-activity\/\S+ OTel-OTLP-Exporter-TypeScript/,
      );
      assert.ok(call.remaining > 0 && call.remaining <= 5, String(call.remaining));
    }
  },
});

Deno.test({
  name:
    "OtlpExporter over gRPC retries grpcio's UNAVAILABLE and its RESOURCE_EXHAUSTED with RetryInfo",
  ignore: NO_PYTHON,
  async fn() {
    for (const mode of ["unavailable-once", "exhausted-retry-info"]) {
      const calls = await withPeer(mode, async (endpoint) => {
        const otlp = exporter(endpoint);
        await otlp.export(fanOut(), RESOURCE);
        await otlp.shutdown();
        assert.deepEqual([otlp.deliveredCount, otlp.lostCount], [5, 0], mode);
      });
      assert.equal(calls.length, 2, mode);
      assert.equal(calls[0]!.body, calls[1]!.body, mode);
    }
  },
});

Deno.test({
  name: "OtlpExporter over gRPC drops on grpcio's INVALID_ARGUMENT and counts",
  ignore: NO_PYTHON,
  async fn() {
    const calls = await withPeer("invalid", async (endpoint) => {
      const otlp = exporter(endpoint);
      const error = await otlp.export(fanOut(), RESOURCE).catch((e) => e);
      await otlp.shutdown();
      assert.ok(error instanceof OtlpExportError);
      assert.equal(error.grpcStatus, 3);
      assert.match(error.message, /gRPC status 3 INVALID_ARGUMENT: bad span$/);
      assert.deepEqual([otlp.deliveredCount, otlp.lostCount], [0, 5]);
    });
    assert.equal(calls.length, 1);
  },
});
