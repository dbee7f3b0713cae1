// The dashboard's store of traces: its bounds (traces, memory, spans per trace), eviction order,
// the LinkGraph index kept in step, shared resources, and the list's filters.

import assert from "node:assert/strict";
import { TraceStore } from "../../dashboard/_store.ts";
import type { OtlpResource, OtlpScope, OtlpSpan } from "../../otlp/_decode_model.ts";

function id(n: number, width: number): string {
  return (n + 1).toString(16).padStart(width, "0");
}

function resource(service: string): OtlpResource {
  return { attributes: [["service.name", service]], droppedAttributesCount: 0, schemaUrl: "" };
}

const SCOPE: OtlpScope = {
  name: "test",
  version: "",
  attributes: [],
  droppedAttributesCount: 0,
  schemaUrl: "",
};

function span(
  trace: number,
  spanNumber: number,
  more: Partial<OtlpSpan> = {},
  service = "svc",
): OtlpSpan {
  return {
    traceId: id(trace, 32),
    spanId: id(spanNumber, 16),
    traceState: "",
    parentSpanId: "",
    flags: 1,
    name: `span ${spanNumber}`,
    kind: 1,
    startTimeUnixNano: BigInt(1_000_000 + trace * 1000 + spanNumber),
    endTimeUnixNano: BigInt(1_000_500 + trace * 1000 + spanNumber),
    attributes: [],
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    statusCode: 0,
    statusMessage: "",
    resource: resource(service),
    scope: SCOPE,
    ...more,
  };
}

const LIMITS = { maxTraces: 100, maxSpansPerTrace: 100, maxBytes: 1e9 };

Deno.test("TraceStore evicts the least recently updated trace beyond maxTraces, and counts it", () => {
  const store = new TraceStore({ ...LIMITS, maxTraces: 3 });
  for (let t = 0; t < 3; t++) store.add([span(t, 0)]);
  store.add([span(0, 1)]); // trace 0 updated: trace 1 is now the least recently updated
  store.add([span(3, 0), span(4, 0)]);
  assert.equal(store.traceCount, 3);
  assert.equal(store.evictedTraces, 2);
  assert.equal(store.evictedSpans, 2);
  assert.deepEqual([0, 1, 2, 3, 4].map((t) => store.get(id(t, 32)) !== undefined), [
    true,
    false,
    false,
    true,
    true,
  ]);
  // The link index holds exactly the traces held.
  assert.equal(store.graph.traceCount, 3);
  assert.equal(store.graph.size, store.spanCount);
  assert.equal(store.graph.hasTrace(id(1, 32)), false);
  assert.equal(store.spanCount, 4);
});

Deno.test("TraceStore stays within its memory estimate, evicting old traces", () => {
  const one = new TraceStore(LIMITS);
  const big = (t: number) => span(t, 0, { attributes: [["payload", "x".repeat(10_000)]] });
  one.add([big(0)]);
  const perTrace = one.bytes;
  const store = new TraceStore({ ...LIMITS, maxBytes: perTrace * 5.5 });
  for (let t = 0; t < 20; t++) {
    store.add([big(t)]);
    assert.ok(store.bytes <= perTrace * 5.5, `${store.bytes} after trace ${t}`);
  }
  assert.equal(store.traceCount, 5);
  assert.equal(store.evictedTraces, 15);
  // One span alone over a quarter of the bound is not kept, and said.
  const huge = span(99, 0, { attributes: [["payload", "x".repeat(perTrace * 2)]] });
  assert.deepEqual(store.add([huge]), { added: 0, duplicates: 0, overflow: 0, tooLarge: 1 });
  assert.equal(store.tooLargeSpans, 1);
});

Deno.test("TraceStore keeps at most maxSpansPerTrace of one trace and skips duplicates", () => {
  const store = new TraceStore({ ...LIMITS, maxSpansPerTrace: 2 });
  assert.deepEqual(store.add([span(0, 0), span(0, 1), span(0, 2), span(0, 0)]), {
    added: 2,
    duplicates: 1,
    overflow: 1,
    tooLarge: 0,
  });
  assert.deepEqual(store.add([span(0, 1)]), { added: 0, duplicates: 1, overflow: 0, tooLarge: 0 });
  assert.equal(store.get(id(0, 32))!.spans.length, 2);
  assert.equal(store.overflowSpans, 1);
  assert.equal(store.duplicateSpans, 2);
});

Deno.test("TraceStore keeps one resource for equal ones, and lets it go with its last span", () => {
  const store = new TraceStore({ ...LIMITS, maxTraces: 1 });
  const a = span(0, 0, {}, "api");
  const b = span(0, 1, {}, "api"); // equal content, another object (another request)
  store.add([a]);
  store.add([b]);
  assert.notEqual(a.resource, resource("api"));
  assert.equal(a.resource, b.resource);
  const alone = new TraceStore(LIMITS);
  alone.add([span(5, 0, {}, "web")]);
  store.add([span(5, 0, {}, "web")]); // evicts trace 0 and its resource
  assert.equal(store.bytes, alone.bytes);
});

Deno.test("TraceStore's trace summary: root, services, errors, links out, links in", () => {
  const store = new TraceStore(LIMITS);
  const root = span(0, 0, { name: "Root" }, "api");
  const child = span(0, 1, { parentSpanId: id(0, 16), statusCode: 2, name: "Child" }, "db");
  const linker = span(1, 0, {
    links: [{
      traceId: id(0, 32),
      spanId: id(0, 16),
      traceState: "",
      attributes: [],
      droppedAttributesCount: 0,
      flags: 0,
    }],
  });
  store.add([child, linker, root]);
  const trace = store.get(id(0, 32))!;
  assert.equal(trace.root?.name, "Root");
  assert.equal(trace.service, "api");
  assert.deepEqual([...trace.services], ["db", "api"]);
  assert.equal(trace.errors, 1);
  assert.equal(store.get(id(1, 32))!.linksOut, 1);
  assert.equal(store.linksIn(id(0, 32)), 1);
  assert.deepEqual(store.related(id(1, 32)).traces.map((t) => t.traceId), [id(1, 32), id(0, 32)]);
  assert.deepEqual(store.services(), ["api", "db", "svc"]);
});

Deno.test("TraceStore.find() filters by service, name, attribute, error and trace id, latest first", () => {
  const store = new TraceStore(LIMITS);
  store.add([
    span(0, 0, { name: "GET /orders", attributes: [["http.status_code", 200n]] }, "api"),
    span(1, 0, { name: "SELECT orders", statusCode: 2 }, "db"),
    span(2, 0, { name: "POST /pay", attributes: [["tags", ["a", "b"]]] }, "api"),
  ]);
  const ids = (filter: Parameters<TraceStore["find"]>[0]) =>
    store.find(filter).map((t) => parseInt(t.traceId, 16) - 1);
  assert.deepEqual(ids({}), [2, 1, 0]);
  assert.deepEqual(ids({ service: "api" }), [2, 0]);
  assert.deepEqual(ids({ name: "orders" }), [1, 0]);
  assert.deepEqual(ids({ name: "ORDERS" }), [1, 0]);
  assert.deepEqual(ids({ attribute: "http.status_code=200" }), [0]);
  assert.deepEqual(ids({ attribute: "http.status_code=201" }), []);
  assert.deepEqual(ids({ attribute: "tags" }), [2]);
  assert.deepEqual(ids({ attribute: 'tags=["a","b"]' }), [2]);
  assert.deepEqual(ids({ attribute: "service.name=db" }), [1]); // resource attributes too
  assert.deepEqual(ids({ error: true }), [1]);
  assert.deepEqual(ids({ error: false }), [2, 0]);
  assert.deepEqual(ids({ traceId: id(2, 32) }), [2]);
  assert.deepEqual(ids({ traceId: id(2, 32).slice(0, 31).toUpperCase() }), [2, 1, 0]);
  assert.deepEqual(ids({ service: "api", name: "pay" }), [2]);
});

Deno.test("TraceStore.onChange() tells which traces changed", () => {
  const store = new TraceStore({ ...LIMITS, maxTraces: 1 });
  const seen: string[][] = [];
  const off = store.onChange((ids) => seen.push([...ids]));
  store.add([span(0, 0), span(1, 0)]);
  store.add([span(1, 0)]); // a duplicate: no change
  off();
  store.add([span(2, 0)]);
  assert.deepEqual(seen, [[id(1, 32)]]); // trace 0 was evicted before the change was told
  assert.equal(store.version, 2);
});
