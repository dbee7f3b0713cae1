// Shared by the benchmark files: the OpenTelemetry JS packages they measure this module
// against (pinned here, benchmarks only: the module imports none of them), the recorded setup
// both sides use, and `bench()`, which registers a benchmark with `deno bench` and with
// `bench/run.ts`, the runner that measures medians for BENCHMARKS.md.

import type { Tracer } from "npm:@opentelemetry/api@1.9.1";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "npm:@opentelemetry/sdk-trace-base@2.12.1";
import { ActivitySource, createTracerProviderBuilder, InMemoryExporter } from "../mod.ts";

export * as otel from "npm:@opentelemetry/api@1.9.1";
export {
  AlwaysOffSampler,
  BasicTracerProvider,
  ConsoleSpanExporter,
  InMemorySpanExporter,
  RandomIdGenerator,
  SimpleSpanProcessor,
} from "npm:@opentelemetry/sdk-trace-base@2.12.1";
export type { ReadableSpan } from "npm:@opentelemetry/sdk-trace-base@2.12.1";
export { AsyncLocalStorageContextManager } from "npm:@opentelemetry/context-async-hooks@2.12.0";

/** The in-memory exporters keep what they receive: benchmarks empty them at this size. */
export const RESET_AT = 1_000;

/**
 * Ours, recorded: a source heard by a provider whose simple processor exports into an
 * in-memory exporter.
 */
export function recordedSource(
  name: string,
): { source: ActivitySource; exporter: InMemoryExporter } {
  const exporter = new InMemoryExporter();
  createTracerProviderBuilder().addSource(name).addInMemoryExporter(exporter).build();
  return { source: new ActivitySource(name), exporter };
}

/**
 * The peer, recorded: a tracer whose spans go through SimpleSpanProcessor into
 * InMemorySpanExporter.
 */
export function recordedTracer(
  name: string,
): { tracer: Tracer; spanExporter: InMemorySpanExporter } {
  const spanExporter = new InMemorySpanExporter();
  const tracer = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(spanExporter)],
  }).getTracer(name);
  return { tracer, spanExporter };
}

/** A synchronous benchmark: what `Deno.bench` takes, restricted to what the runner needs. */
export interface BenchDefinition {
  /** Shown in reports; starts with `activity:` for this module, else names the peer. */
  name: string;
  /** Benchmarks of one group are measured side by side. */
  group: string;
  /** This module's benchmark of the group. */
  baseline?: boolean;
  /** Skip it (for example when the peer is not available in this run). */
  ignore?: boolean;
  /**
   * Whether `bench/run.ts` collects garbage between batches (default: yes). A forced full
   * collection clears objects that optimized code holds weakly, and V8 then throws that code
   * away: work of a few milliseconds a call (one call per batch) would run unoptimized every time.
   */
  collect?: boolean;
  /** One iteration. */
  fn: () => void;
}

/** The benchmarks registered by the file that was loaded, in order. */
export const registered: BenchDefinition[] = [];

/** Registers a benchmark with `deno bench` and with the runner of `bench/run.ts`. */
export function bench(definition: BenchDefinition): void {
  registered.push(definition);
  Deno.bench(definition);
}

/** Keeps a value reachable so that the optimiser cannot drop the work that made it. */
export let sink: unknown;

/** Stores a value in {@linkcode sink}. */
export function keep(value: unknown): void {
  sink = value;
}
