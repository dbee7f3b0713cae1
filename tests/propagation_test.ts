import assert from "node:assert/strict";
import {
  Activity,
  ActivityContext,
  ActivitySource,
  createTracerProviderBuilder,
  deleteTraceStateMember,
  extract,
  inject,
  parseTraceState,
  setTraceStateMember,
} from "../mod.ts";

const TRACE_ID = "12345678901234567890123456789012";
const SPAN_ID = "1234567890123456";
const TP = `00-${TRACE_ID}-${SPAN_ID}-01`;

/** Header lines as a client sends them: `[name, value]` pairs, names in any case, repeated. */
type Lines = [string, string][];

/** The request headers a server receives for these lines (repeated lines are combined). */
function asHeaders(lines: Lines): Headers {
  const headers = new Headers();
  for (const [name, value] of lines) headers.append(name, value);
  return headers;
}

/** The same lines as a Node-style object: lowercase names, an array per repeated name. */
function asObject(lines: Lines): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of lines) {
    const key = name.toLowerCase();
    const prior = out[key];
    out[key] = prior === undefined ? value : [...(Array.isArray(prior) ? prior : [prior]), value];
  }
  return out;
}

/** The same lines as a Map with the names exactly as sent, values as arrays. */
function asMap(lines: Lines): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [name, value] of lines) out.set(name, [...(out.get(name) ?? []), value]);
  return out;
}

/** A provider that records everything from the test source, for the length of one test. */
function provider(): Disposable {
  return createTracerProviderBuilder().addSource("Propagation.Test").build();
}
const source = new ActivitySource("Propagation.Test");

/**
 * What the W3C test suite's service does: continue the incoming context as a server activity,
 * then call out with `inject`. Returns the outgoing headers as parsed by the suite's rules.
 */
function roundTrip(
  carrier: unknown,
): {
  traceId: string;
  parentId: string;
  flags: number;
  state: Map<string, string>;
  text: string | null;
} {
  const parent = extract(carrier);
  const server = parent !== undefined
    ? source.startActivity("server", { kind: "server", parent })
    : source.startActivity("server", { kind: "server", root: true });
  assert.ok(server !== undefined);
  const client = source.startActivity("client", { kind: "client", parent: server });
  assert.ok(client !== undefined);
  const out = new Headers();
  inject(client, out);
  client.stop();
  server.stop();
  const traceparent = out.get("traceparent");
  assert.ok(traceparent !== null);
  const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(traceparent);
  assert.ok(match, `outgoing traceparent ${traceparent} is a version 00 traceparent`);
  const tracestate = out.get("tracestate");
  const members = tracestate === null ? [] : parseTraceState(tracestate);
  assert.ok(members !== undefined, `outgoing tracestate ${tracestate} is valid`);
  return {
    traceId: match[1]!,
    parentId: match[2]!,
    flags: parseInt(match[3]!, 16),
    state: new Map(members),
    text: tracestate,
  };
}

/**
 * What the outgoing headers must show. `traceId`: "same" when the incoming trace continues,
 * "new" when a new trace starts; `has`: members sent on; `lacks`: keys not sent on; `count`:
 * how many members; `exact`: the whole outgoing `tracestate` (`null` for none).
 */
interface Expect {
  traceId: "same" | "new";
  has?: Record<string, string>;
  lacks?: string[];
  count?: number;
  exact?: string | null;
}

/**
 * The W3C Trace Context test suite (w3c/trace-context, test/test.py at commit
 * acab820be9db7b3433668baa5cdd43f57f4c4be0, after "Fix tracestate key grammar tests"), every
 * case at SPEC_LEVEL=2 STRICT_LEVEL=2, one row per request the suite sends, named after the
 * suite's test method. Where the suite allows a choice (duplicate keys), `exact` pins the one
 * this module makes.
 */
const SUITE: [string, Lines, Expect][] = [
  ["test_both_traceparent_and_tracestate_missing", [], { traceId: "new" }],
  ["test_traceparent_included_tracestate_missing", [["traceparent", TP]], { traceId: "same" }],
  ["test_traceparent_duplicated", [
    ["traceparent", `00-12345678901234567890123456789011-${SPAN_ID}-01`],
    ["traceparent", TP],
  ], { traceId: "new" }],
  ["test_traceparent_header_name (trace-parent)", [["trace-parent", TP]], { traceId: "new" }],
  ["test_traceparent_header_name (trace.parent)", [["trace.parent", TP]], { traceId: "new" }],
  ["test_traceparent_header_name_valid_casing (TraceParent)", [["TraceParent", TP]], {
    traceId: "same",
  }],
  ["test_traceparent_header_name_valid_casing (TrAcEpArEnT)", [["TrAcEpArEnT", TP]], {
    traceId: "same",
  }],
  ["test_traceparent_header_name_valid_casing (TRACEPARENT)", [["TRACEPARENT", TP]], {
    traceId: "same",
  }],
  ["test_traceparent_version_0x00 (trailing '.')", [["traceparent", `${TP}.`]], {
    traceId: "new",
  }],
  ["test_traceparent_version_0x00 (future fields)", [[
    "traceparent",
    `${TP}-what-the-future-will-be-like`,
  ]], { traceId: "new" }],
  ["test_traceparent_version_0xcc", [["traceparent", `cc-${TRACE_ID}-${SPAN_ID}-01`]], {
    traceId: "same",
  }],
  ["test_traceparent_version_0xcc (future fields)", [[
    "traceparent",
    `cc-${TRACE_ID}-${SPAN_ID}-01-what-the-future-will-be-like`,
  ]], { traceId: "same" }],
  ["test_traceparent_version_0xcc ('.' after flags)", [[
    "traceparent",
    `cc-${TRACE_ID}-${SPAN_ID}-01.what-the-future-will-be-like`,
  ]], { traceId: "new" }],
  ["test_traceparent_version_0xff", [["traceparent", `ff-${TRACE_ID}-${SPAN_ID}-01`]], {
    traceId: "new",
  }],
  ["test_traceparent_version_illegal_characters (.0)", [[
    "traceparent",
    `.0-${TRACE_ID}-${SPAN_ID}-01`,
  ]], { traceId: "new" }],
  ["test_traceparent_version_illegal_characters (0.)", [[
    "traceparent",
    `0.-${TRACE_ID}-${SPAN_ID}-01`,
  ]], { traceId: "new" }],
  ["test_traceparent_version_too_long (000)", [["traceparent", `000-${TRACE_ID}-${SPAN_ID}-01`]], {
    traceId: "new",
  }],
  ["test_traceparent_version_too_long (0000)", [[
    "traceparent",
    `0000-${TRACE_ID}-${SPAN_ID}-01`,
  ]], { traceId: "new" }],
  ["test_traceparent_version_too_short", [["traceparent", `0-${TRACE_ID}-${SPAN_ID}-01`]], {
    traceId: "new",
  }],
  ["test_traceparent_trace_id_all_zero", [["traceparent", `00-${"0".repeat(32)}-${SPAN_ID}-01`]], {
    traceId: "new",
  }],
  ["test_traceparent_trace_id_illegal_characters (first)", [[
    "traceparent",
    `00-.2345678901234567890123456789012-${SPAN_ID}-01`,
  ]], { traceId: "new" }],
  ["test_traceparent_trace_id_illegal_characters (last)", [[
    "traceparent",
    `00-1234567890123456789012345678901.-${SPAN_ID}-01`,
  ]], { traceId: "new" }],
  ["test_traceparent_trace_id_too_long", [[
    "traceparent",
    `00-123456789012345678901234567890123-${SPAN_ID}-01`,
  ]], { traceId: "new" }],
  ["test_traceparent_trace_id_too_short", [[
    "traceparent",
    `00-1234567890123456789012345678901-${SPAN_ID}-01`,
  ]], { traceId: "new" }],
  [
    "test_traceparent_parent_id_all_zero",
    [["traceparent", `00-${TRACE_ID}-${"0".repeat(16)}-01`]],
    {
      traceId: "new",
    },
  ],
  ["test_traceparent_parent_id_illegal_characters (first)", [[
    "traceparent",
    `00-${TRACE_ID}-.234567890123456-01`,
  ]], { traceId: "new" }],
  ["test_traceparent_parent_id_illegal_characters (last)", [[
    "traceparent",
    `00-${TRACE_ID}-123456789012345.-01`,
  ]], { traceId: "new" }],
  ["test_traceparent_parent_id_too_long", [[
    "traceparent",
    `00-${TRACE_ID}-12345678901234567-01`,
  ]], { traceId: "new" }],
  ["test_traceparent_parent_id_too_short", [["traceparent", `00-${TRACE_ID}-123456789012345-01`]], {
    traceId: "new",
  }],
  ["test_traceparent_trace_flags_illegal_characters (.0)", [[
    "traceparent",
    `00-${TRACE_ID}-${SPAN_ID}-.0`,
  ]], { traceId: "new" }],
  ["test_traceparent_trace_flags_illegal_characters (0.)", [[
    "traceparent",
    `00-${TRACE_ID}-${SPAN_ID}-0.`,
  ]], { traceId: "new" }],
  ["test_traceparent_trace_flags_too_long", [["traceparent", `00-${TRACE_ID}-${SPAN_ID}-001`]], {
    traceId: "new",
  }],
  ["test_traceparent_trace_flags_too_short", [["traceparent", `00-${TRACE_ID}-${SPAN_ID}-1`]], {
    traceId: "new",
  }],
  ["test_traceparent_ows_handling (leading space)", [["traceparent", ` ${TP}`]], {
    traceId: "same",
  }],
  ["test_traceparent_ows_handling (leading tab)", [["traceparent", `\t${TP}`]], {
    traceId: "same",
  }],
  ["test_traceparent_ows_handling (trailing space)", [["traceparent", `${TP} `]], {
    traceId: "same",
  }],
  ["test_traceparent_ows_handling (trailing tab)", [["traceparent", `${TP}\t`]], {
    traceId: "same",
  }],
  ["test_traceparent_ows_handling (both)", [["traceparent", `\t ${TP} \t`]], { traceId: "same" }],
  ["test_tracestate_included_traceparent_missing (foo=1)", [["tracestate", "foo=1"]], {
    traceId: "new",
    lacks: ["foo"],
  }],
  ["test_tracestate_included_traceparent_missing (foo=1,bar=2)", [["tracestate", "foo=1,bar=2"]], {
    traceId: "new",
    lacks: ["foo", "bar"],
  }],
  ["test_tracestate_included_traceparent_included", [
    ["traceparent", TP],
    ["tracestate", "foo=1,bar=2"],
  ], { traceId: "same", has: { foo: "1", bar: "2" } }],
  ["test_tracestate_header_name (trace-state)", [["traceparent", TP], ["trace-state", "foo=1"]], {
    traceId: "same",
    lacks: ["foo"],
  }],
  ["test_tracestate_header_name (trace.state)", [["traceparent", TP], ["trace.state", "foo=1"]], {
    traceId: "same",
    lacks: ["foo"],
  }],
  ["test_tracestate_header_name_valid_casing (TraceState)", [
    ["traceparent", TP],
    ["TraceState", "foo=1"],
  ], { traceId: "same", has: { foo: "1" } }],
  ["test_tracestate_header_name_valid_casing (TrAcEsTaTe)", [
    ["traceparent", TP],
    ["TrAcEsTaTe", "foo=1"],
  ], { traceId: "same", has: { foo: "1" } }],
  ["test_tracestate_header_name_valid_casing (TRACESTATE)", [
    ["traceparent", TP],
    ["TRACESTATE", "foo=1"],
  ], { traceId: "same", has: { foo: "1" } }],
  ["test_tracestate_empty_header (only empty)", [["traceparent", TP], ["tracestate", ""]], {
    traceId: "same",
    count: 0,
    has: {},
  }],
  ["test_tracestate_empty_header (empty last)", [
    ["traceparent", TP],
    ["tracestate", "foo=1"],
    ["tracestate", ""],
  ], { traceId: "same", has: { foo: "1" } }],
  ["test_tracestate_empty_header (empty first)", [
    ["traceparent", TP],
    ["tracestate", ""],
    ["tracestate", "foo=1"],
  ], { traceId: "same", has: { foo: "1" } }],
  ["test_tracestate_multiple_headers_different_keys", [
    ["traceparent", TP],
    ["tracestate", "foo=1,bar=2"],
    ["tracestate", "rojo=1,congo=2"],
    ["tracestate", "baz=3"],
  ], { traceId: "same", exact: "foo=1,bar=2,rojo=1,congo=2,baz=3" }],
  ["test_tracestate_duplicated_keys (foo=1,foo=1)", [
    ["traceparent", TP],
    ["tracestate", "foo=1,foo=1"],
  ], { traceId: "same", exact: "foo=1" }],
  ["test_tracestate_duplicated_keys (foo=1,foo=2)", [
    ["traceparent", TP],
    ["tracestate", "foo=1,foo=2"],
  ], { traceId: "same", exact: "foo=1" }],
  ["test_tracestate_duplicated_keys (two lines, same value)", [
    ["traceparent", TP],
    ["tracestate", "foo=1"],
    ["tracestate", "foo=1"],
  ], { traceId: "same", exact: "foo=1" }],
  ["test_tracestate_duplicated_keys (two lines, other value)", [
    ["traceparent", TP],
    ["tracestate", "foo=1"],
    ["tracestate", "foo=2"],
  ], { traceId: "same", exact: "foo=1" }],
  ["test_tracestate_ows_handling (around commas)", [
    ["traceparent", TP],
    ["tracestate", "foo=1 \t , \t bar=2, \t baz=3"],
  ], { traceId: "same", has: { foo: "1", bar: "2", baz: "3" } }],
  ["test_tracestate_ows_handling (tabs and spaces)", [
    ["traceparent", TP],
    ["tracestate", "foo=1\t \t,\t \tbar=2,\t \tbaz=3"],
  ], { traceId: "same", has: { foo: "1", bar: "2", baz: "3" } }],
  [
    "test_tracestate_ows_handling (leading space)",
    [["traceparent", TP], ["tracestate", " foo=1"]],
    {
      traceId: "same",
      has: { foo: "1" },
    },
  ],
  ["test_tracestate_ows_handling (leading tab)", [["traceparent", TP], ["tracestate", "\tfoo=1"]], {
    traceId: "same",
    has: { foo: "1" },
  }],
  [
    "test_tracestate_ows_handling (trailing space)",
    [["traceparent", TP], ["tracestate", "foo=1 "]],
    {
      traceId: "same",
      has: { foo: "1" },
    },
  ],
  [
    "test_tracestate_ows_handling (trailing tab)",
    [["traceparent", TP], ["tracestate", "foo=1\t"]],
    {
      traceId: "same",
      has: { foo: "1" },
    },
  ],
  ["test_tracestate_ows_handling (both)", [["traceparent", TP], ["tracestate", "\t foo=1 \t"]], {
    traceId: "same",
    has: { foo: "1" },
  }],
  ["test_tracestate_key_illegal_characters (space before =)", [
    ["traceparent", TP],
    ["tracestate", "foo =1"],
  ], { traceId: "same", lacks: ["foo ", "foo"] }],
  ["test_tracestate_key_illegal_characters (uppercase)", [["traceparent", TP], [
    "tracestate",
    "FOO=1",
  ]], {
    traceId: "same",
    lacks: ["FOO"],
  }],
  ["test_tracestate_key_illegal_characters (dot)", [["traceparent", TP], [
    "tracestate",
    "foo.bar=1",
  ]], {
    traceId: "same",
    lacks: ["foo.bar"],
  }],
  ["test_tracestate_key_illegal_vendor_format (foo@)", [
    ["traceparent", TP],
    ["tracestate", "foo@=1,bar=2"],
  ], { traceId: "same", exact: "foo@=1,bar=2" }],
  ["test_tracestate_key_illegal_vendor_format (@foo)", [
    ["traceparent", TP],
    ["tracestate", "@foo=1,bar=2"],
  ], { traceId: "same", exact: null }],
  ["test_tracestate_key_illegal_vendor_format (foo@@bar)", [
    ["traceparent", TP],
    ["tracestate", "foo@@bar=1,bar=2"],
  ], { traceId: "same", exact: "foo@@bar=1,bar=2" }],
  ["test_tracestate_key_illegal_vendor_format (foo@bar@baz)", [
    ["traceparent", TP],
    ["tracestate", "foo@bar@baz=1,bar=2"],
  ], { traceId: "same", exact: "foo@bar@baz=1,bar=2" }],
  ["test_tracestate_member_count_limit (32)", [
    ["traceparent", TP],
    ...barLines(32),
  ], { traceId: "same", count: 32, has: { bar01: "01" } }],
  ["test_tracestate_member_count_limit (33)", [
    ["traceparent", TP],
    ...barLines(33),
  ], { traceId: "same", lacks: ["bar01"] }],
  ["test_tracestate_key_length_limit (256)", [
    ["traceparent", TP],
    ["tracestate", "foo=1"],
    ["tracestate", "z".repeat(256) + "=1"],
  ], { traceId: "same", exact: `foo=1,${"z".repeat(256)}=1` }],
  ["test_tracestate_key_length_limit (257)", [
    ["traceparent", TP],
    ["tracestate", "foo=1"],
    ["tracestate", "z".repeat(257) + "=1"],
  ], { traceId: "same", exact: null }],
  ["test_tracestate_key_length_limit (t*241@v*14)", [
    ["traceparent", TP],
    ["tracestate", "foo=1"],
    ["tracestate", "t".repeat(241) + "@" + "v".repeat(14) + "=1"],
  ], { traceId: "same", exact: `foo=1,${"t".repeat(241)}@${"v".repeat(14)}=1` }],
  ["test_tracestate_key_length_limit (t*242@v)", [
    ["traceparent", TP],
    ["tracestate", "foo=1"],
    ["tracestate", "t".repeat(242) + "@v=1"],
  ], { traceId: "same", exact: `foo=1,${"t".repeat(242)}@v=1` }],
  ["test_tracestate_key_length_limit (t@v*15)", [
    ["traceparent", TP],
    ["tracestate", "foo=1"],
    ["tracestate", "t@" + "v".repeat(15) + "=1"],
  ], { traceId: "same", exact: `foo=1,t@${"v".repeat(15)}=1` }],
  ["test_tracestate_value_illegal_characters (foo=bar=baz)", [
    ["traceparent", TP],
    ["tracestate", "foo=bar=baz"],
  ], { traceId: "same", lacks: ["foo"] }],
  ["test_tracestate_value_illegal_characters (empty value)", [
    ["traceparent", TP],
    ["tracestate", "foo=,bar=3"],
  ], { traceId: "same", lacks: ["foo", "bar"] }],
];

function barLines(n: number): Lines {
  const members = Array.from({ length: n }, (_, i) => {
    const d = String(i + 1).padStart(2, "0");
    return `bar${d}=${d}`;
  });
  const lines: Lines = [];
  for (let i = 0; i < members.length; i += 10) {
    lines.push(["tracestate", members.slice(i, i + 10).join(",")]);
  }
  return lines;
}

function check(name: string, carrier: unknown, expect: Expect): void {
  const { traceId, state, text } = roundTrip(carrier);
  if (expect.traceId === "same") assert.equal(traceId, TRACE_ID, name);
  else {
    assert.notEqual(traceId, TRACE_ID, name);
    assert.notEqual(traceId, "0".repeat(32), name);
    assert.notEqual(traceId, "12345678901234567890123456789011", name);
  }
  for (const [key, value] of Object.entries(expect.has ?? {})) {
    assert.equal(state.get(key), value, name);
  }
  for (const key of expect.lacks ?? []) assert.ok(!state.has(key), name);
  if (expect.count !== undefined) assert.equal(state.size, expect.count, name);
  if (expect.exact !== undefined) assert.equal(text, expect.exact, name);
}

Deno.test("extract() and inject() pass the strict cases of the W3C Trace Context test suite", async (t) => {
  using _provider = provider();
  await t.step("through Headers", () => {
    for (const [name, lines, expect] of SUITE) check(name, asHeaders(lines), expect);
  });
  await t.step("through a plain object with one array per repeated header", () => {
    for (const [name, lines, expect] of SUITE) check(name, asObject(lines), expect);
  });
  await t.step("through a Map with names in the case sent", () => {
    for (const [name, lines, expect] of SUITE) check(name, asMap(lines), expect);
  });
  await t.step(
    "every character the grammar allows survives (test_tracestate_all_allowed_characters)",
    () => {
      const key = "abcdefghijklmnopqrstuvwxyz0123456789_-*/";
      let value = "";
      for (let c = 0x20; c <= 0x7e; c++) {
        if (c !== 0x2c && c !== 0x3d) {
          value += String.fromCharCode(c);
        }
      }
      for (const k of [key, key + "@a-z0-9_-*/"]) {
        const { traceId, state } = roundTrip(
          asHeaders([["traceparent", TP], ["tracestate", `${k}=${value}`]]),
        );
        assert.equal(traceId, TRACE_ID);
        assert.equal(state.get(k), value);
      }
    },
  );
  await t.step("the random flag is sent on (TraceContext2Test.test_propagates_random_flag)", () => {
    const { traceId, parentId, flags } = roundTrip(
      asHeaders([["traceparent", `00-${TRACE_ID}-${SPAN_ID}-02`]]),
    );
    assert.equal(traceId, TRACE_ID);
    assert.notEqual(parentId, SPAN_ID);
    assert.equal(flags & 0x02, 0x02);
  });
  await t.step("AdvancedTest: each callback gets a new parent id in the same trace", () => {
    for (const incoming of [TP, `00-${"0".repeat(32)}-${SPAN_ID}-01`, undefined]) {
      const parent = extract(incoming === undefined ? {} : { traceparent: incoming });
      using server = source.startActivity("server", parent ? { parent } : { root: true })!;
      const seen = new Set<string>();
      const traces = new Set<string>();
      for (let i = 0; i < 3; i++) {
        using client = source.startActivity("client", { parent: server })!;
        const out: Record<string, string> = {};
        inject(client, out);
        traces.add(out.traceparent!.slice(3, 35));
        seen.add(out.traceparent!.slice(36, 52));
      }
      assert.equal(seen.size, 3);
      assert.equal(traces.size, 1);
      assert.ok(!traces.has("0".repeat(32)));
      if (incoming === TP) assert.ok(traces.has(TRACE_ID));
    }
  });
});

Deno.test("extract() reads every traceparent field by the Level 2 rules", async (t) => {
  using _provider = provider();
  const ok = (text: string) => extract({ traceparent: text });
  await t.step("version 00 is exactly 55 characters", () => {
    assert.equal(ok(TP)?.traceId, TRACE_ID);
    assert.equal(ok(TP + "0"), undefined);
    assert.equal(ok(TP + "-"), undefined);
    assert.equal(ok(TP.slice(0, 54)), undefined);
  });
  await t.step("a later version may be longer, with '-' after the flags", () => {
    const future = `01-${TRACE_ID}-${SPAN_ID}-03`;
    assert.equal(ok(future)?.traceFlags, 3);
    assert.equal(ok(future + "-anything")?.spanId, SPAN_ID);
    assert.equal(ok(future + "x"), undefined);
    assert.equal(ok(`fe-${TRACE_ID}-${SPAN_ID}-01-`)?.traceId, TRACE_ID);
    assert.equal(ok(`cc-${TRACE_ID}-${SPAN_ID}`), undefined);
  });
  await t.step("version ff, upper-case and non-hex versions are invalid", () => {
    for (const v of ["ff", "FF", "0A", "g0", "-0", " 0"]) {
      assert.equal(ok(`${v}-${TRACE_ID}-${SPAN_ID}-01`), undefined, v);
    }
  });
  await t.step("ids are lowercase hex and not all zeros", () => {
    assert.equal(ok(`00-${TRACE_ID.toUpperCase().replace("1", "A")}-${SPAN_ID}-01`), undefined);
    assert.equal(ok(`00-${TRACE_ID}-ABCDEF7890123456-01`), undefined);
    assert.equal(ok(`00-${TRACE_ID}-0000000000000001-01`)?.spanId, "0000000000000001");
    assert.equal(
      ok(`00-00000000000000000000000000000001-${SPAN_ID}-01`)?.traceId,
      "00000000000000000000000000000001",
    );
  });
  await t.step("flags: sampled, random, unknown bits read; upper case invalid", () => {
    assert.equal(ok(`00-${TRACE_ID}-${SPAN_ID}-00`)?.traceFlags, 0);
    assert.equal(ok(`00-${TRACE_ID}-${SPAN_ID}-02`)?.traceFlags, 2);
    assert.equal(ok(`00-${TRACE_ID}-${SPAN_ID}-ff`)?.traceFlags, 0xff);
    assert.equal(ok(`00-${TRACE_ID}-${SPAN_ID}-0A`), undefined);
  });
  await t.step("separators must be '-' at their places", () => {
    assert.equal(ok(TP.replace(/-/g, "_")), undefined);
    assert.equal(ok(`00-${TRACE_ID}_${SPAN_ID}-01`), undefined);
  });
  await t.step("whitespace: spaces and tabs around are optional whitespace, others are not", () => {
    assert.equal(ok(`  \t${TP}\t  `)?.traceId, TRACE_ID);
    assert.equal(ok(`\n${TP}`), undefined);
    assert.equal(ok(`${TP}\r\n`), undefined);
    assert.equal(ok(`\u00a0${TP}`), undefined);
  });
  await t.step("the extracted context is remote and its child has a remote parent", () => {
    const context = ok(TP)!;
    assert.equal(context.isRemote, true);
    using child = source.startActivity("child", { parent: context })!;
    assert.equal(child.hasRemoteParent, true);
    assert.equal(child.parentSpanId, SPAN_ID);
    assert.equal(child.traceId, TRACE_ID);
  });
  await t.step("the random flag travels to children; unknown bits do not", () => {
    using child = source.startActivity("child", { parent: ok(`00-${TRACE_ID}-${SPAN_ID}-ff`)! })!;
    const out: Record<string, string> = {};
    inject(child, out);
    assert.equal(out.traceparent!.slice(53), "03");
    using plain = source.startActivity("child", { parent: ok(`00-${TRACE_ID}-${SPAN_ID}-01`)! })!;
    inject(plain, out);
    assert.equal(out.traceparent!.slice(53), "01");
  });
  await t.step("several traceparent lines mean a new trace, whatever the first one is", () => {
    const other = `00-${"ab".repeat(16)}-${"cd".repeat(8)}-01`;
    for (
      const first of [
        `cc-${TRACE_ID}-${SPAN_ID}-01-what-the-future-will-be-like`,
        `cc-${TRACE_ID}-${SPAN_ID}-01-`,
        TP,
      ]
    ) {
      const lines: Lines = [["traceparent", first], ["traceparent", other]];
      assert.equal(extract(asHeaders(lines)), undefined, `Headers: ${first}`);
      assert.equal(extract(asObject(lines)), undefined, `array: ${first}`);
      assert.equal(extract(asMap(lines)), undefined, `Map: ${first}`);
      assert.equal(extract(new Map([["traceparent", first], ["TraceParent", other]])), undefined);
      assert.equal(extract({}, { getter: () => [first, other] }), undefined, `getter: ${first}`);
      assert.equal(extract({ traceparent: `${first},${other}` }), undefined, `joined: ${first}`);
    }
    // One line, whatever the carrier, is read.
    assert.equal(extract({ traceparent: [TP] })?.traceId, TRACE_ID);
    assert.equal(extract({}, { getter: () => [TP] })?.traceId, TRACE_ID);
  });
  await t.step("oversized or non-string input is ignored, never thrown", () => {
    assert.equal(ok(`cc-${TRACE_ID}-${SPAN_ID}-01-${"x".repeat(5000)}`), undefined);
    assert.equal(extract({ traceparent: 42 }), undefined);
    assert.equal(extract(null), undefined);
    assert.equal(extract("traceparent"), undefined);
    assert.equal(extract(undefined), undefined);
  });
});

Deno.test("extract() reads tracestate by the Level 2 grammar", async (t) => {
  using _provider = provider();
  const state = (...lines: string[]) =>
    extract({ traceparent: TP, tracestate: lines.length === 1 ? lines[0]! : lines })?.traceState;
  await t.step("keys: a lowercase letter or digit, then up to 255 of a-z 0-9 _ - * / @", () => {
    assert.equal(state("a1_-*/=x"), "a1_-*/=x");
    assert.equal(state("1a=x"), "1a=x");
    assert.equal(state("1a@sys=x"), "1a@sys=x");
    assert.equal(state("a@1sys=x"), "a@1sys=x");
    assert.equal(state("a@sys_-*/9=x"), "a@sys_-*/9=x");
    assert.equal(state("foo@=1"), "foo@=1");
    assert.equal(state("foo@@bar=1,a@b@c=2"), "foo@@bar=1,a@b@c=2");
    assert.equal(state("t@" + "v".repeat(254) + "=1"), "t@" + "v".repeat(254) + "=1");
    assert.equal(state("t@" + "v".repeat(255) + "=1"), undefined);
    assert.equal(state("@foo=1"), undefined);
    assert.equal(state("_a=x"), undefined);
    assert.equal(state("*a=x"), undefined);
    assert.equal(state("a.b=x"), undefined);
    assert.equal(state("aB=x"), undefined);
  });
  await t.step("a repeated key keeps its first (left-most) member, the others go", () => {
    assert.equal(state("a=1,b=2,a=3"), "a=1,b=2");
    assert.equal(state("a=1", "a=2"), "a=1");
    assert.equal(state("a=1,a=1,a=1"), "a=1");
  });
  await t.step("members are counted as sent: 33 with a repeated key are too many", () => {
    const members = barLines(32).map((l) => l[1]).join(",");
    assert.equal(state(members + ",bar01=again"), undefined);
    assert.equal(
      state(members.replace("bar32=32", "bar01=again")),
      members.split(",").slice(0, 31).join(","),
    );
  });
  await t.step(
    "values: up to 256 printable characters, no ',' or '=', not ending in a space",
    () => {
      assert.equal(state("k=" + "v".repeat(256)), "k=" + "v".repeat(256));
      assert.equal(state("k=" + "v".repeat(257)), undefined);
      assert.equal(state("k= lead"), "k= lead");
      assert.equal(state("k=trail "), "k=trail");
      assert.equal(state("k=a\tb"), undefined);
      assert.equal(state("k=caf\u00e9"), undefined);
      assert.equal(state("k=a\r\nx"), undefined);
      assert.equal(state("k= "), undefined);
      assert.equal(state("k"), undefined);
    },
  );
  await t.step("empty members are allowed and not counted", () => {
    assert.equal(state(",,a=1, ,\t,b=2,"), "a=1,b=2");
    assert.equal(
      state(barLines(32).map((l) => l[1]).join(",,")),
      barLines(32).map((l) => l[1]).join(","),
    );
  });
  await t.step("several header lines combine in order", () => {
    assert.equal(state("a=1", "b=2,c=3", "d=4"), "a=1,b=2,c=3,d=4");
  });
  await t.step("an invalid tracestate does not affect the traceparent", () => {
    const context = extract({ traceparent: TP, tracestate: "BAD=1" });
    assert.equal(context?.traceId, TRACE_ID);
    assert.equal(context?.traceState, undefined);
  });
  await t.step(
    "over 512 characters: whole members go, longer than 128 first, then from the right",
    () => {
      const long1 = "l1=" + "x".repeat(200);
      const long2 = "l2=" + "y".repeat(200);
      const small = Array.from(
        { length: 20 },
        (_, i) => `s${String(i).padStart(2, "0")}=${"z".repeat(14)}`,
      );
      // 203 + 203 + 20 * 18 + 21 commas = 787 characters.
      const text = [long1, ...small.slice(0, 10), long2, ...small.slice(10)].join(",");
      assert.equal(text.length, 787);
      const kept = state(text)!;
      // Removing long2 leaves 583; removing long1 too leaves 379: both go, all small stay.
      assert.equal(kept, small.join(","));
      const many = Array.from(
        { length: 32 },
        (_, i) => `k${String(i).padStart(2, "0")}=${"v".repeat(20)}`,
      );
      // 32 * 24 + 31 = 799 characters, no member over 128: members go from the right.
      const cut = state(many.join(","))!;
      assert.ok(cut.length <= 512);
      assert.equal(cut, many.slice(0, 20).join(","));
      assert.equal(many.slice(0, 21).join(",").length > 512, true);
    },
  );
  await t.step("an oversized header is dropped unread", () => {
    assert.equal(state("a=1," + " ".repeat(40000) + "b=2"), undefined);
  });
  await t.step("tracestate is not read without a valid traceparent", () => {
    assert.equal(extract({ tracestate: "a=1" }), undefined);
    assert.equal(extract({ traceparent: "bad", tracestate: "a=1" }), undefined);
  });
});

Deno.test("inject() writes only what the grammar allows", async (t) => {
  using _provider = provider();
  await t.step("CR, LF and other forbidden characters never reach the carrier", () => {
    using activity = source.startActivity("a", { root: true })!;
    // Control and non-ASCII characters: the activity drops the whole value when it is set.
    activity.traceState = "a=1\r\nx-injected: yes,b=2,d=caf\u00e9,e=ok\u0000,f=fine";
    const dropped = new Headers({ tracestate: "stale=1" });
    inject(activity, dropped);
    assert.equal(dropped.get("tracestate"), null);
    // Printable but outside the grammar: inject keeps only the valid members.
    activity.traceState = "a==1,b=2,C=3,d=x=y,f=fine";
    const headers = new Headers();
    inject(activity, headers);
    assert.equal(headers.get("tracestate"), "b=2,f=fine");
    const object: Record<string, string> = {};
    inject(activity, object);
    assert.equal(object.tracestate, "b=2,f=fine");
  });
  await t.step("random trace states always come out valid", () => {
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const alphabet = "ab=,= \t\r\n@Z9_-*/\u0000\u00e9\u2028;";
    for (let i = 0; i < 2000; i++) {
      let text = "";
      const length = Math.floor(next() * 80);
      for (let j = 0; j < length; j++) text += alphabet[Math.floor(next() * alphabet.length)];
      using activity = source.startActivity("a", { root: true })!;
      activity.traceState = text;
      const out: Record<string, string> = {};
      inject(activity, out);
      assert.match(out.traceparent!, /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[0-3]$/);
      if (out.tracestate !== undefined) {
        assert.ok(
          ![...out.tracestate].some((c) => c < " " || c > "~"),
          JSON.stringify(text),
        );
        assert.ok(parseTraceState(out.tracestate) !== undefined, JSON.stringify(out.tracestate));
        assert.ok(out.tracestate.length <= 512);
      }
    }
  });
  await t.step("repeated keys keep the first; at most 32 members", () => {
    using activity = source.startActivity("a", { root: true })!;
    activity.traceState = "a=1,a=2," + barLines(40).map((l) => l[1]).join(",");
    const out: Record<string, string> = {};
    inject(activity, out);
    const members = parseTraceState(out.tracestate!)!;
    assert.equal(members.length, 32);
    assert.deepEqual(members[0], ["a", "1"]);
    assert.deepEqual(members[31], ["bar31", "31"]);
  });
  await t.step("an existing tracestate field is replaced or removed, whatever its case", () => {
    const context = new ActivityContext(TRACE_ID, SPAN_ID);
    const object: Record<string, string> = { TraceState: "old=1", TRACEPARENT: "old" };
    inject(context, object);
    assert.deepEqual(object, { traceparent: `00-${TRACE_ID}-${SPAN_ID}-00` });
    const map = new Map([["TraceState", "old=1"]]);
    inject(new ActivityContext(TRACE_ID, SPAN_ID, { traceState: "new=2" }), map);
    assert.deepEqual([...map], [["traceparent", `00-${TRACE_ID}-${SPAN_ID}-00`], [
      "tracestate",
      "new=2",
    ]]);
  });
  await t.step("a getter/setter pair serves any other carrier", () => {
    const lines: [string, string][] = [["TRACEPARENT", TP], ["x", "y"], ["tracestate", "a=1"], [
      "TraceState",
      "b=2",
    ]];
    const getter = (carrier: unknown, name: string) =>
      (carrier as [string, string][]).filter(([k]) => k.toLowerCase() === name).map(([, v]) => v);
    const context = extract(lines, { getter });
    assert.equal(context?.traceState, "a=1,b=2");
    const written: [string, string][] = [];
    inject(context, written, {
      setter: (c, name, value) => (c as [string, string][]).push([name, value]),
    });
    assert.deepEqual(written, [["traceparent", TP], ["tracestate", "a=1,b=2"]]);
  });
  await t.step("failing carriers and nothing to inject are harmless", () => {
    assert.equal(
      extract({}, {
        getter: () => {
          throw new Error("boom");
        },
      }),
      undefined,
    );
    const hostile = new Proxy({}, {
      ownKeys: () => {
        throw new Error("boom");
      },
    });
    assert.equal(extract(hostile), undefined);
    const frozen = Object.freeze({}) as Record<string, string>;
    inject(new ActivityContext(TRACE_ID, SPAN_ID), frozen);
    assert.deepEqual(frozen, {});
    inject(new ActivityContext(TRACE_ID, SPAN_ID), {}, {
      setter: () => {
        throw new Error("boom");
      },
    });
    const untouched: Record<string, string> = {};
    inject(undefined, untouched);
    inject(null, untouched);
    assert.deepEqual(untouched, {});
  });
  await t.step("Activity and its context inject the same", () => {
    using activity = source.startActivity("a", { root: true })!;
    activity.traceState = "a=1";
    const one: Record<string, string> = {};
    const two: Record<string, string> = {};
    inject(activity, one);
    inject(activity.context, two);
    assert.deepEqual(one, two);
    assert.equal(one.traceparent, activity.id);
    assert.ok(Activity.current === undefined);
  });
});

Deno.test("setTraceStateMember() and deleteTraceStateMember() mutate as the specification says", async (t) => {
  using _provider = provider();
  await t.step("a new member goes to the left; the 33rd drops the right-most", () => {
    const full = barLines(32).map((l) => l[1]).join(",");
    const next = setTraceStateMember(full, "new", "1");
    const members = parseTraceState(next)!;
    assert.equal(members.length, 32);
    assert.deepEqual(members[0], ["new", "1"]);
    assert.deepEqual(members[31], ["bar31", "31"]);
  });
  await t.step("an update moves the member to the left and keeps the others' order", () => {
    assert.equal(setTraceStateMember("a=1,b=2,c=3", "b", "9"), "b=9,a=1,c=3");
  });
  await t.step("the new member survives truncation; others go by the rule", () => {
    const existing = ["big=" + "x".repeat(300), "s1=1", "s2=2"].join(",");
    assert.equal(
      setTraceStateMember(existing, "me", "y".repeat(250)),
      `me=${"y".repeat(250)},s1=1,s2=2`,
    );
  });
  await t.step("keys follow the Level 2 grammar", () => {
    assert.equal(setTraceStateMember("a=1", "foo@", "2"), "foo@=2,a=1");
    assert.equal(setTraceStateMember("a=1", "1st@x@y", "2"), "1st@x@y=2,a=1");
    assert.throws(() => setTraceStateMember(undefined, "@foo", "1"), SyntaxError);
    assert.throws(() => setTraceStateMember(undefined, "z".repeat(257), "1"), SyntaxError);
  });
  await t.step("bad keys and values throw", () => {
    assert.throws(() => setTraceStateMember(undefined, "Bad", "1"), SyntaxError);
    assert.throws(() => setTraceStateMember(undefined, "ok", "a,b"), SyntaxError);
    assert.throws(() => setTraceStateMember(undefined, "ok", "a\nb"), SyntaxError);
    assert.throws(() => setTraceStateMember(undefined, "ok", ""), SyntaxError);
    assert.throws(
      () => setTraceStateMember(undefined, "k".repeat(256), "v".repeat(256)),
      RangeError,
    );
    assert.throws(() => setTraceStateMember(undefined, 1 as unknown as string, "1"), TypeError);
  });
  await t.step("delete removes one member", () => {
    assert.equal(deleteTraceStateMember("a=1,b=2,c=3", "b"), "a=1,c=3");
    assert.equal(deleteTraceStateMember(undefined, "b"), undefined);
  });
});

Deno.test("inject() never sends a member cut short, however long the trace state an activity was given", () => {
  using _provider = provider();
  using activity = source.startActivity("a", { root: true })!;
  // 32,765 empty members, then one whose value the 32,768-character bound would cut to "a".
  activity.traceState = ",".repeat(32765) + "k=abcdef";
  const out: Record<string, string> = {};
  inject(activity, out);
  assert.notEqual(out.tracestate, "k=a");
  assert.ok(out.tracestate === undefined || out.tracestate === "k=abcdef", String(out.tracestate));
});
