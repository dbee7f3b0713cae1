// What the dashboard holds: the spans received, by trace, bounded by a number of traces and an
// estimate of the memory they hold, the least recently updated trace evicted first, and every
// eviction counted. A LinkGraph of lean snapshots indexes the links between traces, in step with
// the traces held.

import { LinkGraph, type RelatedTraces } from "../graph/link_graph.ts";
import {
  contentKey,
  serviceName,
  sharedBytes,
  snapshotOf,
  spanBytes,
  valueText,
} from "./_convert.ts";
import type { OtlpResource, OtlpScope, OtlpSpan } from "../otlp/_decode_model.ts";

/** The bounds of a store. */
export interface StoreLimits {
  /** The most traces held. */
  readonly maxTraces: number;
  /** The most spans of one trace held; later ones are not kept, and counted. */
  readonly maxSpansPerTrace: number;
  /** About the most bytes the spans held may take (an estimate). */
  readonly maxBytes: number;
}

/** A trace held. */
export class TraceRecord {
  readonly traceId: string;
  readonly spans: OtlpSpan[] = [];
  readonly spanIds: Set<string> = new Set();
  /** The services of its spans (at most 16 told apart). */
  readonly services: Set<string> = new Set();
  bytes = 0;
  start = 0n;
  end = 0n;
  errors = 0;
  linksOut = 0;
  /** The root span (no parent; the earliest of several), else the earliest span. */
  root: OtlpSpan | undefined;
  /** When it last received a span (the store's change counter). */
  updated = 0;

  constructor(traceId: string) {
    this.traceId = traceId;
  }

  add(span: OtlpSpan, bytes: number): void {
    const first = this.spans.length === 0;
    this.spans.push(span);
    this.spanIds.add(span.spanId);
    this.bytes += bytes;
    const end = span.endTimeUnixNano < span.startTimeUnixNano
      ? span.startTimeUnixNano
      : span.endTimeUnixNano;
    if (first || span.startTimeUnixNano < this.start) this.start = span.startTimeUnixNano;
    if (first || end > this.end) this.end = end;
    if (span.statusCode === 2) this.errors++;
    this.linksOut += span.links.length;
    const service = serviceName(span.resource);
    if (service !== undefined && this.services.size < 16) this.services.add(service);
    const root = this.root;
    const isRoot = span.parentSpanId === "";
    if (root === undefined) {
      this.root = span;
    } else if (isRoot !== (root.parentSpanId === "")) {
      if (isRoot) this.root = span;
    } else if (span.startTimeUnixNano < root.startTimeUnixNano) {
      this.root = span;
    }
  }

  /** The service shown for the trace: its root's, else the first one met. */
  get service(): string | undefined {
    const root = this.root;
    return (root === undefined ? undefined : serviceName(root.resource)) ??
      this.services.values().next().value;
  }
}

/** What the list of traces can be filtered by; every given field must match. */
export interface TraceFilter {
  /** A service name any span of the trace has. */
  service?: string;
  /** Text any span name contains (case-insensitive). */
  name?: string;
  /** An attribute of any span or its resource: `key` alone, or `key=value` (value as text). */
  attribute?: string;
  /** Only traces with (true) or without (false) a span whose status is error. */
  error?: boolean;
  /** The start of the trace id (hex). */
  traceId?: string;
}

/** What {@linkcode TraceStore.add} did with a request's spans. */
export interface AddResult {
  /** Spans kept. */
  readonly added: number;
  /** Spans already held (same trace and span id), not added again. */
  readonly duplicates: number;
  /** Spans not kept because their trace was at `maxSpansPerTrace`. */
  readonly overflow: number;
  /** Spans not kept because one span alone is over the memory bound. */
  readonly tooLarge: number;
}

/** A resource or scope held once for every span that has the same content. */
interface Shared {
  readonly key: string;
  refs: number;
  readonly bytes: number;
}

/** The traces received, bounded; see the file comment. */
export class TraceStore {
  readonly limits: StoreLimits;
  /** The link index: lean snapshots of every span held. */
  readonly graph: LinkGraph;
  /** The traces, least recently updated first (a Map keeps insertion order). */
  readonly #traces = new Map<string, TraceRecord>();
  /** Resources and scopes held, by content key (`r…` and `s…`). */
  readonly #byContent = new Map<string, OtlpResource | OtlpScope>();
  readonly #shared = new Map<OtlpResource | OtlpScope, Shared>();
  readonly #listeners = new Set<(traceIds: readonly string[]) => void>();
  #bytes = 0;
  #spans = 0;
  #version = 0;
  evictedTraces = 0;
  evictedSpans = 0;
  duplicateSpans = 0;
  overflowSpans = 0;
  tooLargeSpans = 0;

  constructor(limits: StoreLimits) {
    this.limits = limits;
    // The store evicts before the graph would: the graph's own bound is never reached.
    this.graph = new LinkGraph({ maxActivities: Number.MAX_SAFE_INTEGER });
  }

  /** The traces held. */
  get traceCount(): number {
    return this.#traces.size;
  }

  /** The spans held. */
  get spanCount(): number {
    return this.#spans;
  }

  /** The estimated bytes held. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Counts changes: one more each time spans are added or traces evicted. */
  get version(): number {
    return this.#version;
  }

  /** Calls `listener` with the ids of the traces that changed, after each change. */
  onChange(listener: (traceIds: readonly string[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The held copy of a resource or scope with this content key, counted as used once more. */
  #share<T extends OtlpResource | OtlpScope>(key: string, value: T, bytes: number): T {
    const held = this.#byContent.get(key);
    if (held !== undefined) {
      this.#shared.get(held)!.refs++;
      return held as T;
    }
    this.#byContent.set(key, value);
    this.#shared.set(value, { key, refs: 1, bytes });
    this.#bytes += bytes;
    return value;
  }

  #release(value: OtlpResource | OtlpScope): void {
    const shared = this.#shared.get(value);
    if (shared === undefined || --shared.refs > 0) return;
    this.#shared.delete(value);
    this.#byContent.delete(shared.key);
    this.#bytes -= shared.bytes;
  }

  /**
   * Adds decoded spans: each to its trace (made most recently updated), its resource and scope
   * shared with equal ones already held; then evicts the least recently updated traces until
   * the bounds hold again.
   */
  add(spans: readonly OtlpSpan[]): AddResult {
    const result = { added: 0, duplicates: 0, overflow: 0, tooLarge: 0 };
    const changed = new Set<string>();
    // Keys per decoded resource and scope object: spans of one request share them.
    const keys = new Map<OtlpResource | OtlpScope, string>();
    for (const span of spans) {
      const trace = this.#traces.get(span.traceId);
      if (trace?.spanIds.has(span.spanId)) {
        result.duplicates++;
        continue;
      }
      if (trace !== undefined && trace.spans.length >= this.limits.maxSpansPerTrace) {
        result.overflow++;
        continue;
      }
      const bytes = spanBytes(span);
      if (bytes > this.limits.maxBytes / 4) {
        result.tooLarge++;
        continue;
      }
      this.#shareParts(span, keys);
      this.#keep(span, trace, bytes);
      changed.add(span.traceId);
      result.added++;
    }
    this.duplicateSpans += result.duplicates;
    this.overflowSpans += result.overflow;
    this.tooLargeSpans += result.tooLarge;
    if (changed.size > 0) this.#changed([...changed].filter((id) => this.#traces.has(id)));
    return result;
  }

  /** Points a span at the held copies of its resource and scope (`keys` caches their keys). */
  #shareParts(span: OtlpSpan, keys: Map<OtlpResource | OtlpScope, string>): void {
    let resourceKey = keys.get(span.resource);
    if (resourceKey === undefined) {
      const r = span.resource;
      resourceKey = `r${contentKey(r.attributes, r.droppedAttributesCount, r.schemaUrl)}`;
      keys.set(span.resource, resourceKey);
    }
    let scopeKey = keys.get(span.scope);
    if (scopeKey === undefined) {
      const s = span.scope;
      scopeKey = `s${
        contentKey(s.attributes, s.name, s.version, s.droppedAttributesCount, s.schemaUrl)
      }`;
      keys.set(span.scope, scopeKey);
    }
    span.resource = this.#share(resourceKey, span.resource, sharedBytes(span.resource.attributes));
    span.scope = this.#share(scopeKey, span.scope, sharedBytes(span.scope.attributes));
  }

  /** Adds a span to its trace, made the most recently updated, then keeps the bounds. */
  #keep(span: OtlpSpan, trace: TraceRecord | undefined, bytes: number): void {
    if (trace === undefined) {
      trace = new TraceRecord(span.traceId);
    } else {
      this.#traces.delete(span.traceId); // re-inserted below as the most recently updated
    }
    this.#traces.set(span.traceId, trace);
    trace.add(span, bytes);
    this.#bytes += bytes;
    this.#spans++;
    this.graph.add(snapshotOf(span, false));
    this.#evictBeyondBounds(trace);
  }

  #evictBeyondBounds(keep: TraceRecord): void {
    const { maxTraces, maxBytes } = this.limits;
    while (this.#traces.size > maxTraces || this.#bytes > maxBytes) {
      const oldest = this.#traces.values().next().value;
      if (oldest === undefined || oldest === keep) break;
      this.#evict(oldest);
    }
  }

  #evict(trace: TraceRecord): void {
    this.#traces.delete(trace.traceId);
    this.graph.evictTrace(trace.traceId);
    this.#bytes -= trace.bytes;
    this.#spans -= trace.spans.length;
    this.evictedTraces++;
    this.evictedSpans += trace.spans.length;
    for (const span of trace.spans) {
      this.#release(span.resource);
      this.#release(span.scope);
    }
  }

  #changed(traceIds: readonly string[]): void {
    this.#version++;
    for (const listener of this.#listeners) {
      try {
        listener(traceIds);
      } catch {
        // A listener is the dashboard's own code; a failure there must not stop ingest.
      }
    }
  }

  /** A trace held, or `undefined`. */
  get(traceId: string): TraceRecord | undefined {
    return this.#traces.get(traceId);
  }

  /** Every trace related to `traceId` through links, as LinkGraph walks them. */
  related(traceId: string): RelatedTraces {
    return this.graph.related(traceId);
  }

  /** The number of links into a trace from the spans held. */
  linksIn(traceId: string): number {
    return this.graph.linksToTrace(traceId).length;
  }

  /** The distinct service names of the traces held, sorted. */
  services(): string[] {
    const all = new Set<string>();
    for (const trace of this.#traces.values()) for (const s of trace.services) all.add(s);
    return [...all].sort();
  }

  /** The traces that match a filter, the latest start first. */
  find(filter: TraceFilter): TraceRecord[] {
    const name = filter.name?.toLowerCase();
    const prefix = filter.traceId?.toLowerCase();
    let key: string | undefined;
    let value: string | undefined;
    if (filter.attribute !== undefined) {
      const at = filter.attribute.indexOf("=");
      key = at < 0 ? filter.attribute : filter.attribute.slice(0, at);
      value = at < 0 ? undefined : filter.attribute.slice(at + 1);
    }
    const out: TraceRecord[] = [];
    for (const trace of this.#traces.values()) {
      if (prefix !== undefined && !trace.traceId.startsWith(prefix)) continue;
      if (filter.error !== undefined && (trace.errors > 0) !== filter.error) continue;
      if (filter.service !== undefined && !trace.services.has(filter.service)) continue;
      if (name !== undefined && !trace.spans.some((s) => s.name.toLowerCase().includes(name))) {
        continue;
      }
      if (key !== undefined && !trace.spans.some((s) => hasAttribute(s, key!, value))) continue;
      out.push(trace);
    }
    return out.sort((a, b) => a.start < b.start ? 1 : a.start > b.start ? -1 : 0);
  }
}

function hasAttribute(span: OtlpSpan, key: string, value: string | undefined): boolean {
  for (const list of [span.attributes, span.resource.attributes]) {
    for (const [k, v] of list) {
      if (k === key && (value === undefined || valueText(v) === value)) return true;
    }
  }
  return false;
}
