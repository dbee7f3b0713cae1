// The part of `npm:@opentelemetry/exporter-trace-otlp-proto` and `-http` that the fan-out program
// uses, declared here: the packages' own types bring in `@types/node`, whose `node:assert`
// declarations then clash with the ones the tests are checked against when `deno check .` checks
// everything together.

import type { ExportResult } from "npm:@opentelemetry/core@2.12.1";
import type { ReadableSpan, SpanExporter } from "npm:@opentelemetry/sdk-trace-base@2.12.1";

/** Sends spans as OTLP/HTTP (protobuf or JSON, by package). */
export declare class OTLPTraceExporter implements SpanExporter {
  constructor(config?: { url?: string });
  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void;
  shutdown(): Promise<void>;
  forceFlush(): Promise<void>;
}
