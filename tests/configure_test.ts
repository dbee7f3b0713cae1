import assert from "node:assert/strict";
import {
  type Activity,
  ActivitySource,
  configureFromEnvironment,
  getDefaultPropagator,
  setDefaultPropagator,
  type TracerProvider,
} from "../mod.ts";
import { instrumentFetch, instrumentHandler } from "../http.ts";

let counter = 0;

/** Configures from a record, with an exporter of the test's own and the reports collected. */
function configure(environment: Record<string, string>): {
  provider: TracerProvider;
  exported: Activity[];
  reports: string[];
} {
  const exported: Activity[] = [];
  const reports: string[] = [];
  const provider = configureFromEnvironment({
    environment,
    onError: (error, where, level) =>
      reports.push(`${level} ${where}: ${(error as Error).message}`),
    configure: (builder) => builder.addInMemoryExporter(exported),
  });
  return { provider, exported, reports };
}

Deno.test("configureFromEnvironment() hears every source", async () => {
  const { provider, exported, reports } = configure({ OTEL_TRACES_EXPORTER: "none" });
  try {
    const source = new ActivitySource(`Any.Name.${++counter}`);
    source.startActivity("Work")?.stop();
    source[Symbol.dispose]();
    assert.deepEqual(exported.map((a) => a.displayName), ["Work"]);
    assert.deepEqual(reports, []);
  } finally {
    await provider.shutdown();
    setDefaultPropagator(undefined);
  }
});

Deno.test("configureFromEnvironment() replaces the provider it made before", async () => {
  const first = configure({ OTEL_TRACES_EXPORTER: "none" });
  const second = configure({ OTEL_TRACES_EXPORTER: "none" });
  try {
    await first.provider.forceFlush();
    assert.equal(first.provider.isShutdown, true);
    const source = new ActivitySource(`Replaced.${++counter}`);
    source.startActivity("Once")?.stop();
    source[Symbol.dispose]();
    assert.deepEqual(first.exported, []);
    assert.deepEqual(second.exported.map((a) => a.displayName), ["Once"]);
  } finally {
    await second.provider.shutdown();
    setDefaultPropagator(undefined);
  }
});

Deno.test("configureFromEnvironment() reads OTEL_PROPAGATORS into the process's propagator", async (t) => {
  const fields = async (value: string) => {
    const { provider, reports } = configure({
      OTEL_TRACES_EXPORTER: "none",
      OTEL_PROPAGATORS: value,
    });
    const result = [...getDefaultPropagator().fields()];
    await provider.shutdown();
    setDefaultPropagator(undefined);
    return { result, reports };
  };
  await t.step("names in order, each once, in any case", async () => {
    assert.deepEqual((await fields("B3, tracecontext,b3")).result, [
      "b3",
      "traceparent",
      "tracestate",
    ]);
    assert.deepEqual((await fields("b3multi")).result, [
      "x-b3-traceid",
      "x-b3-spanid",
      "x-b3-sampled",
      "x-b3-flags",
      "x-b3-parentspanid",
    ]);
    assert.deepEqual((await fields("none")).result, []);
  });
  await t.step("unknown names are reported and left out; none known: the default", async () => {
    const some = await fields("xray,baggage");
    assert.deepEqual(some.result, ["baggage"]);
    assert.deepEqual(some.reports, [
      "warn Environment variable OTEL_PROPAGATORS: Cannot use OTEL_PROPAGATORS 'xray,baggage': unknown 'xray' left out; expected tracecontext, baggage, b3, b3multi, none",
    ]);
    const only = await fields("jaeger");
    assert.deepEqual(only.result, ["traceparent", "tracestate", "baggage"]);
    assert.equal(only.reports.length, 1);
    assert.match(only.reports[0]!, /unknown 'jaeger'; expected .*; using the default$/);
    const mixed = await fields("none,b3");
    assert.deepEqual(mixed.result, []);
    assert.match(mixed.reports[0]!, /none excludes the other names; using none$/);
  });
});

Deno.test("configureFromEnvironment() reads OTEL_TRACES_EXPORTER", async (t) => {
  await t.step("console: a simple processor that prints each activity as it stops", async () => {
    const written: string[] = [];
    const original = Deno.stdout.writeSync;
    Deno.stdout.writeSync = (bytes: Uint8Array) => {
      written.push(new TextDecoder().decode(bytes));
      return bytes.length;
    };
    const { provider } = configure({ OTEL_TRACES_EXPORTER: "console" });
    try {
      const source = new ActivitySource(`Console.${++counter}`);
      source.startActivity("Printed")?.stop();
      source[Symbol.dispose]();
    } finally {
      Deno.stdout.writeSync = original;
      await provider.shutdown();
      setDefaultPropagator(undefined);
    }
    assert.match(written.join(""), /^Activity\.TraceId: .*Activity\.DisplayName: {8}Printed\n/s);
  });
  await t.step("unknown names are reported once and ignored", async () => {
    const { provider, reports } = configure({ OTEL_TRACES_EXPORTER: "zipkin,none" });
    await provider.shutdown();
    setDefaultPropagator(undefined);
    assert.deepEqual(reports, [
      "warn Environment variable OTEL_TRACES_EXPORTER: Cannot use OTEL_TRACES_EXPORTER 'zipkin,none': unknown 'zipkin' left out; expected otlp, console, none",
    ]);
  });
});

Deno.test("OTEL_PROPAGATORS=b3 makes instrumentFetch and instrumentHandler speak B3 only", async () => {
  const { provider, exported } = configure({
    OTEL_TRACES_EXPORTER: "none",
    OTEL_PROPAGATORS: "b3",
  });
  try {
    const source = new ActivitySource(`B3.Http.${++counter}`);
    const seen: [string, string][][] = [];
    const handler = instrumentHandler((request) => {
      seen.push([...request.headers]);
      return new Response("ok");
    }, { source });
    const fetch = instrumentFetch({
      source,
      fetch: (input, init) => handler(new Request(input, init)),
    });
    await (await fetch("http://shop.example/cart", { headers: { baggage: "kept=1" } })).text();
    const client = exported.find((a) => a.kind === "client")!;
    const server = exported.find((a) => a.kind === "server")!;
    // Only the b3 header was added (the caller's own baggage header is left as it was).
    assert.deepEqual(seen[0], [
      ["b3", `${client.traceId}-${client.spanId}-1`],
      ["baggage", "kept=1"],
    ]);
    assert.equal(server.parentSpanId, client.spanId);
    assert.equal(server.traceId, client.traceId);
    // A W3C traceparent alone is not read: the server starts a new trace.
    await handler(
      new Request("http://shop.example/", {
        headers: { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" },
      }),
    ).then((response) => response.text());
    const root = exported.filter((a) => a.kind === "server")[1]!;
    assert.notEqual(root.traceId, "0af7651916cd43dd8448eb211c80319c");
    assert.equal(root.parentSpanId, undefined);
    source[Symbol.dispose]();
  } finally {
    await provider.shutdown();
    setDefaultPropagator(undefined);
  }
});
