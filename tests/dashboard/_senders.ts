// The senders the dashboard is checked with, each sending the guide's fan-out (OrchestratingActivity
// with WrapUp beneath it, and three FannedOutActivity roots that link to it): this module's OTLP
// exporter (protobuf, and gzip-compressed JSON), the OpenTelemetry JS SDK with its proto and http
// exporters, and Deno's built-in telemetry (OTEL_DENO=true). The last three run as programs, so the
// tests that use them need --allow-run=deno.

import { Activity, ActivityLink, ActivitySource, createTracerProviderBuilder } from "../../mod.ts";
import { OtlpExporter } from "../../otlp/mod.ts";

/** A sender of the fan-out. */
export interface Sender {
  /** What sends, for test names and messages. */
  readonly name: string;
  /** The `service.name` its spans carry. */
  readonly service: string;
  /** Whether it runs as a program (needs --allow-run=deno). */
  readonly program: boolean;
  /** Sends the fan-out to an OTLP base address (`http://127.0.0.1:PORT`); done when sent. */
  send(otlpUrl: string): Promise<void>;
}

async function moduleFanout(
  otlpUrl: string,
  protocol: "http/protobuf" | "http/json",
  service: string,
) {
  const source = new ActivitySource("MyCompany.MyApplication");
  const exporter = new OtlpExporter({
    endpoint: otlpUrl,
    protocol,
    compression: protocol === "http/json" ? "gzip" : "none",
  });
  const provider = createTracerProviderBuilder().addSource(source.name).setServiceName(service)
    .addExporter(exporter).build();
  await source.startActiveActivity("OrchestratingActivity", async (orchestrating) => {
    orchestrating?.setTag("operation", "main-process");
    const links = [new ActivityLink(Activity.current!.context)];
    await Promise.all(
      [1, 2, 3].map((n) =>
        source.startActiveActivity(`FannedOutActivity ${n}`, { root: true, links }, async () => {
          await new Promise((resolve) => setTimeout(resolve, 2 * n));
        })
      ),
    );
    using wrapUp = source.startActivity("WrapUp");
    wrapUp?.setTag("status", "completed");
  });
  await provider.shutdown();
  if (exporter.deliveredCount !== 5) {
    throw new Error(`${service}: ${exporter.deliveredCount} of 5 spans delivered`);
  }
}

async function program(args: string[], env: Record<string, string>): Promise<void> {
  const output = await new Deno.Command("deno", {
    args: ["run", "--no-prompt", "--allow-env", "--allow-net=127.0.0.1", ...args],
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
  }).output();
  if (!output.success) {
    throw new Error(`${args.join(" ")} failed: ${new TextDecoder().decode(output.stderr)}`);
  }
}

const programs = new URL("./programs/", import.meta.url).pathname;

/** The five senders. */
export const SENDERS: readonly Sender[] = [
  {
    name: "this module's OtlpExporter, http/protobuf",
    service: "module-protobuf",
    program: false,
    send: (url) => moduleFanout(url, "http/protobuf", "module-protobuf"),
  },
  {
    name: "this module's OtlpExporter, http/json with gzip",
    service: "module-json",
    program: false,
    send: (url) => moduleFanout(url, "http/json", "module-json"),
  },
  {
    name: "OpenTelemetry JS SDK, exporter-trace-otlp-proto",
    service: "otel-js-proto",
    program: true,
    send: (url) => program([`${programs}otel_js_fanout.ts`, "proto", `${url}/v1/traces`], {}),
  },
  {
    name: "OpenTelemetry JS SDK, exporter-trace-otlp-http",
    service: "otel-js-http",
    program: true,
    send: (url) => program([`${programs}otel_js_fanout.ts`, "http", `${url}/v1/traces`], {}),
  },
  {
    name: "Deno's built-in telemetry, OTEL_DENO=true",
    service: "deno-otel",
    program: true,
    send: (url) =>
      program([`${programs}otel_deno_fanout.ts`], {
        OTEL_DENO: "true",
        OTEL_SERVICE_NAME: "deno-otel",
        OTEL_EXPORTER_OTLP_ENDPOINT: url,
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
      }),
  },
];

/** A trace as GET /api/traces lists it (the fields the checks read). */
export interface ListedTrace {
  traceId: string;
  rootName: string;
  spanCount: number;
  linksIn: number;
  linksOut: number;
  service: string;
}

/**
 * Checks what GET /api/traces lists for one sender's fan-out; returns the orchestrator's trace
 * id, or throws saying what is wrong.
 */
export function checkFanout(traces: readonly ListedTrace[], service: string): string {
  const mine = traces.filter((t) => t.service === service);
  const shape = mine.map((t) =>
    `${t.rootName}: ${t.spanCount} spans, ${t.linksIn} in, ${t.linksOut} out`
  )
    .sort();
  const expected = [
    "FannedOutActivity 1: 1 spans, 0 in, 1 out",
    "FannedOutActivity 2: 1 spans, 0 in, 1 out",
    "FannedOutActivity 3: 1 spans, 0 in, 1 out",
    "OrchestratingActivity: 2 spans, 3 in, 0 out",
  ];
  if (JSON.stringify(shape) !== JSON.stringify(expected)) {
    throw new Error(
      `${service}: listed ${JSON.stringify(shape)}, expected ${JSON.stringify(expected)}`,
    );
  }
  return mine.find((t) => t.rootName === "OrchestratingActivity")!.traceId;
}
