// The whole benchmark suite, as `deno task bench` runs it: each benchmark file in a process of
// its own (row 8 with OTEL_DENO=true), then the memory script, then a markdown table of medians
// and ratios to the peer, with each target marked met or not.
//
//   deno run --allow-env --allow-run bench/run.ts
//
// How a file is measured (`run.ts --measure file`, in a process with --expose-gc): the
// benchmarks of a group run side by side in rounds; each round times one batch of every
// benchmark of the group (about 5 ms each, order rotating), so a noisy moment of the machine hits
// them alike. A benchmark's figure is the median over the rounds of its batch's time per
// iteration. Each benchmark has a timing loop of its own. Between batches, outside the timing,
// the timers and promise callbacks a batch queued run (SimpleSpanProcessor's promises and
// InMemorySpanExporter's setTimeout: in the peer's favour) and the garbage is collected.
//
// `deno bench --allow-env bench/` runs the same benchmarks under Deno's own runner (avg, p75).

import { type BenchDefinition, registered } from "./_common.ts";

const ROUNDS = 101;
const BATCH_MS = 5;
const WARMUP_MS = 300;

interface Measured {
  group: string;
  name: string;
  baseline: boolean;
  /** Median time per iteration, in nanoseconds. */
  median: number;
  p25: number;
  p75: number;
}

function percentile(sorted: number[], p: number): number {
  const at = (sorted.length - 1) * p;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

type Loop = (fn: () => void, n: number) => number;

/**
 * Makes a timing loop of its own for one benchmark: a call site that sees only that benchmark's
 * function, so the engine can inline it, as it would in the caller's own code. A loop shared by
 * all benchmarks would add an indirect call to each iteration of every side.
 */
function makeLoop(): Loop {
  return new Function(
    "fn",
    "n",
    "const start = performance.now(); for (let i = 0; i < n; i++) fn(); return performance.now() - start;",
  ) as Loop;
}

const collectGarbage = (globalThis as { gc?: () => void }).gc;

/**
 * Lets the timers and promise callbacks queued by the last batch run, then collects garbage,
 * so that no benchmark pays for garbage another one left; each still pays for the collections
 * its own batch causes.
 */
async function settle(collect = true): Promise<void> {
  await new Promise<void>((resolve) => setTimeout(resolve, 0));
  if (collect) collectGarbage?.();
}

async function measureGroup(benches: BenchDefinition[]): Promise<Measured[]> {
  // The same for every benchmark of a group, so that both sides are treated alike.
  const collect = benches.every((b) => b.collect !== false);
  const sizes: number[] = [];
  const loops = benches.map(makeLoop);
  for (let i = 0; i < benches.length; i++) {
    const fn = benches[i]!.fn;
    const loop = loops[i]!;
    let n = 1;
    while (loop(fn, n) < BATCH_MS) n *= 2;
    const until = performance.now() + WARMUP_MS;
    while (performance.now() < until) loop(fn, n);
    await settle(collect);
    sizes.push(n);
  }
  const samples: number[][] = benches.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < benches.length; k++) {
      const i = (round + k) % benches.length;
      const ms = loops[i]!(benches[i]!.fn, sizes[i]!);
      samples[i]!.push((ms * 1e6) / sizes[i]!);
      await settle(collect);
    }
  }
  return benches.map((b, i) => {
    const sorted = samples[i]!.sort((x, y) => x - y);
    return {
      group: b.group,
      name: b.name,
      baseline: b.baseline === true,
      median: percentile(sorted, 0.5),
      p25: percentile(sorted, 0.25),
      p75: percentile(sorted, 0.75),
    };
  });
}

// Static specifiers, so loading a file needs no read permission.
const FILES: Record<string, () => Promise<unknown>> = {
  "bench/recorded_bench.ts": () => import("./recorded_bench.ts"),
  "bench/active_bench.ts": () => import("./active_bench.ts"),
  "bench/link_bench.ts": () => import("./link_bench.ts"),
  "bench/no_listener_bench.ts": () => import("./no_listener_bench.ts"),
  "bench/ids_bench.ts": () => import("./ids_bench.ts"),
  "bench/console_bench.ts": () => import("./console_bench.ts"),
  "bench/deno_otel_bench.ts": () => import("./deno_otel_bench.ts"),
  "bench/otel_bridge_bench.ts": () => import("./otel_bridge_bench.ts"),
  "bench/encode_bench.ts": () => import("./encode_bench.ts"),
};

async function measureFile(file: string): Promise<void> {
  const load = FILES[file];
  if (load === undefined) throw new TypeError(`Cannot measure ${file}: not a benchmark file`);
  await load();
  const groups = new Map<string, BenchDefinition[]>();
  for (const b of registered) {
    if (b.ignore === true) continue;
    groups.set(b.group, [...(groups.get(b.group) ?? []), b]);
  }
  const out: Measured[] = [];
  for (const benches of groups.values()) out.push(...await measureGroup(benches));
  console.log(JSON.stringify(out));
}

// ---- the driver ----

interface Peer {
  /** The peer benchmark's exact name. */
  name: string;
  /** What the table calls it. */
  label: string;
  /** The least ratio peer/ours the target asks for; `undefined` for information only. */
  minRatio?: number;
}

interface Row {
  row: string;
  what: string;
  file: string;
  /** The group of the file the row reads, when the file has several. */
  group?: string;
  env?: Record<string, string>;
  peers: Peer[];
  /** Most nanoseconds per call for ours, if the row has such a target. */
  maxNs?: number;
}

const ROWS: Row[] = [
  {
    row: "1",
    what: "recorded start, tag, stop",
    file: "bench/recorded_bench.ts",
    peers: [
      {
        name: "opentelemetry: startSpan, setAttribute, end",
        label: "SimpleSpanProcessor + InMemorySpanExporter",
        minRatio: 10,
      },
      {
        name: "opentelemetry (information): synchronous exporter, no timer",
        label: "(information) SimpleSpanProcessor + synchronous exporter",
      },
    ],
  },
  {
    row: "2",
    what: "active + child",
    file: "bench/active_bench.ts",
    peers: [{
      name: "opentelemetry: startActiveSpan + child",
      label: "startActiveSpan, AsyncLocalStorageContextManager",
      minRatio: 5,
    }],
  },
  {
    row: "3",
    what: "start with a link",
    file: "bench/link_bench.ts",
    peers: [{
      name: "opentelemetry: startSpan with one link, end",
      label: "startSpan with one link",
      minRatio: 10,
    }],
  },
  {
    row: "4",
    what: "nothing listening",
    file: "bench/no_listener_bench.ts",
    maxNs: 25,
    peers: [
      {
        name: "opentelemetry: startSpan, AlwaysOffSampler",
        label: "AlwaysOffSampler",
        minRatio: 50,
      },
      {
        name: "opentelemetry: startSpan, API no-op tracer",
        label: "API no-op tracer",
        minRatio: 2,
      },
    ],
  },
  {
    row: "5",
    what: "ids (trace + span)",
    file: "bench/ids_bench.ts",
    peers: [{
      name: "opentelemetry: RandomIdGenerator trace + span id",
      label: "RandomIdGenerator (Math.random)",
      minRatio: 3,
    }],
  },
  {
    row: "6",
    what: "console record",
    file: "bench/console_bench.ts",
    peers: [{
      name: "opentelemetry: ConsoleSpanExporter, full span",
      label: "ConsoleSpanExporter, console captured",
      minRatio: 5,
    }],
  },
  {
    row: "8",
    what: "start, tag, stop vs Deno built-in",
    file: "bench/deno_otel_bench.ts",
    env: { OTEL_DENO: "true" },
    peers: [{
      name: "deno OTEL_DENO=true: startSpan, setAttribute, end",
      label: "Deno tracer, OTEL_DENO=true",
      minRatio: 2,
    }],
  },
  {
    row: "9",
    what: "OTLP encoding, 512 spans, protobuf",
    file: "bench/encode_bench.ts",
    group: "otlp protobuf",
    peers: [{
      name: "opentelemetry: ProtobufTraceSerializer, 512 spans",
      label: "otlp-transformer ProtobufTraceSerializer",
      minRatio: 10,
    }],
  },
  {
    row: "10",
    what: "OTLP encoding, 512 spans, JSON",
    file: "bench/encode_bench.ts",
    group: "otlp json",
    peers: [{
      name: "opentelemetry: JsonTraceSerializer, 512 spans",
      label: "otlp-transformer JsonTraceSerializer",
      minRatio: 3,
    }],
  },
  {
    row: "11",
    what: "span through @opentelemetry/api (registerOpenTelemetry)",
    file: "bench/otel_bridge_bench.ts",
    peers: [{
      name: "opentelemetry sdk: api startSpan, setAttribute, end",
      label: "OpenTelemetry JS SDK (SimpleSpanProcessor + InMemorySpanExporter)",
      minRatio: 5,
    }],
  },
];

async function run(
  command: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<string> {
  const output = await new Deno.Command(command, {
    args,
    env,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!output.success) throw new Error(`${command} ${args.join(" ")} failed`);
  return new TextDecoder().decode(output.stdout);
}

function ns(value: number): string {
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)} ms`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(2)} µs`;
  return `${value.toFixed(1)} ns`;
}

async function drive(): Promise<void> {
  const started = performance.now();
  const deno = Deno.execPath();
  const lines: string[] = [
    "| row | what | ours (median) | peer | peer (median) | ratio peer/ours | target | met |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  let allMet = true;
  const measuredRows = new Map<string, string[]>();
  const byFile = new Map<string, Promise<Measured[]>>();
  for (const row of ROWS) {
    const out: string[] = [];
    measuredRows.set(row.row, out);
    // A file with several rows (groups) is measured once.
    let file = byFile.get(row.file);
    if (file === undefined) {
      file = run(deno, [
        "run",
        "--allow-env",
        "--allow-read=.",
        "--v8-flags=--expose-gc",
        "bench/run.ts",
        "--measure",
        row.file,
      ], row.env).then((text) => JSON.parse(text) as Measured[]);
      byFile.set(row.file, file);
    }
    const measured = (await file).filter((m) => row.group === undefined || m.group === row.group);
    const ours = measured.find((m) => m.baseline);
    if (ours === undefined) {
      out.push(`| ${row.row} | ${row.what} | not measured (peer unavailable) | | | | | **no** |`);
      allMet = false;
      continue;
    }
    for (const peer of row.peers) {
      const theirs = measured.find((m) => m.name === peer.name);
      if (theirs === undefined) throw new Error(`No benchmark "${peer.name}" in ${row.file}`);
      const ratio = theirs.median / ours.median;
      let target = "(none)";
      let met = "";
      if (peer.minRatio !== undefined) {
        let ok = ratio >= peer.minRatio;
        target = `>= ${peer.minRatio}`;
        if (row.maxNs !== undefined) {
          ok &&= ours.median <= row.maxNs;
          target += `, ours <= ${row.maxNs} ns`;
        }
        allMet &&= ok;
        met = ok ? "yes" : "**no**";
      }
      out.push(
        `| ${row.row} | ${row.what} | ${ns(ours.median)} | ${peer.label} | ${ns(theirs.median)} | ${
          ratio.toFixed(1)
        } | ${target} | ${met} |`,
      );
    }
  }
  const memory = JSON.parse(
    await run(deno, ["run", "--allow-env", "--v8-flags=--expose-gc", "bench/memory.ts", "--json"]),
  ) as { count: number; activityBytes: number; readableSpanBytes: number; ratio: number };
  const memoryMet = memory.ratio >= 3;
  allMet &&= memoryMet;
  measuredRows.set("7", [
    `| 7 | retained bytes per finished activity (of ${memory.count}) | ${memory.activityBytes} B | finished ReadableSpan | ${memory.readableSpanBytes} B | ${
      memory.ratio.toFixed(2)
    } | >= 3 (ours <= 1/3) | ${memoryMet ? "yes" : "**no**"} |`,
  ]);
  for (const key of [...measuredRows.keys()].sort((a, b) => Number(a) - Number(b))) {
    lines.push(...measuredRows.get(key)!);
  }

  let cpu = "unknown CPU";
  try {
    const text = await run("grep", ["-m1", "model name", "/proc/cpuinfo"]);
    cpu = text.replace(/^model name\s*:\s*/, "").trim() || cpu;
  } catch {
    // No grep or no /proc: leave it unknown.
  }
  console.log(lines.join("\n"));
  console.log();
  console.log(
    `Machine: ${navigator.hardwareConcurrency} cores (nproc), ${cpu}; deno ${Deno.version.deno}, V8 ${Deno.version.v8}, TypeScript ${Deno.version.typescript}.`,
  );
  console.log(
    `Medians over ${ROUNDS} rounds of ~${BATCH_MS} ms batches, side by side; suite took ${
      ((performance.now() - started) / 1000).toFixed(0)
    } s. All targets met: ${allMet ? "yes" : "no"}.`,
  );
}

if (Deno.args[0] === "--measure" && Deno.args[1] !== undefined) {
  await measureFile(Deno.args[1]);
} else {
  await drive();
}
