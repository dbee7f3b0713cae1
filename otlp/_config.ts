// The OTLP exporter's configuration: its options (public types), each left out read from the
// standard OTEL_EXPORTER_OTLP_* variables where permitted, else the default. A bad option is an
// error; a bad variable is reported (as a warning) and ignored. Resolved area by area: where,
// headers, timeout, encoding and compression, retries and limits.

import type { ErrorHandler } from "../_diagnostics.ts";
import { runtimeEnv, unreadableEnv } from "../_env.ts";
import { safeString } from "../_format.ts";
import type { OtlpProtocol } from "./encode.ts";
import { errorText, netHost } from "./_transport.ts";

/** Whether request bodies are compressed. */
export type OtlpCompression = "gzip" | "none";

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
   * The full URL requests go to, used as is. Wins over `endpoint`.
   * Environment: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`.
   * @default {"http://localhost:4318/v1/traces"}
   */
  url?: string;
  /**
   * The base URL of the OTLP/HTTP receiver; `/v1/traces` is appended.
   * Environment: `OTEL_EXPORTER_OTLP_ENDPOINT`.
   * @default {"http://localhost:4318"}
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
   * The encoding. Environment: `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`,
   * `OTEL_EXPORTER_OTLP_PROTOCOL` (`grpc` is not supported and falls back to the default).
   * @default {"http/protobuf"}
   */
  protocol?: OtlpProtocol;
  /**
   * Body compression. Environment: `OTEL_EXPORTER_OTLP_TRACES_COMPRESSION`,
   * `OTEL_EXPORTER_OTLP_COMPRESSION`.
   * @default {"none"}
   */
  compression?: OtlpCompression;
  /**
   * Retries on 429, 502, 503, 504 and network errors.
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
   * `RequestInit`, so any `fetch` fits, and so does a stand-in of that shape.
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
const TRACES_PATH = "v1/traces";
const DEFAULT_TIMEOUT = 10_000;
const DEFAULT_MAX_RESPONSE_BYTES = 65_536;
const DEFAULT_RETRY: Required<OtlpRetryOptions> = {
  maxAttempts: 5,
  initialBackoff: 1000,
  maxBackoff: 5000,
  multiplier: 1.5,
};

function checkUrl(value: unknown, what: string): URL {
  if (typeof value !== "string") {
    throw new TypeError(`Cannot make OtlpExporter: ${what} must be a string, got ${typeof value}`);
  }
  let url: URL;
  try {
    url = new URL(value);
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

function tracesUrl(base: URL): string {
  const url = new URL(base.href);
  url.pathname = url.pathname.endsWith("/")
    ? url.pathname + TRACES_PATH
    : `${url.pathname}/${TRACES_PATH}`;
  return url.href;
}

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
  /** The URL requests go to. */
  readonly url: string;
  /** The headers of every request, content type and encoding included. */
  readonly headers: Headers;
  /** How long one export may take, in milliseconds. */
  readonly timeout: number;
  readonly protocol: OtlpProtocol;
  readonly compression: OtlpCompression;
  readonly retry: Required<OtlpRetryOptions>;
  readonly maxResponseBytes: number;
  readonly fetch: (input: string, init: RequestInit) => Promise<Response>;
  /** The net permission to ask Deno about before each request (the runtime's fetch only). */
  readonly netHost: string | undefined;
  /** The variables that would have set the endpoint but could not be read (no permission). */
  readonly unreadEndpoint: readonly string[];
}

/** Says that a variable was ignored, and why. */
export type IgnoreVariable = (name: string, value: string, why: string) => void;

/** Reads a variable: its trimmed value, or `undefined` when unset, blank or unreadable. */
type Read = (name: string) => string | undefined;

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
  const url = resolveUrl(options, read, ignore);
  const headers = resolveHeaders(options, read, ignore);
  const timeout = resolveTimeout(options, read, ignore);
  const protocol = options.protocol !== undefined
    ? checkChoice("protocol", options.protocol, PROTOCOLS)
    : envChoice(read, ignore, "PROTOCOL", PROTOCOLS) ?? "http/protobuf";
  const compression = options.compression !== undefined
    ? checkChoice("compression", options.compression, COMPRESSIONS)
    : envChoice(read, ignore, "COMPRESSION", COMPRESSIONS) ?? "none";
  const retry = resolveRetry(options.retry);
  const maxResponseBytes = resolveMaxResponseBytes(options.maxResponseBytes);
  headers.set(
    "content-type",
    protocol === "http/json" ? "application/json" : "application/x-protobuf",
  );
  if (compression === "gzip") headers.set("content-encoding", "gzip");
  const defaultUrl = tracesUrl(new URL(DEFAULT_ENDPOINT));
  return {
    url,
    headers,
    timeout,
    protocol,
    compression,
    retry,
    maxResponseBytes,
    fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
    netHost: options.fetch === undefined ? netHost(url) : undefined,
    // An endpoint left to the default because its variables could not be read (Deno without
    // the env permission) is pointed out if sending there fails.
    unreadEndpoint: options.url === undefined && options.endpoint === undefined &&
        options.env === undefined && url === defaultUrl
      ? unreadableEnv(["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"])
      : [],
  };
}

/** Where: `url`, else `endpoint` + `/v1/traces`, else the variables, else the default. */
function resolveUrl(options: OtlpExporterOptions, read: Read, ignore: IgnoreVariable): string {
  if (options.url !== undefined) return checkUrl(options.url, "url").href;
  if (options.endpoint !== undefined) return tracesUrl(checkUrl(options.endpoint, "endpoint"));
  const traces = read("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
  if (traces !== undefined) {
    try {
      return checkUrl(traces, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").href;
    } catch {
      ignore("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", traces, "not an http or https URL");
    }
  }
  const base = read("OTEL_EXPORTER_OTLP_ENDPOINT");
  if (base !== undefined) {
    try {
      return tracesUrl(checkUrl(base, "OTEL_EXPORTER_OTLP_ENDPOINT"));
    } catch {
      ignore("OTEL_EXPORTER_OTLP_ENDPOINT", base, "not an http or https URL");
    }
  }
  return tracesUrl(new URL(DEFAULT_ENDPOINT));
}

/** Headers: the general variable, then the traces variable, then the options. */
function resolveHeaders(options: OtlpExporterOptions, read: Read, ignore: IgnoreVariable): Headers {
  const headers = new Headers();
  for (const name of ["OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"]) {
    const value = read(name);
    if (value === undefined) continue;
    for (const [key, v] of parseHeaderList(value)) {
      try {
        headers.set(key, v);
      } catch {
        ignore(name, value, `header ${JSON.stringify(key)} is not valid`);
      }
    }
  }
  if (options.headers !== undefined) {
    try {
      const given = new Headers(options.headers as HeadersInit);
      given.forEach((value, key) => headers.set(key, value));
    } catch (error) {
      throw new TypeError(`Cannot make OtlpExporter: headers are not valid: ${errorText(error)}`);
    }
  }
  return headers;
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

const PROTOCOLS = ["http/protobuf", "http/json"] as const;
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
