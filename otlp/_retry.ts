// The retry loop shared by the OTLP transports (HTTP and gRPC): attempts until one is accepted,
// the answer is final, the attempts are used up, the export's deadline passes, or a shutdown
// gives up; between attempts, exponential backoff with jitter, or the wait the receiver asked
// for. Each transport says what one attempt did; this loop decides whether to go on.

import { MAX_TIMER_DELAY } from "../_timers.ts";

/** How failed requests are retried: attempts, and the backoff between them. */
export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly initialBackoff: number;
  readonly maxBackoff: number;
  readonly multiplier: number;
}

/** What the receiver last answered: the HTTP status, and the gRPC status code for gRPC. */
export interface LastAnswer {
  readonly status: number | undefined;
  readonly grpcStatus?: number | undefined;
}

/** Why an export failed. */
export interface Failure extends LastAnswer {
  readonly ok: false;
  readonly message: string;
  readonly attempts: number;
  /** A missing permission and an export given up at shutdown are said apart. */
  readonly kind: "failed" | "permission" | "abandoned";
}

/** How an export went: accepted (with what the transport read), or why it failed. */
export type Outcome<T> = {
  readonly ok: true;
  readonly value: T;
  readonly attempts: number;
  /** The signal of the last attempt, which bounds reading the response. */
  readonly signal: AbortSignal;
} | Failure;

/** One attempt: a final outcome, or a problem worth another attempt (after `wait`, if given). */
export type Attempt<T> =
  | { readonly done: Outcome<T> }
  | (LastAnswer & { readonly problem: string; readonly wait?: number | undefined });

/** A failure. */
export function failed(
  message: string,
  last: LastAnswer,
  attempts: number,
  kind: Failure["kind"] = "failed",
): Failure {
  return { ok: false, message, status: last.status, grpcStatus: last.grpcStatus, attempts, kind };
}

/** An export given up by a shutdown whose time was up. */
export function abandoned(last: LastAnswer, attempts: number): Failure {
  return failed("given up when the exporter was shut down", last, attempts, "abandoned");
}

/** What the settings of a retried export say. */
export interface RetrySettings {
  readonly retry: RetryPolicy;
  /** How long the whole export may take, in milliseconds (for messages). */
  readonly timeout: number;
}

/**
 * Calls `attempt` until it is done, the attempts are used up, the `deadline` (a `Date.now()`
 * value) passes, or `abandon` aborts. Each attempt gets a signal that aborts at the deadline or
 * with `abandon`, its number (from 1), and the last answer.
 */
export async function retrying<T>(
  settings: RetrySettings,
  deadline: number,
  abandon: AbortSignal,
  attempt: (signal: AbortSignal, n: number, last: LastAnswer) => Promise<Attempt<T>>,
): Promise<Outcome<T>> {
  const { maxAttempts, initialBackoff, maxBackoff, multiplier } = settings.retry;
  let last: LastAnswer = { status: undefined };
  for (let n = 1;; n++) {
    if (abandon.aborted) return abandoned(last, n - 1);
    const remaining = deadline - Date.now();
    if (remaining <= 0) return failed(`timed out after ${settings.timeout} ms`, last, n - 1);
    const signal = eitherSignal(AbortSignal.timeout(Math.min(remaining, MAX_TIMER_DELAY)), abandon);
    const result = await attempt(signal, n, last);
    if ("done" in result) return result.done;
    last = { status: result.status, grpcStatus: result.grpcStatus };
    if (n >= maxAttempts) return failed(result.problem, last, n);
    let wait = result.wait;
    if (wait === undefined) {
      const base = Math.min(maxBackoff, initialBackoff * multiplier ** (n - 1));
      wait = base / 2 + Math.random() * base / 2;
    }
    if (Date.now() + wait >= deadline) {
      return failed(
        `${result.problem} (the next attempt, in ${
          Math.round(wait)
        } ms, would pass the ${settings.timeout} ms timeout)`,
        last,
        n,
      );
    }
    await sleep(wait, abandon);
  }
}

/**
 * Settles as `promise` does, or rejects with the signal's reason when it aborts first: the
 * timeout holds even for a `fetch`, a body stream or a connection that ignores the signal.
 */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const abort = (): void => reject(signal.reason);
    signal.addEventListener("abort", abort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", abort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", abort);
        reject(error);
      },
    );
  });
}

/** Waits `ms` milliseconds, or less when `signal` aborts first. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, Math.min(ms, MAX_TIMER_DELAY));
    signal.addEventListener("abort", done, { once: true });
  });
}

/** A signal that aborts when either does (`AbortSignal.any` where the runtime has it). */
function eitherSignal(a: AbortSignal, b: AbortSignal): AbortSignal {
  const any = (AbortSignal as { any?: (signals: AbortSignal[]) => AbortSignal }).any;
  if (typeof any === "function") return any.call(AbortSignal, [a, b]);
  const controller = new AbortController();
  for (const signal of [a, b]) {
    if (signal.aborted) controller.abort(signal.reason);
    else signal.addEventListener("abort", () => controller.abort(signal.reason), { once: true });
  }
  return controller.signal;
}
