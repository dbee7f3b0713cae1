// The HTML report of graph.ts: one self-contained document (inline CSS, SVG and script, no
// network) with a waterfall per group of linked traces and an arrow per link. Everything taken
// from activities is escaped as text; the only script is the report's own, allowed by a
// Content-Security-Policy nonce, and it only positions the arrows.
import type { ActivitySnapshot, LinkEdge, LinkGraph, RelatedTraces, TraceNode } from "./graph.ts";
import { formatDuration, formatTagValue, formatTimestamp } from "./_format.ts";
import { escapeText, shortDuration, tagSummary } from "./_render.ts";

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
}

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Escapes text for HTML content and quoted attributes. */
function html(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/** Text from an activity, for HTML: control and bidi characters shown as `\uXXXX`, escaped. */
function t(text: string): string {
  return html(escapeText(text));
}

function nonce(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

const HUES = [212, 152, 28, 280, 340, 186, 52, 100];

const STYLE = `
:root { color-scheme: light; --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg: #fff;
  --panel: #f6f8fa; --arrow: #c2410c; --label: minmax(12rem, 38%); }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg);
  background: var(--bg); }
header, main { padding: 0 16px; max-width: 1400px; margin: 0 auto; }
h1 { font-size: 20px; margin: 16px 0 4px; }
h2 { font-size: 16px; margin: 0 0 8px; }
h4 { font-size: 12px; margin: 10px 0 4px; text-transform: uppercase; color: var(--muted); }
.summary, .legend { color: var(--muted); margin: 0 0 6px; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
.u { unicode-bidi: isolate; overflow-wrap: anywhere; }
section.group { border: 1px solid var(--line); border-radius: 8px; padding: 12px; margin: 16px 0; }
.axis { display: grid; grid-template-columns: var(--label) 1fr; font-size: 11px; color: var(--muted); }
.ticks { position: relative; height: 16px; margin-left: 48px; }
.ticks span { position: absolute; transform: translateX(-50%); white-space: nowrap; }
.ticks span:first-child { transform: none; }
.ticks span:last-child { transform: translateX(-100%); }
.rows { position: relative; }
.trace { border-top: 1px solid var(--line); padding: 4px 0 6px; }
.trace-head { font-size: 12px; color: var(--muted); padding: 2px 0; display: flex; gap: 8px;
  flex-wrap: wrap; align-items: center; }
.swatch { width: 10px; height: 10px; border-radius: 2px; background: hsl(var(--hue) 65% 48%); }
details.act > summary { display: grid; grid-template-columns: var(--label) 1fr; align-items: center;
  list-style: none; cursor: pointer; min-height: 26px; border-radius: 4px; }
details.act > summary::-webkit-details-marker { display: none; }
details.act > summary:hover, details.act[open] > summary { background: var(--panel); }
details.act > summary:focus-visible { outline: 2px solid #0969da; }
.label { padding-left: calc(min(var(--depth) * 14px, 40%) + 4px); white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; min-width: 0; }
.name { font-weight: 600; }
.kind, .dur, .badge { color: var(--muted); font-size: 12px; margin-left: 6px; }
.badge.error { color: #cf222e; font-weight: 600; }
.lane { position: relative; height: 16px; margin-left: 48px; }
.bar { position: absolute; top: 2px; height: 12px; min-width: 3px; border-radius: 3px;
  background: hsl(var(--hue) 65% 48%); }
.bar.error { outline: 2px solid #cf222e; outline-offset: 1px; }
.external .bar { background: transparent; border: 2px dashed #6e7781; width: 12px; }
.external .label { color: var(--muted); }
.info { position: relative; z-index: 1; margin: 4px 0 10px calc(min(var(--depth) * 14px, 40%) + 18px);
  padding: 8px 12px; background: var(--panel);
  border-left: 3px solid hsl(var(--hue) 65% 48%); border-radius: 4px; }
.info dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0; }
.info dt { color: var(--muted); }
.info dd { margin: 0; min-width: 0; }
.info table { border-collapse: collapse; font-size: 12px; }
.info td { border-top: 1px solid var(--line); padding: 2px 8px 2px 0; vertical-align: top; }
.info td:first-child { color: var(--muted); min-width: 16ch; }
.info ul { margin: 0; padding-left: 18px; }
svg.arrows { position: absolute; left: 0; top: 0; overflow: visible; pointer-events: none; }
path.link-arrow { fill: none; stroke: var(--arrow); stroke-width: 1.6; pointer-events: visibleStroke; }
path.link-arrow.external { stroke-dasharray: 4 3; }
path.link-arrow:hover { stroke-width: 3.2; }
@media (max-width: 640px) {
  header, main { padding: 0 8px; }
  section.group { padding: 8px; }
  .axis, details.act > summary { grid-template-columns: 1fr; }
  .axis > span:first-child { display: none; }
  .label { white-space: normal; }
  .lane, .ticks { margin-left: 36px; }
  .ticks span:nth-child(2n) { display: none; }
  .info { margin-left: 8px; }
}
`;

const SCRIPT = `
(() => {
  const groups = [...document.querySelectorAll("section.group")];
  const draw = (section) => {
    const rows = section.querySelector(".rows");
    const svg = section.querySelector("svg.arrows");
    const box = rows.getBoundingClientRect();
    svg.setAttribute("width", String(box.width));
    svg.setAttribute("height", String(box.height));
    let k = 0;
    for (const path of svg.querySelectorAll("path.link-arrow")) {
      const from = document.getElementById(path.dataset.from)?.querySelector(".bar");
      const to = document.getElementById(path.dataset.to)?.querySelector(".bar");
      if (!from || !to) continue;
      const f = from.getBoundingClientRect();
      const g = to.getBoundingClientRect();
      const sx = f.left - box.left, sy = f.top + f.height / 2 - box.top;
      const tx = g.left - box.left, ty = g.top + g.height / 2 - box.top;
      const cx = Math.min(sx, tx) - 16 - (k++ % 4) * 7;
      path.setAttribute("d", "M" + sx + " " + sy + "C" + cx + " " + sy + " " + cx + " " + ty +
        " " + (tx - 1) + " " + ty);
    }
  };
  const all = () => groups.forEach(draw);
  all();
  addEventListener("resize", all);
  document.addEventListener("toggle", all, true);
  if (typeof ResizeObserver === "function") {
    const observer = new ResizeObserver(all);
    groups.forEach((g) => observer.observe(g));
  }
})();
`;

interface Row {
  id: string;
  snapshot: ActivitySnapshot;
  depth: number;
}

class Report {
  readonly #graph: LinkGraph;
  #next = 0;
  readonly parts: string[] = [];

  constructor(graph: LinkGraph) {
    this.#graph = graph;
  }

  #id(): string {
    return `a${++this.#next}`;
  }

  group(index: number, group: RelatedTraces): void {
    const graph = this.#graph;
    const known = group.traces.filter((tr) => tr.known);
    const rowsByKey = new Map<string, Row>();
    const traceRows: { traceId: string; hue: number; rows: Row[] }[] = [];
    let min: bigint | undefined;
    let max: bigint | undefined;
    known.forEach((trace, i) => {
      const rows: Row[] = [];
      const tree = graph.tree(trace.traceId);
      if (tree === undefined) return;
      const stack: { node: TraceNode; depth: number }[] = tree.roots.map((node) => ({
        node,
        depth: 0,
      })).reverse();
      while (stack.length > 0) {
        const { node, depth } = stack.pop()!;
        const a = node.activity;
        const row = { id: this.#id(), snapshot: a, depth };
        rows.push(row);
        rowsByKey.set(`${a.traceId}-${a.spanId}`, row);
        if (min === undefined || a.startTimeUnixNano < min) min = a.startTimeUnixNano;
        if (max === undefined || a.endTimeUnixNano > max) max = a.endTimeUnixNano;
        for (let c = node.children.length - 1; c >= 0; c--) {
          stack.push({ node: node.children[c]!, depth: depth + 1 });
        }
      }
      traceRows.push({ traceId: trace.traceId, hue: HUES[i % HUES.length]!, rows });
    });
    const start = min ?? 0n;
    const range = max === undefined || max <= start ? 1n : max - start;
    const percent = (ns: bigint): number => Number(((ns - start) * 1_000_000n) / range) / 10_000;

    // External nodes: link targets the graph does not hold, one row each.
    const externals = new Map<string, { id: string; traceId: string; spanId: string }>();
    for (const edge of group.edges) {
      const key = `${edge.to.traceId}-${edge.to.spanId}`;
      if (!rowsByKey.has(key) && !externals.has(key)) {
        externals.set(key, { id: this.#id(), traceId: edge.to.traceId, spanId: edge.to.spanId });
      }
    }

    const first = traceRows[0]?.rows[0]?.snapshot;
    const others = known.length - 1;
    const out = this.parts;
    out.push(`<section class="group" id="group-${index}">`);
    out.push(
      `<h2><span class="u">${first === undefined ? "External links" : t(first.name)}</span>` +
        `<span class="badge">${known.length} trace${known.length === 1 ? "" : "s"}` +
        `${others > 0 ? ` (${others} linked)` : ""}, ${group.edges.length} link${
          group.edges.length === 1 ? "" : "s"
        }, ${shortDuration(Number(range / 100n))}</span></h2>`,
    );
    out.push(
      `<div class="axis" aria-hidden="true"><span></span><div class="ticks">${
        [0, 25, 50, 75, 100].map((p) =>
          `<span style="left:${p}%">${
            p === 0 ? "0" : `+${shortDuration(Number((range * BigInt(p)) / 10_000n))}`
          }</span>`
        ).join("")
      }</div></div>`,
    );
    out.push(`<div class="rows">`);
    for (const trace of traceRows) {
      const service = trace.rows[0]?.snapshot.serviceName;
      out.push(
        `<div class="trace" data-trace="${html(trace.traceId)}" style="--hue:${trace.hue}">`,
      );
      out.push(
        `<div class="trace-head"><span class="swatch"></span><span>trace <code>${
          t(trace.traceId)
        }</code></span>${
          service === undefined ? "" : `<span class="u">${t(service)}</span>`
        }</div>`,
      );
      for (const row of trace.rows) this.#row(row, trace.hue, percent, rowsByKey);
      out.push(`</div>`);
    }
    if (externals.size > 0) {
      out.push(`<div class="trace external" style="--hue:0">`);
      out.push(
        `<div class="trace-head"><span>not in this report (another service, not recorded, or evicted)</span></div>`,
      );
      for (const ext of externals.values()) {
        out.push(
          `<details class="act external" id="${ext.id}" data-trace="${
            html(ext.traceId)
          }" data-span="${html(ext.spanId)}" style="--depth:0">` +
            `<summary><span class="label">external <span class="mono">span ${
              t(ext.spanId)
            }</span></span><span class="lane"><span class="bar" style="left:0%"></span></span></summary>` +
            `<div class="info"><dl><dt>trace</dt><dd><code>${
              t(ext.traceId)
            }</code></dd><dt>span</dt><dd><code>${t(ext.spanId)}</code></dd></dl>${
              this.#edgeList(
                "Linked from",
                graph.linksTo(ext),
                (e) => e.from,
                rowsByKey,
              )
            }</div></details>`,
        );
      }
      out.push(`</div>`);
    }
    out.push(`<svg class="arrows" aria-hidden="true" width="0" height="0">`);
    out.push(
      `<defs><marker id="head-${index}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" ` +
        `markerHeight="7" orient="auto"><path d="M0 0L10 5L0 10z" fill="#c2410c"/></marker></defs>`,
    );
    for (const edge of group.edges) {
      const from = rowsByKey.get(`${edge.from.traceId}-${edge.from.spanId}`);
      const toKey = `${edge.to.traceId}-${edge.to.spanId}`;
      const to = rowsByKey.get(toKey) ?? externals.get(toKey);
      if (from === undefined || to === undefined) continue;
      const target = rowsByKey.get(toKey)?.snapshot;
      const tags = tagSummary(edge.tags, 8, 80);
      const title = `${escapeText(from.snapshot.name)} → ${
        target === undefined
          ? `external span ${escapeText(edge.to.spanId)}`
          : escapeText(target.name)
      }${tags === "" ? "" : `  ${tags}`}`;
      out.push(
        `<path class="link-arrow${
          target === undefined ? " external" : ""
        }" data-from="${from.id}" ` +
          `data-to="${to.id}" data-from-span="${html(edge.from.spanId)}" data-to-span="${
            html(edge.to.spanId)
          }" marker-end="url(#head-${index})"><title>${html(title)}</title></path>`,
      );
    }
    out.push(`</svg></div></section>`);
  }

  #row(
    row: Row,
    hue: number,
    percent: (ns: bigint) => number,
    rowsByKey: Map<string, Row>,
  ): void {
    const a = row.snapshot;
    const left = percent(a.startTimeUnixNano);
    const width = Math.max(0.3, percent(a.endTimeUnixNano) - left);
    const error = a.status === "error";
    const remote = a.parentSpanId !== undefined && row.depth === 0;
    const hover = `${escapeText(a.name)} · ${a.kind} · ${shortDuration(a.durationTicks)}`;
    this.parts.push(
      `<details class="act" id="${row.id}" data-trace="${html(a.traceId)}" data-span="${
        html(a.spanId)
      }" style="--depth:${row.depth};--hue:${hue}"><summary title="${html(hover)}">` +
        `<span class="label"><span class="name u">${
          t(a.name)
        }</span><span class="kind">${a.kind}</span>` +
        `<span class="dur">${shortDuration(a.durationTicks)}</span>${
          error ? `<span class="badge error">error</span>` : ""
        }${
          remote
            ? `<span class="badge">${
              a.hasRemoteParent ? "remote parent" : "parent not here"
            }</span>`
            : ""
        }${a.links.length > 0 ? `<span class="badge">→ ${a.links.length}</span>` : ""}</span>` +
        `<span class="lane"><span class="bar${error ? " error" : ""}" style="left:${left}%;width:${
          Math.min(width, 100 - left)
        }%"></span></span></summary>${this.#info(a, rowsByKey)}</details>`,
    );
  }

  #info(a: ActivitySnapshot, rowsByKey: Map<string, Row>): string {
    const graph = this.#graph;
    const dl: [string, string][] = [
      ["trace", `<code>${t(a.traceId)}</code>`],
      ["span", `<code>${t(a.spanId)}</code>`],
      [
        "parent",
        a.parentSpanId === undefined
          ? "none (root)"
          : `<code>${t(a.parentSpanId)}</code>${a.hasRemoteParent ? " (remote)" : ""}`,
      ],
      ["kind", a.kind],
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
        `${a.status}${
          a.statusDescription === undefined
            ? ""
            : `: <span class="u">${t(a.statusDescription)}</span>`
        }`,
      ]);
    }
    let out = `<div class="info"><dl>${
      dl.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join("")
    }</dl>`;
    if (a.tags.length > 0) out += `<h4>Tags</h4>${tagTable(a.tags)}`;
    if (a.events.length > 0) {
      out += `<h4>Events</h4><ul>${
        a.events.map((e) =>
          `<li><span class="u">${t(e.name)}</span> <span class="kind">+${
            shortDuration(Number((e.timeUnixNano - a.startTimeUnixNano) / 100n))
          }</span>${e.tags.length > 0 ? tagTable(e.tags) : ""}</li>`
        ).join("")
      }</ul>`;
    }
    out += this.#edgeList("Links to", graph.linksFrom(a), (e) => e.to, rowsByKey);
    out += this.#edgeList("Linked from", graph.linksTo(a), (e) => e.from, rowsByKey);
    if (a.droppedLinkCount > 0) out += `<p>${a.droppedLinkCount} links dropped at the limit</p>`;
    return out + `</div>`;
  }

  #edgeList(
    heading: string,
    edges: LinkEdge[],
    end: (edge: LinkEdge) => { traceId: string; spanId: string },
    rowsByKey: Map<string, Row>,
  ): string {
    if (edges.length === 0) return "";
    const items = edges.map((edge) => {
      const ref = end(edge);
      const row = rowsByKey.get(`${ref.traceId}-${ref.spanId}`);
      const known = this.#graph.get(ref);
      const what = known === undefined
        ? `external span <code>${t(ref.spanId)}</code>`
        : `<span class="u">${t(known.name)}</span>`;
      const target = row === undefined ? what : `<a href="#${row.id}">${what}</a>`;
      return `<li>${target} in trace <code>${t(ref.traceId)}</code>${
        edge.tags.length > 0 ? tagTable(edge.tags) : ""
      }</li>`;
    });
    return `<h4>${heading}</h4><ul>${items.join("")}</ul>`;
  }
}

function tagTable(tags: readonly (readonly [string, unknown])[]): string {
  return `<table>${
    tags.map(([k, v]) =>
      `<tr><td class="u">${t(k)}</td><td class="u mono">${t(formatTagValue(v))}</td></tr>`
    ).join("")
  }</table>`;
}

/** The HTML report of a graph. */
export function htmlReport(graph: LinkGraph, options: HtmlReportOptions): string {
  const title = options.title ?? "Linked traces";
  if (typeof title !== "string") {
    throw new TypeError("Cannot render HTML report: title must be a string");
  }
  const wanted = options.traceIds === undefined ? undefined : new Set(options.traceIds);
  const groups = graph.groups().filter((g) =>
    wanted === undefined || g.traces.some((tr) => wanted.has(tr.traceId))
  );
  const report = new Report(graph);
  groups.forEach((group, i) => report.group(i + 1, group));
  const traces = groups.reduce((n, g) => n + g.traces.filter((tr) => tr.known).length, 0);
  const links = groups.reduce((n, g) => n + g.edges.length, 0);
  const activities = groups.reduce(
    (n, g) => n + g.traces.reduce((m, tr) => m + graph.activities(tr.traceId).length, 0),
    0,
  );
  const evicted = graph.evictedTraceCount > 0
    ? ` · ${graph.evictedTraceCount} traces (${graph.evictedActivityCount} activities) evicted`
    : "";
  const n = nonce();
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-${n}'; img-src data:; base-uri 'none'; form-action 'none'">
<title>${t(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1 class="u">${t(title)}</h1>
<p class="summary">${groups.length} group${groups.length === 1 ? "" : "s"} · ${traces} trace${
    traces === 1 ? "" : "s"
  } · ${activities} activit${activities === 1 ? "y" : "ies"} · ${links} link${
    links === 1 ? "" : "s"
  }${evicted}</p>
<p class="legend">One box per group of traces related through links, on a shared time axis. Arrows go from the activity that holds a link to the activity it points at; click a row for its ids, tags, events and links.</p>
</header>
<main>
${report.parts.join("\n")}
</main>
<script nonce="${n}">${SCRIPT}</script>
</body>
</html>
`;
}
