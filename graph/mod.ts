/**
 * Linked traces you can see and query: a {@linkcode LinkGraph} of finished activities (fed as
 * a processor or an exporter, bounded in memory), a text renderer that draws a trace as a tree
 * with the traces linked to it beneath ({@linkcode renderTree}, {@linkcode TreeExporter}), and a
 * self-contained HTML report with a waterfall per trace and an arrow per link
 * ({@linkcode renderHtmlReport}).
 *
 * Import it from the `./graph` subpath: the core module does not load it.
 *
 * @example Who links to the orchestrating activity?
 * ```ts
 * import { Activity, ActivityLink, ActivitySource, createTracerProviderBuilder } from "@tracelinks/activity";
 * import { LinkGraph } from "@tracelinks/activity/graph";
 * import assert from "node:assert/strict";
 *
 * const graph = new LinkGraph();
 * const source = new ActivitySource("Fanout.Graph.Module");
 * using _provider = createTracerProviderBuilder().addSource(source.name).addProcessor(graph).build();
 * const orchestrating = source.startActiveActivity("OrchestratingActivity", (activity) => {
 *   const links = [new ActivityLink(Activity.current!.context)];
 *   for (const n of [1, 2, 3]) {
 *     source.startActivity(`FannedOutActivity ${n}`, { root: true, links })?.stop();
 *   }
 *   return activity!;
 * });
 * const backlinks = graph.linksTo(orchestrating);
 * assert.deepEqual(backlinks.map((edge) => graph.get(edge.from)?.name), [
 *   "FannedOutActivity 1",
 *   "FannedOutActivity 2",
 *   "FannedOutActivity 3",
 * ]);
 * assert.equal(graph.related(orchestrating.traceId).traces.length, 4);
 * ```
 *
 * @module
 */

export {
  type ActivityQuery,
  type ActivityRef,
  type ActivitySnapshot,
  type LinkSnapshot,
  snapshotActivity,
  type TraceNode,
  type TraceTree,
} from "./snapshot.ts";
export {
  type LinkEdge,
  LinkGraph,
  type LinkGraphOptions,
  type RelatedOptions,
  type RelatedTrace,
  type RelatedTraces,
} from "./link_graph.ts";
export {
  renderGraph,
  renderTree,
  TreeExporter,
  type TreeExporterOptions,
  type TreeRenderOptions,
} from "./tree.ts";
export { type HtmlReportOptions, renderHtmlReport } from "./report.ts";
