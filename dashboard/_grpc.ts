// OTLP/gRPC in: an HTTP/2 server (node:http2) for the unary Export calls of the trace service
// (and, answered with a warning as over HTTP, of the metrics and logs services). Each call is
// handed to the OTLP/HTTP ingest as the request it stands for (`POST /v1/traces`, protobuf, gzip
// when its message is compressed, the Host of its :authority, its metadata as headers), so the
// same host check, token, size bound, body timeout and limit on concurrent bodies apply, and the
// same counts; the answer's HTTP status becomes the call's gRPC status.

import http2 from "node:http2";
import type { ListenAddress } from "./_args.ts";
import type { Ingest } from "./_ingest.ts";
import { readFields } from "../otlp/_protobuf.ts";

/** The HTTP path of each OTLP service's Export method, and the OTLP/HTTP path it stands for. */
const METHODS: Record<string, string> = {
  "/opentelemetry.proto.collector.trace.v1.TraceService/Export": "/v1/traces",
  "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export": "/v1/metrics",
  "/opentelemetry.proto.collector.logs.v1.LogsService/Export": "/v1/logs",
};

/** gRPC status codes used here. */
const OK = 0;
const INVALID_ARGUMENT = 3;
const DEADLINE_EXCEEDED = 4;
const RESOURCE_EXHAUSTED = 8;
const UNIMPLEMENTED = 12;
const INTERNAL = 13;
const UNAUTHENTICATED = 16;

/** The gRPC status of an ingest answer that is not 200, by its HTTP status. */
const CODE_OF_STATUS: Record<number, number> = {
  400: INVALID_ARGUMENT,
  401: UNAUTHENTICATED,
  403: 7, // PERMISSION_DENIED
  404: UNIMPLEMENTED,
  405: UNIMPLEMENTED,
  408: DEADLINE_EXCEEDED,
  413: RESOURCE_EXHAUSTED,
  415: UNIMPLEMENTED,
  429: RESOURCE_EXHAUSTED,
  503: 14, // UNAVAILABLE
};

/** How long a connection may stay idle, in milliseconds. */
const IDLE_TIMEOUT = 120_000;

/** A listening OTLP/gRPC server. */
export interface GrpcListener {
  /** The port it listens on. */
  readonly port: number;
  /** Stops listening and ends the connections; resolves once the server is closed. */
  close(): Promise<void>;
}

/**
 * Serves OTLP/gRPC at `address`, handing each call to `ingest`.
 *
 * @throws {Error} When the address cannot be listened on (the port is taken, no permission).
 */
export async function serveGrpc(
  address: ListenAddress,
  ingest: Ingest,
  bodyTimeout: number,
): Promise<GrpcListener> {
  const sessions = new Set<http2.ServerHttp2Session>();
  const server = http2.createServer({ settings: { maxConcurrentStreams: 100 } });
  server.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
    session.on("error", () => {});
    session.setTimeout(IDLE_TIMEOUT, () => session.close());
  });
  server.on("stream", (stream, headers) => {
    stream.on("error", () => {});
    call(stream as http2.ServerHttp2Stream, headers, ingest, bodyTimeout).catch(() => {
      // The ingest never rejects; a stream that went away has nothing left to answer.
      if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(address.port, address.hostname, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", () => {});
  let closed: Promise<void> | undefined;
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const session of sessions) session.destroy();
      }),
  };
}

/** Answers one call. */
async function call(
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  ingest: Ingest,
  bodyTimeout: number,
): Promise<void> {
  const type = String(headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "application/grpc" && type !== "application/grpc+proto") {
    // Not gRPC: HTTP's own answer, as the gRPC protocol asks.
    ingest.counts.failed++;
    stream.respond({ ":status": 415 }, { endStream: true });
    return;
  }
  const path = String(headers[":path"] ?? "");
  const signal = METHODS[path];
  if (headers[":method"] !== "POST" || signal === undefined) {
    ingest.counts.failed++;
    const method = path.slice(0, 200);
    return answer(stream, UNIMPLEMENTED, `Unknown method ${method}: this server has ${TRACES}`);
  }
  const body = bodyOf(stream);
  const prefix = await readPrefix(body, bodyTimeout);
  if (typeof prefix === "string") {
    ingest.counts.failed++;
    const code = prefix.startsWith("No message")
      ? INTERNAL
      : prefix.includes("did not arrive")
      ? DEADLINE_EXCEEDED
      : INVALID_ARGUMENT;
    return answer(stream, code, prefix);
  }
  const encoding = String(headers["grpc-encoding"] ?? "identity").trim().toLowerCase();
  if (prefix.compressed && encoding === "identity") {
    ingest.counts.failed++;
    return answer(stream, INTERNAL, "The message is compressed but grpc-encoding says identity");
  }
  const request = new Request(`http://127.0.0.1${signal}`, {
    method: "POST",
    headers: requestHeaders(headers, prefix, encoding),
    body: payload(body, prefix),
  });
  const response = await ingest.handle(request);
  const bytes = new Uint8Array(await response.arrayBuffer());
  if (response.status === 200) return answer(stream, OK, "", bytes);
  const code = CODE_OF_STATUS[response.status] ?? 2; // UNKNOWN
  return answer(stream, code, statusMessage(bytes), undefined, response.status === 429);
}

const TRACES = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/** The headers of the OTLP/HTTP request a call stands for. */
function requestHeaders(
  headers: http2.IncomingHttpHeaders,
  prefix: Prefix,
  encoding: string,
): Headers {
  const out = new Headers();
  for (const [key, value] of Object.entries(headers)) {
    if (key.startsWith(":") || key.startsWith("grpc-") || value === undefined) continue;
    if (key === "content-type" || key === "content-length" || key === "te") continue;
    try {
      out.set(key, Array.isArray(value) ? value.join(", ") : value);
    } catch {
      // Not a valid HTTP header: not one the ingest reads.
    }
  }
  const authority = headers[":authority"] ?? headers.host;
  if (typeof authority === "string") out.set("host", authority);
  out.set("content-type", "application/x-protobuf");
  out.set("content-length", String(prefix.length));
  if (prefix.compressed) out.set("content-encoding", encoding);
  return out;
}

/** The 5 bytes before a message: whether it is compressed, and its length. */
interface Prefix {
  readonly compressed: boolean;
  readonly length: number;
  /** Bytes read past the prefix: the start of the message. */
  readonly rest: Uint8Array;
}

/** The stream's request body, read as the reader pulls (HTTP/2 flow control holds the rest). */
function bodyOf(stream: http2.ServerHttp2Stream): ReadableStreamDefaultReader<Uint8Array> {
  stream.pause();
  let ended = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      stream.on("data", (chunk: Uint8Array) => {
        if (ended) return;
        controller.enqueue(new Uint8Array(chunk));
        if ((controller.desiredSize ?? 0) <= 0) stream.pause();
      });
      stream.on("end", () => {
        if (!ended) controller.close();
        ended = true;
      });
      stream.on("aborted", () => {
        if (!ended) controller.error(new Error("The call was cancelled"));
        ended = true;
      });
    },
    pull() {
      stream.resume();
    },
    cancel() {
      ended = true;
    },
  }, { highWaterMark: 65_536, size: (chunk) => chunk.byteLength }).getReader();
}

/** Reads the prefix of the one message of a call within `timeout`, or says what was wrong. */
async function readPrefix(
  body: ReadableStreamDefaultReader<Uint8Array>,
  timeout: number,
): Promise<Prefix | string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`The message did not arrive within ${timeout} ms`), timeout);
  });
  const read = (async (): Promise<Prefix | string> => {
    let bytes: Uint8Array = new Uint8Array(0);
    while (bytes.length < 5) {
      const { done, value } = await body.read();
      if (done) {
        return bytes.length === 0 ? "No message in the call" : "The call ended in a message";
      }
      bytes = concat(bytes, value);
    }
    const length = new DataView(bytes.buffer, bytes.byteOffset, 5).getUint32(1);
    return { compressed: bytes[0] === 1, length, rest: bytes.subarray(5) };
  })();
  try {
    return await Promise.race([read, late]);
  } catch (error) {
    return `The call could not be read: ${(error as Error).message}`;
  } finally {
    clearTimeout(timer);
    read.catch(() => {});
  }
}

/**
 * The message's bytes as a stream: the ingest reads it within its bounds; a call that ends
 * early, or carries more than one message, errors it.
 */
function payload(
  body: ReadableStreamDefaultReader<Uint8Array>,
  prefix: Prefix,
): ReadableStream<Uint8Array> {
  let left = prefix.length;
  let first: Uint8Array | undefined = prefix.rest;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const chunk = first ?? (await body.read()).value;
      first = undefined;
      if (chunk === undefined) {
        if (left === 0) controller.close();
        else controller.error(new Error(`the call ended ${left} bytes before its message did`));
        return;
      }
      if (chunk.length > left) {
        controller.error(new Error("a unary call carries one message, this one more"));
        return;
      }
      left -= chunk.length;
      if (chunk.length > 0) controller.enqueue(chunk);
    },
    cancel() {
      body.cancel().catch(() => {});
    },
  }, { highWaterMark: 0 });
}

/** The message of a `google.rpc.Status` body, or `""`. */
function statusMessage(bytes: Uint8Array): string {
  try {
    for (const field of readFields(bytes)) {
      if (field.field === 2 && field.wire === 2) return new TextDecoder().decode(field.bytes);
    }
  } catch {
    // No message to give.
  }
  return "";
}

/**
 * Answers the call: for OK, the response message and trailers; otherwise trailers only. A call
 * turned away for too many at once says, in RetryInfo, to retry after a second.
 */
function answer(
  stream: http2.ServerHttp2Stream,
  code: number,
  message: string,
  response?: Uint8Array,
  retryLater = false,
): void {
  if (stream.destroyed || stream.closed) return;
  stopListening(stream);
  const status: http2.OutgoingHttpHeaders = { "grpc-status": String(code) };
  if (message !== "") status["grpc-message"] = encodeURIComponent(message.slice(0, 1024));
  if (retryLater) {
    status["grpc-status-details-bin"] = btoa(String.fromCharCode(...retryInfoStatus(code, message)))
      .replace(/=+$/, "");
  }
  const head = {
    ":status": 200,
    "content-type": "application/grpc",
    "grpc-accept-encoding": "identity,gzip",
  };
  if (response === undefined) {
    stream.respond({ ...head, ...status }, { endStream: true });
    return;
  }
  stream.respond(head, { waitForTrailers: true });
  stream.on("wantTrailers", () => stream.sendTrailers(status));
  const framed = new Uint8Array(5 + response.length);
  new DataView(framed.buffer).setUint32(1, response.length);
  framed.set(response, 5);
  stream.end(framed);
}

/**
 * After the answer, what the client still sends is read and dropped, for at most a few
 * seconds: then the stream is reset (NO_ERROR, "stop sending"), so that a call never lasts.
 */
function stopListening(stream: http2.ServerHttp2Stream): void {
  stream.resume();
  if (stream.readableEnded) return;
  const timer = setTimeout(() => {
    if (!stream.closed) stream.close(http2.constants.NGHTTP2_NO_ERROR);
  }, 5_000);
  stream.once("close", () => clearTimeout(timer));
}

/** A `google.rpc.Status` whose one detail is a `google.rpc.RetryInfo` of one second. */
function retryInfoStatus(code: number, message: string): Uint8Array {
  const duration = [0x08, 1]; // seconds = 1
  const retryInfo = [0x0a, duration.length, ...duration]; // retry_delay
  const type = [...new TextEncoder().encode("type.googleapis.com/google.rpc.RetryInfo")];
  const any = [0x0a, type.length, ...type, 0x12, retryInfo.length, ...retryInfo];
  const text = [...new TextEncoder().encode(message)].slice(0, 100);
  return Uint8Array.from([
    0x08,
    code,
    ...(text.length === 0 ? [] : [0x12, text.length, ...text]),
    0x1a,
    any.length,
    ...any,
  ]);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
