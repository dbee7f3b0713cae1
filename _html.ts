// The HTML report of graph.ts: one self-contained document (inline CSS, SVG and script, no
// network) with a waterfall per group of linked traces and an arrow per link. Everything taken
// from activities is escaped as text; the only script is the report's own, allowed by a
// Content-Security-Policy nonce, and it only positions the arrows.
import type { TagList } from "./tags.ts";
import type {
  ActivityRef,
  ActivitySnapshot,
  LinkGraph,
  RelatedTraces,
  TraceNode,
} from "./graph.ts";
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

/** The most characters of one text taken from an activity (a name, a tag value) shown. */
const MAX_TEXT = 4096;

/** A count with thousands separators: `999,872`. */
function count(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** A text cut to {@linkcode MAX_TEXT} characters, saying how many more there were. */
function clip(text: string): string {
  return text.length <= MAX_TEXT
    ? text
    : `${text.slice(0, MAX_TEXT)}… (${count(text.length - MAX_TEXT)} more characters)`;
}

/** `… and N more things`, the end of a list cut at `maxItems`. */
function more(n: number, what: string): string {
  return `… and ${count(n)} more ${what}`;
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

/**
 * Text from an activity, for HTML: cut to a length, control and bidi characters shown as
 * `\uXXXX`, escaped.
 */
function t(text: string): string {
  return html(escapeText(clip(text)));
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
.more, .omitted { color: var(--muted); font-style: italic; }
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
  /** Whether the row is in the document (rows past the size limit are not). */
  drawn: boolean;
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

class Report {
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

  group(index: number, group: RelatedTraces): void {
    const graph = this.#graph;
    const max = this.#s.maxItems;
    const known = group.traces.filter((tr) => tr.known);
    const rowsByKey = new Map<string, Row>();
    const traceRows: { traceId: string; hue: number; rows: Row[] }[] = [];
    let min: bigint | undefined;
    let maxEnd: bigint | undefined;
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
        const row = { id: this.#id(), snapshot: a, depth, drawn: false };
        rows.push(row);
        rowsByKey.set(`${a.traceId}-${a.spanId}`, row);
        if (min === undefined || a.startTimeUnixNano < min) min = a.startTimeUnixNano;
        if (maxEnd === undefined || a.endTimeUnixNano > maxEnd) maxEnd = a.endTimeUnixNano;
        for (let c = node.children.length - 1; c >= 0; c--) {
          stack.push({ node: node.children[c]!, depth: depth + 1 });
        }
      }
      traceRows.push({ traceId: trace.traceId, hue: HUES[i % HUES.length]!, rows });
    });
    if (this.#full) {
      // Past the size limit: the group is counted, not drawn.
      for (const trace of traceRows) this.omittedActivities += trace.rows.length;
      this.omittedGroups++;
      return;
    }
    const start = min ?? 0n;
    const range = maxEnd === undefined || maxEnd <= start ? 1n : maxEnd - start;
    const percent = (ns: bigint): number => Number(((ns - start) * 1_000_000n) / range) / 10_000;

    const first = traceRows[0]?.rows[0]?.snapshot;
    const others = known.length - 1;
    const omitted = {
      activities: this.omittedActivities,
      externals: this.omittedExternals,
      arrows: this.omittedArrows,
    };
    this.#emit(`<section class="group" id="group-${index}">`);
    this.#emit(
      `<h2><span class="u">${first === undefined ? "External links" : t(first.name)}</span>` +
        `<span class="badge">${count(known.length)} trace${known.length === 1 ? "" : "s"}` +
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
    this.#emit(`<div class="rows">`);
    for (const trace of traceRows) {
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
        if (!this.#full && this.#emitIfRoom(this.#row(row, trace.hue, percent, rowsByKey))) {
          row.drawn = true;
        } else {
          this.omittedActivities++;
        }
      }
      this.#emit(`</div>`);
    }

    // External nodes: targets of the links listed (and drawn) that the graph does not hold.
    const drawnRow = (key: string): Row | undefined => {
      const row = rowsByKey.get(key);
      return row?.drawn === true ? row : undefined;
    };
    const externals = new Map<string, { id: string; traceId: string; spanId: string }>();
    for (const edge of group.edges) {
      if (edge.linkIndex >= max) continue;
      const key = `${edge.to.traceId}-${edge.to.spanId}`;
      if (rowsByKey.has(key) || externals.has(key)) continue;
      if (drawnRow(`${edge.from.traceId}-${edge.from.spanId}`) === undefined) continue;
      externals.set(key, { id: this.#id(), traceId: edge.to.traceId, spanId: edge.to.spanId });
    }
    const drawnExternals = new Set<string>();
    if (externals.size > 0 && !this.#full) {
      this.#emit(`<div class="trace external" style="--hue:0">`);
      this.#emit(
        `<div class="trace-head"><span>not in this report (another service, not recorded, or evicted)</span></div>`,
      );
      for (const [key, ext] of externals) {
        const into = graph.linksTo(ext);
        const text =
          `<details class="act external" id="${ext.id}" data-trace="${
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
              into.slice(0, max).map((e) => ({ ref: e.from, tags: e.tags })),
              into.length,
              rowsByKey,
            )
          }</div></details>`;
        if (this.#emitIfRoom(text)) drawnExternals.add(key);
        else this.omittedExternals++;
      }
      this.#emit(`</div>`);
    } else {
      this.omittedExternals += externals.size;
    }

    this.#emit(`<svg class="arrows" aria-hidden="true" width="0" height="0">`);
    this.#emit(
      `<defs><marker id="head-${index}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" ` +
        `markerHeight="7" orient="auto"><path d="M0 0L10 5L0 10z" fill="#c2410c"/></marker></defs>`,
    );
    // An arrow per link listed whose two ends are drawn.
    for (const edge of group.edges) {
      if (edge.linkIndex >= max) continue;
      const from = drawnRow(`${edge.from.traceId}-${edge.from.spanId}`);
      const toKey = `${edge.to.traceId}-${edge.to.spanId}`;
      const target = drawnRow(toKey);
      const to = target ?? (drawnExternals.has(toKey) ? externals.get(toKey) : undefined);
      if (from === undefined || to === undefined) continue;
      const tags = tagSummary(edge.tags, 8, 80);
      const title = `${escapeText(clip(from.snapshot.name))} → ${
        target === undefined
          ? `external span ${escapeText(clip(edge.to.spanId))}`
          : escapeText(clip(target.snapshot.name))
      }${tags === "" ? "" : `  ${tags}`}`;
      const arrow =
        `<path class="link-arrow${
          target === undefined ? " external" : ""
        }" data-from="${from.id}" ` +
        `data-to="${to.id}" data-from-span="${html(clip(edge.from.spanId))}" data-to-span="${
          html(clip(edge.to.spanId))
        }" marker-end="url(#head-${index})"><title>${html(title)}</title></path>`;
      if (!this.#emitIfRoom(arrow)) this.omittedArrows++;
    }
    this.#emit(`</svg></div>`);
    const left = [
      [this.omittedActivities - omitted.activities, "activit", "y", "ies"],
      [this.omittedExternals - omitted.externals, "external span", "", "s"],
      [this.omittedArrows - omitted.arrows, "arrow", "", "s"],
    ] as const;
    const said = left.filter(([n]) => n > 0).map(([n, word, one, many]) =>
      `${count(n)} ${word}${n === 1 ? one : many}`
    );
    if (said.length > 0) {
      this.#emit(
        `<p class="omitted">Not shown: ${said.join(", ")} (the report reached its size limit of ${
          count(this.#s.maxLength)
        } characters)</p>`,
      );
    }
    this.#emit(`</section>`);
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

  #info(a: ActivitySnapshot, rowsByKey: Map<string, Row>): string {
    const graph = this.#graph;
    const max = this.#s.maxItems;
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
    let out = `<div class="info"><dl>${
      dl.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join("")
    }</dl>`;
    if (a.tags.length > 0) out += `<h4>Tags</h4>${tagTable(a.tags, max)}`;
    if (a.events.length > 0) {
      const events = a.events.slice(0, max).map((e) =>
        `<li><span class="u">${t(e.name)}</span> <span class="kind">+${
          shortDuration(Number((e.timeUnixNano - a.startTimeUnixNano) / 100n))
        }</span>${e.tags.length > 0 ? tagTable(e.tags, max) : ""}</li>`
      );
      if (a.events.length > max) {
        events.push(`<li class="more">${more(a.events.length - max, "events")}</li>`);
      }
      out += `<h4>Events</h4><ul>${events.join("")}</ul>`;
    }
    const linksOut: ListedLink[] = [];
    for (let i = 0; i < a.links.length && i < max; i++) {
      const link = a.links[i]!;
      linksOut.push({ ref: { traceId: link.traceId, spanId: link.spanId }, tags: link.tags });
    }
    out += this.#linkList("Links to", linksOut, a.links.length, rowsByKey);
    const into = graph.linksTo(a);
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

function tagTable(tags: readonly (readonly [string, unknown])[], max: number): string {
  const rows = tags.slice(0, max).map(([k, v]) =>
    `<tr><td class="u">${t(k)}</td><td class="u mono">${
      // A string is shown as formatTagValue shows it; t() cuts it before escaping.
      t(typeof v === "string" ? v : formatTagValue(v))}</td></tr>`
  );
  if (tags.length > max) {
    rows.push(`<tr><td class="more" colspan="2">${more(tags.length - max, "tags")}</td></tr>`);
  }
  return `<table>${rows.join("")}</table>`;
}

/** The HTML report of a graph. */
export function htmlReport(graph: LinkGraph, options: HtmlReportOptions): string {
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
  const omitted = report.omittedActivities > 0
    ? ` · ${count(report.omittedActivities)} activit${
      report.omittedActivities === 1 ? "y" : "ies"
    } not shown (size limit)`
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
<p class="summary">${count(groups.length)} group${groups.length === 1 ? "" : "s"} · ${
    count(traces)
  } trace${traces === 1 ? "" : "s"} · ${count(activities)} activit${
    activities === 1 ? "y" : "ies"
  } · ${count(links)} link${links === 1 ? "" : "s"}${evicted}${omitted}</p>
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
