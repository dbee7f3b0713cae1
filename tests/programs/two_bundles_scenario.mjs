// The scenario of the two-bundle test, in plain JavaScript so that Deno and Node.js both run it:
// `core` and `other` are two copies of mod.ts, `http` a copy of http.ts, each bundled apart.
// Returns what the test checks.

/** Runs the scenario with three separately bundled copies. */
export async function scenario(core, other, http) {
  const exporter = new core.InMemoryExporter();
  const provider = core.createTracerProviderBuilder().addSource("*").addInMemoryExporter(exporter)
    .build();
  const source = new core.ActivitySource("Client");
  const otherSource = new other.ActivitySource("Other");
  const headers = [];
  let currentInHandler;
  const handler = http.instrumentHandler((_request) => {
    currentInHandler = core.Activity.current;
    otherSource.startActivity("InOtherCopy")?.stop();
    return new Response("ok");
  }, { source: otherSource });
  const fetch = http.instrumentFetch({
    source,
    fetch: (input, init) => {
      const request = new Request(input, init);
      headers.push(request.headers.get("traceparent"));
      return handler(request);
    },
  });
  let outerId = "";
  let foreignBaggage = [];
  await source.startActiveActivity(
    "Outer",
    async (outer) => {
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
  const all = exporter.activities;
  const byName = (name) => all.find((a) => a.displayName === name);
  const client = all.find((a) => a.kind === "client");
  const server = all.find((a) => a.kind === "server");
  return {
    header: headers[0] === `00-${client.traceId}-${client.spanId}-03`,
    headerCount: headers.length,
    clientParent: client.parentSpanId === outerId,
    serverParent: server.parentSpanId === client.spanId,
    inOtherCopyParent: byName("InOtherCopy").parentSpanId === server.spanId,
    currentShared: currentInHandler === server,
    fromOtherContext: byName("FromOtherContext").parentSpanId === "2".repeat(16),
    linked: byName("Linked").links[0]?.context.spanId === "2".repeat(16),
    foreignBaggage,
    exported: all.map((a) => a.displayName).sort(),
  };
}
