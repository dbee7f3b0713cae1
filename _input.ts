// Input that telemetry cannot use: read defensively, ignored, and reported once per kind. An
// option is read once, inside a guard, so that a throwing getter or a revoked proxy counts as
// not given; `where` names the method and the option in the report.

import { ReportOnce } from "./_report.ts";

const reporter = new ReportOnce();
const parties = new Map<string, object>();

/** Reports input that a method could not use (and so ignored), once per `where`. */
export function reportUnusable(where: string, error: unknown): void {
  let party = parties.get(where);
  if (party === undefined) parties.set(where, party = {});
  reporter.report(party, error, where);
}

/** Reads one option; one that cannot be read is reported once and counts as not given. */
export function readOption<T, K extends keyof T & string>(
  options: T,
  key: K,
  where: string,
): T[K] | undefined {
  try {
    return options[key];
  } catch (error) {
    reportUnusable(`${where} option ${key}`, error);
    return undefined;
  }
}
