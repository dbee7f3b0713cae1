// The dashboard's page in a real browser (Debian's headless Chromium, driven by playwright-core):
// for each sender the page, opened before the fan-out is sent, shows the orchestrator with its
// three linked traces without a reload (server-sent events), and its trace view draws the links;
// hostile input gets the right statuses and shows as text. Skipped unless Chromium and these
// permissions are there (`deno task test:dashboard:browser`):
//
//   deno test --allow-env --allow-sys=homedir,osRelease --allow-run=/usr/bin/chromium,deno \
//     --allow-read=/usr/bin/chromium,/tmp --allow-write=/tmp --allow-net=127.0.0.1 \
//     tests/dashboard/browser_test.ts
//
// Set DASHBOARD_SCREENSHOT=docs/dashboard.png (and allow writing it) to keep the screenshot of the
// orchestrator's trace view.

import assert from "node:assert/strict";
import { serveDashboard } from "../../dashboard/mod.ts";
import { checkFanout, type ListedTrace, SENDERS } from "./_senders.ts";

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

async function browserAvailable(): Promise<boolean> {
  if (!(await granted({ name: "env" }))) return false;
  const tmp = Deno.env.get("TMPDIR") ?? "/tmp";
  const needed: Deno.PermissionDescriptor[] = [
    { name: "run", command: CHROMIUM },
    { name: "run", command: "deno" },
    { name: "read", path: CHROMIUM },
    { name: "read", path: tmp },
    { name: "write", path: tmp },
    { name: "sys", kind: "homedir" },
    { name: "sys", kind: "osRelease" },
    { name: "net", host: "127.0.0.1" },
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

async function launch(): Promise<Browser> {
  const { chromium } = await import("npm:playwright-core@1.61.1");
  return await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
}

/** Opens the page and records what it loads, its errors and its navigations. */
async function open(browser: Browser, url: string) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  const requests: string[] = [];
  let navigations = 0;
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("request", (request) => requests.push(request.url()));
  page.on("framenavigated", (frame) => {
    if (frame === page.mainFrame()) navigations++;
  });
  await page.goto(url);
  await page.locator(".live.on").waitFor({ timeout: 10_000 }); // the event stream is open
  return { page, errors, requests, navigations: () => navigations };
}

/** The arrows the trace view drew (a path with a `d`), as [from span, to span]. */
async function drawnArrows(page: Page): Promise<string[][]> {
  await page.evaluate("new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))");
  return await page.evaluate(
    `[...document.querySelectorAll("path.link-arrow")].filter((p) => p.getAttribute("d"))
      .map((p) => [p.dataset.fromSpan, p.dataset.toSpan])`,
  ) as string[][];
}

Deno.test({
  name: "Dashboard page shows each sender's fan-out live, without a reload, and draws its links",
  ignore: !available,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async (t) => {
    const browser = await launch();
    try {
      for (const sender of SENDERS) {
        await t.step(sender.name, async () => {
          await using served = await serveDashboard({ otlp: "127.0.0.1:0", ui: "127.0.0.1:0" });
          const { page, errors, requests, navigations } = await open(browser, served.uiUrl);
          await page.evaluate("window.__opened = 1");
          await sender.send(served.otlpUrl);
          const sent = performance.now();
          const row = page.locator("tr.trace-row", { hasText: "OrchestratingActivity" });
          await row.locator("td.links", { hasText: "3 in" }).waitFor({ timeout: 10_000 });
          const shown = performance.now() - sent;
          console.log(`    ${sender.name}: in the list ${shown.toFixed(0)} ms after it was sent`);
          assert.equal(await page.locator("tr.trace-row").count(), 4);
          assert.equal(await page.evaluate("window.__opened"), 1, "the page was not reloaded");
          assert.equal(navigations(), 1);

          // The API agrees with the page.
          const list = await (await fetch(`${served.uiUrl}api/traces`)).json();
          const hub = checkFanout(list.traces as ListedTrace[], sender.service);
          assert.equal(await row.getAttribute("data-trace"), hub);

          // The trace view: four traces, three arrows into the orchestrator.
          await row.locator("a").click();
          await page.locator("#related li").nth(3).waitFor();
          assert.deepEqual(
            await page.locator("#related li > a").allTextContents(),
            [
              "OrchestratingActivity",
              "FannedOutActivity 1",
              "FannedOutActivity 2",
              "FannedOutActivity 3",
            ],
          );
          assert.equal(await page.locator(".span-row").count(), 5);
          const view = await (await fetch(`${served.uiUrl}api/traces/${hub}`)).json();
          const hubSpan = view.summary.rootSpanId;
          const arrows = await drawnArrows(page);
          assert.equal(arrows.length, 3);
          assert.ok(arrows.every(([, to]) => to === hubSpan));
          await page.locator(`#row-${hub}-${hubSpan}`).click();
          assert.equal(await page.locator("#details .links-in li").count(), 3);
          assert.match(
            await page.locator("#tree").textContent() ?? "",
            /← linked from FannedOutActivity 1/,
          );
          // A backlink navigates to the linked trace.
          await page.locator("#details .links-in li a.u").first().click();
          await page.locator("#trace-title", { hasText: /^FannedOutActivity \d$/ }).waitFor();
          assert.match(page.url(), /#\/trace\/[0-9a-f]{32}\/[0-9a-f]{16}$/);
          if (sender.service === "module-protobuf") {
            await page.goBack();
            await page.locator("#trace-title", { hasText: "OrchestratingActivity" }).waitFor();
            await page.locator(`#row-${hub}-${hubSpan}`).click();
            const shot = await page.screenshot({ fullPage: true });
            assert.deepEqual([...shot.subarray(0, 4)], [137, 80, 78, 71]); // PNG
            const keep = Deno.env.get("DASHBOARD_SCREENSHOT");
            if (keep !== undefined && keep !== "") await Deno.writeFile(keep, shot);
          }
          assert.deepEqual(errors, []);
          const origin = new URL(served.uiUrl).origin;
          assert.ok(requests.every((url) => url.startsWith(origin)), requests.join(", "));
          await page.close();
        });
      }
    } finally {
      await browser.close();
    }
  },
});

const EVIL = "<img src=x onerror=window.__pwned=1><script>window.__pwned=2</script>";
const TRACE = "5b8efff798038103d269b633813fc60c";

async function postRaw(
  url: string,
  body: BodyInit,
  type: string,
  headers: Record<string, string> = {},
) {
  const response = await fetch(`${url}/v1/traces`, {
    method: "POST",
    headers: { "content-type": type, ...headers },
    body,
  });
  await response.body?.cancel();
  return response.status;
}

Deno.test({
  name:
    "Dashboard page: hostile input gets the right status, and HTML in every string shows as text",
  ignore: !available,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await using served = await serveDashboard({ otlp: "127.0.0.1:0", ui: "127.0.0.1:0" });
    const url = served.otlpUrl;
    const span = {
      traceId: TRACE,
      spanId: "eee19b7ec3c1b174",
      name: EVIL,
      kind: 2,
      startTimeUnixNano: "1700000000000000000",
      endTimeUnixNano: "1700000000002000000",
      attributes: [{ key: EVIL, value: { stringValue: EVIL } }, {
        key: "nested",
        value: { kvlistValue: { values: [{ key: EVIL, value: { stringValue: EVIL } }] } },
      }],
      events: [{
        timeUnixNano: "1700000000001000000",
        name: EVIL,
        attributes: [{ key: EVIL, value: { stringValue: EVIL } }],
      }],
      links: [{
        traceId: TRACE.replace("5", "6"),
        spanId: "0102030405060708",
        attributes: [{ key: EVIL, value: { stringValue: EVIL } }],
      }],
      status: { code: 2, message: EVIL },
    };
    const body = JSON.stringify({
      resourceSpans: [{
        resource: { attributes: [{ key: "service.name", value: { stringValue: EVIL } }] },
        scopeSpans: [{ scope: { name: EVIL, version: EVIL }, spans: [span] }],
      }],
    });
    const browser = await launch();
    try {
      const { page, errors } = await open(browser, served.uiUrl);
      assert.equal(await postRaw(url, body, "application/json"), 200);
      // Hostile bodies: each refused with its status; none reaches the page.
      const deep = '{"arrayValue":{"values":['.repeat(10_000) + "{}" + "]}}".repeat(10_000);
      const deepBody =
        `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${TRACE.replace("b", "c")}",` +
        `"spanId":"0102030405060708","attributes":[{"key":"deep","value":${deep}}]}]}]}]}`;
      assert.equal(
        await postRaw(url, new Uint8Array([0x0a, 0x7f, 0x12]), "application/x-protobuf"),
        400,
      );
      assert.equal(await postRaw(url, new Uint8Array([0x08, 0x01]), "application/x-protobuf"), 400);
      assert.equal(
        await postRaw(url, new Uint8Array(4 * 1024 * 1024 + 1), "application/x-protobuf"),
        413,
      );
      const bomb = await new Response(
        new Blob(Array(4).fill(new Uint8Array(16 * 1024 * 1024))).stream().pipeThrough(
          new CompressionStream("gzip"),
        ),
      ).arrayBuffer();
      assert.equal(
        await postRaw(url, bomb, "application/x-protobuf", { "content-encoding": "gzip" }),
        413,
      );
      assert.equal(await postRaw(url, "x", "text/plain"), 415);
      const deepResponse = await fetch(`${url}/v1/traces`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: deepBody,
      });
      assert.equal(deepResponse.status, 200);
      assert.equal((await deepResponse.json()).partialSuccess.rejectedSpans, "1");

      const row = page.locator("tr.trace-row").first();
      await row.waitFor();
      assert.equal(await page.locator("tr.trace-row").count(), 1);
      assert.equal(await row.locator("td").first().textContent(), EVIL);
      assert.equal(await row.locator("td.name a").textContent(), EVIL);
      await row.locator("a").click();
      await page.locator(".span-row").first().click();
      assert.equal(await page.locator("#trace-title").textContent(), EVIL);
      const details = (await page.locator("#details").textContent())!;
      assert.ok(details.includes(EVIL));
      assert.equal(
        await page.locator("#details td", { hasText: /^\{"<img/ }).first().textContent(),
        `{${JSON.stringify(EVIL)}: ${JSON.stringify(EVIL)}}`,
      );
      assert.ok((await page.locator("#tree").textContent())!.includes("<img src=x"));
      const state = await page.evaluate(
        "({ pwned: window.__pwned, images: document.images.length, scripts: document.scripts.length })",
      );
      assert.deepEqual(state, { pwned: undefined, images: 0, scripts: 1 });
      assert.match(
        await page.locator("#stats").textContent() ?? "",
        /1 spans rejected · 5 requests refused/,
      );
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  },
});
