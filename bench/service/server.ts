// The service of the service benchmark: one `Deno.serve` handler, traced one of five ways.
//
//   deno run --allow-net=127.0.0.1 --allow-env bench/service/server.ts <variant> <port> [<otlp endpoint>]
//
//   A   untraced.
//   B   this module: `instrumentHandler`, one child activity with two tags inside the handler,
//       `addOtlpExporter({ endpoint })` otherwise at its defaults (http/protobuf, batch of 512).
//   B0  as B, but the batch processor's exporter does nothing (it counts): instrumentation and
//       batching without OTLP encoding and sending.
//   C   the OpenTelemetry JS SDK: a server span continued from the request's `traceparent`,
//       with the attributes `instrumentHandler` sets, current while the handler runs; a child
//       with two attributes; BatchSpanProcessor + the OTLP proto exporter.
//   D   Deno's built-in telemetry: run with OTEL_DENO=true and OTEL_EXPORTER_OTLP_ENDPOINT;
//       Deno.serve makes the server span, the child comes from `npm:@opentelemetry/api`.
//
// Every request the handler sees makes two spans (B, B0, C, D) or none (A). The runner talks to
// the service through standard input and output, not HTTP, so that its questions are neither
// traced nor counted: each line in is a command, each line out a JSON object.
//
//   stats  → {"requests": n}         requests the handler saw so far
//   stop   → {"requests": n, "exported": n?}  after the spans are flushed (the provider shut
//            down); then the process exits (D flushes its telemetry on exit)
//
// On start it prints {"ready": port}.

// Each variant loads only what it uses, so that none pays (in start-up or memory) for another's
// modules.
import type * as otel from "npm:@opentelemetry/api@1.9.1";
import type { Activity, TracerProvider } from "../../mod.ts";

/** The variants, as the runner names them. */
export const VARIANTS = ["A", "B", "B0", "C", "D"] as const;
/** One of {@linkcode VARIANTS}. */
export type Variant = typeof VARIANTS[number];

/** Spans each request sends, per variant. */
export const SPANS_PER_REQUEST: Record<Variant, number> = { A: 0, B: 2, B0: 2, C: 2, D: 2 };

const SOURCE = "service-bench";
const ROUTE = "/";
const BODY = "ok";

let requests = 0;

/** The handler's own work, the same in every variant: the child is made by the caller. */
function respond(): Response {
  requests++;
  return new Response(BODY);
}

interface Service {
  handler: (request: Request) => Response | Promise<Response>;
  /** Flushes what is queued and shuts the tracing down; returns the spans exported, if known. */
  stop(): Promise<number | undefined>;
}

function untraced(): Service {
  return { handler: respond, stop: () => Promise.resolve(undefined) };
}

async function ours(endpoint: string | undefined): Promise<Service> {
  const { ActivitySource, createTracerProviderBuilder } = await import("../../mod.ts");
  const { instrumentHandler } = await import("../../http.ts");
  const builder = createTracerProviderBuilder().addSource(SOURCE);
  let exported: number | undefined;
  if (endpoint === undefined) {
    exported = 0;
    builder.addBatchExporter({
      export(activities: readonly Activity[]) {
        exported! += activities.length;
      },
    });
  } else {
    builder.addOtlpExporter({ endpoint });
  }
  const provider: TracerProvider = builder.build();
  const source = new ActivitySource(SOURCE);
  const handler = instrumentHandler(() => {
    const child = source.startActivity("load cart");
    child?.setTag("cart.id", "c-1024").setTag("cart.items", 3);
    child?.stop();
    return respond();
  }, { source, route: ROUTE });
  return {
    handler,
    async stop() {
      await provider.shutdown();
      return exported;
    },
  };
}

const headerGetter: otel.TextMapGetter<Headers> = {
  keys: (headers) => [...headers.keys()],
  get: (headers, key) => headers.get(key) ?? undefined,
};

async function openTelemetry(endpoint: string): Promise<Service> {
  const {
    otel,
    AsyncLocalStorageContextManager,
    W3CTraceContextPropagator,
    BasicTracerProvider,
    BatchSpanProcessor,
    OTLPTraceExporter,
  } = await import("./_otel_sdk.ts");
  otel.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  otel.propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const provider = new BasicTracerProvider({
    spanProcessors: [
      new BatchSpanProcessor(new OTLPTraceExporter({ url: `${endpoint}/v1/traces` })),
    ],
  });
  otel.trace.setGlobalTracerProvider(provider);
  const tracer = provider.getTracer(SOURCE);
  const inner = (): Response => {
    const child = tracer.startSpan("load cart");
    child.setAttribute("cart.id", "c-1024").setAttribute("cart.items", 3);
    child.end();
    return respond();
  };
  // The same server span as instrumentHandler's: the same name, kind and attributes.
  const handler = (request: Request): Promise<Response> => {
    const parent = otel.propagation.extract(otel.ROOT_CONTEXT, request.headers, headerGetter);
    const url = new URL(request.url);
    const attributes: otel.Attributes = {
      "http.request.method": request.method,
      "url.path": url.pathname,
      "url.scheme": url.protocol.replace(/:$/, ""),
      "server.address": url.hostname,
      "server.port": url.port !== "" ? Number(url.port) : 80,
      "http.route": ROUTE,
    };
    if (url.search !== "") attributes["url.query"] = url.search.slice(1);
    const agent = request.headers.get("user-agent");
    if (agent !== null) attributes["user_agent.original"] = agent;
    return tracer.startActiveSpan(
      `${request.method} ${ROUTE}`,
      { kind: otel.SpanKind.SERVER, attributes },
      parent,
      async (span) => {
        try {
          const response = await inner();
          span.setAttribute("http.response.status_code", response.status);
          if (response.status >= 500) span.setStatus({ code: otel.SpanStatusCode.ERROR });
          return response;
        } finally {
          span.end();
        }
      },
    );
  };
  return {
    handler,
    async stop() {
      await provider.shutdown();
      return undefined;
    },
  };
}

async function denoBuiltIn(): Promise<Service> {
  const otel = await import("npm:@opentelemetry/api@1.9.1");
  const tracer = otel.trace.getTracer(SOURCE);
  const probe = tracer.startSpan("probe");
  if (!probe.isRecording()) {
    throw new Error("Cannot run variant D: Deno's telemetry is off (set OTEL_DENO=true)");
  }
  // Not ended: an ended probe would be one more span than the requests account for.
  const handler = (): Response => {
    const child = tracer.startSpan("load cart");
    child.setAttribute("cart.id", "c-1024").setAttribute("cart.items", 3);
    child.end();
    return respond();
  };
  // Deno exports what is left when the process exits.
  return { handler, stop: () => Promise.resolve(undefined) };
}

function makeService(variant: Variant, endpoint: string | undefined): Promise<Service> {
  switch (variant) {
    case "A":
      return Promise.resolve(untraced());
    case "B":
      return ours(endpoint ?? "http://127.0.0.1:4318");
    case "B0":
      return ours(undefined);
    case "C":
      return openTelemetry(endpoint ?? "http://127.0.0.1:4318");
    case "D":
      return denoBuiltIn();
  }
}

function send(value: unknown): void {
  console.log(JSON.stringify(value));
}

async function main(): Promise<void> {
  const [variant, portText, endpoint] = Deno.args;
  if (!VARIANTS.includes(variant as Variant)) {
    throw new TypeError(`Cannot start the service: variant '${variant}' is not one of ${VARIANTS}`);
  }
  const port = Number(portText ?? 8000);
  const service = await makeService(variant as Variant, endpoint);
  const server = Deno.serve(
    { hostname: "127.0.0.1", port, onListen: () => send({ ready: port }) },
    service.handler,
  );
  // Read without streams, so that a profile shows no stream work but the collector's.
  const buffer = new Uint8Array(256);
  const decoder = new TextDecoder();
  let pending = "";
  for (;;) {
    const n = await Deno.stdin.read(buffer);
    if (n === null) break;
    pending += decoder.decode(buffer.subarray(0, n), { stream: true });
    let newline;
    while ((newline = pending.indexOf("\n")) >= 0) {
      const command = pending.slice(0, newline).trim();
      pending = pending.slice(newline + 1);
      if (command === "stats") send({ requests });
      else if (command === "stop") {
        await server.shutdown();
        const exported = await service.stop();
        send(exported === undefined ? { requests } : { requests, exported });
        Deno.exit(0);
      } else send({ error: `unknown command '${command}'` });
    }
  }
}

if (import.meta.main) await main();
