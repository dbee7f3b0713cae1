// The timers of a BatchProcessor: its scheduled delay, export timeouts, retry waits, and the hold
// that keeps the program alive while a flush is awaited. The runtime's timers are unreferenced,
// so that they never keep the program alive; timers a caller injects are used as given. A timer
// function that throws is reported, and the work runs on the next turn rather than never.

import { type ErrorHandler, safeReport } from "./_diagnostics.ts";
import { MAX_TIMER_DELAY, unrefTimer } from "./_timers.ts";
import { type BatchTimers, RUNTIME_TIMERS } from "./batch_options.ts";

/** The export finished in time. */
export const OK = 0;
/** The time ran out first. */
export const TIMED_OUT = 1;
/** How a bounded wait ended: in time, out of time, or with an error. */
export type Outcome = typeof OK | typeof TIMED_OUT | { error: unknown };

/** The longest wait before a retry. */
const MAX_RETRY_DELAY = 60_000;

function noop(): void {}

/**
 * The wait before retry `attempt` + 1: the error's `retryAfterMillis` when it has one, else
 * `retryDelay` doubled after each attempt; at most 60 s.
 */
export function backoff(attempt: number, error: unknown, retryDelay: number): number {
  let after: unknown;
  try {
    after = (error as { retryAfterMillis?: unknown }).retryAfterMillis;
  } catch {
    // A hostile error object: the usual backoff.
  }
  if (typeof after === "number" && after >= 0 && Number.isFinite(after)) {
    return Math.min(after, MAX_RETRY_DELAY);
  }
  return Math.min(retryDelay * 2 ** (attempt - 1), MAX_RETRY_DELAY);
}

/** A batch processor's timers, reporting a failing timer function to the processor's handler. */
export class BatchClock {
  readonly #timers: BatchTimers;
  readonly #own: boolean;
  readonly #onError: () => ErrorHandler;

  /**
   * @param timers The timers a caller gave, or `undefined` for the runtime's.
   * @param onError The processor's handler at the time of a report.
   */
  constructor(timers: BatchTimers | undefined, onError: () => ErrorHandler) {
    this.#timers = timers ?? RUNTIME_TIMERS;
    this.#own = timers === undefined;
    this.#onError = onError;
  }

  /** Calls `callback` after `delay` ms; on the next turn when the timer cannot be set. */
  set(callback: () => void, delay: number): unknown {
    try {
      const handle = this.#timers.setTimeout(callback, delay);
      if (this.#own) unrefTimer(handle);
      return handle;
    } catch (error) {
      // Without a timer, run on the next turn rather than never.
      safeReport(this.#onError(), error, "BatchProcessor timers.setTimeout");
      queueMicrotask(callback);
      return undefined;
    }
  }

  /** Cancels a timer, reporting a `clearTimeout` that throws. */
  clear(handle: unknown): void {
    try {
      this.#timers.clearTimeout(handle);
    } catch (error) {
      safeReport(this.#onError(), error, "BatchProcessor timers.clearTimeout");
    }
  }

  /** Waits for a promise, at most `ms` milliseconds (`Infinity`: no limit). */
  within(promise: PromiseLike<unknown>, ms: number): Promise<Outcome> {
    if (ms === Infinity) {
      return Promise.resolve(promise).then(() => OK, (error: unknown) => ({ error }));
    }
    return new Promise<Outcome>((resolve) => {
      let done = false;
      const handle = this.set(() => {
        if (done) return;
        done = true;
        resolve(TIMED_OUT);
      }, ms);
      const finish = (outcome: Outcome) => {
        if (done) return;
        done = true;
        try {
          this.#timers.clearTimeout(handle);
        } catch {
          // The timer fires later and finds the outcome settled.
        }
        resolve(outcome);
      };
      Promise.resolve(promise).then(() => finish(OK), (error: unknown) => finish({ error }));
    });
  }

  /** Resolves after `ms` milliseconds. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.set(resolve, ms);
    });
  }

  /**
   * Keeps the program alive while a flush or shutdown is awaited (the runtime's timers only);
   * returns the function that lets it go.
   */
  hold(): () => void {
    if (!this.#own) return noop;
    try {
      const handle = globalThis.setInterval(noop, MAX_TIMER_DELAY);
      return () => globalThis.clearInterval(handle);
    } catch {
      return noop;
    }
  }
}
