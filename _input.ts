// Input that telemetry cannot use is ignored and reported once per kind: `where` names the
// method and the option, such as "Activity.addEvent() option timestamp".

import { ReportOnce } from "./_report.ts";

const reporter = new ReportOnce();
const parties = new Map<string, object>();

/** Reports input that a method could not use (and so ignored), once per `where`. */
export function reportUnusable(where: string, error: unknown): void {
  let party = parties.get(where);
  if (party === undefined) parties.set(where, party = {});
  reporter.report(party, error, where);
}
