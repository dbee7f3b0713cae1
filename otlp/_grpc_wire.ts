// What OTLP/gRPC puts on the wire, as plain functions of bytes and text (no connection here):
// the method's path, the length-prefixed message framing, the grpc-timeout header, the status
// codes and which of them OTLP retries, the status details that carry RetryInfo, and which
// headers can be sent as gRPC metadata.

import { int64Number, readFields } from "./_protobuf.ts";

/** The HTTP/2 path of the unary call that exports traces. */
export const GRPC_EXPORT_PATH = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/**
 * The user-agent of every call: this module's name and version, then what it is, as the OTLP
 * specification asks of exporters (the exporter, its language and its version).
 */
export const USER_AGENT = "tracelinks-activity/0.1.0 OTel-OTLP-Exporter-TypeScript";

/** The names of the gRPC status codes, by number. */
const CODE_NAMES = [
  "OK",
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
] as const;

/** Status codes used by name. */
export const CODE = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/** `14 UNAVAILABLE`, or the number alone for a code gRPC does not define. */
export function codeText(code: number): string {
  const name = CODE_NAMES[code];
  return name === undefined ? String(code) : `${code} ${name}`;
}

/**
 * The codes OTLP retries (CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE,
 * DATA_LOSS), and RESOURCE_EXHAUSTED only when the server sent RetryInfo: it can recover.
 */
export function isRetryable(code: number, hasRetryInfo: boolean): boolean {
  if (code === CODE.RESOURCE_EXHAUSTED) return hasRetryInfo;
  return code === 1 || code === 4 || code === 10 || code === 11 || code === 14 || code === 15;
}

/** The status of a response whose HTTP status is not 200 and that names none itself. */
export function codeOfHttpStatus(status: number): number {
  switch (status) {
    case 401:
      return CODE.UNAUTHENTICATED;
    case 403:
      return CODE.PERMISSION_DENIED;
    case 404:
      return CODE.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return CODE.UNAVAILABLE;
    case 400:
      return CODE.INTERNAL;
    default:
      return CODE.UNKNOWN;
  }
}

/** The status of a stream the server reset (RST_STREAM) before sending one. */
export function codeOfReset(rstCode: number): number {
  switch (rstCode) {
    case 0x7: // REFUSED_STREAM: not processed, safe to send again
      return CODE.UNAVAILABLE;
    case 0x8: // CANCEL
      return CODE.CANCELLED;
    case 0xb: // ENHANCE_YOUR_CALM
      return CODE.RESOURCE_EXHAUSTED;
    case 0xc: // INADEQUATE_SECURITY
      return CODE.PERMISSION_DENIED;
    default:
      return CODE.INTERNAL;
  }
}

/** One message in the gRPC framing: a compressed flag, a 4-byte big-endian length, the bytes. */
export function frame(message: Uint8Array, compressed: boolean): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(5 + message.length);
  out[0] = compressed ? 1 : 0;
  new DataView(out.buffer).setUint32(1, message.length);
  out.set(message, 5);
  return out;
}

/**
 * The one message of a unary response, from the bytes of its DATA frames.
 *
 * @throws {SyntaxError} When the bytes are not exactly one framed message.
 */
export function unframe(bytes: Uint8Array): { compressed: boolean; message: Uint8Array } {
  if (bytes.length < 5) {
    throw new SyntaxError(`Cannot read the gRPC response: ${bytes.length} bytes, no message`);
  }
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getUint32(1);
  if (bytes.length !== 5 + length) {
    throw new SyntaxError(
      `Cannot read the gRPC response: a message of ${length} bytes in ${bytes.length - 5}`,
    );
  }
  return { compressed: bytes[0] !== 0, message: bytes.subarray(5) };
}

/** The grpc-timeout header for `ms` milliseconds: at most 8 digits and a unit. */
export function timeoutHeader(ms: number): string {
  const millis = Math.max(1, Math.ceil(ms));
  if (millis <= 99_999_999) return `${millis}m`;
  return `${Math.min(99_999_999, Math.ceil(millis / 1000))}S`;
}

/** The grpc-message header, percent-decoded as gRPC sends it; kept as is when malformed. */
export function decodeGrpcMessage(value: string | undefined): string {
  if (value === undefined) return "";
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

const RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo";

/**
 * The `retry_delay` of the RetryInfo in a grpc-status-details-bin header (a base64
 * `google.rpc.Status` whose details are `Any` messages), in milliseconds; `undefined` when
 * there is no RetryInfo. A RetryInfo without a delay gives 0; malformed bytes give `undefined`.
 */
export function retryInfoDelay(detailsBin: string | undefined): number | undefined {
  if (detailsBin === undefined) return undefined;
  try {
    const padded = detailsBin.replaceAll("-", "+").replaceAll("_", "/");
    const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
    for (const detail of readFields(bytes)) {
      if (detail.field !== 3 || detail.wire !== 2) continue; // google.rpc.Status.details
      let type = "";
      let value: Uint8Array | undefined;
      for (const part of readFields(detail.bytes)) {
        if (part.field === 1 && part.wire === 2) type = new TextDecoder().decode(part.bytes);
        else if (part.field === 2 && part.wire === 2) value = part.bytes;
      }
      if (type === RETRY_INFO) return durationMs(value);
    }
  } catch {
    // Unreadable details say nothing about retrying.
  }
  return undefined;
}

/** The `retry_delay` (a google.protobuf.Duration) of a RetryInfo, in milliseconds. */
function durationMs(retryInfo: Uint8Array | undefined): number {
  let seconds = 0;
  let nanos = 0;
  for (const field of readFields(retryInfo ?? new Uint8Array(0))) {
    if (field.field !== 1 || field.wire !== 2) continue; // RetryInfo.retry_delay
    for (const part of readFields(field.bytes)) {
      if (part.field === 1 && part.wire === 0) seconds = int64Number(part.varint);
      else if (part.field === 2 && part.wire === 0) nanos = int64Number(part.varint);
    }
  }
  return Math.max(0, seconds * 1000 + nanos / 1e6);
}

/** Headers the gRPC transport sets itself, or that HTTP/2 does not allow. */
const RESERVED = new Set([
  "content-type",
  "content-length",
  "te",
  "host",
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "http2-settings",
]);

/**
 * Why a header cannot be sent as gRPC metadata, or `undefined` when it can: keys are lower-case
 * letters, digits, `_`, `.` and `-`, not reserved by gRPC (`grpc-*`) or HTTP/2; values are
 * printable ASCII, or base64 for keys ending in `-bin`.
 */
export function metadataProblem(key: string, value: string): string | undefined {
  if (!/^[0-9a-z_.-]+$/.test(key)) {
    return "gRPC metadata keys are lower-case letters, digits, '_', '.' and '-'";
  }
  if (key.startsWith("grpc-") || RESERVED.has(key)) {
    return `'${key}' is set by the gRPC transport itself`;
  }
  if (key.endsWith("-bin")) {
    return /^[A-Za-z0-9+/]*={0,2}$/.test(value)
      ? undefined
      : "the value of a '-bin' key must be base64";
  }
  return /^[\x20-\x7e]*$/.test(value) ? undefined : "gRPC metadata values are printable ASCII";
}
