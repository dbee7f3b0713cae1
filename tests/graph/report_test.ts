import assert from "node:assert/strict";
import { createTracerProviderBuilder } from "../../mod.ts";
import { LinkGraph, renderHtmlReport, snapshotActivity } from "../../graph/mod.ts";
import { batchGraph, deterministicSource, hostileGraph, run } from "./_fixtures.ts";

/** Links from one activity to `count` spans of one external trace (`distinct` spans, cycled). */
function manyLinks(count: number, distinct: number) {
  const traceId = "2890476acefb53b93af64a0d91939051";
  const spans = Array.from(
    { length: distinct },
    (_, i) => (i + 1).toString(16).padStart(16, "0"),
  );
  return Array.from({ length: count }, (_, i) => ({
    traceId,
    spanId: spans[i % distinct]!,
    traceFlags: 1,
    traceState: undefined,
    isRemote: true,
    tags: [],
  }));
}

const countOf = (html: string, pattern: RegExp): number => html.match(pattern)?.length ?? 0;

Deno.test("renderHtmlReport() escapes everything taken from activities", async () => {
  const { graph } = await hostileGraph();
  const source = deterministicSource();
  const provider = createTracerProviderBuilder().addSource(source.name).build();
  // The graph was shut down with its provider: add() still takes activities given by hand.
  graph.add(run(source, "</script><script>alert(1)</script>", {
    root: true,
    tags: { "<img src=x onerror=alert(1)>": "\"'><svg onload=alert(1)>&amp;" },
  }));
  await provider.shutdown();
  const html = renderHtmlReport(graph, { title: "<title>\u2028" });
  // Our one script, allowed by its nonce; nothing else can run.
  assert.equal(html.match(/<script/g)?.length, 1);
  const nonce = html.match(/script-src 'nonce-([0-9a-f]{32})'/)?.[1];
  assert.ok(nonce !== undefined);
  assert.ok(html.includes(`<script nonce="${nonce}">`));
  assert.ok(!html.includes("<img"));
  assert.ok(!html.includes("<svg onload"));
  assert.ok(html.includes("&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
  assert.ok(html.includes("&quot;&#39;&gt;&lt;svg onload=alert(1)&gt;&amp;amp;"));
  assert.ok(html.includes("<title>&lt;title&gt;\\u2028</title>"));
  // Control and bidi characters arrive as visible escapes, never raw.
  assert.ok(html.includes("Charge\\ncard \\u001B[31mred"));
  assert.ok(html.includes("\\u202Eevil"));
  // deno-lint-ignore no-control-regex
  assert.ok(!/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u202a-\u202e\u2066-\u2069\u2028]/.test(html));
  // No way out to the network.
  assert.ok(!/(?:src|href)="(?:https?:)?\/\//.test(html));
  assert.match(html, /default-src 'none'/);
});

Deno.test("renderHtmlReport() has a row per activity, an arrow per link, external nodes", async () => {
  const { graph, batch } = await batchGraph();
  const html = renderHtmlReport(graph);
  const rows = [
    ...html.matchAll(
      /<details class="act" id="(a\d+)" data-trace="([0-9a-f]+)" data-span="([0-9a-f]+)"/g,
    ),
  ];
  assert.equal(rows.length, graph.size);
  const external = [
    ...html.matchAll(/<details class="act external" id="(a\d+)"[^>]* data-span="([0-9a-f]+)"/g),
  ];
  assert.deepEqual(external.map((m) => m[2]), ["b7ad6b7169203331"]);
  const arrows = [
    ...html.matchAll(/<path class="link-arrow[^"]*" data-from="(a\d+)" data-to="(a\d+)"/g),
  ];
  assert.equal(arrows.length, 3);
  const batchRow = rows.find((m) => m[3] === batch.spanId)![1];
  assert.ok(arrows.every((m) => m[1] === batchRow));
  assert.ok(arrows.some((m) => m[2] === external[0]![1]));
  // Only the groups asked for.
  const none = renderHtmlReport(graph, { traceIds: ["ffffffffffffffffffffffffffffffff"] });
  assert.ok(!none.includes('class="act"'));
  assert.throws(() => renderHtmlReport(graph, { title: 1 as unknown as string }), TypeError);
});

Deno.test("renderHtmlReport() shows control and bidi characters in ids as escapes", () => {
  const source = deterministicSource();
  using _provider = createTracerProviderBuilder().addSource(source.name).build();
  const snapshot = snapshotActivity(run(source, "Work"));
  const graph = new LinkGraph();
  const link = {
    traceId: "\u202Eexternal\u0007trace",
    spanId: "\u2066span\u001b[2J",
    traceFlags: 1,
    traceState: undefined,
    isRemote: true,
    tags: [],
  };
  graph.add({ ...snapshot, traceId: "\u202Etrace", parentSpanId: "\u202Eparent", links: [link] });
  const html = renderHtmlReport(graph);
  const visible = html.replace(/ data-[a-z-]+="[^"]*"/g, ""); // attributes nobody reads
  for (const raw of ["\u202E", "\u2066", "\u0007", "\u001b"]) {
    assert.ok(!visible.includes(raw), `U+${raw.charCodeAt(0).toString(16)} shown raw`);
  }
  assert.ok(visible.includes("\\u202Eexternal\\u0007trace"));
  assert.ok(visible.includes("\\u2066span\\u001B[2J"));
  assert.ok(visible.includes("\\u202Eparent"));
});

Deno.test("renderHtmlReport() draws an activity with 1,000,000 links, listing 128 and counting the rest", () => {
  const source = deterministicSource();
  using _provider = createTracerProviderBuilder().addSource(source.name).build();
  const graph = new LinkGraph();
  graph.add({ ...snapshotActivity(run(source, "Batch")), links: manyLinks(1_000_000, 1) });
  const html = renderHtmlReport(graph);
  // The batch lists 128 of its links, the external span 128 of the links into it.
  assert.equal(countOf(html, /… and 999,872 more links/g), 2);
  assert.ok(html.includes("1,000,000 links"));
  assert.equal(countOf(html, /<path class="link-arrow/g), 128);
  assert.ok(html.length < 500_000, `${html.length} characters`);
});

Deno.test("renderHtmlReport() draws external spans and arrows for the links it lists only", () => {
  const source = deterministicSource();
  using _provider = createTracerProviderBuilder().addSource(source.name).build();
  const graph = new LinkGraph();
  graph.add({ ...snapshotActivity(run(source, "Batch")), links: manyLinks(20_000, 20_000) });
  const html = renderHtmlReport(graph, { maxItems: 10 });
  assert.equal(countOf(html, /<details class="act external"/g), 10);
  assert.equal(countOf(html, /<path class="link-arrow/g), 10);
  assert.equal(countOf(html, /… and 19,990 more links/g), 1);
});

Deno.test("renderHtmlReport() lists at most maxItems tags, events and tags per event", () => {
  const source = deterministicSource();
  using _provider = createTracerProviderBuilder().addSource(source.name).build();
  const snapshot = snapshotActivity(run(source, "Busy"));
  const tags = Array.from({ length: 300 }, (_, i) => [`tag${i}`, i] as const);
  const events = Array.from({ length: 200 }, (_, i) => ({
    name: `event ${i}`,
    timeUnixNano: snapshot.startTimeUnixNano,
    tags,
    droppedTagCount: 0,
  }));
  const graph = new LinkGraph();
  graph.add({ ...snapshot, tags, events });
  const html = renderHtmlReport(graph);
  assert.equal(countOf(html, /<li><span class="u">event \d+<\/span>/g), 128);
  assert.equal(countOf(html, /… and 72 more events/g), 1);
  // The activity's own tags and each event's: 128 shown, the rest counted.
  assert.equal(countOf(html, /… and 172 more tags/g), 1 + 128);
  assert.equal(countOf(html, /<td class="u">tag128<\/td>/g), 0);
  const small = renderHtmlReport(graph, { maxItems: 2 });
  assert.equal(countOf(small, /<td class="u">tag\d+<\/td>/g), 2 + 2 * 2);
  assert.equal(countOf(small, /… and 198 more events/g), 1);
  assert.throws(() => renderHtmlReport(graph, { maxItems: -1 }), RangeError);
  assert.throws(() => renderHtmlReport(graph, { maxLength: 0 }), RangeError);
});

Deno.test("renderHtmlReport() stays within maxLength and says how many activities it left out", () => {
  const source = deterministicSource();
  const graph = new LinkGraph();
  using _provider = createTracerProviderBuilder().addSource(source.name).addProcessor(graph)
    .build();
  for (let i = 0; i < 3000; i++) run(source, `Request ${i}`, { root: true, tags: { i } });
  const full = renderHtmlReport(graph);
  assert.equal(countOf(full, /<details class="act"/g), 3000);
  assert.ok(!full.includes("Not shown"));
  const html = renderHtmlReport(graph, { maxLength: 100_000 });
  const drawn = countOf(html, /<details class="act"/g);
  assert.ok(drawn > 0 && drawn < 3000);
  assert.ok(html.length < 100_000 + 20_000, `${html.length} characters`); // + head and script
  // Each activity is a trace and a group of its own: the groups past the limit are counted.
  assert.ok(html.includes(`${(3000 - drawn).toLocaleString("en-US")} activities not shown`));
  const inGroup = Number(html.match(/Not shown: ([\d,]+) activit/)?.[1]?.replaceAll(",", ""));
  const groups = Number(html.match(/Not shown: ([\d,]+) more groups/)?.[1]?.replaceAll(",", ""));
  assert.equal(drawn + inGroup + groups, 3000);
});

Deno.test("renderHtmlReport() cuts a long text and says how much it left out", () => {
  const source = deterministicSource();
  using _provider = createTracerProviderBuilder().addSource(source.name).build();
  const graph = new LinkGraph();
  graph.add({
    ...snapshotActivity(run(source, "x")),
    name: "n".repeat(1_000_000),
    tags: [["big", "\u0007".repeat(10_000_000)]],
  });
  const html = renderHtmlReport(graph);
  assert.ok(html.includes(`${"n".repeat(4096)}… (995,904 more characters)`));
  assert.ok(html.includes(`${"\\u0007".repeat(4096)}… (9,995,904 more characters)`));
  assert.ok(html.length < 1_000_000, `${html.length} characters`);
});
