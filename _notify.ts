// The one loop that tells listeners and processors about an activity: each target is called in
// turn; one that throws is reported once and the others are still called. Each caller passes a
// function of its own that makes the call (`(listener, activity) => listener.activityStopped?.
// (activity)`), so that every method is looked up where its targets are known.

import type { ReportOnce } from "./_diagnostics.ts";

/** Calls `call(target, argument)` for every target; never throws. */
export function notifyEach<T extends object, A>(
  targets: readonly T[],
  call: (target: T, argument: A) => void,
  argument: A,
  reporter: ReportOnce,
  where: string,
): void {
  for (let i = 0; i < targets.length; i++) {
    const target = targets[i]!;
    try {
      call(target, argument);
    } catch (error) {
      reporter.report(target, error, where);
    }
  }
}
