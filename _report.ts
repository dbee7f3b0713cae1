// Reporting of failures inside the telemetry pipeline (a listener, processor, exporter or
// writer that throws): reported on stderr once per failing party, never rethrown.

import { escapeControl } from "./_format.ts";

/** Receives a failure of the telemetry pipeline: what failed and the error. */
export type ErrorHandler = (error: unknown, where: string) => void;

/** The default handler: one line on stderr through `console.error`. */
export function reportToStderr(error: unknown, where: string): void {
  try {
    const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    console.error(`[@tracelinks/activity] ${where} failed: ${escapeControl(text)}`);
  } catch {
    // Nothing left to report through.
  }
}

/** Calls a handler without letting it throw. */
export function safeReport(handler: ErrorHandler, error: unknown, where: string): void {
  try {
    handler(error, where);
  } catch {
    reportToStderr(error, where);
  }
}

/** Remembers which parties have been reported, so that each is reported once. */
export class ReportOnce {
  readonly #seen = new WeakSet<object>();
  readonly #handler: ErrorHandler;

  constructor(handler: ErrorHandler = reportToStderr) {
    this.#handler = handler;
  }

  /** Reports `error` unless `party` was reported before; returns whether it reported. */
  report(party: object, error: unknown, where: string): boolean {
    if (this.#seen.has(party)) return false;
    this.#seen.add(party);
    safeReport(this.#handler, error, where);
    return true;
  }
}

/** The name a failing exporter is reported by: its class name. */
export function exporterName(exporter: object): string {
  return exporter.constructor?.name ?? "exporter";
}
