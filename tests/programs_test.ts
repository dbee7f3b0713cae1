// Whole programs, run in a subprocess with the permissions a user would give them: what they
// report, and what reaches an exporter when they end. Needs --allow-run=deno (and
// --allow-net=127.0.0.1 for the receiver); `deno task test:run` runs it.

import assert from "node:assert/strict";
import { decodeProtobuf, NO_NET, startReceiver } from "./otlp/_helpers.ts";

const RUN = (await Deno.permissions.query({ name: "run", command: "deno" })).state === "granted";
const NODE = (await Deno.permissions.query({ name: "run", command: "node" })).state === "granted" &&
  await new Deno.Command("node", { args: ["--version"], stdout: "null", stderr: "null" }).output()
    .then((output) => output.success, () => false);

/** Runs `tests/programs/<name>` with `flags`; its exit code, stdout and stderr. */
async function run(
  name: string,
  flags: string[] = [],
  args: string[] = [],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const path = new URL(`./programs/${name}`, import.meta.url).pathname;
  const output = await new Deno.Command("deno", {
    args: ["run", "--no-prompt", "--no-check", ...flags, path, ...args],
    env: { NO_COLOR: "1" },
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
