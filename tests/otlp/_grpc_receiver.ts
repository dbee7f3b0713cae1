// Test receivers for OTLP/gRPC on 127.0.0.1: an independent one, @grpc/grpc-js serving the trace
// service described by proto/*.proto (written from opentelemetry-proto's published field
// numbers) through @grpc/proto-loader, which decodes each request field by field; and a raw
// HTTP/2 server (node:http2) whose answers a test writes byte by byte (trailers-only responses,
// resets, wrong content types, compressed responses, a server that never answers).

import type * as GrpcJs from "npm:@grpc/grpc-js@1.14.3";
import protobuf from "npm:protobufjs@8.8.1";
import http2 from "node:http2";
import { canonOfObject, type CanonRequest } from "./_helpers.ts";

const PROTO_DIR = new URL("./proto", import.meta.url).pathname;

/** Whether grpc-js can run: it reads GRPC_* variables, and proto-loader the .proto files. */
export const NO_GRPC: boolean = await (async () => {
  for (
    const descriptor of [
      { name: "net", host: "127.0.0.1" },
      { name: "env", variable: "GRPC_VERBOSITY" },
      { name: "read", path: PROTO_DIR },
      { name: "read", path: new URL("./tls", import.meta.url).pathname },
      { name: "sys", kind: "uid" },
    ] as const
  ) {
    if ((await Deno.permissions.query(descriptor)).state !== "granted") return true;
  }
  return false;
})();

/** One call the grpc-js receiver got. */
export interface GrpcCall {
  /** The request, decoded by proto-loader, in the canonical form of ./_helpers.ts. */
  readonly request: CanonRequest[];
  /** The metadata (gRPC's own headers left out by grpc-js). */
  readonly metadata: Record<string, string>;
  /** The deadline the call carried (a `Date.now()` value), or `Infinity`. */
  readonly deadline: number;
  /** When it arrived (a `Date.now()` value). */
  readonly at: number;
}

/** How the grpc-js receiver answers a call. */
export type GrpcAnswer =
  | { readonly ok: { readonly rejected?: number; readonly message?: string } }
  | {
    readonly code: number;
    readonly details?: string;
    /** Sends a google.rpc.Status with a RetryInfo of this delay in grpc-status-details-bin. */
    readonly retryDelayMs?: number;
  }
  | "hang";

/** A running receiver. */
export interface GrpcReceiver extends AsyncDisposable {
  /** `http://127.0.0.1:PORT` (or `https://localhost:PORT` with TLS). */
  readonly endpoint: string;
  readonly port: number;
  readonly calls: GrpcCall[];
  close(): Promise<void>;
}

/** A google.rpc.Status with one RetryInfo detail, as grpc-status-details-bin carries it. */
export function statusWithRetryInfo(code: number, message: string, delayMs: number): Uint8Array {
  const statusRoot = protobuf.loadSync(`${PROTO_DIR}/status.proto`);
  const StatusType = statusRoot.lookupType("tests.rpc.Status");
  const RetryInfoType = statusRoot.lookupType("tests.rpc.RetryInfo");
  const retryInfo = RetryInfoType.encode(RetryInfoType.fromObject({
    retryDelay: { seconds: Math.floor(delayMs / 1000), nanos: (delayMs % 1000) * 1e6 },
  })).finish();
  return StatusType.encode(StatusType.fromObject({
    code,
    message,
    details: [{ typeUrl: "type.googleapis.com/google.rpc.RetryInfo", value: retryInfo }],
  })).finish();
}

// grpc-js reads GRPC_* variables as it loads: it is loaded only by the tests that use it.
type Grpc = typeof GrpcJs;

async function loadService(): Promise<{ grpc: Grpc; service: GrpcJs.ServiceDefinition }> {
  // The test's server trusts no one: a machine-wide roots file would only be a read to permit.
  Deno.env.delete("GRPC_DEFAULT_SSL_ROOTS_FILE_PATH");
  const grpc = (await import("npm:@grpc/grpc-js@1.14.3")).default as unknown as Grpc;
  const protoLoader = (await import("npm:@grpc/proto-loader@0.8.0")).default;
  const definition = protoLoader.loadSync(`${PROTO_DIR}/trace_service.proto`, {
    includeDirs: [PROTO_DIR],
    keepCase: false,
    longs: String,
    enums: Number,
    bytes: Array,
    defaults: false,
    oneofs: false,
  });
  // deno-lint-ignore no-explicit-any
  const loaded = grpc.loadPackageDefinition(definition) as any;
  return { grpc, service: loaded.opentelemetry.proto.collector.trace.v1.TraceService.service };
}

/**
 * Starts grpc-js on 127.0.0.1 at a free port, serving TraceService/Export; `answer` says how to
 * answer the n-th call (from 1). With `tls`, it serves TLS with that key and certificate.
 */
export async function startGrpcReceiver(
  answer: (call: GrpcCall, n: number) => GrpcAnswer | Promise<GrpcAnswer> = () => ({ ok: {} }),
  tls?: { key: string; cert: string },
): Promise<GrpcReceiver> {
  const calls: GrpcCall[] = [];
  const hanging: (() => void)[] = [];
  const { grpc, service } = await loadService();
  const server = new grpc.Server();
  server.addService(service, {
    // deno-lint-ignore no-explicit-any
    async Export(call: any, callback: any) {
      const metadata: Record<string, string> = {};
      for (const [key, value] of Object.entries(call.metadata.getMap())) {
        metadata[key] = String(value);
      }
      const deadline = call.getDeadline();
      const received: GrpcCall = {
        request: canonOfObject(call.request),
        metadata,
        deadline: deadline instanceof Date ? deadline.getTime() : Number(deadline),
        at: Date.now(),
      };
      calls.push(received);
      const reply = await answer(received, calls.length);
      if (reply === "hang") {
        hanging.push(() => callback({ code: grpc.status.UNAVAILABLE, details: "closed" }));
        return;
      }
      if ("ok" in reply) {
        const partial = reply.ok.rejected === undefined && reply.ok.message === undefined ? {} : {
          partialSuccess: {
            rejectedSpans: reply.ok.rejected ?? 0,
            errorMessage: reply.ok.message ?? "",
          },
        };
        callback(null, partial);
        return;
      }
      const trailers = new grpc.Metadata();
      if (reply.retryDelayMs !== undefined) {
        trailers.set(
          "grpc-status-details-bin",
          Buffer.from(statusWithRetryInfo(reply.code, reply.details ?? "", reply.retryDelayMs)),
        );
      }
      callback({ code: reply.code, details: reply.details ?? "", metadata: trailers });
    },
  });
  const credentials = tls === undefined
    ? grpc.ServerCredentials.createInsecure()
    : grpc.ServerCredentials.createSsl(null, [{
      private_key: Buffer.from(tls.key),
      cert_chain: Buffer.from(tls.cert),
    }]);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      "127.0.0.1:0",
      credentials,
      (error, port) => error ? reject(error) : resolve(port),
    )
  );
  let closed: Promise<void> | undefined;
  const close = () =>
    closed ??= (async () => {
      for (const release of hanging) release();
      server.forceShutdown();
      await new Promise((resolve) => setTimeout(resolve, 0));
    })();
  return {
    endpoint: tls === undefined ? `http://127.0.0.1:${port}` : `https://localhost:${port}`,
    port,
    calls,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** One request the raw HTTP/2 server got: its headers and the bytes of its body. */
export interface RawRequest {
  readonly headers: http2.IncomingHttpHeaders;
  readonly body: Uint8Array;
}

/** A raw HTTP/2 server and what it got. */
export interface RawServer extends AsyncDisposable {
  readonly endpoint: string;
  readonly requests: RawRequest[];
  /** The sessions (connections) opened to it. */
  readonly sessions: number;
  /** The sessions still open. */
  readonly openSessions: number;
  close(): Promise<void>;
}

/**
 * Starts a cleartext HTTP/2 server on 127.0.0.1; `respond` answers the n-th request (from 1) on
 * its stream, once the request body has arrived.
 */
export async function startRawServer(
  respond: (stream: http2.ServerHttp2Stream, request: RawRequest, n: number) => void,
): Promise<RawServer> {
  const requests: RawRequest[] = [];
  let sessions = 0;
  const open = new Set<http2.ServerHttp2Session>();
  const server = http2.createServer();
  server.on("session", (session) => {
    sessions++;
    open.add(session);
    session.on("close", () => open.delete(session));
  });
  server.on("stream", (stream, headers) => {
    const chunks: Uint8Array[] = [];
    stream.on("data", (chunk: Uint8Array) => chunks.push(chunk));
    stream.on("end", () => {
      const request = { headers, body: new Uint8Array(Buffer.concat(chunks)) };
      requests.push(request);
      respond(stream as http2.ServerHttp2Stream, request, requests.length);
    });
    stream.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  let closed: Promise<void> | undefined;
  const close = () =>
    closed ??= new Promise<void>((resolve) => {
      for (const session of open) session.destroy();
      server.close(() => resolve());
    });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    get sessions() {
      return sessions;
    },
    get openSessions() {
      return open.size;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Answers with one gRPC message and the given trailers (grpc-status 0 by default). */
export function answerMessage(
  stream: http2.ServerHttp2Stream,
  message: Uint8Array,
  trailers: http2.OutgoingHttpHeaders = { "grpc-status": "0" },
  headers: http2.OutgoingHttpHeaders = {},
  compressed = false,
): void {
  stream.respond({ ":status": 200, "content-type": "application/grpc", ...headers }, {
    waitForTrailers: true,
  });
  stream.on("wantTrailers", () => stream.sendTrailers(trailers));
  const framed = new Uint8Array(5 + message.length);
  framed[0] = compressed ? 1 : 0;
  new DataView(framed.buffer).setUint32(1, message.length);
  framed.set(message, 5);
  stream.end(framed);
}

/** Answers trailers-only: the status in the one HEADERS frame, no message. */
export function answerTrailersOnly(
  stream: http2.ServerHttp2Stream,
  status: number,
  message = "",
  extra: http2.OutgoingHttpHeaders = {},
): void {
  stream.respond({
    ":status": 200,
    "content-type": "application/grpc",
    "grpc-status": String(status),
    ...(message === "" ? {} : { "grpc-message": encodeURIComponent(message) }),
    ...extra,
  }, { endStream: true });
}

/** The message inside a request body in the gRPC framing, and its compressed flag. */
export function unframeRequest(body: Uint8Array): { compressed: boolean; message: Uint8Array } {
  const length = new DataView(body.buffer, body.byteOffset, body.length).getUint32(1);
  if (body.length !== 5 + length) throw new Error(`Framing: ${length} bytes in ${body.length - 5}`);
  return { compressed: body[0] === 1, message: body.subarray(5) };
}
