/**
 * OTLP export: {@linkcode OtlpExporter} sends recorded activities to any OpenTelemetry backend
 * (a collector, Jaeger, Tempo, a vendor) as `POST {endpoint}/v1/traces`, in `http/protobuf`
 * (the default, with a small built-in encoder) or `http/json`, or over gRPC (`protocol: "grpc"`,
 * the unary `Export` call on port 4317, through `node:http2`), optionally gzip-compressed, with
 * retries, a timeout and counts of what was delivered and lost. {@linkcode encodeOtlpTraces}
 * gives the request body alone.
 *
 * This is a subpath export (`@tracelinks/activity/otlp`): importing the core module does not
 * load it. `createTracerProviderBuilder().addOtlpExporter()` loads it on first use.
 *
 * @example Send to a collector (here a stand-in `fetch`)
 * ```ts
 * import { ActivitySource, createTracerProviderBuilder } from "@tracelinks/activity";
 * import { OtlpExporter } from "@tracelinks/activity/otlp";
 * import assert from "node:assert/strict";
 *
 * const requests: Request[] = [];
 * const exporter = new OtlpExporter({
 *   endpoint: "http://collector.example:4318",
 *   protocol: "http/json",
 *   fetch: async (input, init) => {
 *     requests.push(new Request(input, init));
 *     return new Response("{}", { headers: { "content-type": "application/json" } });
 *   },
 * });
 * const provider = createTracerProviderBuilder().addSource("Shop").addExporter(exporter).build();
 * new ActivitySource("Shop").startActivity("Checkout")?.stop();
 * await provider.shutdown();
 * assert.equal(requests[0]?.url, "http://collector.example:4318/v1/traces");
 * const body = await requests[0]!.json();
 * assert.equal(body.resourceSpans[0].scopeSpans[0].spans[0].name, "Checkout");
 * assert.equal(exporter.deliveredCount, 1);
 * ```
 *
 * @module
 */

export { OtlpExporter, OtlpExportError } from "./exporter.ts";
export { encodeOtlpTraces, type EncodeOtlpTracesOptions, type OtlpProtocol } from "./encode.ts";
export type {
  FetchFunction,
  OtlpCompression,
  OtlpExporterOptions,
  OtlpExporterProtocol,
  OtlpRetryOptions,
} from "./_config.ts";
export type { ErrorHandler, ReportLevel } from "../_diagnostics.ts";
