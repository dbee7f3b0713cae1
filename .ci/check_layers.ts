// Checks the import graph of the module's own files, as `deno info --json` gives it for every
// entry point of deno.json's `exports`, type-only imports included:
// - no cycle between files;
// - no file imports from a layer above its own (LAYERS, bottom up; a file may import its own
//   layer and those below);
// - every source file is in a layer and is reached from an entry point.
//
//   deno run --allow-read --allow-run=deno .ci/check_layers.ts

/** A layer: its name and its files, as paths from the module's root; `*` matches a name part. */
export interface Layer {
  readonly name: string;
  readonly files: readonly string[];
}

/** The layers, bottom up. A file's own name wins over a pattern that also matches it. */
export const LAYERS: readonly Layer[] = [
  {
    name: "leaves",
    files: [
      "ids.ts",
      "context.ts",
      "tags.ts",
      "resource.ts",
      "limits.ts",
      "kind.ts",
      "event.ts",
      "_*.ts",
    ],
  },
  {
    name: "model",
    files: [
      "links.ts",
      "activity.ts",
      "_activity_record.ts",
      "_is_activity.ts",
      "log_context.ts",
      "source.ts",
      "_start.ts",
    ],
  },
  { name: "contracts", files: ["processor.ts"] },
  {
    name: "parts",
    files: [
      "exporter.ts",
      "sampler.ts",
      "batch.ts",
      "batch_options.ts",
      "_batch_timers.ts",
      "propagation.ts",
      "baggage.ts",
      "propagator.ts",
      "b3.ts",
      "_http_tags.ts",
      "_http_server.ts",
      "otlp/*.ts",
      "graph/*.ts",
      "otel/*.ts",
    ],
  },
  {
    name: "wiring",
    files: [
      "provider.ts",
      "builder.ts",
      "configure.ts",
      "_lazy_otlp.ts",
      "_env_config.ts",
      "_deferred_batch.ts",
    ],
  },
  // Programs built from the parts: the dashboard serves graph/ over otlp/'s decoder.
  { name: "applications", files: ["dashboard/*.ts"] },
  {
    name: "entry points",
    files: [
      "mod.ts",
      "http.ts",
      "auto.ts",
      "otlp/mod.ts",
      "graph/mod.ts",
      "dashboard/mod.ts",
      "otel/mod.ts",
    ],
  },
];

/** One module of `deno info --json`, as far as this check reads it. */
export interface InfoModule {
  readonly specifier: string;
  readonly dependencies?: readonly {
    readonly code?: { readonly specifier?: string };
    readonly type?: { readonly specifier?: string };
  }[];
}

/** An import between two files of the module. */
export interface Edge {
  readonly from: string;
  readonly to: string;
  readonly typeOnly: boolean;
}

/** The imports between the files under `root` (a `file://` URL ending with `/`). */
export function localEdges(modules: readonly InfoModule[], root: string): Edge[] {
  const edges = new Map<string, Edge>();
  for (const module of modules) {
    if (!module.specifier.startsWith(root)) continue;
    const from = module.specifier.slice(root.length);
    for (const dependency of module.dependencies ?? []) {
      for (
        const [target, typeOnly] of [[dependency.code, false], [dependency.type, true]] as const
      ) {
        const specifier = target?.specifier;
        if (specifier === undefined || !specifier.startsWith(root)) continue;
        const to = specifier.slice(root.length);
        const key = `${from} ${to}`;
        // An import that is also a value import is not type-only.
        if (!edges.has(key) || !typeOnly) edges.set(key, { from, to, typeOnly });
      }
    }
  }
  return [...edges.values()];
}

function matches(pattern: string, file: string): boolean {
  const expression = pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replaceAll("*", "[^/]*");
  return new RegExp(`^${expression}$`).test(file);
}

/** The rank of a file's layer (0 at the bottom), or -1 when no layer names it. */
export function rankOf(file: string, layers: readonly Layer[]): number {
  const exact = layers.findIndex((layer) => layer.files.includes(file));
  if (exact >= 0) return exact;
  return layers.findIndex((layer) => layer.files.some((pattern) => matches(pattern, file)));
}

/** The cycles of a graph, one per strongly connected component, each as a closed path. */
export function findCycles(edges: readonly Edge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const { from, to } of edges) {
    if (!next.has(from)) next.set(from, []);
    next.get(from)!.push(to);
  }
  const cycles: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (file: string): void => {
    state.set(file, "open");
    path.push(file);
    for (const to of next.get(file) ?? []) {
      if (state.get(to) === "open") cycles.push([...path.slice(path.indexOf(to)), to]);
      else if (!state.has(to)) visit(to);
    }
    path.pop();
    state.set(file, "done");
  };
  for (const file of [...next.keys()].sort()) if (!state.has(file)) visit(file);
  return cycles;
}

/** Everything wrong with the graph; an empty list when the layout holds. */
export function checkLayout(
  edges: readonly Edge[],
  files: readonly string[],
  entryPoints: readonly string[],
  layers: readonly Layer[] = LAYERS,
): string[] {
  const problems: string[] = [];
  for (const cycle of findCycles(edges)) problems.push(`cycle: ${cycle.join(" → ")}`);
  for (const file of files) {
    if (rankOf(file, layers) < 0) problems.push(`${file}: in no layer (add it to LAYERS)`);
  }
  for (const { from, to, typeOnly } of edges) {
    const [a, b] = [rankOf(from, layers), rankOf(to, layers)];
    if (a >= 0 && b > a) {
      problems.push(
        `${from} (${layers[a]!.name}) imports ${typeOnly ? "types of " : ""}${to} (${
          layers[b]!.name
        }), a layer above it`,
      );
    }
  }
  const reached = new Set([...entryPoints, ...edges.map((edge) => edge.to)]);
  for (const file of files) {
    if (!reached.has(file)) problems.push(`${file}: no entry point imports it`);
  }
  return problems;
}

const SKIPPED = new Set(["tests", "bench", "examples", "docs", "node_modules"]);

/** The module's source files (`.ts` outside tests, benchmarks, examples and dot folders). */
function sourceFiles(dir: URL, prefix = ""): string[] {
  const out: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    if (entry.name.startsWith(".") || SKIPPED.has(entry.name)) continue;
    if (entry.isDirectory) {
      out.push(...sourceFiles(new URL(`${entry.name}/`, dir), `${prefix}${entry.name}/`));
    } else if (entry.name.endsWith(".ts")) out.push(`${prefix}${entry.name}`);
  }
  return out.sort();
}

async function main(): Promise<void> {
  const root = new URL("../", import.meta.url);
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", root)));
  const entryPoints = Object.values(config.exports as Record<string, string>)
    .map((path) => path.replace(/^\.\//, ""));
  const modules: InfoModule[] = [];
  for (const entry of entryPoints) {
    const output = await new Deno.Command("deno", {
      args: ["info", "--json", entry],
      cwd: root,
      stderr: "inherit",
    }).output();
    if (!output.success) throw new Error(`deno info ${entry} failed`);
    modules.push(...JSON.parse(new TextDecoder().decode(output.stdout)).modules);
  }
  const edges = localEdges(modules, root.href);
  const files = sourceFiles(root);
  const problems = checkLayout(edges, files, entryPoints);
  const typeOnly = edges.filter((edge) => edge.typeOnly).length;
  console.log(
    `${files.length} files, ${edges.length} imports between them (${typeOnly} type-only), ` +
      `from ${entryPoints.join(", ")}`,
  );
  for (const [rank, layer] of LAYERS.entries()) {
    const own = files.filter((file) => rankOf(file, LAYERS) === rank);
    console.log(`  ${layer.name}: ${own.join(" ")}`);
  }
  if (problems.length === 0) {
    console.log("No cycle; every import goes to the same layer or one below.");
    return;
  }
  for (const problem of problems) console.error(problem);
  Deno.exit(1);
}

if (import.meta.main) await main();
