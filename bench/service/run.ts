// The service benchmark: what a traced request costs a `Deno.serve` service, this module against
// OpenTelemetry JS and Deno's built-in telemetry (the variants are described in server.ts).
//
//   deno task bench:service                      # 6 rounds of A, B, B0, C, D; 5 to 10 minutes
//   deno task bench:service --rounds 3 --duration 4 --variants A,B,C
//   deno task bench:service --profile A,B        # A, then B, under --cpu-prof; their breakdowns
//
// Set-up: the service is pinned to core 0 (`taskset -c 0`); wrk, the OTLP receiver
// (receiver.ts) and this runner to core 1. Each variant runs in a fresh process per round; the
// variants alternate, in an order that rotates from round to round. A run: start the service,
// `wrk -t1 -c50` for the warm-up, then `wrk -t1 -c50 --latency` for the measurement, then stop
// the service (which flushes its spans) and wait for the receiver to count them.
//
// Per variant and round: req/s, p50 and p99 (wrk), the service's CPU time during the measurement
// (utime + stime of /proc/<pid>/stat, all threads, in CLK_TCK ticks) divided by the requests its
// handler saw during it, its peak RSS (VmHWM of /proc/<pid>/status), and the spans received
// against the spans sent (requests the handler saw × 2). "Extra CPU per request" is a variant's
// CPU per request minus A's in the same round. The report gives medians over rounds, and ratios
// taken within each round with their spread (min–max).
//
// Options: --rounds N (6), --duration S (6, measured seconds per run), --warmup S (3),
// --connections N (50), --variants A,B,B0,C,D, --out FILE (/tmp/service-bench.json),
// --quiet-wait S (10: before each run, wait up to S seconds for a second in which both cores
// are idle; the report gives, per variant, how much other work still reached the service's
// core), --max-noise P and --retries N (20 and 1: a run during which other work took more than
// P% of the service's core is made again, up to N more times, and the least noisy one kept),
// --profile VARIANTS (one run of each under `deno run --cpu-prof`, sampling every
// --interval µs (100); profiles in /tmp/service-prof/<variant>.cpuprofile, summarised by
// profile.ts per request), --top N (30, rows of the profile summary).

import { SPANS_PER_REQUEST, type Variant, VARIANTS } from "./server.ts";
import { formatSummary, readProfile, summarize } from "./profile.ts";

const HERE = new URL(".", import.meta.url);
const SERVER = new URL("server.ts", HERE).pathname;
const RECEIVER = new URL("receiver.ts", HERE).pathname;
const RECEIVER_PORT = 14318;
const ENDPOINT = `http://127.0.0.1:${RECEIVER_PORT}`;
/** Every request continues this trace, as a request from an instrumented caller would. */
const TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
const SERVER_CORE = "0";
const LOAD_CORE = "1";

interface Options {
  rounds: number;
  duration: number;
  warmup: number;
  connections: number;
  variants: Variant[];
  out: string;
  profile: Variant[] | undefined;
  top: number;
  interval: number;
  quietWait: number;
  maxNoise: number;
  retries: number;
}

function parseOptions(args: string[]): Options {
  const options: Options = {
    rounds: 6,
    duration: 6,
    warmup: 3,
    connections: 50,
    variants: [...VARIANTS],
    out: "/tmp/service-bench.json",
    profile: undefined,
    top: 30,
    interval: 100,
    quietWait: 10,
    maxNoise: 20,
    retries: 1,
  };
  for (let i = 0; i < args.length; i += 2) {
    const name = args[i];
    const value = args[i + 1];
    if (value === undefined) throw new TypeError(`Cannot read options: ${name} needs a value`);
    const number = Number(value);
    switch (name) {
      case "--rounds":
      case "--duration":
      case "--warmup":
      case "--connections":
      case "--top":
      case "--interval":
        if (!Number.isInteger(number) || number < 1) {
          throw new RangeError(`Cannot read options: ${name} must be a positive integer`);
        }
        options[name.slice(2) as "rounds" | "duration" | "warmup" | "connections" | "top"] = number;
        break;
      case "--quiet-wait":
      case "--max-noise":
      case "--retries":
        if (!Number.isInteger(number) || number < 0) {
          throw new RangeError(`Cannot read options: ${name} must be a whole number`);
        }
        if (name === "--quiet-wait") options.quietWait = number;
        else if (name === "--max-noise") options.maxNoise = number;
        else options.retries = number;
        break;
      case "--variants":
        options.variants = value.split(",").map(checkVariant);
        break;
      case "--out":
        options.out = value;
        break;
      case "--profile":
        options.profile = value.split(",").map(checkVariant);
        break;
      default:
        throw new TypeError(`Cannot read options: '${name}' is not an option`);
    }
  }
  return options;
}

function checkVariant(name: string): Variant {
  if (!(VARIANTS as readonly string[]).includes(name)) {
    throw new TypeError(`Cannot read options: variant '${name}' is not one of ${VARIANTS}`);
  }
  return name as Variant;
}

/** Runs a command to its end; its stderr is shown only if it fails. */
async function output(command: string, args: string[]): Promise<string> {
  const result = await new Deno.Command(command, { args, stderr: "piped" }).output();
  if (!result.success) {
    const stderr = new TextDecoder().decode(result.stderr);
    throw new Error(`${command} ${args.join(" ")} failed (${result.code})\n${stderr}`);
  }
  return new TextDecoder().decode(result.stdout);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Reads JSON lines from a child's stdout, one at a time; other lines are shown and skipped. */
class LineReader {
  #reader: ReadableStreamDefaultReader<string>;
  #pending = "";

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  }

  async next(): Promise<Record<string, number>> {
    for (;;) {
      const newline = this.#pending.indexOf("\n");
      if (newline >= 0) {
        const line = this.#pending.slice(0, newline);
        this.#pending = this.#pending.slice(newline + 1);
        if (line.startsWith("{")) return JSON.parse(line);
        console.error(`service: ${line}`);
        continue;
      }
      const { value, done } = await this.#reader.read();
      if (done) throw new Error("Cannot read the child's answer: its output ended");
      this.#pending += value;
    }
  }
}

/** Reads a file of /proc, which Deno lets only a program with all permissions read itself. */
function readProc(path: string): Promise<string> {
  return output("cat", [path]);
}

/** CPU time of a process, all threads, in seconds. */
async function cpuSeconds(pid: number, ticksPerSecond: number): Promise<number> {
  const stat = await readProc(`/proc/${pid}/stat`);
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

/** CPU time of each thread of a process, in seconds, summed by thread name. */
async function threadSeconds(pid: number, ticksPerSecond: number): Promise<Map<string, number>> {
  const text = await output("sh", ["-c", `cat /proc/${pid}/task/*/stat`]);
  const threads = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const name = line.slice(line.indexOf("(") + 1, line.lastIndexOf(")"));
    const fields = line.slice(line.lastIndexOf(")") + 2).split(" ");
    const seconds = (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
    threads.set(name, (threads.get(name) ?? 0) + seconds);
  }
  return threads;
}

/** Busy time of one core (all processes, and steal), in seconds, from /proc/stat. */
async function coreBusySeconds(core: string, ticksPerSecond: number): Promise<number> {
  const stat = await readProc("/proc/stat");
  const line = new RegExp(`^cpu${core} (.+)$`, "m").exec(stat);
  if (line === null) throw new Error(`Cannot read core ${core} in /proc/stat`);
  // Fields: user nice system idle iowait irq softirq steal. Time in processes, and steal (the
  // hypervisor's other guests); not irq and softirq, which the network traffic of the service
  // itself causes and which no process is charged for.
  const [user, nice, system, , , , , steal] = line[1]!.trim().split(/\s+/).map(Number);
  const busy = user! + nice! + system! + (steal ?? 0);
  return busy / ticksPerSecond;
}

/**
 * Before a run, waits (at most `maxSeconds`) for a second in which neither core is more than
 * 10% busy, so that a run starts when other work on the machine pauses. Returns the seconds
 * waited.
 */
async function waitForQuiet(maxSeconds: number, ticksPerSecond: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const before = await Promise.all(
      [SERVER_CORE, LOAD_CORE].map((core) => coreBusySeconds(core, ticksPerSecond)),
    );
    await sleep(1000);
    const after = await Promise.all(
      [SERVER_CORE, LOAD_CORE].map((core) => coreBusySeconds(core, ticksPerSecond)),
    );
    const waited = (Date.now() - started) / 1000;
    if (after.every((busy, i) => busy - before[i]! <= 0.1) || waited >= maxSeconds) return waited;
  }
}

async function peakRssBytes(pid: number): Promise<number> {
  const status = await readProc(`/proc/${pid}/status`);
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(status);
  if (match === null) throw new Error(`Cannot read VmHWM of process ${pid}`);
  return Number(match[1]) * 1024;
}

/** What the runner takes from one `wrk` run. */
export interface WrkResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  errors: number;
}

function toMs(value: string, unit: string): number {
  const n = Number(value);
  return unit === "us" ? n / 1000 : unit === "ms" ? n : unit === "s" ? n * 1000 : n * 60_000;
}

/** Reads req/s, p50, p99, the request count and the errors from `wrk --latency`'s output. */
export function parseWrk(text: string): WrkResult {
  const rate = /Requests\/sec:\s+([\d.]+)/.exec(text);
  const p50 = /^\s+50%\s+([\d.]+)(us|ms|s|m)$/m.exec(text);
  const p99 = /^\s+99%\s+([\d.]+)(us|ms|s|m)$/m.exec(text);
  const total = /(\d+) requests in/.exec(text);
  if (rate === null || p50 === null || p99 === null || total === null) {
    throw new Error(`Cannot read wrk's output:\n${text}`);
  }
  let errors = 0;
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  if (socket !== null) errors += socket.slice(1).reduce((sum, n) => sum + Number(n), 0);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  if (non2xx !== null) errors += Number(non2xx[1]);
  return {
    requestsPerSecond: Number(rate[1]),
    p50Ms: toMs(p50[1]!, p50[2]!),
    p99Ms: toMs(p99[1]!, p99[2]!),
    requests: Number(total[1]),
    errors,
  };
}

function wrk(port: number, seconds: number, connections: number): Promise<string> {
  return output("taskset", [
    "-c",
    LOAD_CORE,
    "wrk",
    "-t1",
    `-c${connections}`,
    `-d${seconds}s`,
    "--latency",
    "-H",
    `traceparent: ${TRACEPARENT}`,
    `http://127.0.0.1:${port}/`,
  ]);
}

interface Receiver {
  count(): Promise<{ spans: number; traceRequests: number; errors: number }>;
  reset(): Promise<void>;
  stop(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const child = new Deno.Command("taskset", {
    args: [
      "-c",
      LOAD_CORE,
      Deno.execPath(),
      "run",
      "--allow-net=127.0.0.1",
      RECEIVER,
      "--port",
      String(RECEIVER_PORT),
    ],
    stdout: "piped",
    stderr: "inherit",
    stdin: "null",
  }).spawn();
  await new LineReader(child.stdout).next();
  return {
    async count() {
      return await (await fetch(`${ENDPOINT}/count`)).json();
    },
    async reset() {
      await (await fetch(`${ENDPOINT}/reset`, { method: "POST" })).body?.cancel();
    },
    async stop() {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

/** One run of one variant. */
interface Run {
  variant: Variant;
  round: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Requests the handler saw during the measurement. */
  measuredRequests: number;
  /** Service CPU seconds during the measurement. */
  cpuSeconds: number;
  /**
   * Seconds the service's core spent on other work during the measurement (other processes,
   * interrupts): how much the machine's noise reached the service.
   */
  otherCpuOnServerCore: number;
  /** Seconds waited before the run for the machine to be quiet. */
  waitedForQuiet: number;
  /** Runs made for this variant and round (the least noisy was kept). */
  attempts: number;
  /** Service CPU per request during the measurement, in microseconds. */
  cpuPerRequestUs: number;
  /**
   * The same by thread name (the main thread is `deno`; `V8 DefaultWorke` are V8's workers,
   * which mark and sweep for the garbage collector and compile; `tokio-*` the runtime's
   * blocking pool).
   */
  threadCpuPerRequestUs: Record<string, number>;
  peakRssBytes: number;
  /** Requests the handler saw in the whole run (warm-up included). */
  handledRequests: number;
  /** Service CPU seconds from its start to the end of the measurement. */
  totalCpuSeconds: number;
  spansSent: number;
  spansReceived: number;
  wrkErrors: number;
}

interface RunOptions {
  variant: Variant;
  round: number;
  port: number;
  options: Options;
  receiver: Receiver;
  ticksPerSecond: number;
  /** Directory for a CPU profile, which turns profiling on. */
  profileDir?: string;
}

async function runVariant(run: RunOptions): Promise<Run> {
  const { variant, port, options, receiver } = run;
  await receiver.reset();
  const waitedForQuiet = await waitForQuiet(options.quietWait, run.ticksPerSecond);
  const env: Record<string, string> = { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" };
  for (const name of ["HOME", "DENO_DIR", "TMPDIR"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  if (variant === "D") {
    env.OTEL_DENO = "true";
    env.OTEL_EXPORTER_OTLP_ENDPOINT = ENDPOINT;
  }
  const profile = run.profileDir === undefined ? [] : [
    "--cpu-prof",
    `--cpu-prof-dir=${run.profileDir}`,
    `--cpu-prof-name=${variant}.cpuprofile`,
    `--cpu-prof-interval=${options.interval}`,
  ];
  const child = new Deno.Command("taskset", {
    args: [
      "-c",
      SERVER_CORE,
      Deno.execPath(),
      "run",
      ...profile,
      "--allow-net=127.0.0.1",
      "--allow-env",
      SERVER,
      variant,
      String(port),
      ENDPOINT,
    ],
    clearEnv: true,
    env,
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const pid = child.pid;
  const answers = new LineReader(child.stdout);
  const commands = child.stdin.getWriter();
  const ask = async (command: string) => {
    await commands.write(new TextEncoder().encode(`${command}\n`));
    return await answers.next();
  };
  try {
    await answers.next(); // ready
    const comm = (await readProc(`/proc/${pid}/comm`)).trim();
    if (comm !== "deno") throw new Error(`Process ${pid} is '${comm}', not the service`);
    await wrk(port, options.warmup, options.connections);
    const before = await ask("stats");
    const threadsBefore = await threadSeconds(pid, run.ticksPerSecond);
    const cpuBefore = await cpuSeconds(pid, run.ticksPerSecond);
    const coreBefore = await coreBusySeconds(SERVER_CORE, run.ticksPerSecond);
    const measured = parseWrk(await wrk(port, options.duration, options.connections));
    const after = await ask("stats");
    const cpuAfter = await cpuSeconds(pid, run.ticksPerSecond);
    const threadsAfter = await threadSeconds(pid, run.ticksPerSecond);
    const coreAfter = await coreBusySeconds(SERVER_CORE, run.ticksPerSecond);
    const peak = await peakRssBytes(pid);
    const stopping = await cpuSeconds(pid, run.ticksPerSecond);
    const stopped = await ask("stop");
    await commands.close().catch(() => {});
    await child.status;
    const handled = stopped.requests!;
    const spansSent = handled * SPANS_PER_REQUEST[variant];
    let spansReceived: number;
    if (stopped.exported !== undefined) {
      spansReceived = stopped.exported;
    } else {
      // The service has flushed before it answered (B, C) or on exit (D); give the receiver
      // time to count what is on the way.
      const until = Date.now() + 15_000;
      let count = await receiver.count();
      while (count.spans < spansSent && Date.now() < until) {
        await sleep(100);
        count = await receiver.count();
      }
      spansReceived = count.spans;
    }
    const measuredRequests = after.requests! - before.requests!;
    const cpu = cpuAfter - cpuBefore;
    // Threads that exited during the measurement are left out (their time is in `cpu`).
    const threadCpuPerRequestUs: Record<string, number> = {};
    for (const [name, seconds] of threadsAfter) {
      const spent = seconds - (threadsBefore.get(name) ?? 0);
      if (spent > 0) threadCpuPerRequestUs[name] = spent / measuredRequests * 1e6;
    }
    return {
      variant,
      round: run.round,
      requestsPerSecond: measured.requestsPerSecond,
      p50Ms: measured.p50Ms,
      p99Ms: measured.p99Ms,
      measuredRequests,
      cpuSeconds: cpu,
      otherCpuOnServerCore: Math.max(0, coreAfter - coreBefore - cpu),
      waitedForQuiet,
      attempts: 1,
      cpuPerRequestUs: cpu / measuredRequests * 1e6,
      threadCpuPerRequestUs,
      peakRssBytes: peak,
      handledRequests: handled,
      totalCpuSeconds: stopping,
      spansSent,
      spansReceived,
      wrkErrors: measured.errors,
    };
  } catch (error) {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
    throw error;
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

interface Spread {
  median: number;
  min: number;
  max: number;
}

function spread(values: number[]): Spread {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

interface VariantSummary {
  variant: Variant;
  requestsPerSecond: Spread;
  p50Ms: Spread;
  p99Ms: Spread;
  cpuPerRequestUs: Spread;
  /** CPU per request minus A's in the same round. */
  extraCpuPerRequestUs?: Spread;
  peakRssMB: Spread;
  spansSent: number;
  spansReceived: number;
  /** Other work on the service's core during the measurement, in percent of its length. */
  noisePercent: Spread;
}

interface Ratio {
  what: string;
  value: Spread;
}

function summarizeRuns(runs: Run[], variants: Variant[], rounds: number, duration: number) {
  const byRound = (variant: Variant) =>
    Array.from(
      { length: rounds },
      (_, r) => runs.find((x) => x.variant === variant && x.round === r)!,
    );
  const extra = (variant: Variant) => {
    const a = byRound("A");
    return byRound(variant).map((x, r) => x.cpuPerRequestUs - a[r]!.cpuPerRequestUs);
  };
  const summaries: VariantSummary[] = variants.map((variant) => {
    const list = byRound(variant);
    const summary: VariantSummary = {
      variant,
      requestsPerSecond: spread(list.map((x) => x.requestsPerSecond)),
      p50Ms: spread(list.map((x) => x.p50Ms)),
      p99Ms: spread(list.map((x) => x.p99Ms)),
      cpuPerRequestUs: spread(list.map((x) => x.cpuPerRequestUs)),
      peakRssMB: spread(list.map((x) => x.peakRssBytes / 2 ** 20)),
      spansSent: list.reduce((sum, x) => sum + x.spansSent, 0),
      spansReceived: list.reduce((sum, x) => sum + x.spansReceived, 0),
      noisePercent: spread(list.map((x) => x.otherCpuOnServerCore / duration * 100)),
    };
    if (variant !== "A" && variants.includes("A")) {
      summary.extraCpuPerRequestUs = spread(extra(variant));
    }
    return summary;
  });
  const ratios: Ratio[] = [];
  const has = (...names: Variant[]) => names.every((name) => variants.includes(name));
  const ratio = (what: string, top: number[], bottom: number[]) =>
    ratios.push({ what, value: spread(top.map((t, r) => t / bottom[r]!)) });
  for (const peer of ["C", "D"] as const) {
    if (!has("A", "B", peer)) continue;
    ratio(`extra CPU per request, ${peer} / B`, extra(peer), extra("B"));
  }
  for (const peer of ["C", "D"] as const) {
    if (!has("B", peer)) continue;
    ratio(
      `req/s, B / ${peer}`,
      byRound("B").map((x) => x.requestsPerSecond),
      byRound(peer).map((x) => x.requestsPerSecond),
    );
  }
  if (has("A", "B", "B0")) {
    ratio("extra CPU per request, B0 / B (the share before OTLP)", extra("B0"), extra("B"));
  }
  if (has("B", "B0")) {
    ratios.push({
      what: "OTLP export per request, B − B0 (µs)",
      value: spread(
        byRound("B").map((x, r) => x.cpuPerRequestUs - byRound("B0")[r]!.cpuPerRequestUs),
      ),
    });
  }
  return { summaries, ratios };
}

const LABELS: Record<Variant, string> = {
  A: "A untraced",
  B: "B this module, OTLP http/protobuf",
  B0: "B0 this module, no-op exporter",
  C: "C OTel JS SDK 2.12, OTLP proto",
  D: "D Deno built-in (OTEL_DENO)",
};

function formatSpread(s: Spread, digits: number, unit = ""): string {
  return `${s.median.toFixed(digits)}${unit} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
}

function formatTable(summary: ReturnType<typeof summarizeRuns>): string {
  const lines = [
    "| variant | req/s | p50 | p99 | CPU per request | extra CPU per request vs A | peak RSS | spans received / sent | other work on the service's core |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const s of summary.summaries) {
    lines.push(
      `| ${LABELS[s.variant]} | ${formatSpread(s.requestsPerSecond, 0)} | ${
        formatSpread(s.p50Ms, 2, " ms")
      } | ${formatSpread(s.p99Ms, 2, " ms")} | ${formatSpread(s.cpuPerRequestUs, 1, " µs")} | ${
        s.extraCpuPerRequestUs === undefined ? "–" : formatSpread(s.extraCpuPerRequestUs, 1, " µs")
      } | ${formatSpread(s.peakRssMB, 0, " MB")} | ${s.spansReceived} / ${s.spansSent} | ${
        formatSpread(s.noisePercent, 0, "%")
      } |`,
    );
  }
  lines.push("", "| within-round ratio | median (min–max) |", "| --- | --- |");
  for (const r of summary.ratios) lines.push(`| ${r.what} | ${formatSpread(r.value, 2)} |`);
  return lines.join("\n");
}

async function preflight(): Promise<number> {
  if (Deno.build.os !== "linux") {
    throw new Error("The service benchmark needs Linux (/proc, taskset)");
  }
  for (const tool of ["wrk", "taskset"]) {
    await output("sh", ["-c", `command -v ${tool}`]).catch(() => {
      throw new Error(
        `The service benchmark needs ${tool} (Debian: apt-get install ${
          tool === "wrk" ? "wrk" : "util-linux"
        })`,
      );
    });
  }
  const cores = Number((await output("nproc", [])).trim());
  if (cores < 2) throw new Error("The service benchmark needs two cores (one for the service)");
  // This runner waits on core 1, with the load, away from the service.
  await output("taskset", ["-a", "-p", "-c", LOAD_CORE, String(Deno.pid)]);
  // Fetch and compile the variants' modules once, outside any measurement.
  await output(Deno.execPath(), ["cache", SERVER, RECEIVER]);
  return Number((await output("getconf", ["CLK_TCK"])).trim());
}

async function machine(): Promise<string> {
  const cpu = await readProc("/proc/cpuinfo");
  const model = /^model name\s*:\s*(.+)$/m.exec(cpu)?.[1] ?? "unknown CPU";
  return `${Deno.build.target}, ${model.trim()}, deno ${Deno.version.deno}, V8 ${Deno.version.v8}`;
}

async function profile(options: Options, ticksPerSecond: number, receiver: Receiver) {
  const dir = "/tmp/service-prof";
  await Deno.mkdir(dir, { recursive: true });
  let port = 18080;
  for (const variant of options.profile!) {
    const run = await runVariant({
      variant,
      round: 0,
      port: port++,
      options,
      receiver,
      ticksPerSecond,
      profileDir: dir,
    });
    const file = `${dir}/${variant}.cpuprofile`;
    console.log(
      `## ${LABELS[variant]}, under the profiler\n\n${run.requestsPerSecond.toFixed(0)} req/s, ${
        run.cpuPerRequestUs.toFixed(2)
      } µs CPU per request measured, ${
        (run.totalCpuSeconds / run.handledRequests * 1e6).toFixed(2)
      } µs from start to stop (${run.handledRequests} requests), spans ${run.spansReceived} / ${run.spansSent}; ${file}\n`,
    );
    const threads = Object.entries(run.threadCpuPerRequestUs).sort((a, b) => b[1] - a[1]);
    console.log(
      `CPU per request by thread, measured: ${
        threads.map(([name, us]) => `${name} ${us.toFixed(2)} µs`).join(", ")
      }\n`,
    );
    const summary = summarize(await readProfile(file), {
      top: options.top,
      requests: run.handledRequests,
    });
    console.log(formatSummary(summary) + "\n");
  }
}

async function main(): Promise<void> {
  const options = parseOptions(Deno.args);
  const ticksPerSecond = await preflight();
  const receiver = await startReceiver();
  try {
    if (options.profile !== undefined) {
      await profile(options, ticksPerSecond, receiver);
      return;
    }
    const started = new Date();
    const runs: Run[] = [];
    let port = 18100;
    for (let round = 0; round < options.rounds; round++) {
      const order = options.variants.map((_, i, all) => all[(i + round) % all.length]!);
      for (const variant of order) {
        // A run that other work on the machine reached is made again; the least noisy is kept.
        let run = await runVariant({
          variant,
          round,
          port: port++,
          options,
          receiver,
          ticksPerSecond,
        });
        for (let attempt = 2; attempt <= options.retries + 1; attempt++) {
          if (run.otherCpuOnServerCore / options.duration * 100 <= options.maxNoise) break;
          const next = await runVariant({
            variant,
            round,
            port: port++,
            options,
            receiver,
            ticksPerSecond,
          });
          if (next.otherCpuOnServerCore < run.otherCpuOnServerCore) run = next;
          run.attempts = attempt;
        }
        runs.push(run);
        console.error(
          `round ${round + 1}/${options.rounds} ${variant.padEnd(2)}: ${
            run.requestsPerSecond.toFixed(0)
          } req/s, p99 ${run.p99Ms.toFixed(2)} ms, ${
            run.cpuPerRequestUs.toFixed(2)
          } µs CPU/request, ${
            (run.peakRssBytes / 2 ** 20).toFixed(0)
          } MB, spans ${run.spansReceived} / ${run.spansSent}, other work on the service's core ${
            run.otherCpuOnServerCore.toFixed(2)
          } s${run.attempts > 1 ? ` (least noisy of ${run.attempts} runs)` : ""}${
            run.wrkErrors > 0 ? `, ${run.wrkErrors} wrk errors` : ""
          }`,
        );
      }
    }
    const summary = summarizeRuns(runs, options.variants, options.rounds, options.duration);
    const lost = runs.filter((run) => run.spansReceived !== run.spansSent);
    const seconds = (Date.now() - started.getTime()) / 1000;
    const report = {
      started: started.toISOString(),
      seconds,
      machine: await machine(),
      options: { ...options, profile: undefined },
      ...summary,
      runs,
    };
    await Deno.writeTextFile(options.out, JSON.stringify(report, null, 2) + "\n");
    console.log(
      `\n${options.rounds} rounds, ${options.warmup} s warm-up + ${options.duration} s measured per run, wrk -t1 -c${options.connections}; ${report.machine}; ${
        seconds.toFixed(0)
      } s in all.\n`,
    );
    console.log(formatTable(summary));
    console.log(`\nJSON: ${options.out}`);
    if (lost.length > 0) {
      console.log(
        `\nSpans lost in ${lost.length} runs: ${
          lost.map((r) => `${r.variant}#${r.round + 1}`).join(", ")
        }`,
      );
      Deno.exitCode = 1;
    }
  } finally {
    await receiver.stop();
  }
}

if (import.meta.main) await main();
