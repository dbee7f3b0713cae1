/**
 * {@linkcode OtlpExporter}: sends recorded activities to an OTLP/HTTP or OTLP/gRPC receiver, with
 * retries, a timeout and counts of what was delivered and lost; {@linkcode OtlpExportError} says why an
 * export failed.
 *
 * @example Counts of what was delivered
 * ```ts
 * import { ActivitySource, createTracerProviderBuilder } from "@tracelinks/activity";
 * import { OtlpExporter } from "@tracelinks/activity/otlp";
 * import assert from "node:assert/strict";
 *
 * const exporter = new OtlpExporter({ env: () => undefined, fetch: async () => new Response(null) });
 * const provider = createTracerProviderBuilder().addSource("App").addExporter(exporter).build();
 * new ActivitySource("App").startActivity("Work")?.stop();
 * await provider.shutdown();
 * assert.equal(exporter.deliveredCount, 1);
 * ```
 *
 * @module
 */

import type { Activity } from "../activity.ts";
import type { ActivityExporter, FlushOptions, ProcessorContext } from "../processor.ts";
import type { Resource } from "../resource.ts";
import {
  type ErrorHandler,
  type ReportLevel,
  reportToStderr,
  safeReport,
} from "../_diagnostics.ts";
import { escapeControl } from "../_format.ts";
import { settlesWithin, timeoutOption } from "../_timers.ts";
import {
  type OtlpCompression,
  type OtlpConfig,
  type OtlpExporterOptions,
  type OtlpExporterProtocol,
  resolveOtlpConfig,
} from "./_config.ts";
import { encodeOtlpTraces } from "./encode.ts";
import type { Outcome } from "./_retry.ts";
import { errorText, gzip, netPermissionProblem, post, type Reply } from "./_transport.ts";
import type { GrpcTransport } from "./_grpc.ts";

/**
 * Why an export failed: the rejection of {@linkcode OtlpExporter.export}, and what
 * {@linkcode OtlpExporter} reports at shutdown.
 *
 * @example
 * ```ts
 * import { OtlpExportError } from "@tracelinks/activity/otlp";
 * import assert from "node:assert/strict";
 *
 * const error = new OtlpExportError("HTTP 400 Bad Request", { status: 400, attempts: 1, lostCount: 2 });
 * assert.equal(error.name, "OtlpExportError");
 * assert.equal(error.lostCount, 2);
 * ```
 */
export class OtlpExportError extends Error {
  /** The HTTP status of the last response, or `undefined` when there was none. */
  readonly status: number | undefined;
  /** The gRPC status code of the last OTLP/gRPC answer, or `undefined` when there was none. */
  readonly grpcStatus: number | undefined;
  /** How many requests were made. */
  readonly attempts: number;
  /** How many activities were not delivered. */
  readonly lostCount: number;

  /**
   * Makes the error.
   *
   * @param message What went wrong.
   * @param details The last status (HTTP, and gRPC for OTLP/gRPC), the attempts made and the
   * activities lost.
   */
  constructor(
    message: string,
    details: {
      status?: number | undefined;
      grpcStatus?: number | undefined;
      attempts?: number;
      lostCount?: number;
    } = {},
  ) {
    super(message);
    this.name = "OtlpExportError";
    this.status = details.status;
    this.grpcStatus = details.grpcStatus;
    this.attempts = details.attempts ?? 0;
    this.lostCount = details.lostCount ?? 0;
  }
}

/**
 * Sends recorded activities to an OTLP/HTTP receiver (`POST {endpoint}/v1/traces`), or with
 * `protocol: "grpc"` to an OTLP/gRPC one (the unary `TraceService/Export` call, on one HTTP/2
 * session reused across exports): an OpenTelemetry Collector, Jaeger (its all-in-one image
 * listens on 4318 and 4317), Grafana Tempo, or a vendor's endpoint. Use it behind the batch
 * processor in production; it also works behind `SimpleProcessor` (one request per activity).
 *
 * Delivery: requests answered 429, 502, 503 or 504, and network errors, are retried with
 * exponential backoff and jitter (honouring `Retry-After`) until `retry.maxAttempts` or the
 * `timeout` of the export is reached; other answers are final. Over gRPC, the codes the OTLP
 * specification calls retryable are retried (`RESOURCE_EXHAUSTED` only with `RetryInfo`), and a
 * server's `RetryInfo` delay is honoured. A failed export rejects (the
 * processor reports it) and its activities are counted in {@linkcode OtlpExporter.lostCount};
 * a partial success counts the rejected spans as lost and rejects too. At shutdown, pending
 * exports are awaited (each ends within its timeout) and the number of activities lost is
 * reported. The exporter never throws into the program it observes.
 *
 * @example Counts of what was delivered and lost
 * ```ts
 * import { ActivitySource, createTracerProviderBuilder } from "@tracelinks/activity";
 * import { OtlpExporter } from "@tracelinks/activity/otlp";
 * import assert from "node:assert/strict";
 *
 * let calls = 0;
 * const exporter = new OtlpExporter({
 *   retry: { initialBackoff: 1 },
 *   env: () => undefined,
 *   fetch: async () => new Response(null, { status: ++calls === 1 ? 503 : 200 }),
 * });
 * const provider = createTracerProviderBuilder().addSource("App").addExporter(exporter).build();
 * new ActivitySource("App").startActivity("Work")?.stop();
 * await provider.shutdown();
 * assert.equal(calls, 2);
 * assert.equal(exporter.deliveredCount, 1);
 * assert.equal(exporter.lostCount, 0);
 * ```
 */
export class OtlpExporter implements ActivityExporter {
  readonly #config: OtlpConfig;
  readonly #ownHandler: boolean;
  #onError: ErrorHandler;
  // Reports made before a provider handed over its handler, when no onError was given.
  #early: [Error, string, ReportLevel][] | undefined = [];
  readonly #pending = new Set<Promise<void>>();
  #endpointHinted = false;
  // Aborted when a shutdown's time is up: requests and waits under way end at once.
  readonly #abandon = new AbortController();
  #delivered = 0;
  #lost = 0;
  // Lost activities whose loss was said already: to a missing permission (in the failed
  // export), or given up by a shutdown whose caller counted them.
  #lostSaid = 0;
  #lastError: unknown;
  #shutdown: Promise<void> | undefined;
  // OTLP/gRPC only: the transport, loaded and made on the first export.
  #grpc: Promise<GrpcTransport> | undefined;

  /**
   * Makes the exporter. Options left out are read from the standard `OTEL_EXPORTER_OTLP_*`
   * variables where permitted (see {@linkcode OtlpExporterOptions.env}); a variable with a
   * bad value is reported and ignored.
   *
   * @param options Where and how to send.
   * @throws {TypeError} When an option has the wrong type or an unknown value.
   * @throws {SyntaxError} When `url` or `endpoint` is not a URL.
   * @throws {RangeError} When a number is out of range.
   */
  constructor(options: OtlpExporterOptions = {}) {
    if (typeof options !== "object" || options === null) {
      throw new TypeError("Cannot make OtlpExporter: options must be an object");
    }
    for (const name of ["fetch", "env", "onError"] as const) {
      if (options[name] !== undefined && typeof options[name] !== "function") {
        throw new TypeError(`Cannot make OtlpExporter: ${name} must be a function`);
      }
    }
    this.#ownHandler = options.onError !== undefined;
    this.#onError = options.onError ?? reportToStderr;
    if (this.#ownHandler) this.#early = undefined;
    this.#config = resolveOtlpConfig(options, (name, value, why) => {
      this.#report(
        new TypeError(`Ignoring ${name}=${JSON.stringify(value)}: ${why}`),
        "warn",
        "OtlpExporter configuration",
      );
    });
  }

  /**
   * Takes the error handler of the provider the exporter was added to (its processor calls
   * this), unless `onError` was given: the exporter's own reports then go where the
   * provider's go. Reports made before (ignored configuration variables) are passed on now.
   *
   * @param context The provider's context.
   */
  register(context: ProcessorContext): void {
    if (this.#ownHandler) return;
    this.#onError = context.reportError;
    this.#flushEarly();
  }

  /** Reports through the handler, or keeps the report until a provider gives one. */
  #report(error: Error, level: ReportLevel, where = "OtlpExporter"): void {
    if (this.#early !== undefined) this.#early.push([error, where, level]);
    else safeReport(this.#onError, error, where, level);
  }

  /** Passes on reports kept since construction (to stderr when no provider registered). */
  #flushEarly(): void {
    const early = this.#early;
    if (early === undefined) return;
    this.#early = undefined;
    for (const [error, where, level] of early) safeReport(this.#onError, error, where, level);
  }

  /** The URL requests go to; for OTLP/gRPC, the URL of the Export method. */
  get url(): string {
    return this.#config.url;
  }

  /** The transport and encoding. */
  get protocol(): OtlpExporterProtocol {
    return this.#config.protocol;
  }

  /** The body compression. */
  get compression(): OtlpCompression {
    return this.#config.compression;
  }

  /** The time one export may take, in milliseconds, retries included. */
  get timeout(): number {
    return this.#config.timeout;
  }

  /** Activities the receiver accepted. */
  get deliveredCount(): number {
    return this.#delivered;
  }

  /**
   * Activities not delivered: their export failed for good, the receiver rejected them
   * (partial success), or they came after shutdown.
   */
  get lostCount(): number {
    return this.#lost;
  }

  /** Exports under way (sending, or waiting to retry). */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /**
   * Sends the activities in one request (retried as configured).
   *
   * @param activities Stopped, recorded activities.
   * @param resource The provider's resource.
   * @returns A promise that resolves when the receiver accepted all of them.
   * @throws {OtlpExportError} (as a rejection) When some or all were not delivered; they are
   * counted in {@linkcode OtlpExporter.lostCount}.
   */
  export(activities: readonly Activity[], resource: Resource): Promise<void> {
    this.#flushEarly();
    const count = activities.length;
    if (this.#shutdown !== undefined) {
      this.#lost += count;
      return Promise.reject(
        new OtlpExportError(
          `Cannot export ${count} activities: the OTLP exporter is shut down`,
          { lostCount: count },
        ),
      );
    }
    if (count === 0) return Promise.resolve();
    const result = this.#send(activities, resource);
    const settled: Promise<void> = result.then(
      () => {
        this.#pending.delete(settled);
      },
      (error: unknown) => {
        this.#lastError = error;
        this.#pending.delete(settled);
      },
    );
    this.#pending.add(settled);
    return result;
  }

  #fail(
    count: number,
    message: string,
    answer: { status?: number | undefined; grpcStatus?: number | undefined; attempts: number },
    kind: "failed" | "permission" | "abandoned" = "failed",
  ): never {
    this.#lost += count;
    if (kind !== "failed") this.#lostSaid += count;
    else if (this.#config.unreadEndpoint.length > 0 && !this.#endpointHinted) {
      this.#endpointHinted = true;
      const names = this.#config.unreadEndpoint;
      this.#report(
        new Error(
          `Sending to the default endpoint ${this.#config.url}: ${
            names.join(" and ")
          } could not be read, as the env permission is not granted (it is never asked for); run with --allow-env=${
            names.join(",")
          } or pass the endpoint option`,
        ),
        "warn",
      );
    }
    const { attempts } = answer;
    throw new OtlpExportError(
      `OTLP export of ${count} ${
        count === 1 ? "activity" : "activities"
      } to ${this.#config.url} failed${
        attempts > 1 ? ` after ${attempts} attempts` : ""
      }: ${message}`,
      { status: answer.status, grpcStatus: answer.grpcStatus, attempts, lostCount: count },
    );
  }

  async #send(activities: readonly Activity[], resource: Resource): Promise<void> {
    const count = activities.length;
    const config = this.#config;
    const denied = netPermissionProblem(config.netHost, config.url);
    // A missing permission is said once per export and never retried: no retry can mend it.
    if (denied !== undefined) return this.#fail(count, denied, { attempts: 0 }, "permission");
    const deadline = Date.now() + config.timeout;
    const grpc = config.protocol === "grpc";
    let body: Uint8Array<ArrayBuffer>;
    try {
      body = encodeOtlpTraces(activities, resource, {
        protocol: grpc ? "http/protobuf" : config.protocol as "http/protobuf",
      });
      if (config.compression === "gzip") body = await gzip(body);
    } catch (error) {
      return this.#fail(count, `cannot encode the request: ${errorText(error)}`, { attempts: 0 });
    }
    const abandon = this.#abandon.signal;
    const outcome: Outcome<Reply> = grpc
      ? await (await this.#grpcTransport()).send(body, deadline, abandon)
      : await post(config, body, deadline, abandon);
    if (!outcome.ok) return this.#fail(count, outcome.message, outcome, outcome.kind);
    return this.#accepted(outcome.value, count, outcome.attempts);
  }

  /** The gRPC transport, loaded on first use. */
  #grpcTransport(): Promise<GrpcTransport> {
    return this.#grpc ??= import("./_grpc.ts").then((module) =>
      new module.GrpcTransport(this.#config)
    );
  }

  #accepted(reply: Reply, count: number, attempts: number): void {
    const { partial, unreadable, status } = reply;
    if (partial === undefined || partial.rejected === 0) {
      this.#delivered += count;
      // (A response cut short by a shutdown's deadline is not worth a warning.)
      if (unreadable !== "" && !this.#abandon.signal.aborted) {
        this.#report(
          new OtlpExportError(
            `OTLP receiver at ${this.#config.url} accepted ${count} activities but its response could not be read: ${unreadable}`,
            { status, attempts },
          ),
          "warn",
        );
      } else if (partial !== undefined && partial.message !== "") {
        this.#report(
          new OtlpExportError(
            `OTLP receiver at ${this.#config.url} warned: ${escapeControl(partial.message)}`,
            { status, attempts },
          ),
          "warn",
        );
      }
      return;
    }
    const rejected = Math.min(count, partial.rejected);
    this.#delivered += count - rejected;
    this.#lost += rejected;
    throw new OtlpExportError(
      `OTLP receiver at ${this.#config.url} rejected ${rejected} of ${count} activities${
        partial.message === "" ? "" : `: ${escapeControl(partial.message)}`
      }`,
      { status, attempts, lostCount: rejected },
    );
  }

  /**
   * Waits until every export under way has ended (delivered or failed; each ends within its
   * timeout), or until `timeoutMillis` has passed.
   *
   * @param options `timeoutMillis`: how long to wait at most (default: no limit).
   * @returns A promise that resolves when none is pending; it never rejects.
   * @throws {TypeError} When `options` or `timeoutMillis` has the wrong type.
   * @throws {RangeError} When `timeoutMillis` is negative.
   */
  async forceFlush(options?: FlushOptions): Promise<void> {
    const timeout = timeoutOption(options, Infinity, "Cannot flush OtlpExporter");
    this.#flushEarly();
    await settlesWithin(this.#settlePending(), timeout);
  }

  async #settlePending(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending);
  }

  /**
   * Refuses further exports, waits for those under way (each ends within its timeout), and
   * reports how many activities were not delivered, if any. With `timeoutMillis`, exports
   * still under way when it has passed are given up at once (their requests aborted, their
   * activities counted as lost); the processor that passed the time has counted them already.
   * Losses said before (a missing net permission, given-up exports) are not reported again.
   * Calling it again returns the same promise.
   *
   * @param options `timeoutMillis`: how long to wait at most (default: no limit).
   * @returns A promise that resolves when done; it never rejects.
   * @throws {TypeError} When `options` or `timeoutMillis` has the wrong type.
   * @throws {RangeError} When `timeoutMillis` is negative.
   */
  shutdown(options?: FlushOptions): Promise<void> {
    if (this.#shutdown !== undefined) return this.#shutdown;
    const timeout = timeoutOption(options, Infinity, "Cannot shut down OtlpExporter");
    return this.#shutdown = (async () => {
      this.#flushEarly();
      if (!(await settlesWithin(this.#settlePending(), timeout))) {
        this.#abandon.abort();
        await this.#settlePending();
      }
      // The session ends, so that it no longer holds the program open.
      if (this.#grpc !== undefined) (await this.#grpc.catch(() => undefined))?.close();
      if (this.#lost > this.#lostSaid) {
        const total = this.#lost + this.#delivered;
        const last = this.#lastError instanceof Error
          ? ` Last error: ${this.#lastError.message}`
          : "";
        this.#report(
          new OtlpExportError(
            `${this.#lost} of ${total} activities were not delivered to ${this.#config.url}.${last}`,
            { lostCount: this.#lost },
          ),
          "error",
        );
      }
    })();
  }
}
