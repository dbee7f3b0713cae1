/**
 * The service under test for the W3C Trace Context test suite (w3c/trace-context, `test/`):
 * every request is a `server` activity continued from the request's `traceparent` and
 * `tracestate` (through `instrumentHandler`, so `extract`), and each callback the harness asks
 * for is a `client` activity sent with `inject` (through `instrumentFetch`).
 *
 * Run: `deno run --allow-net=127.0.0.1 tests/w3c_conformance_service.ts 5000`, then, in the
 * suite's `test/` folder, `SPEC_LEVEL=2 STRICT_LEVEL=2 python3 test.py http://127.0.0.1:5000/test`
 * (`.ci/conformance` does both).
 *
 * @module
 */

import { ActivitySource, createTracerProviderBuilder } from "../mod.ts";
import { instrumentFetch, instrumentHandler } from "../http.ts";

interface Action {
  url: string;
  arguments?: unknown;
}

/**
 * Serves the conformance endpoint on 127.0.0.1.
 *
 * @param port The port (0 for any free port).
 * @returns The server; its `addr` says the port.
 */
export function serveConformance(port: number): Deno.HttpServer<Deno.NetAddr> {
  const source = new ActivitySource("W3C.Conformance");
  createTracerProviderBuilder().addSource("W3C.Conformance").build();
  const fetch = instrumentFetch({ source });
  const handler = instrumentHandler(async (request: Request) => {
    let actions: unknown = null;
    try {
      actions = await request.json();
    } catch {
      actions = null;
    }
    if (Array.isArray(actions)) {
      for (const action of actions as Action[]) {
        if (typeof action?.url !== "string") continue;
        const response = await fetch(action.url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(action.arguments ?? []),
        });
        await response.body?.cancel();
      }
    }
    return Response.json("ok");
  }, { source });
  return Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, handler);
}

if (import.meta.main) {
  const server = serveConformance(Number(Deno.args[0] ?? 5000));
  console.log(`W3C Trace Context service on http://127.0.0.1:${server.addr.port}/test`);
}
