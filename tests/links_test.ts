import assert from "node:assert/strict";
import {
  ActivityContext,
  ActivityLink,
  ActivitySource,
  createTracerProviderBuilder,
  InMemoryExporter,
} from "../mod.ts";

const TRACE = "5ce4d8ad4926ecdd0084681f46fa38d9";
const SPAN = "8f9e9441f0789f6e";
const VALID = `00-${TRACE}-${SPAN}-01`;

Deno.test("ActivityContext.parse() reads a version 00 traceparent", async (t) => {
  await t.step("ids, flags, trace state and isRemote", () => {
    const context = ActivityContext.parse(VALID, "vendor=abc,other=1");
    assert.equal(context.traceId, TRACE);
    assert.equal(context.spanId, SPAN);
    assert.equal(context.traceFlags, 1);
    assert.equal(context.traceState, "vendor=abc,other=1");
    assert.equal(context.isRemote, true);
  });
  await t.step("every flags byte round-trips through toTraceparent()", () => {
    for (let flags = 0; flags < 256; flags++) {
      const hex = flags.toString(16).padStart(2, "0");
      const text = `00-${TRACE}-${SPAN}-${hex}`;
      const context = ActivityContext.parse(text);
      assert.equal(context.traceFlags, flags);
      assert.equal(context.toTraceparent(), text);
      assert.equal(String(context), text);
    }
  });
});

Deno.test("ActivityContext.parse() accepts a later version, longer only after a '-'", async (t) => {
  await t.step("exactly 55 characters", () => {
    const context = ActivityContext.parse(`01-${TRACE}-${SPAN}-03`);
    assert.equal(context.traceFlags, 3);
  });
  await t.step("longer, with '-' after the flags", () => {
    const context = ActivityContext.parse(`cc-${TRACE}-${SPAN}-01-what-the-future-holds`);
    assert.equal(context.traceId, TRACE);
    assert.equal(context.traceFlags, 1);
    // Formatting writes the version this module knows.
    assert.equal(context.toTraceparent(), VALID);
  });
  await t.step("never with ',': two traceparent values joined are not one", () => {
    for (const text of [`cc-${TRACE}-${SPAN}-01-future,${VALID}`, `cc-${TRACE}-${SPAN}-01-,`]) {
      assert.throws(() => ActivityContext.parse(text), {
        name: "SyntaxError",
        message: "Cannot parse traceparent: it holds ',', so it is several traceparent values " +
          "combined",
      });
      assert.equal(ActivityContext.tryParse(text), undefined);
    }
  });
  await t.step("longer, without '-' after the flags", () => {
    assert.throws(() => ActivityContext.parse(`cc-${TRACE}-${SPAN}-01x`), {
      name: "SyntaxError",
      message: "Cannot parse traceparent: a longer traceparent of a later version must have " +
        "'-' after the flags",
    });
  });
});

Deno.test("ActivityContext.parse() throws a SyntaxError that names the problem", () => {
  const cases: [input: unknown, message: string][] = [
    [`ff-${TRACE}-${SPAN}-01`, "version 'ff' is not allowed"],
    [`0A-${TRACE}-${SPAN}-01`, "version '0A' is not two lowercase hex digits"],
    [`0\n-${TRACE}-${SPAN}-01`, "version '0\\n' is not two lowercase hex digits"],
    [
      `00-${TRACE.toUpperCase()}-${SPAN}-01`,
      `trace id '${TRACE.toUpperCase()}' is not 32 lowercase hex digits`,
    ],
    [
      `00-${TRACE}-${SPAN.toUpperCase()}-01`,
      `parent id '${SPAN.toUpperCase()}' is not 16 lowercase hex digits`,
    ],
    [`00-${TRACE}-${SPAN}-0A`, "trace flags '0A' are not two lowercase hex digits"],
    [`00-${TRACE}-${SPAN}-0g`, "trace flags '0g' are not two lowercase hex digits"],
    [`00-${"0".repeat(32)}-${SPAN}-01`, "trace id is all zeros"],
    [`00-${TRACE}-${"0".repeat(16)}-01`, "parent id is all zeros"],
    [`00-${TRACE}-${SPAN}-1`, "expected at least 55 characters, got 54"],
    ["", "expected at least 55 characters, got 0"],
    [`00-${TRACE}-${SPAN}-01-`, "version '00' must be exactly 55 characters, got 56"],
    [`00_${TRACE}-${SPAN}-01`, "fields must be separated by '-' at positions 2, 35 and 52"],
    [`00-${TRACE}_${SPAN}-01`, "fields must be separated by '-' at positions 2, 35 and 52"],
    [`00-${TRACE}-${SPAN}_01`, "fields must be separated by '-' at positions 2, 35 and 52"],
    [
      `00-${TRACE.slice(1)}x-${SPAN}-01`,
      `trace id '${TRACE.slice(1)}x' is not 32 lowercase hex digits`,
    ],
    [42, "expected a string, got number"],
    [undefined, "expected a string, got undefined"],
  ];
  for (const [input, message] of cases) {
    assert.throws(
      () => ActivityContext.parse(input as string),
      { name: "SyntaxError", message: `Cannot parse traceparent: ${message}` },
      JSON.stringify(input),
    );
    assert.equal(ActivityContext.tryParse(input as string), undefined, JSON.stringify(input));
  }
});

Deno.test("ActivityContext.tryParse() returns the same context as parse() for valid input", () => {
  assert.deepEqual(ActivityContext.tryParse(VALID, "a=1"), ActivityContext.parse(VALID, "a=1"));
});

Deno.test("ActivityContext keeps only a valid trace state", () => {
  const cases: [input: string | undefined, kept: string | undefined][] = [
    ["a=1", "a=1"],
    ["  a=1 , b=2  ", "a=1 , b=2"],
    ["", undefined],
    ["   ", undefined],
    [undefined, undefined],
    ["a=\u00e9", undefined], // not ASCII
    ["a=1\nb=2", undefined], // a control character
    ["k=" + "v".repeat(510), "k=" + "v".repeat(510)], // 512 characters
    ["k=" + "v".repeat(511), undefined], // 513 characters
  ];
  for (const [input, kept] of cases) {
    assert.equal(ActivityContext.parse(VALID, input).traceState, kept, JSON.stringify(input));
    assert.equal(
      new ActivityContext(TRACE, SPAN, { traceState: input }).traceState,
      kept,
      JSON.stringify(input),
    );
  }
});

Deno.test("new ActivityContext() checks its parts", async (t) => {
  await t.step("defaults: flags 0, no trace state, local", () => {
    const context = new ActivityContext(TRACE, SPAN);
    assert.deepEqual(
      [context.traceFlags, context.traceState, context.isRemote],
      [0, undefined, false],
    );
    assert.equal(context.toTraceparent(), `00-${TRACE}-${SPAN}-00`);
  });
  await t.step("isRemote is true only when given true", () => {
    assert.equal(new ActivityContext(TRACE, SPAN, { isRemote: true }).isRemote, true);
    assert.equal(
      new ActivityContext(TRACE, SPAN, { isRemote: "yes" as unknown as boolean }).isRemote,
      false,
    );
  });
  await t.step("wrong shapes throw a TypeError", () => {
    const bad: [string, () => unknown][] = [
      ["short trace id", () => new ActivityContext(TRACE.slice(1), SPAN)],
      ["upper-case trace id", () => new ActivityContext(TRACE.toUpperCase(), SPAN)],
      ["zero trace id", () => new ActivityContext("0".repeat(32), SPAN)],
      ["zero span id", () => new ActivityContext(TRACE, "0".repeat(16))],
      ["span id as trace id", () => new ActivityContext(SPAN, TRACE)],
      ["number trace id", () => new ActivityContext(1 as unknown as string, SPAN)],
      ["flags 256", () => new ActivityContext(TRACE, SPAN, { traceFlags: 256 })],
      ["flags -1", () => new ActivityContext(TRACE, SPAN, { traceFlags: -1 })],
      ["flags 1.5", () => new ActivityContext(TRACE, SPAN, { traceFlags: 1.5 })],
      [
        "flags as a string",
        () => new ActivityContext(TRACE, SPAN, { traceFlags: "01" as unknown as number }),
      ],
      [
        "trace state as a number",
        () => new ActivityContext(TRACE, SPAN, { traceState: 1 as unknown as string }),
      ],
    ];
    for (const [what, make] of bad) {
      assert.throws(make, { name: "TypeError", message: /^Cannot make ActivityContext: / }, what);
    }
  });
});

Deno.test("new ActivityLink() keeps a context and tags in the order given", async (t) => {
  const context = new ActivityContext(TRACE, SPAN, { traceFlags: 1 });
  await t.step("without tags", () => {
    const link = new ActivityLink(context);
    assert.equal(link.context, context);
    assert.deepEqual(link.tags, []);
  });
  await t.step("tags as a record, a Map and pairs", () => {
    const expected = [["link.reason", "batch"], ["link.index", 0]];
    assert.deepEqual(
      new ActivityLink(context, { "link.reason": "batch", "link.index": 0 }).tags,
      expected,
    );
    assert.deepEqual(
      new ActivityLink(
        context,
        new Map<string, string | number>([["link.reason", "batch"], [
          "link.index",
          0,
        ]]),
      ).tags,
      expected,
    );
    assert.deepEqual(
      new ActivityLink(context, [["link.reason", "batch"], ["link.index", 0]]).tags,
      expected,
    );
  });
  await t.step("the tags are a frozen copy", () => {
    const pairs: [string, string][] = [["a", "1"]];
    const link = new ActivityLink(context, pairs);
    pairs.push(["b", "2"]);
    assert.deepEqual(link.tags, [["a", "1"]]);
    assert.ok(Object.isFrozen(link.tags));
  });
  await t.step("wrong shapes throw a TypeError", () => {
    assert.throws(
      () => new ActivityLink({ traceId: TRACE, spanId: SPAN } as unknown as ActivityContext),
      {
        name: "TypeError",
        message: "Cannot make ActivityLink: context must be an ActivityContext",
      },
    );
    assert.throws(
      () => new ActivityLink(context, "a=1" as unknown as [string, string][]),
      TypeError,
    );
    assert.throws(() => new ActivityLink(context, [["a", 1], "b"] as never), TypeError);
    assert.throws(() => new ActivityLink(context, [[1, "x"]] as never), TypeError);
    assert.throws(() => new ActivityLink(context, new Map([[1, "x"]]) as never), TypeError);
  });
});

Deno.test("ActivitySource.startActivity() copies a parent made to look like a context, reading it once", () => {
  const exporter = new InMemoryExporter();
  using _provider = createTracerProviderBuilder().addSource("Fake.Parent")
    .addInMemoryExporter(exporter).build();
  // Frozen, with the prototype, valid ids on the first read and not after.
  let reads = 0;
  const fake = Object.freeze(Object.create(ActivityContext.prototype, {
    traceId: { get: () => reads++ === 0 ? "0af7651916cd43dd8448eb211c80319c" : "not hex" },
    spanId: { value: "b7ad6b7169203331" },
    traceFlags: { value: 1 },
    traceState: { value: undefined },
    isRemote: { value: true },
  })) as ActivityContext;
  const child = new ActivitySource("Fake.Parent").startActivity("Child", { parent: fake })!;
  child.stop();
  assert.equal(child.traceId, "0af7651916cd43dd8448eb211c80319c");
  assert.equal(child.parentSpanId, "b7ad6b7169203331");
  assert.equal(reads, 1);
});

Deno.test("ActivityContext.tryParse() accepts a 55-character traceparent exactly when the grammar does", () => {
  // Any version but ff; a later version may be 55 characters long too.
  const grammar = /^(?!ff)[0-9a-f]{2}-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;
  const valid = `00-${TRACE}-${SPAN}-01`;
  const zeros = `00-${"0".repeat(32)}-${"0".repeat(16)}-00`;
  let checked = 0;
  for (const base of [valid, zeros]) {
    for (let at = 0; at < base.length; at++) {
      for (const c of ["0", "1", "9", "a", "f", "g", "A", "F", "-", ",", " ", "é", "\0"]) {
        const text = base.slice(0, at) + c + base.slice(at + 1);
        const context = ActivityContext.tryParse(text);
        assert.equal(context !== undefined, grammar.test(text), text);
        if (context !== undefined) assert.equal(context.toTraceparent(), `00${text.slice(2)}`);
        checked++;
      }
    }
  }
  assert.equal(checked, 2 * 55 * 13);
});
