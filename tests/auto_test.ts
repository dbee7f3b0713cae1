// `--import` of auto.ts: a program that never mentions a provider (programs/auto_app.ts),
// configured by OTEL_* variables alone, run in a subprocess. Needs --allow-run=deno,node and
// --allow-net=127.0.0.1; `deno task test:run` runs it.

import assert from "node:assert/strict";
import {
  type CanonRequest,
  decodeJson,
  decodeProtobuf,
  NO_NET,
  startReceiver,
} from "./otlp/_helpers.ts";
import { NO_GRPC, startGrpcReceiver } from "./otlp/_grpc_receiver.ts";

const RUN = (await Deno.permissions.query({ name: "run", command: "deno" })).state === "granted";
const NODE = (await Deno.permissions.query({ name: "run", command: "node" })).state === "granted" &&
  await new Deno.Command("node", { args: ["--version"], stdout: "null", stderr: "null" }).output()
    .then((output) => output.success, () => false);

const AUTO = new URL("../auto.ts", import.meta.url).pathname;
const APP = new URL("./programs/auto_app.ts", import.meta.url).pathname;

/** Starts the app with auto.ts imported first, the given variables and flags. */
function start(env: Record<string, string>, flags: string[], args: string[] = []) {
  return new Deno.Command("deno", {
    args: ["run", "--no-prompt", "--no-check", ...flags, "--import", AUTO, APP, ...args],
    env: { NO_COLOR: "1", ...env },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

async function run(env: Record<string, string>, flags: string[], args: string[] = []) {
  const output = await start(env, flags, args).output();
  const text = new TextDecoder();
  return {
    code: output.code,
    signal: output.signal,
    stdout: text.decode(output.stdout),
    stderr: text.decode(output.stderr),
  };
}

/** The guide's fan-out, as names and id relationships, from what a receiver decoded. */
function fanOut(requests: CanonRequest[]): string[] {
  const spans = requests.flatMap((request) => request.scopes.flatMap((scope) => scope.spans));
  const root = spans.find((span) => span.name === "OrchestratingActivity");
  assert.ok(root !== undefined);
  return spans.map((span) => {
    const linked = span.links.length === 1 && span.links[0]!.spanId === root.spanId &&
      span.links[0]!.traceId === root.traceId && span.traceId !== root.traceId;
    return `${span.name}${linked ? " linked" : ""}`;
  }).sort();
}

const FAN_OUT = [
  "FannedOutActivity 1 linked",
  "FannedOutActivity 2 linked",
  "FannedOutActivity 3 linked",
  "OrchestratingActivity",
];

/** Replaces ids and times by their shape, so that records compare exactly. */
function shape(text: string): string {
  return text
    .replace(/\b[0-9a-f]{32}\b/g, "<trace-id>")
    .replace(/\b[0-9a-f]{16}\b/g, "<span-id>")
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z/g, "<start>")
    .replace(/00:00:00\.\d{7}/g, "<duration>");
}

const fannedOut = (n: number) =>
  `Activity.TraceId:            <trace-id>
Activity.SpanId:             <span-id>
Activity.TraceFlags:         Recorded
Activity.ActivitySourceName: MyCompany.MyApplication
Activity.DisplayName:        FannedOutActivity ${n}
Activity.Kind:               Internal
Activity.StartTime:          <start>
Activity.Duration:           <duration>
Activity.Links:
    <trace-id> <span-id>

`;

const CONSOLE = fannedOut(1) + fannedOut(2) + fannedOut(3) +
  `Activity.TraceId:            <trace-id>
Activity.SpanId:             <span-id>
Activity.TraceFlags:         Recorded
Activity.ActivitySourceName: MyCompany.MyApplication
Activity.DisplayName:        OrchestratingActivity
Activity.Kind:               Internal
Activity.StartTime:          <start>
Activity.Duration:           <duration>

`;

Deno.test({
  name: "auto.ts with OTEL_TRACES_EXPORTER=console prints the guide's records",
  ignore: !RUN,
  async fn() {
    const { code, stdout, stderr } = await run(
      { OTEL_TRACES_EXPORTER: "console" },
      ["--allow-env"],
    );
    assert.equal(stderr, "");
    assert.equal(code, 0);
    assert.equal(shape(stdout), CONSOLE);
  },
});

Deno.test({
  name: "auto.ts with OTEL_TRACES_EXPORTER=none exports nothing",
  ignore: !RUN || NO_NET,
  async fn() {
    await using receiver = startReceiver();
    const { code, stdout, stderr } = await run(
      { OTEL_TRACES_EXPORTER: "none", OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint },
      ["--allow-env", "--allow-net=127.0.0.1"],
    );
    assert.deepEqual([code, stdout, stderr], [0, "", ""]);
    assert.equal(receiver.requests.length, 0);
  },
});

for (
  const [protocol, decode, type] of [
    ["http/protobuf", decodeProtobuf, "application/x-protobuf"],
    ["http/json", decodeJson, "application/json"],
  ] as const
) {
  Deno.test({
    name: `auto.ts with OTLP over ${protocol}: the program ends without shutdown(), nothing lost`,
    ignore: !RUN || NO_NET,
    async fn() {
      await using receiver = startReceiver();
      const { code, stdout, stderr } = await run(
        { OTEL_EXPORTER_OTLP_PROTOCOL: protocol, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint },
        ["--allow-env", "--allow-net=127.0.0.1"],
      );
      assert.deepEqual([code, stdout, stderr], [0, "", ""]);
      assert.equal(receiver.requests.length, 1);
      assert.equal(receiver.requests[0]!.path, "/v1/traces");
      assert.equal(receiver.requests[0]!.headers.get("content-type"), type);
      const requests = decode(receiver.requests[0]!.body);
      assert.deepEqual(fanOut(requests), FAN_OUT);
      const resource = new Map(requests[0]!.resource);
      assert.deepEqual(resource.get("service.name"), { s: "unknown_service:deno" });
      assert.deepEqual(resource.get("telemetry.sdk.name"), { s: "@tracelinks/activity" });
      assert.deepEqual(resource.get("process.runtime.name"), { s: "deno" });
    },
  });
}

Deno.test({
  name: "auto.ts with OTLP over grpc: the program ends without shutdown(), grpc-js gets it all",
  ignore: !RUN || NO_GRPC,
  async fn() {
    await using receiver = await startGrpcReceiver();
    const { code, stdout, stderr } = await run(
      { OTEL_EXPORTER_OTLP_PROTOCOL: "grpc", OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint },
      ["--allow-env", "--allow-net=127.0.0.1"],
    );
    assert.deepEqual([code, stdout, stderr], [0, "", ""]);
    assert.equal(receiver.calls.length, 1);
    const requests = receiver.calls[0]!.request;
    assert.deepEqual(fanOut(requests), FAN_OUT);
    const resource = new Map(requests[0]!.resource);
    assert.deepEqual(resource.get("service.name"), { s: "unknown_service:deno" });
    assert.deepEqual(resource.get("process.runtime.name"), { s: "deno" });
  },
});

Deno.test({
  name: "auto.ts on SIGINT: exports what is queued, then ends as the signal would",
  ignore: !RUN || NO_NET || Deno.build.os === "windows",
  async fn() {
    await using receiver = startReceiver();
    const child = start(
      { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint },
      ["--allow-env", "--allow-net=127.0.0.1"],
      ["wait"],
    );
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    assert.equal((await reader.read()).value, "waiting\n");
    // The batch waits for its 5 s timer; the signal must not lose it.
    assert.equal(receiver.requests.length, 0);
    child.kill("SIGINT");
    const status = await child.status;
    reader.releaseLock();
    await child.stdout.cancel().catch(() => {});
    const stderr = new TextDecoder().decode(
      new Uint8Array(await new Response(child.stderr).arrayBuffer()),
    );
    assert.equal(stderr, "");
    // Without the run permission the program cannot send itself the signal: it ends with the
    // code a shell reports for SIGINT.
    assert.equal(status.code, 130);
    assert.equal(status.signal, null);
    assert.deepEqual(fanOut(decodeProtobuf(receiver.requests[0]!.body)), FAN_OUT);
  },
});

Deno.test({
  name: "auto.ts without the env permission: one warning, no prompt, the defaults",
  ignore: !RUN,
  async fn() {
    const { code, stdout, stderr } = await run({ OTEL_TRACES_EXPORTER: "console" }, []);
    assert.equal(code, 0);
    assert.equal(stdout, "");
    const lines = stderr.trimEnd().split("\n");
    assert.equal(lines.filter((line) => line.includes("env permission")).length, 1, stderr);
    assert.match(lines[0]!, /Cannot read OTEL_SDK_DISABLED, OTEL_TRACES_EXPORTER, .*--allow-env/);
  },
});

/** Runs programs/auto_node.ts, bundled, with `node`; the child, its stdin already closed. */
async function startNode(env: Record<string, string>): Promise<Deno.ChildProcess> {
  const bundle = await new Deno.Command("deno", {
    args: ["bundle", "--quiet", new URL("./programs/auto_node.ts", import.meta.url).pathname],
    stderr: "inherit",
  }).output();
  assert.equal(bundle.code, 0);
  const child = new Deno.Command("node", {
    args: ["--input-type=module", "-"],
    env,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(bundle.stdout);
  await writer.close();
  return child;
}

Deno.test({
  name: "auto.ts on Node.js: OTLP without shutdown(), nothing lost, Node's default resource",
  ignore: !RUN || !NODE || NO_NET,
  async fn() {
    await using receiver = startReceiver();
    const child = await startNode({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint });
    const { code, stdout, stderr } = await child.output();
    assert.equal(new TextDecoder().decode(stderr), "");
    assert.equal(new TextDecoder().decode(stdout), "");
    assert.equal(code, 0);
    const requests = decodeProtobuf(receiver.requests[0]!.body);
    assert.deepEqual(fanOut(requests), FAN_OUT);
    const resource = new Map(requests[0]!.resource);
    assert.deepEqual(resource.get("service.name"), { s: "unknown_service:node" });
    assert.deepEqual(resource.get("process.runtime.name"), { s: "nodejs" });
    assert.deepEqual(resource.get("process.runtime.description"), { s: "Node.js" });
  },
});

Deno.test({
  name: "auto.ts on Node.js, SIGTERM: exports what is queued, then the signal ends the program",
  ignore: !RUN || !NODE || NO_NET || Deno.build.os === "windows",
  async fn() {
    await using receiver = startReceiver();
    const child = await startNode({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      AUTO_WAIT: "1",
    });
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    assert.equal((await reader.read()).value, "waiting\n");
    assert.equal(receiver.requests.length, 0);
    child.kill("SIGTERM");
    const status = await child.status;
    reader.releaseLock();
    await child.stdout.cancel().catch(() => {});
    const stderr = await new Response(child.stderr).text();
    assert.equal(stderr, "");
    // Raised again with no listener left: the program ends by the signal itself.
    assert.equal(status.signal, "SIGTERM");
    assert.deepEqual(fanOut(decodeProtobuf(receiver.requests[0]!.body)), FAN_OUT);
  },
});
