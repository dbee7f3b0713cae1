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

import {
  Activity,
  type ActivityEvent,
  type ActivityKind,
  type ActivityStatusCode,
  type TagList,
} from "./activity.ts";
import type { ActivityExporter } from "./exporter.ts";
import type { ActivityProcessor, ProcessorContext, Resource } from "./provider.ts";
import { renderGroups, type TreeRenderOptions } from "./_render.ts";
import { htmlReport, type HtmlReportOptions } from "./_html.ts";
import { writeStdout } from "./_stdout.ts";
import { type CopyCounter, copySnapshot, copyTagList } from "./_snapshot.ts";

export type { HtmlReportOptions, TreeRenderOptions };

/** What names one activity: its trace id and span id (an activity, a context or a snapshot). */
export interface ActivityRef {
  /** The trace id: 32 lowercase hex characters. */
  readonly traceId: string;
  /** The span id: 16 lowercase hex characters. */
  readonly spanId: string;
}

/** A link as the graph keeps it: the context it points at and its tags. */
export interface LinkSnapshot {
  /** The trace id the link points at. */
  readonly traceId: string;
  /** The span id the link points at. */
  readonly spanId: string;
  /** The trace flags of the linked context. */
  readonly traceFlags: number;
  /** The trace state of the linked context, or `undefined`. */
  readonly traceState: string | undefined;
  /** Whether the linked context came from another process. */
  readonly isRemote: boolean;
  /** The link's tags, in order. */
  readonly tags: TagList;
}

/**
 * A finished activity as the graph keeps it: plain data copied when it stopped, so the graph
 * never holds on to {@linkcode Activity} objects.
 */
export interface ActivitySnapshot {
  /** The trace id. */
  readonly traceId: string;
  /** The span id. */
  readonly spanId: string;
  /** The parent's span id, or `undefined` for the root of a trace. */
  readonly parentSpanId: string | undefined;
  /** Whether the parent came from another process. */
  readonly hasRemoteParent: boolean;
  /** The display name. */
  readonly name: string;
  /** The kind. */
  readonly kind: ActivityKind;
  /** The name of the source that started it. */
  readonly sourceName: string;
  /** The `service.name` of the resource it was exported with, or `undefined`. */
  readonly serviceName: string | undefined;
  /** The start, in nanoseconds since the Unix epoch. */
  readonly startTimeUnixNano: bigint;
  /** The end, in nanoseconds since the Unix epoch. */
  readonly endTimeUnixNano: bigint;
  /** The duration in 100-nanosecond ticks. */
  readonly durationTicks: number;
  /** The tags, in order. */
  readonly tags: TagList;
  /** The events, in order. */
  readonly events: readonly ActivityEvent[];
  /** The links, in order. */
  readonly links: readonly LinkSnapshot[];
  /** The status code. */
  readonly status: ActivityStatusCode;
  /** The status description, or `undefined`. */
  readonly statusDescription: string | undefined;
  /** Links the activity dropped at its link limit. */
  readonly droppedLinkCount: number;
}

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

/** A node of a trace's parent/child tree. */
export interface TraceNode {
  /** The activity. */
  readonly activity: ActivitySnapshot;
  /** Its children, by start time. */
  readonly children: readonly TraceNode[];
}

/** A trace as a parent/child tree. */
export interface TraceTree {
  /** The trace id. */
  readonly traceId: string;
  /**
   * The activities without a parent in the graph, by start time: the root, and any activity
   * whose parent is remote or was not recorded here (its `parentSpanId` says which).
   */
  readonly roots: readonly TraceNode[];
  /** The number of activities of the trace the graph holds. */
  readonly size: number;
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

/** What {@linkcode LinkGraph.find} looks for; every given field must match. */
export interface ActivityQuery {
  /**
   * The display name: a string matches exactly, a regular expression by `test`.
   * @default {undefined}
   */
  name?: string | RegExp;
  /**
   * A tag: a key (any value), or a key and a value compared with `Object.is` (arrays element
   * by element).
   * @default {undefined}
   */
  tag?: string | readonly [key: string, value: unknown];
  /**
   * Only this trace.
   * @default {undefined}
   */
  traceId?: string;
  /**
   * Only this kind.
   * @default {undefined}
   */
  kind?: ActivityKind;
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

interface Entry {
  readonly snapshot: ActivitySnapshot;
  readonly key: string;
  readonly seq: number;
  /** The backlink records this activity's links made, to remove them on eviction. */
  readonly inbound: Inbound[];
}

/** A trace held, in a doubly linked list from least to most recently updated. */
interface TraceEntry {
  readonly traceId: string;
  readonly entries: Entry[];
  older: TraceEntry | undefined;
  newer: TraceEntry | undefined;
}

interface Inbound {
  readonly from: Entry;
  readonly index: number;
  /** The trace the link points at, kept so that eviction does not read the snapshot again. */
  readonly target: string;
  /** The activity the link points at, as `traceId-spanId`. */
  readonly targetKey: string;
}

function keyOf(traceId: string, spanId: string): string {
  return `${traceId}-${spanId}`;
}

/**
 * Copies what the graph and the renderers need of a stopped activity into plain data, frozen.
 * An array tag value keeps its first 1,000 elements, holes as `null` (a holey array can claim
 * billions); {@linkcode LinkGraph.truncatedArrayCount} counts the cuts of a graph.
 *
 * @param activity A stopped activity.
 * @param resource The resource it was exported with (for the service name).
 * @returns The snapshot.
 * @throws {TypeError} When `activity` is not an {@linkcode Activity}.
 *
 * @example
 * ```ts
 * import { ActivitySource, createTracerProviderBuilder } from "@tracelinks/activity";
 * import { snapshotActivity } from "@tracelinks/activity/graph";
 * import assert from "node:assert/strict";
 *
 * using _provider = createTracerProviderBuilder().addSource("Snapshot.Example").build();
 * const activity = new ActivitySource("Snapshot.Example").startActivity("Work", { tags: { a: 1 } })!;
 * activity.stop();
 * const snapshot = snapshotActivity(activity);
 * assert.equal(snapshot.name, "Work");
 * assert.deepEqual(snapshot.tags, [["a", 1]]);
 * ```
 */
export function snapshotActivity(activity: Activity, resource?: Resource): ActivitySnapshot {
  return copyActivity(activity, resource, { truncatedArrays: 0 });
}

function copyActivity(
  activity: Activity,
  resource: Resource | undefined,
  counter: CopyCounter,
): ActivitySnapshot {
  if (!(activity instanceof Activity)) {
    throw new TypeError("Cannot snapshot activity: expected an Activity");
  }
  const service = resource?.get("service.name");
  return Object.freeze({
    traceId: activity.traceId,
    spanId: activity.spanId,
    parentSpanId: activity.parentSpanId,
    hasRemoteParent: activity.hasRemoteParent,
    name: activity.displayName,
    kind: activity.kind,
    sourceName: activity.source.name,
    serviceName: typeof service === "string" && service !== "" ? service : undefined,
    startTimeUnixNano: activity.startTimeUnixNano,
    endTimeUnixNano: activity.endTimeUnixNano ?? activity.startTimeUnixNano,
    durationTicks: activity.durationTicks,
    tags: copyTagList(activity.tags, counter),
    events: Object.freeze(activity.events.map((event) =>
      Object.freeze({
        name: event.name,
        timeUnixNano: event.timeUnixNano,
        tags: copyTagList(event.tags, counter),
        droppedTagCount: event.droppedTagCount,
      })
    )),
    links: Object.freeze(activity.links.map((link) =>
      Object.freeze({
        traceId: link.context.traceId,
        spanId: link.context.spanId,
        traceFlags: link.context.traceFlags,
        traceState: link.context.traceState,
        isRemote: link.context.isRemote,
        tags: copyTagList(link.tags, counter),
      })
    )),
    status: activity.status,
    statusDescription: activity.statusDescription,
    droppedLinkCount: activity.droppedLinkCount,
  });
}

function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
  return a.every((v, i) => Object.is(v, b[i]));
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
  readonly #max: number;
  readonly #byKey = new Map<string, Entry>();
  readonly #traces = new Map<string, TraceEntry>();
  /** Links into each trace, in arrival order. */
  readonly #inbound = new Map<string, Set<Inbound>>();
  /** Links into each activity (`traceId-spanId`), so that a backlink query is not a scan. */
  readonly #inboundBySpan = new Map<string, Set<Inbound>>();
  readonly #copies: CopyCounter = { truncatedArrays: 0 };
  #oldest: TraceEntry | undefined;
  #newest: TraceEntry | undefined;
  #resource: Resource | undefined;
  #seq = 0;
  #evictedTraces = 0;
  #evictedActivities = 0;
  #dropped = 0;
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
    this.#max = max;
  }

  /** The number of activities held. */
  get size(): number {
    return this.#byKey.size;
  }

  /** The number of traces held. */
  get traceCount(): number {
    return this.#traces.size;
  }

  /** The most activities held (the `maxActivities` option). */
  get maxActivities(): number {
    return this.#max;
  }

  /** Traces evicted whole to stay within `maxActivities`. */
  get evictedTraceCount(): number {
    return this.#evictedTraces;
  }

  /** Activities evicted with their traces. */
  get evictedActivityCount(): number {
    return this.#evictedActivities;
  }

  /** Activities not kept because their trace alone was already at `maxActivities`. */
  get droppedActivityCount(): number {
    return this.#dropped;
  }

  /**
   * Array tag values cut to their first 1,000 elements when activities or snapshots were copied
   * in (see {@linkcode snapshotActivity}).
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
    if (this.#shutdown || !(activity instanceof Activity) || !activity.recorded) return;
    this.#insert(copyActivity(activity, this.#resource, this.#copies));
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
      if (activity instanceof Activity) {
        this.#insert(copyActivity(activity, resource, this.#copies));
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
    let isActivity: boolean;
    try {
      isActivity = activity instanceof Activity;
    } catch {
      isActivity = false; // a revoked proxy: copySnapshot says it cannot be read
    }
    if (isActivity) {
      return this.#insert(
        copyActivity(activity as Activity, resource ?? this.#resource, this.#copies),
      );
    }
    // Copied before anything is taken: a snapshot is read once, checked, and kept as checked.
    const counter: CopyCounter = { truncatedArrays: 0 };
    const snapshot = copySnapshot(activity, counter);
    const added = this.#insert(snapshot);
    if (added) this.#copies.truncatedArrays += counter.truncatedArrays;
    return added;
  }

  #insert(snapshot: ActivitySnapshot): boolean {
    const key = keyOf(snapshot.traceId, snapshot.spanId);
    if (this.#byKey.has(key)) return false;
    let trace = this.#traces.get(snapshot.traceId);
    if (trace !== undefined && trace.entries.length >= this.#max) {
      this.#dropped++;
      return false;
    }
    if (trace === undefined) {
      trace = { traceId: snapshot.traceId, entries: [], older: undefined, newer: undefined };
      this.#traces.set(snapshot.traceId, trace);
    } else {
      this.#unlink(trace);
    }
    this.#append(trace); // the most recently updated
    const entry: Entry = { snapshot, key, seq: this.#seq++, inbound: [] };
    trace.entries.push(entry);
    this.#byKey.set(key, entry);
    snapshot.links.forEach((link, index) => {
      const targetKey = keyOf(link.traceId, link.spanId);
      const inbound: Inbound = { from: entry, index, target: link.traceId, targetKey };
      let set = this.#inbound.get(link.traceId);
      if (set === undefined) this.#inbound.set(link.traceId, set = new Set());
      set.add(inbound);
      let bySpan = this.#inboundBySpan.get(targetKey);
      if (bySpan === undefined) this.#inboundBySpan.set(targetKey, bySpan = new Set());
      bySpan.add(inbound);
      entry.inbound.push(inbound);
    });
    // The trace just updated is newest and below the limit, so the oldest is another one.
    while (this.#byKey.size > this.#max && this.#oldest !== undefined && this.#oldest !== trace) {
      this.#evict(this.#oldest);
    }
    return true;
  }

  #unlink(trace: TraceEntry): void {
    if (trace.older === undefined) this.#oldest = trace.newer;
    else trace.older.newer = trace.newer;
    if (trace.newer === undefined) this.#newest = trace.older;
    else trace.newer.older = trace.older;
    trace.older = trace.newer = undefined;
  }

  #append(trace: TraceEntry): void {
    trace.older = this.#newest;
    if (this.#newest === undefined) this.#oldest = trace;
    else this.#newest.newer = trace;
    this.#newest = trace;
  }

  *#traceEntries(): Generator<TraceEntry> {
    for (let t = this.#oldest; t !== undefined; t = t.newer) yield t;
  }

  #evict(trace: TraceEntry): void {
    this.#unlink(trace);
    this.#traces.delete(trace.traceId);
    this.#evictedTraces++;
    this.#evictedActivities += trace.entries.length;
    for (const entry of trace.entries) {
      this.#byKey.delete(entry.key);
      for (const inbound of entry.inbound) {
        const set = this.#inbound.get(inbound.target);
        if (set !== undefined) {
          set.delete(inbound);
          if (set.size === 0) this.#inbound.delete(inbound.target);
        }
        const bySpan = this.#inboundBySpan.get(inbound.targetKey);
        if (bySpan !== undefined) {
          bySpan.delete(inbound);
          if (bySpan.size === 0) this.#inboundBySpan.delete(inbound.targetKey);
        }
      }
    }
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
    const trace = this.#traces.get(traceId);
    if (trace === undefined) return 0;
    this.#evict(trace);
    return trace.entries.length;
  }

  /**
   * Forgets everything; the counters are kept.
   */
  clear(): void {
    this.#byKey.clear();
    this.#traces.clear();
    this.#inbound.clear();
    this.#inboundBySpan.clear();
    this.#oldest = this.#newest = undefined;
  }

  /**
   * Returns the snapshot of an activity.
   *
   * @param ref An activity, context, snapshot or `{ traceId, spanId }`.
   * @returns The snapshot, or `undefined` when the graph does not hold it.
   */
  get(ref: ActivityRef): ActivitySnapshot | undefined {
    return this.#byKey.get(keyOf(ref.traceId, ref.spanId))?.snapshot;
  }

  /**
   * Whether the graph holds any activity of a trace.
   *
   * @param traceId The trace id.
   * @returns `true` when it does.
   */
  hasTrace(traceId: string): boolean {
    return this.#traces.has(traceId);
  }

  /**
   * The ids of the traces held, least recently updated first.
   *
   * @returns The trace ids.
   */
  traceIds(): string[] {
    return Array.from(this.#traceEntries(), (t) => t.traceId);
  }

  /**
   * The activities of a trace, in the order they arrived.
   *
   * @param traceId The trace id.
   * @returns The snapshots (empty when the trace is not held).
   */
  activities(traceId: string): ActivitySnapshot[] {
    return this.#traces.get(traceId)?.entries.map((e) => e.snapshot) ?? [];
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
    const trace = this.#traces.get(traceId);
    if (trace === undefined) return undefined;
    const bySpan = new Map<string, { entry: Entry; children: Entry[] }>();
    for (const entry of trace.entries) bySpan.set(entry.snapshot.spanId, { entry, children: [] });
    const roots: Entry[] = [];
    for (const entry of trace.entries) {
      const parentId = entry.snapshot.parentSpanId;
      const parent = parentId === undefined || parentId === entry.snapshot.spanId
        ? undefined
        : bySpan.get(parentId);
      if (parent === undefined) roots.push(entry);
      else parent.children.push(entry);
    }
    const order = (a: Entry, b: Entry): number => {
      const sa = a.snapshot.startTimeUnixNano;
      const sb = b.snapshot.startTimeUnixNano;
      return sa < sb ? -1 : sa > sb ? 1 : a.seq - b.seq;
    };
    // Iterative build, so that a deep trace cannot overflow the stack; `seen` guards against
    // parent cycles in snapshots given by hand.
    const seen = new Set<Entry>();
    const build = (top: Entry): TraceNode => {
      const rootNode = { activity: top.snapshot, children: [] as TraceNode[] };
      const stack = [{ entry: top, node: rootNode }];
      seen.add(top);
      while (stack.length > 0) {
        const { entry, node } = stack.pop()!;
        for (const child of bySpan.get(entry.snapshot.spanId)!.children.sort(order)) {
          if (seen.has(child)) continue;
          seen.add(child);
          const childNode = { activity: child.snapshot, children: [] as TraceNode[] };
          node.children.push(childNode);
          stack.push({ entry: child, node: childNode });
        }
      }
      return rootNode;
    };
    const rootNodes = roots.sort(order).map(build);
    // Activities caught in a parent cycle (only possible with hand-made snapshots) become roots.
    for (const entry of [...trace.entries].sort(order)) {
      if (!seen.has(entry)) rootNodes.push(build(entry));
    }
    return Object.freeze({ traceId, roots: rootNodes, size: trace.entries.length });
  }

  #edgeFrom(entry: Entry, index: number): LinkEdge {
    const link = entry.snapshot.links[index]!;
    return {
      from: { traceId: entry.snapshot.traceId, spanId: entry.snapshot.spanId },
      to: { traceId: link.traceId, spanId: link.spanId },
      linkIndex: index,
      tags: link.tags,
      resolved: this.#byKey.has(keyOf(link.traceId, link.spanId)),
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
    const entry = this.#byKey.get(keyOf(ref.traceId, ref.spanId));
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
      this.#inboundBySpan.get(keyOf(ref.traceId, ref.spanId)) ?? [],
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
      this.#inbound.get(traceId) ?? [],
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
      traces.push({ traceId: id, depth, known: this.#traces.has(id) });
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
      const trace = this.#traces.get(current);
      if (trace !== undefined) {
        for (const entry of trace.entries) {
          entry.snapshot.links.forEach((link, index) => {
            take(this.#edgeFrom(entry, index));
            visit(link.traceId, depth + 1);
          });
        }
      }
      for (const { from, index } of this.#inbound.get(current) ?? []) {
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
    for (const { traceId } of this.#traceEntries()) {
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
    for (const entry of this.#traces.get(traceId)?.entries ?? []) {
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
    const { name, tag, traceId, kind } = query;
    const out: ActivitySnapshot[] = [];
    const traces = traceId === undefined
      ? this.#traceEntries()
      : [this.#traces.get(traceId)].filter((t): t is TraceEntry => t !== undefined);
    for (const trace of traces) {
      for (const { snapshot } of trace.entries) {
        if (kind !== undefined && snapshot.kind !== kind) continue;
        if (typeof name === "string" && snapshot.name !== name) continue;
        if (name instanceof RegExp) {
          name.lastIndex = 0;
          if (!name.test(snapshot.name)) continue;
        }
        if (tag !== undefined) {
          const key = typeof tag === "string" ? tag : tag[0];
          const match = snapshot.tags.some(([k, v]) =>
            k === key && (typeof tag === "string" || sameValue(v, tag[1]))
          );
          if (!match) continue;
        }
        out.push(snapshot);
      }
    }
    return out;
  }
}

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
  return htmlReport(graph, options);
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
