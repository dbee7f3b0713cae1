// Two copies of the module in one program, as two bundles give them: `mod.ts` bundled twice and
// `http.ts` bundled once, each file a copy of its own. Prints what the test checks as JSON.
// Run with --allow-run=deno --allow-read --allow-write (for the bundles in a temporary folder).

const root = new URL("../../", import.meta.url).pathname;
const dir = await Deno.makeTempDir({ prefix: "two_bundles_" });
for (const [entry, out] of [["mod.ts", "mod.js"], ["mod.ts", "mod2.js"], ["http.ts", "http.js"]]) {
  const done = await new Deno.Command("deno", {
    args: ["bundle", "--quiet", `${root}${entry}`, "-o", `${dir}/${out}`],
  }).output();
  if (!done.success) throw new Error(new TextDecoder().decode(done.stderr));
}
if (Deno.args.includes("--other-version")) {
  // A registry of another version, as a copy of version 9 would leave it.
  Object.defineProperty(globalThis, Symbol.for("@tracelinks/activity/v9"), { value: {} });
}
const core = await import(`${dir}/mod.js`);
const other = await import(`${dir}/mod2.js`);
const http = await import(`${dir}/http.js`);
await Deno.remove(dir, { recursive: true });

const exporter = new core.InMemoryExporter();
const provider = core.createTracerProviderBuilder().addSource("*").addInMemoryExporter(exporter)
  .build();
const source = new core.ActivitySource("Client");
const otherSource = new other.ActivitySource("Other");
const headers: (string | null)[] = [];
let currentInHandler: unknown;
const handler = http.instrumentHandler((_request: Request) => {
  currentInHandler = core.Activity.current;
  otherSource.startActivity("InOtherCopy")?.stop();
  return new Response("ok");
}, { source: otherSource });
const fetch = http.instrumentFetch({
  source,
  fetch: (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    headers.push(request.headers.get("traceparent"));
    return handler(request);
  },
});
let outerId = "";
let foreignBaggage: unknown[] = [];
await source.startActiveActivity(
  "Outer",
  async (outer: { spanId: string; addBaggage: (k: string, v: string) => void }) => {
    outerId = outer.spanId;
    outer.addBaggage("tenant", "acme");
    // An activity of one copy whose parent is an activity of the other: read through its members.
    const child = otherSource.startActivity("ChildOfForeign");
    foreignBaggage = [
      child?.getBaggageItem("tenant"),
      child?.baggage,
      child?.parentSpanId === outerId,
    ];
    child?.stop();
    await (await fetch("http://shop.test/cart")).text();
    // A context of one copy as the parent in another.
    const parent = other.extract({
      traceparent: `00-${"1".repeat(32)}-${"2".repeat(16)}-01`,
    });
    source.startActivity("FromOtherContext", { parent })?.stop();
    // Links of one copy on an activity of the other.
    source.startActivity("Linked", { links: [new other.ActivityLink(parent)] })?.stop();
  },
);
await provider.shutdown();
const all = exporter.activities as {
  displayName: string;
  spanId: string;
  parentSpanId?: string;
  traceId: string;
  kind: string;
  links: { context: { spanId: string } }[];
}[];
const byName = (name: string) => all.find((a) => a.displayName === name)!;
const client = all.find((a) => a.kind === "client")!;
const server = all.find((a) => a.kind === "server")!;
console.log(JSON.stringify({
  header: headers[0] === `00-${client.traceId}-${client.spanId}-03`,
  headerCount: headers.length,
  clientParent: client.parentSpanId === outerId,
  serverParent: server.parentSpanId === client.spanId,
  inOtherCopyParent: byName("InOtherCopy").parentSpanId === server.spanId,
  currentShared: currentInHandler === all.find((a) => a === server),
  fromOtherContext: byName("FromOtherContext").parentSpanId === "2".repeat(16),
  linked: byName("Linked").links[0]?.context.spanId === "2".repeat(16),
  foreignBaggage,
  exported: all.map((a) => a.displayName).sort(),
}));
