// Sending an OTLP/HTTP request: POST, retried (through the loop of _retry.ts) on 429, 502, 503,
// 504 and network errors, honouring Retry-After; bounded reads of response bodies and of their
// partial success; and the permission checks that Deno needs. It says how the request went; the
// exporter counts and reports.

import { escapeControl, safeString } from "../_format.ts";
import { int64Number, readFields } from "./_protobuf.ts";
import {
  abandoned,
  type Attempt,
  failed,
  type LastAnswer,
  type Outcome,
  retrying,
  type RetrySettings,
  untilAborted,
} from "./_retry.ts";

/** The answers worth another attempt. */
const RETRYABLE = new Set([429, 502, 503, 504]);

/** What a request needs. */
export interface PostSettings extends RetrySettings {
  readonly url: string;
  readonly headers: Headers;
  readonly protocol: string;
  readonly maxResponseBytes: number;
  readonly fetch: (input: string, init: RequestInit) => Promise<Response>;
}

/** What the receiver answered to an accepted export, as far as it could be read. */
export interface Reply {
  /** The partial success, or `undefined` when the response could not be read. */
  readonly partial: { readonly rejected: number; readonly message: string } | undefined;
  /** Why the response could not be read, or `""`. */
  readonly unreadable: string;
  /** The HTTP status of the response. */
  readonly status: number | undefined;
}

/**
 * Sends `body` until it is accepted, the answer is final, the attempts are used up, the
 * `deadline` (a `Date.now()` value) passes, or `abandon` aborts; reads the partial success of
 * the response that accepted it.
 */
export async function post(
  settings: PostSettings,
  body: Uint8Array<ArrayBuffer>,
  deadline: number,
  abandon: AbortSignal,
): Promise<Outcome<Reply>> {
  const outcome = await retrying<Response>(
    settings,
    deadline,
    abandon,
    (signal, n, last) => attemptOnce(settings, body, signal, abandon, n, last),
  );
  if (!outcome.ok) return outcome;
  const reply = await readReply(outcome.value, settings, outcome.signal);
  return { ...outcome, value: reply };
}

async function readReply(
  response: Response,
  settings: PostSettings,
  signal: AbortSignal,
): Promise<Reply> {
  try {
    const { bytes, complete } = await readLimited(response, settings.maxResponseBytes, signal);
    if (!complete) {
      return {
        partial: undefined,
        unreadable: `the response is larger than ${settings.maxResponseBytes} bytes`,
        status: response.status,
      };
    }
    const json = isJson(response, settings.protocol);
    return { partial: readPartialSuccess(bytes, json), unreadable: "", status: response.status };
  } catch (error) {
    return { partial: undefined, unreadable: errorText(error), status: response.status };
  }
}

async function attemptOnce(
  settings: PostSettings,
  body: Uint8Array<ArrayBuffer>,
  signal: AbortSignal,
  abandon: AbortSignal,
  attempt: number,
  last: LastAnswer,
): Promise<Attempt<Response>> {
  let response: Response;
  try {
    response = await untilAborted(
      settings.fetch(settings.url, { method: "POST", headers: settings.headers, body, signal }),
      signal,
    );
  } catch (error) {
    if (abandon.aborted) return { done: abandoned(last, attempt) };
    if (signal.aborted) {
      return { done: failed(`timed out after ${settings.timeout} ms`, last, attempt) };
    }
    if (isPermissionError(error)) {
      const message = `${errorText(error)} (a permission error is not retried)`;
      return { done: failed(message, last, attempt, "permission") };
    }
    return { problem: `network error: ${errorText(error)}`, status: last.status };
  }
  if (response.ok) return { done: { ok: true, value: response, attempts: attempt, signal } };
  let detail = "";
  try {
    const { bytes } = await readLimited(response, settings.maxResponseBytes, signal);
    detail = describeErrorBody(bytes, isJson(response, settings.protocol));
  } catch {
    // The status says enough; the body may have timed out.
  }
  const problem = `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ""}${
    detail === "" ? "" : `: ${detail}`
  }`;
  const status = response.status;
  if (!RETRYABLE.has(status)) return { done: failed(problem, { status }, attempt) };
  return { problem, status, wait: retryAfterMs(response.headers.get("retry-after")) };
}

/** Reads a response body, at most `limit` bytes; `complete` says whether it was all read. */
export async function readLimited(
  response: Response,
  limit: number,
  signal: AbortSignal,
): Promise<{ bytes: Uint8Array; complete: boolean }> {
  const body = response.body;
  if (body === null) return { bytes: new Uint8Array(0), complete: true };
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let complete = true;
  try {
    while (true) {
      let read: ReadableStreamReadResult<Uint8Array>;
      try {
        read = await untilAborted(reader.read(), signal);
      } catch (error) {
        reader.cancel().catch(() => {});
        throw error;
      }
      const { done, value } = read;
      if (done) break;
      if (size + value.length > limit) {
        chunks.push(value.subarray(0, limit - size));
        size = limit;
        complete = false;
        await reader.cancel().catch(() => {});
        break;
      }
      chunks.push(value);
      size += value.length;
    }
  } finally {
    reader.releaseLock();
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return { bytes, complete };
}

export function isJson(response: Response, protocol: string): boolean {
  const type = response.headers.get("content-type") ?? "";
  if (type.includes("json")) return true;
  if (type.includes("protobuf")) return false;
  return protocol === "http/json";
}

/** The partial success of an `ExportTraceServiceResponse`; throws on unreadable input. */
export function readPartialSuccess(
  bytes: Uint8Array,
  json: boolean,
): { rejected: number; message: string } {
  let rejected = 0;
  let message = "";
  if (bytes.length === 0) return { rejected, message };
  if (json) {
    const body = JSON.parse(new TextDecoder().decode(bytes));
    if (typeof body !== "object" || body === null) {
      throw new SyntaxError("Cannot read OTLP response: not a JSON object");
    }
    const partial = body.partialSuccess ?? body.partial_success;
    if (typeof partial === "object" && partial !== null) {
      const count = Number(partial.rejectedSpans ?? partial.rejected_spans ?? 0);
      if (Number.isFinite(count) && count > 0) rejected = count;
      const text = partial.errorMessage ?? partial.error_message;
      if (typeof text === "string") message = text;
    }
    return { rejected, message };
  }
  for (const field of readFields(bytes)) {
    if (field.field !== 1 || field.wire !== 2) continue;
    for (const inner of readFields(field.bytes)) {
      if (inner.field === 1 && inner.wire === 0) rejected = Math.max(0, int64Number(inner.varint));
      else if (inner.field === 2 && inner.wire === 2) {
        message = new TextDecoder().decode(inner.bytes);
      }
    }
  }
  return { rejected, message };
}

/** A short, printable description of an error response body (google.rpc.Status or text). */
function describeErrorBody(bytes: Uint8Array, json: boolean): string {
  if (bytes.length === 0) return "";
  let message = "";
  try {
    if (json) {
      const body = JSON.parse(new TextDecoder().decode(bytes));
      if (typeof body?.message === "string") message = body.message;
    } else {
      for (const field of readFields(bytes)) {
        if (field.field === 2 && field.wire === 2) {
          message = new TextDecoder("utf-8", { fatal: true }).decode(field.bytes);
        }
      }
    }
  } catch {
    message = "";
  }
  if (message === "") message = new TextDecoder().decode(bytes);
  message = escapeControl(message.trim());
  return message.length > 200 ? `${message.slice(0, 200)}...` : message;
}

function retryAfterMs(value: string | null): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // Every HTTP-date form names the day and month; without a letter, Date.parse would read
  // junk such as "1.5" as a date in 2001, that is, "retry now".
  if (!/[A-Za-z]/.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - Date.now());
}

export async function gzip(data: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([data]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

interface DenoPermissions {
  permissions?: { querySync?(descriptor: { name: "net"; host: string }): { state: string } };
}

/** The host and port Deno's net permission is asked about for `url`. */
export function netHost(url: string): string | undefined {
  if ((globalThis as { Deno?: unknown }).Deno === undefined) return undefined;
  try {
    const parsed = new URL(url);
    const port = parsed.port !== "" ? parsed.port : parsed.protocol === "https:" ? "443" : "80";
    return `${parsed.hostname}:${port}`;
  } catch {
    return undefined;
  }
}

/**
 * On Deno, when the net permission for the receiver is not granted: what to say (the flag to
 * add). Asked with `querySync`, which never prompts; sending would prompt, or fail.
 */
export function netPermissionProblem(host: string | undefined, url: string): string | undefined {
  if (host === undefined) return undefined;
  try {
    const permissions = (globalThis as { Deno?: DenoPermissions }).Deno?.permissions;
    if (typeof permissions?.querySync !== "function") return undefined;
    if (permissions.querySync({ name: "net", host }).state === "granted") return undefined;
  } catch {
    return undefined; // Cannot tell: the request will say.
  }
  return `the net permission for ${host} is not granted (the exporter never asks for it): run with --allow-net=${
    new URL(url).host
  }`;
}

/** Whether an error is the runtime refusing for lack of a permission: no retry can help. */
export function isPermissionError(error: unknown): boolean {
  try {
    const errors = (globalThis as {
      Deno?: { errors?: { NotCapable?: unknown; PermissionDenied?: unknown } };
    }).Deno?.errors;
    for (const type of [errors?.NotCapable, errors?.PermissionDenied]) {
      if (typeof type === "function" && error instanceof type) return true;
    }
    // Node.js wraps the reason of a failed fetch in `cause`.
    for (const candidate of [error, (error as { cause?: unknown } | null)?.cause]) {
      if (typeof candidate !== "object" || candidate === null) continue;
      const { name, code } = candidate as { name?: unknown; code?: unknown };
      if (name === "NotCapable" || name === "PermissionDenied" || code === "ERR_ACCESS_DENIED") {
        return true;
      }
    }
    return false;
  } catch {
    return false;
  }
}

export function errorText(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? ` (${error.cause.message})` : "";
    return `${error.name}: ${error.message}${cause}`;
  }
  return safeString(error);
}
