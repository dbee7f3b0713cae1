// OTLP/HTTP ingest: `POST /v1/traces` with a protobuf or JSON body, gzip or not, as the OTLP
// specification says. The body is read up to a bound, compressed and inflated alike, so a large
// body or a gzip bomb gets 413 without more than the bound ever held; a malformed body gets 400
// with a message; another content type or encoding 415; spans the decoder or the store did not
// keep are reported as a partial success. The decoders work on the bytes of one message, so a
// gRPC listener can hand them what it receives too.

import type { Guard } from "./_guard.ts";
import { decodeProtobufTraces } from "../otlp/_decode_proto.ts";
import { decodeJsonTraces } from "../otlp/_decode_json.ts";
import type { DecodedTraces } from "../otlp/_decode_model.ts";
import { contentType, exportResponse, statusBody } from "../otlp/_encode_response.ts";
import type { TraceStore } from "./_store.ts";

/** The bounds of ingest. */
export interface IngestLimits {
  /** The most bytes of a body, before and after inflating. */
  readonly maxBodyBytes: number;
  /** The most requests whose bodies are read at once; more get 429. */
  readonly maxConcurrent: number;
  /** How long a body may take to arrive, in milliseconds; slower ones get 408. */
  readonly bodyTimeout: number;
}

/** What ingest has done, counted. */
export interface IngestCounts {
  /** Requests answered 200. */
  accepted: number;
  /** Requests answered with an error status. */
  failed: number;
  /** Spans kept. */
  spans: number;
  /** Spans rejected (invalid, or not kept), as reported in partial successes. */
  rejectedSpans: number;
  /** Requests of other signals (metrics, logs) answered without keeping them. */
  ignored: number;
}

/** The other signals' paths: answered with a warning, not kept (this receiver keeps traces). */
const OTHER_SIGNALS: Record<string, string> = {
  "/v1/metrics": "metrics",
  "/v1/logs": "logs",
};

const GRPC_CODE: Record<number, number> = {
  400: 3, // INVALID_ARGUMENT
  401: 16, // UNAUTHENTICATED
  403: 7, // PERMISSION_DENIED
  404: 12, // UNIMPLEMENTED
  405: 12,
  408: 4, // DEADLINE_EXCEEDED
  413: 8, // RESOURCE_EXHAUSTED
  415: 3,
  429: 8,
  503: 14, // UNAVAILABLE
};

const MAX_MESSAGE = 1024;
const GZIP_SLICE = 512;

/** A body read, or why it could not be. */
export type Read = { readonly bytes: Uint8Array } | {
  readonly status: number;
  readonly message: string;
};

/**
 * Reads a stream to its end, up to `max` bytes: one byte more and the stream is cancelled (so
 * nothing beyond the bound is inflated or held) and the answer is 413.
 */
async function readLimited(
  stream: ReadableStream<Uint8Array>,
  max: number,
  timeout: number,
  what: string,
): Promise<Read> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    reader.cancel().catch(() => {});
  }, timeout);
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (timedOut) {
        return { status: 408, message: `The ${what} did not arrive within ${timeout} ms` };
      }
      if (done) break;
      total += value.byteLength;
      if (total > max) {
        reader.cancel().catch(() => {});
        return {
          status: 413,
          message: `The ${what} is larger than the limit of ${max} bytes`,
        };
      }
      chunks.push(value);
    }
  } catch (error) {
    if (timedOut) {
      return { status: 408, message: `The ${what} did not arrive within ${timeout} ms` };
    }
    return { status: 400, message: `The ${what} could not be read: ${errorText(error)}` };
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
  if (chunks.length === 1) return { bytes: chunks[0]! };
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return { bytes };
}

/**
 * The compressed bytes as a stream of small slices, given one at a time: the inflater turns
 * each input chunk into one output chunk at once, and deflate inflates at most about 1,032
 * times, so a slice of 512 bytes never becomes more than about 528 KiB.
 */
function sliced(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= bytes.length) {
        controller.close();
        return;
      }
      controller.enqueue(bytes.subarray(at, at + GZIP_SLICE));
      at += GZIP_SLICE;
    },
  }, { highWaterMark: 0 });
}

/** Makes the inflater of gzip bodies (a parameter so that tests can count what it makes). */
export type Inflater = () => ReadableWritablePair<Uint8Array, Uint8Array>;

const gunzip: Inflater = () =>
  new DecompressionStream("gzip") as ReadableWritablePair<Uint8Array, Uint8Array>;

/**
 * Inflates a gzip body up to `max` bytes: past the bound it stops (413) having inflated at most
 * about 528 KiB more; bytes that are not gzip get 400.
 */
export async function inflateWithin(
  bytes: Uint8Array,
  max: number,
  timeout: number,
  inflater: Inflater = gunzip,
): Promise<Read> {
  let inflated: ReadableStream<Uint8Array>;
  try {
    inflated = sliced(bytes).pipeThrough(inflater());
  } catch (error) {
    return { status: 400, message: `The gzip body could not be inflated: ${errorText(error)}` };
  }
  const read = await readLimited(inflated, max, timeout, "inflated body");
  if ("status" in read && read.status === 400) {
    return { status: 400, message: read.message.replace("could not be read", "is not valid gzip") };
  }
  return read;
}

function errorText(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, 300);
}

/** The OTLP/HTTP trace receiver. */
export class Ingest {
  readonly #store: TraceStore;
  readonly #guard: Guard;
  readonly #limits: IngestLimits;
  #inFlight = 0;
  /** What ingest has done. */
  readonly counts: IngestCounts = {
    accepted: 0,
    failed: 0,
    spans: 0,
    rejectedSpans: 0,
    ignored: 0,
  };

  constructor(store: TraceStore, guard: Guard, limits: IngestLimits) {
    this.#store = store;
    this.#guard = guard;
    this.#limits = limits;
  }

  #error(json: boolean, status: number, message: string, headers: HeadersInit = {}): Response {
    this.counts.failed++;
    return new Response(statusBody(json, GRPC_CODE[status] ?? 2, message) as BodyInit, {
      status,
      headers: { "content-type": contentType(json), ...headers },
    });
  }

  /** Answers one request to the OTLP address. */
  async handle(request: Request): Promise<Response> {
    const type = (request.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    const json = type === "application/json";
    const refused = this.#admit(request, json) ?? this.#route(request, type, json) ??
      this.#bound(request, json);
    if (refused !== undefined) return refused;
    const body = await this.#readBody(request);
    if ("status" in body) return this.#error(json, body.status, body.message);
    let decoded: DecodedTraces;
    try {
      decoded = json ? decodeJsonTraces(body.bytes) : decodeProtobufTraces(body.bytes);
    } catch (error) {
      if (error instanceof SyntaxError) return this.#error(json, 400, error.message);
      throw error;
    }
    return this.#keep(decoded, json);
  }

  /** The answer to a request from a host or sender this dashboard does not serve, if it is one. */
  #admit(request: Request, json: boolean): Response | undefined {
    const hostProblem = this.#guard.hostProblem(request);
    if (hostProblem !== undefined) return this.#error(json, 403, hostProblem);
    if (!this.#guard.otlpAllowed(request)) {
      return this.#error(
        json,
        401,
        "This dashboard needs its token: Authorization: Bearer <token>",
        { "www-authenticate": "Bearer" },
      );
    }
    return undefined;
  }

  /**
   * The answer to a request that is not a trace export this dashboard reads (another signal,
   * path, method, content type or encoding), if it is one.
   */
  #route(request: Request, type: string, json: boolean): Response | undefined {
    const path = new URL(request.url).pathname;
    const other = OTHER_SIGNALS[path];
    if (
      other !== undefined && request.method === "POST" &&
      (json || type === "application/x-protobuf")
    ) {
      // Senders such as Deno's built-in telemetry send metrics and logs to the same address. A
      // warning in the partial success says they are not kept; an error would be logged or
      // retried by the sender again and again.
      request.body?.cancel().catch(() => {});
      this.counts.ignored++;
      const message = `This dashboard keeps traces only: these ${other} were not kept`;
      return this.#answer(json, 0, message);
    }
    if (path !== "/v1/traces") {
      return this.#error(
        json,
        404,
        `No OTLP endpoint at ${path.slice(0, 200)}: traces go to /v1/traces`,
      );
    }
    if (request.method !== "POST") {
      return this.#error(json, 405, "Send traces with POST", { allow: "POST" });
    }
    if (!json && type !== "application/x-protobuf") {
      return this.#error(
        json,
        415,
        `Content-Type '${
          type.slice(0, 100)
        }' is not accepted: send application/x-protobuf or application/json`,
      );
    }
    const encoding = contentEncoding(request);
    if (encoding !== "" && encoding !== "identity" && encoding !== "gzip") {
      return this.#error(
        json,
        415,
        `Content-Encoding '${encoding.slice(0, 100)}' is not accepted: send gzip or no encoding`,
      );
    }
    return undefined;
  }

  /** The answer to a body over the size bound, or one too many at once, if it is one. */
  #bound(request: Request, json: boolean): Response | undefined {
    const max = this.#limits.maxBodyBytes;
    const length = Number(request.headers.get("content-length") ?? "0");
    if (length > max) {
      request.body?.cancel().catch(() => {});
      return this.#error(json, 413, `The body is larger than the limit of ${max} bytes`);
    }
    if (this.#inFlight >= this.#limits.maxConcurrent) {
      request.body?.cancel().catch(() => {});
      return this.#error(json, 429, "Too many requests at once: retry shortly", {
        "retry-after": "1",
      });
    }
    return undefined;
  }

  /** Reads the body within the size bound, inflated when it is gzip. */
  async #readBody(request: Request): Promise<Read> {
    const max = this.#limits.maxBodyBytes;
    this.#inFlight++;
    try {
      const body = request.body === null
        ? { bytes: new Uint8Array(0) }
        : await readLimited(request.body, max, this.#limits.bodyTimeout, "body");
      if ("bytes" in body && contentEncoding(request) === "gzip") {
        return await inflateWithin(body.bytes, max, this.#limits.bodyTimeout);
      }
      return body;
    } finally {
      this.#inFlight--;
    }
  }

  /** Adds the decoded spans to the store; the answer tells what was not kept, and why. */
  #keep(decoded: DecodedTraces, json: boolean): Response {
    const added = this.#store.add(decoded.spans);
    const problems = [...decoded.problems];
    if (added.overflow > 0) {
      problems.push(
        `${added.overflow} span(s) not kept: their trace has ${this.#store.limits.maxSpansPerTrace} spans, the most the dashboard keeps of one trace`,
      );
    }
    if (added.tooLarge > 0) {
      problems.push(
        `${added.tooLarge} span(s) not kept: one span alone is too large for the memory bound`,
      );
    }
    const rejected = decoded.rejectedSpans + added.overflow + added.tooLarge;
    let message = problems.join("; ");
    if (message.length > MAX_MESSAGE) message = `${message.slice(0, MAX_MESSAGE - 1)}…`;
    this.counts.accepted++;
    this.counts.spans += added.added;
    this.counts.rejectedSpans += rejected;
    return this.#answer(json, rejected, message);
  }

  /** A 200 answer: an `ExportTraceServiceResponse`. */
  #answer(json: boolean, rejected: number, message: string): Response {
    return new Response(exportResponse(json, rejected, message) as BodyInit, {
      status: 200,
      headers: { "content-type": contentType(json) },
    });
  }
}

/** The request's `Content-Encoding`, lowercased. */
function contentEncoding(request: Request): string {
  return (request.headers.get("content-encoding") ?? "").trim().toLowerCase();
}
