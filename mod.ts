/**
 * .NET's `System.Diagnostics.Activity` tracing model for Deno, Node and Bun, with no
 * dependency: W3C trace and span ids, the current activity carried through async code, links
 * between traces, and a console exporter that prints the layout of OpenTelemetry .NET.
 *
 * @example The fan-out of the OpenTelemetry .NET links guide
 * ```ts
 * import {
 *   Activity,
 *   ActivityLink,
 *   ActivitySource,
 *   createTracerProviderBuilder,
 *   InMemoryExporter,
 * } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * const exporter = new InMemoryExporter();
 * const source = new ActivitySource("MyCompany.MyApplication");
 * using _provider = createTracerProviderBuilder()
 *   .addSource("MyCompany.MyApplication")
 *   .addInMemoryExporter(exporter)
 *   .build();
 *
 * await source.startActiveActivity("OrchestratingActivity", async (orchestrating) => {
 *   const links = [new ActivityLink(Activity.current!.context)];
 *   await Promise.all([1, 2, 3].map((n) =>
 *     source.startActiveActivity(`FannedOutActivity ${n}`, { links, root: true }, async () => {})
 *   ));
 *   assert.equal(exporter.activities[0]?.links[0]?.context.spanId, orchestrating?.spanId);
 * });
 * assert.equal(exporter.activities.length, 4);
 * ```
 *
 * @module
 */

export {
  Activity,
  type ActivitySourceInfo,
  type ActivityStopListener,
  type StopOptions,
} from "./activity.ts";
export { isActivity } from "./_is_activity.ts";
export { logContext, type LogTraceFields } from "./log_context.ts";
export type { Clock } from "./_time.ts";
export type { ActivityKind, ActivityStatusCode } from "./kind.ts";
export { type ActivityLimits, DEFAULT_LIMITS } from "./limits.ts";
export type { ActivityEvent, AddEventOptions } from "./event.ts";
export type { TagList, TagPrimitive, Tags, TagValue } from "./tags.ts";
export {
  type ActivityCreationOptions,
  type ActivityListener,
  type ActivitySamplingResult,
  ActivitySource,
  type ActivitySourceOptions,
  type ListenerRegistration,
  type StartActivityOptions,
} from "./source.ts";
export {
  ActivityContext,
  type ActivityContextOptions,
  ActivityLink,
  droppedLinkTagCount,
  isActivityContext,
  isActivityLink,
} from "./links.ts";
export {
  type IdGenerator,
  isValidSpanId,
  isValidTraceFlags,
  isValidTraceId,
  newSpanId,
  newTraceId,
  randomIdGenerator,
  TRACE_FLAG_NONE,
  TRACE_FLAG_RANDOM_TRACE_ID,
  TRACE_FLAG_RECORDED,
} from "./ids.ts";
export { type ContextBackend, contextBackend, ContextVariable } from "./context.ts";
export {
  type ActivityExporter,
  type ActivityProcessor,
  type FlushOptions,
  type ProcessorContext,
  RetryableExportError,
  type RetryableExportErrorOptions,
  SimpleProcessor,
} from "./processor.ts";
export {
  ConsoleExporter,
  type ConsoleExporterOptions,
  type ConsoleFormatOptions,
  formatConsoleRecord,
  InMemoryExporter,
} from "./exporter.ts";
export {
  AlwaysOffSampler,
  AlwaysOnSampler,
  LinksAwareSampler,
  ParentBasedSampler,
  type ParentBasedSamplerOptions,
  type Sampler,
  type SamplingDecision,
  type SamplingResult,
  TraceIdRatioSampler,
} from "./sampler.ts";
export {
  type BatchDropCounts,
  BatchProcessor,
  type BatchProcessorOptions,
  type BatchTimers,
  DEFAULT_BATCH_OPTIONS,
} from "./batch.ts";
export { defaultResource, Resource, type ResourceDetector } from "./resource.ts";
export { TracerProvider, type TracerProviderOptions } from "./provider.ts";
export type { ErrorHandler, LogLevel, ReportLevel } from "./_diagnostics.ts";
export type { EnvironmentSource } from "./_env.ts";
export { createTracerProviderBuilder, TracerProviderBuilder } from "./builder.ts";
export { configureFromEnvironment, type ConfigureFromEnvironmentOptions } from "./configure.ts";
export {
  deleteTraceStateMember,
  extract,
  type ExtractOptions,
  inject,
  type InjectOptions,
  parseTraceState,
  setTraceStateMember,
  TRACEPARENT_HEADER,
  TRACESTATE_HEADER,
  TRACESTATE_MAX_LENGTH,
  TRACESTATE_MAX_MEMBERS,
} from "./propagation.ts";
export {
  BAGGAGE_HEADER,
  BAGGAGE_MAX_BYTES,
  BAGGAGE_MAX_MEMBER_BYTES,
  BAGGAGE_MAX_MEMBERS,
  type BaggageEntry,
  type BaggageProperty,
  extractBaggage,
  type ExtractBaggageOptions,
  formatBaggage,
  injectBaggage,
  type InjectBaggageOptions,
  parseBaggage,
} from "./baggage.ts";
export {
  BaggagePropagator,
  CompositePropagator,
  getDefaultPropagator,
  type PropagationContext,
  setDefaultPropagator,
  type TextMapPropagator,
  TraceContextPropagator,
} from "./propagator.ts";
export {
  B3_FLAGS_HEADER,
  B3_HEADER,
  B3_PARENT_SPAN_ID_HEADER,
  B3_SAMPLED_HEADER,
  B3_SPAN_ID_HEADER,
  B3_TRACE_ID_HEADER,
  B3Propagator,
  type B3PropagatorOptions,
} from "./b3.ts";
export type {
  FetchFunction,
  OtlpCompression,
  OtlpExporterOptions,
  OtlpRetryOptions,
} from "./otlp/_config.ts";
export type { OtlpProtocol } from "./otlp/encode.ts";
