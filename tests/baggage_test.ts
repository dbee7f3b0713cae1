import assert from "node:assert/strict";
import {
  Activity,
  ActivitySource,
  BAGGAGE_MAX_BYTES,
  BAGGAGE_MAX_MEMBER_BYTES,
  BAGGAGE_MAX_MEMBERS,
  createTracerProviderBuilder,
  extractBaggage,
  formatBaggage,
  injectBaggage,
  parseBaggage,
} from "../mod.ts";
import { instrumentFetch } from "../http.ts";

const source = new ActivitySource("Baggage.Test");

function provider(options: { sampleNothing?: boolean } = {}): Disposable {
  const builder = createTracerProviderBuilder().addSource("Baggage.Test");
  if (options.sampleNothing) {
    builder.setSampler({ description: "DropAll", shouldSample: () => ({ decision: "drop" }) });
  }
  return builder.build();
}

Deno.test("parseBaggage() reads the W3C baggage grammar", async (t) => {
  await t.step("members, optional whitespace and properties", () => {
    assert.deepEqual(parseBaggage(" a = 1 ,\tb=2;p1;p2 = v2 , c="), [
      { key: "a", value: "1" },
      { key: "b", value: "2", properties: [{ key: "p1" }, { key: "p2", value: "v2" }] },
      { key: "c", value: "" },
    ]);
  });
  await t.step("values are percent-decoded as UTF-8; bad sequences become U+FFFD", () => {
    assert.equal(parseBaggage("k=Zo%C3%AB%2C%3B%25")[0]?.value, "Zoë,;%");
    assert.equal(parseBaggage("k=%FF%41")[0]?.value, "\ufffdA");
    assert.equal(parseBaggage("k=100%")[0]?.value, "100%");
    assert.equal(parseBaggage("k=%zz")[0]?.value, "%zz");
  });
  await t.step("a decoded U+FEFF is kept, first or anywhere, as every other code point", () => {
    assert.equal(parseBaggage("k=%EF%BB%BFvalue")[0]?.value, "\ufeffvalue");
    assert.equal(parseBaggage("k=%EF%BB%BF%EF%BB%BF")[0]?.value, "\ufeff\ufeff");
    assert.equal(parseBaggage("k=a%EF%BB%BF")[0]?.value, "a\ufeff");
    assert.equal(parseBaggage("k=%EF%BB%BF")[0]?.value.length, 1);
  });
  await t.step("invalid members are skipped, the others kept", () => {
    const entries = parseBaggage('ok=1,bad key=2,quote="x",semi;=1,=3,noequals,x=a\\b,last=9');
    assert.deepEqual(entries.map((e) => e.key), ["ok", "last"]);
  });
  await t.step("several header lines combine", () => {
    assert.deepEqual(parseBaggage(["a=1", "b=2"]).map((e) => e.key), ["a", "b"]);
  });
  await t.step(`at most ${BAGGAGE_MAX_MEMBERS} members`, () => {
    const text = Array.from({ length: 200 }, (_, i) => `k${i}=${i}`).join(",");
    const entries = parseBaggage(text);
    assert.equal(entries.length, 180);
    assert.equal(entries[179]?.key, "k179");
  });
  await t.step(`a member over ${BAGGAGE_MAX_MEMBER_BYTES} bytes is dropped`, () => {
    const big = "big=" + "x".repeat(BAGGAGE_MAX_MEMBER_BYTES);
    assert.deepEqual(parseBaggage(`a=1,${big},b=2`).map((e) => e.key), ["a", "b"]);
    const fits = "fit=" + "x".repeat(BAGGAGE_MAX_MEMBER_BYTES - 4);
    assert.equal(parseBaggage(fits)[0]?.key, "fit");
  });
  await t.step(`no more than ${BAGGAGE_MAX_BYTES} bytes in all`, () => {
    const member = (i: number) => `k${i}=` + "v".repeat(3000);
    const entries = parseBaggage([0, 1, 2, 3].map(member).join(","));
    assert.equal(entries.length, 2);
    const kept = formatBaggage(entries)!;
    assert.ok(kept.length <= BAGGAGE_MAX_BYTES);
  });
  await t.step("huge or odd input never throws", () => {
    assert.equal(parseBaggage("a=1," + ",".repeat(200000)).length, 1);
    assert.deepEqual(parseBaggage(42 as unknown as string), []);
  });
});

Deno.test("formatBaggage() writes what parseBaggage() reads back", async (t) => {
  await t.step("round trip of any string value", () => {
    const values = [
      "",
      "plain",
      "with space",
      'a,b;c=d%e\\f"g',
      "Zoë ☃ 𝄞",
      "\u0000\r\n",
      "\ud800x",
      "\ufeffleading byte order mark",
      "\ufeff",
    ];
    const header = formatBaggage(values.map((v, i) => [`k${i}`, v] as const))!;
    assert.ok(/^[\x21-\x7e]*$/.test(header), header);
    const back = parseBaggage(header).map((e) => e.value);
    assert.deepEqual(
      back,
      values.map((v) => v.toWellFormed()),
    );
  });
  await t.step("properties are written back; invalid ones drop their member", () => {
    assert.equal(
      formatBaggage([
        { key: "a", value: "1", properties: [{ key: "p" }, { key: "q", value: "2" }] },
        { key: "b", value: "1", properties: [{ key: "bad key" }] },
      ]),
      "a=1;p;q=2",
    );
  });
  await t.step("keys that are not tokens are left out; a repeated key keeps its first", () => {
    assert.equal(formatBaggage([["bad key", "1"], ["k", "1"], ["k", "2"]]), "k=1");
    assert.equal(formatBaggage([]), undefined);
  });
  await t.step("limits: 180 members, 4096 bytes a member, 8192 in all", () => {
    const many = Array.from({ length: 200 }, (_, i) => [`k${i}`, "v"] as const);
    assert.equal(parseBaggage(formatBaggage(many)!).length, 180);
    const big = formatBaggage([["a", "x".repeat(5000)], ["b", "1"]]);
    assert.equal(big, "b=1");
    const heavy = Array.from({ length: 4 }, (_, i) => [`k${i}`, "v".repeat(3000)] as const);
    assert.equal(parseBaggage(formatBaggage(heavy)!).length, 2);
  });
});

Deno.test("Activity baggage works as .NET's", async (t) => {
  await t.step("children see their parents' items after their own", () => {
    using _provider = provider();
    source.startActiveActivity("Parent", (parent) => {
      parent!.addBaggage("tenant", "acme").addBaggage("region", "eu");
      using child = source.startActivity("Child")!;
      child.addBaggage("user", "42").addBaggage("region", "us");
      assert.deepEqual(child.baggage, [
        ["region", "us"],
        ["user", "42"],
        ["region", "eu"],
        ["tenant", "acme"],
      ]);
      assert.equal(child.getBaggageItem("region"), "us");
      assert.equal(child.getBaggageItem("tenant"), "acme");
      assert.equal(parent!.getBaggageItem("user"), undefined);
    });
  });
  await t.step("setBaggage updates in place, adds in front, removes only its own", () => {
    using _provider = provider();
    using parent = source.startActivity("Parent", { root: true })!;
    parent.addBaggage("k", "parent");
    using child = source.startActivity("Child", { parent })!;
    child.setBaggage("a", "1").setBaggage("k", "child").setBaggage("b", "2").setBaggage("a", "3");
    assert.deepEqual(child.baggage, [["b", "2"], ["k", "child"], ["a", "3"], ["k", "parent"]]);
    child.setBaggage("k", null).setBaggage("missing", undefined);
    assert.equal(child.getBaggageItem("k"), "parent");
    assert.deepEqual(child.baggage, [["b", "2"], ["a", "3"], ["k", "parent"]]);
  });
  await t.step("a stopped activity ignores changes; wrong types are ignored", () => {
    using _provider = provider();
    const activity = source.startActivity("Work", { root: true })!;
    activity.addBaggage("k", 1 as unknown as string).addBaggage(2 as unknown as string, "v");
    activity.stop();
    activity.addBaggage("late", "1").setBaggage("late2", "2");
    assert.deepEqual(activity.baggage, []);
  });
  await t.step("baggage is kept on a propagation-only activity", () => {
    using _provider = provider({ sampleNothing: true });
    const parent = source.startActivity("Unsampled", { root: true })!;
    assert.equal(parent.isAllDataRequested, false);
    parent.addBaggage("k", "v");
    const headers = new Headers();
    injectBaggage(parent, headers);
    assert.equal(headers.get("baggage"), "k=v");
    parent.stop();
  });
  await t.step("injectBaggage sends the chain, nearest first, one value a key", () => {
    using _provider = provider();
    using parent = source.startActivity("Parent", { root: true })!;
    parent.addBaggage("k", "old").addBaggage("p", "1");
    using child = source.startActivity("Child", { parent })!;
    child.addBaggage("k", "new value");
    const out: Record<string, string> = { Baggage: "stale=1" };
    injectBaggage(child, out);
    assert.deepEqual(out, { baggage: "k=new%20value,p=1" });
    injectBaggage([], out);
    assert.deepEqual(out, {});
    assert.equal(Activity.current, undefined);
  });
});

Deno.test("extractBaggage() reads any carrier and never throws", () => {
  assert.deepEqual(
    extractBaggage(new Map([["BAGGAGE", ["a=1", "b=2"]], ["baggage", ["c=3"]]])).map((e) => e.key),
    ["a", "b", "c"],
  );
  assert.deepEqual(extractBaggage({ baggage: ["x=1"] }).map((e) => e.value), ["1"]);
  assert.deepEqual(extractBaggage({}, { getter: () => "g=1" })[0], { key: "g", value: "1" });
  assert.deepEqual(
    extractBaggage({}, {
      getter: () => {
        throw new Error("boom");
      },
    }),
    [],
  );
  assert.deepEqual(extractBaggage(undefined), []);
  const written: string[] = [];
  injectBaggage([["a", "1"]], {}, {
    setter: (_c, name, value) => written.push(`${name}: ${value}`),
  });
  assert.deepEqual(written, ["baggage: a=1"]);
});

Deno.test("injectBaggage() reads each property once, so a changing getter cannot slip CR or LF in", () => {
  const changing = (first: string, later: string) => {
    let reads = 0;
    return () => reads++ === 0 ? first : later;
  };
  const key = changing("p", "p\r\nx-injected: 1");
  const value = changing("v", "v\r\nx-injected: 2");
  const carrier: Record<string, string> = {};
  injectBaggage([
    {
      key: "a",
      value: "1",
      properties: [{
        get key() {
          return key();
        },
      }],
    },
    {
      key: "b",
      value: "2",
      properties: [{
        key: "q",
        get value() {
          return value();
        },
      }],
    },
  ], carrier);
  assert.deepEqual(carrier, { baggage: "a=1;p,b=2;q=v" });
});

Deno.test("instrumentFetch() keeps a baggage header the caller set when the activity has none", async () => {
  using _provider = provider();
  const sent: (string | null)[] = [];
  const fetch = instrumentFetch({
    source,
    fetch: (input, init) => {
      sent.push(new Request(input, init).headers.get("baggage"));
      return Promise.resolve(new Response(null, { status: 204 }));
    },
  });
  await fetch("http://api.test/", { headers: { baggage: "tenant=acme" } });
  await source.startActiveActivity("WithBaggage", {}, async (activity) => {
    activity?.addBaggage("user", "ann");
    await fetch("http://api.test/", { headers: { baggage: "tenant=acme" } });
  });
  assert.deepEqual(sent, ["tenant=acme", "user=ann"]);
});

Deno.test("parseBaggage() never reads a member cut short by its input bound", () => {
  // No comma in the first 65,536 characters: nothing there is a member, and what follows is
  // past the bound; a member must never come out with a shortened value.
  const entries = parseBaggage("x".repeat(70000) + ",a=1");
  assert.ok(entries.every((e) => e.key !== "a" || e.value === "1"), JSON.stringify(entries));
  // What lies past the bound is not read at all, whole members included.
  assert.deepEqual(entries, []);
  assert.deepEqual(parseBaggage("k=" + "v".repeat(65534) + ",b=22"), []);
});
