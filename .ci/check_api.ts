// Checks the public API against .ci/api.txt: for every entry point of deno.json's `exports`,
// the symbols `deno doc --json` lists (name, kind, deprecation) and the members of its classes
// and interfaces. A change of the API is then a change of api.txt, seen in review.
//
//   deno run --allow-read --allow-run=deno .ci/check_api.ts            (check)
//   deno run --allow-read --allow-write=.ci --allow-run=deno .ci/check_api.ts --update

/** What this check reads of `deno doc --json`. */
export interface DocJson {
  readonly nodes: Readonly<Record<string, { readonly symbols?: readonly DocSymbol[] }>>;
}

interface DocSymbol {
  readonly name: string;
  readonly declarations: readonly {
    readonly kind: string;
    readonly jsDoc?: { readonly tags?: readonly { readonly kind: string }[] };
    readonly def?: {
      readonly methods?: readonly { readonly name: string; readonly isStatic?: boolean }[];
      readonly properties?: readonly { readonly name: string; readonly isStatic?: boolean }[];
    };
  }[];
}

/** The API of one entry point, a line per symbol and per member, sorted. */
export function surface(entry: string, doc: DocJson): string[] {
  const lines = new Set<string>();
  for (const node of Object.values(doc.nodes)) {
    for (const symbol of node.symbols ?? []) {
      for (const declaration of symbol.declarations) {
        const deprecated = declaration.jsDoc?.tags?.some((tag) => tag.kind === "deprecated");
        lines.add(
          `${entry} ${symbol.name}: ${declaration.kind}${deprecated ? " (deprecated)" : ""}`,
        );
        if (declaration.kind !== "class" && declaration.kind !== "interface") continue;
        const def = declaration.def ?? {};
        for (const member of [...(def.methods ?? []), ...(def.properties ?? [])]) {
          lines.add(`${entry} ${symbol.name}.${member.isStatic ? "static " : ""}${member.name}`);
        }
      }
    }
  }
  return [...lines].sort();
}

/** The lines only in `expected` (removed) and only in `actual` (added). */
export function compare(
  expected: readonly string[],
  actual: readonly string[],
): { removed: string[]; added: string[] } {
  const before = new Set(expected);
  const after = new Set(actual);
  return {
    removed: expected.filter((line) => !after.has(line)),
    added: actual.filter((line) => !before.has(line)),
  };
}

async function main(): Promise<void> {
  const root = new URL("../", import.meta.url);
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", root)));
  const lines: string[] = [];
  for (const [name, path] of Object.entries(config.exports as Record<string, string>)) {
    const output = await new Deno.Command("deno", {
      args: ["doc", "--json", path],
      cwd: root,
      stderr: "inherit",
    }).output();
    if (!output.success) throw new Error(`deno doc ${path} failed`);
    lines.push(...surface(name, JSON.parse(new TextDecoder().decode(output.stdout))));
  }
  const file = new URL(".ci/api.txt", root);
  if (Deno.args.includes("--update")) {
    await Deno.writeTextFile(file, lines.join("\n") + "\n");
    console.log(`Wrote ${lines.length} lines to .ci/api.txt`);
    return;
  }
  const expected = (await Deno.readTextFile(file)).split("\n").filter((line) => line !== "");
  const { removed, added } = compare(expected, lines);
  if (removed.length === 0 && added.length === 0) {
    console.log(`The public API is .ci/api.txt's (${lines.length} symbols and members)`);
    return;
  }
  for (const line of removed) console.error(`- ${line}`);
  for (const line of added) console.error(`+ ${line}`);
  console.error(
    "The public API differs from .ci/api.txt: if the change is meant, run deno task check:api --update",
  );
  Deno.exit(1);
}

if (import.meta.main) await main();
