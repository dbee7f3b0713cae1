/**
 * {@linkcode renderHtmlReport}: a self-contained HTML report of linked traces, a waterfall per
 * group of traces related through links and an arrow per link, bounded in size.
 *
 * @example A report with one trace
 * ```ts
 * import { ActivitySource, createTracerProviderBuilder } from "@tracelinks/activity";
 * import { LinkGraph, renderHtmlReport } from "@tracelinks/activity/graph";
 * import assert from "node:assert/strict";
 *
 * const graph = new LinkGraph();
 * using _provider = createTracerProviderBuilder().addSource("Report.Module").addProcessor(graph).build();
 * new ActivitySource("Report.Module").startActivity("Work")?.stop();
 * assert.match(renderHtmlReport(graph), /<title>Linked traces<\/title>/);
 * ```
 *
 * @module
 */

import type { LinkGraph, RelatedTraces } from "./link_graph.ts";
import { Report } from "./_html.ts";
import { count, page } from "./_html_page.ts";

/** Options of `renderHtmlReport`. */
export interface HtmlReportOptions {
  /**
   * The page's title and heading.
   * @default {"Linked traces"}
   */
  title?: string;
  /**
   * Only the groups of linked traces that contain one of these traces; every group by default.
   * @default {undefined}
   */
  traceIds?: readonly string[];
  /**
   * The most tags, events, links out and links in listed for one activity, and tags for one
   * event or link (the first ones, in order); the rest are counted (`… and 999,872 more links`).
   * Arrows are drawn for the links listed.
   * @default {128}
   */
  maxItems?: number;
  /**
   * About the most characters of the document. Once it is reached, further activities, external
   * spans and arrows are left out and counted, so that a graph of any size gives a report a
   * browser can open (and a string JavaScript can hold).
   * @default {20000000}
   */
  maxLength?: number;
}

/**
 * Writes a self-contained HTML report of linked traces: no network, no external file, opened
 * from disk. Each group of related traces gets a waterfall timeline on a shared time axis, a
 * row per activity, an arrow per link between the two activities (drawn by an inline script,
 * redrawn when the window changes), and details (ids, tags, events, links in and out) that
 * open on click. Every text taken from activities is escaped, so names and tag values show as
 * text; a Content-Security-Policy with a fresh nonce lets only the report's own script run.
 * The document stays bounded: an activity lists at most `maxItems` tags, events and links each
 * (the rest counted), a text is cut at 4,096 characters, and past `maxLength` characters further
 * activities are left out and counted.
 *
 * @param graph The graph.
 * @param options The title, which traces to include, and the bounds.
 * @returns The HTML document.
 * @throws {TypeError} When `title` is not a string.
 * @throws {RangeError} When `maxItems` or `maxLength` is not a whole number in range.
 *
 * @example
 * ```ts
 * import { ActivitySource, createTracerProviderBuilder } from "@tracelinks/activity";
 * import { LinkGraph, renderHtmlReport } from "@tracelinks/activity/graph";
 * import assert from "node:assert/strict";
 *
 * const graph = new LinkGraph();
 * using _provider = createTracerProviderBuilder().addSource("Report.Example").addProcessor(graph).build();
 * new ActivitySource("Report.Example").startActivity("<b>Work</b>")?.stop();
 * const html = renderHtmlReport(graph, { title: "Checkout" });
 * assert.match(html, /^<!doctype html>/);
 * assert.ok(html.includes("&lt;b&gt;Work&lt;/b&gt;"));
 * assert.ok(!html.includes("<b>Work"));
 * ```
 */
export function renderHtmlReport(graph: LinkGraph, options: HtmlReportOptions = {}): string {
  const { title, maxItems, maxLength } = checkOptions(options);
  const wanted = options.traceIds === undefined ? undefined : new Set(options.traceIds);
  const groups = graph.groups().filter((g) =>
    wanted === undefined || g.traces.some((tr) => wanted.has(tr.traceId))
  );
  const report = new Report(graph, { maxItems, maxLength });
  groups.forEach((group, i) => report.group(i + 1, group));
  if (report.omittedGroups > 0) {
    report.parts.push(
      `<p class="omitted">Not shown: ${count(report.omittedGroups)} more group${
        report.omittedGroups === 1 ? "" : "s"
      } (the report reached its size limit of ${count(maxLength)} characters)</p>`,
    );
  }
  return page(title, summary(graph, groups, report.omittedActivities), report.parts);
}

function checkOptions(
  options: HtmlReportOptions,
): { title: string; maxItems: number; maxLength: number } {
  const title = options.title ?? "Linked traces";
  if (typeof title !== "string") {
    throw new TypeError("Cannot render HTML report: title must be a string");
  }
  const maxItems = options.maxItems ?? 128;
  if (!Number.isInteger(maxItems) || maxItems < 0) {
    throw new RangeError(
      `Cannot render HTML report: maxItems must be an integer >= 0, got ${String(maxItems)}`,
    );
  }
  const maxLength = options.maxLength ?? 20_000_000;
  if (!Number.isInteger(maxLength) || maxLength < 1) {
    throw new RangeError(
      `Cannot render HTML report: maxLength must be a positive integer, got ${String(maxLength)}`,
    );
  }
  return { title, maxItems, maxLength };
}

/** The line under the title: groups, traces, activities and links, and what is left out. */
function summary(graph: LinkGraph, groups: readonly RelatedTraces[], omitted: number): string {
  const traces = groups.reduce((n, g) => n + g.traces.filter((tr) => tr.known).length, 0);
  const links = groups.reduce((n, g) => n + g.edges.length, 0);
  const activities = groups.reduce(
    (n, g) => n + g.traces.reduce((m, tr) => m + graph.activities(tr.traceId).length, 0),
    0,
  );
  const evicted = graph.evictedTraceCount > 0
    ? ` · ${count(graph.evictedTraceCount)} traces (${
      count(graph.evictedActivityCount)
    } activities) evicted`
    : "";
  const left = omitted > 0
    ? ` · ${count(omitted)} activit${omitted === 1 ? "y" : "ies"} not shown (size limit)`
    : "";
  return `${count(groups.length)} group${groups.length === 1 ? "" : "s"} · ${count(traces)} trace${
    traces === 1 ? "" : "s"
  } · ${count(activities)} activit${activities === 1 ? "y" : "ies"} · ${count(links)} link${
    links === 1 ? "" : "s"
  }${evicted}${left}`;
}
