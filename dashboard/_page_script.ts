// The page's own script (the only one the Content-Security-Policy lets run). It builds everything
// with DOM calls and textContent, never HTML from data, so every value shows as text. It reads the
// JSON API, and listens to /api/events (server-sent events) to refresh the list and the open trace
// without a reload. Written without template literals, so that it can sit in this string.

/** The script, as it is sent inside the page. */
export const PAGE_SCRIPT: string = String.raw`
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const HUES = [212, 152, 28, 280, 340, 186, 52, 100];
  const KINDS = ["unspecified", "internal", "server", "client", "producer", "consumer"];
  const HEX = /^[0-9a-f]+$/;
  const MAX_ROWS_LISTED = 128;
  const state = { view: "list", traceId: "", spanId: "", detail: null, groupIds: new Set() };

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function append(parent, ...children) {
    for (const child of children) if (child) parent.append(child);
    return parent;
  }
  function traceHref(traceId, spanId) {
    if (!HEX.test(traceId)) return "#/";
    return "#/trace/" + traceId + (spanId && HEX.test(spanId) ? "/" + spanId : "");
  }
  function link(text, href, className) {
    const a = el("a", className, text);
    a.href = href;
    return a;
  }
  function count(n) {
    return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  }
  function duration(ns) {
    const n = Number(ns);
    if (n < 1e3) return n + "ns";
    if (n < 1e6) return (n / 1e3).toFixed(1).replace(/\.0$/, "") + "µs";
    if (n < 1e9) return (n / 1e6).toFixed(2).replace(/\.?0+$/, "") + "ms";
    if (n < 6e10) return (n / 1e9).toFixed(3).replace(/\.?0+$/, "") + "s";
    const s = Math.floor(n / 1e9);
    if (s < 3600) return Math.floor(s / 60) + "m" + String(s % 60).padStart(2, "0") + "s";
    return Math.floor(s / 3600) + "h" + String(Math.floor(s / 60) % 60).padStart(2, "0") + "m";
  }
  function clock(unixNano) {
    const ms = Number(BigInt(unixNano) / 1000000n);
    const d = new Date(ms);
    if (Number.isNaN(d.getTime())) return "?";
    const p = (n, w) => String(n).padStart(w || 2, "0");
    return p(d.getHours()) + ":" + p(d.getMinutes()) + ":" + p(d.getSeconds()) + "." +
      p(d.getMilliseconds(), 3);
  }
  function isoTime(unixNano) {
    const d = new Date(Number(BigInt(unixNano) / 1000000n));
    return Number.isNaN(d.getTime()) ? "?" : d.toISOString();
  }
  function valueText(v) {
    if (!v || typeof v !== "object") return "";
    if ("stringValue" in v) return String(v.stringValue);
    if ("boolValue" in v) return String(v.boolValue);
    if ("intValue" in v) return String(v.intValue);
    if ("doubleValue" in v) return String(v.doubleValue);
    if ("bytesValue" in v) return "base64:" + v.bytesValue;
    if ("arrayValue" in v) return "[" + (v.arrayValue.values || []).map(nested).join(", ") + "]";
    if ("kvlistValue" in v) {
      return "{" + (v.kvlistValue.values || []).map((kv) => JSON.stringify(kv.key) + ": " +
        nested(kv.value)).join(", ") + "}";
    }
    return "";
  }
  function nested(v) {
    return v && "stringValue" in v ? JSON.stringify(v.stringValue) : valueText(v);
  }
  async function getJson(url) {
    const response = await fetch(url, { headers: { accept: "application/json" } });
    if (!response.ok) throw new Error(url + ": " + response.status);
    return await response.json();
  }

  // The list.

  const filters = $("filters");
  function query() {
    const params = new URLSearchParams();
    for (const name of ["service", "name", "attribute", "traceId"]) {
      const value = filters.elements[name].value.trim();
      if (value !== "") params.set(name, value);
    }
    if (filters.elements.error.checked) params.set("error", "true");
    params.set("limit", "200");
    return params;
  }
  function stats(s) {
    const parts = [count(s.traces) + " traces", count(s.spans) + " spans"];
    if (s.evictedTraces > 0) parts.push(count(s.evictedTraces) + " evicted (oldest first)");
    if (s.rejectedSpans > 0) parts.push(count(s.rejectedSpans) + " spans rejected");
    if (s.failedRequests > 0) parts.push(count(s.failedRequests) + " requests refused");
    if (s.ignoredRequests > 0) {
      parts.push(count(s.ignoredRequests) + " metrics or logs requests not kept (traces only)");
    }
    $("stats").textContent = parts.join(" · ");
  }
  function services(list) {
    const select = filters.elements.service;
    const current = select.value;
    const known = new Set([...select.options].map((o) => o.value));
    for (const name of list) {
      if (known.has(name)) continue;
      const option = el("option", "", name);
      option.value = name;
      select.append(option);
    }
    select.value = current;
  }
  let listSeq = 0;
  async function refreshList() {
    const seq = ++listSeq;
    const data = await getJson("/api/traces?" + query());
    if (seq !== listSeq) return;
    stats(data.stats);
    services(data.services);
    const body = $("trace-rows");
    const rows = data.traces.map((t) => {
      const tr = el("tr", t.errorCount > 0 ? "trace-row error" : "trace-row");
      tr.dataset.trace = t.traceId;
      const root = el("td", "u name");
      append(root, link(t.rootName === null ? "(no spans)" : t.rootName, traceHref(t.traceId)));
      const start = el("td", "mono", clock(t.startTimeUnixNano));
      start.title = isoTime(t.startTimeUnixNano);
      append(tr, el("td", "u", t.service ?? ""), root, start,
        el("td", "num", duration(t.durationNano)), el("td", "num", count(t.spanCount)),
        el("td", t.errorCount > 0 ? "num error" : "num", count(t.errorCount)),
        el("td", "num links", count(t.linksIn) + " in · " + count(t.linksOut) + " out"));
      tr.addEventListener("click", (event) => {
        if (event.target.closest("a")) return;
        location.hash = traceHref(t.traceId);
      });
      return tr;
    });
    body.replaceChildren(...rows);
    $("list-count").textContent = data.total > data.traces.length
      ? "Showing " + count(data.traces.length) + " of " + count(data.total) + " traces"
      : count(data.total) + " trace" + (data.total === 1 ? "" : "s");
    $("list-empty").hidden = data.total !== 0;
  }
  let filterTimer = 0;
  filters.addEventListener("input", () => {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(() => refreshList().catch(report), 150);
  });
  filters.addEventListener("submit", (event) => event.preventDefault());

  // The trace view.

  function kvTable(list) {
    const table = el("table", "kv");
    for (const kv of list.slice(0, MAX_ROWS_LISTED)) {
      const tr = el("tr");
      append(tr, el("td", "u key", kv.key), el("td", "u mono", valueText(kv.value)));
      table.append(tr);
    }
    if (list.length > MAX_ROWS_LISTED) {
      const tr = el("tr");
      append(tr, el("td", "more", "… and " + count(list.length - MAX_ROWS_LISTED) + " more"));
      table.append(tr);
    }
    return table;
  }
  function spanName(ref) {
    const span = state.spans && state.spans.get(ref.traceId + "-" + ref.spanId);
    return span ? span.name : null;
  }
  function refItem(prefix, ref, attributes) {
    const li = el("li");
    const name = spanName(ref);
    append(li, document.createTextNode(prefix + " "),
      link(name === null ? "span " + ref.spanId : name, traceHref(ref.traceId, ref.spanId),
        name === null ? "mono" : "u"),
      document.createTextNode(" in trace "),
      link(ref.traceId.slice(0, 8) + "…", traceHref(ref.traceId), "mono"));
    if (attributes && attributes.length > 0) li.append(kvTable(attributes));
    return li;
  }
  function details(span) {
    const box = $("details");
    box.replaceChildren();
    if (!span) {
      box.append(el("p", "hint", "Click a span for its attributes, events and links."));
      return;
    }
    const d = state.detail;
    const dl = el("dl");
    const row = (k, v) => append(dl, el("dt", "", k), el("dd", "u mono", v));
    row("trace", span.traceId);
    row("span", span.spanId);
    row("parent", span.parentSpanId || "none (root)");
    row("kind", KINDS[span.kind] || "unspecified");
    const resource = d.resources[span.resource] || {};
    const service = (resource.attributes || []).find((a) => a.key === "service.name");
    if (service) row("service", valueText(service.value));
    const scope = d.scopes[span.scope] || {};
    row("scope", (scope.name || "") + (scope.version ? " " + scope.version : ""));
    row("start", isoTime(span.startTimeUnixNano));
    row("duration", duration(BigInt(span.endTimeUnixNano) - BigInt(span.startTimeUnixNano)));
    if (span.status) {
      row("status", (["unset", "ok", "error"][span.status.code || 0] || "unset") +
        (span.status.message ? ": " + span.status.message : ""));
    }
    if (span.traceState) row("trace state", span.traceState);
    append(box, el("h3", "u", span.name), dl);
    const dropped = [];
    if (span.droppedAttributesCount) dropped.push(span.droppedAttributesCount + " attributes");
    if (span.droppedEventsCount) dropped.push(span.droppedEventsCount + " events");
    if (span.droppedLinksCount) dropped.push(span.droppedLinksCount + " links");
    if (dropped.length > 0) box.append(el("p", "more", "Dropped by the sender: " + dropped.join(", ")));
    if (span.attributes) append(box, el("h4", "", "Attributes"), kvTable(span.attributes));
    if (span.events) {
      const ul = el("ul");
      for (const e of span.events.slice(0, MAX_ROWS_LISTED)) {
        const li = el("li");
        append(li, el("span", "u", e.name), el("span", "kind",
          " +" + duration(BigInt(e.timeUnixNano) - BigInt(span.startTimeUnixNano))));
        if (e.attributes) li.append(kvTable(e.attributes));
        ul.append(li);
      }
      append(box, el("h4", "", "Events"), ul);
    }
    if (span.links) {
      const ul = el("ul", "links-out");
      for (const l of span.links.slice(0, MAX_ROWS_LISTED)) ul.append(refItem("→", l, l.attributes));
      if (span.links.length > MAX_ROWS_LISTED) {
        ul.append(el("li", "more", "… and " + count(span.links.length - MAX_ROWS_LISTED) + " more"));
      }
      append(box, el("h4", "", "Links to"), ul);
    }
    const into = d.related.edges.filter((e) => e.to.traceId === span.traceId &&
      e.to.spanId === span.spanId);
    if (into.length > 0) {
      const ul = el("ul", "links-in");
      for (const e of into.slice(0, MAX_ROWS_LISTED)) {
        const from = state.spans.get(e.from.traceId + "-" + e.from.spanId);
        const attributes = from && from.links && from.links[e.linkIndex]
          ? from.links[e.linkIndex].attributes : undefined;
        ul.append(refItem("←", e.from, attributes));
      }
      if (into.length > MAX_ROWS_LISTED) {
        ul.append(el("li", "more", "… and " + count(into.length - MAX_ROWS_LISTED) + " more"));
      }
      append(box, el("h4", "", "Linked from"), ul);
    }
    if (resource.attributes) append(box, el("h4", "", "Resource"), kvTable(resource.attributes));
  }
  function select(spanId, traceId) {
    for (const node of document.querySelectorAll(".span-row.selected")) {
      node.classList.remove("selected");
    }
    const span = state.spans.get((traceId || state.traceId) + "-" + spanId) ||
      [...state.spans.values()].find((s) => s.spanId === spanId);
    const row = span && document.getElementById("row-" + span.traceId + "-" + span.spanId);
    if (row) row.classList.add("selected");
    details(span);
  }

  function orderTrace(spans) {
    const byId = new Map(spans.map((s) => [s.spanId, { span: s, children: [] }]));
    const roots = [];
    for (const node of byId.values()) {
      const parent = node.span.parentSpanId ? byId.get(node.span.parentSpanId) : undefined;
      if (parent && parent !== node) parent.children.push(node);
      else roots.push(node);
    }
    const byStart = (a, b) => {
      const x = BigInt(a.span.startTimeUnixNano);
      const y = BigInt(b.span.startTimeUnixNano);
      return x < y ? -1 : x > y ? 1 : 0;
    };
    const out = [];
    const seen = new Set();
    const stack = roots.sort(byStart).reverse().map((node) => [node, 0]);
    while (stack.length > 0) {
      const [node, depth] = stack.pop();
      if (seen.has(node)) continue;
      seen.add(node);
      out.push([node.span, depth]);
      const children = node.children.sort(byStart);
      for (let i = children.length - 1; i >= 0; i--) stack.push([children[i], depth + 1]);
    }
    for (const node of byId.values()) if (!seen.has(node)) out.push([node.span, 0]);
    return out;
  }

  function waterfall(d) {
    const box = $("waterfall");
    const rows = el("div", "rows");
    let min = null;
    let max = null;
    for (const s of d.spans) {
      const a = BigInt(s.startTimeUnixNano);
      const b = BigInt(s.endTimeUnixNano) < a ? a : BigInt(s.endTimeUnixNano);
      if (min === null || a < min) min = a;
      if (max === null || b > max) max = b;
    }
    const range = min === null || max <= min ? 1n : max - min;
    const percent = (ns) => Number(((BigInt(ns) - min) * 1000000n) / range) / 10000;
    const byTrace = new Map();
    for (const s of d.spans) {
      if (!byTrace.has(s.traceId)) byTrace.set(s.traceId, []);
      byTrace.get(s.traceId).push(s);
    }
    let hue = 0;
    for (const traceId of d.shownTraces) {
      const spans = byTrace.get(traceId) || [];
      const group = el("div", "trace");
      group.style.setProperty("--hue", String(HUES[hue++ % HUES.length]));
      const info = d.related.traces.find((t) => t.traceId === traceId);
      const head = el("div", "trace-head");
      append(head, el("span", "swatch"),
        traceId === d.traceId ? el("strong", "mono", "trace " + traceId) :
          link("trace " + traceId, traceHref(traceId), "mono"),
        info && info.depth > 0 ? el("span", "badge", info.depth + " link" +
          (info.depth === 1 ? "" : "s") + " away") : null);
      group.append(head);
      for (const [s, depth] of orderTrace(spans)) {
        const row = el("div", "span-row" + (s.status && s.status.code === 2 ? " error" : ""));
        row.id = "row-" + s.traceId + "-" + s.spanId;
        row.dataset.span = s.spanId;
        row.tabIndex = 0;
        row.style.setProperty("--depth", String(depth));
        const label = el("span", "label");
        append(label, el("span", "name u", s.name), el("span", "kind", KINDS[s.kind] || ""),
          el("span", "dur", duration(BigInt(s.endTimeUnixNano) - BigInt(s.startTimeUnixNano))),
          s.status && s.status.code === 2 ? el("span", "badge error", "error") : null,
          s.links ? el("span", "badge", "→ " + s.links.length) : null);
        const lane = el("span", "lane");
        const bar = el("span", "bar");
        const left = percent(s.startTimeUnixNano);
        const width = Math.max(0.3, percent(s.endTimeUnixNano) - left);
        bar.style.left = left + "%";
        bar.style.width = Math.min(width, 100 - left) + "%";
        lane.append(bar);
        append(row, label, lane);
        row.addEventListener("click", () => {
          // The address keeps the trace viewed; the span may be in a related trace.
          history.replaceState(null, "", traceHref(d.traceId, s.spanId));
          state.spanId = s.spanId;
          select(s.spanId, s.traceId);
        });
        row.addEventListener("keydown", (event) => {
          if (event.key === "Enter") row.click();
        });
        group.append(row);
      }
      rows.append(group);
    }
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("class", "arrows");
    svg.setAttribute("aria-hidden", "true");
    const defs = document.createElementNS("http://www.w3.org/2000/svg", "defs");
    const marker = document.createElementNS("http://www.w3.org/2000/svg", "marker");
    for (const [k, v] of [["id", "head"], ["viewBox", "0 0 10 10"], ["refX", "9"], ["refY", "5"],
      ["markerWidth", "7"], ["markerHeight", "7"], ["orient", "auto"]]) marker.setAttribute(k, v);
    const tip = document.createElementNS("http://www.w3.org/2000/svg", "path");
    tip.setAttribute("d", "M0 0L10 5L0 10z");
    tip.setAttribute("class", "arrow-head");
    marker.append(tip);
    defs.append(marker);
    svg.append(defs);
    for (const e of d.related.edges) {
      const from = "row-" + e.from.traceId + "-" + e.from.spanId;
      const to = "row-" + e.to.traceId + "-" + e.to.spanId;
      const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
      path.setAttribute("class", "link-arrow");
      path.setAttribute("marker-end", "url(#head)");
      path.dataset.from = from;
      path.dataset.to = to;
      path.dataset.fromSpan = e.from.spanId;
      path.dataset.toSpan = e.to.spanId;
      svg.append(path);
    }
    rows.append(svg);
    box.replaceChildren(rows);
    drawArrows();
  }
  function drawArrows() {
    const rows = document.querySelector("#waterfall .rows");
    if (!rows) return;
    const svg = rows.querySelector("svg.arrows");
    const box = rows.getBoundingClientRect();
    svg.setAttribute("width", String(box.width));
    svg.setAttribute("height", String(box.height));
    let k = 0;
    for (const path of svg.querySelectorAll("path.link-arrow")) {
      const from = document.getElementById(path.dataset.from);
      const to = document.getElementById(path.dataset.to);
      if (!from || !to) {
        path.removeAttribute("d");
        continue;
      }
      const f = from.querySelector(".bar").getBoundingClientRect();
      const g = to.querySelector(".bar").getBoundingClientRect();
      const sx = f.left - box.left, sy = f.top + f.height / 2 - box.top;
      const tx = g.left - box.left, ty = g.top + g.height / 2 - box.top;
      const cx = Math.min(sx, tx) - 16 - (k++ % 4) * 7;
      path.setAttribute("d", "M" + sx + " " + sy + "C" + cx + " " + sy + " " + cx + " " + ty +
        " " + (tx - 1) + " " + ty);
    }
  }
  addEventListener("resize", drawArrows);

  function relatedList(d) {
    const ul = $("related");
    ul.replaceChildren();
    for (const t of d.related.traces) {
      const li = el("li", t.traceId === d.traceId ? "current" : "");
      const name = t.summary ? t.summary.rootName : null;
      append(li, link(name === null ? "trace " + t.traceId : name, traceHref(t.traceId),
        name === null ? "mono" : "u"));
      const bits = [];
      if (t.summary && t.summary.service) bits.push(t.summary.service);
      bits.push(t.depth === 0 ? "this trace" : t.depth + " link" + (t.depth === 1 ? "" : "s") + " away");
      if (!t.known) bits.push("not held (evicted, or from elsewhere)");
      if (t.summary) bits.push(count(t.summary.spanCount) + " spans");
      li.append(el("span", "kind", " " + bits.join(" · ")));
      ul.append(li);
    }
    if (d.related.omittedTraces > 0) {
      ul.append(el("li", "more", "… and " + count(d.related.omittedTraces) + " more traces"));
    }
  }

  let traceSeq = 0;
  async function refreshTrace() {
    const seq = ++traceSeq;
    const traceId = state.traceId;
    const response = await fetch("/api/traces/" + traceId, { headers: { accept: "application/json" } });
    if (seq !== traceSeq || traceId !== state.traceId) return;
    if (response.status === 404) {
      $("trace-title").textContent = "Trace " + traceId + " is not here (yet)";
      $("trace-summary").textContent = "It shows up as soon as one of its spans arrives.";
      for (const id of ["waterfall", "related", "details", "tree"]) $(id).replaceChildren();
      state.groupIds = new Set([traceId]);
      return;
    }
    if (!response.ok) throw new Error("trace " + response.status);
    const d = await response.json();
    state.detail = d;
    state.spans = new Map(d.spans.map((s) => [s.traceId + "-" + s.spanId, s]));
    state.groupIds = new Set(d.related.traces.map((t) => t.traceId));
    stats(d.stats);
    const s = d.summary;
    $("trace-title").textContent = s ? s.rootName ?? ("trace " + traceId) : "trace " + traceId;
    $("trace-summary").textContent = s
      ? [s.service ?? "(no service)", "trace " + traceId, isoTime(s.startTimeUnixNano),
        duration(s.durationNano), count(s.spanCount) + " spans", count(s.errorCount) + " errors",
        count(s.linksIn) + " links in", count(s.linksOut) + " out"].join(" · ")
      : "Not held: known only through links into it.";
    $("export-html").href = "/api/traces/" + traceId + "/report";
    $("export-otlp").href = "/api/traces/" + traceId + "/otlp";
    $("omitted").textContent = d.omittedSpans > 0
      ? count(d.omittedSpans) + " spans of related traces are not drawn (the view's limit)" : "";
    relatedList(d);
    waterfall(d);
    $("tree").textContent = d.tree;
    select(state.spanId);
  }

  // Navigation and live updates.

  function route() {
    const match = /^#\/trace\/([0-9a-f]{32})(?:\/([0-9a-f]{16}))?$/.exec(location.hash);
    if (match) {
      const changed = state.traceId !== match[1] || state.view !== "trace";
      state.view = "trace";
      state.traceId = match[1];
      state.spanId = match[2] || "";
      $("list-view").hidden = true;
      $("trace-view").hidden = false;
      if (changed) {
        state.detail = null;
        refreshTrace().catch(report);
      } else if (state.detail) {
        select(state.spanId);
      }
    } else {
      state.view = "list";
      state.traceId = "";
      $("trace-view").hidden = true;
      $("list-view").hidden = false;
      refreshList().catch(report);
    }
  }
  addEventListener("hashchange", route);

  function report(error) {
    $("status").textContent = String(error && error.message || error);
  }
  let pending = 0;
  function onChange(data) {
    clearTimeout(pending);
    pending = setTimeout(() => {
      if (state.view === "list") {
        refreshList().catch(report);
      } else if (data.traces === null || data.traces.some((id) => state.groupIds.has(id))) {
        refreshTrace().catch(report);
      }
    }, 50);
  }
  if (typeof EventSource === "function") {
    const events = new EventSource("/api/events");
    events.addEventListener("open", () => {
      $("live").textContent = "live";
      $("live").className = "live on";
    });
    events.addEventListener("error", () => {
      $("live").textContent = "reconnecting…";
      $("live").className = "live";
    });
    events.addEventListener("change", (event) => onChange(JSON.parse(event.data)));
  }
  route();
})();
`;
