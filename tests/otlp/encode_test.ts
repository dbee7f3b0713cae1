// The OTLP exporter's encodings: every field an activity holds, decoded by independent means
// (protobufjs with the OTLP schema; the OTLP/JSON rules; @opentelemetry/otlp-transformer's own
// JSON of equivalent spans), and sent to a receiver on 127.0.0.1 (skipped without net
// permission; run with `deno task test:net`).

import assert from "node:assert/strict";
import { JsonTraceSerializer } from "npm:@opentelemetry/otlp-transformer@0.212.0";
import {
  Activity,
  ActivityContext,
  ActivityLink,
  ActivitySource,
  createTracerProviderBuilder,
  InMemoryExporter,
  Resource,
} from "../../mod.ts";
import { encodeOtlpTraces, OtlpExporter } from "../../otlp/mod.ts";
import {
  type Canon,
  type CanonRequest,
  decodeJson,
  decodeProtobuf,
  expectedRequest,
  NO_NET,
  startReceiver,
} from "./_helpers.ts";

const cycle: Record<string, unknown> = { name: "loop" };
cycle.self = cycle;
function namedFunction(): void {}
const bytes = new Uint8Array([0, 1, 0x7f, 0xff]);

// Every kind of tag value, and what the wire must carry for it.
const VALUES: [string, unknown, Canon][] = [
  ["string", "hello", { s: "hello" }],
  ["string.empty", "", { s: "" }],
  ["string.unicode", "naïve ☃ 🎉", { s: "naïve ☃ 🎉" }],
  ["int", 42, { i: "42" }],
  ["int.zero", 0, { i: "0" }],
  ["int.negative", -7, { i: "-7" }],
  ["int.large", 2 ** 60, { i: (2n ** 60n).toString() }],
  ["double", 1.5, { d: 1.5 }],
  ["double.negative", -0.25, { d: -0.25 }],
  ["double.nan", NaN, { d: "NaN" }],
  ["double.infinity", -Infinity, { d: "-Infinity" }],
  ["double.huge", 1e300, { d: 1e300 }],
  ["bool.true", true, { b: true }],
  ["bool.false", false, { b: false }],
  ["bigint", -(2n ** 63n), { i: (-(2n ** 63n)).toString() }],
  ["bigint.huge", 2n ** 64n, { s: "18446744073709551616" }],
  ["array.strings", ["a", "b"], { a: [{ s: "a" }, { s: "b" }] }],
  ["array.mixed", [1, "x", null, true, 2.5], {
    a: [{ i: "1" }, { s: "x" }, {}, { b: true }, { d: 2.5 }],
  }],
  ["array.empty", [], { a: [] }],
  ["array.nested", [[1, 2], [["deep"]]], {
    a: [{ a: [{ i: "1" }, { i: "2" }] }, { a: [{ a: [{ s: "deep" }] }] }],
  }],
  ["object", { a: 1, b: { c: "d" } }, {
    kv: [["a", { i: "1" }], ["b", { kv: [["c", { s: "d" }]] }]],
  }],
  ["map", new Map<unknown, unknown>([["k", [true]], [7, "seven"]]), {
    kv: [["k", { a: [{ b: true }] }], ["7", { s: "seven" }]],
  }],
  ["bytes", bytes, { y: "00017fff" }],
  ["typed", new Float64Array([0.5, 2]), { a: [{ d: 0.5 }, { i: "2" }] }],
  ["date", new Date(0), { s: "1970-01-01T00:00:00.000Z" }],
  ["symbol", Symbol("sym"), { s: "Symbol(sym)" }],
  ["function", namedFunction, { s: "[Function namedFunction]" }],
  ["cycle", cycle, { kv: [["name", { s: "loop" }], ["self", { s: "[Circular]" }]] }],
  ["instance", new URL("http://example.com/x"), { s: "http://example.com/x" }],
  ["null", null, {}],
  ["undefined", undefined, {}],
  ["hostile", {
    get boom(): never {
      throw new Error("no");
    },
  }, { s: "[object Object]" }],
];

function expectValue(value: unknown): Canon {
  for (const [, v, canon] of VALUES) if (Object.is(v, value)) return canon;
  if (typeof value === "string") return { s: value };
  if (typeof value === "boolean") return { b: value };
  if (typeof value === "number") {
    return Number.isInteger(value) ? { i: String(value) } : { d: value };
  }
  if (Array.isArray(value)) return { a: value.map(expectValue) };
  throw new Error(`No expectation for ${String(value)}`);
}

const REMOTE_PARENT = ActivityContext.parse(
  "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
  "vendor=abc,other=1",
);
const REMOTE_LINK = ActivityContext.parse(
  "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
  "congo=t61rcWkgMzE",
);

/** Records activities that hold every field: all tag types, events, links, limits, status. */
function record(): { activities: Activity[]; resource: Resource } {
  const memory = new InMemoryExporter();
  const resource = new Resource({
    "service.name": "checkout",
    "service.version": "1.2.0",
    "host.cores": 8,
  });
  const provider = createTracerProviderBuilder()
    .addSource("Shop.*")
    .setResource(resource)
    .setLimits({ tagCount: VALUES.length + 2, eventCount: 3, linkCount: 3, linkTagCount: 2 })
    .addInMemoryExporter(memory)
    .build();
  try {
    const orders = new ActivitySource("Shop.Orders", {
      version: "2.1.0",
      tags: { "scope.team": "orders", "scope.tier": 1 },
    });
    const payments = new ActivitySource("Shop.Payments");
    const server = orders.startActivity("HandleOrder", {
      kind: "server",
      parent: REMOTE_PARENT,
      tags: { "http.method": "POST" },
      links: [
        new ActivityLink(REMOTE_LINK, { "link.reason": "batch", "link.n": 2, "link.extra": "x" }),
      ],
    })!;
    server.displayName = "POST /orders";
    for (const [key, value] of VALUES) server.addTag(key, value as never);
    server.addTag("over.limit.1", 1).addTag("over.limit.2", 2).addTag("over.limit.3", 3);
    server.addEvent("validated", {
      tags: { "order.items": 3, "order.ids": ["a1", "b2"] },
      timestamp: Date.now() - 5,
    });
    server.recordException(new RangeError("Too many items"));
    server.addEvent("third");
    server.addEvent("dropped event");
    const local = orders.startActivity("Local", { root: true })!;
    server.addLink(new ActivityLink(local.context, { "link.local": true }));
    server.addLink(new ActivityLink(local.context));
    server.addLink(new ActivityLink(local.context));
    server.setStatus("error", "Payment declined");
    const child = Activity.run(
      server,
      () => payments.startActivity("Charge", { kind: "client", tags: { amount: 12.5 } })!,
    );
    child.setStatus("ok");
    child.stop();
    local.stop();
    orders.startActivity("Publish", { kind: "producer", root: true })?.stop();
    payments.startActivity("Consume", { kind: "consumer", root: true })?.stop();
    server.stop();
  } finally {
    provider.shutdown();
  }
  return { activities: [...memory.activities], resource };
}

function expected(activities: Activity[], resource: Resource): CanonRequest {
  return expectedRequest(activities, resource.attributes, expectValue);
}

Deno.test("encodeOtlpTraces() protobuf carries every field, as protobufjs decodes it", () => {
  const { activities, resource } = record();
  const server = activities.find((a) => a.displayName === "POST /orders")!;
  // The recording itself has what the test means to check.
  assert.equal(server.hasRemoteParent, true);
  assert.equal(server.droppedTagCount, 2);
  assert.equal(server.droppedEventCount, 1);
  assert.equal(server.droppedLinkCount, 1);
  assert.equal(server.links.length, 3);
  const decoded = decodeProtobuf(encodeOtlpTraces(activities, resource));
  assert.equal(decoded.length, 1);
  assert.deepEqual(decoded[0], expected(activities, resource));
});

Deno.test("encodeOtlpTraces() JSON carries every field by the OTLP/JSON rules", async (t) => {
  const { activities, resource } = record();
  const body = encodeOtlpTraces(activities, resource, { protocol: "http/json" });
  const decoded = decodeJson(body);
  assert.deepEqual(decoded[0], expected(activities, resource));

  await t.step("ids are hex, enums integers, 64-bit values decimal strings", () => {
    const raw = JSON.parse(new TextDecoder().decode(body));
    const spans = raw.resourceSpans[0].scopeSpans.flatMap((s: { spans: unknown[] }) => s.spans);
    const server = spans.find((s: { name: string }) => s.name === "POST /orders");
    assert.match(server.traceId, /^[0-9a-f]{32}$/);
    assert.equal(server.parentSpanId, REMOTE_PARENT.spanId);
    assert.equal(server.kind, 2);
    assert.equal(server.status.code, 2);
    assert.equal(typeof server.startTimeUnixNano, "string");
    assert.equal(typeof server.flags, "number");
    assert.equal(server.flags, 0x301 | (server.flags & 0x02));
    const intTag = server.attributes.find((a: { key: string }) => a.key === "int");
    assert.deepEqual(intTag.value, { intValue: "42" });
    assert.equal(server.links[0].flags & 0x300, 0x300);
    assert.equal(server.links[1].flags & 0x300, 0x100);
  });
});

Deno.test("encodeOtlpTraces() sends unknown_service when the resource has no service.name", () => {
  const { activities } = record();
  for (const protocol of ["http/protobuf", "http/json"] as const) {
    const body = encodeOtlpTraces(activities.slice(0, 1), new Resource({ a: "b" }), { protocol });
    const decoded = protocol === "http/json" ? decodeJson(body) : decodeProtobuf(body);
    assert.deepEqual(decoded[0]!.resource, [["a", { s: "b" }], ["service.name", {
      s: "unknown_service",
    }]]);
  }
  const decoded = decodeProtobuf(encodeOtlpTraces(activities.slice(0, 1)));
  assert.deepEqual(decoded[0]!.resource, [["service.name", { s: "unknown_service" }]]);
});

Deno.test("encodeOtlpTraces() encodes long messages and strings with multi-byte lengths", () => {
  const memory = new InMemoryExporter();
  using _provider = createTracerProviderBuilder().addSource("Big").addInMemoryExporter(memory)
    .build();
  const source = new ActivitySource("Big");
  const long = "x".repeat(70_000) + "é".repeat(300);
  for (let i = 0; i < 50; i++) {
    source.startActivity(`Op ${i}`, { tags: { payload: i === 0 ? long : `v${i}` } })?.stop();
  }
  const decoded = decodeProtobuf(encodeOtlpTraces(memory.activities));
  const spans = decoded[0]!.scopes[0]!.spans;
  assert.equal(spans.length, 50);
  assert.deepEqual(spans[0]!.attributes, [["payload", { s: long }]]);
  assert.deepEqual(spans[49]!.attributes, [["payload", { s: "v49" }]]);
});

Deno.test("encodeOtlpTraces() protobuf keeps ids right where a span's length moves its bytes", () => {
  const memory = new InMemoryExporter();
  using _provider = createTracerProviderBuilder().addSource("Ids").addInMemoryExporter(memory)
    .build();
  const source = new ActivitySource("Ids");
  // A parent shorter than 128 bytes, one longer than 16 KiB, one in between; each with a child
  // (same trace id, its parent id the span id just written) and links back to both.
  for (const size of [0, 20_000, 300]) {
    const parent = source.startActivity("p", size > 0 ? { tags: { pad: "x".repeat(size) } } : {})!;
    const child = source.startActivity("c", {
      parent: parent.context,
      links: [new ActivityLink(parent.context)],
    })!;
    child.stop();
    parent.stop();
  }
  const spans = decodeProtobuf(encodeOtlpTraces(memory.activities))[0]!.scopes[0]!.spans;
  assert.equal(spans.length, 6);
  for (const [i, activity] of memory.activities.entries()) {
    assert.equal(spans[i]!.traceId, activity.traceId);
    assert.equal(spans[i]!.spanId, activity.spanId);
    assert.equal(spans[i]!.parentSpanId, activity.parentSpanId ?? "");
  }
  assert.deepEqual(
    spans.filter((s) => s.name === "c").map((s) => s.links[0]!.spanId),
    memory.activities.filter((a) => a.displayName === "p").map((a) => a.spanId),
  );
});

Deno.test("encodeOtlpTraces() returns exactly the body, in a buffer of its own size", () => {
  const { activities, resource } = record();
  const body = encodeOtlpTraces(activities, resource);
  assert.equal(body.byteOffset, 0);
  assert.equal(body.buffer.byteLength, body.byteLength);
});

Deno.test("encodeOtlpTraces() rejects an unknown protocol", () => {
  assert.throws(
    () => encodeOtlpTraces([], undefined, { protocol: "grpc" as never }),
    (e) => e instanceof TypeError && /protocol must be/.test(e.message),
  );
});

// A second opinion: @opentelemetry/otlp-transformer serialises spans with the same content
// (values of the types the OpenTelemetry SDK accepts) and the JSON must match ours.
Deno.test("encodeOtlpTraces() JSON agrees with @opentelemetry/otlp-transformer", () => {
  const memory = new InMemoryExporter();
  const resource = new Resource({ "service.name": "checkout", "host.cores": 8 });
  const provider = createTracerProviderBuilder().addSource("Shop.*").setResource(resource)
    .addInMemoryExporter(memory).build();
  // (This version of the transformer does not serialise scope attributes: the source has none.)
  const source = new ActivitySource("Shop.Orders", "2.1.0");
  const server = source.startActivity("HandleOrder", {
    kind: "server",
    parent: REMOTE_PARENT,
    tags: { s: "x", i: 3, d: 2.5, b: false, arr: ["a", "b"], nums: [1, 2.5] },
    links: [new ActivityLink(REMOTE_LINK, { why: "batch" })],
  })!;
  server.addTag("obj", { nested: { deep: [1, "two"] } } as never);
  server.addTag("bytes", new Uint8Array([1, 2, 3]) as never);
  server.addEvent("validated", { tags: { items: 3 } });
  server.setStatus("error", "declined");
  const child = Activity.run(server, () => source.startActivity("Child", { kind: "client" })!);
  child.stop();
  server.stop();
  provider.shutdown();

  const hr = (
    ns: bigint,
  ): [number, number] => [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)];
  const record = (tags: readonly (readonly [string, unknown])[]) => Object.fromEntries(tags);
  const otelKind = { internal: 0, server: 1, client: 2, producer: 3, consumer: 4 };
  const otelResource = { attributes: record(resource.attributes) };
  const spans = memory.activities.map((a) => ({
    name: a.displayName,
    kind: otelKind[a.kind],
    spanContext: () => ({
      traceId: a.traceId,
      spanId: a.spanId,
      traceFlags: a.traceFlags,
      traceState: a.traceState === undefined ? undefined : { serialize: () => a.traceState },
    }),
    parentSpanContext: a.parentSpanId === undefined
      ? undefined
      : { traceId: a.traceId, spanId: a.parentSpanId, traceFlags: 1, isRemote: a.hasRemoteParent },
    startTime: hr(a.startTimeUnixNano),
    endTime: hr(a.endTimeUnixNano!),
    status: { code: { unset: 0, ok: 1, error: 2 }[a.status], message: a.statusDescription },
    attributes: record(a.tags),
    links: a.links.map((l) => ({
      context: {
        traceId: l.context.traceId,
        spanId: l.context.spanId,
        traceFlags: l.context.traceFlags,
        isRemote: l.context.isRemote,
        traceState: l.context.traceState === undefined
          ? undefined
          : { serialize: () => l.context.traceState },
      },
      attributes: record(l.tags),
      droppedAttributesCount: 0,
    })),
    events: a.events.map((e) => ({
      name: e.name,
      time: hr(e.timeUnixNano),
      attributes: record(e.tags),
      droppedAttributesCount: 0,
    })),
    duration: [0, 0],
    ended: true,
    resource: otelResource,
    instrumentationScope: { name: a.source.name, version: a.source.version },
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  }));
  const theirs = decodeJson(JsonTraceSerializer.serializeRequest(spans as never)!);
  const ours = decodeJson(encodeOtlpTraces(memory.activities, resource, { protocol: "http/json" }));
  assert.equal(ours[0]!.scopes[0]!.spans.length, 2);
  assert.deepEqual(ours, theirs);
});

// ---- Over the network, to a receiver in this process ----

Deno.test({
  name: "OtlpExporter delivers every field to a receiver, in both encodings and gzipped",
  ignore: NO_NET,
  async fn(t) {
    const { activities, resource } = record();
    const cases = [
      { protocol: "http/protobuf", compression: "none" },
      { protocol: "http/json", compression: "none" },
      { protocol: "http/protobuf", compression: "gzip" },
      { protocol: "http/json", compression: "gzip" },
    ] as const;
    for (const { protocol, compression } of cases) {
      await t.step(`${protocol}, compression ${compression}`, async () => {
        await using receiver = startReceiver();
        const exporter = new OtlpExporter({
          endpoint: receiver.endpoint,
          protocol,
          compression,
          headers: { "x-api-key": "secret", "x-tenant": "t1" },
          env: () => undefined,
        });
        await exporter.export(activities, resource);
        assert.equal(receiver.requests.length, 1);
        const request = receiver.requests[0]!;
        assert.equal(request.method, "POST");
        assert.equal(request.path, "/v1/traces");
        assert.equal(
          request.headers.get("content-type"),
          protocol === "http/json" ? "application/json" : "application/x-protobuf",
        );
        assert.equal(request.headers.get("x-api-key"), "secret");
        assert.equal(request.headers.get("x-tenant"), "t1");
        if (compression === "gzip") {
          assert.equal(request.headers.get("content-encoding"), "gzip");
          assert.deepEqual([...request.rawBody.subarray(0, 2)], [0x1f, 0x8b]);
        } else {
          assert.equal(request.headers.get("content-encoding"), null);
        }
        const decoded = protocol === "http/json"
          ? decodeJson(request.body)
          : decodeProtobuf(request.body);
        assert.deepEqual(decoded, [expected(activities, resource)]);
        assert.equal(exporter.deliveredCount, activities.length);
        assert.equal(exporter.lostCount, 0);
        await exporter.shutdown();
      });
    }
  },
});

Deno.test({
  name: "OtlpExporter behind SimpleProcessor sends the fan-out with its links",
  ignore: NO_NET,
  async fn() {
    await using receiver = startReceiver();
    const exporter = new OtlpExporter({ endpoint: receiver.endpoint, env: () => undefined });
    const provider = createTracerProviderBuilder().addSource("MyCompany.MyApplication")
      .setServiceName("fanout").addExporter(exporter).build();
    const source = new ActivitySource("MyCompany.MyApplication");
    let orchestrator: Activity | undefined;
    await source.startActiveActivity("OrchestratingActivity", async (o) => {
      orchestrator = o;
      const links = [new ActivityLink(Activity.current!.context)];
      await Promise.all(
        [1, 2, 3].map((n) =>
          source.startActiveActivity(
            `FannedOutActivity ${n}`,
            { links, root: true },
            async () => {},
          )
        ),
      );
      source.startActivity("WrapUp")?.stop();
    });
    await provider.shutdown();
    const spans = receiver.requests.flatMap((r) => decodeProtobuf(r.body)[0]!.scopes[0]!.spans);
    assert.equal(receiver.requests.length, 5);
    assert.equal(exporter.deliveredCount, 5);
    const fanned = spans.filter((s) => s.name.startsWith("FannedOutActivity"));
    assert.equal(fanned.length, 3);
    for (const span of fanned) {
      assert.notEqual(span.traceId, orchestrator!.traceId);
      assert.equal(span.parentSpanId, "");
      assert.deepEqual(span.links.map((l) => [l.traceId, l.spanId]), [[
        orchestrator!.traceId,
        orchestrator!.spanId,
      ]]);
    }
    const wrapUp = spans.find((s) => s.name === "WrapUp")!;
    assert.equal(wrapUp.parentSpanId, orchestrator!.spanId);
    // The default resource, with the service name set.
    const resource = decodeProtobuf(receiver.requests[0]!.body)[0]!.resource;
    assert.deepEqual(resource[0], ["service.name", { s: "fanout" }]);
    assert.deepEqual(
      resource,
      provider.resource.attributes.map(([key, value]) => [
        key,
        typeof value === "number" ? { i: String(value) } : { s: String(value) },
      ]),
    );
    assert.equal(provider.resource.get("telemetry.sdk.name"), "@tracelinks/activity");
  },
});

Deno.test({
  name: "addOtlpExporter() loads the exporter and sends through the batch processor",
  ignore: NO_NET,
  async fn() {
    await using receiver = startReceiver();
    const provider = createTracerProviderBuilder()
      .addSource("App")
      .addOtlpExporter({ endpoint: receiver.endpoint, protocol: "http/json", env: () => undefined })
      .build();
    const source = new ActivitySource("App");
    for (let i = 0; i < 10; i++) source.startActivity(`Work ${i}`)?.stop();
    await provider.shutdown();
    const names = receiver.requests.flatMap((r) =>
      decodeJson(r.body)[0]!.scopes[0]!.spans.map((s) => s.name)
    );
    assert.deepEqual(names, Array.from({ length: 10 }, (_, i) => `Work ${i}`));
    assert.equal(receiver.requests.length, 1);
  },
});
