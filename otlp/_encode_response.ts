// The bodies an OTLP/HTTP receiver answers with, in the encoding of the request: an
// ExportTraceServiceResponse (empty on full success, with partial_success when spans were rejected
// or something should be said), and a google.rpc.Status for errors. The exporter reads them back
// with readFields (_transport.ts).

import { ProtoWriter } from "./_protobuf.ts";

const utf8 = new TextEncoder();

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
  const writer = new ProtoWriter(64 + message.length * 3);
  const partialSuccess = writer.begin(1);
  writer.uint(1, rejected); // rejected_spans
  writer.string(2, message); // error_message
  writer.end(partialSuccess);
  return writer.finish();
}

/** A `google.rpc.Status` with a gRPC code and a message. */
export function statusBody(json: boolean, code: number, message: string): Uint8Array {
  if (json) return utf8.encode(JSON.stringify({ code, message }));
  const writer = new ProtoWriter(16 + message.length * 3);
  writer.uint(1, code); // code
  writer.string(2, message); // message
  return writer.finish();
}
