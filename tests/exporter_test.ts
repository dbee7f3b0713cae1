import assert from "node:assert/strict";
import {
  type Activity,
  ActivityContext,
  ActivityLink,
  ActivitySource,
  type Clock,
  ConsoleExporter,
  createTracerProviderBuilder,
  formatConsoleRecord,
  type IdGenerator,
  InMemoryExporter,
  Resource,
  type TracerProviderBuilder,
} from "../mod.ts";
import { formatDuration, formatTagValue } from "../_format.ts";

// 2023-10-17T01:24:40.495Z: the guide's start time is this origin plus 0.7326 ms.
const ORIGIN = Date.UTC(2023, 9, 17, 1, 24, 40, 495);

/** A clock whose `now()` is set by the test, in milliseconds since `timeOrigin`. */
class FakeClock implements Clock {
  readonly timeOrigin: number;
  ms = 0;
  constructor(timeOrigin = ORIGIN) {
    this.timeOrigin = timeOrigin;
  }
  now(): number {
    return this.ms;
  }
}

/** Hands out the given ids in order. */
function fixedIds(traceIds: string[], spanIds: string[]): IdGenerator {
  return {
    newTraceId: () => {
      const id = traceIds.shift();
      assert.ok(id !== undefined, "test asked for more trace ids than it gave");
      return id;
    },
    newSpanId: () => {
      const id = spanIds.shift();
      assert.ok(id !== undefined, "test asked for more span ids than it gave");
      return id;
    },
  };
}

let sourceCounter = 0;
/** A source name no other test listens to. */
function uniqueName(prefix: string): string {
  return `${prefix}.${++sourceCounter}`;
}

const MINIMAL_RECORD = [
  "Activity.TraceId:            5ce4d8ad4926ecdd0084681f46fa38d9",
  "Activity.SpanId:             8f9e9441f0789f6e",
  "Activity.TraceFlags:         Recorded",
  "Activity.ActivitySourceName: MyCompany.MyApplication",
  "Activity.DisplayName:        FannedOutActivity 1",
  "Activity.Kind:               Internal",
  "Activity.StartTime:          2023-10-17T01:24:40.4957326Z",
  "Activity.Duration:           00:00:00.0008656",
  "Activity.Links:",
  "    2890476acefb53b93af64a0d91939051 16b83c1517629363",
  "",
  "",
].join("\n");

/** Runs the guide's fanned-out activity with fixed ids and clock; returns what was written. */
function minimalRecord(
  options: { layout?: "guide" | "scope"; showRandomTraceIdFlag?: boolean } = {},
): string[] {
  const records: string[] = [];
  const clock = new FakeClock();
  const source = new ActivitySource("MyCompany.MyApplication", {
    clock,
    idGenerator: fixedIds(["5ce4d8ad4926ecdd0084681f46fa38d9"], ["8f9e9441f0789f6e"]),
  });
  using _provider = createTracerProviderBuilder()
    .addSource("MyCompany.MyApplication")
    .addConsoleExporter({ write: (text) => records.push(text), ...options })
    .build();
  const orchestrator = new ActivityContext(
    "2890476acefb53b93af64a0d91939051",
    "16b83c1517629363",
    { traceFlags: 3 },
  );
  clock.ms = 0.7326;
  const activity = source.startActivity("FannedOutActivity 1", {
    kind: "internal",
    links: [new ActivityLink(orchestrator)],
    root: true,
  });
  clock.ms = 1.5982;
  activity?.stop();
  source[Symbol.dispose]();
  return records;
}

Deno.test("ConsoleExporter prints the guide's minimal record exactly", async (t) => {
  await t.step("guide layout, one write per record", () => {
    assert.deepEqual(minimalRecord(), [MINIMAL_RECORD]);
  });
  await t.step("scope layout: no source-name line, a scope block after the links", () => {
    const expected = MINIMAL_RECORD.replace(
      "Activity.ActivitySourceName: MyCompany.MyApplication\n",
      "",
    ).replace(
      "\n\n",
      "\nInstrumentation scope (ActivitySource):\n    Name: MyCompany.MyApplication\n\n",
    );
    assert.deepEqual(minimalRecord({ layout: "scope" }), [expected]);
  });
  await t.step("showRandomTraceIdFlag names the random bit of a root activity", () => {
    const expected = MINIMAL_RECORD.replace(
      "Activity.TraceFlags:         Recorded\n",
      "Activity.TraceFlags:         Recorded, RandomTraceId\n",
    );
    assert.deepEqual(minimalRecord({ showRandomTraceIdFlag: true }), [expected]);
  });
});

const FULL_RECORD = [
  "Activity.TraceId:            5ce4d8ad4926ecdd0084681f46fa38d9",
  "Activity.SpanId:             8f9e9441f0789f6e",
  "Activity.TraceFlags:         Recorded",
  "Activity.TraceState:         vendor=abc",
  "Activity.ParentSpanId:       16b83c1517629363",
  "Activity.ActivitySourceName: MyCompany.MyApplication",
  "Activity.DisplayName:        ProcessOrder",
  "Activity.Kind:               Server",
  "Activity.StartTime:          2023-10-17T01:24:40.4957326Z",
  "Activity.Duration:           00:00:00.0008656",
  "Activity.Tags:",
  "    order.id: 1234",
  "    order.total: 19.99",
  "    order.express: true",
  '    order.items: ["apple","banana"]',
  "    order.ids: [1,2,3]",
  "StatusCode: Error",
  "Activity.StatusDescription:  Payment failed",
  "Activity.Events:",
  "    validated [2023-10-17T01:24:40.4961000Z]",
  "        step: 1",
  "    retry [2023-10-17T01:24:40.4963000Z]",
  "Activity.Links:",
  "    2890476acefb53b93af64a0d91939051 16b83c1517629363",
  "        link.reason: batch",
  "        link.index: 0",
  "    46f0b5b68173b4acf4f50e1f5cdb3e55 42e7f4439fc2b416",
  "Resource associated with Activity:",
  "    service.name: OrderService",
  "",
  "",
].join("\n");

/** The full record of console-layout.md, made through the public API. */
function fullRecord(layout?: "guide" | "scope"): string[] {
  const records: string[] = [];
  const clock = new FakeClock();
  const source = new ActivitySource("MyCompany.MyApplication", {
    version: "1.0.0",
    tags: { "team": "orders", "area": "checkout" },
    clock,
    idGenerator: fixedIds([], ["8f9e9441f0789f6e"]),
  });
  using _provider = createTracerProviderBuilder()
    .addSource("MyCompany.MyApplication")
    .addConsoleExporter(
      layout === undefined
        ? { write: (text) => records.push(text) }
        : { write: (text) => records.push(text), layout },
    )
    .setServiceName("OrderService")
    .build();
  const parent = ActivityContext.parse(
    "00-5ce4d8ad4926ecdd0084681f46fa38d9-16b83c1517629363-01",
    "vendor=abc",
  );
  clock.ms = 0.7326;
  const activity = source.startActivity("ProcessOrder", {
    kind: "server",
    parent,
    tags: { "order.id": 1234, "order.total": 19.99 },
    links: [
      new ActivityLink(
        new ActivityContext("2890476acefb53b93af64a0d91939051", "16b83c1517629363"),
        { "link.reason": "batch", "link.index": 0 },
      ),
    ],
  });
  assert.ok(activity);
  activity.setTag("order.express", true)
    .setTag("order.items", ["apple", "banana"])
    .setTag("order.ids", [1, 2, 3]);
  clock.ms = 1.1;
  activity.addEvent("validated", { tags: { step: 1 } });
  clock.ms = 1.3;
  activity.addEvent("retry");
  activity.addLink(
    new ActivityLink(new ActivityContext("46f0b5b68173b4acf4f50e1f5cdb3e55", "42e7f4439fc2b416")),
  );
  activity.setStatus("error", "Payment failed");
  clock.ms = 1.5982;
  activity.stop();
  source[Symbol.dispose]();
  return records;
}

Deno.test("ConsoleExporter prints a full record exactly", async (t) => {
  await t.step("guide layout matches console-layout.md", () => {
    assert.deepEqual(fullRecord(), [FULL_RECORD]);
  });
  await t.step("scope layout: name, version and tags sorted by key, before the resource", () => {
    const expected = FULL_RECORD.replace(
      "Activity.ActivitySourceName: MyCompany.MyApplication\n",
      "",
    ).replace(
      "Resource associated with Activity:\n",
      [
        "Instrumentation scope (ActivitySource):",
        "    Name: MyCompany.MyApplication",
        "    Version: 1.0.0",
        "    Tags:",
        "        area: checkout",
        "        team: orders",
        "Resource associated with Activity:",
        "",
      ].join("\n"),
    );
    assert.deepEqual(fullRecord("scope"), [expected]);
  });
});

/** Starts, fills and stops one activity with fixed ids and times, and returns its record. */
function recordOf(
  fill: (activity: Activity) => void,
  options: { resource?: Resource; start?: Parameters<ActivitySource["startActivity"]>[1] } = {},
): string {
  const records: string[] = [];
  const name = uniqueName("Golden");
  const clock = new FakeClock();
  const source = new ActivitySource(name, {
    clock,
    idGenerator: fixedIds(["5ce4d8ad4926ecdd0084681f46fa38d9"], ["8f9e9441f0789f6e"]),
  });
  const builder = createTracerProviderBuilder()
    .addSource(name)
    .addConsoleExporter({ write: (text) => records.push(text) });
  if (options.resource !== undefined) builder.setResource(options.resource);
  using _provider = builder.build();
  clock.ms = 0.7326;
  const activity = source.startActivity("Work", options.start);
  assert.ok(activity);
  fill(activity);
  clock.ms = 1.5982;
  activity.stop();
  source[Symbol.dispose]();
  assert.equal(records.length, 1);
  return records[0]!.replace(
    [
      "Activity.TraceId:            5ce4d8ad4926ecdd0084681f46fa38d9",
      "Activity.SpanId:             8f9e9441f0789f6e",
      "Activity.TraceFlags:         Recorded",
      `Activity.ActivitySourceName: ${name}`,
      "Activity.DisplayName:        Work",
      "Activity.Kind:               Internal",
      "Activity.StartTime:          2023-10-17T01:24:40.4957326Z",
      "Activity.Duration:           00:00:00.0008656",
      "",
    ].join("\n"),
    "<header>\n",
  );
}

Deno.test("ConsoleExporter prints tag values of every type", async (t) => {
  await t.step("primitives, null, arrays with .NET JSON escaping", () => {
    const record = recordOf((a) => {
      a.setTag("string", "plain text")
        .setTag("empty", "")
        .setTag("true", true)
        .setTag("false", false)
        .setTag("int", 1234)
        .setTag("negative", -42)
        .setTag("double", 19.99)
        .setTag("big", 1e15)
        .setTag("small", 0.00001)
        .setTag("tiny", 0.0001)
        .setTag("huge", 1.5e20)
        .setTag("negZero", -0)
        .setTag("nan", NaN)
        .setTag("inf", Infinity)
        .setTag("ninf", -Infinity)
        .setTag("bigint", 12345678901234567890n)
        .addTag("null", null)
        .addTag("undefined", undefined)
        .setTag("strings", ["a", 'q"uote', "it's", "a&b<c>d+e`f", "back\\slash", "é😀"])
        .setTag("controls", ["line\nbreak", "tab\t", "cr\r", "bs\b", "ff\f", "nul\u0000"])
        .setTag("numbers", [1, 2.5, -0, 1e15, 1e-5, NaN])
        .setTag("bools", [true, false])
        .setTag("holes", ["x", null, undefined])
        .setTag("empty array", []);
    });
    assert.equal(
      record,
      [
        "<header>",
        "Activity.Tags:",
        "    string: plain text",
        "    empty: ",
        "    true: true",
        "    false: false",
        "    int: 1234",
        "    negative: -42",
        "    double: 19.99",
        "    big: 1E+15",
        "    small: 1E-05",
        "    tiny: 0.0001",
        "    huge: 1.5E+20",
        "    negZero: -0",
        "    nan: NaN",
        "    inf: Infinity",
        "    ninf: -Infinity",
        "    bigint: 12345678901234567890",
        "    null: ",
        "    undefined: ",
        '    strings: ["a","q\\u0022uote","it\\u0027s","a\\u0026b\\u003Cc\\u003Ed\\u002Be\\u0060f","back\\\\slash","\\u00E9\\uD83D\\uDE00"]',
        '    controls: ["line\\nbreak","tab\\t","cr\\r","bs\\b","ff\\f","nul\\u0000"]',
        "    numbers: [1,2.5,-0,1E+15,1E-05,NaN]",
        "    bools: [true,false]",
        '    holes: ["x",null,null]',
        "    empty array: []",
        "",
        "",
      ].join("\n"),
    );
  });

  await t.step("values that cannot be printed get a string form or a placeholder", () => {
    const cycle: unknown[] = [1];
    cycle.push(cycle);
    const hostile = {
      toString(): string {
        throw new Error("no string for you");
      },
    };
    const throwingArray = new Proxy([], {
      get(): never {
        throw new Error("no element for you");
      },
    });
    const record = recordOf((a) => {
      // These values are outside TagValue on purpose: JavaScript callers can pass anything.
      const set = (key: string, value: unknown) => a.setTag(key, value as string);
      set("cycle", cycle);
      set("symbol", Symbol("token"));
      set("function", function handler() {});
      set("arrow", () => 0);
      set("hostile", hostile);
      set("nullProto", Object.create(null));
      set("object", { a: 1 });
      set("date", new Date(0));
      set("mixed", [Symbol("s"), hostile, { a: 1 }, [1, [2]]]);
      set("proxy", throwingArray);
    });
    assert.equal(
      record,
      [
        "<header>",
        "Activity.Tags:",
        '    cycle: [1,"[Circular]"]',
        "    symbol: Symbol(token)",
        "    function: [Function handler]",
        "    arrow: [Function (anonymous)]",
        "    hostile: [unprintable value]",
        "    nullProto: [unprintable value]",
        "    object: [object Object]",
        `    date: ${String(new Date(0))}`,
        '    mixed: ["Symbol(s)","[unprintable value]","[object Object]",[1,[2]]]',
        "    proxy: [unreadable value]", // its elements cannot be read when it is set
        "",
        "",
      ].join("\n"),
    );
  });
});

Deno.test("ConsoleExporter escapes control characters so that a value cannot forge lines", async (t) => {
  await t.step("a newline in a tag value, key, name, event or link tag stays on its line", () => {
    const forged = "ok\nActivity.TraceId:            00000000000000000000000000000001";
    const record = recordOf((a) => {
      a.displayName = "Work\r\nActivity.Kind:               Server";
      a.setTag("note", forged)
        .setTag("key\nwith break", "v")
        .setTag("esc", "\u001b[31mred\u001b[0m")
        .setTag("separators", "a\u2028b\u2029c\u007fd\u0085e")
        .addEvent("event\nname", { tags: { "why": "x\ny" } })
        .addLink(
          new ActivityLink(
            new ActivityContext("2890476acefb53b93af64a0d91939051", "16b83c1517629363"),
            { "why": "batch\n" },
          ),
        );
    });
    const lines = record.split("\n");
    assert.equal(lines.filter((l) => l.startsWith("Activity.TraceId:")).length, 1);
    assert.equal(lines.filter((l) => l.startsWith("Activity.Kind:")).length, 1);
    assert.ok(
      lines.includes(
        "Activity.DisplayName:        Work\\r\\nActivity.Kind:               Server",
      ),
    );
    assert.ok(
      lines.includes(
        "    note: ok\\nActivity.TraceId:            00000000000000000000000000000001",
      ),
    );
    assert.ok(lines.includes("    key\\nwith break: v"));
    assert.ok(lines.includes("    esc: \\u001B[31mred\\u001B[0m"));
    assert.ok(lines.includes("    separators: a\\u2028b\\u2029c\\u007Fd\\u0085e"));
    assert.ok(lines.includes("        why: x\\ny"));
    assert.ok(lines.includes("        why: batch\\n"));
    assert.ok(lines.some((l) => l.startsWith("    event\\nname [2023-10-17T")));
    // Exactly one empty line, at the end.
    assert.equal(record.indexOf("\n\n"), record.length - 2);
  });
});

Deno.test("ConsoleExporter escapes bidirectional controls so that a value cannot reorder its line", () => {
  const record = recordOf((a) => {
    a.displayName = "invoice\u202Efdp.exe";
    a.setTag("isolates", "a\u2066b\u2067c\u2068d\u2069e")
      .setTag("embeddings", "\u202Ax\u202By\u202Cz\u202Dw")
      .setTag("marks", "\u200E\u200F\u061C")
      .setTag("key\u202E", "v");
  });
  const lines = record.split("\n");
  assert.ok(lines.includes("Activity.DisplayName:        invoice\\u202Efdp.exe"));
  assert.ok(lines.includes("    isolates: a\\u2066b\\u2067c\\u2068d\\u2069e"));
  assert.ok(lines.includes("    embeddings: \\u202Ax\\u202By\\u202Cz\\u202Dw"));
  assert.ok(lines.includes("    marks: \\u200E\\u200F\\u061C"));
  assert.ok(lines.includes("    key\\u202E: v"));
  assert.doesNotMatch(record, /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/);
});

Deno.test("ConsoleExporter prints a holey or huge array bounded", () => {
  const record = recordOf((a) => {
    // deno-lint-ignore no-sparse-arrays
    a.setTag("holes", [1, , 3]);
  });
  assert.ok(record.split("\n").includes("    holes: [1,null,3]"));
  // A value that did not pass through an activity (a resource's) is bounded where printed.
  const text = formatTagValue(new Array(2 ** 32 - 1));
  assert.equal(text, `[${Array(65_536).fill("null").join(",")},…4294901759 more]`);
  assert.equal(formatTagValue([[1, 2], new Array(70_000)]).endsWith(",…4468 more]]"), true);
});

Deno.test("ConsoleExporter follows the status rules", async (t) => {
  await t.step("error with a description: two lines, the second aligned", () => {
    const record = recordOf((a) => a.setStatus("error", "Payment failed"));
    assert.equal(
      record,
      "<header>\nStatusCode: Error\nActivity.StatusDescription:  Payment failed\n\n",
    );
  });
  await t.step("ok prints no description, even when one is given", () => {
    assert.equal(recordOf((a) => a.setStatus("ok", "fine")), "<header>\nStatusCode: Ok\n\n");
  });
  await t.step("error without a description prints only the code", () => {
    assert.equal(recordOf((a) => a.setStatus("error")), "<header>\nStatusCode: Error\n\n");
  });
  await t.step("otel.status_* tags print under the tags when the status is unset", () => {
    const record = recordOf((a) => {
      a.setTag("otel.status_code", "ERROR")
        .setTag("before", 1)
        .setTag("otel.status_description", "Timed out")
        .setTag("after", 2);
    });
    assert.equal(
      record,
      [
        "<header>",
        "Activity.Tags:",
        "    before: 1",
        "    after: 2",
        "    StatusCode: ERROR",
        "    Activity.StatusDescription: Timed out",
        "",
        "",
      ].join("\n"),
    );
  });
  await t.step("otel.status_* tags never print when the status is set", () => {
    const record = recordOf((a) => {
      a.setTag("otel.status_code", "ERROR")
        .setTag("otel.status_description", "Timed out")
        .setTag("x", "y")
        .setStatus("ok");
    });
    assert.equal(record, "<header>\nActivity.Tags:\n    x: y\nStatusCode: Ok\n\n");
  });
  await t.step("empty otel.status_* tags print nothing, as .NET's IsNullOrEmpty", () => {
    const empty = recordOf((a) => a.setTag("otel.status_code", ""));
    assert.equal(empty, "<header>\nActivity.Tags:\n\n");
    const emptyDescription = recordOf((a) =>
      a.setTag("otel.status_code", "OK").setTag("otel.status_description", "")
    );
    assert.equal(emptyDescription, "<header>\nActivity.Tags:\n    StatusCode: OK\n\n");
  });
  await t.step("a description tag without a code tag prints nothing", () => {
    const record = recordOf((a) => a.setTag("otel.status_description", "lonely"));
    assert.equal(record, "<header>\nActivity.Tags:\n\n");
  });
});

Deno.test("ConsoleExporter prints the other header lines", async (t) => {
  await t.step("each kind by its .NET name", () => {
    // The internal kind is part of the replaced header of recordOf().
    assert.equal(recordOf(() => {}, { start: { kind: "internal" } }), "<header>\n\n");
    const kinds = ["server", "client", "producer", "consumer"] as const;
    const printed = kinds.map((kind) => {
      const record = recordOf(() => {}, { start: { kind } });
      return record.split("\n").find((l) => l.startsWith("Activity.Kind:"));
    });
    assert.deepEqual(printed, [
      "Activity.Kind:               Server",
      "Activity.Kind:               Client",
      "Activity.Kind:               Producer",
      "Activity.Kind:               Consumer",
    ]);
  });
  await t.step("an unrecorded activity formats as None, or RandomTraceId with the option", () => {
    const name = uniqueName("Flags");
    using _registration = ActivitySource.addActivityListener({
      shouldListenTo: (s) => s.name === name,
      sample: () => "allData",
    });
    const source = new ActivitySource(name);
    const activity = source.startActivity("Unrecorded", { root: true });
    assert.ok(activity);
    activity.stop();
    assert.equal(activity.traceFlags, 0x02);
    const plain = formatConsoleRecord(activity).split("\n")[2];
    const named = formatConsoleRecord(activity, undefined, { showRandomTraceIdFlag: true })
      .split("\n")[2];
    assert.equal(plain, "Activity.TraceFlags:         None");
    assert.equal(named, "Activity.TraceFlags:         RandomTraceId");
    source[Symbol.dispose]();
  });
  await t.step("a resource without attributes prints no resource block", () => {
    const record = recordOf(() => {}, { resource: new Resource({ "gone": null }) });
    assert.equal(record, "<header>\n\n");
  });
  await t.step("resource attributes print in order, with their values formatted", () => {
    const record = recordOf(() => {}, {
      resource: new Resource({ "service.name": "api", "host.cores": 8, "tags": ["a", "b"] }),
    });
    assert.equal(
      record,
      '<header>\nResource associated with Activity:\n    service.name: api\n    host.cores: 8\n    tags: ["a","b"]\n\n',
    );
  });
});

Deno.test("ConsoleExporter() rejects options of the wrong shape", () => {
  assert.throws(
    () => new ConsoleExporter({ write: "stdout" as unknown as (text: string) => void }),
    TypeError,
  );
  assert.throws(
    () => new ConsoleExporter({ layout: "json" as unknown as "guide" }),
    { name: "TypeError", message: /layout must be "guide" or "scope", got json/ },
  );
});

Deno.test("ConsoleExporter.export() writes every record even when the writer throws once", () => {
  let calls = 0;
  const written: string[] = [];
  const exporter = new ConsoleExporter({
    write: (text) => {
      calls++;
      if (calls === 1) throw new Error("disk full");
      written.push(text);
    },
  });
  const name = uniqueName("Writer");
  using _registration = ActivitySource.addActivityListener({
    shouldListenTo: (s) => s.name === name,
    sample: () => "allDataAndRecorded",
  });
  const source = new ActivitySource(name);
  const a = source.startActivity("A")!;
  const b = source.startActivity("B", { root: true })!;
  a.stop();
  b.stop();
  assert.throws(() => exporter.export([a, b], Resource.empty), { message: "disk full" });
  assert.equal(written.length, 1);
  assert.match(written[0]!, /\nActivity\.DisplayName: {8}B\n/);
  exporter.shutdown();
  exporter.export([a], Resource.empty);
  assert.equal(calls, 2);
  source[Symbol.dispose]();
});

Deno.test("ConsoleExporter reports a throwing writer once and other processors still receive the activity", () => {
  const reported: { error: unknown; where: string }[] = [];
  const memory = new InMemoryExporter();
  const name = uniqueName("Failing");
  const source = new ActivitySource(name);
  using _provider = createTracerProviderBuilder()
    .addSource(name)
    .addConsoleExporter({
      write: () => {
        throw new Error("broken pipe");
      },
    })
    .addInMemoryExporter(memory)
    .setErrorHandler((error, where) => reported.push({ error, where }))
    .build();
  source.startActivity("First")?.stop();
  source.startActivity("Second")?.stop();
  assert.deepEqual(memory.activities.map((a) => a.displayName), ["First", "Second"]);
  assert.equal(reported.length, 1);
  assert.equal((reported[0]!.error as Error).message, "broken pipe");
  assert.match(reported[0]!.where, /ConsoleExporter/);
  source[Symbol.dispose]();
});

Deno.test("InMemoryExporter keeps exported activities in an array", async (t) => {
  await t.step("appends to a given array, in stop order", () => {
    const target: Activity[] = [];
    const name = uniqueName("Memory");
    const source = new ActivitySource(name);
    using _provider = createTracerProviderBuilder().addSource(name).addInMemoryExporter(target)
      .build();
    source.startActiveActivity("Parent", () => {
      source.startActivity("Child")?.stop();
    });
    assert.deepEqual(target.map((a) => a.displayName), ["Child", "Parent"]);
    source[Symbol.dispose]();
  });
  await t.step("reset() empties it and shutdown() stops it appending", () => {
    const exporter = new InMemoryExporter();
    const name = uniqueName("Memory");
    const source = new ActivitySource(name);
    using _provider = createTracerProviderBuilder().addSource(name).addInMemoryExporter(exporter)
      .build();
    const a = source.startActivity("A")!;
    a.stop();
    assert.equal(exporter.activities.length, 1);
    exporter.reset();
    assert.equal(exporter.activities.length, 0);
    exporter.shutdown();
    exporter.export([a], Resource.empty);
    assert.equal(exporter.activities.length, 0);
    source[Symbol.dispose]();
  });
  await t.step("rejects a target that is not an array", () => {
    assert.throws(() => new InMemoryExporter({} as unknown as Activity[]), TypeError);
  });
});

Deno.test("Activity.durationTicks rounds to ticks and is at least one tick", async (t) => {
  const name = uniqueName("Duration");
  const clock = new FakeClock();
  const source = new ActivitySource(name, { clock });
  using _registration = ActivitySource.addActivityListener({
    shouldListenTo: (s) => s.name === name,
    sample: () => "allDataAndRecorded",
  });
  const cases: [start: number, end: number, ticks: number, text: string][] = [
    [5, 5, 1, "00:00:00.0000001"], // no time passed: still one tick
    [5, 5.00004, 1, "00:00:00.0000001"], // 0.4 tick rounds to 0, then the minimum
    [5, 5.00016, 2, "00:00:00.0000002"], // 1.6 ticks round to 2
    [0.7326, 1.5982, 8656, "00:00:00.0008656"],
    [0, 1000, 10_000_000, "00:00:01"],
    [0, 93_784_500, 937_845_000_000, "1.02:03:04.5000000"],
    [10, 3, 1, "00:00:00.0000001"], // a clock going back still gives one tick
  ];
  for (const [start, end, ticks, text] of cases) {
    await t.step(`${start} ms to ${end} ms is ${text}`, () => {
      clock.ms = start;
      const activity = source.startActivity("Timed")!;
      clock.ms = end;
      activity.stop();
      assert.equal(activity.durationTicks, ticks);
      assert.equal(formatDuration(activity.durationTicks), text);
    });
  }
  await t.step("an explicit endTime before the start gives one tick", () => {
    clock.ms = 50;
    const activity = source.startActivity("Timed")!;
    activity.stop({ endTime: ORIGIN });
    assert.equal(activity.durationTicks, 1);
  });
  source[Symbol.dispose]();
});

Deno.test("ConsoleExporter prints the resource block only for attributes beyond the defaults", () => {
  const print = (configure: (b: TracerProviderBuilder) => TracerProviderBuilder): string => {
    const written: string[] = [];
    const name = `ResourceBlock${Math.random()}`;
    const provider = configure(
      createTracerProviderBuilder()
        .setEnvironment(false)
        .addSource(name)
        .addExporter(new ConsoleExporter({ write: (text) => written.push(text) })),
    ).build();
    const source = new ActivitySource(name);
    source.startActivity("Work")?.stop();
    source[Symbol.dispose]();
    provider[Symbol.dispose]();
    const at = written[0]!.indexOf("Resource associated with Activity:");
    return at < 0 ? "" : written[0]!.slice(at);
  };
  // The default resource alone (unknown_service:deno, telemetry.sdk.*, process.*): the guide's layout.
  assert.equal(print((b) => b), "");
  assert.equal(
    print((b) => b.setResource({ zone: "eu", "telemetry.sdk.version": "9" })),
    "Resource associated with Activity:\n    telemetry.sdk.version: 9\n    zone: eu\n\n",
  );
});
