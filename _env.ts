// Configuration from OpenTelemetry's standard environment variables. Variables are read only
// where that needs no prompt: on Deno, only when `Deno.permissions.querySync` says the env
// permission for that variable is already granted; on Node and Bun from `process.env`; nowhere
// else. Bad values are reported as warnings and replaced by the default, as the OpenTelemetry
// specification asks; explicit options of the builder are applied over this configuration.

import type { ActivityLimits } from "./limits.ts";
import type { LogLevel } from "./_diagnostics.ts";
import { MAX_TIMER_DELAY } from "./_timers.ts";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  ParentBasedSampler,
  type Sampler,
  TraceIdRatioSampler,
} from "./sampler.ts";

/** Reads one environment variable: its value, or `undefined` when unset or unreadable. */
export type EnvReader = (name: string) => string | undefined;

/**
 * Where a tracer provider builder reads `OTEL_*` variables from: a function that returns a
 * variable's value, or a record of values.
 */
export type EnvironmentSource =
  | ((name: string) => string | undefined)
  | Readonly<Record<string, string | undefined>>;

interface DenoEnv {
  permissions?: {
    querySync?(descriptor: { name: "env"; variable: string }): { state: string };
  };
  env?: { get(name: string): string | undefined };
}

/**
 * Reads a variable from the runtime without ever prompting: on Deno only when the permission
 * for it is already granted, on Node and Bun from `process.env`.
 */
export function runtimeEnv(name: string): string | undefined {
  try {
    const deno = (globalThis as { Deno?: DenoEnv }).Deno;
    if (deno !== undefined) {
      const query = deno.permissions?.querySync;
      if (typeof query !== "function" || deno.env === undefined) return undefined;
      const state = query.call(deno.permissions, { name: "env", variable: name }).state;
      return state === "granted" ? deno.env.get(name) : undefined;
    }
    const env = (globalThis as { process?: { env?: Record<string, string | undefined> } })
      .process?.env;
    const value = env?.[name];
    return typeof value === "string" ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The variables among `names` that {@linkcode runtimeEnv} cannot read for want of a permission:
 * on Deno, those whose env permission is not granted (asked without a prompt); elsewhere none.
 * Whether they are set cannot be told without the permission.
 */
export function unreadableEnv(names: readonly string[]): string[] {
  try {
    const deno = (globalThis as { Deno?: DenoEnv }).Deno;
    const query = deno?.permissions?.querySync;
    if (deno === undefined || typeof query !== "function") return [];
    return names.filter((variable) =>
      query.call(deno.permissions, { name: "env", variable }).state !== "granted"
    );
  } catch {
    return [];
  }
}

/** Turns an environment source into a reader. */
export function toEnvReader(source: EnvironmentSource): EnvReader {
  if (typeof source === "function") {
    return (name) => {
      const value = source(name);
      return typeof value === "string" ? value : undefined;
    };
  }
  return (name) => {
    const value = Object.hasOwn(source, name) ? source[name] : undefined;
    return typeof value === "string" ? value : undefined;
  };
}

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

/**
 * Reads the whole configuration. Empty (or blank) values count as unset; a bad value is
 * reported through `warn` and left out, so the default applies.
 */
export function readEnvConfig(read: EnvReader, warn: EnvWarn): EnvConfig {
  const get = (name: string): string | undefined => {
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
  const config: EnvConfig = { disabled: false, resource: [], limits: {}, batch: {} };

  const disabled = get("OTEL_SDK_DISABLED");
  if (disabled !== undefined) {
    const lower = disabled.toLowerCase();
    if (lower === "true") config.disabled = true;
    else if (lower !== "false") {
      warn(
        "OTEL_SDK_DISABLED",
        new TypeError(
          `Cannot use OTEL_SDK_DISABLED '${disabled}': expected true or false; using false`,
        ),
      );
    }
  }

  const logLevel = get("OTEL_LOG_LEVEL");
  if (logLevel !== undefined) {
    const name = logLevel.toLowerCase();
    if (Object.hasOwn(LOG_LEVEL_NAMES, name)) config.logLevel = LOG_LEVEL_NAMES[name]!;
    else {
      warn(
        "OTEL_LOG_LEVEL",
        new RangeError(
          `Cannot use OTEL_LOG_LEVEL '${logLevel}': expected none, error, warn, info, debug, verbose or all; using info`,
        ),
      );
    }
  }

  const attributes = get("OTEL_RESOURCE_ATTRIBUTES");
  if (attributes !== undefined) {
    const parsed = parseResourceAttributes(attributes);
    if (parsed instanceof Error) warn("OTEL_RESOURCE_ATTRIBUTES", parsed);
    else config.resource.push(...parsed);
  }
  const serviceName = get("OTEL_SERVICE_NAME");
  if (serviceName !== undefined) {
    config.resource = config.resource.filter(([key]) => key !== "service.name");
    config.resource.push(["service.name", serviceName]);
  }

  const sampler = readSampler(get, warn);
  if (sampler !== undefined) config.sampler = sampler;

  const integer = (name: string, min: number): number | undefined => {
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
  };

  const delay = integer("OTEL_BSP_SCHEDULE_DELAY", 0);
  if (delay !== undefined) config.batch.scheduledDelayMillis = delay;
  const timeout = integer("OTEL_BSP_EXPORT_TIMEOUT", 0);
  // A timeout of 0 means no limit, as the OpenTelemetry specification says of timeouts.
  if (timeout !== undefined) config.batch.exportTimeoutMillis = timeout === 0 ? Infinity : timeout;
  const queue = integer("OTEL_BSP_MAX_QUEUE_SIZE", 1);
  if (queue !== undefined) config.batch.maxQueueSize = queue;
  const batchSize = integer("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 1);
  if (batchSize !== undefined) config.batch.maxExportBatchSize = batchSize;

  const valueLength = integer("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", 0) ??
    integer("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", 0);
  if (valueLength !== undefined) config.limits.tagValueLength = valueLength;
  const general = integer("OTEL_ATTRIBUTE_COUNT_LIMIT", 0);
  const tagCount = integer("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", 0) ?? general;
  if (tagCount !== undefined) config.limits.tagCount = tagCount;
  const eventCount = integer("OTEL_SPAN_EVENT_COUNT_LIMIT", 0);
  if (eventCount !== undefined) config.limits.eventCount = eventCount;
  const linkCount = integer("OTEL_SPAN_LINK_COUNT_LIMIT", 0);
  if (linkCount !== undefined) config.limits.linkCount = linkCount;
  const eventTags = integer("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", 0) ?? general;
  if (eventTags !== undefined) config.limits.eventTagCount = eventTags;
  const linkTags = integer("OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", 0) ?? general;
  if (linkTags !== undefined) config.limits.linkTagCount = linkTags;
  return config;
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

function readSampler(
  get: (name: string) => string | undefined,
  warn: EnvWarn,
): Sampler | undefined {
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
