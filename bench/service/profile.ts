// Summarises a V8 CPU profile (`deno run --cpu-prof`, a .cpuprofile file): self time by
// function and by file (top N), and the time of each sample put into one category of the work
// a traced request does (see categorize()).
//
//   deno run --allow-read bench/service/profile.ts /tmp/service-prof/B.cpuprofile [--top 30] [--requests N]
//
// Self time: each sample counts for the time until the next one, for the function on top of
// the stack. The categories look at the whole stack of a sample, so time spent in the runtime
// (Headers, fetch, timers) counts for the module's code that called it. With --requests (the
// requests the service handled while profiled), times are also given per request.
//
// The profiler samples the JavaScript thread only. "(idle)" is that thread outside
// JavaScript: waiting for the event loop, but also the runtime's own Rust work on that thread
// (HTTP parsing, sockets, the fetch client), which no JavaScript frame stands for.

/** A node of a .cpuprofile's call tree. */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

/** A .cpuprofile file, as V8 writes it. */
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Reads a .cpuprofile file. */
export async function readProfile(path: string): Promise<CpuProfile> {
  return JSON.parse(await Deno.readTextFile(path)) as CpuProfile;
}

const ROOT = new URL("../../", import.meta.url).href;

/** A short name for a script URL: relative to the repository, `npm:<package>/<path>`, or as is. */
export function shortUrl(url: string): string {
  if (url === "") return "(native)";
  if (url.startsWith(ROOT)) return url.slice(ROOT.length);
  const npm = /\/registry\.npmjs\.org\/((?:@[^/]+\/)?[^/]+)\/[^/]+\/(.*)$/.exec(url);
  if (npm !== null) return `npm:${npm[1]}/${npm[2]}`;
  return url;
}

/** One frame of a sample's stack: function, short file name (see shortUrl), 1-based line. */
export interface Frame {
  name: string;
  file: string;
  line: number;
}

/** The module's own files: those at the top of the repository, and of otlp/ and graph/. */
const MODULE_FILE = /^(?:otlp\/|graph\/)?_?[a-z_]+\.ts$/;

/** The files of otlp/ that build the request body (the others send it). */
const OTLP_ENCODING = new Set([
  "otlp/encode.ts",
  "otlp/_values.ts",
  "otlp/_encode_proto.ts",
  "otlp/_encode_json.ts",
  "otlp/_protobuf.ts",
]);

const GC = "GC";
const IDLE = "idle (event loop outside JavaScript)";
const PROGRAM = "native, not attributed (program)";
const STARTUP = "start-up and lazy loading";
const HEADERS = "extracting headers (request.headers, traceparent, baggage)";
const URL_PARSE = "naming and tagging the server activity: new URL(request.url)";
const NAMING = "naming and tagging the server activity: the rest of instrumentHandler";
const CONTEXT = "context entry (startActiveActivity, the current activity)";
const ACTIVITIES = "the activities: start, tags, stop (ids, clock, sampling, listeners)";
const BATCH = "batch queue (onEnd, timers, export scheduling)";
const ENCODING = "encoding (OTLP)";
const GZIP = "gzip (CompressionStream)";
const FETCH = "fetch to the collector";
const OTLP_OTHER = "OTLP exporter, other (retries, timeout, response)";
const PROMISE = "Deno.serve: the handler's promise (async path, request headers copied)";
const SERVER = "HTTP server and runtime (no module frame on the stack)";
const HANDLER = "the service's own code (handler, control channel)";

/** The category of a file of the module, when one of its frames decides. */
const MODULE_CATEGORIES: Record<string, string> = {
  "propagation.ts": HEADERS,
  "baggage.ts": HEADERS,
  "context.ts": CONTEXT,
  "activity.ts": ACTIVITIES,
  "source.ts": ACTIVITIES,
  "provider.ts": ACTIVITIES,
  "sampler.ts": ACTIVITIES,
  "exporter.ts": ACTIVITIES,
  "batch.ts": BATCH,
  "_start.ts": ACTIVITIES,
  "processor.ts": ACTIVITIES,
  "batch_options.ts": BATCH,
  "_batch_timers.ts": BATCH,
  "_lazy_otlp.ts": OTLP_OTHER,
};

/**
 * Helpers that several parts use (ids, parsing, tags, the clock): their frames do not decide,
 * the caller's do; they count for this category only when no caller in the module is found.
 */
const HELPER_CATEGORIES: Record<string, string> = {
  "links.ts": ACTIVITIES,
  "ids.ts": ACTIVITIES,
  "tags.ts": ACTIVITIES,
  "limits.ts": ACTIVITIES,
  "kind.ts": ACTIVITIES,
  "event.ts": ACTIVITIES,
  "_notify.ts": ACTIVITIES,
  "_own_baggage.ts": ACTIVITIES,
  "_time.ts": ACTIVITIES,
  "_promise.ts": ACTIVITIES,
  "_carrier.ts": HEADERS,
  "_env.ts": STARTUP,
};

const isFetch = (f: Frame) =>
  f.file.startsWith("ext:deno_fetch/26_fetch") || /^op_fetch/.test(f.name);

/**
 * The work a sample was doing, from its stack (`stack[0]` is the running function, the last
 * the root). The innermost frame of the module's own code decides (helpers such as ids or
 * traceparent parsing count for their caller), and time in the runtime (Headers, URL, fetch,
 * timers, async context) counts for the module's code that called it. Without a module frame,
 * the benchmark's handler, an npm package (`npm:<package>`), the collector's fetch or the HTTP
 * server.
 *
 * @param stack The frames of one sample, innermost first.
 * @returns The category's name.
 */
export function categorize(stack: readonly Frame[]): string {
  const top = stack[0]!;
  if (top.name === "(garbage collector)") return GC;
  if (top.name === "(idle)") return IDLE;
  if (top.name === "(program)" || top.name === "(root)") return PROGRAM;
  if (
    stack.some((f) => /^(loadExtScript|lazyLoad|op_lazy_load_esm|op_load_ext_script)$/.test(f.name))
  ) {
    return STARTUP;
  }
  if (stack.some((f) => f.name === "CompressionStream" || f.name.startsWith("op_compression"))) {
    return GZIP;
  }
  let helper: string | undefined;
  for (let i = 0; i < stack.length; i++) {
    const frame = stack[i]!;
    const callees = stack.slice(0, i);
    if (MODULE_FILE.test(frame.file)) {
      const category = HELPER_CATEGORIES[frame.file];
      if (category !== undefined) {
        helper ??= category;
        continue;
      }
      switch (frame.file) {
        case "otlp/exporter.ts":
        case "otlp/_transport.ts":
        case "otlp/_config.ts":
          return callees.some(isFetch) ? FETCH : OTLP_OTHER;
        case "http.ts":
        case "_http_tags.ts":
        case "_http_server.ts":
          if (callees.some((f) => f.file === "ext:deno_web/00_url.js")) return URL_PARSE;
          if (callees.some((f) => /header/i.test(f.name))) return HEADERS;
          return NAMING;
        case "source.ts":
        case "activity.ts":
          if (frame.name === "startActiveActivity" || frame.name === "run") return CONTEXT;
          return ACTIVITIES;
        default:
          if (OTLP_ENCODING.has(frame.file)) return ENCODING;
          return MODULE_CATEGORIES[frame.file] ?? `the module, ${frame.file}`;
      }
    }
    if (helper !== undefined) continue;
    if (frame.file.startsWith("bench/")) return HANDLER;
    if (frame.file.startsWith("npm:")) return frame.file.split("/").slice(0, 2).join("/");
  }
  if (helper !== undefined) return helper;
  if (stack.some((f) => f.name === "cacheRequestHeaders")) return PROMISE;
  if (stack.some((f) => isFetch(f) || f.file.startsWith("ext:deno_web/06_streams"))) return FETCH;
  return SERVER;
}

/** One row of a summary. */
export interface Row {
  key: string;
  ms: number;
  /** Share of the time not idle, in percent (undefined for idle). */
  percent: number | undefined;
  /** Microseconds per request, when the number of requests is known. */
  usPerRequest: number | undefined;
}

/** What {@linkcode summarize} finds. */
export interface ProfileSummary {
  /** Profile length, in milliseconds. */
  totalMs: number;
  /** Time not idle, in milliseconds. */
  busyMs: number;
  samples: number;
  /** Requests handled while profiled, if given. */
  requests: number | undefined;
  byFunction: Row[];
  byFile: Row[];
  byCategory: Row[];
}

function rows(
  map: Map<string, number>,
  busy: number,
  top: number,
  requests: number | undefined,
): Row[] {
  return [...map].sort((a, b) => b[1] - a[1]).slice(0, top).map(([key, us]) => ({
    key,
    ms: us / 1000,
    percent: key.startsWith("(idle)") || key.startsWith("idle") ? undefined : us / busy * 100,
    usPerRequest: requests === undefined ? undefined : us / requests,
  }));
}

/**
 * Self time by function and by file (top N), and time by category.
 *
 * @param profile The profile.
 * @param options `top`: rows per list; `requests`: requests handled while profiled.
 * @returns The three lists, each in descending order of time.
 */
export function summarize(
  profile: CpuProfile,
  options: { top?: number; requests?: number } = {},
): ProfileSummary {
  const top = options.top ?? 30;
  const requests = options.requests;
  const frames = new Map<number, Frame>();
  const parents = new Map<number, number>();
  for (const node of profile.nodes) {
    const { functionName, url, lineNumber } = node.callFrame;
    frames.set(node.id, {
      name: functionName === "" ? "(anonymous)" : functionName,
      file: shortUrl(url),
      line: lineNumber + 1,
    });
    for (const child of node.children ?? []) parents.set(child, node.id);
  }
  const categoryOf = new Map<number, string>();
  const categoryOfNode = (id: number): string => {
    let found = categoryOf.get(id);
    if (found === undefined) {
      const stack: Frame[] = [];
      for (let at: number | undefined = id; at !== undefined; at = parents.get(at)) {
        stack.push(frames.get(at)!);
      }
      found = categorize(stack);
      categoryOf.set(id, found);
    }
    return found;
  };
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  const byCategory = new Map<string, number>();
  let busy = 0;
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) {
    const id = samples[i]!;
    // A sample stands for the time until the next one.
    const us = i + 1 < timeDeltas.length ? timeDeltas[i + 1]! : 0;
    const frame = frames.get(id)!;
    if (frame.name !== "(idle)") busy += us;
    const fn = frame.file === "(native)"
      ? frame.name
      : `${frame.name} (${frame.file}:${frame.line})`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    const file = frame.file === "(native)" ? frame.name : frame.file;
    byFile.set(file, (byFile.get(file) ?? 0) + us);
    const category = categoryOfNode(id);
    byCategory.set(category, (byCategory.get(category) ?? 0) + us);
  }
  return {
    totalMs: (profile.endTime - profile.startTime) / 1000,
    busyMs: busy / 1000,
    samples: samples.length,
    requests,
    byFunction: rows(byFunction, busy, top, requests),
    byFile: rows(byFile, busy, top, requests),
    byCategory: rows(byCategory, busy, Infinity, requests),
  };
}

function table(title: string, list: Row[], perRequest: boolean): string {
  const lines = perRequest
    ? [`| ${title} | ms | % of busy | µs per request |`, "| --- | --- | --- | --- |"]
    : [`| ${title} | ms | % of busy |`, "| --- | --- | --- |"];
  for (const row of list) {
    const cells = [
      row.key.replaceAll("|", "\\|"),
      row.ms.toFixed(1),
      row.percent === undefined ? "–" : row.percent.toFixed(1),
    ];
    if (perRequest) cells.push(row.usPerRequest!.toFixed(2));
    lines.push(`| ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

/** The summary as markdown tables. */
export function formatSummary(summary: ProfileSummary): string {
  const perRequest = summary.requests !== undefined;
  return [
    `${summary.samples} samples over ${summary.totalMs.toFixed(0)} ms, ${
      summary.busyMs.toFixed(0)
    } ms not idle${
      perRequest
        ? `, ${summary.requests} requests (${
          (summary.busyMs * 1000 / summary.requests!).toFixed(2)
        } µs of JavaScript thread, not idle, per request)`
        : ""
    }.`,
    "",
    table("category (whole stack)", summary.byCategory, perRequest),
    "",
    table("function (self time)", summary.byFunction, perRequest),
    "",
    table("file (self time)", summary.byFile, perRequest),
  ].join("\n");
}

if (import.meta.main) {
  const [path, ...rest] = Deno.args;
  if (path === undefined) {
    console.error(
      "Usage: deno run --allow-read bench/service/profile.ts <file.cpuprofile> [--top N] [--requests N]",
    );
    Deno.exit(2);
  }
  const option = (name: string) => {
    const at = rest.indexOf(name);
    return at >= 0 ? Number(rest[at + 1]) : undefined;
  };
  const summary = summarize(await readProfile(path), {
    top: option("--top") ?? 30,
    ...(option("--requests") !== undefined ? { requests: option("--requests")! } : {}),
  });
  console.log(formatSummary(summary));
}
