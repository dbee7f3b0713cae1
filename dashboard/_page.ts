// The dashboard's page: one self-contained document (inline style and script, no network load
// but its own API), under a Content-Security-Policy that lets only its own script and style run
// (a fresh nonce per response) and lets it connect to its own origin only. The document holds no
// data: the script fills it from the API, as text.

import { PAGE_SCRIPT } from "./_page_script.ts";

const STYLE = `
:root { color-scheme: light; --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg: #fff;
  --panel: #f6f8fa; --arrow: #c2410c; --accent: #0969da; --error: #cf222e;
  --label: minmax(12rem, 38%); }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg);
  background: var(--bg); }
header { display: flex; gap: 12px; align-items: baseline; flex-wrap: wrap; padding: 10px 16px;
  border-bottom: 1px solid var(--line); }
header h1 { font-size: 18px; margin: 0; }
main { padding: 0 16px 24px; max-width: 1400px; margin: 0 auto; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
.live { font-size: 12px; color: var(--muted); }
.live.on::before { content: "● "; color: #1a7f37; }
#stats, #status, .hint, .kind, .dur, .badge, .more { color: var(--muted); }
#stats { font-size: 13px; }
#status { font-size: 12px; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
.u { unicode-bidi: isolate; overflow-wrap: anywhere; }
form#filters { display: flex; flex-wrap: wrap; gap: 8px 14px; align-items: end; margin: 14px 0; }
form#filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); gap: 2px; }
form#filters label.check { flex-direction: row; align-items: center; gap: 4px; font-size: 14px;
  color: var(--fg); }
input, select { font: inherit; padding: 3px 6px; border: 1px solid var(--line); border-radius: 4px; }
table.traces { border-collapse: collapse; width: 100%; }
table.traces th { text-align: left; font-size: 12px; color: var(--muted); font-weight: 600;
  border-bottom: 1px solid var(--line); padding: 4px 8px; }
table.traces td { border-bottom: 1px solid var(--line); padding: 5px 8px; vertical-align: top; }
tr.trace-row { cursor: pointer; }
tr.trace-row:hover { background: var(--panel); }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.error, .badge.error { color: var(--error); font-weight: 600; }
td.name { max-width: 40ch; }
#list-count { color: var(--muted); font-size: 12px; }
h2 { font-size: 18px; margin: 14px 0 2px; }
h3 { font-size: 14px; margin: 16px 0 6px; }
h4 { font-size: 12px; margin: 10px 0 4px; text-transform: uppercase; color: var(--muted); }
#trace-summary { color: var(--muted); margin: 0 0 6px; overflow-wrap: anywhere; }
.exports a { margin-right: 14px; }
#related { margin: 0; padding-left: 18px; }
#related li.current > a { font-weight: 600; }
.columns { display: grid; grid-template-columns: minmax(0, 1fr) minmax(16rem, 34%); gap: 16px;
  align-items: start; }
.rows { position: relative; }
.trace { border-top: 1px solid var(--line); padding: 4px 0 6px; }
.trace-head { font-size: 12px; color: var(--muted); padding: 2px 0; display: flex; gap: 8px;
  flex-wrap: wrap; align-items: center; }
.swatch { width: 10px; height: 10px; border-radius: 2px; background: hsl(var(--hue) 65% 48%); }
.span-row { display: grid; grid-template-columns: var(--label) 1fr; align-items: center;
  min-height: 24px; border-radius: 4px; cursor: pointer; }
.span-row:hover, .span-row.selected { background: var(--panel); }
.span-row.selected { outline: 1px solid var(--accent); }
.span-row:focus-visible { outline: 2px solid var(--accent); }
.label { padding-left: calc(min(var(--depth) * 14px, 40%) + 4px); white-space: nowrap;
  overflow: hidden; text-overflow: ellipsis; min-width: 0; }
.name { font-weight: 600; }
.kind, .dur, .badge { font-size: 12px; margin-left: 6px; }
.lane { position: relative; height: 16px; margin-left: 48px; }
.bar { position: absolute; top: 2px; height: 12px; min-width: 3px; border-radius: 3px;
  background: hsl(var(--hue) 65% 48%); }
.span-row.error .bar { outline: 2px solid var(--error); outline-offset: 1px; }
svg.arrows { position: absolute; left: 0; top: 0; overflow: visible; pointer-events: none; }
path.link-arrow { fill: none; stroke: var(--arrow); stroke-width: 1.6; }
path.arrow-head { fill: var(--arrow); }
#details { position: sticky; top: 8px; background: var(--panel); border-radius: 6px; padding: 8px 12px;
  max-height: calc(100vh - 16px); overflow: auto; }
#details h3 { margin-top: 4px; overflow-wrap: anywhere; }
#details dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 10px; margin: 0; }
#details dt { color: var(--muted); }
#details dd { margin: 0; min-width: 0; }
#details ul { margin: 0; padding-left: 18px; }
table.kv { border-collapse: collapse; font-size: 12px; width: 100%; }
table.kv td { border-top: 1px solid var(--line); padding: 2px 8px 2px 0; vertical-align: top; }
table.kv td.key { color: var(--muted); width: 40%; }
pre#tree { background: var(--panel); padding: 8px; border-radius: 6px; overflow: auto;
  font-size: 12px; }
@media (max-width: 800px) {
  main { padding: 0 8px 16px; }
  .columns { grid-template-columns: 1fr; }
  #details { position: static; max-height: none; }
  .span-row { grid-template-columns: 1fr; }
  .lane { margin-left: 36px; }
  table.traces th:nth-child(3), table.traces td:nth-child(3) { display: none; }
}
`;

const BODY = `
<header>
<h1>Linked traces</h1>
<span id="live" class="live">connecting…</span>
<span id="stats"></span>
<span id="status" role="status"></span>
</header>
<main>
<section id="list-view">
<form id="filters" autocomplete="off">
<label>Service <select name="service"><option value="">all</option></select></label>
<label>Span name <input name="name" type="search" placeholder="contains"></label>
<label>Attribute <input name="attribute" type="search" placeholder="key=value"></label>
<label>Trace id <input name="traceId" type="search" placeholder="starts with" spellcheck="false"></label>
<label class="check"><input name="error" type="checkbox"> with errors</label>
</form>
<p id="list-count"></p>
<table class="traces">
<thead><tr><th>Service</th><th>Root span</th><th>Start</th><th>Duration</th><th>Spans</th><th>Errors</th><th>Links</th></tr></thead>
<tbody id="trace-rows"></tbody>
</table>
<p id="list-empty" class="hint">No traces yet. Send OTLP to the address printed at start; they show up here as they arrive.</p>
</section>
<section id="trace-view" hidden>
<p><a href="#/">← All traces</a></p>
<h2 id="trace-title" class="u"></h2>
<p id="trace-summary"></p>
<p class="exports"><a id="export-html" download>Download the HTML report</a><a id="export-otlp" download>Download as OTLP JSON</a></p>
<h3>Related traces</h3>
<ul id="related"></ul>
<div class="columns">
<div>
<h3>Waterfall</h3>
<p id="omitted" class="more"></p>
<div id="waterfall"></div>
<h3>Tree</h3>
<pre id="tree"></pre>
</div>
<aside id="details"></aside>
</div>
</section>
</main>
`;

/** A fresh nonce for one response. */
export function newNonce(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return btoa(String.fromCharCode(...bytes));
}

/** The Content-Security-Policy of the page with this nonce. */
export function pagePolicy(nonce: string): string {
  return `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; ` +
    `connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
}

/** The page, with its nonce. */
export function pageHtml(nonce: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Linked traces</title>
<link rel="icon" href="data:,">
<style nonce="${nonce}">${STYLE}</style>
</head>
<body>${BODY}<script nonce="${nonce}">${PAGE_SCRIPT}</script>
</body>
</html>
`;
}
