// Bundling: what a program that uses this module ships, against the OpenTelemetry SDK, bundled by
// esbuild (ESM, minified, code splitting; `npm:esbuild`, for this benchmark only). The program
// builds a provider with an OTLP exporter: the OTLP code is loaded by a dynamic import, so it
// must land in a chunk of its own, out of the chunk every program loads. Prints each chunk's
// size and gzip size, and checks that the core chunk holds no OTLP code.
//
//   deno task bench:bundle
//
// The peer (sdk-trace-base with BatchSpanProcessor, and exporter-trace-otlp-proto, the versions
// the other benchmarks use) is installed into a temporary node_modules by `deno install` from
// Deno's cache, and bundled for the browser platform, as ours is.

import * as esbuild from "npm:esbuild@0.25.12";

const ROOT = new URL("../", import.meta.url).pathname;

interface Chunk {
  file: string;
  bytes: number;
  gzip: number;
  text: string;
}

async function gzipSize(data: Uint8Array<ArrayBuffer>): Promise<number> {
  const stream = new Blob([data]).stream().pipeThrough(new CompressionStream("gzip"));
  return (await new Response(stream).arrayBuffer()).byteLength;
}

async function bundle(dir: string, entry: string, splitting: boolean): Promise<Chunk[]> {
  const result = await esbuild.build({
    absWorkingDir: dir,
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    minify: true,
    splitting,
    platform: "browser",
    target: "es2022",
    write: false,
    outdir: "out",
    logLevel: "error",
  });
  const chunks: Chunk[] = [];
  for (const file of result.outputFiles) {
    chunks.push({
      file: file.path.slice(file.path.lastIndexOf("/") + 1),
      bytes: file.contents.byteLength,
      gzip: await gzipSize(file.contents as Uint8Array<ArrayBuffer>),
      text: file.text,
    });
  }
  return chunks;
}

async function ours(): Promise<{ core: Chunk[]; otlp: Chunk[] }> {
  const dir = await Deno.makeTempDir();
  const entry = `${dir}/app.ts`;
  await Deno.writeTextFile(
    entry,
    `import { ActivitySource, createTracerProviderBuilder } from ${JSON.stringify(`${ROOT}mod.ts`)};
const provider = createTracerProviderBuilder().addSource("App").addOtlpExporter().build();
new ActivitySource("App").startActivity("Work")?.stop();
await provider.shutdown();
`,
  );
  const chunks = await bundle(dir, entry, true);
  await Deno.remove(dir, { recursive: true });
  const entryChunk = chunks.find((c) => c.file.startsWith("app"))!;
  // The core: the program's chunk and the chunks it imports statically (code it shares with
  // the OTLP chunk lands in one of those).
  const core = [
    entryChunk,
    ...chunks.filter((c) =>
      entryChunk.text.includes(`from"./${c.file}"`) ||
      entryChunk.text.includes(`import"./${c.file}"`)
    ),
  ];
  const otlp = chunks.filter((c) => !core.includes(c));
  if (!otlp.some((c) => c.text.includes("v1/traces"))) {
    throw new Error("Cannot find the OTLP code in a chunk of its own");
  }
  return { core, otlp };
}

async function install(dir: string): Promise<void> {
  await Deno.writeTextFile(
    `${dir}/package.json`,
    JSON.stringify({
      dependencies: {
        "@opentelemetry/api": "1.9.1",
        "@opentelemetry/sdk-trace-base": "2.12.1",
        "@opentelemetry/exporter-trace-otlp-proto": "0.223.1",
      },
    }),
  );
  await Deno.writeTextFile(`${dir}/deno.json`, JSON.stringify({ nodeModulesDir: "auto" }));
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["install", "--quiet"],
    cwd: dir,
    stdout: "null",
    stderr: "inherit",
  }).output();
  if (!output.success) throw new Error("Cannot install the OpenTelemetry packages");
}

async function theirs(): Promise<{ core: Chunk[]; withOtlp: Chunk[] }> {
  const dir = await Deno.makeTempDir();
  await install(dir);
  await Deno.writeTextFile(
    `${dir}/core.js`,
    `import { BasicTracerProvider, BatchSpanProcessor, ConsoleSpanExporter } from "@opentelemetry/sdk-trace-base";
const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(new ConsoleSpanExporter())] });
provider.getTracer("App").startSpan("Work").end();
await provider.shutdown();
`,
  );
  await Deno.writeTextFile(
    `${dir}/otlp.js`,
    `import { BasicTracerProvider, BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())] });
provider.getTracer("App").startSpan("Work").end();
await provider.shutdown();
`,
  );
  const core = await bundle(dir, "core.js", true);
  const withOtlp = await bundle(dir, "otlp.js", true);
  await Deno.remove(dir, { recursive: true });
  return { core, withOtlp };
}

const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
const sum = (chunks: Chunk[], key: "bytes" | "gzip") => chunks.reduce((s, c) => s + c[key], 0);

try {
  const a = await ours();
  const b = await theirs();
  const coreHasOtlp = a.core.some((c) => c.text.includes("v1/traces"));
  const rows = [
    "| bundle (esbuild, ESM, minified, code splitting) | minified | gzip |",
    "| --- | --- | --- |",
    `| this module: core (${a.core.map((c) => c.file).join(" + ")}) | ${
      kb(sum(a.core, "bytes"))
    } | ${kb(sum(a.core, "gzip"))} |`,
    `| this module: OTLP, loaded by addOtlpExporter (${a.otlp.map((c) => c.file).join(" + ")}) | ${
      kb(sum(a.otlp, "bytes"))
    } | ${kb(sum(a.otlp, "gzip"))} |`,
    `| OpenTelemetry SDK: sdk-trace-base, console exporter | ${kb(sum(b.core, "bytes"))} | ${
      kb(sum(b.core, "gzip"))
    } |`,
    `| OpenTelemetry SDK: sdk-trace-base + exporter-trace-otlp-proto | ${
      kb(sum(b.withOtlp, "bytes"))
    } | ${kb(sum(b.withOtlp, "gzip"))} |`,
  ];
  console.log(rows.join("\n"));
  console.log(
    `\nesbuild ${esbuild.version}, platform browser, target es2022. The core chunk holds OTLP code: ${
      coreHasOtlp ? "yes" : "no"
    }.`,
  );
  if (coreHasOtlp) Deno.exitCode = 1;
} finally {
  await esbuild.stop();
}
