// The groups of the HTML report: for each group of linked traces, the layout (a row per
// activity on a shared time axis), the rows with their details, the external spans that links
// point at, and an arrow per link listed. Everything taken from activities is escaped as text;
// past the report's size limit, what is left out is counted.

import type { TagList } from "../tags.ts";
import type { LinkEdge, LinkGraph, RelatedTraces } from "./link_graph.ts";
import type { ActivityRef, ActivitySnapshot, TraceNode } from "./snapshot.ts";
import { formatDuration, formatTimestamp } from "../_format.ts";
import { escapeText, shortDuration, tagSummary } from "./_text.ts";
import { clip, count, html, more, t, tagTable } from "./_html_page.ts";

const HUES = [212, 152, 28, 280, 340, 186, 52, 100];

interface Row {
  id: string;
  snapshot: ActivitySnapshot;
  depth: number;
  /** Whether the row is in the document (rows past the size limit are not). */
  drawn: boolean;
}

/** The rows of one trace of a group. */
interface TraceRows {
  traceId: string;
  hue: number;
  rows: Row[];
}

/** A group laid out: its rows by trace and by activity, and its time range. */
interface Layout {
  traces: TraceRows[];
  rowsByKey: Map<string, Row>;
  start: bigint;
  /** The group's length in nanoseconds, at least 1. */
  range: bigint;
  /** The number of traces of the group the graph holds. */
  known: number;
}

/** An activity that links point at and the graph does not hold. */
interface External {
  id: string;
  traceId: string;
  spanId: string;
}

interface Settings {
  maxItems: number;
  maxLength: number;
}

/** One end of a link, as a list in an activity's details shows it. */
interface ListedLink {
  ref: ActivityRef;
  tags: TagList;
}

/** The groups of one report, as text parts, within its size limit. */
export class Report {
  readonly #graph: LinkGraph;
  readonly #s: Settings;
  #next = 0;
  #length = 0;
  #full = false;
  /** Activities left out at the size limit. */
  omittedActivities = 0;
  /** External spans left out at the size limit. */
  omittedExternals = 0;
  /** Arrows left out at the size limit. */
  omittedArrows = 0;
  /** Groups left out whole at the size limit. */
  omittedGroups = 0;
  readonly parts: string[] = [];

  constructor(graph: LinkGraph, settings: Settings) {
    this.#graph = graph;
    this.#s = settings;
  }

  #id(): string {
    return `a${++this.#next}`;
  }

  #emit(text: string): void {
    this.parts.push(text);
    this.#length += text.length;
  }

  /** Emits `text` if the document stays within its size limit; once it does not, nothing more. */
  #emitIfRoom(text: string): boolean {
    if (this.#full || this.#length + text.length > this.#s.maxLength) {
      this.#full = true;
      return false;
    }
    this.#emit(text);
    return true;
  }

  /** Emits one group of linked traces: heading, rows, external spans, arrows, and what is left out. */
  group(index: number, group: RelatedTraces): void {
    const layout = this.#layout(group);
    if (this.#full) {
      // Past the size limit: the group is counted, not drawn.
      for (const trace of layout.traces) this.omittedActivities += trace.rows.length;
      this.omittedGroups++;
      return;
    }
    const before = [this.omittedActivities, this.omittedExternals, this.omittedArrows] as const;
    this.#emit(`<section class="group" id="group-${index}">`);
    this.#heading(group, layout);
    this.#emit(`<div class="rows">`);
    this.#rows(layout);
    const externals = this.#externals(group, layout);
    this.#arrows(index, group, layout, externals);
    this.#emit(`</svg></div>`);
    this.#omittedNote(before);
    this.#emit(`</section>`);
  }

  /** The rows of each known trace of a group, in tree order, and the group's time range. */
  #layout(group: RelatedTraces): Layout {
    const rowsByKey = new Map<string, Row>();
    const traces: TraceRows[] = [];
    let min: bigint | undefined;
    let maxEnd: bigint | undefined;
    group.traces.filter((tr) => tr.known).forEach((trace, i) => {
      const tree = this.#graph.tree(trace.traceId);
      if (tree === undefined) return;
      const rows: Row[] = [];
      const stack: { node: TraceNode; depth: number }[] = tree.roots.map((node) => ({
        node,
        depth: 0,
      })).reverse();
      while (stack.length > 0) {
        const { node, depth } = stack.pop()!;
        const a = node.activity;
        const row = { id: this.#id(), snapshot: a, depth, drawn: false };
        rows.push(row);
        rowsByKey.set(`${a.traceId}-${a.spanId}`, row);
        if (min === undefined || a.startTimeUnixNano < min) min = a.startTimeUnixNano;
        if (maxEnd === undefined || a.endTimeUnixNano > maxEnd) maxEnd = a.endTimeUnixNano;
        for (let c = node.children.length - 1; c >= 0; c--) {
          stack.push({ node: node.children[c]!, depth: depth + 1 });
        }
      }
      traces.push({ traceId: trace.traceId, hue: HUES[i % HUES.length]!, rows });
    });
    const start = min ?? 0n;
    const range = maxEnd === undefined || maxEnd <= start ? 1n : maxEnd - start;
    return { traces, rowsByKey, start, range, known: group.traces.filter((tr) => tr.known).length };
  }

  /** The group's heading (its first activity, counts, duration) and its time axis. */
  #heading(group: RelatedTraces, layout: Layout): void {
    const { known, range } = layout;
    const first = layout.traces[0]?.rows[0]?.snapshot;
    const others = known - 1;
    this.#emit(
      `<h2><span class="u">${first === undefined ? "External links" : t(first.name)}</span>` +
        `<span class="badge">${count(known)} trace${known === 1 ? "" : "s"}` +
        `${others > 0 ? ` (${count(others)} linked)` : ""}, ${count(group.edges.length)} link${
          group.edges.length === 1 ? "" : "s"
        }, ${shortDuration(Number(range / 100n))}</span></h2>`,
    );
    this.#emit(
      `<div class="axis" aria-hidden="true"><span></span><div class="ticks">${
        [0, 25, 50, 75, 100].map((p) =>
          `<span style="left:${p}%">${
            p === 0 ? "0" : `+${shortDuration(Number((range * BigInt(p)) / 10_000n))}`
          }</span>`
        ).join("")
      }</div></div>`,
    );
  }

  /** A block per trace, a row per activity, while the document has room. */
  #rows(layout: Layout): void {
    const { start, range } = layout;
    const percent = (ns: bigint): number => Number(((ns - start) * 1_000_000n) / range) / 10_000;
    for (const trace of layout.traces) {
      if (this.#full) {
        this.omittedActivities += trace.rows.length;
        continue;
      }
      const service = trace.rows[0]?.snapshot.serviceName;
      this.#emit(
        `<div class="trace" data-trace="${html(clip(trace.traceId))}" style="--hue:${trace.hue}">`,
      );
      this.#emit(
        `<div class="trace-head"><span class="swatch"></span><span>trace <code>${
          t(trace.traceId)
        }</code></span>${
          service === undefined ? "" : `<span class="u">${t(service)}</span>`
        }</div>`,
      );
      for (const row of trace.rows) {
        if (!this.#full && this.#emitIfRoom(this.#row(row, trace.hue, percent, layout.rowsByKey))) {
          row.drawn = true;
        } else {
          this.omittedActivities++;
        }
      }
      this.#emit(`</div>`);
    }
  }

  /**
   * External nodes: targets of the links listed (and drawn) that the graph does not hold. Returns
   * those drawn, by key.
   */
  #externals(group: RelatedTraces, layout: Layout): Map<string, External> {
    const max = this.#s.maxItems;
    const externals = new Map<string, External>();
    for (const edge of group.edges) {
      if (edge.linkIndex >= max) continue;
      const key = `${edge.to.traceId}-${edge.to.spanId}`;
      if (layout.rowsByKey.has(key) || externals.has(key)) continue;
      if (drawnRow(layout, `${edge.from.traceId}-${edge.from.spanId}`) === undefined) continue;
      externals.set(key, { id: this.#id(), traceId: edge.to.traceId, spanId: edge.to.spanId });
    }
    const drawn = new Map<string, External>();
    if (externals.size === 0 || this.#full) {
      this.omittedExternals += externals.size;
      return drawn;
    }
    this.#emit(`<div class="trace external" style="--hue:0">`);
    this.#emit(
      `<div class="trace-head"><span>not in this report (another service, not recorded, or evicted)</span></div>`,
    );
    for (const [key, ext] of externals) {
      if (this.#emitIfRoom(this.#external(ext, layout.rowsByKey))) drawn.set(key, ext);
      else this.omittedExternals++;
    }
    this.#emit(`</div>`);
    return drawn;
  }

  #external(ext: External, rowsByKey: Map<string, Row>): string {
    const into = this.#graph.linksTo(ext);
    return `<details class="act external" id="${ext.id}" data-trace="${
      html(clip(ext.traceId))
    }" data-span="${html(clip(ext.spanId))}" style="--depth:0">` +
      `<summary><span class="label">external <span class="mono">span ${
        t(ext.spanId)
      }</span></span><span class="lane"><span class="bar" style="left:0%"></span></span></summary>` +
      `<div class="info"><dl><dt>trace</dt><dd><code>${
        t(ext.traceId)
      }</code></dd><dt>span</dt><dd><code>${t(ext.spanId)}</code></dd></dl>${
        this.#linkList(
          "Linked from",
          into.slice(0, this.#s.maxItems).map((e) => ({ ref: e.from, tags: e.tags })),
          into.length,
          rowsByKey,
        )
      }</div></details>`;
  }

  /** An arrow per link listed whose two ends are drawn. */
  #arrows(
    index: number,
    group: RelatedTraces,
    layout: Layout,
    externals: Map<string, External>,
  ): void {
    this.#emit(`<svg class="arrows" aria-hidden="true" width="0" height="0">`);
    this.#emit(
      `<defs><marker id="head-${index}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" ` +
        `markerHeight="7" orient="auto"><path d="M0 0L10 5L0 10z" fill="#c2410c"/></marker></defs>`,
    );
    for (const edge of group.edges) {
      if (edge.linkIndex >= this.#s.maxItems) continue;
      const from = drawnRow(layout, `${edge.from.traceId}-${edge.from.spanId}`);
      const toKey = `${edge.to.traceId}-${edge.to.spanId}`;
      const target = drawnRow(layout, toKey);
      const to = target ?? externals.get(toKey);
      if (from === undefined || to === undefined) continue;
      if (!this.#emitIfRoom(arrow(index, edge, from, target, to))) this.omittedArrows++;
    }
  }

  /** Says what this group left out at the size limit (counts since `before`). */
  #omittedNote(before: readonly [number, number, number]): void {
    const left = [
      [this.omittedActivities - before[0], "activit", "y", "ies"],
      [this.omittedExternals - before[1], "external span", "", "s"],
      [this.omittedArrows - before[2], "arrow", "", "s"],
    ] as const;
    const said = left.filter(([n]) => n > 0).map(([n, word, one, many]) =>
      `${count(n)} ${word}${n === 1 ? one : many}`
    );
    if (said.length === 0) return;
    this.#emit(
      `<p class="omitted">Not shown: ${said.join(", ")} (the report reached its size limit of ${
        count(this.#s.maxLength)
      } characters)</p>`,
    );
  }

  #row(
    row: Row,
    hue: number,
    percent: (ns: bigint) => number,
    rowsByKey: Map<string, Row>,
  ): string {
    const a = row.snapshot;
    const left = percent(a.startTimeUnixNano);
    const width = Math.max(0.3, percent(a.endTimeUnixNano) - left);
    const error = a.status === "error";
    const remote = a.parentSpanId !== undefined && row.depth === 0;
    const hover = `${escapeText(clip(a.name))} · ${a.kind} · ${shortDuration(a.durationTicks)}`;
    return `<details class="act" id="${row.id}" data-trace="${html(clip(a.traceId))}" data-span="${
      html(clip(a.spanId))
    }" style="--depth:${row.depth};--hue:${hue}"><summary title="${html(hover)}">` +
      `<span class="label"><span class="name u">${t(a.name)}</span><span class="kind">${
        html(a.kind)
      }</span>` +
      `<span class="dur">${shortDuration(a.durationTicks)}</span>${
        error ? `<span class="badge error">error</span>` : ""
      }${
        remote
          ? `<span class="badge">${a.hasRemoteParent ? "remote parent" : "parent not here"}</span>`
          : ""
      }${
        a.links.length > 0 ? `<span class="badge">→ ${count(a.links.length)}</span>` : ""
      }</span>` +
      `<span class="lane"><span class="bar${error ? " error" : ""}" style="left:${left}%;width:${
        Math.min(width, 100 - left)
      }%"></span></span></summary>${this.#info(a, rowsByKey)}</details>`;
  }

  /** The details of an activity: its facts, tags, events and links in and out. */
  #info(a: ActivitySnapshot, rowsByKey: Map<string, Row>): string {
    const max = this.#s.maxItems;
    let out = `<div class="info">${facts(a)}`;
    if (a.tags.length > 0) out += `<h4>Tags</h4>${tagTable(a.tags, max)}`;
    if (a.events.length > 0) out += eventList(a, max);
    const linksOut: ListedLink[] = [];
    for (let i = 0; i < a.links.length && i < max; i++) {
      const link = a.links[i]!;
      linksOut.push({ ref: { traceId: link.traceId, spanId: link.spanId }, tags: link.tags });
    }
    out += this.#linkList("Links to", linksOut, a.links.length, rowsByKey);
    const into = this.#graph.linksTo(a);
    out += this.#linkList(
      "Linked from",
      into.slice(0, max).map((e) => ({ ref: e.from, tags: e.tags })),
      into.length,
      rowsByKey,
    );
    if (a.droppedLinkCount > 0) {
      out += `<p>${t(count(a.droppedLinkCount))} links dropped at the limit</p>`;
    }
    return out + `</div>`;
  }

  /** A list of links (the first `maxItems`), and how many more there are of `total`. */
  #linkList(
    heading: string,
    links: readonly ListedLink[],
    total: number,
    rowsByKey: Map<string, Row>,
  ): string {
    if (total === 0) return "";
    const items = links.map(({ ref, tags }) => {
      const row = rowsByKey.get(`${ref.traceId}-${ref.spanId}`);
      const known = this.#graph.get(ref);
      const what = known === undefined
        ? `external span <code>${t(ref.spanId)}</code>`
        : `<span class="u">${t(known.name)}</span>`;
      const target = row === undefined ? what : `<a href="#${row.id}">${what}</a>`;
      return `<li>${target} in trace <code>${t(ref.traceId)}</code>${
        tags.length > 0 ? tagTable(tags, this.#s.maxItems) : ""
      }</li>`;
    });
    if (total > links.length) {
      items.push(`<li class="more">${more(total - links.length, "links")}</li>`);
    }
    return `<h4>${heading}</h4><ul>${items.join("")}</ul>`;
  }
}

/** A row of the layout that is in the document. */
function drawnRow(layout: Layout, key: string): Row | undefined {
  const row = layout.rowsByKey.get(key);
  return row?.drawn === true ? row : undefined;
}

/** The SVG path of one arrow, with a title naming its two ends and the link's tags. */
function arrow(
  index: number,
  edge: LinkEdge,
  from: Row,
  target: Row | undefined,
  to: { readonly id: string },
): string {
  const tags = tagSummary(edge.tags, 8, 80);
  const title = `${escapeText(clip(from.snapshot.name))} → ${
    target === undefined
      ? `external span ${escapeText(clip(edge.to.spanId))}`
      : escapeText(clip(target.snapshot.name))
  }${tags === "" ? "" : `  ${tags}`}`;
  return `<path class="link-arrow${
    target === undefined ? " external" : ""
  }" data-from="${from.id}" ` +
    `data-to="${to.id}" data-from-span="${html(clip(edge.from.spanId))}" data-to-span="${
      html(clip(edge.to.spanId))
    }" marker-end="url(#head-${index})"><title>${html(title)}</title></path>`;
}

/** The facts of an activity: ids, parent, kind, source, service, times and status. */
function facts(a: ActivitySnapshot): string {
  const dl: [string, string][] = [
    ["trace", `<code>${t(a.traceId)}</code>`],
    ["span", `<code>${t(a.spanId)}</code>`],
    [
      "parent",
      a.parentSpanId === undefined
        ? "none (root)"
        : `<code>${t(a.parentSpanId)}</code>${a.hasRemoteParent ? " (remote)" : ""}`,
    ],
    ["kind", html(a.kind)],
    ["source", `<span class="u">${t(a.sourceName)}</span>`],
  ];
  if (a.serviceName !== undefined) {
    dl.push(["service", `<span class="u">${t(a.serviceName)}</span>`]);
  }
  dl.push(["start", html(formatTimestamp(a.startTimeUnixNano))]);
  dl.push(["duration", `${shortDuration(a.durationTicks)} (${formatDuration(a.durationTicks)})`]);
  if (a.status !== "unset") {
    dl.push([
      "status",
      `${html(a.status)}${
        a.statusDescription === undefined
          ? ""
          : `: <span class="u">${t(a.statusDescription)}</span>`
      }`,
    ]);
  }
  return `<dl>${dl.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join("")}</dl>`;
}

/** The events of an activity (the first `max`), each with its time from the start and tags. */
function eventList(a: ActivitySnapshot, max: number): string {
  const events = a.events.slice(0, max).map((e) =>
    `<li><span class="u">${t(e.name)}</span> <span class="kind">+${
      shortDuration(Number((e.timeUnixNano - a.startTimeUnixNano) / 100n))
    }</span>${e.tags.length > 0 ? tagTable(e.tags, max) : ""}</li>`
  );
  if (a.events.length > max) {
    events.push(`<li class="more">${more(a.events.length - max, "events")}</li>`);
  }
  return `<h4>Events</h4><ul>${events.join("")}</ul>`;
}
