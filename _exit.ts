// The end of the program, for providers that were not shut down. Two moments exist:
//
// - The event loop is empty and the program is about to end normally: Deno's `beforeunload`
//   event, Node's and Bun's `process` `beforeExit`. Work started then keeps the program alive
//   (Deno also needs the event cancelled), so a provider can still shut down and export.
// - The program ends now: Deno's `unload` (after `Deno.exit()` too), the `process` `exit` event.
//   Listeners there cannot wait; only synchronous work happens, the rest can only be reported.
//
// Nothing is installed in browsers, where `beforeunload` would ask the user to stay on the page.

import { MAX_TIMER_DELAY, QUICK_JOBS, settlesSoon } from "./_timers.ts";

/** What a participant does at each moment. */
export interface ExitHooks {
  /** The event loop is empty: start what is left; the program lives until the promise settles. */
  beforeExit(): Promise<void> | undefined;
  /** The program ends now: synchronous last work and reports. */
  exit(): void;
}

const participants = new Set<ExitHooks>();
let installed = false;

/** Calls `hooks` when the program ends, until {@linkcode offProgramExit}. */
export function onProgramExit(hooks: ExitHooks): void {
  participants.add(hooks);
  if (!installed) install();
}

/** Stops calling `hooks` at the end of the program. */
export function offProgramExit(hooks: ExitHooks): void {
  participants.delete(hooks);
}

interface EventTargetLike {
  addEventListener?(type: string, listener: (event: Event) => void): void;
}

interface ProcessLike {
  on?(event: string, listener: () => void): unknown;
}

function install(): void {
  installed = true;
  try {
    const global = globalThis as EventTargetLike & { Deno?: unknown; process?: ProcessLike };
    if (global.Deno !== undefined) {
      if (typeof global.addEventListener !== "function") return;
      global.addEventListener("beforeunload", (event) => {
        // Cancelling the event keeps the program running; the interval keeps it alive.
        if (beforeExit()) event.preventDefault();
      });
      global.addEventListener("unload", exit);
      return;
    }
    const process = global.process;
    if (typeof process?.on === "function") {
      process.on("beforeExit", beforeExit);
      process.on("exit", exit);
    }
  } catch {
    // A runtime without these events: nothing happens at exit.
  }
}

/** Starts every participant's last work; returns whether some is under way. */
function beforeExit(): boolean {
  const work: Promise<void>[] = [];
  for (const hooks of [...participants]) {
    try {
      const result = hooks.beforeExit();
      if (result !== undefined) work.push(result);
    } catch {
      // A participant that fails here has nothing more to do.
    }
  }
  if (work.length === 0) return false;
  void holdUntil(Promise.allSettled(work));
  return true;
}

/**
 * Keeps the program alive until `work` settles: with an interval, unless the work is done
 * within the promise jobs that run before the runtime looks for more to do (its own timers
 * wait that long and more before they are made).
 */
async function holdUntil(work: Promise<unknown>): Promise<void> {
  if (await settlesSoon(work, QUICK_JOBS * 8)) return;
  try {
    const hold = globalThis.setInterval(() => {}, MAX_TIMER_DELAY);
    work.then(() => globalThis.clearInterval(hold));
  } catch {
    // Without an interval, the work keeps the program alive only if it holds something itself.
  }
}

function exit(): void {
  for (const hooks of [...participants]) {
    try {
      hooks.exit();
    } catch {
      // Nothing left to do for it.
    }
  }
}
