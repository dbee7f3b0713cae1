// Timers of the pipeline: the runtime's setTimeout without keeping the program alive, and the
// overall deadline of forceFlush and shutdown.

/** The longest delay timers take (2^31 - 1 ms); a longer one would fire at once. */
export const MAX_TIMER_DELAY = 2147483647;

/** Lets a timer of the runtime not keep the program alive. */
export function unrefTimer(handle: unknown): void {
  try {
    if (typeof handle === "object" && handle !== null) {
      const unref = (handle as { unref?: unknown }).unref;
      if (typeof unref === "function") unref.call(handle);
      return;
    }
    const deno = (globalThis as { Deno?: { unrefTimer?: (id: number) => void } }).Deno;
    if (typeof handle === "number" && typeof deno?.unrefTimer === "function") {
      deno.unrefTimer(handle);
    }
  } catch {
    // A timer that stays referenced only delays the program's end.
  }
}

/** Promise jobs to wait for work that is as good as done before a timer is made for it. */
export const QUICK_JOBS = 64;

/**
 * Whether `work` settles within `jobs` promise jobs (the callbacks queued in the meantime run
 * too): work that waits for nothing (no export under way) does, and then needs no timer.
 * Making the first timer loads the runtime's timer code, which takes Deno a few milliseconds
 * of a short program's life.
 */
export async function settlesSoon(work: PromiseLike<unknown>, jobs: number): Promise<boolean> {
  let done = false;
  Promise.resolve(work).then(() => done = true, () => done = true);
  for (let i = 0; i < jobs && !done; i++) await undefined;
  return done;
}

/**
 * Waits for `work`, at most `ms` milliseconds (`Infinity`: no limit); resolves `true` when it
 * settled in time, `false` when the time ran out first. The timer never keeps the program
 * alive, and `work` rejecting counts as settled. Work done within a few promise jobs needs no
 * timer.
 */
export async function settlesWithin(work: PromiseLike<unknown>, ms: number): Promise<boolean> {
  const settled = Promise.resolve(work).then(() => true, () => true);
  if (ms === Infinity || await settlesSoon(settled, QUICK_JOBS)) return settled;
  return await new Promise<boolean>((resolve) => {
    const handle = globalThis.setTimeout(() => resolve(false), Math.min(ms, MAX_TIMER_DELAY));
    unrefTimer(handle);
    settled.then(() => {
      globalThis.clearTimeout(handle);
      resolve(true);
    });
  });
}

/**
 * Checks the `timeoutMillis` of a flush or shutdown: from 0 to 2^31 - 1, or `Infinity`.
 *
 * @throws {TypeError} When it is not a number.
 * @throws {RangeError} When it is out of range.
 */
export function checkTimeoutMillis(value: unknown, what: string): number {
  if (typeof value !== "number") {
    throw new TypeError(`${what}: timeoutMillis must be a number, got ${typeof value}`);
  }
  if (value === Infinity || (value >= 0 && value <= MAX_TIMER_DELAY)) return value;
  throw new RangeError(
    `${what}: timeoutMillis must be from 0 to ${MAX_TIMER_DELAY} or Infinity, got ${value}`,
  );
}

/** Reads `options.timeoutMillis` of a flush or shutdown, or `fallback` when it is left out. */
export function timeoutOption(options: unknown, fallback: number, what: string): number {
  if (options === undefined) return fallback;
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`${what}: options must be an object`);
  }
  const value = (options as { timeoutMillis?: unknown }).timeoutMillis;
  return value === undefined ? fallback : checkTimeoutMillis(value, what);
}
