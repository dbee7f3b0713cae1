// Activities that reach every branch of the OTLP encoders, for the tests that compare them with
// their references: every kind of tag value, text that needs escaping or is not ASCII, events,
// links, status, and instants before 1970, in the far future and on clocks far from now.

import {
  type Activity,
  ActivityContext,
  ActivityLink,
  ActivitySource,
  createTracerProviderBuilder,
  InMemoryExporter,
  Resource,
} from "../../mod.ts";

const cycle: Record<string, unknown> = { name: "loop" };
cycle.self = cycle;

/** Values of every kind, numbers at the edges of their encodings, text that needs escaping. */
export const VALUES: [string, unknown][] = [
  ["s", "plain"],
  ["s.escape", 'quote " backslash \\ newline \n tab \t nul \0 del \x7f \b \f \r \x1f'],
  ["s.unicode", "naïve ☃ 🎉 \u2028 \u2029"],
  ["s.lone", "lone \ud800 surrogate \udfff"],
  ["s.empty", ""],
  ["s.long", "x".repeat(300) + "é"],
  ["i.zero", 0],
  ["i.negzero", -0],
  ["i.neg", -7],
  ["i.safe", Number.MAX_SAFE_INTEGER],
  ["i.unsafe", -Number.MAX_SAFE_INTEGER - 3],
  ["i.big", 2 ** 60 + 256],
  ["i.bigneg", -(2 ** 62) - 1024],
  ["i.edge", -(2 ** 63)],
  ["d.edge", 2 ** 63],
  ["d", 1.5],
  ["d.neg", -0.25],
  ["d.tiny", 5e-324],
  ["d.huge", 1e21],
  ["d.nan", NaN],
  ["d.inf", Infinity],
  ["d.neginf", -Infinity],
  ["b", true],
  ["b.false", false],
  ["bigint", 2n ** 62n],
  ["bigint.neg", -5n],
  ["bigint.huge", 2n ** 64n],
  ["arr", [1, "x", null, true, 2.5, [NaN], "é\n"]],
  ["arr.empty", []],
  ["obj", { a: 1, 'q"k': { c: "d" }, "ü": [] }],
  ["map", new Map<unknown, unknown>([["k", [true]], [7, "seven"]])],
  ["bytes", new Uint8Array([0, 1, 0x7f, 0xff])],
  ["date", new Date(0)],
  ["cycle", cycle],
  ["null", null],
  ["undefined", undefined],
  ['ключ "k"', "значение"],
];

/** Start and end times (epoch ms or dates) around 1970, now and the limits of a `Date`. */
const TIMES: [Date | number, Date | number][] = [
  [0, 0], // the epoch itself: a zero start (left out), the end one tick later
  [-1, -0.5],
  [-1e12, new Date(-1e12 + 1234.5678)], // 1938
  [-8.64e15, -8.64e15 + 1], // the earliest Date
  [1.5e12 + 0.1234, 1.5e12 + 7.0001],
  [4.1e12, 4.1e12 + 86_400_000], // 2099
  [2.5e14, 2.5e14 + 1], // year 9892: still exact numbers
  [8.64e15 - 10, 8.64e15], // the latest Date: beyond 2^53 ticks, written through a bigint
];

/** The activities and the resources to encode them under. */
export function variedActivities(): { activities: Activity[]; resources: Resource[] } {
  const memory = new InMemoryExporter();
  const resource = new Resource({ "service.name": 'svc "q"', "host.cores": 8, tiny: 0.1 });
  using _provider = createTracerProviderBuilder().addSource("*").setResource(resource)
    .setLimits({ tagCount: 64, eventCount: 3, linkCount: 2 }).addInMemoryExporter(memory)
    .build();
  const tagged = new ActivitySource("Scoped \u00e9", { version: "1\n2", tags: { team: "a" } });
  const bare = new ActivitySource("Bare");
  const far = new ActivitySource("Far", { clock: { timeOrigin: 2 ** 60, now: () => 1.25 } });
  const near = new ActivitySource("Near", { clock: { timeOrigin: -123.456, now: () => 0.5 } });
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
  server.addEvent('e "2"', { timestamp: new Date(-5) });
  server.addEvent("ü", { tags: { "é": "ß" } });
  server.addEvent("dropped");
  server.addLink(new ActivityLink(remote));
  server.setStatus("error", 'failed "badly" ü');
  for (const [start, end] of TIMES) {
    const a = bare.startActivity("timed", { startTime: start, kind: "producer" })!;
    a.setStatus("error");
    a.stop({ endTime: end });
  }
  far.startActivity("far")?.stop();
  near.startActivity("near")?.stop();
  const running = bare.startActivity("running", { kind: "consumer" })!;
  bare.startActivity("", { kind: "client", parent: server.context })?.setStatus("ok").stop();
  bare.startActivity("root", { root: true })?.stop();
  server.stop();
  return {
    activities: [...memory.activities, running],
    resources: [resource, new Resource({}), new Resource({ 'a"b': ["x", 1] })],
  };
}
