// The frame of the HTML report: its style and script, the document around the groups, and the
// escaping of every text taken from activities (cut to a length, control and bidi characters
// shown as escapes, HTML-escaped).

import { formatTagValue } from "../_format.ts";
import { escapeText } from "./_text.ts";

/** The most characters of one text taken from an activity (a name, a tag value) shown. */
const MAX_TEXT = 4096;

/** A count with thousands separators: `999,872`. */
export function count(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** A text cut to {@linkcode MAX_TEXT} characters, saying how many more there were. */
export function clip(text: string): string {
  return text.length <= MAX_TEXT
    ? text
    : `${text.slice(0, MAX_TEXT)}… (${count(text.length - MAX_TEXT)} more characters)`;
}

/** `… and N more things`, the end of a list cut at `maxItems`. */
export function more(n: number, what: string): string {
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
export function html(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/**
 * Text from an activity, for HTML: cut to a length, control and bidi characters shown as
 * `\uXXXX`, escaped.
 */
export function t(text: string): string {
  return html(escapeText(clip(text)));
}

/** A fresh nonce for the Content-Security-Policy of one document. */
export function nonce(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A table of tags: the first `max`, then how many more there are. */
export function tagTable(tags: readonly (readonly [string, unknown])[], max: number): string {
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

/** The document: head, title, style, the summary and legend, the groups, the script. */
export function page(title: string, summary: string, groups: readonly string[]): string {
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
<p class="summary">${summary}</p>
<p class="legend">One box per group of traces related through links, on a shared time axis. Arrows go from the activity that holds a link to the activity it points at; click a row for its ids, tags, events and links.</p>
</header>
<main>
${groups.join("\n")}
</main>
<script nonce="${n}">${SCRIPT}</script>
</body>
</html>
`;
}

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
