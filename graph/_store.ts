// The memory of a LinkGraph: snapshots by activity and by trace, the links into each trace and
// each activity (so that a backlink query is not a scan), and traces in a list from least to
// most recently updated. Beyond `max` activities the least recently updated traces are evicted
// whole, their links removed from the indexes, and counted.

import type { ActivitySnapshot } from "./snapshot.ts";

/** An activity held: its snapshot, key, arrival number and the backlinks its links made. */
export interface Entry {
  readonly snapshot: ActivitySnapshot;
  readonly key: string;
  readonly seq: number;
  /** The backlink records this activity's links made, to remove them on eviction. */
  readonly inbound: Inbound[];
}

/** A trace held, in a doubly linked list from least to most recently updated. */
export interface TraceEntry {
  readonly traceId: string;
  readonly entries: Entry[];
  older: TraceEntry | undefined;
  newer: TraceEntry | undefined;
}

/** One link into an activity: which activity has it, and at which position. */
export interface Inbound {
  readonly from: Entry;
  readonly index: number;
  /** The trace the link points at, kept so that eviction does not read the snapshot again. */
  readonly target: string;
  /** The activity the link points at, as `traceId-spanId`. */
  readonly targetKey: string;
}

/** The key of an activity: `traceId-spanId`. */
export function keyOf(traceId: string, spanId: string): string {
  return `${traceId}-${spanId}`;
}

const NO_INBOUND: ReadonlySet<Inbound> = new Set();

/** The snapshots a graph holds, within `max` activities. */
export class TraceStore {
  readonly max: number;
  readonly #byKey = new Map<string, Entry>();
  readonly #traces = new Map<string, TraceEntry>();
  /** Links into each trace, in arrival order. */
  readonly #inbound = new Map<string, Set<Inbound>>();
  /** Links into each activity (`traceId-spanId`). */
  readonly #inboundBySpan = new Map<string, Set<Inbound>>();
  #oldest: TraceEntry | undefined;
  #newest: TraceEntry | undefined;
  #seq = 0;
  /** Traces evicted whole. */
  evictedTraces = 0;
  /** Activities evicted with their traces. */
  evictedActivities = 0;
  /** Activities not kept because their trace alone was at `max`. */
  dropped = 0;

  constructor(max: number) {
    this.max = max;
  }

  /** The number of activities held. */
  get size(): number {
    return this.#byKey.size;
  }

  /** The number of traces held. */
  get traceCount(): number {
    return this.#traces.size;
  }

  /** The activity with a key, if held. */
  entry(key: string): Entry | undefined {
    return this.#byKey.get(key);
  }

  /** A trace, if held. */
  trace(traceId: string): TraceEntry | undefined {
    return this.#traces.get(traceId);
  }

  /** The traces, least recently updated first. */
  *traces(): Generator<TraceEntry> {
    for (let t = this.#oldest; t !== undefined; t = t.newer) yield t;
  }

  /** The links into a trace, in arrival order. */
  inboundToTrace(traceId: string): ReadonlySet<Inbound> {
    return this.#inbound.get(traceId) ?? NO_INBOUND;
  }

  /** The links into an activity, in arrival order. */
  inboundTo(key: string): ReadonlySet<Inbound> {
    return this.#inboundBySpan.get(key) ?? NO_INBOUND;
  }

  /** Adds a snapshot unless its activity is held, evicting old traces beyond `max`. */
  insert(snapshot: ActivitySnapshot): boolean {
    const key = keyOf(snapshot.traceId, snapshot.spanId);
    if (this.#byKey.has(key)) return false;
    let trace = this.#traces.get(snapshot.traceId);
    if (trace !== undefined && trace.entries.length >= this.max) {
      this.dropped++;
      return false;
    }
    if (trace === undefined) {
      trace = { traceId: snapshot.traceId, entries: [], older: undefined, newer: undefined };
      this.#traces.set(snapshot.traceId, trace);
    } else {
      this.#unlink(trace);
    }
    this.#append(trace); // the most recently updated
    const entry: Entry = { snapshot, key, seq: this.#seq++, inbound: [] };
    trace.entries.push(entry);
    this.#byKey.set(key, entry);
    snapshot.links.forEach((link, index) => {
      const targetKey = keyOf(link.traceId, link.spanId);
      const inbound: Inbound = { from: entry, index, target: link.traceId, targetKey };
      addTo(this.#inbound, link.traceId, inbound);
      addTo(this.#inboundBySpan, targetKey, inbound);
      entry.inbound.push(inbound);
    });
    // The trace just updated is newest and below the limit, so the oldest is another one.
    while (this.#byKey.size > this.max && this.#oldest !== undefined && this.#oldest !== trace) {
      this.#evict(this.#oldest);
    }
    return true;
  }

  /** Evicts one trace whole, counted as the bound counts it; returns how many activities went. */
  evictTrace(traceId: string): number {
    const trace = this.#traces.get(traceId);
    if (trace === undefined) return 0;
    this.#evict(trace);
    return trace.entries.length;
  }

  /** Forgets everything; the counters are kept. */
  clear(): void {
    this.#byKey.clear();
    this.#traces.clear();
    this.#inbound.clear();
    this.#inboundBySpan.clear();
    this.#oldest = this.#newest = undefined;
  }

  #unlink(trace: TraceEntry): void {
    if (trace.older === undefined) this.#oldest = trace.newer;
    else trace.older.newer = trace.newer;
    if (trace.newer === undefined) this.#newest = trace.older;
    else trace.newer.older = trace.older;
    trace.older = trace.newer = undefined;
  }

  #append(trace: TraceEntry): void {
    trace.older = this.#newest;
    if (this.#newest === undefined) this.#oldest = trace;
    else this.#newest.newer = trace;
    this.#newest = trace;
  }

  #evict(trace: TraceEntry): void {
    this.#unlink(trace);
    this.#traces.delete(trace.traceId);
    this.evictedTraces++;
    this.evictedActivities += trace.entries.length;
    for (const entry of trace.entries) {
      this.#byKey.delete(entry.key);
      for (const inbound of entry.inbound) {
        removeFrom(this.#inbound, inbound.target, inbound);
        removeFrom(this.#inboundBySpan, inbound.targetKey, inbound);
      }
    }
  }
}

function addTo(index: Map<string, Set<Inbound>>, key: string, inbound: Inbound): void {
  let set = index.get(key);
  if (set === undefined) index.set(key, set = new Set());
  set.add(inbound);
}

function removeFrom(index: Map<string, Set<Inbound>>, key: string, inbound: Inbound): void {
  const set = index.get(key);
  if (set === undefined) return;
  set.delete(inbound);
  if (set.size === 0) index.delete(key);
}
