// The server side of http.ts: what the handler wrapper remembers of each server activity (for
// the route and the name), and the response: recorded on the activity, and returned with a body
// that ends the activity when it has been sent, cancelled or failed.

import type { Activity } from "./activity.ts";
import { ReportOnce, reportToLiveHandlers } from "./_diagnostics.ts";
import { failRequest } from "./_http_tags.ts";

const reporter = new ReportOnce(reportToLiveHandlers);

/** What the handler wrapper remembers of a server activity, for the route and the name. */
export interface ServerState {
  /** The method as it goes into the name (`HTTP` for an unknown method). */
  readonly method: string;
  /** The name the wrapper gave the activity last; a different name was set by the handler. */
  name: string;
}

/**
 * The state of each server activity of the wrapper until it ends. A Map, not a WeakMap: an entry
 * is removed when the activity ends, which is cheaper than a WeakMap's entry (about 0.6 us a
 * request, most of it in the collector). A body that is never read nor cancelled (a wrapped
 * handler called by hand) never ends its activity: past {@linkcode MAX_SERVERS} entries the
 * oldest is dropped, so that such activities are not kept alive for ever.
 */
const servers = new Map<Activity, ServerState>();

/** The most server activities whose state is kept at once (see `servers`). */
const MAX_SERVERS = 65_536;

/** Forgets a server activity that is stopped without {@linkcode end}. */
export function forgetServer(activity: Activity): void {
  servers.delete(activity);
}

/** Tags the route and names the activity after it, unless the handler renamed the activity. */
export function applyRoute(activity: Activity, state: ServerState, route: string): void {
  activity.setTag("http.route", route);
  if (activity.displayName !== state.name) return;
  state.name = `${state.method} ${route}`;
  activity.displayName = state.name;
}

/** The state of a server activity of the handler wrapper, if it is one. */
export function serverStateOf(activity: Activity): ServerState | undefined {
  return servers.get(activity);
}

/** Remembers a server activity's state. */
export function rememberServer(activity: Activity, state: ServerState): void {
  servers.set(activity, state);
  if (servers.size > MAX_SERVERS) servers.delete(servers.keys().next().value!);
}

/** The route a request has before its handler runs, never throwing. */
export function routeOf(
  route: string | ((request: Request) => string | undefined) | undefined,
  request: Request,
): string | undefined {
  if (typeof route === "string") return route === "" ? undefined : route;
  if (route === undefined) return undefined;
  let value: unknown;
  try {
    value = route(request);
  } catch (error) {
    reporter.report(route, error, "instrumentHandler route function");
    return undefined;
  }
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** Stops a server activity, naming it after a route the handler set as a tag. */
export function end(activity: Activity, state: ServerState): void {
  const route = activity.getTagItem("http.route");
  if (typeof route === "string" && route !== "" && state.name !== `${state.method} ${route}`) {
    applyRoute(activity, state, route);
  }
  servers.delete(activity);
  activity.stop();
}

function noop(): void {}

/** The most chunks gathered into one body when they are all there when the handler returns. */
const MAX_READY_CHUNKS = 64;

/**
 * The symbol under which Deno keeps the body of a `Response` made from a string (such as
 * `new Response("ok")` or `Response.json(...)`) until something reads it: `null` where there is
 * none (another runtime or version), and then every body goes the general way.
 */
let fixedBodyKey: symbol | null | undefined;

function fixedBodySymbol(): symbol | null {
  if (fixedBodyKey === undefined) {
    fixedBodyKey = null;
    try {
      for (const key of Object.getOwnPropertySymbols(new Response(""))) {
        if (key.description === "lazy static body") fixedBodyKey = key;
      }
    } catch {
      // No Response here: the general way.
    }
  }
  return fixedBodyKey;
}

/**
 * Whether a response's body is a string the runtime holds whole and nobody has read: it is sent
 * as it is, at once. Tells without reading `body`, which would turn the string into a stream
 * (and take the server off its fast path for fixed bodies).
 */
function hasFixedBody(response: Response): boolean {
  const key = fixedBodySymbol();
  if (key === null) return false;
  try {
    return typeof (response as unknown as Record<symbol, unknown>)[key] === "string";
  } catch {
    return false;
  }
}

/**
 * Records the response on the activity and returns it with a body that ends the activity when
 * it has been read to the end, cancelled or failed. A response without a body, with a fixed
 * body (a string the runtime holds whole), or one that cannot be read, is returned as it is and
 * ends the activity, at once. Otherwise what the body holds when the handler returns is taken:
 * when that is all of it (bytes, or a stream already complete), the response goes to the server
 * whole, as it would unwrapped, and the activity ends.
 */
export function respond(
  activity: Activity,
  state: ServerState,
  response: Response,
): Response | Promise<Response> {
  let status: unknown;
  try {
    status = response.status;
  } catch {
    status = undefined;
  }
  if (typeof status !== "number") {
    end(activity, state);
    return response;
  }
  activity.setTag("http.response.status_code", status);
  // Server side: a 4xx is the client's error and leaves the status unset; a 5xx is ours.
  if (status >= 500) activity.setTag("error.type", String(status)).setStatus("error");
  if (
    !(response instanceof Response) || hasFixedBody(response) || response.body === null ||
    response.body.locked || status < 200 || status > 599 || status === 204 || status === 205 ||
    status === 304
  ) {
    end(activity, state);
    return response;
  }
  return forward(activity, state, response, status);
}

/** Returns a response whose body ends the activity (see {@linkcode respond}). */
async function forward(
  activity: Activity,
  state: ServerState,
  response: Response,
  status: number,
): Promise<Response> {
  const init: ResponseInit = { status, statusText: response.statusText, headers: response.headers };
  const reader = response.body!.getReader();
  let taken: {
    ready: Uint8Array[];
    pending: Promise<ReadableStreamReadResult<Uint8Array>> | undefined;
  };
  try {
    taken = await takeReady(reader);
  } catch (error) {
    // The body failed before it was sent: the response goes out with a body that fails alike.
    failRequest(activity, error);
    end(activity, state);
    return new Response(
      new ReadableStream({
        start: (controller) => controller.error(error),
      }),
      init,
    );
  }
  const { ready, pending } = taken;
  if (pending === undefined) {
    // All of the body is here: it goes to the server whole, and the activity ends.
    end(activity, state);
    const whole = ready.length === 1 && ready[0]!.buffer instanceof ArrayBuffer
      ? ready[0] as Uint8Array<ArrayBuffer>
      : concat(ready);
    return new Response(whole, init);
  }
  return new Response(new BodyForwarder(activity, state, reader, ready, pending).stream, init);
}

/**
 * Takes the chunks of a body that are there already: `pending` is the read still waiting when
 * the body is not complete yet. A read the body answers from what it holds settles within two
 * microtasks; one that waits for more (a timer, a file, the network) does not, and the rest of
 * the body is forwarded as it comes.
 *
 * @throws {unknown} What reading the body throws.
 */
async function takeReady(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<{
  ready: Uint8Array[];
  pending: Promise<ReadableStreamReadResult<Uint8Array>> | undefined;
}> {
  const ready: Uint8Array[] = [];
  let closed = false;
  reader.closed.then(() => closed = true, noop);
  for (;;) {
    let result: ReadableStreamReadResult<Uint8Array> | undefined;
    let failed = false;
    let failure: unknown;
    const read = reader.read();
    read.then((r) => result = r, (error: unknown) => {
      failed = true;
      failure = error;
    });
    await undefined;
    await undefined;
    if (failed) throw failure;
    if (result === undefined) return { ready, pending: read };
    if (result.done) return { ready, pending: undefined };
    ready.push(result.value);
    if (!(result.value instanceof Uint8Array) || ready.length > MAX_READY_CHUNKS) {
      // Not bytes (the server will say so), or many chunks: forward the rest as it comes.
      return { ready, pending: reader.read() };
    }
    if (closed) return { ready, pending: undefined };
  }
}

function concat(chunks: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  let length = 0;
  for (const chunk of chunks) length += chunk.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/**
 * The rest of a body that is still being produced: the chunks read already, then each chunk
 * of the original as the server asks for it. The activity ends when the original ends, is
 * cancelled (the client went away) or fails.
 */
class BodyForwarder {
  /** The body handed to the server. */
  readonly stream: ReadableStream<Uint8Array>;
  readonly #activity: Activity;
  readonly #state: ServerState;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #open = true;
  #demand = false;
  #wake: (() => void) | undefined;

  constructor(
    activity: Activity,
    state: ServerState,
    reader: ReadableStreamDefaultReader<Uint8Array>,
    ready: readonly Uint8Array[],
    pending: Promise<ReadableStreamReadResult<Uint8Array>>,
  ) {
    this.#activity = activity;
    this.#state = state;
    this.#reader = reader;
    this.stream = new ReadableStream<Uint8Array>({
      start: (c) => {
        this.#controller = c;
        for (const chunk of ready) c.enqueue(chunk);
      },
      pull: () => {
        this.#demand = true;
        this.#signal();
      },
      cancel: (reason) => this.#cancel(reason),
    }, { highWaterMark: 0 });
    void this.#pump(pending);
  }

  #finish(): void {
    if (!this.#open) return;
    this.#open = false;
    end(this.#activity, this.#state);
  }

  #signal(): void {
    const resolve = this.#wake;
    this.#wake = undefined;
    resolve?.();
  }

  /**
   * Forwards a chunk each time the server asks for one. It runs in the activity's context (it
   * is started from inside it), so the original body's source runs with the activity current.
   */
  async #pump(pending: Promise<ReadableStreamReadResult<Uint8Array>>): Promise<void> {
    const controller = this.#controller;
    try {
      let next = pending;
      for (;;) {
        const chunk = await next;
        if (!this.#open) return;
        if (chunk.done) {
          this.#finish();
          controller.close();
          return;
        }
        controller.enqueue(chunk.value);
        if (!this.#demand && !(controller.desiredSize! > 0)) {
          await new Promise<void>((resolve) => this.#wake = resolve);
        }
        this.#demand = false;
        if (!this.#open) return;
        next = this.#reader.read();
      }
    } catch (error) {
      if (!this.#open) return;
      failRequest(this.#activity, error);
      this.#finish();
      controller.error(error);
    }
  }

  /** The client went away: the activity ends with the error status, `error.type` cancelled. */
  #cancel(reason: unknown): Promise<void> {
    if (this.#open) {
      this.#activity.setTag("error.type", "cancelled").setStatus(
        "error",
        `Response body cancelled${typeof reason === "string" ? `: ${reason}` : ""}`,
      );
      if (reason instanceof Error) this.#activity.recordException(reason);
    }
    this.#finish();
    this.#signal();
    return this.#reader.cancel(reason);
  }
}
