// Whole programs, run in a subprocess with the permissions a user would give them: what they
// report, and what reaches an exporter when they end. Needs --allow-run=deno (and
// --allow-net=127.0.0.1 for the receiver); `deno task test:run` runs it.

import assert from "node:assert/strict";
import { decodeProtobuf, NO_NET, startReceiver } from "./otlp/_helpers.ts";
import { type GrpcCall, NO_GRPC, startGrpcReceiver } from "./otlp/_grpc_receiver.ts";

const RUN = (await Deno.permissions.query({ name: "run", command: "deno" })).state === "granted";
const NODE = (await Deno.permissions.query({ name: "run", command: "node" })).state === "granted" &&
  await new Deno.Command("node", { args: ["--version"], stdout: "null", stderr: "null" }).output()
    .then((output) => output.success, () => false);

/** Runs `tests/programs/<name>` with `flags`; its exit code, stdout and stderr. */
async function run(
  name: string,
  flags: string[] = [],
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const path = new URL(`./programs/${name}`, import.meta.url).pathname;
  const output = await new Deno.Command("deno", {
    args: ["run", "--no-prompt", "--no-check", ...flags, path, ...args],
    env: { NO_COLOR: "1", ...env },
    // A program that does not end fails its test rather than holding the run.
    signal: AbortSignal.timeout(60_000),
    stdin: "null",
  }).output();
  const text = new TextDecoder();
  return {
    code: output.code,
    stdout: text.decode(output.stdout),
    stderr: text.decode(output.stderr),
  };
}

Deno.test({
  name: "addOtlpExporter() without --allow-net: one report naming the flag, no retry",
  ignore: !RUN,
  async fn() {
    const { code, stdout, stderr } = await run("otlp_without_net.ts");
    assert.equal(stderr, "");
    assert.equal(code, 0);
    assert.deepEqual(JSON.parse(stdout), [{
      where: "Exporter OtlpExporter",
      level: "error",
      message:
        "OTLP export of 5 activities to http://localhost:4318/v1/traces failed: the net permission for localhost:4318 is not granted (the exporter never asks for it): run with --allow-net=localhost:4318",
    }]);
  },
});

const names = (prefix = "") => Array.from({ length: 1000 }, (_, i) => `${prefix}Op ${i}`);

Deno.test({
  name: "TracerProvider not shut down: everything queued is exported when the program ends",
  ignore: !RUN || NO_NET,
  async fn() {
    const spans: string[] = [];
    await using receiver = startReceiver((request) => {
      for (const scope of decodeProtobuf(request.body)[0]!.scopes) {
        for (const span of scope.spans) spans.push(span.name);
      }
      return new Response(null);
    });
    const { code, stdout, stderr } = await run(
      "exit_without_shutdown.ts",
      ["--allow-net=127.0.0.1"],
      ["end", receiver.endpoint],
    );
    assert.equal(stderr, "");
    assert.equal(code, 0);
    // 512 went when the first batch filled; the 488 left were waiting for the 5 s timer.
    assert.deepEqual(stdout.trimEnd().split("\n"), names());
    assert.deepEqual(spans.sort(), names().sort());
  },
});

Deno.test({
  name:
    "addOtlpExporter() with OTEL_EXPORTER_OTLP_PROTOCOL=grpc, never shut down: the fan-out reaches grpc-js",
  ignore: !RUN || NO_GRPC,
  async fn() {
    await using receiver = await startGrpcReceiver();
    const { code, stdout, stderr } = await run(
      "otlp_grpc_fanout.ts",
      ["--allow-net=127.0.0.1", "--allow-env=OTEL_*"],
      [],
      GRPC_ENV(receiver.endpoint),
    );
    assert.equal(stderr, "");
    assert.equal(stdout, "");
    assert.equal(code, 0);
    checkGrpcFanout(receiver.calls);
  },
});

/** The fan-out while the program ran, then "Done" at its end, as the gRPC receiver got them. */
function checkGrpcFanout(calls: GrpcCall[]): void {
  assert.equal(calls.length, 2);
  assert.equal(calls[0]!.metadata["x-tenant"], "t1");
  const spans = calls.flatMap((call) =>
    call.request.flatMap((r) => r.scopes.flatMap((s) => s.spans))
  );
  assert.deepEqual(spans.map((span) => span.name), [
    "FannedOutActivity 1",
    "FannedOutActivity 2",
    "FannedOutActivity 3",
    "WrapUp",
    "OrchestratingActivity",
    "Done",
  ]);
  // Each fanned-out activity is a root of its own trace, linked to the orchestrator.
  const orchestrating = spans[4]!;
  for (const fanned of spans.slice(0, 3)) {
    assert.notEqual(fanned.traceId, orchestrating.traceId);
    assert.deepEqual(fanned.links.map((link) => [link.traceId, link.spanId]), [[
      orchestrating.traceId,
      orchestrating.spanId,
    ]]);
  }
  assert.equal(spans[3]!.parentSpanId, orchestrating.spanId);
}

const GRPC_ENV = (endpoint: string) => ({
  OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
  OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
  OTEL_EXPORTER_OTLP_HEADERS: "x-tenant=t1",
  OTEL_BSP_SCHEDULE_DELAY: "20",
});

Deno.test({
  name:
    "addOtlpExporter() with OTEL_EXPORTER_OTLP_PROTOCOL=grpc on Node.js, never shut down: the fan-out reaches grpc-js",
  ignore: !RUN || !NODE || NO_GRPC,
  async fn() {
    await using receiver = await startGrpcReceiver();
    const entry = new URL("./programs/otlp_bundle.ts", import.meta.url).pathname;
    const bundle = await new Deno.Command("deno", {
      args: ["bundle", "--quiet", entry],
      stderr: "inherit",
    }).output();
    assert.equal(bundle.code, 0);
    const child = new Deno.Command("node", {
      args: [new URL("./programs/otlp_grpc_node.mjs", import.meta.url).pathname],
      env: GRPC_ENV(receiver.endpoint),
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000),
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(bundle.stdout);
    await writer.close();
    const { code, stdout, stderr } = await child.output();
    assert.equal(new TextDecoder().decode(stderr), "");
    assert.equal(new TextDecoder().decode(stdout), "");
    assert.equal(code, 0);
    checkGrpcFanout(receiver.calls);
  },
});

Deno.test({
  name:
    "TracerProvider not shut down, Deno.exit(): synchronous exporters get their queue, the rest is reported lost",
  ignore: !RUN,
  async fn() {
    const { code, stdout, stderr } = await run("exit_without_shutdown.ts", [], ["exit"]);
    assert.equal(stderr, "");
    assert.equal(code, 0);
    const lines = stdout.trimEnd().split("\n");
    assert.deepEqual(lines.slice(0, 1000), names("sync "));
    assert.deepEqual(lines.slice(1000).map((line) => JSON.parse(line)), [{
      where: "TracerProvider",
      level: "error",
      message:
        "The program ended with 1000 activities not exported yet, which are lost: await provider.shutdown() (or use await using) before it ends",
    }]);
  },
});

Deno.test({
  name: "TracerProvider not shut down on Node.js: everything queued is exported at beforeExit",
  ignore: !RUN || !NODE,
  async fn() {
    const bundle = await new Deno.Command("deno", {
      args: ["bundle", "--quiet", new URL("../mod.ts", import.meta.url).pathname],
      stderr: "inherit",
    }).output();
    assert.equal(bundle.code, 0);
    const child = new Deno.Command("node", {
      args: [new URL("./programs/exit_node.mjs", import.meta.url).pathname],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(bundle.stdout);
    await writer.close();
    const { code, stdout, stderr } = await child.output();
    assert.equal(new TextDecoder().decode(stderr), "");
    assert.equal(code, 0);
    assert.deepEqual(new TextDecoder().decode(stdout).trimEnd().split("\n"), names());
  },
});

Deno.test({
  name:
    "The module makes neither process nor a timer for a console provider; the context loads at first use",
  ignore: !RUN,
  async fn() {
    const quiet = await run("lazy_start.ts");
    assert.equal(quiet.stderr, "");
    assert.equal(quiet.code, 0);
    assert.deepEqual(quiet.stdout.trimEnd().split("\n").map((line) => JSON.parse(line)), [
      { at: "built", touched: [], records: 1 },
      { at: "exit", touched: [], records: 1 },
    ]);
    const active = await run("lazy_start.ts", [], ["active"]);
    assert.equal(active.stderr, "");
    const [built, current, exit] = active.stdout.trimEnd().split("\n").map((line) =>
      JSON.parse(line)
    );
    assert.deepEqual(built, { at: "built", touched: [], records: 1 });
    // Only now: AsyncLocalStorage is loaded through process.getBuiltinModule.
    assert.equal(current.parentFound, true);
    assert.ok(current.touched.length > 0 && current.touched.every((t: string) => t === "process"));
    assert.equal(exit.records, 3);
  },
});

const SYNCHRONOUS_WARNING =
  "This runtime has neither AsyncContext nor AsyncLocalStorage (Node.js before 20.16, a browser, or a runtime without process.getBuiltinModule): an async callback was run with a current activity (or context value), which it keeps only until its first await; activities started after an await do not find their parent";

Deno.test({
  name: "ContextVariable.run() without async context: an async callback is warned about once",
  ignore: !RUN,
  async fn(t) {
    await t.step("to the handler of each live provider", async () => {
      const { code, stdout, stderr } = await run("synchronous_context.ts", [], ["provider"]);
      assert.equal(stderr, "");
      assert.equal(code, 0);
      assert.deepEqual(JSON.parse(stdout), {
        contextBackend: "synchronous",
        reports: [{ where: "ContextVariable.run", level: "warn", message: SYNCHRONOUS_WARNING }],
        parents: [false, false],
      });
    });
    await t.step("on stderr when no provider lives", async () => {
      const { code, stdout, stderr } = await run("synchronous_context.ts");
      assert.equal(code, 0);
      assert.deepEqual(JSON.parse(stdout), {
        contextBackend: "synchronous",
        reports: [],
        parents: [],
      });
      assert.equal(
        stderr,
        `[@tracelinks/activity] warning: ContextVariable.run: Error: ${SYNCHRONOUS_WARNING}\n`,
      );
    });
  },
});

Deno.test({
  name: "TracerProvider.shutdown() not awaited: the program lives until it is done",
  ignore: !RUN,
  async fn() {
    const { code, stdout, stderr } = await run("exit_unawaited_shutdown.ts");
    assert.equal(stderr, "");
    assert.equal(code, 0);
    assert.equal(stdout, "exported Work\n");
  },
});

/** What tests/programs/two_bundles_scenario.mjs returns when the copies act as one module. */
const TWO_BUNDLES = {
  header: true,
  headerCount: 1,
  clientParent: true,
  serverParent: true,
  inOtherCopyParent: true,
  currentShared: true,
  fromOtherContext: true,
  linked: true,
  foreignBaggage: ["acme", [["tenant", "acme"]], true],
  exported: ["ChildOfForeign", "FromOtherContext", "GET", "GET", "InOtherCopy", "Linked", "Outer"],
};

Deno.test({
  name: "two bundles of the module are one module: header sent, parents line up, one current",
  ignore: !RUN,
  async fn() {
    const flags = ["--allow-run=deno", "--allow-read", "--allow-write", "--allow-env"];
    const { code, stdout, stderr } = await run("two_bundles.ts", flags);
    assert.equal(stderr, "");
    assert.equal(code, 0);
    assert.deepEqual(JSON.parse(stdout), TWO_BUNDLES);
  },
});

Deno.test({
  name: "two bundles of the module are one module on Node.js too",
  ignore: !RUN || !NODE,
  async fn() {
    const bundles: Record<string, string> = {};
    for (const name of ["mod", "http"]) {
      const bundle = await new Deno.Command("deno", {
        args: ["bundle", "--quiet", new URL(`../${name}.ts`, import.meta.url).pathname],
        stderr: "inherit",
      }).output();
      assert.equal(bundle.code, 0);
      bundles[name] = new TextDecoder().decode(bundle.stdout);
    }
    const child = new Deno.Command("node", {
      args: [new URL("./programs/two_bundles_node.mjs", import.meta.url).pathname],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(JSON.stringify(bundles)));
    await writer.close();
    const { code, stdout, stderr } = await child.output();
    assert.equal(new TextDecoder().decode(stderr), "");
    assert.equal(code, 0);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(stdout)), TWO_BUNDLES);
  },
});

Deno.test({
  name: "a copy of another version is kept apart and reported once",
  ignore: !RUN,
  async fn() {
    const flags = ["--allow-run=deno", "--allow-read", "--allow-write", "--allow-env"];
    const { code, stderr } = await run("two_bundles.ts", flags, ["--other-version"]);
    assert.equal(code, 0);
    assert.equal(
      stderr,
      "[@tracelinks/activity] warning: module registry: Error: Another version of @tracelinks/activity is loaded (@tracelinks/activity/v9); this one (@tracelinks/activity/v0.1) does not share the current activity, listeners or sources with it: activities of one are not parents of the other's\n",
    );
  },
});

Deno.test({
  name:
    "examples/deno_otel.ts under OTEL_DENO=true: one trace, Deno's spans and activities interleaved, one traceparent per request",
  ignore: !RUN || NO_NET,
  async fn() {
    await using receiver = startReceiver();
    const example = new URL("../examples/deno_otel.ts", import.meta.url).pathname;
    const output = await new Deno.Command("deno", {
      args: ["run", "--no-prompt", "--allow-net=127.0.0.1", "--allow-env", example],
      env: {
        NO_COLOR: "1",
        OTEL_DENO: "true",
        OTEL_SERVICE_NAME: "shop",
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
      },
      stdin: "null",
    }).output();
    const text = new TextDecoder();
    assert.equal(text.decode(output.stderr), "");
    const { answer, received } = JSON.parse(text.decode(output.stdout));
    assert.equal(answer, "total: 42");
    const spans = receiver.requests.filter((r) => r.path === "/v1/traces")
      .flatMap((r) => decodeProtobuf(r.body))
      .flatMap((request) =>
        request.scopes.flatMap((s) => s.spans.map((span) => ({ ...span, scope: s.name })))
      );
    const one = (scope: string, name: string, kind: number, parent?: string) => {
      const found = spans.filter((s) =>
        s.scope === scope && s.name === name && s.kind === kind &&
        (parent === undefined || s.parentSpanId === parent)
      );
      assert.equal(found.length, 1, `${scope} ${name} ${kind} under ${parent}`);
      return found[0]!;
    };
    // Deno: the first fetch (client, root) and the frontend's request span (server).
    const first = one("deno", "GET", 3, "");
    const frontendDeno = one("deno", "GET", 2, first.spanId);
    const frontend = one("Shop.Frontend", "GET /checkout", 2, frontendDeno.spanId);
    const client = one("Shop.Frontend", "GET", 3, frontend.spanId);
    const fetchDeno = one("deno", "GET", 3, client.spanId);
    const backendDeno = one("deno", "GET", 2, fetchDeno.spanId);
    const backend = one("Shop.Backend", "GET /price", 2, backendDeno.spanId);
    one("Shop.Backend", "LookUpPrice", 1, backend.spanId);
    assert.deepEqual(new Set(spans.map((s) => s.traceId)), new Set([first.traceId]));
    // One traceparent per request: the innermost client span's (Deno's fetch span).
    assert.equal(received.frontend, `00-${first.traceId}-${first.spanId}-01`);
    assert.equal(received.backend, `00-${first.traceId}-${fetchDeno.spanId}-01`);
  },
});
