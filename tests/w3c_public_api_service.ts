/**
 * A second service under test for the W3C Trace Context test suite, written only on the public
 * API a user imports (`mod.ts`): each request is read with `extract`, continued as a `server`
 * activity (or a new root when there is no valid parent), and each callback the harness asks
 * for is a `client` activity whose headers are written with `inject`. Unlike
 * `tests/w3c_conformance_service.ts`, it uses no HTTP helper, so the suite checks the
 * propagation functions as a user would call them by hand.
 *
 * Run: `deno run --allow-net=127.0.0.1 tests/w3c_public_api_service.ts 5000`, then, in the
 * suite's `test/` folder, `SPEC_LEVEL=2 STRICT_LEVEL=2 python3 test.py http://127.0.0.1:5000/test`
 * (`.ci/conformance` does both).
 *
 * @module
 */

import { ActivitySource, createTracerProviderBuilder, extract, inject } from "../mod.ts";

interface Action {
  url: string;
  arguments?: unknown;
}

/**
 * Serves the conformance endpoint on 127.0.0.1 with `extract` and `inject` only.
 *
 * @param port The port (0 for any free port).
 * @returns The server; its `addr` says the port.
 */
export function servePublicApiConformance(port: number): Deno.HttpServer<Deno.NetAddr> {
  const source = new ActivitySource("W3C.Conformance.PublicApi");
  createTracerProviderBuilder().addSource("W3C.Conformance.PublicApi").build();
  return Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, async (request) => {
    const parent = extract(request.headers);
    const server = source.startActivity(
      "POST /test",
      parent !== undefined ? { kind: "server", parent } : { kind: "server", root: true },
    );
    try {
      let actions: unknown = null;
      try {
        actions = await request.json();
      } catch {
        actions = null;
      }
      if (Array.isArray(actions)) {
        for (const action of actions as Action[]) {
          if (typeof action?.url !== "string") continue;
          const client = source.startActivity(
            "POST",
            server !== undefined ? { kind: "client", parent: server } : { kind: "client" },
          );
          const headers = new Headers({ "content-type": "application/json" });
          inject(client, headers);
          try {
            const response = await fetch(action.url, {
              method: "POST",
              headers,
              body: JSON.stringify(action.arguments ?? []),
            });
            await response.body?.cancel();
          } finally {
            client?.stop();
          }
        }
      }
      return Response.json("ok");
    } finally {
      server?.stop();
    }
  });
}

if (import.meta.main) {
  const server = servePublicApiConformance(Number(Deno.args[0] ?? 5000));
  console.log(`W3C Trace Context service on http://127.0.0.1:${server.addr.port}/test`);
}
