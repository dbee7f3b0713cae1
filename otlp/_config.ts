// The OTLP exporter's configuration: its options (public types), each left out read from the
// standard OTEL_EXPORTER_OTLP_* variables where permitted, else the default. A bad option is an
// error; a bad variable is reported (as a warning) and ignored. Resolved area by area: where,
// headers, timeout, encoding and compression, retries and limits.

import type { ErrorHandler } from "../_diagnostics.ts";
import { runtimeEnv, unreadableEnv } from "../_env.ts";
import { safeString } from "../_format.ts";
import type { OtlpProtocol } from "./encode.ts";
import { GRPC_EXPORT_PATH } from "./_grpc_wire.ts";
import { netHost } from "./_transport.ts";
import { type IgnoreVariable, type Read, resolveHeaders, transportHeaders } from "./_headers.ts";

/** Whether request bodies are compressed. */
export type OtlpCompression = "gzip" | "none";

/**
 * How the exporter sends: OTLP/HTTP with a protobuf or JSON body ({@linkcode OtlpProtocol}), or
 * OTLP/gRPC (`"grpc"`: the unary `Export` call of the trace service over HTTP/2).
 */
export type OtlpExporterProtocol = OtlpProtocol | "grpc";

/** How failed requests are retried (the OpenTelemetry SDKs' defaults). */
export interface OtlpRetryOptions {
  /**
   * Attempts per export, the first included; 1 turns retries off.
   * @default {5}
   */
  maxAttempts?: number;
  /**
   * The wait before the first retry, in milliseconds (before jitter).
   * @default {1000}
   */
  initialBackoff?: number;
  /**
   * The longest wait between attempts, in milliseconds (before jitter).
   * @default {5000}
   */
  maxBackoff?: number;
  /**
   * The factor by which the wait grows after each attempt.
   * @default {1.5}
   */
  multiplier?: number;
}

/** Options of {@linkcode OtlpExporter}. Each one left out is read from the environment. */
export interface OtlpExporterOptions {
  /**
   * The full URL requests go to, used as is. Wins over `endpoint`. With `grpc`, the same as
   * `endpoint`. Environment: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`.
   * @default {"http://localhost:4318/v1/traces"}
   */
  url?: string;
  /**
   * The base URL of the OTLP/HTTP receiver; `/v1/traces` is appended. With `grpc`, the
   * server's URL (`http://` without TLS, `https://` with it) or `host:port` (TLS unless
   * `insecure`); calls go to its `/opentelemetry.proto.collector.trace.v1.TraceService/Export`.
   * Environment: `OTEL_EXPORTER_OTLP_ENDPOINT`.
   * @default {"http://localhost:4318", or "http://localhost:4317" with grpc}
   */
  endpoint?: string;
  /**
   * Headers sent with every request (for example an API key). They are added to those of the
   * environment (`OTEL_EXPORTER_OTLP_HEADERS`, then `OTEL_EXPORTER_OTLP_TRACES_HEADERS`) and
   * win over them.
   * @default {{}}
   */
  headers?: Record<string, string> | Headers | readonly (readonly [string, string])[];
  /**
   * How long one export may take, in milliseconds, all its attempts and waits included; each
   * request is aborted when the time is up. Environment: `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT`,
   * `OTEL_EXPORTER_OTLP_TIMEOUT`.
   * @default {10000}
   */
  timeout?: number;
  /**
   * The transport and encoding: `http/protobuf`, `http/json`, or `grpc` (over `node:http2`,
   * which Deno, Node.js and Bun have). Environment: `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`,
   * `OTEL_EXPORTER_OTLP_PROTOCOL`.
   * @default {"http/protobuf"}
   */
  protocol?: OtlpExporterProtocol;
  /**
   * With `grpc` and an endpoint written `host:port` (no scheme): connect without TLS. An
   * endpoint's `http://` or `https://` wins over it. Environment:
   * `OTEL_EXPORTER_OTLP_TRACES_INSECURE`, `OTEL_EXPORTER_OTLP_INSECURE` (`true` or `false`).
   * @default {false}
   */
  insecure?: boolean;
  /**
   * With `grpc` over TLS: the path of a PEM file of the certificate authorities to trust instead
   * of the runtime's own (read when the first call connects). Environment:
   * `OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE`, `OTEL_EXPORTER_OTLP_CERTIFICATE`.
   * @default {undefined}
   */
  certificate?: string;
  /**
   * Body compression. Environment: `OTEL_EXPORTER_OTLP_TRACES_COMPRESSION`,
   * `OTEL_EXPORTER_OTLP_COMPRESSION`.
   * @default {"none"}
   */
  compression?: OtlpCompression;
  /**
   * Retries on 429, 502, 503, 504 and network errors; with `grpc`, on the status codes that the
   * OTLP specification calls retryable, and network errors.
   * @default {{ maxAttempts: 5, initialBackoff: 1000, maxBackoff: 5000, multiplier: 1.5 }}
   */
  retry?: OtlpRetryOptions;
  /**
   * At most this many bytes of a response body are read (the rest is discarded).
   * @default {65536}
   */
  maxResponseBytes?: number;
  /**
   * The `fetch` used to send requests. The exporter calls it with the URL as a string and a
   * `RequestInit`, so any `fetch` fits, and so does a stand-in of that shape. Not used with
   * `grpc`.
   * @default {globalThis.fetch}
   */
  fetch?: (input: string, init: RequestInit) => Promise<Response>;
  /**
   * Reads a configuration variable. By default variables are read from `Deno.env` only when
   * the env permission for that variable is already granted (never a prompt), from
   * `process.env` on Node and Bun, and not at all in browsers.
   * @default {the process environment, where permitted}
   */
  env?: (name: string) => string | undefined;
  /**
   * Receives what the exporter reports itself: partial successes, unreadable responses,
   * ignored configuration variables, and at shutdown the count of activities not delivered.
   * Failed exports are also rejected, so that the processor reports them.
   * @default {the error handler of the provider the exporter is added to, else stderr}
   */
  onError?: ErrorHandler;
}

/**
 * The `fetch` the exporter calls: with the URL as a string and a `RequestInit`. Any `fetch`
 * fits, and so does the general `FetchFunction` of `@tracelinks/activity/http`.
 *
 * @deprecated Use `FetchFunction` of `@tracelinks/activity/http` for a `fetch`-like function,
 * or `OtlpExporterOptions["fetch"]` for this option's type.
 */
export type FetchFunction = NonNullable<OtlpExporterOptions["fetch"]>;

const DEFAULT_ENDPOINT = "http://localhost:4318";
const DEFAULT_GRPC_ENDPOINT = "http://localhost:4317";
const TRACES_PATH = "v1/traces";
const DEFAULT_TIMEOUT = 10_000;
const DEFAULT_MAX_RESPONSE_BYTES = 65_536;
const DEFAULT_RETRY: Required<OtlpRetryOptions> = {
  maxAttempts: 5,
  initialBackoff: 1000,
  maxBackoff: 5000,
  multiplier: 1.5,
};

function checkUrl(value: unknown, what: string, grpc?: { insecure: boolean }): URL {
  if (typeof value !== "string") {
    throw new TypeError(`Cannot make OtlpExporter: ${what} must be a string, got ${typeof value}`);
  }
  let url: URL;
  try {
    // gRPC also takes `host:port`, secure unless `insecure` says otherwise.
    const schemeless = grpc !== undefined && !/^[a-z][a-z0-9+.-]*:\/\//i.test(value);
    url = new URL(schemeless ? `${grpc.insecure ? "http" : "https"}://${value}` : value);
  } catch {
    throw new SyntaxError(
      `Cannot make OtlpExporter: ${what} ${JSON.stringify(value)} is not a URL`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(
      `Cannot make OtlpExporter: ${what} must be an http or https URL, got ${
        JSON.stringify(value)
      }`,
    );
  }
  return url;
}

/** The URL of the gRPC Export method on the server `base` names (its path is not used). */
function grpcUrl(base: URL): string {
  return new URL(GRPC_EXPORT_PATH, base.origin).href;
}

function tracesUrl(base: URL): string {
  const url = new URL(base.href);
  url.pathname = url.pathname.endsWith("/")
    ? url.pathname + TRACES_PATH
    : `${url.pathname}/${TRACES_PATH}`;
  return url.href;
}

function positiveNumber(value: unknown, what: string, allowZero = false): number {
  if (
    typeof value !== "number" || !Number.isFinite(value) || value < 0 ||
    (!allowZero && value === 0)
  ) {
    throw new RangeError(
      `Cannot make OtlpExporter: ${what} must be a ${
        allowZero ? "non-negative" : "positive"
      } finite number, got ${safeString(value)}`,
    );
  }
  return value;
}

/** The exporter's settings, checked, with the environment and the defaults filled in. */
export interface OtlpConfig {
  /** The URL requests go to (for gRPC, the method's URL). */
  readonly url: string;
  /** The headers of every request, content type and encoding included (HTTP). */
  readonly headers: Headers;
  /** The metadata of every call, checked (gRPC). */
  readonly metadata: readonly (readonly [string, string])[];
  /** The path of the PEM file of trusted certificate authorities (gRPC with TLS). */
  readonly certificate: string | undefined;
  /** How long one export may take, in milliseconds. */
  readonly timeout: number;
  readonly protocol: OtlpExporterProtocol;
  readonly compression: OtlpCompression;
  readonly retry: Required<OtlpRetryOptions>;
  readonly maxResponseBytes: number;
  readonly fetch: (input: string, init: RequestInit) => Promise<Response>;
  /** The net permission to ask Deno about before each request (the runtime's fetch only). */
  readonly netHost: string | undefined;
  /** The variables that would have set the endpoint but could not be read (no permission). */
  readonly unreadEndpoint: readonly string[];
}

/**
 * Resolves the options of an `OtlpExporter`: each one left out comes from the environment
 * (`options.env`, by default the runtime's where permitted), a bad variable is passed to
 * `ignore`, and the defaults fill in the rest.
 *
 * @throws {TypeError} When an option has the wrong type or an unknown value.
 * @throws {SyntaxError} When `url` or `endpoint` is not a URL.
 * @throws {RangeError} When a number is out of range.
 */
export function resolveOtlpConfig(
  options: OtlpExporterOptions,
  ignore: IgnoreVariable,
): OtlpConfig {
  const env = options.env ?? runtimeEnv;
  const read: Read = (name) => {
    try {
      const value = env(name);
      return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
    } catch {
      return undefined;
    }
  };
  const protocol = options.protocol !== undefined
    ? checkChoice("protocol", options.protocol, PROTOCOLS)
    : envChoice(read, ignore, "PROTOCOL", PROTOCOLS) ?? "http/protobuf";
  const grpc = protocol === "grpc"
    ? { insecure: resolveInsecure(options, read, ignore) }
    : undefined;
  const url = resolveUrl(options, read, ignore, grpc);
  const headers = resolveHeaders(options, read, ignore, grpc !== undefined);
  const timeout = resolveTimeout(options, read, ignore);
  const compression = options.compression !== undefined
    ? checkChoice("compression", options.compression, COMPRESSIONS)
    : envChoice(read, ignore, "COMPRESSION", COMPRESSIONS) ?? "none";
  const retry = resolveRetry(options.retry);
  const maxResponseBytes = resolveMaxResponseBytes(options.maxResponseBytes);
  const certificate = resolveCertificate(options, read, ignore, grpc !== undefined);
  const metadata = transportHeaders(headers, protocol, compression);
  if (grpc !== undefined && options.fetch !== undefined) {
    ignore("fetch", "(a function)", "OTLP/gRPC does not use fetch");
  }
  const defaultUrl = grpc !== undefined
    ? grpcUrl(new URL(DEFAULT_GRPC_ENDPOINT))
    : tracesUrl(new URL(DEFAULT_ENDPOINT));
  return {
    url,
    headers,
    metadata,
    certificate,
    timeout,
    protocol,
    compression,
    retry,
    maxResponseBytes,
    fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
    netHost: options.fetch === undefined || grpc !== undefined ? netHost(url) : undefined,
    // An endpoint left to the default because its variables could not be read (Deno without
    // the env permission) is pointed out if sending there fails.
    unreadEndpoint: options.url === undefined && options.endpoint === undefined &&
        options.env === undefined && url === defaultUrl
      ? unreadableEnv(["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"])
      : [],
  };
}

/** Where the export goes, from an option or a variable. */
type Where = (value: string, what: string) => string;

/**
 * Where: `url`, else `endpoint` + `/v1/traces`, else the variables, else the default. For gRPC,
 * the server's URL with the method's path, from whichever is given first.
 */
function resolveUrl(
  options: OtlpExporterOptions,
  read: Read,
  ignore: IgnoreVariable,
  grpc: { insecure: boolean } | undefined,
): string {
  const asIs: Where = grpc === undefined
    ? (value, what) => checkUrl(value, what).href
    : (value, what) => grpcUrlOf(value, what, grpc, ignore);
  const base: Where = grpc === undefined ? (value, what) => tracesUrl(checkUrl(value, what)) : asIs;
  if (options.url !== undefined) return asIs(options.url, "url");
  if (options.endpoint !== undefined) return base(options.endpoint, "endpoint");
  for (
    const [name, where] of [["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", asIs], [
      "OTEL_EXPORTER_OTLP_ENDPOINT",
      base,
    ]] as const
  ) {
    const value = read(name);
    if (value === undefined) continue;
    try {
      return where(value, name);
    } catch {
      ignore(
        name,
        value,
        grpc === undefined ? "not an http or https URL" : "not an http or https URL, nor host:port",
      );
    }
  }
  return grpc === undefined
    ? tracesUrl(new URL(DEFAULT_ENDPOINT))
    : grpcUrl(new URL(DEFAULT_GRPC_ENDPOINT));
}

/** A gRPC server's method URL; a path given with the server is said to be unused. */
function grpcUrlOf(
  value: string,
  what: string,
  grpc: { insecure: boolean },
  ignore: IgnoreVariable,
): string {
  const url = checkUrl(value, what, grpc);
  if (url.pathname !== "/" && url.pathname !== "") {
    ignore(`the path of ${what}`, url.pathname, `a gRPC call goes to ${GRPC_EXPORT_PATH}`);
  }
  return grpcUrl(url);
}

/** `insecure`, else the traces variable, else the general one, else `false`. */
function resolveInsecure(
  options: OtlpExporterOptions,
  read: Read,
  ignore: IgnoreVariable,
): boolean {
  if (options.insecure !== undefined) {
    if (typeof options.insecure !== "boolean") {
      throw new TypeError(
        `Cannot make OtlpExporter: insecure must be a boolean, got ${safeString(options.insecure)}`,
      );
    }
    return options.insecure;
  }
  for (const name of ["OTEL_EXPORTER_OTLP_TRACES_INSECURE", "OTEL_EXPORTER_OTLP_INSECURE"]) {
    const value = read(name);
    if (value === undefined) continue;
    const lower = value.toLowerCase();
    if (lower === "true" || lower === "false") return lower === "true";
    ignore(name, value, "expected true or false");
  }
  return false;
}

/** The CA file for gRPC over TLS: the option, else the traces variable, else the general one. */
function resolveCertificate(
  options: OtlpExporterOptions,
  read: Read,
  ignore: IgnoreVariable,
  grpc: boolean,
): string | undefined {
  const why =
    "only OTLP/gRPC reads a certificate file here; for OTLP/HTTP, give the runtime the certificate authority";
  if (options.certificate !== undefined) {
    if (typeof options.certificate !== "string" || options.certificate === "") {
      throw new TypeError(
        `Cannot make OtlpExporter: certificate must be the path of a PEM file, got ${
          typeof options.certificate === "string" ? '""' : safeString(options.certificate)
        }`,
      );
    }
    if (!grpc) ignore("certificate", options.certificate, why);
    return grpc ? options.certificate : undefined;
  }
  for (const name of ["OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "OTEL_EXPORTER_OTLP_CERTIFICATE"]) {
    const value = read(name);
    if (value === undefined) continue;
    if (grpc) return value;
    ignore(name, value, why);
    return undefined;
  }
  return undefined;
}

function resolveTimeout(options: OtlpExporterOptions, read: Read, ignore: IgnoreVariable): number {
  if (options.timeout !== undefined) return positiveNumber(options.timeout, "timeout");
  let timeout: number | undefined;
  for (const name of ["OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"]) {
    const value = read(name);
    if (value === undefined || timeout !== undefined) continue;
    const n = Number(value);
    if (/^\d+$/.test(value) && n > 0) timeout = n;
    else ignore(name, value, "expected a positive number of milliseconds");
  }
  return timeout ?? DEFAULT_TIMEOUT;
}

const PROTOCOLS = ["http/protobuf", "http/json", "grpc"] as const;
const COMPRESSIONS = ["gzip", "none"] as const;

function checkChoice<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if ((allowed as readonly unknown[]).includes(value)) return value as T;
  throw new TypeError(
    `Cannot make OtlpExporter: ${name} must be ${
      allowed.map((choice) => JSON.stringify(choice)).join(" or ")
    }, got ${safeString(value)}`,
  );
}

/** A choice from `OTEL_EXPORTER_OTLP_TRACES_{suffix}`, else `OTEL_EXPORTER_OTLP_{suffix}`. */
function envChoice<T extends string>(
  read: Read,
  ignore: IgnoreVariable,
  suffix: string,
  allowed: readonly T[],
): T | undefined {
  for (const name of [`OTEL_EXPORTER_OTLP_TRACES_${suffix}`, `OTEL_EXPORTER_OTLP_${suffix}`]) {
    const value = read(name);
    if (value === undefined) continue;
    if ((allowed as readonly string[]).includes(value)) return value as T;
    ignore(name, value, `expected one of ${allowed.join(", ")}`);
  }
  return undefined;
}

function resolveRetry(given: OtlpRetryOptions | undefined): Required<OtlpRetryOptions> {
  const retry = given ?? {};
  if (typeof retry !== "object" || retry === null) {
    throw new TypeError("Cannot make OtlpExporter: retry must be an object");
  }
  const maxAttempts = retry.maxAttempts ?? DEFAULT_RETRY.maxAttempts;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new RangeError(
      `Cannot make OtlpExporter: retry.maxAttempts must be an integer of at least 1, got ${
        safeString(maxAttempts)
      }`,
    );
  }
  const multiplier = positiveNumber(
    retry.multiplier ?? DEFAULT_RETRY.multiplier,
    "retry.multiplier",
  );
  if (multiplier < 1) {
    throw new RangeError(
      `Cannot make OtlpExporter: retry.multiplier must be at least 1, got ${multiplier}`,
    );
  }
  return {
    maxAttempts,
    multiplier,
    initialBackoff: positiveNumber(
      retry.initialBackoff ?? DEFAULT_RETRY.initialBackoff,
      "retry.initialBackoff",
      true,
    ),
    maxBackoff: positiveNumber(
      retry.maxBackoff ?? DEFAULT_RETRY.maxBackoff,
      "retry.maxBackoff",
      true,
    ),
  };
}

function resolveMaxResponseBytes(given: number | undefined): number {
  const maxResponseBytes = given ?? DEFAULT_MAX_RESPONSE_BYTES;
  if (!Number.isInteger(maxResponseBytes) || maxResponseBytes < 0) {
    throw new RangeError(
      `Cannot make OtlpExporter: maxResponseBytes must be a non-negative integer, got ${
        safeString(maxResponseBytes)
      }`,
    );
  }
  return maxResponseBytes;
}
