// Start-up: importing mod.ts and building a console provider, against an empty program and the
// OpenTelemetry SDK doing the same, with hyperfine (warm cache: the programs are cached and run
// once before; the commands alternate, as hyperfine runs each in turn when given --runs per
// round). Prints each program's mean and the difference to the empty one, over several rounds.
//
//   deno task bench:startup            # 5 rounds of 30 runs each
//   deno task bench:startup --rounds 3 --runs 20
//
// Needs hyperfine (Debian: apt-get install hyperfine).

const HERE = new URL("./startup/", import.meta.url).pathname;
const PROGRAMS = [
  ["empty", "empty program"],
  ["console", "import mod.ts, build a console provider"],
  ["otel", "OpenTelemetry SDK: BasicTracerProvider + ConsoleSpanExporter"],
] as const;
const TARGET_MS = 8;

function option(name: string, fallback: number): number {
  const at = Deno.args.indexOf(name);
  const value = at >= 0 ? Number(Deno.args[at + 1]) : fallback;
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`Cannot read options: ${name} must be a positive integer`);
  }
  return value;
}

async function run(command: string, args: string[]): Promise<string> {
  const output = await new Deno.Command(command, { args, stderr: "inherit" }).output();
  if (!output.success) throw new Error(`${command} ${args.join(" ")} failed`);
  return new TextDecoder().decode(output.stdout);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const rounds = option("--rounds", 5);
const runs = option("--runs", 30);
const deno = Deno.execPath();
const files = PROGRAMS.map(([name]) => `${HERE}${name}.ts`);
await run(deno, ["cache", ...files]);
const means: number[][] = PROGRAMS.map(() => []);
for (let round = 0; round < rounds; round++) {
  const json = `${await Deno.makeTempFile({ suffix: ".json" })}`;
  // Rotated from round to round, so that no program is always first.
  const order = PROGRAMS.map((_, i) => (i + round) % PROGRAMS.length);
  await run("hyperfine", [
    "-N",
    "--warmup",
    "3",
    "--runs",
    String(runs),
    "--export-json",
    json,
    ...order.map((i) => `${deno} run --allow-read --allow-env ${files[i]}`),
  ]);
  const results = JSON.parse(await Deno.readTextFile(json)).results as { mean: number }[];
  await Deno.remove(json);
  order.forEach((i, k) => means[i]!.push(results[k]!.mean * 1000));
}
const empty = means[0]!;
const lines = [
  "| program | mean (median of rounds) | above the empty program (median of rounds, min–max) |",
  "| --- | --- | --- |",
];
for (let i = 0; i < PROGRAMS.length; i++) {
  const above = means[i]!.map((m, r) => m - empty[r]!);
  lines.push(
    `| ${PROGRAMS[i]![1]} | ${median(means[i]!).toFixed(1)} ms | ${
      i === 0
        ? "–"
        : `${median(above).toFixed(1)} ms (${Math.min(...above).toFixed(1)}–${
          Math.max(...above).toFixed(1)
        })`
    } |`,
  );
}
const ours = median(means[1]!.map((m, r) => m - empty[r]!));
console.log(lines.join("\n"));
console.log(
  `\n${rounds} rounds of ${runs} runs (hyperfine -N, 3 warm-up runs), deno ${Deno.version.deno}. Target: at most ${TARGET_MS} ms above the empty program: ${
    ours <= TARGET_MS ? "met" : "not met"
  }.`,
);
