// The HTTP helpers without a network (the handler called directly), and, when the test has
// `--allow-net=127.0.0.1` (`deno task test:net`), through `Deno.serve` and a real socket.
import assert from "node:assert/strict";
import { mock } from "node:test";
import {
  Activity,
  ActivitySource,
  type Clock,
  createTracerProviderBuilder,
  InMemoryExporter,
  type TracerProvider,
} from "../mod.ts";
import {
  instrumentFetch,
  instrumentHandler,
  type ServeHandlerInfo,
  setHttpRoute,
} from "../http.ts";

let counter = 0;

/** A clock that stands still until the test moves it. */
class ManualClock implements Clock {
  readonly timeOrigin = Date.UTC(2024, 0, 2, 3, 4, 5);
  ms = 0;
  now(): number {
    return this.ms;
  }
}

function setup(clock?: Clock): {
  source: ActivitySource;
  exporter: InMemoryExporter;
  provider: TracerProvider;
} {
  const name = `Http.Test.${++counter}`;
  const exporter = new InMemoryExporter();
  const provider = createTracerProviderBuilder().addSource(name).addInMemoryExporter(exporter)
    .build();
  const source = new ActivitySource(name, clock === undefined ? {} : { clock });
  return { source, exporter, provider };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A body the test feeds chunk by chunk. */
function controlledBody(): {
  stream: ReadableStream<Uint8Array>;
  controller: ReadableStreamDefaultController<Uint8Array>;
  cancelled: unknown[];
} {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const cancelled: unknown[] = [];
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    cancel(reason) {
      cancelled.push(reason);
    },
  });
  return { stream, controller, cancelled };
}

Deno.test("instrumentHandler() ends the server activity when the body has been sent, not when the handler returns", async () => {
  const clock = new ManualClock();
  const { source, exporter, provider } = setup(clock);
  using _provider = provider;
  const body = controlledBody();
  const handler = instrumentHandler(() => {
    clock.ms += 0.8; // the handler returns after 0.8 ms...
    return new Response(body.stream);
  }, { source });
  const response = await handler(new Request("http://api.test/stream"));
  assert.equal(exporter.activities.length, 0);
  const reader = response.body!.getReader();
  body.controller.enqueue(encoder.encode("first "));
  assert.equal(decoder.decode((await reader.read()).value), "first ");
  assert.equal(exporter.activities.length, 0);
  clock.ms += 200; // ...and the body takes 200 ms more
  body.controller.enqueue(encoder.encode("last"));
  body.controller.close();
  assert.equal(decoder.decode((await reader.read()).value), "last");
  assert.equal((await reader.read()).done, true);
  assert.equal(exporter.activities.length, 1);
  const [server] = exporter.activities;
  assert.equal(server!.durationTicks, 2_008_000); // 200.8 ms
  assert.equal(server!.status, "unset");
  assert.equal(server!.getTagItem("http.response.status_code"), 200);
  assert.equal(server!.getTagItem("error.type"), undefined);
});

Deno.test("instrumentHandler() keeps the status, status text and headers of a wrapped response", async () => {
  const { source, exporter, provider } = setup();
  using _provider = provider;
  const handler = instrumentHandler(
    () =>
      new Response("created", {
        status: 201,
        statusText: "Made",
        headers: { "x-order": "7", "content-type": "text/plain" },
      }),
    { source },
  );
  const response = await handler(new Request("http://api.test/orders", { method: "POST" }));
  assert.equal(response.status, 201);
  assert.equal(response.statusText, "Made");
  assert.equal(response.headers.get("x-order"), "7");
  assert.equal(response.headers.get("content-type"), "text/plain");
  assert.equal(await response.text(), "created");
  assert.equal(exporter.activities[0]?.getTagItem("http.response.status_code"), 201);
});

Deno.test("instrumentHandler() keeps the activity current in the handler and in the body's source", async () => {
  const { source, exporter, provider } = setup();
  using _provider = provider;
  const seen: (string | undefined)[] = [];
  let n = 0;
  const handler = instrumentHandler(async () => {
    await Promise.resolve();
    seen.push(Activity.current?.spanId);
    return new Response(
      new ReadableStream<Uint8Array>({
        // A source that waits for a timer: the body is still being produced when the
        // handler returns, so it is forwarded chunk by chunk as the reader asks.
        async pull(controller) {
          seen.push(Activity.current?.spanId);
          await new Promise((resolve) => setTimeout(resolve, 1));
          source.startActivity(`chunk ${n}`)?.stop();
          if (n++ < 2) controller.enqueue(encoder.encode(String(n)));
          else controller.close();
        },
      }, { highWaterMark: 0 }),
    );
  }, { source });
  // Read from outside any activity, as a server does.
  const response = await Activity.run(null, () => handler(new Request("http://api.test/")));
  assert.equal(await Activity.run(null, () => response.text()), "12");
  const server = exporter.activities.find((a) => a.kind === "server")!;
  assert.equal(seen.length, 4);
  assert.ok(seen.every((id) => id === server.spanId), JSON.stringify(seen));
  const chunks = exporter.activities.filter((a) => a.displayName.startsWith("chunk"));
  assert.equal(chunks.length, 3);
  assert.ok(chunks.every((c) => c.parentSpanId === server.spanId));
});

Deno.test("instrumentHandler() ends the activity with an error when the body is cancelled", async () => {
  const { source, exporter, provider } = setup();
  using _provider = provider;
  const body = controlledBody();
  const handler = instrumentHandler(() => new Response(body.stream), { source });
  const response = await handler(new Request("http://api.test/"));
  const reader = response.body!.getReader();
  body.controller.enqueue(encoder.encode("part"));
  await reader.read();
  await reader.cancel("resource closed"); // what Deno.serve gives when the client goes away
  assert.deepEqual(body.cancelled, ["resource closed"]);
  assert.equal(exporter.activities.length, 1);
  const [server] = exporter.activities;
  assert.equal(server!.status, "error");
  assert.equal(server!.statusDescription, "Response body cancelled: resource closed");
  assert.equal(server!.getTagItem("error.type"), "cancelled");
  assert.equal(server!.getTagItem("http.response.status_code"), 200);
});

Deno.test("instrumentHandler() records an error while the body streams, and passes it on", async () => {
  const { source, exporter, provider } = setup();
  using _provider = provider;
  const failure = new RangeError("Disk gone");
  let n = 0;
  const handler = instrumentHandler(
    () =>
      new Response(
        new ReadableStream<Uint8Array>({
          pull(controller) {
            if (n++ === 0) controller.enqueue(encoder.encode("a"));
            else throw failure;
          },
        }),
      ),
    { source },
  );
  const response = await handler(new Request("http://api.test/"));
  await assert.rejects(response.text(), (error) => error === failure);
  assert.equal(exporter.activities.length, 1);
  const [server] = exporter.activities;
  assert.equal(server!.status, "error");
  assert.equal(server!.statusDescription, "Disk gone");
  assert.equal(server!.getTagItem("error.type"), "RangeError");
  assert.deepEqual(server!.events.map((e) => e.name), ["exception"]);
  assert.equal(server!.events[0]!.tags[0]![1], "RangeError");
});

Deno.test("instrumentHandler() hands a body complete at return to the server whole, and ends", async () => {
  const { source, exporter, provider } = setup();
  using _provider = provider;
  const handler = instrumentHandler((request) => {
    if (request.url.endsWith("/json")) return Response.json({ ok: true });
    const count = Number(new URL(request.url).searchParams.get("chunks"));
    // Chunks all enqueued before the handler returns.
    return new Response(
      new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < count; i++) controller.enqueue(encoder.encode(`${i},`));
          controller.close();
        },
      }),
    );
  }, { source });

  const json = await handler(new Request("http://api.test/json"));
  assert.equal(exporter.activities.length, 1); // nothing left to send but what is in hand
  assert.equal(json.headers.get("content-type"), "application/json");
  assert.equal(await json.text(), '{"ok":true}');

  const few = await handler(new Request("http://api.test/?chunks=3"));
  assert.equal(exporter.activities.length, 2);
  assert.equal(await few.text(), "0,1,2,");

  // More chunks than are gathered into one body: the rest is forwarded, ending when read.
  const many = await handler(new Request("http://api.test/?chunks=100"));
  assert.equal(exporter.activities.length, 2);
  assert.equal(await many.text(), Array.from({ length: 100 }, (_, i) => `${i},`).join(""));
  assert.equal(exporter.activities.length, 3);
  assert.ok(exporter.activities.every((a) => a.status === "unset"));
});

Deno.test("instrumentHandler() returns a response without a body as it is and ends at once", async () => {
  const { source, exporter, provider } = setup();
  using _provider = provider;
  const responses = [
    new Response(null, { status: 204 }),
    Response.redirect("http://api.test/elsewhere", 302),
    new Response(null, { status: 200 }),
    Response.error(),
  ];
  let i = 0;
  const handler = instrumentHandler(() => responses[i++]!, { source });
  for (const expected of responses) {
    assert.equal(await handler(new Request("http://api.test/")), expected);
  }
  assert.deepEqual(
    exporter.activities.map((a) => a.getTagItem("http.response.status_code")),
    [204, 302, 200, 0],
  );
});

Deno.test("instrumentHandler() returns a response with a fixed string body as it is and ends at once", async () => {
  const { source, exporter, provider } = setup();
  using _provider = provider;
  const read = new Response("read already");
  read.body; // a stream now: it goes the general way
  const responses = [
    new Response("ok"),
    Response.json({ ok: true }),
    new Response("made", { status: 201, headers: { "x-a": "1" } }),
    read,
  ];
  let i = 0;
  const handler = instrumentHandler(() => responses[i++]!, { source });
  const answers: Response[] = [];
  for (let k = 0; k < responses.length; k++) {
    const answer = handler(new Request("http://api.test/"));
    assert.ok(answer instanceof Promise);
    answers.push(await answer);
    assert.equal(exporter.activities.length, k + 1);
  }
  // The runtime holds the first two as text; a body made with an init, or read, goes the
  // general way: handed over whole, in a response of the same status and headers.
  assert.deepEqual(answers.map((a, k) => a === responses[k]), [true, true, false, false]);
  assert.equal(answers[2]!.headers.get("x-a"), "1");
  assert.deepEqual(
    await Promise.all(answers.map((a) => a.text())),
    ["ok", '{"ok":true}', "made", "read already"],
  );
  assert.deepEqual(
    exporter.activities.map((a) => a.getTagItem("http.response.status_code")),
    [200, 200, 201, 200],
  );
});

Deno.test("instrumentHandler() records a throwing handler: error.type, error status, exception", async () => {
  const { source, exporter, provider } = setup();
  using _provider = provider;
  const failure = new TypeError("Cannot read properties of undefined");
  const handler = instrumentHandler((request) => {
    if (request.url.endsWith("/string")) throw "boom";
    throw failure;
  }, { source, route: "/fail" });
  await assert.rejects(handler(new Request("http://api.test/")), (error) => error === failure);
  await assert.rejects(handler(new Request("http://api.test/string")), (error) => error === "boom");
  const [typed, string] = exporter.activities;
  assert.equal(typed!.status, "error");
  assert.equal(typed!.statusDescription, "Cannot read properties of undefined");
  assert.equal(typed!.getTagItem("error.type"), "TypeError");
  assert.equal(typed!.events[0]?.name, "exception");
  // The server's error handler chooses the response, so no status code is recorded.
  assert.equal(typed!.getTagItem("http.response.status_code"), undefined);
  assert.equal(typed!.displayName, "GET /fail");
  assert.equal(string!.status, "error");
  assert.equal(string!.getTagItem("error.type"), "_OTHER");
});

Deno.test("instrumentHandler() sets the error status for a 5xx, not for a 4xx", async () => {
  const { source, exporter, provider } = setup();
  using _provider = provider;
  const handler = instrumentHandler(
    (request) => new Response("x", { status: Number(new URL(request.url).searchParams.get("s")) }),
    { source },
  );
  for (const status of [200, 302, 404, 429, 500, 503]) {
    await (await handler(new Request(`http://api.test/?s=${status}`))).text();
  }
  assert.deepEqual(
    exporter.activities.map((a) => [
      a.getTagItem("http.response.status_code"),
      a.status,
      a.getTagItem("error.type"),
    ]),
    [
      [200, "unset", undefined],
      [302, "unset", undefined],
      [404, "unset", undefined],
      [429, "unset", undefined],
      [500, "error", "500"],
      [503, "error", "503"],
    ],
  );
});

Deno.test("instrumentHandler() takes the route of each request from a function", async () => {
  const { source, exporter, provider } = setup();
  using _provider = provider;
  const routes = [
    new URLPattern({ pathname: "/orders/:id" }),
    new URLPattern({ pathname: "/users/:id" }),
  ];
  const seen: (string | undefined)[] = [];
  const handler = instrumentHandler((request) => {
    seen.push(Activity.current?.getTagItem("http.route") as string | undefined);
    return new Response(new URL(request.url).pathname);
  }, {
    source,
    route: (request) => routes.find((r) => r.test(request.url))?.pathname,
  });
  for (const path of ["/orders/7", "/users/ada", "/favicon.ico"]) {
    await (await handler(new Request(`http://api.test${path}`))).text();
  }
  assert.deepEqual(seen, ["/orders/:id", "/users/:id", undefined]);
  assert.deepEqual(
    exporter.activities.map((a) => [a.displayName, a.getTagItem("http.route")]),
    [["GET /orders/:id", "/orders/:id"], ["GET /users/:id", "/users/:id"], ["GET", undefined]],
  );
});

Deno.test("instrumentHandler() reports a throwing route function once and serves the request", async () => {
  const { source, exporter, provider } = setup();
  using _provider = provider;
  const errors = mock.method(console, "error", () => {});
  const handler = instrumentHandler(() => new Response("ok"), {
    source,
    route: () => {
      throw new Error("Router not ready");
    },
  });
  try {
    for (let i = 0; i < 3; i++) await (await handler(new Request("http://api.test/"))).text();
  } finally {
    errors.mock.restore();
  }
  assert.deepEqual(exporter.activities.map((a) => a.displayName), ["GET", "GET", "GET"]);
  assert.equal(errors.mock.callCount(), 1);
  assert.match(
    String(errors.mock.calls[0]!.arguments[0]),
    /instrumentHandler route function failed: Error: Router not ready/,
  );
});

Deno.test("setHttpRoute() names the server activity from inside the handler", async (t) => {
  const { source, exporter, provider } = setup();
  using _provider = provider;
  const results: boolean[] = [];
  const handler = instrumentHandler(async (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/direct") results.push(setHttpRoute("/direct"));
    if (path.startsWith("/nested/")) {
      // From a child activity (a router's own span): the server activity is found above it.
      await source.startActiveActivity("route", async () => {
        await Promise.resolve();
        results.push(setHttpRoute("/nested/:id"));
      });
    }
    if (path === "/tag") Activity.current?.setTag("http.route", "/tag");
    if (path === "/renamed") {
      Activity.current!.displayName = "custom name";
      results.push(setHttpRoute("/renamed"));
    }
    if (path === "/empty") results.push(setHttpRoute(""));
    return new Response("ok");
  }, { source, route: "/fallback" });
  for (const path of ["/direct", "/nested/7", "/tag", "/renamed", "/empty", "/other"]) {
    await (await handler(new Request(`http://api.test${path}`))).text();
  }
  assert.deepEqual(results, [true, true, true, false]);
  const servers = exporter.activities.filter((a) => a.kind === "server");
  assert.deepEqual(servers.map((a) => [a.displayName, a.getTagItem("http.route")]), [
    ["GET /direct", "/direct"],
    ["GET /nested/:id", "/nested/:id"],
    ["GET /tag", "/tag"],
    ["custom name", "/renamed"],
    ["GET /fallback", "/fallback"],
    ["GET /fallback", "/fallback"],
  ]);
  await t.step("outside a wrapped handler it does nothing", () => {
    assert.equal(setHttpRoute("/x"), false);
    source.startActiveActivity("not a server", () => {
      assert.equal(setHttpRoute("/x"), false);
    });
  });
});

Deno.test("instrumentHandler() and instrumentFetch() record an unknown method as _OTHER named HTTP", async () => {
  const { source, exporter, provider } = setup();
  using _provider = provider;
  const handler = instrumentHandler(() => new Response(null, { status: 204 }), { source });
  const fetch = instrumentFetch({
    source,
    fetch: (input, init) => handler(new Request(input, init)),
  });
  await fetch("http://api.test/cache", { method: "PURGE" });
  await fetch("http://api.test/cache", { method: "patch" }); // methods are case-sensitive
  await fetch("http://api.test/cache", { method: "PATCH" });
  assert.deepEqual(
    exporter.activities.map((a) => [
      a.kind,
      a.displayName,
      a.getTagItem("http.request.method"),
      a.getTagItem("http.request.method_original"),
    ]),
    [
      ["server", "HTTP", "_OTHER", "PURGE"],
      ["client", "HTTP", "_OTHER", "PURGE"],
      ["server", "HTTP", "_OTHER", "patch"],
      ["client", "HTTP", "_OTHER", "patch"],
      ["server", "PATCH", "PATCH", undefined],
      ["client", "PATCH", "PATCH", undefined],
    ],
  );
});

Deno.test("instrumentHandler() with nothing listening still serves, without a current activity", async () => {
  const source = new ActivitySource(`Http.Test.Unheard.${++counter}`);
  const seen: unknown[] = [];
  const handler = instrumentHandler(() => {
    seen.push(Activity.current);
    return new Response("ok");
  }, { source });
  const response = await handler(new Request("http://api.test/"));
  assert.equal(await response.text(), "ok");
  assert.deepEqual(seen, [undefined]);
});

Deno.test("instrumentHandler() takes Deno.serve's two-argument handler and passes info on", async () => {
  const { source, exporter, provider } = setup();
  using _provider = provider;
  // Written as for Deno.serve: `info` is typed from the handler's shape, checked by deno check.
  const handler = instrumentHandler((request, info) => {
    const peer = info.remoteAddr.transport === "tcp" ? info.remoteAddr.hostname : "local";
    return new Response(`${request.method} from ${peer}`);
  }, { source });
  const serve: Deno.ServeHandler = handler;
  const info: ServeHandlerInfo = {
    remoteAddr: { transport: "tcp", hostname: "192.0.2.1", port: 4711 },
    completed: Promise.resolve(),
  };
  assert.equal(
    await (await serve(new Request("http://api.test/"), info)).text(),
    "GET from 192.0.2.1",
  );
  assert.equal(exporter.activities.length, 1);
});

const net = await Deno.permissions.query({ name: "net", host: "127.0.0.1" });

Deno.test({
  name: "instrumentHandler() under Deno.serve: (req, info), a streamed body, a client that leaves",
  ignore: net.state !== "granted",
  fn: async () => {
    const { source, exporter, provider } = setup();
    let release!: () => void;
    const released = new Promise<void>((resolve) => release = resolve);
    // Deno's two-argument handler, checked by `deno check` as written here.
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      instrumentHandler((request, info) => {
        const path = new URL(request.url).pathname;
        Activity.current?.setTag("client.address", info.remoteAddr.hostname);
        if (path === "/peer") return new Response(info.remoteAddr.hostname);
        return new Response(
          new ReadableStream<Uint8Array>({
            async start(controller) {
              controller.enqueue(encoder.encode("first\n"));
              await released;
              if (path === "/stream") controller.enqueue(encoder.encode("last\n"));
              if (path === "/stream") controller.close();
            },
          }),
        );
      }, { source, route: (request) => new URL(request.url).pathname }),
    );
    try {
      const base = `http://127.0.0.1:${server.addr.port}`;
      const peer = await fetch(`${base}/peer`);
      assert.equal(await peer.text(), "127.0.0.1");
      // A body complete at return goes out whole, with its length, as it would unwrapped.
      assert.equal(peer.headers.get("content-length"), "9");

      const response = await fetch(`${base}/stream`);
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
      assert.equal((await reader.read()).value, "first\n");
      // The client has the first chunk: the server activity is still running.
      assert.deepEqual(exporter.activities.map((a) => a.displayName), ["GET /peer"]);
      release();
      let rest = "";
      for (let r = await reader.read(); !r.done; r = await reader.read()) rest += r.value;
      assert.equal(rest, "last\n");
      await waitFor(() => exporter.activities.length === 2);
      const streamed = exporter.activities[1]!;
      assert.equal(streamed.displayName, "GET /stream");
      assert.equal(streamed.status, "unset");
      assert.equal(streamed.getTagItem("client.address"), "127.0.0.1");

      // A client that goes away before the body ends: the server activity ends in error.
      const aborter = new AbortController();
      const leaving = await fetch(`${base}/leave`, { signal: aborter.signal });
      await leaving.body!.getReader().read();
      aborter.abort();
      await waitFor(() => exporter.activities.length === 3);
      const left = exporter.activities[2]!;
      assert.equal(left.displayName, "GET /leave");
      assert.equal(left.status, "error");
      assert.equal(left.getTagItem("error.type"), "cancelled");
    } finally {
      release(); // so that a failed assertion does not leave a response open
      await server.shutdown();
      await provider.shutdown();
    }
  },
});

/** Waits (a bounded number of turns of the event loop) until `done` says so. */
async function waitFor(done: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(done(), "the condition was not met in time");
}
