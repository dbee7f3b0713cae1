// Rows 9 and 10: OTLP encoding of one batch of 512 finished spans, the size of the batch
// processor's default batch, as the body of one `POST /v1/traces`. The spans are those of the
// service benchmark: 256 traced requests, each a server span continuing a remote trace with the
// eight tags `instrumentHandler` sets, and a child with two tags. Ours: `encodeOtlpTraces` in
// `http/protobuf` (row 9) and `http/json` (row 10). Peer: `@opentelemetry/otlp-transformer`'s
// `ProtobufTraceSerializer` and `JsonTraceSerializer` (the release that goes with SDK 2.12.1,
// which its OTLP exporters use) on the same spans made by the SDK. The runner does not force a
// full garbage collection between batches here (`collect: false`, both sides): it made V8 throw
// away both encoders' optimized code at every batch ("embedded weak objects cleared"), so each
// one-call batch ran unoptimized, 3 to 5 times slower.
//
//   deno bench --allow-env bench/encode_bench.ts

import {
  JsonTraceSerializer,
  ProtobufTraceSerializer,
} from "npm:@opentelemetry/otlp-transformer@0.223.1";
import { resourceFromAttributes } from "npm:@opentelemetry/resources@2.12.1";
import {
  BasicTracerProvider,
  bench,
  InMemorySpanExporter,
  keep,
  otel,
  SimpleSpanProcessor,
} from "./_common.ts";
import {
  type Activity,
  ActivitySource,
  createTracerProviderBuilder,
  InMemoryExporter,
  Resource,
} from "../mod.ts";
import { encodeOtlpTraces } from "../otlp/mod.ts";

/** Spans per batch: the batch processor's default batch size. */
export const BATCH = 512;

const TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
const SERVICE = "bench-service";

const serverTags = (): [string, string | number][] => [
  ["http.request.method", "GET"],
  ["url.path", "/"],
  ["url.scheme", "http"],
  ["server.address", "127.0.0.1"],
  ["server.port", 18100],
  ["http.route", "/"],
  ["user_agent.original", "wrk"],
];

/** Ours: the activities of 256 requests, as the exporter gets them. */
function ourBatch(): { activities: Activity[]; resource: Resource } {
  const memory = new InMemoryExporter();
  const resource = new Resource({ "service.name": SERVICE });
  createTracerProviderBuilder().addSource("bench.encode").setResource(resource)
    .addInMemoryExporter(memory).build();
  const source = new ActivitySource("bench.encode");
  for (let i = 0; i < BATCH / 2; i++) {
    const server = source.startActivity("GET /", {
      kind: "server",
      parent: TRACEPARENT,
      tags: serverTags(),
    })!;
    const child = source.startActivity("load cart", { parent: server.context })!;
    child.setTag("cart.id", "c-1024").setTag("cart.items", 3);
    child.stop();
    server.setTag("http.response.status_code", 200);
    server.stop();
  }
  return { activities: [...memory.activities], resource };
}

/** The peer: the same spans made by the SDK, as its batch processor hands them over. */
function theirBatch() {
  const memory = new InMemorySpanExporter();
  const tracer = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": SERVICE }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  }).getTracer("bench.encode");
  const parent = otel.trace.setSpanContext(otel.ROOT_CONTEXT, {
    traceId: "0af7651916cd43dd8448eb211c80319c",
    spanId: "b7ad6b7169203331",
    traceFlags: 1,
    isRemote: true,
  });
  for (let i = 0; i < BATCH / 2; i++) {
    const server = tracer.startSpan("GET /", {
      kind: otel.SpanKind.SERVER,
      attributes: Object.fromEntries(serverTags()),
    }, parent);
    const child = tracer.startSpan(
      "load cart",
      {},
      otel.trace.setSpan(otel.ROOT_CONTEXT, server),
    );
    child.setAttribute("cart.id", "c-1024").setAttribute("cart.items", 3);
    child.end();
    server.setAttribute("http.response.status_code", 200);
    server.end();
  }
  return memory.getFinishedSpans();
}

export const ours = ourBatch();
export const theirs = theirBatch();
if (ours.activities.length !== BATCH || theirs.length !== BATCH) {
  throw new Error(`Cannot run the encoding rows: expected ${BATCH} spans on each side`);
}

bench({
  name: "activity: encodeOtlpTraces, http/protobuf, 512 spans",
  group: "otlp protobuf",
  baseline: true,
  collect: false,
  fn: () => keep(encodeOtlpTraces(ours.activities, ours.resource)),
});

bench({
  name: "opentelemetry: ProtobufTraceSerializer, 512 spans",
  group: "otlp protobuf",
  collect: false,
  fn: () => keep(ProtobufTraceSerializer.serializeRequest(theirs)),
});

bench({
  name: "activity: encodeOtlpTraces, http/json, 512 spans",
  group: "otlp json",
  baseline: true,
  collect: false,
  fn: () => keep(encodeOtlpTraces(ours.activities, ours.resource, { protocol: "http/json" })),
});

bench({
  name: "opentelemetry: JsonTraceSerializer, 512 spans",
  group: "otlp json",
  collect: false,
  fn: () => keep(JsonTraceSerializer.serializeRequest(theirs)),
});
