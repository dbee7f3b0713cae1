/**
 * Two exporters of the core: the {@linkcode ConsoleExporter} that prints each recorded
 * activity in the layout of OpenTelemetry .NET's console exporter, and the
 * {@linkcode InMemoryExporter} for tests. The contract they implement, `ActivityExporter`, is in
 * processor.ts.
 *
 * @example Print a record into a string
 * ```ts
 * import { ActivitySource, ConsoleExporter, createTracerProviderBuilder } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * let out = "";
 * using _provider = createTracerProviderBuilder()
 *   .addSource("MyCompany.MyApplication")
 *   .addExporter(new ConsoleExporter({ write: (text) => out += text }))
 *   .build();
 * new ActivitySource("MyCompany.MyApplication").startActivity("Work")?.stop();
 * assert.match(out, /^Activity\.TraceId: {12}[0-9a-f]{32}\n/);
 * assert.match(out, /\nActivity\.DisplayName: {8}Work\n/);
 * ```
 *
 * @module
 */

import type { Activity, ActivitySourceInfo } from "./activity.ts";
import type { ActivityEvent } from "./event.ts";
import type { ActivityLink } from "./links.ts";
import type { ActivityKind } from "./kind.ts";
import type { TagList } from "./tags.ts";
import type { ActivityExporter } from "./processor.ts";
import type { Resource } from "./resource.ts";
import { TRACE_FLAG_RANDOM_TRACE_ID, TRACE_FLAG_RECORDED } from "./ids.ts";
import {
  escapeControl,
  formatDuration,
  formatTagValue,
  formatTimestamp,
  safeString,
} from "./_format.ts";
import { writeStdout } from "./_stdout.ts";
import { withoutDefaults } from "./_default_resource.ts";

/** Options of {@linkcode ConsoleExporter} and {@linkcode formatConsoleRecord}. */
export interface ConsoleFormatOptions {
  /**
   * `"guide"`: the layout of OpenTelemetry .NET 1.4 to 1.7, as the links guide shows it.
   * `"scope"`: the layout of 1.10 and later, with an `Instrumentation scope` block instead of
   * the `Activity.ActivitySourceName` line.
   * @default {"guide"}
   */
  layout?: "guide" | "scope";
  /**
   * Name the random-trace-id flag on the TraceFlags line (`Recorded, RandomTraceId`), as
   * .NET 11 does; by default only `Recorded` or `None` is printed, as in the guide.
   * @default {false}
   */
  showRandomTraceIdFlag?: boolean;
}

/** Options of {@linkcode ConsoleExporter}. */
export interface ConsoleExporterOptions extends ConsoleFormatOptions {
  /**
   * Receives each record, one call per record. The default writes to standard output
   * (`Deno.stdout`, `process.stdout`, or `console.log` where neither exists).
   * @default {stdout}
   */
  write?: (text: string) => void;
}

const KIND_NAMES: Record<ActivityKind, string> = {
  internal: "Internal",
  server: "Server",
  client: "Client",
  producer: "Producer",
  consumer: "Consumer",
};

const COLUMN = 29;

// Labels padded to the value column, made once per label.
const PADDED_LABELS = new Map<string, string>();

function line(label: string, value: string): string {
  let padded = PADDED_LABELS.get(label);
  if (padded === undefined) {
    padded = `${label.padEnd(COLUMN - 1)} `;
    PADDED_LABELS.set(label, padded);
  }
  return `${padded}${value}\n`;
}

function tagLines(tags: TagList, indent: string): string {
  let out = "";
  for (const [key, value] of tags) {
    out += `${indent}${escapeControl(key)}: ${formatTagValue(value)}\n`;
  }
  return out;
}

/**
 * Formats one activity as a console record: the exact lines of OpenTelemetry .NET's console
 * exporter followed by one empty line. Control characters in names and values are escaped so
 * that a record is always exactly its own lines.
 *
 * @param activity A stopped activity.
 * @param resource The resource: its attributes beyond the default ones of `defaultResource()`
 * (those the program or its environment set) print at the end, when there are any.
 * @param options Layout choices.
 * @returns The record, ending with `"\n\n"`.
 *
 * @example The guide's fanned-out record
 * ```ts
 * import { ActivitySource, formatConsoleRecord, createTracerProviderBuilder } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * using _provider = createTracerProviderBuilder().addSource("MyCompany.MyApplication").build();
 * const activity = new ActivitySource("MyCompany.MyApplication").startActivity("FannedOutActivity 1")!;
 * activity.stop();
 * const lines = formatConsoleRecord(activity).split("\n");
 * assert.equal(lines[2], "Activity.TraceFlags:         Recorded");
 * assert.equal(lines[3], "Activity.ActivitySourceName: MyCompany.MyApplication");
 * ```
 */
export function formatConsoleRecord(
  activity: Activity,
  resource?: Resource,
  options: ConsoleFormatOptions = {},
): string {
  const scopeLayout = options.layout === "scope";
  let out = headerLines(activity, scopeLayout, options.showRandomTraceIdFlag === true) +
    tagAndStatusLines(activity);
  const events = activity.events;
  if (events.length > 0) out += eventLines(events);
  const links = activity.links;
  if (links.length > 0) out += linkLines(links);
  if (scopeLayout) out += scopeLines(activity.source);
  if (resource !== undefined) out += resourceBlock(resource);
  return out + "\n";
}

// The resource block of each resource printed, made once: resources never change.
const RESOURCE_BLOCKS = new WeakMap<Resource, string>();

/**
 * The `Resource associated with Activity:` block, as OpenTelemetry .NET prints it, with the
 * attributes beyond the default ones (`defaultResource()`): those the program or its environment
 * set. Nothing when there are none, as in the guide's output.
 */
function resourceBlock(resource: Resource): string {
  let block = RESOURCE_BLOCKS.get(resource);
  if (block === undefined) {
    const attributes = withoutDefaults(resource.attributes);
    block = attributes.length === 0
      ? ""
      : "Resource associated with Activity:\n" + tagLines(attributes, "    ");
    RESOURCE_BLOCKS.set(resource, block);
  }
  return block;
}

/** The lines from `Activity.TraceId` to `Activity.Duration`. */
function headerLines(activity: Activity, scopeLayout: boolean, randomFlag: boolean): string {
  const flags = activity.traceFlags;
  let flagText = (flags & TRACE_FLAG_RECORDED) !== 0 ? "Recorded" : "None";
  if (randomFlag && (flags & TRACE_FLAG_RANDOM_TRACE_ID) !== 0) {
    flagText = flagText === "None" ? "RandomTraceId" : `${flagText}, RandomTraceId`;
  }
  let out = line("Activity.TraceId:", activity.traceId) +
    line("Activity.SpanId:", activity.spanId) +
    line("Activity.TraceFlags:", flagText);
  const traceState = activity.traceState;
  if (traceState !== undefined && traceState !== "") {
    out += line("Activity.TraceState:", escapeControl(traceState));
  }
  if (activity.parentSpanId !== undefined) {
    out += line("Activity.ParentSpanId:", activity.parentSpanId);
  }
  if (!scopeLayout) {
    out += line("Activity.ActivitySourceName:", escapeControl(activity.source.name));
  }
  return out + line("Activity.DisplayName:", escapeControl(activity.displayName)) +
    line("Activity.Kind:", KIND_NAMES[activity.kind]) +
    line("Activity.StartTime:", formatTimestamp(activity.startTimeUnixNano)) +
    line("Activity.Duration:", formatDuration(activity.durationTicks));
}

/**
 * The tags, then the status: the activity's own status, else the `otel.status_code` and
 * `otel.status_description` tags, which are not printed among the tags.
 */
function tagAndStatusLines(activity: Activity): string {
  let out = "";
  const tags = activity.tags;
  let statusTag: unknown;
  let statusDescriptionTag: unknown;
  if (tags.length > 0) {
    out += "Activity.Tags:\n";
    for (const [key, value] of tags) {
      if (key === "otel.status_code") statusTag = value;
      else if (key === "otel.status_description") statusDescriptionTag = value;
      else out += `    ${escapeControl(key)}: ${formatTagValue(value)}\n`;
    }
  }
  if (activity.status !== "unset") {
    out += `StatusCode: ${activity.status === "ok" ? "Ok" : "Error"}\n`;
    const description = activity.statusDescription;
    if (activity.status === "error" && description !== undefined && description !== "") {
      out += line("Activity.StatusDescription:", escapeControl(description));
    }
  } else if (isPrinted(statusTag)) {
    out += `    StatusCode: ${formatTagValue(statusTag)}\n`;
    if (isPrinted(statusDescriptionTag)) {
      out += `    Activity.StatusDescription: ${formatTagValue(statusDescriptionTag)}\n`;
    }
  }
  return out;
}

function isPrinted(value: unknown): boolean {
  return value !== undefined && value !== null && value !== "";
}

function eventLines(events: readonly ActivityEvent[]): string {
  let out = "Activity.Events:\n";
  for (const event of events) {
    out += `    ${escapeControl(event.name)} [${formatTimestamp(event.timeUnixNano)}]\n`;
    out += tagLines(event.tags, "        ");
  }
  return out;
}

function linkLines(links: readonly ActivityLink[]): string {
  let out = "Activity.Links:\n";
  for (const link of links) {
    out += `    ${link.context.traceId} ${link.context.spanId}\n`;
    out += tagLines(link.tags, "        ");
  }
  return out;
}

/** The `Instrumentation scope` block of the `"scope"` layout, its tags sorted by key. */
function scopeLines(source: ActivitySourceInfo): string {
  let out = "Instrumentation scope (ActivitySource):\n";
  out += `    Name: ${escapeControl(source.name)}\n`;
  if (source.version !== undefined && source.version !== "") {
    out += `    Version: ${escapeControl(source.version)}\n`;
  }
  if (source.tags.length > 0) {
    out += "    Tags:\n";
    const sorted = [...source.tags].sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
    out += tagLines(sorted, "        ");
  }
  return out;
}

/**
 * Prints each recorded activity as OpenTelemetry .NET's console exporter does (the layout the
 * links guide shows), one write per record.
 *
 * @example Capture records in tests
 * ```ts
 * import { ActivitySource, ConsoleExporter, createTracerProviderBuilder } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * const records: string[] = [];
 * using _provider = createTracerProviderBuilder()
 *   .addSource("App")
 *   .addConsoleExporter({ write: (text) => records.push(text), layout: "scope" })
 *   .build();
 * new ActivitySource("App", "1.2.0").startActivity("Work")?.stop();
 * assert.match(records[0]!, /\nInstrumentation scope \(ActivitySource\):\n {4}Name: App\n {4}Version: 1\.2\.0\n/);
 * ```
 */
export class ConsoleExporter implements ActivityExporter {
  readonly #write: (text: string) => void;
  readonly #format: ConsoleFormatOptions;
  #shutdown = false;

  /**
   * Makes the exporter.
   *
   * @param options The layout and where records go.
   * @throws {TypeError} When `write` is not a function or `layout` is unknown.
   */
  constructor(options: ConsoleExporterOptions = {}) {
    if (options.write !== undefined && typeof options.write !== "function") {
      throw new TypeError("Cannot make ConsoleExporter: write must be a function");
    }
    if (options.layout !== undefined && options.layout !== "guide" && options.layout !== "scope") {
      throw new TypeError(
        `Cannot make ConsoleExporter: layout must be "guide" or "scope", got ${
          safeString(options.layout)
        }`,
      );
    }
    this.#write = options.write ?? writeStdout;
    this.#format = { layout: options.layout ?? "guide" };
    if (options.showRandomTraceIdFlag !== undefined) {
      this.#format.showRandomTraceIdFlag = options.showRandomTraceIdFlag;
    }
  }

  /**
   * Writes one record per activity. When the writer throws, the other records are still
   * written and the first error is rethrown for the processor to report.
   *
   * @param activities The activities.
   * @param resource The provider's resource.
   * @throws {unknown} The first error of the writer.
   */
  export(activities: readonly Activity[], resource: Resource): void {
    if (this.#shutdown) return;
    let failure: { error: unknown } | undefined;
    for (const activity of activities) {
      try {
        this.#write(formatConsoleRecord(activity, resource, this.#format));
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure !== undefined) throw failure.error;
  }

  /** Stops writing; later exports do nothing. */
  shutdown(): void {
    this.#shutdown = true;
  }
}

/**
 * Keeps exported activities in an array, for tests (.NET's `AddInMemoryExporter`).
 *
 * @example
 * ```ts
 * import { ActivitySource, createTracerProviderBuilder, InMemoryExporter } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * const exporter = new InMemoryExporter();
 * using _provider = createTracerProviderBuilder().addSource("App").addInMemoryExporter(exporter).build();
 * new ActivitySource("App").startActivity("Work")?.stop();
 * assert.equal(exporter.activities.length, 1);
 * exporter.reset();
 * assert.equal(exporter.activities.length, 0);
 * ```
 */
export class InMemoryExporter implements ActivityExporter {
  /** The exported activities, in export order. */
  readonly activities: Activity[];
  #shutdown = false;

  /**
   * Makes the exporter.
   *
   * @param target An array to append to, as .NET's `AddInMemoryExporter(list)`; a new one by
   * default.
   * @throws {TypeError} When `target` is not an array.
   */
  constructor(target: Activity[] = []) {
    if (!Array.isArray(target)) {
      throw new TypeError("Cannot make InMemoryExporter: target must be an array");
    }
    this.activities = target;
  }

  /**
   * Appends the activities.
   *
   * @param activities The activities.
   * @param _resource Not kept.
   */
  export(activities: readonly Activity[], _resource: Resource): void {
    if (this.#shutdown) return;
    const target = this.activities;
    for (let i = 0; i < activities.length; i++) target.push(activities[i]!);
  }

  /** Empties the array. */
  reset(): void {
    this.activities.length = 0;
  }

  /** Stops appending; what was exported stays readable. */
  shutdown(): void {
    this.#shutdown = true;
  }
}
