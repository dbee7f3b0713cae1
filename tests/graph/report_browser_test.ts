// The HTML report in a real browser: Debian's headless Chromium driven by playwright-core.
// Skipped unless /usr/bin/chromium exists and these permissions are granted (deno.json's
// `test:browser` task):
//
//   deno test --allow-env --allow-sys=homedir,osRelease --allow-run=/usr/bin/chromium \
//     --allow-read=/usr/bin/chromium,/tmp --allow-write=/tmp tests/graph/report_browser_test.ts
//
// Set REPORT_SCREENSHOT=docs/report.png (and allow writing it) to keep the screenshot of the
// fan-out and batch report.

import assert from "node:assert/strict";
import {
  type Activity,
  ActivityContext,
  ActivityLink,
  ActivitySource,
  createTracerProviderBuilder,
} from "../../mod.ts";
import { LinkGraph, renderHtmlReport } from "../../graph/mod.ts";
import { escapeText } from "../../graph/_text.ts";

const CHROMIUM = "/usr/bin/chromium";
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

async function granted(descriptor: Deno.PermissionDescriptor): Promise<boolean> {
  return (await Deno.permissions.query(descriptor)).state === "granted";
}

/** Whether the browser can run here: the permissions are granted and Chromium is installed. */
async function browserAvailable(): Promise<boolean> {
  if (!(await granted({ name: "env" }))) return false;
  const tmp = Deno.env.get("TMPDIR") ?? "/tmp";
  const needed: Deno.PermissionDescriptor[] = [
    { name: "run", command: CHROMIUM },
    { name: "read", path: CHROMIUM },
    { name: "read", path: tmp },
    { name: "write", path: tmp },
    { name: "sys", kind: "homedir" },
    { name: "sys", kind: "osRelease" },
  ];
  for (const descriptor of needed) if (!(await granted(descriptor))) return false;
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
}

const available = await browserAvailable();

type Browser = import("npm:playwright-core@1.61.1").Browser;
type Page = import("npm:playwright-core@1.61.1").Page;

/** Starts the headless Chromium. */
async function launch(): Promise<Browser> {
  const { chromium } = await import("npm:playwright-core@1.61.1");
  return await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
}

/** How far the page scrolls sideways (0 or less when it does not). */
async function sidewaysOverflow(page: Page): Promise<number> {
  return await page.evaluate(
    "document.documentElement.scrollWidth - document.documentElement.clientWidth",
  ) as number;
}

/** Opens a report in a page of each width, in turn, and checks it; cleans up after. */
async function atWidths(
  report: string,
  widths: readonly number[],
  check: (page: Page, width: number) => Promise<void>,
): Promise<void> {
  const browser = await launch();
  const file = await Deno.makeTempFile({ prefix: "activity-report-", suffix: ".html" });
  try {
    await Deno.writeTextFile(file, report);
    for (const width of widths) {
      const page = await browser.newPage({ viewport: { width, height: 800 } });
      await page.goto(`file://${file}`);
      await check(page, width);
      await page.close();
    }
  } finally {
    await browser.close();
    await Deno.remove(file).catch(() => {});
  }
}

/** Where an arrow starts and ends, relative to the middle of the left edge of its bars. */
interface ArrowMeasure {
  fromSpan: string;
  toSpan: string;
  length: number;
  startDx: number;
  startDy: number;
  endDx: number;
  endDy: number;
}

// Runs in the page (a string: the test is type-checked without the DOM library).
const MEASURE_ARROWS = `[...document.querySelectorAll("path.link-arrow")].map((path) => {
  const rows = path.closest("section").querySelector(".rows").getBoundingClientRect();
  const from = document.getElementById(path.dataset.from).querySelector(".bar")
    .getBoundingClientRect();
  const to = document.getElementById(path.dataset.to).querySelector(".bar").getBoundingClientRect();
  const length = path.getTotalLength();
  const start = path.getPointAtLength(0);
  const end = path.getPointAtLength(length);
  return {
    fromSpan: path.dataset.fromSpan,
    toSpan: path.dataset.toSpan,
    length,
    startDx: start.x + rows.left - from.left,
    startDy: start.y + rows.top - (from.top + from.height / 2),
    endDx: end.x + rows.left - to.left,
    endDy: end.y + rows.top - (to.top + to.height / 2),
  };
})`;

/** The example's scenarios: the guide's fan-out and a batch of three requests. */
async function scenarios(graph: LinkGraph, hostile: boolean): Promise<void> {
  const source = new ActivitySource(`Browser.Test.${hostile ? "hostile" : "clean"}`);
  const provider = createTracerProviderBuilder().addSource(source.name).setServiceName("orders")
    .addProcessor(graph).build();
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  await source.startActiveActivity("OrchestratingActivity", async (orchestrating) => {
    orchestrating?.setTag("operation", "main-process");
    const links = [new ActivityLink(orchestrating!.context, { "link.reason": "fan-out" })];
    await Promise.all(
      [1, 2, 3].map((n) =>
        source.startActiveActivity(`FannedOutActivity ${n}`, { root: true, links }, async () => {
          await pause(2 * n);
          using step = source.startActivity("Step");
          await pause(2);
          step?.setTag("step", "load");
        })
      ),
    );
    using wrapUp = source.startActivity("WrapUp");
    await pause(1);
    wrapUp?.setTag("status", "completed");
  });
  const requests: Activity[] = [];
  for (const id of ["A-17", "B-42", "C-99"]) {
    const enqueue = source.startActivity("EnqueueOrder", {
      kind: "producer",
      root: true,
      tags: { "order.id": id },
    })!;
    await pause(1);
    enqueue.stop();
    requests.push(enqueue);
  }
  await source.startActiveActivity("ProcessBatch", {
    kind: "consumer",
    root: true,
    links: requests.map((r, i) => new ActivityLink(r.context, { "batch.index": i })),
    tags: hostile
      ? {
        "payload": "<img src=x onerror=window.__pwned=1>",
        "note": "<script>window.__pwned=1</script>",
      }
      : { "batch.size": 3 },
  }, async (batch) => {
    await pause(3);
    batch?.addEvent("batch.committed");
  });
  if (hostile) {
    source.startActivity("<script>window.__pwned=1</script>\u202Eevil", { root: true })?.stop();
  }
  await provider.shutdown();
}

Deno.test({
  name: "renderHtmlReport() in headless Chromium: rows, arrows, details, hostile text, screenshot",
  ignore: !available,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async (t) => {
    const browser = await launch();
    const files: string[] = [];
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(error.message));
      const requests: string[] = [];
      page.on("request", (request) => requests.push(request.url()));

      const open = async (graph: LinkGraph, title: string): Promise<string> => {
        const file = await Deno.makeTempFile({ prefix: "activity-report-", suffix: ".html" });
        files.push(file);
        await Deno.writeTextFile(file, renderHtmlReport(graph, { title }));
        await page.goto(`file://${file}`);
        return `file://${file}`;
      };

      /** Checks that each link has a drawn arrow from the source bar to the target bar. */
      const checkArrows = async (graph: LinkGraph): Promise<number> => {
        const edges = graph.groups().flatMap((g) => g.edges);
        // Let the page's resize and toggle handlers run (two frames) before measuring.
        await page.evaluate(
          "new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))",
        );
        const drawn = await page.evaluate(MEASURE_ARROWS) as ArrowMeasure[];
        assert.equal(drawn.length, edges.length);
        for (const edge of edges) {
          const arrow = drawn.find((d) =>
            d.fromSpan === edge.from.spanId && d.toSpan === edge.to.spanId
          );
          assert.ok(arrow !== undefined, `no arrow for ${edge.from.spanId} -> ${edge.to.spanId}`);
          assert.ok(arrow.length > 10, "the arrow is drawn");
          assert.ok(Math.abs(arrow.startDx) < 2 && Math.abs(arrow.startDy) < 2, "starts at source");
          assert.ok(Math.abs(arrow.endDx) < 2 && Math.abs(arrow.endDy) < 2, "ends at target");
        }
        return edges.length;
      };

      await t.step("every activity has a row and every link an arrow", async () => {
        const graph = new LinkGraph();
        await scenarios(graph, false);
        await open(graph, "Fan-out and batch");
        for (const activity of graph.find()) {
          const row = page.locator(`details.act[data-span="${activity.spanId}"]`);
          assert.equal(await row.count(), 1);
          assert.equal(await row.locator(".name").textContent(), escapeText(activity.name));
          assert.ok(await row.locator(".bar").isVisible());
        }
        assert.equal(await page.locator("details.act:not(.external)").count(), graph.size);
        assert.equal(await checkArrows(graph), 6);
        const shot = await page.screenshot({ fullPage: true });
        assert.deepEqual([...shot.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10]); // PNG
        assert.ok(shot.length > 10_000);
        const keep = Deno.env.get("REPORT_SCREENSHOT");
        if (keep !== undefined && keep !== "") await Deno.writeFile(keep, shot);

        // Details open on click, with the links both ways.
        const hub = graph.find({ name: "OrchestratingActivity" })[0]!;
        const row = page.locator(`details.act[data-span="${hub.spanId}"]`);
        await row.locator("summary").click();
        const info = row.locator(".info");
        assert.ok(await info.isVisible());
        const text = (await info.textContent())!;
        assert.ok(text.includes(hub.spanId) && text.includes(hub.traceId));
        assert.ok(text.includes("operation") && text.includes("main-process"));
        assert.equal(await info.locator("h4", { hasText: "Linked from" }).count(), 1);
        assert.equal(await info.locator("a[href^='#a']").count(), 3);
        await checkArrows(graph); // redrawn after the row grew
      });

      await t.step(
        "a narrow window still shows every arrow, without sideways scrolling",
        async () => {
          const graph = new LinkGraph();
          await scenarios(graph, false);
          await page.setViewportSize({ width: 390, height: 800 });
          await open(graph, "Narrow");
          await checkArrows(graph);
          const overflow = await sidewaysOverflow(page);
          assert.ok(overflow <= 0, `page scrolls sideways by ${overflow}px`);
          await page.setViewportSize({ width: 1200, height: 800 });
          await checkArrows(graph); // redrawn on resize
        },
      );

      await t.step("hostile names and tags show as text and never run", async () => {
        const graph = new LinkGraph();
        await scenarios(graph, true);
        await open(graph, "<script>window.__pwned=1</script>");
        const batch = graph.find({ name: "ProcessBatch" })[0]!;
        await page.locator(`details.act[data-span="${batch.spanId}"] summary`).click();
        for (
          const text of [
            "<img src=x onerror=window.__pwned=1>",
            "<script>window.__pwned=1</script>",
          ]
        ) {
          assert.ok(await page.getByText(text, { exact: true }).first().isVisible(), text);
        }
        assert.ok(
          await page.locator("span.name", { hasText: "window.__pwned=1</script>\\u202Eevil" })
            .isVisible(),
        );
        assert.equal(await page.title(), "<script>window.__pwned=1</script>");
        const state = await page.evaluate(
          "({ pwned: window.__pwned, images: document.images.length, scripts: document.scripts.length })",
        );
        assert.deepEqual(state, { pwned: undefined, images: 0, scripts: 1 });
        await checkArrows(graph);
        assert.ok((await page.screenshot()).length > 0);
      });

      assert.deepEqual(errors, []);
      assert.ok(requests.every((url) => url.startsWith("file://")), requests.join(", "));
    } finally {
      await browser.close();
      for (const file of files) await Deno.remove(file).catch(() => {});
    }
  },
});

Deno.test({
  name:
    "renderHtmlReport() in headless Chromium: long names, keys and values wrap, never widen the page",
  ignore: !available,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const graph = new LinkGraph();
    const source = new ActivitySource("Browser.Test.long");
    const provider = createTracerProviderBuilder().addSource(source.name)
      .setServiceName("s".repeat(300)).addProcessor(graph).build();
    const root = source.startActivity("N".repeat(500), {
      tags: { ["k".repeat(300)]: "v".repeat(1000) },
    })!;
    root.addEvent("E".repeat(400), { tags: { "order.id": "e".repeat(500) } });
    root.setStatus("error", "D".repeat(600));
    root.stop();
    source.startActivity("Linker", {
      root: true,
      links: [new ActivityLink(root.context, { ["l".repeat(300)]: "x".repeat(600) })],
    })?.stop();
    await provider.shutdown();

    const report = renderHtmlReport(graph, { title: "T".repeat(400) });
    await atWidths(report, [390, 1200], async (page, width) => {
      for (const summary of await page.locator("details.act summary").all()) {
        await summary.click();
      }
      const overflow = await sidewaysOverflow(page);
      assert.ok(overflow <= 0, `page scrolls sideways by ${overflow}px at ${width}px`);
      // A short key next to a long value stays on one line.
      const key = page.locator(".info td", { hasText: /^order\.id$/ });
      const box = (await key.boundingBox())!;
      const line = await key.evaluate((td) => {
        const range = td.ownerDocument.createRange();
        range.selectNodeContents(td);
        return range.getClientRects().length;
      });
      assert.ok(box.width > 0);
      assert.equal(line, 1, "order.id is not broken across lines");
    });
  },
});

Deno.test({
  name: "renderHtmlReport() in headless Chromium: a trace 200 deep stays within the window",
  ignore: !available,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const graph = new LinkGraph();
    const source = new ActivitySource("Browser.Test.deep");
    const provider = createTracerProviderBuilder().addSource(source.name).addProcessor(graph)
      .build();
    const chain: Activity[] = [source.startActivity("level 0")!];
    for (let i = 1; i < 200; i++) {
      chain.push(source.startActivity(`level ${i}`, { parent: chain[i - 1]! })!);
    }
    for (const activity of [...chain].reverse()) activity.stop();
    await provider.shutdown();

    await atWidths(renderHtmlReport(graph), [390, 1200], async (page, width) => {
      const deepest = page.locator(`details.act[data-span="${chain[199]!.spanId}"]`);
      await deepest.locator("summary").click();
      const overflow = await sidewaysOverflow(page);
      assert.ok(overflow <= 0, `page scrolls sideways by ${overflow}px at ${width}px`);
      const name = (await deepest.locator(".name").boundingBox())!;
      assert.ok(name.x + 20 < width, `the deepest name starts at ${name.x}px of ${width}px`);
      const info = (await deepest.locator(".info").boundingBox())!;
      assert.ok(info.width > width / 3, `its details are ${info.width}px wide`);
    });
  },
});

Deno.test({
  name:
    "renderHtmlReport() in headless Chromium: an activity with 1,000,000 links opens, 128 arrows",
  ignore: !available,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const graph = new LinkGraph();
    const source = new ActivitySource("Browser.Test.many-links");
    const provider = createTracerProviderBuilder().addSource(source.name).addProcessor(graph)
      .setLimits({ linkCount: Infinity })
      .build();
    const external = "2890476acefb53b93af64a0d91939051";
    const links = Array.from(
      { length: 1_000_000 },
      (_, i) =>
        new ActivityLink(
          new ActivityContext(external, (i + 1).toString(16).padStart(16, "0")),
          { "batch.index": i },
        ),
    );
    source.startActivity("ProcessBatch", { root: true, links })?.stop();
    await provider.shutdown();
    const report = renderHtmlReport(graph);
    await atWidths(report, [1200], async (page) => {
      assert.equal(await page.locator("path.link-arrow").count(), 128);
      assert.equal(await page.locator("details.act.external").count(), 128);
      const batch = page.locator("details.act:not(.external)").first();
      await batch.locator("summary").click();
      assert.equal(
        await batch.locator(".info li.more").innerText(),
        "… and 999,872 more links",
      );
      const drawn = await page.evaluate(
        `[...document.querySelectorAll("path.link-arrow")].filter((p) => p.getAttribute("d")).length`,
      );
      assert.equal(drawn, 128);
    });
  },
});
