// The module's name and version, as its telemetry reports them (`telemetry.sdk.name`,
// `telemetry.sdk.version`). deno.json is the source of truth: tests/_version_test.ts fails when
// these differ from its `name` and `version`, so a release that changes one changes both.

/** The module's name, from deno.json. */
export const MODULE_NAME = "@tracelinks/activity";

/** The module's version, from deno.json. */
export const MODULE_VERSION = "0.1.0";
