/**
 * Tracing set up from the environment, with no code: importing this module calls
 * `configureFromEnvironment()` (see its documentation), so a provider made from the `OTEL_*`
 * variables hears every source and is the process's provider ({@linkcode provider}); it
 * flushes and shuts down when the program ends, on SIGINT and on SIGTERM too (for at most
 * {@linkcode SIGNAL_SHUTDOWN_MILLIS}), after which the signal does what it would have done
 * without this module.
 *
 * ```sh
 * OTEL_TRACES_EXPORTER=console deno run --allow-env --import jsr:@tracelinks/activity/auto app.ts
 * OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4318 node --import ./auto.js app.js
 * ```
 *
 * @example Importing it for its effect
 * ```ts ignore
 * import "@tracelinks/activity/auto";
 * ```
 *
 * @example The provider it made
 * ```ts
 * import { provider } from "@tracelinks/activity/auto";
 * import assert from "node:assert/strict";
 *
 * assert.equal(provider.isShutdown, false);
 * await provider.forceFlush();
 * ```
 *
 * @module
 */

import type { TracerProvider } from "./provider.ts";
import { configureFromEnvironment } from "./configure.ts";

export { configureFromEnvironment, type ConfigureFromEnvironmentOptions } from "./configure.ts";

/** How long a shutdown on SIGINT or SIGTERM may take before the signal takes effect anyway. */
export const SIGNAL_SHUTDOWN_MILLIS = 5000;

/** The provider made from the environment when this module was imported. */
export const provider: TracerProvider = configureFromEnvironment();

const SIGNALS = { SIGINT: 2, SIGTERM: 15 } as const;
type Signal = keyof typeof SIGNALS;

interface DenoSignals {
  addSignalListener?(signal: Signal, listener: () => void): void;
  removeSignalListener?(signal: Signal, listener: () => void): void;
  kill?(pid: number, signal: Signal): void;
  exit?(code: number): never;
  pid?: number;
  permissions?: { querySync?(descriptor: { name: "run" }): { state: string } };
}

interface ProcessSignals {
  once?(signal: Signal, listener: () => void): unknown;
  listenerCount?(signal: Signal): number;
  kill?(pid: number, signal: Signal): unknown;
  pid?: number;
}

/** Shuts the provider down within the bound, then calls `then`, whatever happened. */
function shutdownThen(then: () => void): void {
  provider.shutdown({ timeoutMillis: SIGNAL_SHUTDOWN_MILLIS }).catch(() => {}).finally(then);
}

/** Deno: a listener per signal, removed when it fires; then the signal again, or its exit code. */
function onDenoSignals(deno: DenoSignals): void {
  for (const signal of Object.keys(SIGNALS) as Signal[]) {
    const listener = () => {
      deno.removeSignalListener?.(signal, listener);
      shutdownThen(() => {
        // Sending the signal needs the run permission, which is never asked for: without it,
        // the program ends with the code a shell gives a process the signal ended.
        if (deno.permissions?.querySync?.({ name: "run" }).state === "granted") {
          deno.kill?.(deno.pid!, signal);
        } else deno.exit?.(128 + SIGNALS[signal]);
      });
    };
    try {
      deno.addSignalListener?.(signal, listener);
    } catch {
      // A signal the platform does not have (SIGTERM on Windows).
    }
  }
}

/** Node and Bun: a one-time listener per signal; then the signal again, unless others listen. */
function onProcessSignals(process: ProcessSignals): void {
  for (const signal of Object.keys(SIGNALS) as Signal[]) {
    process.once?.(signal, () =>
      shutdownThen(() => {
        // With listeners of the program's own, the signal is theirs to act on.
        if ((process.listenerCount?.(signal) ?? 0) === 0) process.kill?.(process.pid!, signal);
      }));
  }
}

try {
  const global = globalThis as { Deno?: DenoSignals; process?: ProcessSignals };
  if (typeof global.Deno?.addSignalListener === "function") onDenoSignals(global.Deno);
  else if (typeof global.process?.once === "function") onProcessSignals(global.process);
} catch {
  // A runtime without signals: the shutdown at the end of the program remains.
}
