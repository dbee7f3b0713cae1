/**
 * The two fixed vocabularies of an activity: its kind ({@linkcode ActivityKind}, OpenTelemetry's
 * span kinds) and its status code ({@linkcode ActivityStatusCode}).
 *
 * @example A server activity that failed
 * ```ts
 * import { ActivitySource, createTracerProviderBuilder } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * using _provider = createTracerProviderBuilder().addSource("Kinds").build();
 * using activity = new ActivitySource("Kinds").startActivity("GET /", { kind: "server" })!;
 * activity.setStatus("error", "Database down");
 * assert.equal(activity.kind, "server");
 * assert.equal(activity.status, "error");
 * ```
 *
 * @module
 */

import { reportUnusable } from "./_diagnostics.ts";

/** The role of an activity, as OpenTelemetry's span kinds. */
export type ActivityKind = "internal" | "server" | "client" | "producer" | "consumer";

/** The status of an activity: `"unset"` until set, then `"ok"` or `"error"`. */
export type ActivityStatusCode = "unset" | "ok" | "error";

/** Every activity kind. */
export const ACTIVITY_KINDS: ReadonlySet<string> = new Set<ActivityKind>([
  "internal",
  "server",
  "client",
  "producer",
  "consumer",
]);

/** Every status code. */
export const ACTIVITY_STATUS_CODES: ReadonlySet<string> = new Set<ActivityStatusCode>([
  "unset",
  "ok",
  "error",
]);

/**
 * The kind a caller gave, in any case (`"Server"`, as .NET's `ActivityKind.Server`, is
 * `"server"`); an unknown kind is reported once, as `where`, and taken as `"internal"`.
 */
export function toActivityKind(kind: unknown, where: string): ActivityKind {
  if (typeof kind === "string" && ACTIVITY_KINDS.has(kind)) return kind as ActivityKind;
  const lower = typeof kind === "string" ? kind.toLowerCase() : undefined;
  if (lower !== undefined && ACTIVITY_KINDS.has(lower)) return lower as ActivityKind;
  reportUnusable(
    where,
    new TypeError(
      `Cannot use kind ${
        typeof kind === "string" ? JSON.stringify(kind.slice(0, 40)) : typeof kind
      }: expected one of ${[...ACTIVITY_KINDS].join(", ")}; "internal" is used`,
    ),
  );
  return "internal";
}
