/**
 * {@linkcode encodeOtlpTraces}: activities as the body of one OTLP/HTTP `POST /v1/traces`, in
 * `http/protobuf` or `http/json` ({@linkcode OtlpProtocol}).
 *
 * @example The protobuf body
 * ```ts
 * import { ActivitySource, createTracerProviderBuilder, InMemoryExporter } from "@tracelinks/activity";
 * import { encodeOtlpTraces } from "@tracelinks/activity/otlp";
 * import assert from "node:assert/strict";
 *
 * const memory = new InMemoryExporter();
 * using _provider = createTracerProviderBuilder().addSource("App").addInMemoryExporter(memory).build();
 * new ActivitySource("App").startActivity("Work")?.stop();
 * const body = encodeOtlpTraces(memory.activities);
 * assert.equal(body[0], 0x0a); // field 1 (resource_spans), length-delimited
 * ```
 *
 * @module
 */

import type { Activity } from "../activity.ts";
import type { Resource } from "../resource.ts";
import { safeString } from "../_format.ts";
import { resourceTags } from "./_values.ts";
import { encodeProtobuf } from "./_encode_proto.ts";
import { encodeJson } from "./_encode_json.ts";

/** The OTLP/HTTP encodings: binary protobuf (the default) or JSON. */
export type OtlpProtocol = "http/protobuf" | "http/json";

/** Options of {@linkcode encodeOtlpTraces}. */
export interface EncodeOtlpTracesOptions {
  /**
   * The encoding.
   * @default {"http/protobuf"}
   */
  protocol?: OtlpProtocol;
  /**
   * The `service.name` sent when the resource has none.
   * @default {"unknown_service"}
   */
  serviceName?: string;
}

/**
 * Encodes activities as an OTLP `ExportTraceServiceRequest`: the body of one
 * `POST /v1/traces`. Activities are grouped by source (the instrumentation scope) under the
 * resource, which gets `service.name = "unknown_service"` when it has none. Tag values the
 * protocol cannot carry (symbols, functions, cycles, class instances) are sent as their string
 * form; this function does not throw for any tag value.
 *
 * @param activities Stopped activities.
 * @param resource The resource they came from.
 * @param options The encoding and the fallback service name.
 * @returns The encoded request.
 * @throws {TypeError} When `protocol` is not `"http/protobuf"` or `"http/json"`.
 *
 * @example JSON, as the OTLP specification maps it
 * ```ts
 * import { ActivitySource, createTracerProviderBuilder, InMemoryExporter, Resource } from "@tracelinks/activity";
 * import { encodeOtlpTraces } from "@tracelinks/activity/otlp";
 * import assert from "node:assert/strict";
 *
 * const memory = new InMemoryExporter();
 * using _provider = createTracerProviderBuilder().addSource("App").addInMemoryExporter(memory).build();
 * new ActivitySource("App", "1.0").startActivity("Work", { tags: { retries: 3 } })?.stop();
 * const body = encodeOtlpTraces(memory.activities, new Resource({ "service.name": "api" }), {
 *   protocol: "http/json",
 * });
 * const request = JSON.parse(new TextDecoder().decode(body));
 * const scopeSpans = request.resourceSpans[0].scopeSpans[0];
 * assert.deepEqual(scopeSpans.scope, { name: "App", version: "1.0" });
 * assert.deepEqual(scopeSpans.spans[0].attributes, [{ key: "retries", value: { intValue: "3" } }]);
 * ```
 */
export function encodeOtlpTraces(
  activities: readonly Activity[],
  resource?: Resource,
  options: EncodeOtlpTracesOptions = {},
): Uint8Array<ArrayBuffer> {
  const protocol = options.protocol ?? "http/protobuf";
  if (protocol !== "http/protobuf" && protocol !== "http/json") {
    throw new TypeError(
      `Cannot encode OTLP traces: protocol must be "http/protobuf" or "http/json", got ${
        safeString(protocol)
      }`,
    );
  }
  const attributes = resourceTags(resource, options.serviceName ?? "unknown_service");
  return protocol === "http/json"
    ? encodeJson(activities, attributes)
    : encodeProtobuf(activities, attributes);
}
