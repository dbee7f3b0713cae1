// The bridge's `ContextManager`: OpenTelemetry's current context kept in the module's own
// current-activity variable, the one storage of the program. A context that holds only the span
// view of an activity is stored as the activity itself (so `Activity.current` and activities
// started inside see it as fast as ever); any other context is stored as a frame that keeps the
// whole context (baggage, other keys, a span of another tracer) beside what activities need of
// it. `active()` gives back the context stored, or for an activity a context holding its span
// view, made once per activity.

import type { Activity } from "../activity.ts";
import { isActivity } from "../_is_activity.ts";
import { current } from "../_current.ts";
import type { ContextFrame, ParentFields } from "../_frame.ts";
import { frameOf } from "../_frame.ts";
import { BRANDS } from "../_registry.ts";
import { SPAN_KEY } from "../_deno_telemetry.ts";
import type { OtelContext, OtelContextManager, OtelSpan } from "./_api.ts";
import { spanOf, SpanView } from "./_span.ts";
import { contextOf } from "./_convert.ts";

/** A context that is not (only) an activity's span, as the current-activity variable holds it. */
class Frame implements ContextFrame {
  static {
    Object.defineProperty(Frame.prototype, BRANDS.frame, { value: true });
  }
  readonly otel: OtelContext;
  readonly activity: Activity | undefined;
  readonly parent: ParentFields | undefined;
  /** Whether the context holds values other than the span. */
  readonly #extra: boolean;

  constructor(otel: OtelContext, activity: Activity | undefined, parent: ParentFields | undefined) {
    this.otel = otel;
    this.activity = activity;
    this.parent = parent;
    this.#extra = hasOtherValues(otel);
  }

  withActivity(activity: object): unknown {
    if (!this.#extra) return activity;
    const a = activity as Activity;
    return new Frame(this.otel.setValue(SPAN_KEY, spanOf(a)), a, undefined);
  }
}

/**
 * Whether a context holds values other than the span. `@opentelemetry/api`'s contexts keep their
 * values in a `Map` named `_currentContext`; a context of another shape is taken to hold some.
 */
function hasOtherValues(context: OtelContext): boolean {
  try {
    const values = (context as unknown as { _currentContext?: unknown })._currentContext;
    if (!(values instanceof Map)) return true;
    return values.size > (values.has(SPAN_KEY) ? 1 : 0);
  } catch {
    return true;
  }
}

/** The bridge's context manager, on the module's current-activity variable. */
export class BridgeContextManager implements OtelContextManager {
  readonly #root: OtelContext;
  readonly #views = new WeakMap<Activity, OtelContext>();

  constructor(root: OtelContext) {
    this.#root = root;
  }

  active(): OtelContext {
    const value = current.get();
    if (value === undefined) return this.#root;
    if (isActivity(value)) return this.viewOf(value);
    const frame = frameOf(value);
    return frame?.otel === undefined ? this.#root : frame.otel as OtelContext;
  }

  /** The context holding only an activity's span view, made once per activity. */
  viewOf(activity: Activity): OtelContext {
    let view = this.#views.get(activity);
    if (view === undefined) {
      this.#views.set(activity, view = this.#root.setValue(SPAN_KEY, spanOf(activity)));
    }
    return view;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    context: OtelContext,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return current.run(this.valueOf(context), () => fn.apply(thisArg, args));
  }

  /** What the current-activity variable holds for a context. */
  valueOf(context: OtelContext): unknown {
    let span: unknown;
    try {
      span = context.getValue(SPAN_KEY);
    } catch {
      return new Frame(this.#root, undefined, undefined);
    }
    if (span instanceof SpanView) {
      const activity = span.activity;
      if (context === this.#views.get(activity) || !hasOtherValues(context)) return activity;
      return new Frame(context, activity, undefined);
    }
    return new Frame(context, undefined, parentOf(span));
  }

  bind<T>(context: OtelContext, target: T): T {
    if (typeof target !== "function") return target;
    const value = this.valueOf(context);
    const fn = target as unknown as (...args: unknown[]) => unknown;
    return function (this: unknown, ...args: unknown[]) {
      return current.run(value, () => fn.apply(this, args));
    } as unknown as T;
  }

  enable(): this {
    return this;
  }

  disable(): this {
    return this;
  }
}

/** The ids of a span of another tracer, or `undefined`. */
function parentOf(span: unknown): ParentFields | undefined {
  if (typeof span !== "object" || span === null) return undefined;
  try {
    return contextOf((span as OtelSpan).spanContext());
  } catch {
    return undefined;
  }
}
