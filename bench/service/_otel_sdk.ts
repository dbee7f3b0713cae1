// The OpenTelemetry JS SDK as variant C of the service uses it, loaded by that variant only.

export * as otel from "npm:@opentelemetry/api@1.9.1";
export { AsyncLocalStorageContextManager } from "npm:@opentelemetry/context-async-hooks@2.12.0";
export { W3CTraceContextPropagator } from "npm:@opentelemetry/core@2.12.1";
export { BasicTracerProvider, BatchSpanProcessor } from "npm:@opentelemetry/sdk-trace-base@2.12.1";
// @ts-types="./_otlp_proto_exporter.d.ts"
import { OTLPTraceExporter } from "npm:@opentelemetry/exporter-trace-otlp-proto@0.223.1";
export { OTLPTraceExporter };
