import assert from "node:assert/strict";
import { compare, type DocJson, surface } from "../../.ci/check_api.ts";

const DOC: DocJson = {
  nodes: {
    "file:///repo/mod.ts": {
      symbols: [
        {
          name: "Activity",
          declarations: [{
            kind: "class",
            def: {
              methods: [{ name: "run", isStatic: true }, { name: "stop" }],
              properties: [{ name: "traceId" }],
            },
          }],
        },
        {
          name: "FetchFunction",
          declarations: [{ kind: "typeAlias", jsDoc: { tags: [{ kind: "deprecated" }] } }],
        },
        { name: "TagList", declarations: [{ kind: "typeAlias" }] },
      ],
    },
  },
};

Deno.test("surface() lists each symbol with its kind, and the members of classes", () => {
  assert.deepEqual(surface(".", DOC), [
    ". Activity.static run",
    ". Activity.stop",
    ". Activity.traceId",
    ". Activity: class",
    ". FetchFunction: typeAlias (deprecated)",
    ". TagList: typeAlias",
  ]);
});

Deno.test("compare() tells what an API lost and gained", () => {
  const before = surface(".", DOC);
  const after = [...before.filter((line) => line !== ". TagList: typeAlias"), ". Tags: typeAlias"];
  assert.deepEqual(compare(before, after), {
    removed: [". TagList: typeAlias"],
    added: [". Tags: typeAlias"],
  });
  assert.deepEqual(compare(before, before), { removed: [], added: [] });
});
