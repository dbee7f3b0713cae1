// The bodies an OTLP/HTTP receiver answers with, in the encoding of the request: an
// ExportTraceServiceResponse (empty on full success, with partial_success when spans were rejected
// or something should be said), and a google.rpc.Status for errors.

const utf8 = new TextEncoder();

function varint(out: number[], n: number): void {
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
}

function stringField(out: number[], field: number, text: string): void {
  if (text === "") return;
  const bytes = utf8.encode(text);
  varint(out, field * 8 + 2);
  varint(out, bytes.length);
  for (const b of bytes) out.push(b);
}

/** The content type of a request encoding. */
export function contentType(json: boolean): string {
  return json ? "application/json" : "application/x-protobuf";
}

/**
 * An `ExportTraceServiceResponse`: `partial_success` set when spans were rejected or `message`
 * has something to say, left out on full success.
 */
export function exportResponse(json: boolean, rejected: number, message: string): Uint8Array {
  if (rejected === 0 && message === "") return json ? utf8.encode("{}") : new Uint8Array(0);
  if (json) {
    const partial: Record<string, string> = {};
    if (rejected > 0) partial.rejectedSpans = String(rejected);
    if (message !== "") partial.errorMessage = message;
    return utf8.encode(JSON.stringify({ partialSuccess: partial }));
  }
  const inner: number[] = [];
  if (rejected > 0) {
    varint(inner, 1 * 8 + 0);
    varint(inner, rejected);
  }
  stringField(inner, 2, message);
  const out: number[] = [];
  varint(out, 1 * 8 + 2);
  varint(out, inner.length);
  return Uint8Array.from([...out, ...inner]);
}

/** A `google.rpc.Status` with a gRPC code and a message. */
export function statusBody(json: boolean, code: number, message: string): Uint8Array {
  if (json) return utf8.encode(JSON.stringify({ code, message }));
  const out: number[] = [];
  if (code !== 0) {
    varint(out, 1 * 8 + 0);
    varint(out, code);
  }
  stringField(out, 2, message);
  return Uint8Array.from(out);
}
