// The text renderer of the graph: traces as trees with box-drawing characters, the traces linked
// to them drawn beneath, and the text helpers shared with the HTML report (escaping of control
// and bidirectional characters, short durations, tag summaries).
import type { LinkEdge, LinkGraph } from "./link_graph.ts";
import type { ActivitySnapshot, TraceNode, TraceTree } from "./snapshot.ts";
import { escapeControl, formatTagValue } from "../_format.ts";

/** Options of `renderTree`, `renderGraph` and `TreeExporter`. */
export interface TreeRenderOptions {
  /**
   * How many links to follow away from the first trace; `0` draws the trace alone (its links
   * are still listed, without the linked trees).
   * @default {Infinity}
   */
  depth?: number;
  /**
   * The most tags shown on an activity's line (the first ones, in order); `+N` counts the rest.
   * @default {3}
   */
  maxTags?: number;
  /**
   * The most characters of a tag value shown on a line; longer values end with `…`.
   * @default {40}
   */
  maxTagLength?: number;
}

/**
 * Escapes control characters and bidirectional controls (marks, embeddings, overrides,
 * isolates) as the console exporter does, so that a name cannot reorder the rest of its line.
 */
export function escapeText(text: string): string {
  return escapeControl(text);
}

function trimmed(value: number, digits: number): string {
  const text = value.toFixed(digits);
  return text.includes(".") ? text.replace(/\.?0+$/, "") : text;
}

/**
 * A duration in 100-ns ticks in a short human form: `800ns`, `865.6µs`, `12.35ms`, `1.234s`,
 * `2m05s`, `1h02m`.
 */
export function shortDuration(ticks: number): string {
  const t = Math.max(0, Math.round(ticks));
  if (t < 10) return `${t * 100}ns`;
  if (t < 10_000) return `${trimmed(t / 10, 1)}µs`;
  if (t < 10_000_000) return `${trimmed(t / 10_000, 2)}ms`;
  if (t < 600_000_000) return `${trimmed(t / 10_000_000, 3)}s`;
  const seconds = Math.floor(t / 10_000_000);
  if (seconds < 3600) {
    return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, "0")}s`;
  }
  return `${Math.floor(seconds / 3600)}h${String(Math.floor(seconds / 60) % 60).padStart(2, "0")}m`;
}

/** A tag as `key=value`, escaped, the value cut to `max` characters. */
function tagText(key: string, value: unknown, max: number): string {
  let text = formatTagValue(value);
  if (text.length > max) text = `${text.slice(0, Math.max(0, max - 1))}…`;
  return `${escapeText(key)}=${escapeText(text)}`;
}

/** The first tags of a list as `k=v k=v +N`. */
export function tagSummary(
  tags: readonly (readonly [string, unknown])[],
  maxTags: number,
  maxLength: number,
): string {
  const shown = tags.slice(0, maxTags).map(([k, v]) => tagText(k, v, maxLength));
  if (tags.length > maxTags) shown.push(`+${tags.length - maxTags}`);
  return shown.join(" ");
}

interface Settings {
  depth: number;
  maxTags: number;
  maxTagLength: number;
}

function settings(options: TreeRenderOptions): Settings {
  const depth = options.depth ?? Infinity;
  const maxTags = options.maxTags ?? 3;
  const maxTagLength = options.maxTagLength ?? 40;
  if (typeof depth !== "number" || Number.isNaN(depth) || depth < 0) {
    throw new RangeError(`Cannot render tree: depth must be a number >= 0, got ${String(depth)}`);
  }
  if (!Number.isInteger(maxTags) || maxTags < 0) {
    throw new RangeError(
      `Cannot render tree: maxTags must be an integer >= 0, got ${String(maxTags)}`,
    );
  }
  if (!Number.isInteger(maxTagLength) || maxTagLength < 1) {
    throw new RangeError(
      `Cannot render tree: maxTagLength must be a positive integer, got ${String(maxTagLength)}`,
    );
  }
  return { depth, maxTags, maxTagLength };
}

function edgeId(edge: LinkEdge): string {
  return `${edge.from.traceId}-${edge.from.spanId}#${edge.linkIndex}`;
}

/** One line under an activity: a child, a link out or a link in. */
type Item =
  | { type: "child"; node: TraceNode }
  | { type: "out"; edge: LinkEdge }
  | { type: "in"; edge: LinkEdge };

class Drawer {
  readonly #graph: LinkGraph;
  readonly #s: Settings;
  readonly #drawn = new Set<string>();
  readonly #edges = new Set<string>();
  /** Steps still to draw, the next on top: a stack instead of recursion, for deep traces. */
  readonly #steps: (() => void)[] = [];
  readonly lines: string[] = [];

  constructor(graph: LinkGraph, s: Settings) {
    this.#graph = graph;
    this.#s = s;
  }

  /** Draws a trace with a header line, unless an earlier group drew it. */
  top(traceId: string): void {
    if (this.#drawn.has(traceId)) return;
    const tree = this.#graph.tree(traceId);
    if (tree === undefined) return;
    if (this.lines.length > 0) this.lines.push("");
    const service = tree.roots[0]?.activity.serviceName;
    this.lines.push(
      `trace ${escapeText(traceId)}${service === undefined ? "" : `  [${escapeText(service)}]`}`,
    );
    this.#trace(tree, "", 0, service);
    while (this.#steps.length > 0) this.#steps.pop()!();
  }

  /** Queues steps to run in order, before the steps queued earlier. */
  #then(steps: (() => void)[]): void {
    for (let i = steps.length - 1; i >= 0; i--) this.#steps.push(steps[i]!);
  }

  /** Draws the forest of a trace under `prefix`; roots with a missing parent hang under it. */
  #trace(tree: TraceTree, prefix: string, hop: number, service: string | undefined): void {
    this.#drawn.add(tree.traceId);
    // Roots whose parent is not held are grouped under one line per missing parent.
    const groups: { parent: string | undefined; remote: boolean; nodes: TraceNode[] }[] = [];
    for (const root of tree.roots) {
      const parent = root.activity.parentSpanId;
      const group = groups.find((g) => g.parent === parent);
      if (group !== undefined) group.nodes.push(root);
      else groups.push({ parent, remote: root.activity.hasRemoteParent, nodes: [root] });
    }
    this.#then(groups.map((group, gi) => () => {
      const last = gi === groups.length - 1;
      if (group.parent === undefined) {
        this.#then(group.nodes.map((node, ni) => () => {
          this.#node(node, prefix, last && ni === group.nodes.length - 1, hop, service);
        }));
        return;
      }
      this.lines.push(
        `${prefix}${last ? "└── " : "├── "}⋯ parent ${escapeText(group.parent)} ${
          group.remote ? "(remote)" : "(not in graph)"
        }`,
      );
      const inner = prefix + (last ? "    " : "│   ");
      this.#then(group.nodes.map((node, ni) => () => {
        this.#node(node, inner, ni === group.nodes.length - 1, hop, service);
      }));
    }));
  }

  #label(a: ActivitySnapshot, service: string | undefined): string {
    let text = `${escapeText(a.name)}  ${escapeText(a.kind)}  ${shortDuration(a.durationTicks)}`;
    if (a.serviceName !== undefined && a.serviceName !== service) {
      text += `  [${escapeText(a.serviceName)}]`;
    }
    if (a.status === "error") {
      text += a.statusDescription === undefined
        ? "  ✗ error"
        : `  ✗ error: ${escapeText(a.statusDescription)}`;
    }
    const tags = tagSummary(a.tags, this.#s.maxTags, this.#s.maxTagLength);
    return tags === "" ? text : `${text}  ${tags}`;
  }

  #node(
    node: TraceNode,
    prefix: string,
    last: boolean,
    hop: number,
    service: string | undefined,
  ): void {
    const a = node.activity;
    this.lines.push(`${prefix}${last ? "└── " : "├── "}${this.#label(a, service)}`);
    const inner = prefix + (last ? "    " : "│   ");
    // Links out first (given at start, they say where the activity came from), then children
    // and links in, by the start time of the child or of the linking activity.
    const items: Item[] = [];
    for (const edge of this.#graph.linksFrom(a)) {
      if (!this.#edges.has(edgeId(edge))) items.push({ type: "out", edge });
    }
    const timed: { item: Item; start: bigint }[] = node.children.map((child) => ({
      item: { type: "child", node: child },
      start: child.activity.startTimeUnixNano,
    }));
    for (const edge of this.#graph.linksTo(a)) {
      if (this.#edges.has(edgeId(edge))) continue;
      const from = this.#graph.get(edge.from)!;
      timed.push({ item: { type: "in", edge }, start: from.startTimeUnixNano });
    }
    timed.sort((x, y) => x.start < y.start ? -1 : x.start > y.start ? 1 : 0);
    for (const { item } of timed) items.push(item);
    this.#items(items, inner, hop, a.serviceName ?? service);
  }

  #items(items: Item[], prefix: string, hop: number, service: string | undefined): void {
    this.#then(items.map((item, i) => () => {
      const last = i === items.length - 1;
      if (item.type === "child") {
        this.#node(item.node, prefix, last, hop, service);
        return;
      }
      const edge = item.edge;
      const id = edgeId(edge);
      if (this.#edges.has(id)) return; // drawn meanwhile, deeper in an earlier item
      this.#edges.add(id);
      const branch = prefix + (last ? "└── " : "├── ");
      const inner = prefix + (last ? "    " : "│   ");
      const tags = tagSummary(edge.tags, this.#s.maxTags, this.#s.maxTagLength);
      const tail = tags === "" ? "" : `  ${tags}`;
      if (item.type === "out") {
        const target = edge.to;
        const known = this.#graph.get(target);
        if (known === undefined) {
          this.lines.push(
            `${branch}→ links to span ${escapeText(target.spanId)} in trace ${
              escapeText(target.traceId)
            } (not in graph)${tail}`,
          );
          if (hop + 1 > this.#s.depth) return;
          // Other links into the same external activity: the traces it connects.
          const others: Item[] = [];
          for (const e of this.#graph.linksTo(target)) {
            if (!this.#edges.has(edgeId(e))) others.push({ type: "in", edge: e });
          }
          this.#items(others, inner, hop + 1, service);
          return;
        }
        const drawn = this.#drawn.has(target.traceId);
        this.lines.push(
          `${branch}→ links to ${escapeText(known.name)} in trace ${escapeText(target.traceId)}${
            drawn ? " (see above)" : ""
          }${tail}`,
        );
        if (!drawn && hop + 1 <= this.#s.depth) {
          this.#trace(this.#graph.tree(target.traceId)!, inner, hop + 1, service);
        }
        return;
      }
      const source = this.#graph.get(edge.from)!;
      const drawn = this.#drawn.has(edge.from.traceId);
      this.lines.push(
        `${branch}← linked from ${escapeText(source.name)} in trace ${
          escapeText(edge.from.traceId)
        }${drawn ? " (see above)" : ""}${tail}`,
      );
      if (!drawn && hop + 1 <= this.#s.depth) {
        this.#trace(this.#graph.tree(edge.from.traceId)!, inner, hop + 1, service);
      }
    }));
  }
}

/**
 * Draws the given traces, each with the traces linked to it beneath; a trace drawn as part of
 * an earlier one is not drawn again. Returns `""` when nothing was drawn.
 */
export function renderGroups(
  graph: LinkGraph,
  traceIds: readonly string[],
  options: TreeRenderOptions,
): string {
  const drawer = new Drawer(graph, settings(options));
  for (const traceId of traceIds) drawer.top(traceId);
  return drawer.lines.length === 0 ? "" : drawer.lines.join("\n") + "\n";
}
