// The bridge's `TextMapPropagator`: the process's propagator (`getDefaultPropagator()`: W3C Trace
// Context and W3C Baggage through this module's own code unless `OTEL_PROPAGATORS` or
// `setDefaultPropagator()` chose others), or a propagator passed in with the same shape as this
// module's `inject`/`extract`. OpenTelemetry `Baggage` in the context is sent beside an
// activity's own baggage, and comes back as OpenTelemetry `Baggage`.

import { type BaggageEntry, extractBaggage, formatBaggage } from "../baggage.ts";
import { getDefaultPropagator } from "../propagator.ts";
import { SPAN_KEY } from "../_deno_telemetry.ts";
import type {
  OtelApi,
  OtelBaggage,
  OtelBaggageEntry,
  OtelContext,
  OtelSpan,
  OtelTextMapGetter,
  OtelTextMapPropagator,
  OtelTextMapSetter,
} from "./_api.ts";
import { contextOf, TraceState } from "./_convert.ts";
import { ActivityContext } from "../links.ts";
import { SpanView } from "./_span.ts";

/** The ids, flags and trace state a propagator writes, as an activity or context has them. */
export interface PropagatedContext {
  /** The trace id: 32 lowercase hex characters. */
  readonly traceId: string;
  /** The span id: 16 lowercase hex characters. */
  readonly spanId: string;
  /** The trace flags byte. */
  readonly traceFlags: number;
  /** The W3C `tracestate` value, or `undefined`. */
  readonly traceState: string | undefined;
}

/**
 * What a propagator that also reads baggage extracts: the remote context and the baggage
 * members, each `undefined` when absent.
 */
export interface ExtractedFields {
  /** The remote parent context, or `undefined`. */
  readonly activityContext?: PropagatedContext | undefined;
  /** The baggage members, in order (each `{ key, value, properties? }`), or `undefined`. */
  readonly baggage?:
    | readonly {
      readonly key: string;
      readonly value: string;
      readonly properties?:
        | readonly { readonly key: string; readonly value?: string | undefined }[]
        | undefined;
    }[]
    | undefined;
}

/**
 * A propagator with the shape of this module's `inject` and `extract`: what
 * `registerOpenTelemetry`'s `propagator` option takes. Its `extract` returns the remote context,
 * or the context and baggage it read (`{ activityContext, baggage }`); with the first form the
 * bridge reads W3C Baggage itself.
 */
export interface ContextPropagator {
  /**
   * Writes the trace context of an activity or context into a carrier.
   *
   * @param context The activity or context.
   * @param carrier The carrier.
   * @param options The setter to write with.
   */
  inject(
    context: PropagatedContext,
    carrier: unknown,
    options: { setter: (carrier: unknown, name: string, value: string) => void },
  ): void;
  /**
   * Reads a remote context from a carrier.
   *
   * @param carrier The carrier.
   * @param options The getter to read with.
   * @returns The context, or `undefined` when the carrier has none.
   */
  extract(
    carrier: unknown,
    options: { getter: (carrier: unknown, name: string) => string | string[] | undefined },
  ): PropagatedContext | ExtractedFields | undefined;
  /**
   * The carrier fields it writes; `traceparent` and `tracestate` when absent.
   *
   * @returns The field names.
   */
  fields?(): readonly string[];
}

// The process's propagator, looked up at each call, so that one set later applies.
const PROCESS: ContextPropagator = {
  inject: (context, carrier, options) =>
    getDefaultPropagator().inject(context as never, carrier, options),
  extract: (carrier, options) => getDefaultPropagator().extract(carrier, options),
  fields: () => getDefaultPropagator().fields(),
};
const BAGGAGE = "baggage";

/** The bridge's propagator. */
export class BridgePropagator implements OtelTextMapPropagator {
  readonly #api: OtelApi;
  readonly #propagator: ContextPropagator;
  readonly #fields: string[];

  constructor(api: OtelApi, propagator: ContextPropagator = PROCESS) {
    this.#api = api;
    this.#propagator = propagator;
    let fields: readonly string[] = ["traceparent", "tracestate"];
    try {
      const given = propagator.fields?.();
      if (Array.isArray(given)) fields = given.filter((f) => typeof f === "string");
    } catch {
      // A propagator whose fields cannot be read: the W3C fields are named.
    }
    this.#fields = [...new Set([...fields, BAGGAGE])];
  }

  inject(context: OtelContext, carrier: unknown, setter: OtelTextMapSetter): void {
    const set = (c: unknown, name: string, value: string) => setter.set(c, name, value);
    const span = context.getValue(SPAN_KEY) as OtelSpan | undefined;
    const activity = span instanceof SpanView ? span.activity : undefined;
    const source = activity ?? contextOf(span?.spanContext?.());
    if (source !== undefined) this.#propagator.inject(source, carrier, { setter: set });
    const entries: (BaggageEntry | readonly [string, string])[] = entriesOf(
      this.#api.propagation.getBaggage(context),
    );
    if (activity !== undefined) entries.push(...activity.baggage);
    const value = this.#sendsBaggage() ? formatBaggage(entries) : undefined;
    if (value !== undefined) set(carrier, BAGGAGE, value);
  }

  extract(context: OtelContext, carrier: unknown, getter: OtelTextMapGetter): OtelContext {
    const get = (c: unknown, name: string) => getter.get(c, name);
    let out = context;
    const read = this.#propagator.extract(carrier, { getter: get });
    const fields = this.#propagator === PROCESS ? read as ExtractedFields : fieldsOf(read);
    const parent = checked(
      fields === undefined ? read as PropagatedContext : fields.activityContext,
    );
    if (parent !== undefined) {
      out = out.setValue(
        SPAN_KEY,
        this.#api.trace.wrapSpanContext({
          traceId: parent.traceId,
          spanId: parent.spanId,
          traceFlags: parent.traceFlags,
          isRemote: true,
          ...(parent.traceState === undefined
            ? {}
            : { traceState: new TraceState(parent.traceState) }),
        }),
      );
    }
    const entries = fields === undefined
      ? extractBaggage(carrier, { getter: get })
      : fields.baggage ?? [];
    try {
      if (entries.length > 0) {
        const record: Record<string, OtelBaggageEntry> = {};
        for (const entry of entries) record[entry.key] ??= this.#entryOf(entry);
        out = this.#api.propagation.setBaggage(out, this.#api.propagation.createBaggage(record));
      }
    } catch {
      // Baggage a propagator read in a shape that cannot be used: the trace context is kept.
    }
    return out;
  }

  fields(): string[] {
    if (this.#propagator !== PROCESS) return [...this.#fields];
    return [...getDefaultPropagator().fields()];
  }

  /**
   * Whether `baggage` is written: always with a propagator passed in (which writes the trace
   * context only, or the same header again); with the process's, when it sends baggage.
   */
  #sendsBaggage(): boolean {
    return this.#propagator !== PROCESS || getDefaultPropagator().fields().includes(BAGGAGE);
  }

  #entryOf(entry: BaggageEntry): OtelBaggageEntry {
    const properties = entry.properties;
    const toMetadata = this.#api.baggageEntryMetadataFromString;
    if (properties === undefined || properties.length === 0 || toMetadata === undefined) {
      return { value: entry.value };
    }
    const text = properties.map((p) => p.value === undefined ? p.key : `${p.key}=${p.value}`)
      .join(";");
    return { value: entry.value, metadata: toMetadata(text) };
  }
}

/** The entries of OpenTelemetry `Baggage`, with their metadata as properties. */
function entriesOf(baggage: OtelBaggage | undefined): BaggageEntry[] {
  const out: BaggageEntry[] = [];
  try {
    for (const [key, entry] of baggage?.getAllEntries() ?? []) {
      const metadata = entry.metadata?.toString();
      const properties = typeof metadata === "string" && metadata !== ""
        ? metadata.split(";").map((part) => {
          const eq = part.indexOf("=");
          return eq < 0
            ? { key: part.trim() }
            : { key: part.slice(0, eq).trim(), value: part.slice(eq + 1).trim() };
        })
        : undefined;
      out.push(
        properties === undefined
          ? { key, value: entry.value }
          : { key, value: entry.value, properties },
      );
    }
  } catch {
    // Hostile baggage: what was read is sent.
  }
  return out;
}

/** A context a propagator extracted, checked through the constructor; `undefined` if invalid. */
function checked(context: PropagatedContext | undefined): ActivityContext | undefined {
  if (context === undefined || context === null) return undefined;
  try {
    return new ActivityContext(context.traceId, context.spanId, {
      traceFlags: context.traceFlags,
      traceState: context.traceState,
      isRemote: true,
    });
  } catch {
    return undefined;
  }
}

/** The result of an `extract` that returned `{ activityContext, baggage }`, else `undefined`. */
function fieldsOf(read: unknown): ExtractedFields | undefined {
  if (typeof read !== "object" || read === null) return undefined;
  try {
    return "activityContext" in read || "baggage" in read ? read as ExtractedFields : undefined;
  } catch {
    return undefined;
  }
}
