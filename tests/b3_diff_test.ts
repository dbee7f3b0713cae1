// Differential test: B3Propagator against OpenTelemetry JS's B3 propagator over thousands of
// generated carriers, in both directions. Where the two differ, the B3 specification
// (openzipkin/b3-propagation) decides, and every difference must be explained by one of the
// named rules below, each a place where OpenTelemetry JS is more lenient or stricter than it.
import assert from "node:assert/strict";
import { B3InjectEncoding, B3Propagator as OtelB3 } from "npm:@opentelemetry/propagator-b3@2.12.0";
import {
  defaultTextMapGetter,
  defaultTextMapSetter,
  ROOT_CONTEXT,
  trace,
} from "npm:@opentelemetry/api@1.9.1";
import { ActivityContext, B3Propagator } from "../mod.ts";

/** A small seeded generator, so every run sees the same carriers. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const next = random(20261201);
const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
const chance = (p: number): boolean => next() < p;
const hex = (n: number): string => {
  let out = "";
  for (let i = 0; i < n; i++) out += "0123456789abcdef"[Math.floor(next() * 16)];
  return out;
};

/** An id, mostly valid, sometimes broken the ways real headers are. */
function id(length: 16 | 32): string {
  let text = chance(0.04) ? "0".repeat(length) : hex(length);
  if (length === 32 && chance(0.2)) text = hex(16); // a 64-bit trace id
  if (chance(0.05)) text = text.toUpperCase();
  if (chance(0.04)) text = text.slice(1);
  if (chance(0.04)) text += "a";
  if (chance(0.03)) text = text.replace(/.$/, "g");
  return text;
}

function singleHeader(): string {
  if (chance(0.05)) return pick(["0", "1", "d", "", "-", "garbage"]);
  let text = `${id(32)}-${id(16)}`;
  const state = pick(["", "-1", "-0", "-d", "-2", "-true", "-D", "-01"]);
  text += state;
  if (chance(0.3)) text += `-${id(16)}`;
  if (chance(0.05)) text = pick(["x", " ", "-", "00-"]) + text;
  if (chance(0.05)) text += pick(["x", " ", "-", "-x", "1"]);
  return text;
}

function multiHeaders(carrier: Record<string, string>): void {
  if (chance(0.95)) carrier["x-b3-traceid"] = pick(["", " "]).repeat(chance(0.05) ? 1 : 0) + id(32);
  if (chance(0.95)) carrier["x-b3-spanid"] = id(16);
  if (chance(0.3)) carrier["x-b3-parentspanid"] = id(16);
  if (chance(0.8)) {
    carrier["x-b3-sampled"] = pick(["1", "0", "true", "false", "True", "False", "TRUE", "x", "d"]);
  }
  if (chance(0.2)) carrier["x-b3-flags"] = pick(["1", "0", "x"]);
}

function carrier(): Record<string, string> {
  const out: Record<string, string> = {};
  const kind = pick(["single", "multi", "both"]);
  if (kind !== "multi") out.b3 = singleHeader();
  if (kind !== "single") multiHeaders(out);
  return out;
}

const otel = new OtelB3();
const ours = new B3Propagator();

/** What each side extracts: `traceId-spanId-flags`, or `none`. */
function theirs(input: Record<string, string>): string {
  const context = trace.getSpanContext(otel.extract(ROOT_CONTEXT, input, defaultTextMapGetter));
  return context === undefined
    ? "none"
    : `${context.traceId}-${context.spanId}-${context.traceFlags}`;
}

function mine(input: Record<string, string>): string {
  const context = ours.extract(input).activityContext;
  return context === undefined
    ? "none"
    : `${context.traceId}-${context.spanId}-${context.traceFlags}`;
}

const LOWER_ID = /^([0-9a-f]{16}){1,2}$/;
const SINGLE =
  /^([0-9a-f]{16}){1,2}-[0-9a-f]{16}(-[01d])?(-[0-9a-f]{16})?$|^([0-9a-f]{16}){1,2}-[0-9a-f]{16}-[0-9a-f]{16}$/;

/**
 * Why the two may differ on a carrier, by the B3 specification, or `undefined` when nothing
 * explains a difference.
 */
function explain(input: Record<string, string>): string | undefined {
  const single = input.b3;
  if (single !== undefined && single.trim() !== "") {
    // "b3: {TraceId}-{SpanId}-{SamplingState}-{ParentSpanId}": the whole value is that
    // grammar. OpenTelemetry JS matches its pattern anywhere in the value (the expression is
    // not anchored), so it reads ids out of longer or prefixed text, takes `-2` or `-true` as
    // a deferred decision followed by junk, and reads a 64-bit id out of a 65-character one.
    if (!SINGLE.test(single.trim())) return "single header outside the grammar";
    // HTTP field values have no leading or trailing whitespace (RFC 9110, section 5.5); this
    // module trims it, OpenTelemetry JS's pattern skips it too, so no rule is needed here.
    return undefined;
  }
  const traceId = input["x-b3-traceid"];
  const spanId = input["x-b3-spanid"];
  // "X-B3-TraceId: ... encoded as 32 or 16 lower-hex characters" (the span id as 16);
  // OpenTelemetry JS accepts upper-case hex too.
  if (/[A-F]/.test(`${traceId}${spanId}`)) return "upper-case id";
  // The same rule: 32 or 16 characters. OpenTelemetry JS pads any shorter hex id with zeros
  // to 32, so it reads a 31-character id (a truncated one) as a valid trace.
  if (traceId !== undefined && !LOWER_ID.test(traceId.trim())) return "trace id of another length";
  // Whitespace around a header's value is not part of it (RFC 9110, section 5.5): this module
  // trims it; OpenTelemetry JS reads " 80f1…" as an invalid id.
  if (traceId !== undefined && traceId !== traceId.trim()) return "whitespace around the value";
  // "Before this specification was written, some tracers propagated X-B3-Sampled as true|false
  // as opposed to 1|0. As such, instrumentation must accept either." The specification does
  // not limit their case; OpenTelemetry JS accepts only `true`, `True`, `false`, `False`.
  const sampled = input["x-b3-sampled"];
  if (sampled !== undefined && /^(true|false)$/i.test(sampled)) return "true or false in any case";
  return undefined;
}

Deno.test("B3Propagator.extract() agrees with OpenTelemetry JS, every difference explained", () => {
  const unexplained: string[] = [];
  const reasons = new Map<string, number>();
  let same = 0;
  let found = 0;
  for (let i = 0; i < 5000; i++) {
    const input = carrier();
    const a = mine(input);
    const b = theirs(input);
    if (a === b) {
      same++;
      if (a !== "none") found++;
      continue;
    }
    const reason = explain(input);
    if (reason === undefined) unexplained.push(`${JSON.stringify(input)}: ours ${a}, theirs ${b}`);
    else reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  }
  assert.deepEqual(unexplained.slice(0, 5), []);
  // Most carriers agree (the generator breaks about a third on purpose), many of them with a context: the generator reaches both sides.
  assert.ok(same > 3000, `only ${same} agree`);
  assert.ok(found > 1000, `only ${found} contexts agreed on`);
  assert.deepEqual([...reasons.keys()].sort(), [
    "single header outside the grammar",
    "trace id of another length",
    "true or false in any case",
    "upper-case id",
    "whitespace around the value",
  ]);
});

Deno.test("B3Propagator.inject() writes what OpenTelemetry JS writes, both encodings", () => {
  const encodings = [
    ["single", B3InjectEncoding.SINGLE_HEADER],
    ["multi", B3InjectEncoding.MULTI_HEADER],
  ] as const;
  for (const [encoding, theirEncoding] of encodings) {
    const mineB3 = new B3Propagator({ encoding });
    const theirB3 = new OtelB3({ injectEncoding: theirEncoding });
    for (let i = 0; i < 500; i++) {
      // A context as extracted, in the same encoding, from a sampled, unsampled or debug trace.
      const [traceId, spanId, state] = [hex(32), hex(16), pick(["0", "1", "d"])];
      const header: Record<string, string> = encoding === "single"
        ? { b3: `${traceId}-${spanId}-${state}` }
        : state === "d"
        ? { "x-b3-traceid": traceId, "x-b3-spanid": spanId, "x-b3-flags": "1" }
        : { "x-b3-traceid": traceId, "x-b3-spanid": spanId, "x-b3-sampled": state };
      const context = mineB3.extract(header).activityContext;
      assert.ok(context instanceof ActivityContext);
      const written: Record<string, string> = {};
      mineB3.inject(context, written);
      const expected: Record<string, string> = {};
      theirB3.inject(
        theirB3.extract(ROOT_CONTEXT, header, defaultTextMapGetter),
        expected,
        defaultTextMapSetter,
      );
      assert.deepEqual(written, expected, JSON.stringify(header));
    }
  }
});

Deno.test("B3Propagator keeps the debug flag across encodings, where OpenTelemetry JS loses it", () => {
  // Debug is a property of the trace ("X-B3-Flags: 1" in the multi encoding, "d" in the single
  // one, the same flag): a debug trace read in one encoding stays debug when sent in the other.
  // OpenTelemetry JS stores the flag as the text it read ("d" or "1") and each encoding writes
  // it only when it finds its own text, so it sends such a trace as merely sampled.
  const header = { b3: "a7058a316e5f889d68ebf0968cff6c50-e49668520397dded-d" };
  const multi = new B3Propagator({ encoding: "multi" });
  const written: Record<string, string> = {};
  multi.inject(multi.extract(header).activityContext, written);
  assert.equal(written["x-b3-flags"], "1");
  const theirB3 = new OtelB3({ injectEncoding: B3InjectEncoding.MULTI_HEADER });
  const theirs: Record<string, string> = {};
  theirB3.inject(
    theirB3.extract(ROOT_CONTEXT, header, defaultTextMapGetter),
    theirs,
    defaultTextMapSetter,
  );
  assert.equal(theirs["x-b3-flags"], undefined);
  assert.equal(theirs["x-b3-sampled"], "1");
});
