import assert from "node:assert/strict";
import {
  checkLayout,
  type Edge,
  findCycles,
  type InfoModule,
  type Layer,
  LAYERS,
  localEdges,
  rankOf,
} from "../../.ci/check_layers.ts";

const ROOT = "file:///repo/";

/** `deno info --json` modules: code imports and type-only imports between files. */
function modules(imports: Record<string, { code?: string[]; type?: string[] }>): InfoModule[] {
  return Object.entries(imports).map(([file, { code = [], type = [] }]) => ({
    specifier: ROOT + file,
    dependencies: [
      ...code.map((to) => ({ code: { specifier: ROOT + to } })),
      ...type.map((to) => ({ type: { specifier: ROOT + to } })),
    ],
  }));
}

const LAYERS_OF_TEST: readonly Layer[] = [
  { name: "leaves", files: ["ids.ts", "_*.ts"] },
  { name: "model", files: ["activity.ts", "source.ts"] },
  { name: "entry points", files: ["mod.ts"] },
];

Deno.test("localEdges() keeps the imports between the module's files, type-only ones marked", () => {
  const info: InfoModule[] = [
    ...modules({ "activity.ts": { code: ["ids.ts"], type: ["source.ts"] } }),
    {
      specifier: ROOT + "source.ts",
      dependencies: [
        { code: { specifier: "npm:@opentelemetry/api@1" } },
        // The same file imported for a value and for types: a value import.
        { code: { specifier: ROOT + "ids.ts" }, type: { specifier: ROOT + "ids.ts" } },
      ],
    },
    { specifier: "https://example.com/outside.ts", dependencies: [] },
  ];
  assert.deepEqual(localEdges(info, ROOT), [
    { from: "activity.ts", to: "ids.ts", typeOnly: false },
    { from: "activity.ts", to: "source.ts", typeOnly: true },
    { from: "source.ts", to: "ids.ts", typeOnly: false },
  ]);
});

Deno.test("checkLayout() fails for a cycle, type-only imports included", () => {
  const edges = localEdges(
    modules({
      "mod.ts": { code: ["activity.ts"] },
      "activity.ts": { code: ["ids.ts"], type: ["source.ts"] },
      "source.ts": { code: ["activity.ts"] },
    }),
    ROOT,
  );
  assert.deepEqual(findCycles(edges), [["activity.ts", "source.ts", "activity.ts"]]);
  assert.deepEqual(
    checkLayout(
      edges,
      ["activity.ts", "ids.ts", "mod.ts", "source.ts"],
      ["mod.ts"],
      LAYERS_OF_TEST,
    ),
    ["cycle: activity.ts → source.ts → activity.ts"],
  );
});

Deno.test("checkLayout() fails for an import from a layer above, and for a file in no layer or unreached", () => {
  const edges: Edge[] = [
    { from: "mod.ts", to: "activity.ts", typeOnly: false },
    { from: "activity.ts", to: "ids.ts", typeOnly: false },
    { from: "ids.ts", to: "source.ts", typeOnly: true },
    { from: "mod.ts", to: "graph.ts", typeOnly: false },
  ];
  const files = ["activity.ts", "graph.ts", "ids.ts", "mod.ts", "source.ts", "_orphan.ts"];
  assert.deepEqual(checkLayout(edges, files, ["mod.ts"], LAYERS_OF_TEST), [
    "graph.ts: in no layer (add it to LAYERS)",
    "ids.ts (leaves) imports types of source.ts (model), a layer above it",
    "_orphan.ts: no entry point imports it",
  ]);
});

Deno.test("checkLayout() passes a graph whose imports go down or sideways", () => {
  const edges: Edge[] = [
    { from: "mod.ts", to: "source.ts", typeOnly: false },
    { from: "source.ts", to: "activity.ts", typeOnly: false },
    { from: "activity.ts", to: "_time.ts", typeOnly: true },
    { from: "_time.ts", to: "ids.ts", typeOnly: false },
  ];
  const files = ["_time.ts", "activity.ts", "ids.ts", "mod.ts", "source.ts"];
  assert.deepEqual(checkLayout(edges, files, ["mod.ts"], LAYERS_OF_TEST), []);
});

Deno.test("rankOf() takes a file's own name over a pattern that also matches it", () => {
  assert.equal(LAYERS[rankOf("_lazy_otlp.ts", LAYERS)]?.name, "wiring");
  assert.equal(LAYERS[rankOf("_time.ts", LAYERS)]?.name, "leaves");
  assert.equal(LAYERS[rankOf("otlp/mod.ts", LAYERS)]?.name, "entry points");
  assert.equal(LAYERS[rankOf("otlp/_config.ts", LAYERS)]?.name, "parts");
  assert.equal(rankOf("elsewhere/file.ts", LAYERS), -1);
});

Deno.test("LAYERS puts the dashboard above the parts it is built from, below its entry point", () => {
  assert.equal(LAYERS[rankOf("dashboard/_ui.ts", LAYERS)]?.name, "applications");
  assert.equal(LAYERS[rankOf("dashboard/mod.ts", LAYERS)]?.name, "entry points");
  assert.equal(LAYERS[rankOf("otlp/_decode_proto.ts", LAYERS)]?.name, "parts");
  const edges = localEdges(
    modules({
      "dashboard/_ingest.ts": { code: ["otlp/_decode_proto.ts"] },
      "dashboard/_ui.ts": { code: ["graph/mod.ts"] },
      "otlp/_decode_proto.ts": { type: ["dashboard/_store.ts"] },
    }),
    ROOT,
  );
  assert.deepEqual(
    checkLayout(edges, [], ["dashboard/mod.ts", "graph/mod.ts"]),
    [
      "dashboard/_ui.ts (applications) imports graph/mod.ts (entry points), a layer above it",
      "otlp/_decode_proto.ts (parts) imports types of dashboard/_store.ts (applications), a layer above it",
    ],
  );
});
