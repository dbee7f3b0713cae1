// Helpers of the OTLP decoder's tests and of the dashboard's: the canonical form of decoded spans
// (the form _helpers.ts gives protobufjs's decoding and the activities themselves), a seeded
// generator of random OTLP requests, and the guide's fan-out, to send with this module's exporter.

import type { Canon, CanonRequest, CanonSpan } from "./_helpers.ts";
import {
  KvList,
  type OtlpAttribute,
  type OtlpSpan,
  type OtlpValue,
} from "../../otlp/_decode_model.ts";
import {
  Activity,
  ActivityLink,
  ActivitySource,
  createTracerProviderBuilder,
  InMemoryExporter,
} from "../../mod.ts";

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A decoded value in canonical form. */
export function canonValue(value: OtlpValue): Canon {
  switch (typeof value) {
    case "string":
      return { s: value };
    case "boolean":
      return { b: value };
    case "bigint":
      return { i: value.toString() };
    case "number":
      return {
        d: Number.isNaN(value)
          ? "NaN"
          : value === Infinity
          ? "Infinity"
          : value === -Infinity
          ? "-Infinity"
          : value,
      };
  }
  if (value === null) return {};
  if (value instanceof Uint8Array) return { y: hex(value) };
  if (value instanceof KvList) return { kv: canonAttributes(value.values) };
  return { a: value.map(canonValue) };
}

/** Decoded attributes in canonical form. */
export function canonAttributes(list: readonly OtlpAttribute[]): [string, Canon][] {
  return list.map(([k, v]) => [k, canonValue(v)]);
}

/** A decoded span in canonical form. */
export function canonSpan(s: OtlpSpan): CanonSpan {
  return {
    traceId: s.traceId,
    spanId: s.spanId,
    traceState: s.traceState,
    parentSpanId: s.parentSpanId,
    flags: s.flags,
    name: s.name,
    kind: s.kind,
    start: s.startTimeUnixNano.toString(),
    end: s.endTimeUnixNano.toString(),
    attributes: canonAttributes(s.attributes),
    droppedAttributes: s.droppedAttributesCount,
    events: s.events.map((e) => ({
      time: e.timeUnixNano.toString(),
      name: e.name,
      attributes: canonAttributes(e.attributes),
      dropped: e.droppedAttributesCount,
    })),
    droppedEvents: s.droppedEventsCount,
    links: s.links.map((l) => ({
      traceId: l.traceId,
      spanId: l.spanId,
      traceState: l.traceState,
      attributes: canonAttributes(l.attributes),
      dropped: l.droppedAttributesCount,
      flags: l.flags,
    })),
    droppedLinks: s.droppedLinksCount,
    status: { code: s.statusCode, message: s.statusMessage },
  };
}

/**
 * Decoded spans in the canonical form of whole requests: grouped by their resource, then scope
 * (each resource and scope of a decoded request is one object its spans share).
 */
export function canonRequests(spans: readonly OtlpSpan[]): CanonRequest[] {
  const out: CanonRequest[] = [];
  const resources = new Map<unknown, CanonRequest>();
  const scopes = new Map<unknown, CanonRequest["scopes"][number]>();
  for (const span of spans) {
    let request = resources.get(span.resource);
    if (request === undefined) {
      request = { resource: canonAttributes(span.resource.attributes), scopes: [] };
      resources.set(span.resource, request);
      out.push(request);
    }
    let scope = scopes.get(span.scope);
    if (scope === undefined) {
      scope = {
        name: span.scope.name,
        version: span.scope.version,
        attributes: canonAttributes(span.scope.attributes),
        spans: [],
      };
      scopes.set(span.scope, scope);
      request.scopes.push(scope);
    }
    scope.spans.push(canonSpan(span));
  }
  return out;
}

/** A seeded pseudo-random generator (mulberry32). */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TEXTS = [
  "",
  "a",
  "GET /orders",
  "<script>x</script>",
  "é ü 漢字 🚀",
  "line\nbreak",
  "\u202Eevil",
];

/**
 * A random ExportTraceServiceRequest as protobufjs takes it (every field kind, nested values,
 * several resources and scopes), with valid ids.
 */
export function randomRequest(next: () => number): Record<string, unknown> {
  const int = (n: number) => Math.floor(next() * n);
  const text = () => next() < 0.7 ? TEXTS[int(TEXTS.length)]! : `t${int(1e6)}`;
  const bytes = (n: number) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = int(256);
    out[0] = out[0]! | 1; // never all zeros
    return out;
  };
  const u64 = () => (BigInt(int(2 ** 31)) * 1_000_000_000n + BigInt(int(1e9))).toString();
  const any = (depth: number): Record<string, unknown> => {
    switch (int(depth > 3 ? 5 : 7)) {
      case 0:
        return { stringValue: text() };
      case 1:
        return { boolValue: next() < 0.5 };
      case 2: {
        const choices = [
          "0",
          "-1",
          "9007199254740993",
          "-9223372036854775808",
          "9223372036854775807",
        ];
        return { intValue: next() < 0.5 ? choices[int(choices.length)] : String(int(1e6)) };
      }
      case 3: {
        const choices = [0.5, 0, NaN, Infinity, -Infinity, 1e300, 3]; // -0: tested alone
        return { doubleValue: choices[int(choices.length)] };
      }
      case 4:
        return { bytesValue: bytes(int(5)) };
      case 5:
        return { arrayValue: { values: Array.from({ length: int(4) }, () => any(depth + 1)) } };
      default:
        return { kvlistValue: { values: attrs(depth + 1, 3) } };
    }
  };
  const attrs = (depth: number, max: number) =>
    Array.from({ length: int(max) }, () => ({ key: text(), value: any(depth) }));
  const span = () => ({
    traceId: bytes(16),
    spanId: bytes(8),
    traceState: next() < 0.3 ? "vendor=abc" : "",
    parentSpanId: next() < 0.5 ? bytes(8) : undefined,
    flags: int(1024),
    name: text(),
    kind: int(6),
    startTimeUnixNano: u64(),
    endTimeUnixNano: u64(),
    attributes: attrs(0, 5),
    droppedAttributesCount: int(3),
    events: Array.from({ length: int(3) }, () => ({
      timeUnixNano: u64(),
      name: text(),
      attributes: attrs(0, 3),
      droppedAttributesCount: int(2),
    })),
    droppedEventsCount: int(2),
    links: Array.from({ length: int(3) }, () => ({
      traceId: bytes(16),
      spanId: bytes(8),
      traceState: next() < 0.3 ? "k=v" : "",
      attributes: attrs(0, 3),
      droppedAttributesCount: int(2),
      flags: int(1024),
    })),
    droppedLinksCount: int(2),
    status: next() < 0.5 ? { code: int(3), message: text() } : undefined,
  });
  return {
    resourceSpans: Array.from({ length: 1 + int(2) }, () => ({
      resource: { attributes: attrs(0, 4), droppedAttributesCount: int(2) },
      scopeSpans: Array.from({ length: 1 + int(2) }, () => ({
        scope: { name: text(), version: text(), attributes: attrs(0, 2) },
        spans: Array.from({ length: 1 + int(3) }, span),
      })),
    })),
  };
}

/** The guide's fan-out, stopped, with the resource it was exported with. */
export async function fanoutActivities(service = "orders"): Promise<Activity[]> {
  const memory = new InMemoryExporter();
  const source = new ActivitySource(`Dashboard.Test.${crypto.randomUUID()}`);
  const provider = createTracerProviderBuilder().addSource(source.name).setServiceName(service)
    .addInMemoryExporter(memory).build();
  await source.startActiveActivity("OrchestratingActivity", async (orchestrating) => {
    orchestrating?.setTag("operation", "main-process");
    const links = [new ActivityLink(Activity.current!.context, { "link.reason": "fan-out" })];
    await Promise.all(
      [1, 2, 3].map((n) =>
        source.startActiveActivity(`FannedOutActivity ${n}`, { root: true, links }, async () => {
          await Promise.resolve();
          source.startActivity("Step", { tags: { step: n } })?.stop();
        })
      ),
    );
    using wrapUp = source.startActivity("WrapUp");
    wrapUp?.setTag("status", "completed");
  });
  await provider.shutdown();
  return memory.activities.slice();
}
