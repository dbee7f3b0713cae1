/**
 * Linked traces as text: {@linkcode renderTree} draws a trace as a tree with the traces linked to
 * it beneath, {@linkcode renderGraph} every group of linked traces, and {@linkcode TreeExporter}
 * prints what changed at each flush.
 *
 * @example Draw a trace
 * ```ts
 * import { ActivitySource, createTracerProviderBuilder } from "@tracelinks/activity";
 * import { LinkGraph, renderTree } from "@tracelinks/activity/graph";
 * import assert from "node:assert/strict";
 *
 * const graph = new LinkGraph();
 * const source = new ActivitySource("Tree.Module");
 * using _provider = createTracerProviderBuilder().addSource(source.name).addProcessor(graph).build();
 * const root = source.startActivity("Root")!;
 * root.stop();
 * assert.match(renderTree(graph, root.traceId), /└── Root {2}internal/);
 * ```
 *
 * @module
 */

import type { Activity } from "../activity.ts";
import type { ActivityExporter } from "../processor.ts";
import type { Resource } from "../resource.ts";
import { writeStdout } from "../_stdout.ts";
import { LinkGraph } from "./link_graph.ts";
import { renderGroups, type TreeRenderOptions } from "./_text.ts";

export type { TreeRenderOptions };

/**
 * Draws a trace as a tree with box-drawing characters: one line per activity with its name,
 * kind, duration and first tags; beneath each activity the traces linked to it, marked
 * `→ links to` (links out) or `← linked from` (backlinks), with the link's tags. Each trace is
 * drawn once; a link back to a trace already drawn says `(see above)`; a link to an activity
 * the graph does not hold says `(not in graph)`. Control and bidirectional-override characters
 * are escaped.
 *
 * @param graph The graph.
 * @param traceId The trace to draw first.
 * @param options How far to follow links, how many tags to show.
 * @returns The picture, ending with a newline; `""` when the graph holds nothing of the trace.
 *
 * @example
 * ```ts
 * import { ActivitySource, createTracerProviderBuilder } from "@tracelinks/activity";
 * import { LinkGraph, renderTree } from "@tracelinks/activity/graph";
 * import assert from "node:assert/strict";
 *
 * const graph = new LinkGraph();
 * const source = new ActivitySource("RenderTree.Example");
 * using _provider = createTracerProviderBuilder().addSource(source.name).addProcessor(graph).build();
 * const root = source.startActiveActivity("Parent", (parent) => {
 *   source.startActivity("Child", { tags: { step: 1 } })?.stop();
 *   return parent!;
 * });
 * const lines = renderTree(graph, root.traceId).split("\n");
 * assert.equal(lines[0], `trace ${root.traceId}`);
 * assert.match(lines[1]!, /^└── Parent  internal  \S+$/);
 * assert.match(lines[2]!, /^    └── Child  internal  \S+  step=1$/);
 * ```
 */
export function renderTree(
  graph: LinkGraph,
  traceId: string,
  options: TreeRenderOptions = {},
): string {
  if (!graph.hasTrace(traceId)) return "";
  return renderGroups(graph, [traceId], options);
}

/**
 * Draws every trace the graph holds, grouped by links, each group as {@linkcode renderTree}
 * draws it from its hub (see {@linkcode LinkGraph.groups}), groups separated by an empty line.
 *
 * @param graph The graph.
 * @param options How far to follow links, how many tags to show.
 * @returns The picture.
 */
export function renderGraph(graph: LinkGraph, options: TreeRenderOptions = {}): string {
  return renderGroups(
    graph,
    graph.groups().map((g) => g.traces[0]!.traceId),
    options,
  );
}

/** Options of {@linkcode TreeExporter}. */
export interface TreeExporterOptions extends TreeRenderOptions {
  /**
   * Receives the picture, one call per flush. The default writes to standard output.
   * @default {stdout}
   */
  write?: (text: string) => void;
  /**
   * The graph to fill; a new one (with `maxActivities`) by default. Share one to query it too.
   * @default {new LinkGraph()}
   */
  graph?: LinkGraph;
  /**
   * The memory bound of the graph made when `graph` is not given.
   * @default {10000}
   */
  maxActivities?: number;
}

/**
 * An exporter that collects activities into a {@linkcode LinkGraph} and, at `forceFlush` and
 * `shutdown`, prints the groups of linked traces that changed since the last print as one
 * picture ({@linkcode renderTree}'s layout): the guide's fan-out shows as the orchestrating
 * trace with its three fanned-out traces beneath it.
 *
 * @example The fan-out as one picture
 * ```ts
 * import { Activity, ActivityLink, ActivitySource, createTracerProviderBuilder } from "@tracelinks/activity";
 * import { TreeExporter } from "@tracelinks/activity/graph";
 * import assert from "node:assert/strict";
 *
 * let picture = "";
 * const source = new ActivitySource("TreeExporter.Example");
 * const provider = createTracerProviderBuilder()
 *   .addSource(source.name)
 *   .addExporter(new TreeExporter({ write: (text) => picture += text }))
 *   .build();
 * source.startActiveActivity("OrchestratingActivity", () => {
 *   const links = [new ActivityLink(Activity.current!.context)];
 *   source.startActivity("FannedOutActivity 1", { root: true, links })?.stop();
 * });
 * await provider.shutdown();
 * assert.match(picture, /└── OrchestratingActivity {2}internal/);
 * assert.match(picture, /← linked from FannedOutActivity 1 in trace [0-9a-f]{32}\n/);
 * ```
 */
export class TreeExporter implements ActivityExporter {
  /** The graph the exporter fills. */
  readonly graph: LinkGraph;
  readonly #write: (text: string) => void;
  readonly #render: TreeRenderOptions;
  readonly #changed = new Set<string>();
  #shutdown = false;

  /**
   * Makes the exporter.
   *
   * @param options Where to write, the graph, and how to draw.
   * @throws {TypeError} When `write` is not a function or `graph` not a {@linkcode LinkGraph}.
   * @throws {RangeError} When `maxActivities` is not a positive integer.
   */
  constructor(options: TreeExporterOptions = {}) {
    if (options.write !== undefined && typeof options.write !== "function") {
      throw new TypeError("Cannot make TreeExporter: write must be a function");
    }
    if (options.graph !== undefined && !(options.graph instanceof LinkGraph)) {
      throw new TypeError("Cannot make TreeExporter: graph must be a LinkGraph");
    }
    this.#write = options.write ?? writeStdout;
    this.graph = options.graph ??
      new LinkGraph(
        options.maxActivities === undefined ? {} : { maxActivities: options.maxActivities },
      );
    const render: TreeRenderOptions = {};
    if (options.depth !== undefined) render.depth = options.depth;
    if (options.maxTags !== undefined) render.maxTags = options.maxTags;
    if (options.maxTagLength !== undefined) render.maxTagLength = options.maxTagLength;
    this.#render = render;
  }

  /**
   * Adds the activities to the graph.
   *
   * @param activities The activities.
   * @param resource The provider's resource.
   */
  export(activities: readonly Activity[], resource: Resource): void {
    if (this.#shutdown) return;
    for (const activity of activities) {
      if (this.graph.add(activity, resource)) this.#changed.add(activity.traceId);
    }
    // Between prints, forget traces the graph evicted, so memory stays bounded too.
    if (this.#changed.size > 2 * this.graph.maxActivities) {
      for (const traceId of this.#changed) {
        if (!this.graph.hasTrace(traceId)) this.#changed.delete(traceId);
      }
    }
  }

  /**
   * Prints the groups of linked traces that received activities since the last print.
   *
   * @throws {unknown} What the writer throws (the processor reports it).
   */
  forceFlush(): void {
    if (this.#changed.size === 0) return;
    const changed = new Set(this.#changed);
    this.#changed.clear();
    const starts: string[] = [];
    for (const group of this.graph.groups()) {
      if (group.traces.some((t) => changed.has(t.traceId))) starts.push(group.traces[0]!.traceId);
    }
    const text = renderGroups(this.graph, starts, this.#render);
    if (text !== "") this.#write(text);
  }

  /**
   * Prints what changed since the last print; later exports are ignored.
   *
   * @throws {unknown} What the writer throws (the processor reports it).
   */
  shutdown(): void {
    if (this.#shutdown) return;
    this.#shutdown = true;
    this.forceFlush();
  }
}
