// Diagnostics of the telemetry pipeline: failures (a listener, processor, exporter or writer
// that throws), warnings (a setting ignored, something that silently does nothing) and debug
// notes. Reported once per failing party, never rethrown. A provider reports to its own handler;
// what concerns no provider in particular (a listener, an option of a call, the runtime) goes to
// the handlers of the providers alive at that moment, or to stderr when there is none.

import { escapeControl } from "./_format.ts";
import { otherVersions, REGISTRY_KEY, registryProblem, shared } from "./_registry.ts";

/**
 * How serious a report is: `"error"` when something failed (an export, a listener) and data
 * may be lost, `"warn"` when a setting was ignored or something does nothing, `"debug"` for
 * notes given only when asked for (`OTEL_LOG_LEVEL=debug`).
 */
export type ReportLevel = "error" | "warn" | "debug";

/**
 * Which reports reach a provider's handler, as `OTEL_LOG_LEVEL`: `"none"`, `"error"`,
 * `"warn"` (errors and warnings), `"info"` (the same; the default) or `"debug"` (everything).
 */
export type LogLevel = "none" | "error" | "warn" | "info" | "debug";

/** The log levels, least verbose first. */
export const LOG_LEVELS: readonly LogLevel[] = ["none", "error", "warn", "info", "debug"];

const RANK: Record<ReportLevel, number> = { error: 1, warn: 2, debug: 4 };

/** A handler that passes on only the reports `level` lets through. */
export function filterReports(handler: ErrorHandler, level: LogLevel): ErrorHandler {
  if (level === "debug") return handler;
  const max = LOG_LEVELS.indexOf(level);
  return (error, where, reportLevel = "error") => {
    if (RANK[reportLevel] <= max) handler(error, where, reportLevel);
  };
}

/**
 * Receives a report of the telemetry pipeline: the error (or warning), what it concerns, and
 * its level (`"error"` when left out).
 */
export type ErrorHandler = (error: unknown, where: string, level?: ReportLevel) => void;

/** The default handler: one line on stderr through `console.error`. */
export function reportToStderr(error: unknown, where: string, level?: ReportLevel): void {
  try {
    const text = escapeControl(
      error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    );
    const line = level === "warn"
      ? `warning: ${where}: ${text}`
      : level === "debug"
      ? `debug: ${where}: ${text}`
      : `${where} failed: ${text}`;
    console.error(`[@tracelinks/activity] ${line}`);
  } catch {
    // Nothing left to report through.
  }
}

/** Calls a handler without letting it throw. */
export function safeReport(
  handler: ErrorHandler,
  error: unknown,
  where: string,
  level: ReportLevel = "error",
): void {
  try {
    handler(error, where, level);
  } catch {
    reportToStderr(error, where, level);
  }
}

/**
 * Remembers which parties have been reported, so that each is reported once. A party is an
 * object (a listener, an exporter) or a string naming what failed (a method and its option).
 */
export class ReportOnce {
  readonly #seen = new WeakSet<object>();
  readonly #seenNames = new Set<string>();
  readonly #handler: ErrorHandler;

  constructor(handler: ErrorHandler = reportToStderr) {
    this.#handler = handler;
  }

  /** Reports `error` unless `party` was reported before; returns whether it reported. */
  report(
    party: object | string,
    error: unknown,
    where: string,
    level: ReportLevel = "error",
  ): boolean {
    if (typeof party === "string") {
      if (this.#seenNames.has(party)) return false;
      this.#seenNames.add(party);
    } else {
      if (this.#seen.has(party)) return false;
      this.#seen.add(party);
    }
    safeReport(this.#handler, error, where, level);
    return true;
  }
}

/** The name a failing exporter is reported by: its class name. */
export function exporterName(exporter: object): string {
  return exporter.constructor?.name ?? "exporter";
}

// Module-wide diagnostics: what concerns no provider in particular (a listener that throws, an
// option of a call that cannot be used, a condition of the runtime). Each is said once, to the
// handler of every provider alive at that moment, or on stderr when there is none.

// Shared by every copy of the module in the program, so a provider hears every copy.
const liveHandlers = shared("diagnosticHandlers", () => new Set<ErrorHandler>());

/** Lets a provider's handler hear module-wide diagnostics while the provider lives. */
export function addDiagnosticHandler(handler: ErrorHandler): void {
  liveHandlers.add(handler);
}

/** Stops sending module-wide diagnostics to a handler (its provider has shut down). */
export function removeDiagnosticHandler(handler: ErrorHandler): void {
  liveHandlers.delete(handler);
}

/** A handler that passes a report to every live provider's handler, or to stderr. */
export function reportToLiveHandlers(error: unknown, where: string, level?: ReportLevel): void {
  if (liveHandlers.size === 0) {
    reportToStderr(error, where, level);
    return;
  }
  for (const handler of [...liveHandlers]) safeReport(handler, error, where, level);
}

const conditions = new ReportOnce(reportToLiveHandlers);
const unusable = new ReportOnce(reportToLiveHandlers);

/** Reports a module-wide condition (of the runtime) once per program, by `key`. */
export function reportModuleOnce(
  key: string,
  error: Error,
  where: string,
  level: ReportLevel,
): void {
  // Once per program, whichever copy of the module finds the condition first.
  if (reportedConditions.has(key)) return;
  reportedConditions.add(key);
  conditions.report(key, error, where, level);
}

const reportedConditions = shared("reportedConditions", () => new Set<string>());

/**
 * Reports input that a method could not use (and so ignored), once per `where`, which names
 * the method and the option, such as "Activity.addEvent() option timestamp".
 */
export function reportUnusable(where: string, error: unknown): void {
  unusable.report(where, error, where);
}

if (registryProblem !== undefined) {
  reportModuleOnce(
    "registry",
    new Error(
      `This copy of @tracelinks/activity keeps its state apart from the other copies of the program: ${registryProblem}`,
    ),
    "module registry",
    "warn",
  );
}
if (otherVersions.length > 0) {
  reportModuleOnce(
    "other-versions",
    new Error(
      `Another version of @tracelinks/activity is loaded (${
        otherVersions.join(", ")
      }); this one (${REGISTRY_KEY}) does not share the current activity, listeners or sources with it: activities of one are not parents of the other's`,
    ),
    "module registry",
    "warn",
  );
}
