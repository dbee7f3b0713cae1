// OTLP/gRPC: the unary Export call of the trace service over one HTTP/2 session (node:http2, which
// Deno, Node.js and Bun have), loaded on first use so that nothing else pays for it. The session
// is reused across exports, holds the program open only while a call is under way, is replaced
// after GOAWAY or an error, and is closed by close(). Each call carries the message in the gRPC
// framing, a grpc-timeout of the time the export has left, and the metadata; its answer is read
// from the grpc-status trailer (or a trailers-only response), and retried as the OTLP
// specification says of gRPC codes, waiting as the server's RetryInfo asks.

import type {
  ClientHttp2Session,
  ClientHttp2Stream,
  IncomingHttpHeaders,
  OutgoingHttpHeaders,
} from "node:http2";
import { escapeControl } from "../_format.ts";
import type { OtlpCompression } from "./_config.ts";
import {
  CODE,
  codeOfHttpStatus,
  codeOfReset,
  codeText,
  decodeGrpcMessage,
  frame,
  GRPC_EXPORT_PATH,
  isRetryable,
  retryInfoDelay,
  timeoutHeader,
  unframe,
  USER_AGENT,
} from "./_grpc_wire.ts";
import {
  abandoned,
  type Attempt,
  failed,
  type Failure,
  type LastAnswer,
  type Outcome,
  retrying,
  type RetrySettings,
  untilAborted,
} from "./_retry.ts";
import {
  errorText,
  isPermissionError,
  readLimited,
  readPartialSuccess,
  type Reply,
} from "./_transport.ts";

type Http2 = typeof import("node:http2");

/** What the gRPC transport needs. */
export interface GrpcSettings extends RetrySettings {
  /** The URL of the Export method; its origin names the server. */
  readonly url: string;
  readonly metadata: readonly (readonly [string, string])[];
  readonly compression: OtlpCompression;
  readonly maxResponseBytes: number;
  readonly certificate: string | undefined;
}

/** A problem of setting up, before any call: said once per export, not retried. */
class SetupError extends Error {
  readonly kind: Failure["kind"];
  constructor(message: string, kind: Failure["kind"] = "failed") {
    super(message);
    this.kind = kind;
  }
}

/** What one call got: the headers, the message bytes, the trailers, or how it ended early. */
interface CallResult {
  headers: IncomingHttpHeaders | undefined;
  trailers: IncomingHttpHeaders | undefined;
  chunks: Uint8Array[];
  size: number;
  overflow: boolean;
  error: unknown;
  rstCode: number | undefined;
  /** Whether the call's stream is open (counted in the transport's active calls). */
  open: boolean;
}

/** The OTLP/gRPC transport of one exporter: one session at a time. */
export class GrpcTransport {
  readonly #settings: GrpcSettings;
  readonly #origin: string;
  #http2: Promise<Http2> | undefined;
  #ca: Promise<string | undefined> | undefined;
  #session: ClientHttp2Session | undefined;
  #active = 0;
  #closed = false;

  constructor(settings: GrpcSettings) {
    this.#settings = settings;
    this.#origin = new URL(settings.url).origin;
  }

  /**
   * Sends one message (the encoded request, gzipped when the compression says so) until it is
   * accepted, the answer is final, the attempts are used up, the `deadline` passes, or
   * `abandon` aborts; reads the partial success of the answer that accepted it.
   */
  send(message: Uint8Array, deadline: number, abandon: AbortSignal): Promise<Outcome<Reply>> {
    const body = frame(message, this.#settings.compression === "gzip");
    return retrying<Reply>(
      this.#settings,
      deadline,
      abandon,
      (signal, n, last) => this.#attempt(body, deadline, signal, abandon, n, last),
    );
  }

  /** Closes the session; calls still under way are cancelled. */
  close(): void {
    this.#closed = true;
    const session = this.#session;
    this.#session = undefined;
    if (session === undefined) return;
    try {
      if (this.#active > 0) session.destroy();
      else session.close();
    } catch {
      // Already gone.
    }
  }

  async #attempt(
    body: Uint8Array,
    deadline: number,
    signal: AbortSignal,
    abandon: AbortSignal,
    n: number,
    last: LastAnswer,
  ): Promise<Attempt<Reply>> {
    const result = newResult();
    let session: ClientHttp2Session | undefined;
    try {
      session = await untilAborted(this.#connect(), signal);
      await untilAborted(this.#call(session, body, deadline, signal, result), signal);
    } catch (error) {
      // A call that got no answer in time may be stuck on a silent connection: unless other
      // calls use it, the next export connects again.
      const others = this.#active - (result.open ? 1 : 0);
      if (signal.aborted && session !== undefined && others === 0) this.#drop(session);
      if (abandon.aborted) return { done: abandoned(last, n) };
      if (signal.aborted) {
        return { done: failed(`timed out after ${this.#settings.timeout} ms`, last, n) };
      }
      if (error instanceof SetupError) return { done: failed(error.message, last, n, error.kind) };
      return { problem: `network error: ${errorText(error)}`, status: last.status };
    }
    return await this.#answer(result, n, last, signal);
  }

  /** Ends `session` and forgets it. */
  #drop(session: ClientHttp2Session): void {
    if (this.#session === session) this.#session = undefined;
    try {
      session.destroy();
    } catch {
      // Already gone.
    }
  }

  /** The session to call on: the current one, or a new one. */
  async #connect(): Promise<ClientHttp2Session> {
    if (this.#closed) throw new SetupError("the exporter is shut down");
    const current = this.#session;
    if (current !== undefined && !current.closed && !current.destroyed) return current;
    const http2 = await (this.#http2 ??= loadHttp2());
    const ca = await (this.#ca ??= readCertificate(this.#settings.certificate));
    if (this.#closed) throw new SetupError("the exporter is shut down");
    const again = this.#session;
    if (again !== undefined && !again.closed && !again.destroyed) return again;
    const session = http2.connect(this.#origin, ca === undefined ? {} : { ca });
    const forget = (): void => {
      if (this.#session === session) this.#session = undefined;
    };
    // Errors end the calls on the session, which say so; the session is not used again.
    session.on("error", forget);
    session.on("goaway", forget);
    session.on("close", forget);
    session.unref();
    this.#session = session;
    return session;
  }

  /** One call on `session`; resolves when its stream has closed, however it ended. */
  #call(
    session: ClientHttp2Session,
    body: Uint8Array,
    deadline: number,
    signal: AbortSignal,
    result: CallResult,
  ): Promise<CallResult> {
    const settings = this.#settings;
    const headers: OutgoingHttpHeaders = {
      ":method": "POST",
      ":path": GRPC_EXPORT_PATH,
      "content-type": "application/grpc",
      "te": "trailers",
      "grpc-timeout": timeoutHeader(deadline - Date.now()),
      "grpc-accept-encoding": "identity,gzip",
      "user-agent": USER_AGENT,
    };
    if (settings.compression === "gzip") headers["grpc-encoding"] = "gzip";
    for (const [key, value] of settings.metadata) headers[key] = value;
    return new Promise((resolve, reject) => {
      let stream: ClientHttp2Stream;
      try {
        stream = session.request(headers);
      } catch (error) {
        reject(error);
        return;
      }
      this.#hold(session);
      result.open = true;
      const cancel = (): void => {
        try {
          stream.close(0x8); // CANCEL
        } catch {
          // Closed already.
        }
      };
      signal.addEventListener("abort", cancel, { once: true });
      stream.on("response", (received) => result.headers = received);
      stream.on("trailers", (received) => result.trailers = received);
      stream.on("data", (chunk: Uint8Array) => collect(result, chunk, settings.maxResponseBytes));
      stream.on("error", (error) => result.error ??= error);
      stream.on("close", () => {
        signal.removeEventListener("abort", cancel);
        result.rstCode = stream.rstCode;
        result.open = false;
        this.#release(session);
        resolve(result);
      });
      stream.end(body);
    });
  }

  /** The session keeps the program alive while a call is under way, and only then. */
  #hold(session: ClientHttp2Session): void {
    this.#active++;
    session.ref();
  }

  #release(session: ClientHttp2Session): void {
    this.#active--;
    if (this.#active === 0 && !session.destroyed) session.unref();
  }

  /** What the answer means: accepted (with its partial success), retried, or final. */
  async #answer(
    result: CallResult,
    n: number,
    last: LastAnswer,
    signal: AbortSignal,
  ): Promise<Attempt<Reply>> {
    const headers = result.headers;
    if (headers === undefined) {
      if (isPermissionError(result.error)) {
        const message = `${errorText(result.error)} (a permission error is not retried)`;
        return { done: failed(message, last, n, "permission") };
      }
      if (result.rstCode !== undefined && result.rstCode !== 0 && result.error === undefined) {
        return this.#status(codeOfReset(result.rstCode), "", undefined, undefined, n);
      }
      const why = result.error === undefined
        ? "the stream closed without a response"
        : errorText(result.error);
      return { problem: `network error: ${why}`, status: last.status };
    }
    const status = Number(headers[":status"]);
    const ending = result.trailers ?? headers;
    const named = header(ending, "grpc-status") ?? header(headers, "grpc-status");
    let code: number;
    let why = decodeGrpcMessage(header(ending, "grpc-message"));
    if (named !== undefined) code = /^\d+$/.test(named) ? Number(named) : CODE.UNKNOWN;
    else if (status !== 200) code = codeOfHttpStatus(status);
    else if (result.rstCode !== undefined && result.rstCode !== 0) {
      code = codeOfReset(result.rstCode);
    } else [code, why] = [CODE.INTERNAL, "the response ended without a grpc-status"];
    const type = header(headers, "content-type") ?? "";
    if (status === 200 && !type.startsWith("application/grpc")) {
      [code, why] = [CODE.UNKNOWN, `not a gRPC response (content-type '${type.slice(0, 100)}')`];
    }
    if (code !== CODE.OK) {
      return this.#status(
        code,
        why,
        retryInfoDelay(header(ending, "grpc-status-details-bin")),
        status,
        n,
      );
    }
    return {
      done: { ok: true, value: await this.#reply(result, status, signal), attempts: n, signal },
    };
  }

  /** A call that ended with a gRPC status other than OK: retried or final. */
  #status(
    code: number,
    message: string,
    retryDelay: number | undefined,
    status: number | undefined,
    n: number,
  ): Attempt<Reply> {
    let text = escapeControl(message.trim());
    if (text.length > 200) text = `${text.slice(0, 200)}...`;
    const problem = `gRPC status ${codeText(code)}${text === "" ? "" : `: ${text}`}`;
    if (!isRetryable(code, retryDelay !== undefined)) {
      return { done: failed(problem, { status, grpcStatus: code }, n) };
    }
    return { problem, status, grpcStatus: code, wait: retryDelay };
  }

  /** The partial success of the response message, or why it could not be read. */
  async #reply(result: CallResult, status: number, signal: AbortSignal): Promise<Reply> {
    const limit = this.#settings.maxResponseBytes;
    const unreadable = (why: string): Reply => ({ partial: undefined, unreadable: why, status });
    if (result.overflow) return unreadable(`the response is larger than ${limit} bytes`);
    if (result.size === 0) return { partial: { rejected: 0, message: "" }, unreadable: "", status };
    try {
      const { compressed, message } = unframe(concat(result.chunks, result.size));
      let bytes = message;
      if (compressed) {
        const encoding = header(result.headers!, "grpc-encoding") ?? "identity";
        if (encoding !== "gzip") return unreadable(`the response is compressed with '${encoding}'`);
        const inflated = new Blob([message as Uint8Array<ArrayBuffer>]).stream()
          .pipeThrough(new DecompressionStream("gzip"));
        const read = await readLimited(new Response(inflated), limit, signal);
        if (!read.complete) return unreadable(`the response is larger than ${limit} bytes`);
        bytes = read.bytes;
      }
      return { partial: readPartialSuccess(bytes, false), unreadable: "", status };
    } catch (error) {
      return unreadable(errorText(error));
    }
  }
}

function newResult(): CallResult {
  return {
    headers: undefined,
    trailers: undefined,
    chunks: [],
    size: 0,
    overflow: false,
    error: undefined,
    rstCode: undefined,
    open: false,
  };
}

/** Keeps the bytes of a response up to `limit`; the rest is read and dropped. */
function collect(result: CallResult, chunk: Uint8Array, limit: number): void {
  if (result.overflow) return;
  if (result.size + chunk.length > limit) {
    result.overflow = true;
    result.chunks = [];
    return;
  }
  result.chunks.push(chunk);
  result.size += chunk.length;
}

function concat(chunks: readonly Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/** A header's value as one string (the first, when repeated). */
function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

async function loadHttp2(): Promise<Http2> {
  try {
    return await import("node:http2");
  } catch (error) {
    throw new SetupError(
      `OTLP/gRPC needs node:http2, which this runtime does not have (${errorText(error)})`,
    );
  }
}

interface DenoRead {
  permissions?: { querySync?(descriptor: { name: "read"; path: string }): { state: string } };
}

/** The PEM text of the certificate file, read once; on Deno only with the read permission. */
async function readCertificate(path: string | undefined): Promise<string | undefined> {
  if (path === undefined) return undefined;
  let granted = true;
  try {
    const permissions = (globalThis as { Deno?: DenoRead }).Deno?.permissions;
    if (typeof permissions?.querySync === "function") {
      granted = permissions.querySync({ name: "read", path }).state === "granted";
    }
  } catch {
    // Cannot tell: reading will say.
  }
  if (!granted) {
    throw new SetupError(
      `the read permission for the certificate file ${path} is not granted (the exporter never asks for it): run with --allow-read=${path}`,
      "permission",
    );
  }
  try {
    const fs = await import("node:fs/promises");
    return await fs.readFile(path, "utf8");
  } catch (error) {
    throw new SetupError(`cannot read the certificate file ${path}: ${errorText(error)}`);
  }
}
