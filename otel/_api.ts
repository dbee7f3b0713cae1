// The parts of `@opentelemetry/api` 1.x the bridge uses, typed by shape: the user passes their
// own module object in, and nothing is imported.

/** An OpenTelemetry `Context`: immutable values by key. */
export interface OtelContext {
  getValue(key: symbol): unknown;
  setValue(key: symbol, value: unknown): OtelContext;
  deleteValue(key: symbol): OtelContext;
}

/** An OpenTelemetry `TraceState`: immutable `tracestate` members. */
export interface OtelTraceState {
  set(key: string, value: string): OtelTraceState;
  unset(key: string): OtelTraceState;
  get(key: string): string | undefined;
  serialize(): string;
}

/** An OpenTelemetry `SpanContext`. */
export interface OtelSpanContext {
  traceId: string;
  spanId: string;
  traceFlags: number;
  isRemote?: boolean;
  traceState?: OtelTraceState;
}

/** An OpenTelemetry `HrTime`, `[seconds, nanoseconds]` since the Unix epoch. */
export type OtelHrTime = [number, number];

/** An OpenTelemetry `TimeInput`. */
export type OtelTimeInput = OtelHrTime | number | Date;

/** An attribute value, as OpenTelemetry allows it. */
export type OtelAttributeValue =
  | string
  | number
  | boolean
  | (string | null | undefined)[]
  | (number | null | undefined)[]
  | (boolean | null | undefined)[];

/** OpenTelemetry attributes. */
export type OtelAttributes = Record<string, OtelAttributeValue | undefined>;

/** An OpenTelemetry `Link`. */
export interface OtelLink {
  context: OtelSpanContext;
  attributes?: OtelAttributes;
  droppedAttributesCount?: number;
}

/** An OpenTelemetry `SpanStatus`. */
export interface OtelSpanStatus {
  code: number;
  message?: string;
}

/** An OpenTelemetry `Span`. */
export interface OtelSpan {
  spanContext(): OtelSpanContext;
  setAttribute(key: string, value: OtelAttributeValue): this;
  setAttributes(attributes: OtelAttributes): this;
  addEvent(
    name: string,
    attributesOrStartTime?: OtelAttributes | OtelTimeInput,
    startTime?: OtelTimeInput,
  ): this;
  addLink(link: OtelLink): this;
  addLinks(links: OtelLink[]): this;
  setStatus(status: OtelSpanStatus): this;
  updateName(name: string): this;
  end(endTime?: OtelTimeInput): void;
  isRecording(): boolean;
  recordException(exception: unknown, time?: OtelTimeInput): void;
}

/** OpenTelemetry `SpanOptions`. */
export interface OtelSpanOptions {
  kind?: number;
  attributes?: OtelAttributes;
  links?: OtelLink[];
  startTime?: OtelTimeInput;
  root?: boolean;
}

/** OpenTelemetry `TracerOptions`. */
export interface OtelTracerOptions {
  schemaUrl?: string;
}

/** An OpenTelemetry `Tracer`. */
export interface OtelTracer {
  startSpan(name: string, options?: OtelSpanOptions, context?: OtelContext): OtelSpan;
  startActiveSpan<F extends (span: OtelSpan) => unknown>(name: string, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: OtelSpan) => unknown>(
    name: string,
    options: OtelSpanOptions,
    fn: F,
  ): ReturnType<F>;
  startActiveSpan<F extends (span: OtelSpan) => unknown>(
    name: string,
    options: OtelSpanOptions,
    context: OtelContext,
    fn: F,
  ): ReturnType<F>;
}

/** An OpenTelemetry `TracerProvider`. */
export interface OtelTracerProvider {
  getTracer(name: string, version?: string, options?: OtelTracerOptions): OtelTracer;
}

/** An OpenTelemetry `ContextManager`. */
export interface OtelContextManager {
  active(): OtelContext;
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    context: OtelContext,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F>;
  bind<T>(context: OtelContext, target: T): T;
  enable(): this;
  disable(): this;
}

/** An OpenTelemetry `TextMapGetter`. */
export interface OtelTextMapGetter<Carrier = unknown> {
  keys(carrier: Carrier): string[];
  get(carrier: Carrier, key: string): undefined | string | string[];
}

/** An OpenTelemetry `TextMapSetter`. */
export interface OtelTextMapSetter<Carrier = unknown> {
  set(carrier: Carrier, key: string, value: string): void;
}

/** An OpenTelemetry `TextMapPropagator`. */
export interface OtelTextMapPropagator<Carrier = unknown> {
  inject(context: OtelContext, carrier: Carrier, setter: OtelTextMapSetter<Carrier>): void;
  extract(context: OtelContext, carrier: Carrier, getter: OtelTextMapGetter<Carrier>): OtelContext;
  fields(): string[];
}

/** An OpenTelemetry `BaggageEntry`. */
export interface OtelBaggageEntry {
  value: string;
  metadata?: { toString(): string };
}

/** OpenTelemetry `Baggage`. */
export interface OtelBaggage {
  getEntry(key: string): OtelBaggageEntry | undefined;
  getAllEntries(): [string, OtelBaggageEntry][];
  setEntry(key: string, entry: OtelBaggageEntry): OtelBaggage;
  removeEntry(key: string): OtelBaggage;
  removeEntries(...key: string[]): OtelBaggage;
  clear(): OtelBaggage;
}

/**
 * The `@opentelemetry/api` module object as the bridge uses it inside (the entry point takes a
 * looser shape, `OpenTelemetryApi`, and checks the functions it calls).
 */
export interface OtelApi {
  /** `api.trace`. */
  readonly trace: {
    setGlobalTracerProvider(provider: OtelTracerProvider): boolean;
    wrapSpanContext(spanContext: OtelSpanContext): OtelSpan;
    disable(): void;
  };
  /** `api.context`. */
  readonly context: {
    setGlobalContextManager(manager: OtelContextManager): boolean;
    active(): OtelContext;
    disable(): void;
  };
  /** `api.propagation`. */
  readonly propagation: {
    setGlobalPropagator(propagator: OtelTextMapPropagator): boolean;
    getBaggage(context: OtelContext): OtelBaggage | undefined;
    setBaggage(context: OtelContext, baggage: OtelBaggage): OtelContext;
    createBaggage(entries?: Record<string, OtelBaggageEntry>): OtelBaggage;
    disable(): void;
  };
  /** `api.ROOT_CONTEXT`. */
  readonly ROOT_CONTEXT: OtelContext;
  /** `api.baggageEntryMetadataFromString`. */
  readonly baggageEntryMetadataFromString?: (text: string) => { toString(): string };
}
