// A stand-in OTLP/HTTP collector for the service benchmark: it counts the spans it receives and
// answers 200 with an empty ExportTraceServiceResponse, so that the runner can compare the spans
// received with the spans the service sent.
//
//   deno run --allow-net=127.0.0.1 bench/service/receiver.ts --port 4318 [--show]
//
// POST /v1/traces  http/protobuf or http/json, optionally gzip: counted. Protobuf is walked only
//                  as far as needed to count spans (ExportTraceServiceRequest.resource_spans(1)
//                  → ResourceSpans.scope_spans(2) → ScopeSpans.spans(2)).
// POST /v1/metrics, /v1/logs  answered 200 and counted as requests (Deno's built-in telemetry
//                  sends these too).
// GET  /count      the counts as JSON.
// POST /reset      sets the counts to zero.
// With --show, the first span of each new shape (name, kind, parent or not, attribute keys) is
// printed to stderr, to check that the variants send the same spans.

interface Counts {
  /** Spans received on /v1/traces. */
  spans: number;
  /** Requests received on /v1/traces. */
  traceRequests: number;
  /** Body bytes received on /v1/traces, as sent (compressed if it was). */
  traceBytes: number;
  /** Requests on /v1/metrics and /v1/logs. */
  otherRequests: number;
  /** Bodies that could not be read. */
  errors: number;
}

function newCounts(): Counts {
  return { spans: 0, traceRequests: 0, traceBytes: 0, otherRequests: 0, errors: 0 };
}

/**
 * Walks the fields of one protobuf message: `onField(field, from, to, value)` is called for each
 * length-delimited field (its bytes are `from`..`to`) and each varint field (`value`, with
 * `from === to`).
 */
function walk(
  bytes: Uint8Array,
  start: number,
  end: number,
  onField: (field: number, from: number, to: number, value: number) => void,
): void {
  let at = start;
  const varint = (): number => {
    let value = 0;
    let scale = 1;
    for (;;) {
      if (at >= end) throw new RangeError("Cannot decode protobuf: truncated varint");
      const byte = bytes[at++]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 128;
    }
  };
  while (at < end) {
    const key = varint();
    const field = Math.floor(key / 8);
    switch (key & 7) {
      case 0:
        onField(field, at, at, varint());
        break;
      case 1:
        at += 8;
        break;
      case 5:
        at += 4;
        break;
      case 2: {
        const length = varint();
        if (at + length > end) throw new RangeError("Cannot decode protobuf: truncated field");
        onField(field, at, at + length, length);
        at += length;
        break;
      }
      default:
        throw new RangeError(`Cannot decode protobuf: wire type ${key & 7} is not supported`);
    }
  }
}

const decoder = new TextDecoder();
const shapes = new Set<string>();

/** A short description of a protobuf span: name, kind, parent or not, attribute keys. */
function describeSpan(bytes: Uint8Array, from: number, to: number): string {
  let name = "";
  let kind = 0;
  let hasParent = false;
  const keys: string[] = [];
  walk(bytes, from, to, (field, a, b, value) => {
    if (field === 5) name = decoder.decode(bytes.subarray(a, b));
    else if (field === 6) kind = value;
    else if (field === 4 && b > a) hasParent = true;
    else if (field === 9) {
      walk(bytes, a, b, (f, x, y) => {
        if (f === 1) keys.push(decoder.decode(bytes.subarray(x, y)));
      });
    }
  });
  return `${name} kind=${kind} parent=${hasParent} attributes=[${keys.sort().join(",")}]`;
}

function countProtobuf(bytes: Uint8Array, show: boolean): number {
  let spans = 0;
  walk(bytes, 0, bytes.length, (field, a, b) => {
    if (field !== 1 || a === b) return;
    walk(bytes, a, b, (field, a, b) => {
      if (field !== 2 || a === b) return;
      walk(bytes, a, b, (field, a, b) => {
        if (field !== 2) return;
        spans++;
        if (show) {
          const shape = describeSpan(bytes, a, b);
          if (!shapes.has(shape)) {
            shapes.add(shape);
            console.error(`receiver: span ${shape}`);
          }
        }
      });
    });
  });
  return spans;
}

interface JsonSpan {
  name?: string;
  kind?: number;
  parentSpanId?: string;
  attributes?: { key: string }[];
}

function countJson(bytes: Uint8Array, show: boolean): number {
  const body = JSON.parse(decoder.decode(bytes)) as {
    resourceSpans?: { scopeSpans?: { spans?: JsonSpan[] }[] }[];
  };
  let spans = 0;
  for (const resource of body.resourceSpans ?? []) {
    for (const scope of resource.scopeSpans ?? []) {
      for (const span of scope.spans ?? []) {
        spans++;
        if (show) {
          const keys = (span.attributes ?? []).map((kv) => kv.key).sort().join(",");
          const shape = `${span.name} kind=${span.kind} parent=${
            (span.parentSpanId ?? "") !== ""
          } attributes=[${keys}]`;
          if (!shapes.has(shape)) {
            shapes.add(shape);
            console.error(`receiver: span ${shape}`);
          }
        }
      }
    }
  }
  return spans;
}

/**
 * Counts the spans of an ExportTraceServiceRequest.
 *
 * @param bytes The request body, uncompressed.
 * @param json Whether it is OTLP/JSON rather than protobuf.
 * @param show Print each new span shape to stderr.
 * @returns The number of spans.
 * @throws {RangeError} When protobuf is truncated or malformed; {SyntaxError} for bad JSON.
 */
export function countSpans(bytes: Uint8Array, json: boolean, show = false): number {
  return json ? countJson(bytes, show) : countProtobuf(bytes, show);
}

async function readBody(request: Request): Promise<Uint8Array> {
  const encoding = request.headers.get("content-encoding");
  if (encoding === "gzip" && request.body !== null) {
    const stream = request.body.pipeThrough(new DecompressionStream("gzip"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }
  return new Uint8Array(await request.arrayBuffer());
}

/** Starts the receiver; returns the server, to shut down. */
export function startReceiver(port: number, show: boolean): Deno.HttpServer {
  let counts = newCounts();
  const onListen = () => console.log(JSON.stringify({ ready: port }));
  return Deno.serve({ hostname: "127.0.0.1", port, onListen }, async (request) => {
    const path = new URL(request.url).pathname;
    if (request.method === "GET" && path === "/count") return Response.json(counts);
    if (request.method === "POST" && path === "/reset") {
      counts = newCounts();
      return Response.json(counts);
    }
    const json = (request.headers.get("content-type") ?? "").includes("json");
    const empty = json
      ? new Response("{}", { headers: { "content-type": "application/json" } })
      : new Response(new Uint8Array(0), { headers: { "content-type": "application/x-protobuf" } });
    if (request.method === "POST" && path === "/v1/traces") {
      counts.traceRequests++;
      const length = Number(request.headers.get("content-length") ?? NaN);
      try {
        const bytes = await readBody(request);
        counts.traceBytes += Number.isFinite(length) ? length : bytes.length;
        counts.spans += countSpans(bytes, json, show);
      } catch (error) {
        counts.errors++;
        console.error(`receiver: cannot read a trace export: ${error}`);
        return new Response("bad request", { status: 400 });
      }
      return empty;
    }
    if (request.method === "POST" && (path === "/v1/metrics" || path === "/v1/logs")) {
      counts.otherRequests++;
      await request.arrayBuffer();
      return empty;
    }
    return new Response("not found", { status: 404 });
  });
}

if (import.meta.main) {
  const args = Deno.args;
  const portAt = args.indexOf("--port");
  const port = portAt >= 0 ? Number(args[portAt + 1]) : 4318;
  startReceiver(port, args.includes("--show"));
}
