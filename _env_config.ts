// Configuration from OpenTelemetry's standard environment variables, read through an EnvReader
// (_env.ts), area by area: the SDK switch and log level, the resource, the sampler, the batch
// processor and the limits; and, for a set-up from the environment, the exporters
// (OTEL_TRACES_EXPORTER) and the propagators (OTEL_PROPAGATORS). Bad values are reported as
// warnings and replaced by the default, as the OpenTelemetry specification asks; explicit
// options of the builder are applied over this configuration.

import type { ActivityLimits } from "./limits.ts";
import type { LogLevel } from "./_diagnostics.ts";
import type { EnvReader } from "./_env.ts";
import { MAX_TIMER_DELAY } from "./_timers.ts";
import {
  BaggagePropagator,
  CompositePropagator,
  type TextMapPropagator,
  TraceContextPropagator,
} from "./propagator.ts";
import { B3Propagator } from "./b3.ts";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  ParentBasedSampler,
  type Sampler,
  TraceIdRatioSampler,
} from "./sampler.ts";

/** The configuration read from the environment; only what was set and valid is present. */
export interface EnvConfig {
  /** `OTEL_SDK_DISABLED=true`. */
  disabled: boolean;
  /** `OTEL_LOG_LEVEL`, mapped to the provider's levels. */
  logLevel?: LogLevel;
  /** Resource attributes: `OTEL_RESOURCE_ATTRIBUTES`, then `OTEL_SERVICE_NAME` over them. */
  resource: [string, string][];
  /** The sampler of `OTEL_TRACES_SAMPLER` (and `_ARG`). */
  sampler?: Sampler;
  /** Limits from `OTEL_ATTRIBUTE_*`, `OTEL_SPAN_*`, `OTEL_EVENT_*`, `OTEL_LINK_*`. */
  limits: Partial<Record<keyof ActivityLimits, number>>;
  /** Batch processor options from `OTEL_BSP_*`. */
  batch: {
    scheduledDelayMillis?: number;
    exportTimeoutMillis?: number;
    maxQueueSize?: number;
    maxExportBatchSize?: number;
  };
}

/** Receives a warning about a variable with a bad value. */
export type EnvWarn = (name: string, error: Error) => void;

/** Reads one variable: its trimmed value, or `undefined` when unset or blank. */
type Get = (name: string) => string | undefined;

/**
 * Reads the whole configuration. Empty (or blank) values count as unset; a bad value is
 * reported through `warn` and left out, so the default applies.
 */
export function readEnvConfig(read: EnvReader, warn: EnvWarn): EnvConfig {
  const get = makeGet(read, warn);
  // The areas in a fixed order, so that warnings come in the order of this list.
  const disabled = readDisabled(get, warn);
  const logLevel = readLogLevel(get, warn);
  const resource = readResource(get, warn);
  const sampler = readSampler(get, warn);
  const config: EnvConfig = {
    disabled,
    resource,
    batch: readBatch(get, warn),
    limits: readLimits(get, warn),
  };
  if (logLevel !== undefined) config.logLevel = logLevel;
  if (sampler !== undefined) config.sampler = sampler;
  return config;
}

/**
 * A reader of trimmed values: empty or blank values count as unset, and a reader that throws
 * is reported through `warn` and counts as unset.
 */
function makeGet(read: EnvReader, warn: EnvWarn): Get {
  return (name) => {
    let value: string | undefined;
    try {
      value = read(name);
    } catch (error) {
      warn(name, error instanceof Error ? error : new Error(String(error)));
      return undefined;
    }
    if (typeof value !== "string") return undefined;
    value = value.trim();
    return value === "" ? undefined : value;
  };
}

/** An exporter that `OTEL_TRACES_EXPORTER` can name. */
export type ExporterName = "console" | "otlp";

/**
 * `OTEL_TRACES_EXPORTER`: a comma-separated list of `otlp`, `console` and `none`, read in any
 * case, each name once (default `otlp`). Unknown names are reported and left out; when none is
 * left the variable is ignored. `none` means no exporter, and excludes the others.
 */
export function readTracesExporters(read: EnvReader, warn: EnvWarn): ExporterName[] {
  const names = readList(makeGet(read, warn), warn, "OTEL_TRACES_EXPORTER", TRACES_EXPORTERS);
  return (names ?? ["otlp"]).filter((name): name is ExporterName => name !== "none");
}

const TRACES_EXPORTERS = ["otlp", "console", "none"] as const;

/** A propagator that `OTEL_PROPAGATORS` can name. */
export type PropagatorName = (typeof PROPAGATORS)[number];

const PROPAGATORS = ["tracecontext", "baggage", "b3", "b3multi", "none"] as const;

/**
 * `OTEL_PROPAGATORS`: a comma-separated list of `tracecontext`, `baggage`, `b3`, `b3multi` and
 * `none`, read in any case, each name once, in order (default `tracecontext,baggage`); unknown
 * names are reported and left out, and when none is left the variable is ignored. `none` means
 * no propagator, and excludes the others.
 */
export function readPropagators(read: EnvReader, warn: EnvWarn): TextMapPropagator {
  const names = readList(makeGet(read, warn), warn, "OTEL_PROPAGATORS", PROPAGATORS) ??
    ["tracecontext", "baggage"];
  return new CompositePropagator(
    names.filter((name) => name !== "none").map((name) => {
      switch (name) {
        case "tracecontext":
          return new TraceContextPropagator();
        case "baggage":
          return new BaggagePropagator();
        default:
          return new B3Propagator({ encoding: name === "b3" ? "single" : "multi" });
      }
    }),
  );
}

/**
 * A comma-separated list of known names: lowercase, deduplicated, in order; unknown names
 * reported and left out. `undefined` when the variable is unset or holds no known name (then
 * the default applies); `["none"]` when it holds `none`.
 */
function readList<T extends string>(
  get: Get,
  warn: EnvWarn,
  variable: string,
  known: readonly T[],
): T[] | undefined {
  const text = get(variable);
  if (text === undefined) return undefined;
  const names: T[] = [];
  const unknown: string[] = [];
  for (const part of text.split(",")) {
    const name = part.trim().toLowerCase();
    if (name === "") continue;
    if (!(known as readonly string[]).includes(name)) unknown.push(part.trim());
    else if (!names.includes(name as T)) names.push(name as T);
  }
  const fail = (why: string) =>
    warn(variable, new RangeError(`Cannot use ${variable} '${text}': ${why}`));
  if (unknown.length > 0) {
    const listed = unknown.map((name) => `'${name}'`).join(", ");
    fail(
      names.length === 0
        ? `unknown ${listed}; expected ${known.join(", ")}; using the default`
        : `unknown ${listed} left out; expected ${known.join(", ")}`,
    );
  }
  if (names.length === 0) return undefined;
  if (names.includes("none" as T) && names.length > 1) {
    fail("none excludes the other names; using none");
    return ["none" as T];
  }
  return names;
}

/** `OTEL_SDK_DISABLED`: `true` or `false` in any case. */
function readDisabled(get: Get, warn: EnvWarn): boolean {
  const disabled = get("OTEL_SDK_DISABLED");
  if (disabled === undefined) return false;
  const lower = disabled.toLowerCase();
  if (lower === "true") return true;
  if (lower !== "false") {
    warn(
      "OTEL_SDK_DISABLED",
      new TypeError(
        `Cannot use OTEL_SDK_DISABLED '${disabled}': expected true or false; using false`,
      ),
    );
  }
  return false;
}

/** `OTEL_LOG_LEVEL`, mapped to the provider's levels. */
function readLogLevel(get: Get, warn: EnvWarn): LogLevel | undefined {
  const logLevel = get("OTEL_LOG_LEVEL");
  if (logLevel === undefined) return undefined;
  const name = logLevel.toLowerCase();
  if (Object.hasOwn(LOG_LEVEL_NAMES, name)) return LOG_LEVEL_NAMES[name]!;
  warn(
    "OTEL_LOG_LEVEL",
    new RangeError(
      `Cannot use OTEL_LOG_LEVEL '${logLevel}': expected none, error, warn, info, debug, verbose or all; using info`,
    ),
  );
  return undefined;
}

/** `OTEL_RESOURCE_ATTRIBUTES`, then `OTEL_SERVICE_NAME` over them. */
function readResource(get: Get, warn: EnvWarn): [string, string][] {
  let resource: [string, string][] = [];
  const attributes = get("OTEL_RESOURCE_ATTRIBUTES");
  if (attributes !== undefined) {
    const parsed = parseResourceAttributes(attributes);
    if (parsed instanceof Error) warn("OTEL_RESOURCE_ATTRIBUTES", parsed);
    else resource.push(...parsed);
  }
  const serviceName = get("OTEL_SERVICE_NAME");
  if (serviceName !== undefined) {
    resource = resource.filter(([key]) => key !== "service.name");
    resource.push(["service.name", serviceName]);
  }
  return resource;
}

/** An integer variable from `min` to 2^31 - 1; `undefined` (and a warning) for anything else. */
function readInteger(get: Get, warn: EnvWarn, name: string, min: number): number | undefined {
  const text = get(name);
  if (text === undefined) return undefined;
  const value = /^[0-9]+$/.test(text) ? Number(text) : NaN;
  if (!(value >= min && value <= MAX_TIMER_DELAY)) {
    warn(
      name,
      new RangeError(
        `Cannot use ${name} '${text}': expected an integer from ${min} to ${MAX_TIMER_DELAY}; using the default`,
      ),
    );
    return undefined;
  }
  return value;
}

/** The batch processor's options from `OTEL_BSP_*`. */
function readBatch(get: Get, warn: EnvWarn): EnvConfig["batch"] {
  const batch: EnvConfig["batch"] = {};
  const delay = readInteger(get, warn, "OTEL_BSP_SCHEDULE_DELAY", 0);
  if (delay !== undefined) batch.scheduledDelayMillis = delay;
  const timeout = readInteger(get, warn, "OTEL_BSP_EXPORT_TIMEOUT", 0);
  // A timeout of 0 means no limit, as the OpenTelemetry specification says of timeouts.
  if (timeout !== undefined) batch.exportTimeoutMillis = timeout === 0 ? Infinity : timeout;
  const queue = readInteger(get, warn, "OTEL_BSP_MAX_QUEUE_SIZE", 1);
  if (queue !== undefined) batch.maxQueueSize = queue;
  const batchSize = readInteger(get, warn, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 1);
  if (batchSize !== undefined) batch.maxExportBatchSize = batchSize;
  return batch;
}

/** The limits from `OTEL_ATTRIBUTE_*`, `OTEL_SPAN_*`, `OTEL_EVENT_*` and `OTEL_LINK_*`. */
function readLimits(get: Get, warn: EnvWarn): EnvConfig["limits"] {
  const limits: EnvConfig["limits"] = {};
  const integer = (name: string) => readInteger(get, warn, name, 0);
  const valueLength = integer("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT") ??
    integer("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT");
  if (valueLength !== undefined) limits.tagValueLength = valueLength;
  const general = integer("OTEL_ATTRIBUTE_COUNT_LIMIT");
  const tagCount = integer("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT") ?? general;
  if (tagCount !== undefined) limits.tagCount = tagCount;
  const eventCount = integer("OTEL_SPAN_EVENT_COUNT_LIMIT");
  if (eventCount !== undefined) limits.eventCount = eventCount;
  const linkCount = integer("OTEL_SPAN_LINK_COUNT_LIMIT");
  if (linkCount !== undefined) limits.linkCount = linkCount;
  const eventTags = integer("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT") ?? general;
  if (eventTags !== undefined) limits.eventTagCount = eventTags;
  const linkTags = integer("OTEL_LINK_ATTRIBUTE_COUNT_LIMIT") ?? general;
  if (linkTags !== undefined) limits.linkTagCount = linkTags;
  return limits;
}

/** OpenTelemetry's `OTEL_LOG_LEVEL` values; `verbose` and `all` say as much as `debug`. */
const LOG_LEVEL_NAMES: Readonly<Record<string, LogLevel>> = {
  none: "none",
  error: "error",
  warn: "warn",
  info: "info",
  debug: "debug",
  verbose: "debug",
  all: "debug",
};

/** The sampler of `OTEL_TRACES_SAMPLER` (and `_ARG`). */
function readSampler(get: Get, warn: EnvWarn): Sampler | undefined {
  const text = get("OTEL_TRACES_SAMPLER");
  if (text === undefined) return undefined;
  const name = text.toLowerCase();
  switch (name) {
    case "always_on":
      return new AlwaysOnSampler();
    case "always_off":
      return new AlwaysOffSampler();
    case "parentbased_always_on":
      return new ParentBasedSampler(new AlwaysOnSampler());
    case "parentbased_always_off":
      return new ParentBasedSampler(new AlwaysOffSampler());
    case "traceidratio":
    case "parentbased_traceidratio":
      break;
    default:
      warn(
        "OTEL_TRACES_SAMPLER",
        new RangeError(
          `Cannot use OTEL_TRACES_SAMPLER '${text}': unknown sampler; using the default parentbased_always_on`,
        ),
      );
      return undefined;
  }
  let ratio = 1;
  const arg = get("OTEL_TRACES_SAMPLER_ARG");
  if (arg !== undefined) {
    const value = /^[+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$/.test(arg)
      ? Number(arg)
      : NaN;
    if (value >= 0 && value <= 1) {
      ratio = value;
    } else {
      warn(
        "OTEL_TRACES_SAMPLER_ARG",
        new RangeError(
          `Cannot use OTEL_TRACES_SAMPLER_ARG '${arg}': expected a ratio from 0 to 1; using 1`,
        ),
      );
    }
  }
  const ratioSampler = new TraceIdRatioSampler(ratio);
  return name === "traceidratio" ? ratioSampler : new ParentBasedSampler(ratioSampler);
}

/**
 * Parses `key1=value1,key2=value2` (W3C Baggage form, values percent-encoded). Any error
 * discards the whole value, as the specification says.
 */
function parseResourceAttributes(text: string): [string, string][] | Error {
  const out: [string, string][] = [];
  for (const part of text.split(",")) {
    if (part.trim() === "") continue;
    const at = part.indexOf("=");
    const fail = (why: string) =>
      new SyntaxError(
        `Cannot parse OTEL_RESOURCE_ATTRIBUTES: ${why} in '${part.trim()}'; the variable is ignored`,
      );
    if (at < 0) return fail("no '='");
    let key: string;
    let value: string;
    try {
      key = decodeURIComponent(part.slice(0, at).trim());
      value = decodeURIComponent(part.slice(at + 1).trim());
    } catch {
      return fail("bad percent-encoding");
    }
    if (key === "") return fail("an empty key");
    out.push([key, value]);
  }
  return out;
}
