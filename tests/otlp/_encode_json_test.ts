// The OTLP/JSON text writer against the reference it replaced (the request as an object tree,
// then JSON.stringify): the same bytes for every kind of field and value.

import assert from "node:assert/strict";
import {
  Activity,
  ActivityContext,
  ActivityLink,
  ActivitySource,
  createTracerProviderBuilder,
  InMemoryExporter,
  Resource,
} from "../../mod.ts";
import { encodeJson } from "../../otlp/_encode_json.ts";
import { resourceTags } from "../../otlp/_values.ts";
import { referenceJson } from "./_json_reference.ts";
import { variedActivities } from "./_varied.ts";

const text = new TextDecoder();

function same(activities: readonly Activity[], resource: Resource | undefined): void {
  const tags = resourceTags(resource, "unknown_service");
  const ours = text.decode(encodeJson(activities, tags));
  assert.equal(ours, text.decode(referenceJson(activities, tags)));
  JSON.parse(ours);
}

const cycle: Record<string, unknown> = { name: "loop" };
cycle.self = cycle;

// Values of every kind, numbers at the edges of their encodings, and text that needs escaping.
const VALUES: [string, unknown][] = [
  ["s", "plain"],
  ["s.escape", 'quote " backslash \\ newline \n tab \t nul \0 del \x7f'],
  ["s.unicode", "naïve ☃ 🎉 \u2028 \u2029"],
  ["s.lone", "lone \ud800 surrogate \udfff"],
  ["s.empty", ""],
  ["i.zero", 0],
  ["i.negzero", -0],
  ["i.neg", -7],
  ["i.safe", Number.MAX_SAFE_INTEGER],
  ["i.big", 2 ** 60 + 256],
  ["i.bigneg", -(2 ** 62) - 1024],
  ["i.edge", -(2 ** 63)],
  ["d.edge", 2 ** 63],
  ["d", 1.5],
  ["d.tiny", 5e-324],
  ["d.huge", 1e21],
  ["d.nan", NaN],
  ["d.inf", Infinity],
  ["d.neginf", -Infinity],
  ["b", true],
  ["b.false", false],
  ["bigint", 2n ** 62n],
  ["bigint.huge", 2n ** 64n],
  ["arr", [1, "x", null, true, 2.5, [NaN]]],
  ["obj", { a: 1, 'q"k': { c: "d" } }],
  ["map", new Map<unknown, unknown>([["k", [true]], [7, "seven"]])],
  ["bytes", new Uint8Array([0, 1, 0x7f, 0xff])],
  ["date", new Date(0)],
  ["cycle", cycle],
  ["null", null],
  ["undefined", undefined],
];

Deno.test("encodeJson() writes the same bytes as JSON.stringify of the request tree", () => {
  const memory = new InMemoryExporter();
  const resource = new Resource({ "service.name": 'svc "q"', "host.cores": 8, tiny: 0.1 });
  using _provider = createTracerProviderBuilder().addSource("*").setResource(resource)
    .setLimits({ tagCount: 64, eventCount: 2, linkCount: 2 }).addInMemoryExporter(memory)
    .build();
  const tagged = new ActivitySource("Scoped \u00e9", { version: "1\n2", tags: { team: "a" } });
  const bare = new ActivitySource("Bare");
  const remote = ActivityContext.parse(
    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    'k="v\\x",other=1',
  );
  const server = tagged.startActivity("name \u0001 \ud83d", {
    kind: "server",
    parent: remote,
    links: [new ActivityLink(remote, { why: "batch", n: 2 }), new ActivityLink(remote)],
  })!;
  for (const [key, value] of VALUES) server.addTag(key, value as never);
  server.addEvent("", { tags: { i: 3 } });
  server.addEvent('e "2"');
  server.addEvent("dropped");
  server.addLink(new ActivityLink(remote));
  server.setStatus("error", 'failed "badly"');
  const child = Activity.run(server, () => bare.startActivity("", { kind: "client" })!);
  child.setStatus("ok");
  child.stop();
  bare.startActivity("root", { root: true })?.stop();
  server.stop();
  assert.equal(memory.activities.length, 3);
  same(memory.activities, resource);
  same(memory.activities, undefined);
  same(memory.activities, new Resource({}));
  same(memory.activities.slice(0, 1), resource);
  same([], resource);
});

Deno.test("encodeJson() matches the reference on every value, text and instant", () => {
  const { activities, resources } = variedActivities();
  assert.equal(activities.length, 14);
  for (const resource of [...resources, undefined]) {
    same(activities, resource);
    for (let i = 0; i < activities.length; i++) same(activities.slice(i, i + 1), resource);
  }
});
