// The headers of the OTLP exporter: from OTEL_EXPORTER_OTLP_HEADERS, then
// OTEL_EXPORTER_OTLP_TRACES_HEADERS, then the option; with OTLP/gRPC each is checked as gRPC
// metadata, and the transport's own headers are added for OTLP/HTTP.

import { errorText } from "./_transport.ts";
import { metadataProblem } from "./_grpc_wire.ts";

/** Says that a variable was ignored, and why. */
export type IgnoreVariable = (name: string, value: string, why: string) => void;

/** Reads a variable: its trimmed value, or `undefined` when unset, blank or unreadable. */
export type Read = (name: string) => string | undefined;

/** Parses the `OTEL_EXPORTER_OTLP_HEADERS` form: `key=value,key2=value2`, values %-encoded. */
function parseHeaderList(value: string): [string, string][] {
  const out: [string, string][] = [];
  for (const item of value.split(",")) {
    const at = item.indexOf("=");
    if (at <= 0) continue;
    const key = item.slice(0, at).trim();
    let v = item.slice(at + 1).trim();
    try {
      v = decodeURIComponent(v);
    } catch {
      // Kept as written.
    }
    if (key !== "") out.push([key, v]);
  }
  return out;
}

/**
 * Headers: the general variable, then the traces variable, then the options. For gRPC each one
 * must be valid metadata: a bad variable is ignored, a bad option is an error.
 */
export function resolveHeaders(
  options: {
    readonly headers?: Record<string, string> | Headers | readonly (readonly [string, string])[];
  },
  read: Read,
  ignore: IgnoreVariable,
  grpc: boolean,
): Headers {
  const headers = new Headers();
  for (const name of ["OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"]) {
    const value = read(name);
    if (value === undefined) continue;
    for (const [key, v] of parseHeaderList(value)) {
      const problem = grpc ? metadataProblem(key.toLowerCase(), v) : undefined;
      if (problem !== undefined) {
        ignore(name, value, `header ${JSON.stringify(key)} cannot be gRPC metadata: ${problem}`);
        continue;
      }
      try {
        headers.set(key, v);
      } catch {
        ignore(name, value, `header ${JSON.stringify(key)} is not valid`);
      }
    }
  }
  if (options.headers !== undefined) {
    let given: Headers;
    try {
      given = new Headers(options.headers as HeadersInit);
    } catch (error) {
      throw new TypeError(`Cannot make OtlpExporter: headers are not valid: ${errorText(error)}`);
    }
    given.forEach((value, key) => {
      const problem = grpc ? metadataProblem(key, value) : undefined;
      if (problem !== undefined) {
        throw new TypeError(
          `Cannot make OtlpExporter: header ${
            JSON.stringify(key)
          } cannot be gRPC metadata: ${problem}`,
        );
      }
      headers.set(key, value);
    });
  }
  return headers;
}

/**
 * Completes the headers for the transport: for OTLP/HTTP the content type and encoding are
 * added; for OTLP/gRPC they are returned as metadata (the transport adds its own).
 */
export function transportHeaders(
  headers: Headers,
  protocol: string,
  compression: string,
): [string, string][] {
  const metadata: [string, string][] = [];
  if (protocol === "grpc") {
    headers.forEach((value, key) => metadata.push([key, value]));
    return metadata;
  }
  headers.set(
    "content-type",
    protocol === "http/json" ? "application/json" : "application/x-protobuf",
  );
  if (compression === "gzip") headers.set("content-encoding", "gzip");
  return metadata;
}
