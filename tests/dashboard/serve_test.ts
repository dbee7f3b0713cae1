// The dashboard served on 127.0.0.1: the fan-out from each sender (this module's exporter,
// the OpenTelemetry JS SDK's exporters, Deno's built-in telemetry) listed by GET /api/traces, and
// the command itself. Needs --allow-net=127.0.0.1 and --allow-run=deno (`deno task test:dashboard`).

import assert from "node:assert/strict";
import { serveDashboard } from "../../dashboard/mod.ts";
import { checkFanout, type ListedTrace, SENDERS } from "./_senders.ts";

const NET = (await Deno.permissions.query({ name: "net", host: "127.0.0.1" })).state === "granted";
const RUN = (await Deno.permissions.query({ name: "run", command: "deno" })).state === "granted";

Deno.test({
  name: "serveDashboard() lists the fan-out from every sender, with span counts and links",
  ignore: !NET || !RUN,
  async fn() {
    await using served = await serveDashboard({ otlp: "127.0.0.1:0", ui: "127.0.0.1:0" });
    for (const sender of SENDERS) {
      await sender.send(served.otlpUrl);
      const list = await (await fetch(`${served.uiUrl}api/traces?service=${sender.service}`))
        .json();
      const hub = checkFanout(list.traces as ListedTrace[], sender.service);
      const view = await (await fetch(`${served.uiUrl}api/traces/${hub}`)).json();
      assert.equal(view.related.traces.length, 4, sender.name);
      assert.equal(view.related.edges.length, 3, sender.name);
      assert.equal(view.spans.length, 5, sender.name);
    }
    const stats = served.dashboard.stats;
    assert.equal(stats.traces, 4 * SENDERS.length);
    assert.equal(stats.spans, 5 * SENDERS.length);
    assert.equal(stats.rejectedSpans, 0);
    assert.equal(stats.failedRequests, 0);
  },
});

Deno.test({
  name: "serveDashboard() serves OTLP and the page on one port when both addresses are the same",
  ignore: !NET,
  async fn() {
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (probe.addr as Deno.NetAddr).port;
    probe.close();
    await using served = await serveDashboard({
      otlp: `127.0.0.1:${port}`,
      ui: `127.0.0.1:${port}`,
    });
    assert.equal(served.otlpUrl, `http://127.0.0.1:${port}`);
    assert.equal(served.uiUrl, `http://127.0.0.1:${port}/`);
    await SENDERS[0]!.send(served.otlpUrl);
    const list = await (await fetch(`${served.uiUrl}api/traces`)).json();
    assert.equal(list.total, 4);
  },
});

Deno.test({
  name: "dashboard/mod.ts as a program prints its two addresses, serves, and stops on SIGINT",
  ignore: !NET || !RUN,
  async fn() {
    const child = new Deno.Command("deno", {
      args: [
        "run",
        "--no-prompt",
        "--allow-net=127.0.0.1",
        new URL("../../dashboard/mod.ts", import.meta.url).pathname,
        "--otlp=127.0.0.1:0",
        "--ui=127.0.0.1:0",
        "--token=program-test-token-0001",
        "--max-traces=5",
      ],
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    while (out.split("\n").length < 4) {
      const { done, value } = await reader.read();
      if (done) break;
      out += value;
    }
    const lines = out.trimEnd().split("\n");
    assert.match(
      lines[0]!,
      /^OTLP\/HTTP {2}http:\/\/127\.0\.0\.1:\d+\/v1\/traces {2}\(OTEL_EXPORTER_OTLP_ENDPOINT=http:\/\/127\.0\.0\.1:\d+\)$/,
    );
    assert.match(
      lines[1]!,
      /^Dashboard {2}http:\/\/127\.0\.0\.1:\d+\/\?token=program-test-token-0001$/,
    );
    assert.equal(
      lines[2],
      "Token      senders add the header: Authorization: Bearer program-test-token-0001",
    );
    const login = lines[1]!.slice("Dashboard  ".length);
    const ui = new URL("/", login).href;
    const denied = await fetch(`${ui}api/traces`);
    assert.equal(denied.status, 401);
    await denied.body?.cancel();
    const loggedIn = await fetch(login, { redirect: "manual" });
    assert.equal(loggedIn.status, 303);
    const cookie = loggedIn.headers.get("set-cookie")!.split(";")[0]!;
    const list = await fetch(`${ui}api/traces`, { headers: { cookie } });
    assert.equal(list.status, 200);
    assert.equal((await list.json()).stats.maxTraces, 5);
    child.kill("SIGINT");
    const status = await child.status;
    assert.equal(status.code, 0);
    reader.releaseLock();
    await child.stdout.cancel().catch(() => {});
    assert.equal(new TextDecoder().decode(await new Response(child.stderr).arrayBuffer()), "");
  },
});

Deno.test({
  name: "dashboard/mod.ts as a program explains a bad option and a missing token",
  ignore: !RUN,
  async fn() {
    const run = async (...args: string[]) => {
      const output = await new Deno.Command("deno", {
        args: [
          "run",
          "--no-prompt",
          "--allow-net=127.0.0.1",
          new URL("../../dashboard/mod.ts", import.meta.url).pathname,
          ...args,
        ],
        env: { NO_COLOR: "1" },
        stdin: "null",
      }).output();
      return [output.code, new TextDecoder().decode(output.stderr).trim()];
    };
    assert.deepEqual(await run("--otlp=4318"), [
      2,
      "Cannot parse --otlp: expected HOST:PORT, got '4318'",
    ]);
    assert.deepEqual(await run("--nope"), [
      2,
      "Cannot read the command line: unknown option '--nope' (see --help)",
    ]);
    assert.deepEqual(await run("--ui=0.0.0.0:0"), [
      1,
      "Cannot start the dashboard: Cannot serve the dashboard's UI on 0.0.0.0: an address other than loopback needs a token (--token)",
    ]);
  },
});
