// The OTLP decoders (protobuf and JSON), which the dashboard receives with: against this module's
// encoder, against protobufjs on random requests, and against hostile input.

import assert from "node:assert/strict";
import { Resource } from "../../mod.ts";
import { encodeOtlpTraces } from "../../otlp/mod.ts";
import { decodeProtobufTraces } from "../../otlp/_decode_proto.ts";
import { decodeJsonTraces } from "../../otlp/_decode_json.ts";
import { KvList, MAX_DEPTH, MAX_ITEMS } from "../../otlp/_decode_model.ts";
import { exportRequestJson } from "../../dashboard/_convert.ts";
import {
  type Canon,
  decodeJson,
  decodeProtobuf,
  encodeProtobufRequest,
  expectedRequest,
} from "./_helpers.ts";
import { canonRequests, fanoutActivities, random, randomRequest } from "./_decode_helpers.ts";

const utf8 = new TextEncoder();
const TRACE = "5b8efff798038103d269b633813fc60c";
const SPAN = "eee19b7ec3c1b174";

function fromHex(text: string): Uint8Array {
  return Uint8Array.from(text.match(/../g) ?? [], (b) => parseInt(b, 16));
}

/** A one-span request (protobufjs form) with the span's fields overridden. */
function oneSpan(span: Record<string, unknown>, resource: Record<string, unknown> = {}) {
  return {
    resourceSpans: [{
      resource,
      scopeSpans: [{
        scope: { name: "s" },
        spans: [{ traceId: fromHex(TRACE), spanId: fromHex(SPAN), name: "x", ...span }],
      }],
    }],
  };
}

/** A one-span JSON request with the span's fields overridden. */
function oneJsonSpan(span: Record<string, unknown>, resource: Record<string, unknown> = {}) {
  return utf8.encode(JSON.stringify({
    resourceSpans: [{
      resource,
      scopeSpans: [{ scope: { name: "s" }, spans: [{ traceId: TRACE, spanId: SPAN, ...span }] }],
    }],
  }));
}

function toCanon(value: unknown): Canon {
  switch (typeof value) {
    case "string":
      return { s: value };
    case "boolean":
      return { b: value };
    case "number":
      return Number.isInteger(value) ? { i: String(value) } : { d: value };
    case "bigint":
      return { i: value.toString() };
  }
  if (value instanceof Uint8Array) {
    return { y: Array.from(value, (b) => b.toString(16).padStart(2, "0")).join("") };
  }
  if (Array.isArray(value)) return { a: value.map(toCanon) };
  if (value !== null && typeof value === "object") {
    return { kv: Object.entries(value).map(([k, v]) => [k, toCanon(v)]) };
  }
  return {};
}

Deno.test("decodeProtobufTraces() reads what this module's OTLP exporter encodes, field for field", async () => {
  const activities = await fanoutActivities("orders");
  const resource = new Resource({ "service.name": "orders" });
  for (const protocol of ["http/protobuf", "http/json"] as const) {
    const body = encodeOtlpTraces(activities, resource, { protocol });
    const decoded = protocol === "http/json" ? decodeJsonTraces(body) : decodeProtobufTraces(body);
    assert.equal(decoded.rejectedSpans, 0);
    assert.deepEqual(decoded.problems, []);
    assert.equal(decoded.spans.length, 8);
    assert.deepEqual(
      canonRequests(decoded.spans),
      [expectedRequest(activities, resource.attributes, toCanon)],
      protocol,
    );
  }
});

Deno.test("decodeProtobufTraces() and decodeJsonTraces() agree with protobufjs on 300 random requests", () => {
  const next = random(15);
  for (let i = 0; i < 300; i++) {
    const bytes = encodeProtobufRequest(randomRequest(next));
    const reference = decodeProtobuf(bytes);
    const decoded = decodeProtobufTraces(bytes);
    assert.equal(decoded.rejectedSpans, 0);
    assert.deepEqual(canonRequests(decoded.spans), reference, `request ${i}`);
    // The same spans as OTLP/JSON (the dashboard's export), read back by the JSON decoder and by
    // the reference reading of the OTLP/JSON mapping.
    const json = utf8.encode(JSON.stringify(exportRequestJson(decoded.spans)));
    assert.deepEqual(canonRequests(decodeJsonTraces(json).spans), reference, `JSON ${i}`);
    assert.deepEqual(decodeJson(json), reference, `reference JSON ${i}`);
  }
});

Deno.test("decodeProtobufTraces() reads every AnyValue kind, int64 extremes and double specials", () => {
  const values = [
    { stringValue: "é 🚀" },
    { boolValue: false },
    { intValue: "-9223372036854775808" },
    { intValue: "9223372036854775807" },
    { doubleValue: NaN },
    { doubleValue: -Infinity },
    { bytesValue: new Uint8Array([0, 255]) },
    { arrayValue: { values: [{ intValue: 1 }, { arrayValue: { values: [] } }] } },
    { kvlistValue: { values: [{ key: "k", value: { stringValue: "v" } }] } },
    {},
  ];
  const bytes = encodeProtobufRequest(
    oneSpan({ attributes: values.map((value, i) => ({ key: `k${i}`, value })) }),
  );
  const [span] = decodeProtobufTraces(bytes).spans;
  const got = span!.attributes.map(([, v]) => v);
  assert.equal(got[0], "é 🚀");
  assert.equal(got[1], false);
  assert.equal(got[2], -(2n ** 63n));
  assert.equal(got[3], 2n ** 63n - 1n);
  assert.ok(Number.isNaN(got[4]));
  assert.equal(got[5], -Infinity);
  assert.deepEqual(got[6], new Uint8Array([0, 255]));
  assert.deepEqual(got[7], [1n, []]);
  assert.ok(got[8] instanceof KvList);
  assert.deepEqual((got[8] as KvList).values, [["k", "v"]]);
  assert.equal(got[9], null);
});

Deno.test("decodeProtobufTraces() skips unknown fields and reads fields in any order", () => {
  // Span: name (5) before trace_id (1), an unknown varint field 99 and an unknown fixed32 field
  // 100 in between, then span_id (2).
  const name = [0x2a, 1, 0x78];
  const traceId = [0x0a, 16, ...fromHex(TRACE)];
  const unknown = [0x98, 0x06, 0x2a, 0xa5, 0x06, 1, 2, 3, 4];
  const spanId = [0x12, 8, ...fromHex(SPAN)];
  const span = [...name, ...traceId, ...unknown, ...spanId];
  const scopeSpans = [0x12, span.length, ...span];
  const resourceSpans = [0x12, scopeSpans.length, ...scopeSpans];
  const request = Uint8Array.from([0x0a, resourceSpans.length, ...resourceSpans, 0x10, 7]);
  const decoded = decodeProtobufTraces(request);
  assert.equal(decoded.spans.length, 1);
  assert.equal(decoded.spans[0]!.name, "x");
  assert.equal(decoded.spans[0]!.traceId, TRACE);
  assert.equal(decoded.spans[0]!.spanId, SPAN);
});

Deno.test("decodeProtobufTraces() throws a SyntaxError, never anything else, on truncated input", () => {
  const bytes = encodeProtobufRequest(randomRequest(random(7)));
  let errors = 0;
  for (let cut = 0; cut < bytes.length; cut++) {
    try {
      decodeProtobufTraces(bytes.subarray(0, cut));
    } catch (error) {
      assert.ok(error instanceof SyntaxError, `cut at ${cut}: ${error}`);
      assert.match(error.message, /^Cannot decode OTLP protobuf: /);
      errors++;
    }
  }
  assert.ok(errors > bytes.length / 2, `${errors} of ${bytes.length} cuts failed`);
});

Deno.test("decodeProtobufTraces() survives random bytes and random mutations of a valid request", () => {
  const next = random(99);
  const valid = encodeProtobufRequest(randomRequest(next));
  for (let i = 0; i < 3000; i++) {
    let input: Uint8Array;
    if (i % 2 === 0) {
      input = Uint8Array.from({ length: Math.floor(next() * 64) }, () => Math.floor(next() * 256));
    } else {
      input = valid.slice();
      for (let k = 0; k < 1 + Math.floor(next() * 4); k++) {
        input[Math.floor(next() * input.length)] = Math.floor(next() * 256);
      }
    }
    try {
      const decoded = decodeProtobufTraces(input);
      for (const span of decoded.spans) {
        assert.equal(span.traceId.length, 32);
        assert.equal(span.spanId.length, 16);
      }
    } catch (error) {
      assert.ok(error instanceof SyntaxError, `input ${i}: ${error}`);
    }
  }
});

Deno.test("decodeProtobufTraces() names the field that has the wrong wire type", () => {
  // trace_id (field 1 of Span) sent as a varint.
  const span = [0x08, 0x01];
  const scopeSpans = [0x12, span.length, ...span];
  const request = [0x0a, scopeSpans.length + 2, 0x12, scopeSpans.length, ...scopeSpans];
  assert.throws(
    () => decodeProtobufTraces(Uint8Array.from(request)),
    new SyntaxError(
      "Cannot decode OTLP protobuf: Span field 1 (trace_id) has wire type 0 (varint), expected length-delimited",
    ),
  );
  // resource_spans sent as a fixed32; a group wire type; a field number 0.
  assert.throws(() => decodeProtobufTraces(Uint8Array.from([0x0d, 1, 2, 3, 4])), SyntaxError);
  assert.throws(() => decodeProtobufTraces(Uint8Array.from([0x13])), /wire type 3/);
  assert.throws(() => decodeProtobufTraces(Uint8Array.from([0x00, 0x01])), /invalid field key/);
});

Deno.test("decodeProtobufTraces() refuses a length past the end, however large", () => {
  for (
    const length of [[0x7f], [0xff, 0xff, 0xff, 0xff, 0x0f], [
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0x01,
    ]]
  ) {
    assert.throws(
      () => decodeProtobufTraces(Uint8Array.from([0x0a, ...length, 0x12])),
      /runs past the end of its message/,
    );
  }
  assert.throws(
    () =>
      decodeProtobufTraces(
        Uint8Array.from([0x0a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]),
      ),
    /varint longer than 10 bytes/,
  );
});

/** An attribute value nested `depth` arrays deep, as protobuf bytes of a KeyValue. */
function nestedKeyValue(depth: number): number[] {
  const inner = [0x10, 0x01]; // bool_value: true
  const headers: number[][] = []; // innermost first
  let length = inner.length;
  for (let i = 0; i < depth; i++) {
    const array = [0x0a, ...varint(length)]; // ArrayValue.values
    length += array.length;
    const any = [0x2a, ...varint(length)]; // AnyValue.array_value
    length += any.length;
    headers.push([...any, ...array]);
  }
  const out = [0x0a, 1, 0x6b, 0x12, ...varint(length)]; // key "k", value
  for (let i = headers.length - 1; i >= 0; i--) for (const b of headers[i]!) out.push(b);
  for (const b of inner) out.push(b);
  return out;
}

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

function spanBytes(extra: number[]): number[] {
  return [0x0a, 16, ...fromHex(TRACE), 0x12, 8, ...fromHex(SPAN), ...extra];
}

function requestOf(spans: number[][], resource: number[] = []): Uint8Array {
  const scopeSpans = spans.flatMap((s) => [0x12, ...varint(s.length), ...s]);
  const rs = [...resource, 0x12, ...varint(scopeSpans.length), ...scopeSpans];
  return Uint8Array.from([0x0a, ...varint(rs.length), ...rs]);
}

Deno.test("decodeProtobufTraces() rejects a span whose value is nested too deep, and keeps the others", () => {
  const ok = nestedKeyValue(MAX_DEPTH - 1);
  const deep = nestedKeyValue(50_000);
  const decoded = decodeProtobufTraces(
    requestOf([
      spanBytes([0x4a, ...varint(ok.length), ...ok]),
      spanBytes([0x4a, ...varint(deep.length), ...deep]),
    ]),
  );
  assert.equal(decoded.spans.length, 1);
  assert.equal(decoded.rejectedSpans, 1);
  assert.deepEqual(decoded.problems, [
    `a span was rejected: an attribute value is nested deeper than ${MAX_DEPTH} levels`,
  ]);
  // In the resource: every span under it is rejected.
  const attribute = [0x0a, ...varint(deep.length), ...deep]; // Resource.attributes
  const resource = [0x0a, ...varint(attribute.length), ...attribute]; // ResourceSpans.resource
  const underDeep = decodeProtobufTraces(requestOf([spanBytes([]), spanBytes([])], resource));
  assert.equal(underDeep.spans.length, 0);
  assert.equal(underDeep.rejectedSpans, 2);
  assert.match(underDeep.problems[0]!, /^spans were rejected: its resource was rejected: /);
});

Deno.test("decodeJsonTraces() rejects a span whose value is nested a million levels deep", () => {
  const depth = 1_000_000;
  const value = '{"arrayValue":{"values":['.repeat(depth) + '{"boolValue":true}' +
    "]}}".repeat(depth);
  const body = `{"resourceSpans":[{"scopeSpans":[{"spans":[` +
    `{"traceId":"${TRACE}","spanId":"${SPAN}","attributes":[{"key":"k","value":${value}}]},` +
    `{"traceId":"${TRACE}","spanId":"aaaaaaaaaaaaaaaa"}]}]}]}`;
  const decoded = decodeJsonTraces(utf8.encode(body));
  assert.equal(decoded.rejectedSpans, 1);
  assert.deepEqual(decoded.spans.map((s) => s.spanId), ["aaaaaaaaaaaaaaaa"]);
});

Deno.test("decode*Traces() rejects spans with ids of the wrong length or all zeros, saying why", () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ traceId: new Uint8Array(15) }, "trace id must be 16 bytes, got 15"],
    [{ traceId: new Uint8Array(0) }, "trace id must be 16 bytes, got 0"],
    [{ traceId: new Uint8Array(16) }, "trace id is all zeros"],
    [{ spanId: new Uint8Array(9).fill(1) }, "span id must be 8 bytes, got 9"],
    [{ spanId: new Uint8Array(8) }, "span id is all zeros"],
    [{ parentSpanId: new Uint8Array(4).fill(1) }, "parent span id must be 8 bytes, got 4"],
    [
      { links: [{ traceId: fromHex(TRACE), spanId: new Uint8Array(8) }] },
      "link span id is all zeros",
    ],
  ];
  for (const [override, reason] of cases) {
    const request = oneSpan(override);
    const scope = request.resourceSpans[0]!.scopeSpans[0]!.spans as unknown[];
    scope.push({ traceId: fromHex(TRACE), spanId: fromHex("0102030405060708"), name: "kept" });
    const decoded = decodeProtobufTraces(encodeProtobufRequest(request));
    assert.deepEqual(decoded.spans.map((s) => s.name), ["kept"], reason);
    assert.equal(decoded.rejectedSpans, 1);
    assert.deepEqual(decoded.problems, [`a span was rejected: ${reason}`]);
  }
  for (
    const [override, reason] of [
      [{ traceId: "" }, "trace id must be 16 bytes, got 0"],
      [{ traceId: "xyz" }, "trace id is not hex text"],
      [{ spanId: "00000000000000000" }, "span id is not hex text"],
      [{ spanId: "0000000000000000" }, "span id is all zeros"],
    ] as const
  ) {
    const decoded = decodeJsonTraces(oneJsonSpan(override));
    assert.equal(decoded.rejectedSpans, 1, reason);
    assert.deepEqual(decoded.problems, [`a span was rejected: ${reason}`]);
  }
});

Deno.test("decode*Traces() replaces invalid UTF-8 with U+FFFD and says so", () => {
  const bad = [0x66, 0xff, 0xc3]; // "f", an invalid byte, a truncated sequence
  const decoded = decodeProtobufTraces(requestOf([spanBytes([0x2a, bad.length, ...bad])]));
  assert.equal(decoded.spans[0]!.name, "f\uFFFD\uFFFD");
  assert.deepEqual(decoded.problems, [
    "text that was not valid UTF-8 shows U+FFFD for the bad bytes",
  ]);
  // A real U+FFFD is not a problem.
  const real = [...utf8.encode("\uFFFD")];
  assert.deepEqual(
    decodeProtobufTraces(requestOf([spanBytes([0x2a, real.length, ...real])])).problems,
    [],
  );
  const json = oneJsonSpan({ name: "NAME" });
  const at = new TextDecoder().decode(json).indexOf("NAME");
  const broken = Uint8Array.from([...json.subarray(0, at), 0xff, ...json.subarray(at + 4)]);
  const fromJson = decodeJsonTraces(broken);
  assert.equal(fromJson.spans[0]!.name, "\uFFFD");
  assert.equal(fromJson.problems.length, 1);
});

Deno.test("decode*Traces() keeps 1,000 items of a list and counts the rest as dropped", () => {
  const attributes = Array.from({ length: MAX_ITEMS + 5 }, (_, i) => ({
    key: `k${i}`,
    value: { intValue: i },
  }));
  const links = Array.from({ length: MAX_ITEMS + 2 }, () => ({
    traceId: fromHex(TRACE),
    spanId: fromHex(SPAN),
  }));
  const request = oneSpan({ attributes, droppedAttributesCount: 3, links });
  const [span] = decodeProtobufTraces(encodeProtobufRequest(request)).spans;
  assert.equal(span!.attributes.length, MAX_ITEMS);
  assert.equal(span!.droppedAttributesCount, 8);
  assert.equal(span!.links.length, MAX_ITEMS);
  assert.equal(span!.droppedLinksCount, 2);
  const [fromJson] =
    decodeJsonTraces(utf8.encode(JSON.stringify(exportRequestJson([span!])))).spans;
  assert.equal(fromJson!.attributes.length, MAX_ITEMS);
  const array = {
    arrayValue: { values: Array.from({ length: MAX_ITEMS + 7 }, () => ({ intValue: 1 })) },
  };
  const cut = decodeProtobufTraces(
    encodeProtobufRequest(oneSpan({ attributes: [{ key: "a", value: array }] })),
  );
  assert.equal((cut.spans[0]!.attributes[0]![1] as unknown[]).length, MAX_ITEMS);
  assert.deepEqual(cut.problems, [
    "arrays and key-value lists were cut to 1000 elements (7 times)",
  ]);
});

Deno.test("decodeJsonTraces() reads the OTLP/JSON mapping: hex ids in any case, 64-bit integers, enums", () => {
  const decoded = decodeJsonTraces(oneJsonSpan({
    traceId: TRACE.toUpperCase(),
    kind: "SPAN_KIND_SERVER",
    startTimeUnixNano: 1700000000000000000,
    endTimeUnixNano: "1700000000000000001",
    status: { code: 2, message: "boom" },
    attributes: [
      { key: "i", value: { intValue: "-5" } },
      { key: "d", value: { doubleValue: "Infinity" } },
      { key: "y", value: { bytesValue: "AP8" } },
      { key: "n", value: null },
    ],
    unknownField: { anything: [1, 2] },
    dropped_attributes_count: "snake case is not the mapping: ignored",
  }));
  const [span] = decoded.spans;
  assert.equal(span!.traceId, TRACE);
  assert.equal(span!.kind, 2);
  assert.equal(span!.startTimeUnixNano, 1700000000000000000n);
  assert.equal(span!.endTimeUnixNano, 1700000000000000001n);
  assert.equal(span!.statusCode, 2);
  assert.equal(span!.statusMessage, "boom");
  assert.deepEqual(span!.attributes, [
    ["i", -5n],
    ["d", Infinity],
    ["y", new Uint8Array([0, 255])],
    ["n", null],
  ]);
  assert.equal(span!.droppedAttributesCount, 0);
});

Deno.test("decodeJsonTraces() throws a SyntaxError naming the path of a field of the wrong type", () => {
  const cases: [Uint8Array, string][] = [
    [utf8.encode("{"), "Cannot decode OTLP JSON: "],
    [utf8.encode("[]"), "Cannot decode OTLP JSON: the request must be an object, got an array"],
    [
      utf8.encode('{"resourceSpans":{}}'),
      "Cannot decode OTLP JSON: resourceSpans must be an array, got an object",
    ],
    [
      oneJsonSpan({ name: 5 }),
      "resourceSpans[0].scopeSpans[0].spans[0].name must be a string, got a number",
    ],
    [
      oneJsonSpan({ kind: 1.5 }),
      "resourceSpans[0].scopeSpans[0].spans[0].kind must be an integer, got a number",
    ],
    [oneJsonSpan({ startTimeUnixNano: "-1" }), "spans[0].startTimeUnixNano is out of range: -1"],
    [oneJsonSpan({ startTimeUnixNano: "18446744073709551616" }), "is out of range"],
    [
      oneJsonSpan({ attributes: [{ key: "k", value: { boolValue: "yes" } }] }),
      "attributes[0].value.boolValue must be a boolean",
    ],
    [
      oneJsonSpan({ attributes: [{ key: "k", value: { bytesValue: "!!" } }] }),
      "bytesValue is not base64",
    ],
    [
      oneJsonSpan({ attributes: [{ key: "k", value: { intValue: "9223372036854775808" } }] }),
      "is out of range",
    ],
    [
      oneJsonSpan({ events: [{ timeUnixNano: true }] }),
      "events[0].timeUnixNano must be an integer, got a boolean",
    ],
  ];
  for (const [body, message] of cases) {
    assert.throws(() => decodeJsonTraces(body), (error: Error) => {
      assert.ok(error instanceof SyntaxError, message);
      assert.ok(error.message.includes(message), `${error.message} / ${message}`);
      return true;
    });
  }
});

Deno.test("decode*Traces() keep negative zero, through the JSON export too", () => {
  const request = oneSpan({ attributes: [{ key: "z", value: { doubleValue: -0 } }] });
  const [span] = decodeProtobufTraces(encodeProtobufRequest(request)).spans;
  assert.ok(Object.is(span!.attributes[0]![1], -0));
  const json = utf8.encode(JSON.stringify(exportRequestJson([span!])));
  assert.ok(Object.is(decodeJsonTraces(json).spans[0]!.attributes[0]![1], -0));
});

Deno.test("decode*Traces() reads an empty request as no spans", () => {
  assert.deepEqual(decodeProtobufTraces(new Uint8Array(0)), {
    spans: [],
    rejectedSpans: 0,
    problems: [],
  });
  assert.deepEqual(decodeJsonTraces(utf8.encode("{}")), {
    spans: [],
    rejectedSpans: 0,
    problems: [],
  });
});
