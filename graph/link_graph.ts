/**
 * {@linkcode LinkGraph}: finished activities and the links between them, bounded in memory, to
 * query linked traces: a trace as a tree, the links out of an activity and into it, the traces
 * related through links, and activities by name or tag.
 *
 * @example Backlinks: who points at the orchestrator
 * ```ts
 * import { Activity, ActivityLink, ActivitySource, createTracerProviderBuilder } from "@tracelinks/activity";
 * import { LinkGraph } from "@tracelinks/activity/graph";
 * import assert from "node:assert/strict";
 *
 * const graph = new LinkGraph();
 * const source = new ActivitySource("LinkGraph.Module");
 * using _provider = createTracerProviderBuilder().addSource(source.name).addProcessor(graph).build();
 * const orchestrating = source.startActiveActivity("Orchestrating", (activity) => {
 *   source.startActivity("FannedOut", { root: true, links: [new ActivityLink(Activity.current!.context)] })?.stop();
 *   return activity!;
 * });
 * assert.equal(graph.linksTo(orchestrating).length, 1);
 * ```
 *
 * @module
 */

import type { Activity } from "../activity.ts";
import { isActivity } from "../_is_activity.ts";
import type { ActivityExporter, ActivityProcessor, ProcessorContext } from "../processor.ts";
import type { Resource } from "../resource.ts";
import type { TagList } from "../tags.ts";
import { buildTree } from "./_tree.ts";
import { type Entry, keyOf, type TraceEntry, TraceStore } from "./_store.ts";
import {
  type ActivityQuery,
  type ActivityRef,
  type ActivitySnapshot,
  copyActivity,
  type CopyCounter,
  copySnapshot,
  matches,
  type TraceTree,
} from "./snapshot.ts";

/** One link between two activities, as the graph's queries return it. */
export interface LinkEdge {
  /** The activity that has the link. */
  readonly from: ActivityRef;
  /** What the link points at. */
  readonly to: ActivityRef;
  /** The position of the link among the links of `from`. */
  readonly linkIndex: number;
  /** The link's tags. */
  readonly tags: TagList;
  /**
   * Whether the graph holds the activity the link points at; when false it is an external
   * node (another service, not recorded, or evicted).
   */
  readonly resolved: boolean;
}

/** A trace reached from another through links. */
export interface RelatedTrace {
  /** The trace id. */
  readonly traceId: string;
  /** How many links away from the trace the walk started at (0 for that trace). */
  readonly depth: number;
  /** Whether the graph holds any activity of this trace (else it is known only by links). */
  readonly known: boolean;
}

/** What {@linkcode LinkGraph.related} returns: the traces reached, and the links between them. */
export interface RelatedTraces {
  /** The traces, breadth first from the start; each once. */
  readonly traces: readonly RelatedTrace[];
  /** Every link followed, each once, in the order met. */
  readonly edges: readonly LinkEdge[];
}

/** Options of {@linkcode LinkGraph.related}. */
export interface RelatedOptions {
  /**
   * How many links to follow away from the start; `0` returns the start trace alone.
   * @default {Infinity}
   */
  maxDepth?: number;
}

/** Options of the {@linkcode LinkGraph} constructor. */
export interface LinkGraphOptions {
  /**
   * The most activities held. Beyond it the least recently updated traces are evicted whole
   * and counted; links into them then show as external nodes.
   * @default {10000}
   */
  maxActivities?: number;
}

/**
 * A graph of finished activities and the links between them, to query linked traces: a trace
 * as a parent/child tree, the links out of an activity and the links into it (backlinks), every
 * trace related to a trace through links in either direction, and activities by name or tag.
 *
 * Feed it as a processor (`addProcessor(graph)`) or as an exporter (`addExporter(graph)`); it
 * keeps recorded activities only, as plain snapshots, up to `maxActivities`, evicting the least
 * recently updated traces whole. Links to activities it does not hold are external nodes:
 * queries return them with `resolved: false`, never an error.
 *
 * @example Batch: one activity links to several traces
 * ```ts
 * import { ActivityLink, ActivitySource, createTracerProviderBuilder } from "@tracelinks/activity";
 * import { LinkGraph } from "@tracelinks/activity/graph";
 * import assert from "node:assert/strict";
 *
 * const graph = new LinkGraph({ maxActivities: 100 });
 * const source = new ActivitySource("Batch.Graph.Class");
 * using _provider = createTracerProviderBuilder().addSource(source.name).addExporter(graph).build();
 * const requests = ["a", "b"].map((id) => {
 *   const request = source.startActivity(`Request ${id}`, { kind: "server", tags: { id } })!;
 *   request.stop();
 *   return request;
 * });
 * const batch = source.startActivity("ProcessBatch", {
 *   root: true,
 *   links: requests.map((r) => new ActivityLink(r.context)),
 * })!;
 * batch.stop();
 * assert.equal(graph.linksFrom(batch).length, 2);
 * assert.equal(graph.find({ tag: ["id", "b"] })[0]?.name, "Request b");
 * assert.equal(graph.tree(batch.traceId)?.roots[0]?.activity.name, "ProcessBatch");
 * ```
 */
export class LinkGraph implements ActivityProcessor, ActivityExporter {
  readonly #store: TraceStore;
  readonly #copies: CopyCounter = { truncatedArrays: 0 };
  #resource: Resource | undefined;
  #shutdown = false;

  /**
   * Makes an empty graph.
   *
   * @param options The memory bound.
   * @throws {RangeError} When `maxActivities` is not a positive integer.
   */
  constructor(options: LinkGraphOptions = {}) {
    const max = options.maxActivities ?? 10_000;
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(
        `Cannot make LinkGraph: maxActivities must be a positive integer, got ${String(max)}`,
      );
    }
    this.#store = new TraceStore(max);
  }

  /** The number of activities held. */
  get size(): number {
    return this.#store.size;
  }

  /** The number of traces held. */
  get traceCount(): number {
    return this.#store.traceCount;
  }

  /** The most activities held (the `maxActivities` option). */
  get maxActivities(): number {
    return this.#store.max;
  }

  /** Traces evicted whole to stay within `maxActivities`. */
  get evictedTraceCount(): number {
    return this.#store.evictedTraces;
  }

  /** Activities evicted with their traces. */
  get evictedActivityCount(): number {
    return this.#store.evictedActivities;
  }

  /** Activities not kept because their trace alone was already at `maxActivities`. */
  get droppedActivityCount(): number {
    return this.#store.dropped;
  }

  /**
   * Array tag values cut to their first 1,000 elements (nested arrays included) when activities
   * or snapshots were copied in (see {@linkcode snapshotActivity}).
   */
  get truncatedArrayCount(): number {
    return this.#copies.truncatedArrays;
  }

  /**
   * Takes the provider's resource, for the service name of activities it hands over.
   *
   * @param context The provider's context.
   */
  register(context: ProcessorContext): void {
    this.#resource = context.resource;
  }

  /**
   * Adds an activity when it stops, if it is recorded (the processor contract).
   *
   * @param activity The stopped activity.
   */
  onEnd(activity: Activity): void {
    if (this.#shutdown || !isActivity(activity) || !activity.recorded) return;
    this.#store.insert(copyActivity(activity, this.#resource, this.#copies));
  }

  /**
   * Adds exported activities (the exporter contract).
   *
   * @param activities The activities.
   * @param resource The provider's resource, for the service name.
   */
  export(activities: readonly Activity[], resource: Resource): void {
    if (this.#shutdown) return;
    for (const activity of activities) {
      if (isActivity(activity)) {
        this.#store.insert(copyActivity(activity, resource, this.#copies));
      }
    }
  }

  /** Nothing is pending: the graph is updated as activities arrive. */
  forceFlush(): void {}

  /** Stops taking activities; what the graph holds stays queryable. */
  shutdown(): void {
    this.#shutdown = true;
  }

  /**
   * Adds a stopped activity or a snapshot directly. An activity already held (same trace and
   * span id) is not added again. A snapshot is read once, field by field, checked and copied:
   * the graph keeps the frozen copy, so later changes to the object given do not reach it.
   *
   * @param activity A stopped activity, or a snapshot (for example one read back from a file).
   * @param resource The resource, for the service name of an activity.
   * @returns Whether it was added.
   * @throws {TypeError} When `activity` is neither an {@linkcode Activity} nor a snapshot: a
   * field of the wrong type, or one that cannot be read (the message names it).
   *
   * @example
   * ```ts
   * import { ActivitySource, createTracerProviderBuilder } from "@tracelinks/activity";
   * import { LinkGraph } from "@tracelinks/activity/graph";
   * import assert from "node:assert/strict";
   *
   * using _provider = createTracerProviderBuilder().addSource("Add.Example").build();
   * const activity = new ActivitySource("Add.Example").startActivity("Work")!;
   * activity.stop();
   * const graph = new LinkGraph();
   * assert.equal(graph.add(activity), true);
   * assert.equal(graph.add(activity), false);
   * assert.equal(graph.size, 1);
   * ```
   */
  add(activity: Activity | ActivitySnapshot, resource?: Resource): boolean {
    // A revoked proxy is no activity: copySnapshot says it cannot be read.
    if (isActivity(activity)) {
      return this.#store.insert(
        copyActivity(activity as Activity, resource ?? this.#resource, this.#copies),
      );
    }
    // Copied before anything is taken: a snapshot is read once, checked, and kept as checked.
    const counter: CopyCounter = { truncatedArrays: 0 };
    const snapshot = copySnapshot(activity, counter);
    const added = this.#store.insert(snapshot);
    if (added) this.#copies.truncatedArrays += counter.truncatedArrays;
    return added;
  }

  /**
   * Evicts a trace whole, as the memory bound does: its activities are forgotten and counted in
   * {@linkcode LinkGraph.evictedTraceCount} and {@linkcode LinkGraph.evictedActivityCount}, and
   * links into it become external nodes. For a holder with bounds of its own (a number of
   * traces, a memory budget) that decides which traces go.
   *
   * @param traceId The trace.
   * @returns The number of activities evicted (0 when the graph holds nothing of the trace).
   *
   * @example
   * ```ts
   * import { ActivitySource, createTracerProviderBuilder } from "@tracelinks/activity";
   * import { LinkGraph } from "@tracelinks/activity/graph";
   * import assert from "node:assert/strict";
   *
   * const graph = new LinkGraph();
   * using _provider = createTracerProviderBuilder().addSource("Evict.Example").addProcessor(graph).build();
   * const work = new ActivitySource("Evict.Example").startActivity("Work")!;
   * work.stop();
   * assert.equal(graph.evictTrace(work.traceId), 1);
   * assert.equal(graph.hasTrace(work.traceId), false);
   * assert.equal(graph.evictedTraceCount, 1);
   * assert.equal(graph.evictTrace(work.traceId), 0);
   * ```
   */
  evictTrace(traceId: string): number {
    return typeof traceId === "string" ? this.#store.evictTrace(traceId) : 0;
  }

  /**
   * Forgets everything; the counters are kept.
   */
  clear(): void {
    this.#store.clear();
  }

  /**
   * Returns the snapshot of an activity.
   *
   * @param ref An activity, context, snapshot or `{ traceId, spanId }`.
   * @returns The snapshot, or `undefined` when the graph does not hold it.
   */
  get(ref: ActivityRef): ActivitySnapshot | undefined {
    return this.#store.entry(keyOf(ref.traceId, ref.spanId))?.snapshot;
  }

  /**
   * Whether the graph holds any activity of a trace.
   *
   * @param traceId The trace id.
   * @returns `true` when it does.
   */
  hasTrace(traceId: string): boolean {
    return this.#store.trace(traceId) !== undefined;
  }

  /**
   * The ids of the traces held, least recently updated first.
   *
   * @returns The trace ids.
   */
  traceIds(): string[] {
    return Array.from(this.#store.traces(), (t) => t.traceId);
  }

  /**
   * The activities of a trace, in the order they arrived.
   *
   * @param traceId The trace id.
   * @returns The snapshots (empty when the trace is not held).
   */
  activities(traceId: string): ActivitySnapshot[] {
    return this.#store.trace(traceId)?.entries.map((e) => e.snapshot) ?? [];
  }

  /**
   * A trace as a parent/child tree. Children are ordered by start time, then arrival.
   *
   * @param traceId The trace id.
   * @returns The tree, or `undefined` when the graph holds nothing of the trace.
   *
   * @example
   * ```ts
   * import { ActivitySource, createTracerProviderBuilder } from "@tracelinks/activity";
   * import { LinkGraph } from "@tracelinks/activity/graph";
   * import assert from "node:assert/strict";
   *
   * const graph = new LinkGraph();
   * const source = new ActivitySource("Tree.Example");
   * using _provider = createTracerProviderBuilder().addSource(source.name).addProcessor(graph).build();
   * const root = source.startActiveActivity("Parent", (parent) => {
   *   source.startActivity("Child")?.stop();
   *   return parent!;
   * });
   * const tree = graph.tree(root.traceId)!;
   * assert.equal(tree.roots[0]?.children[0]?.activity.name, "Child");
   * ```
   */
  tree(traceId: string): TraceTree | undefined {
    const trace = this.#store.trace(traceId);
    return trace === undefined ? undefined : buildTree(traceId, trace.entries);
  }

  #edgeFrom(entry: Entry, index: number): LinkEdge {
    const link = entry.snapshot.links[index]!;
    return {
      from: { traceId: entry.snapshot.traceId, spanId: entry.snapshot.spanId },
      to: { traceId: link.traceId, spanId: link.spanId },
      linkIndex: index,
      tags: link.tags,
      resolved: this.#store.entry(keyOf(link.traceId, link.spanId)) !== undefined,
    };
  }

  /**
   * The links out of an activity, in order.
   *
   * @param ref The activity.
   * @returns One edge per link (empty when the graph does not hold the activity).
   *
   * @example
   * ```ts
   * import { ActivityContext, ActivityLink, ActivitySource, createTracerProviderBuilder } from "@tracelinks/activity";
   * import { LinkGraph } from "@tracelinks/activity/graph";
   * import assert from "node:assert/strict";
   *
   * const graph = new LinkGraph();
   * using _provider = createTracerProviderBuilder().addSource("LinksFrom.Example").addProcessor(graph).build();
   * const elsewhere = ActivityContext.parse("00-2890476acefb53b93af64a0d91939051-16b83c1517629363-01");
   * const activity = new ActivitySource("LinksFrom.Example")
   *   .startActivity("Consume", { links: [new ActivityLink(elsewhere)] })!;
   * activity.stop();
   * const [edge] = graph.linksFrom(activity);
   * assert.equal(edge?.to.spanId, "16b83c1517629363");
   * assert.equal(edge?.resolved, false); // another service: an external node
   * ```
   */
  linksFrom(ref: ActivityRef): LinkEdge[] {
    const entry = this.#store.entry(keyOf(ref.traceId, ref.spanId));
    if (entry === undefined) return [];
    return entry.snapshot.links.map((_, index) => this.#edgeFrom(entry, index));
  }

  /**
   * The links into an activity (backlinks: who points at me), in the order they arrived. The
   * activity itself need not be held: links into an evicted or external activity are found too.
   *
   * @param ref The activity pointed at.
   * @returns One edge per link.
   */
  linksTo(ref: ActivityRef): LinkEdge[] {
    return Array.from(
      this.#store.inboundTo(keyOf(ref.traceId, ref.spanId)),
      ({ from, index }) => this.#edgeFrom(from, index),
    );
  }

  /**
   * The links into any activity of a trace, in the order they arrived.
   *
   * @param traceId The trace pointed at.
   * @returns One edge per link.
   */
  linksToTrace(traceId: string): LinkEdge[] {
    return Array.from(
      this.#store.inboundToTrace(traceId),
      ({ from, index }) => this.#edgeFrom(from, index),
    );
  }

  /**
   * Every trace related to a trace through links, in either direction, breadth first, with the
   * links between them. Each trace and each link is reported once, so cycles end the walk.
   * Traces the graph does not hold (known only as a link target) are included with
   * `known: false`, and the walk goes on through the other links into them.
   *
   * @param traceId The trace to start from.
   * @param options How far to walk.
   * @returns The traces (the start first) and the edges.
   * @throws {RangeError} When `maxDepth` is negative or not a number.
   */
  related(traceId: string, options: RelatedOptions = {}): RelatedTraces {
    const maxDepth = options.maxDepth ?? Infinity;
    if (typeof maxDepth !== "number" || Number.isNaN(maxDepth) || maxDepth < 0) {
      throw new RangeError(
        `Cannot walk related traces: maxDepth must be a number >= 0, got ${String(maxDepth)}`,
      );
    }
    const traces: RelatedTrace[] = [];
    const depthOf = new Map<string, number>();
    const edges: LinkEdge[] = [];
    const seenEdges = new Set<string>();
    const visit = (id: string, depth: number): void => {
      if (depthOf.has(id)) return;
      depthOf.set(id, depth);
      traces.push({ traceId: id, depth, known: this.#store.trace(id) !== undefined });
    };
    const take = (edge: LinkEdge): void => {
      const id = `${keyOf(edge.from.traceId, edge.from.spanId)}#${edge.linkIndex}`;
      if (seenEdges.has(id)) return;
      seenEdges.add(id);
      edges.push(edge);
    };
    visit(traceId, 0);
    for (let i = 0; i < traces.length; i++) {
      const { traceId: current, depth } = traces[i]!;
      if (depth >= maxDepth) continue;
      const trace = this.#store.trace(current);
      if (trace !== undefined) {
        for (const entry of trace.entries) {
          entry.snapshot.links.forEach((link, index) => {
            take(this.#edgeFrom(entry, index));
            visit(link.traceId, depth + 1);
          });
        }
      }
      for (const { from, index } of this.#store.inboundToTrace(current)) {
        take(this.#edgeFrom(from, index));
        visit(from.snapshot.traceId, depth + 1);
      }
    }
    return { traces, edges };
  }

  /**
   * The traces held, grouped by links: each group is a set of traces related through links,
   * walked from its hub, the trace with the most links in and out (the earliest-starting one
   * on ties), so the fan-out's orchestrator and the batch come first. Groups are ordered by
   * their earliest start.
   *
   * @returns One {@linkcode RelatedTraces} per group.
   */
  groups(): RelatedTraces[] {
    const done = new Set<string>();
    const out: { start: bigint; group: RelatedTraces }[] = [];
    for (const { traceId } of this.#store.traces()) {
      if (done.has(traceId)) continue;
      const found = this.related(traceId);
      const degree = new Map<string, number>();
      for (const edge of found.edges) {
        degree.set(edge.from.traceId, (degree.get(edge.from.traceId) ?? 0) + 1);
        if (edge.to.traceId !== edge.from.traceId) {
          degree.set(edge.to.traceId, (degree.get(edge.to.traceId) ?? 0) + 1);
        }
      }
      let hub = traceId;
      let hubDegree = -1;
      let hubStart = 0n;
      let groupStart: bigint | undefined;
      for (const t of found.traces) {
        done.add(t.traceId);
        if (!t.known) continue;
        const start = this.#traceStart(t.traceId);
        if (groupStart === undefined || start < groupStart) groupStart = start;
        const d = degree.get(t.traceId) ?? 0;
        if (d > hubDegree || (d === hubDegree && start < hubStart)) {
          hub = t.traceId;
          hubDegree = d;
          hubStart = start;
        }
      }
      out.push({ start: groupStart ?? 0n, group: hub === traceId ? found : this.related(hub) });
    }
    return out.sort((a, b) => a.start < b.start ? -1 : a.start > b.start ? 1 : 0).map((g) =>
      g.group
    );
  }

  #traceStart(traceId: string): bigint {
    let min: bigint | undefined;
    for (const entry of this.#store.trace(traceId)?.entries ?? []) {
      const s = entry.snapshot.startTimeUnixNano;
      if (min === undefined || s < min) min = s;
    }
    return min ?? 0n;
  }

  /**
   * Finds activities by name, tag, trace or kind, in the order their traces were last updated,
   * then arrival.
   *
   * @param query What to match; an empty query matches every activity.
   * @returns The matching snapshots.
   *
   * @example
   * ```ts
   * import { ActivitySource, createTracerProviderBuilder } from "@tracelinks/activity";
   * import { LinkGraph } from "@tracelinks/activity/graph";
   * import assert from "node:assert/strict";
   *
   * const graph = new LinkGraph();
   * using _provider = createTracerProviderBuilder().addSource("Find.Example").addProcessor(graph).build();
   * const source = new ActivitySource("Find.Example");
   * source.startActivity("Charge card", { tags: { "order.id": 7 } })?.stop();
   * source.startActivity("Ship", { tags: { "order.id": 8 } })?.stop();
   * assert.deepEqual(graph.find({ tag: ["order.id", 8] }).map((a) => a.name), ["Ship"]);
   * assert.deepEqual(graph.find({ name: /^Charge/ }).map((a) => a.name), ["Charge card"]);
   * assert.equal(graph.find({ tag: "order.id" }).length, 2);
   * ```
   */
  find(query: ActivityQuery = {}): ActivitySnapshot[] {
    const traceId = query.traceId;
    const out: ActivitySnapshot[] = [];
    const traces = traceId === undefined
      ? this.#store.traces()
      : [this.#store.trace(traceId)].filter((t): t is TraceEntry => t !== undefined);
    for (const trace of traces) {
      for (const { snapshot } of trace.entries) if (matches(snapshot, query)) out.push(snapshot);
    }
    return out;
  }
}
