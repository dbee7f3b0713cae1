/**
 * {@linkcode Resource}: what produced the telemetry (`service.name` and other attributes), as
 * OpenTelemetry's resource. A tracer provider hands its resource to every processor and exporter.
 *
 * @example Merge resources
 * ```ts
 * import { Resource } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * const resource = new Resource({ "service.name": "checkout" }).merge(new Resource({ zone: "b" }));
 * assert.equal(resource.get("service.name"), "checkout");
 * ```
 *
 * @module
 */

import { type TagList, type Tags, toTagList } from "./tags.ts";
import { defaultAttributes } from "./_default_resource.ts";

/**
 * Finds resource attributes when a provider is built (a cloud, a container, a deployment):
 * returns them as a {@linkcode Resource} or as tags, or `undefined` for none. Detectors are
 * synchronous, as OpenTelemetry's resource specification asks; do asynchronous work before
 * building and pass its result to `builder.setResource()`.
 */
export type ResourceDetector = () => Resource | Tags | undefined;

/**
 * What produced the telemetry: attributes such as `service.name`, printed at the end of each
 * console record and sent with every OTLP batch.
 *
 * @example
 * ```ts
 * import { Resource } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * const resource = new Resource({ "service.name": "a" }).merge(new Resource({ "service.name": "b" }));
 * assert.deepEqual(resource.attributes, [["service.name", "b"]]);
 * ```
 */
export class Resource {
  /** The attributes, in insertion order, each key once. */
  readonly attributes: TagList;

  /**
   * Makes a resource.
   *
   * @param attributes A record, `Map` or pairs; a later duplicate key wins.
   * @throws {TypeError} When the attributes have the wrong shape.
   */
  constructor(attributes?: Tags) {
    const byKey = new Map<string, unknown>();
    for (const [key, value] of toTagList(attributes, "resource")) {
      if (value === null || value === undefined) byKey.delete(key);
      else byKey.set(key, value);
    }
    this.attributes = Object.freeze([...byKey]);
  }

  /** A resource without attributes. */
  static readonly empty: Resource = new Resource();

  /**
   * Returns a resource with the attributes of both; `other` wins on duplicate keys, except
   * that an empty string in `other` does not replace a value, as OpenTelemetry's resource
   * specification says of merging. A key keeps the place of its first appearance.
   *
   * @param other The resource to merge in.
   * @returns The merged resource.
   *
   * @example
   * ```ts
   * import { Resource } from "@tracelinks/activity";
   * import assert from "node:assert/strict";
   *
   * const merged = new Resource({ "service.name": "a", zone: "b" })
   *   .merge(new Resource({ "service.name": "", zone: "c" }));
   * assert.deepEqual(merged.attributes, [["service.name", "a"], ["zone", "c"]]);
   * ```
   */
  merge(other: Resource): Resource {
    const kept = other.attributes.filter(([key, value]) =>
      value !== "" || this.get(key) === undefined
    );
    return new Resource([...this.attributes, ...kept] as [string, never][]);
  }

  /**
   * Returns the value of an attribute.
   *
   * @param key The attribute's key.
   * @returns The value, or `undefined`.
   */
  get(key: string): unknown {
    for (const [k, v] of this.attributes) if (k === key) return v;
    return undefined;
  }
}

/**
 * The resource a builder starts from, as OpenTelemetry's SDKs make it: `service.name`
 * `unknown_service:<executable>` (such as `unknown_service:deno`), `telemetry.sdk.name`
 * (`@tracelinks/activity`), `telemetry.sdk.language` (`nodejs` on Deno, Node.js and Bun, `webjs`
 * in a browser), `telemetry.sdk.version`, `process.runtime.name` (`deno`, `nodejs` or `bun`),
 * `process.runtime.version` and `process.runtime.description`, then `process.pid`, and
 * `host.name` where the runtime gives it without a prompt (on Deno with
 * `--allow-sys=hostname`). Read once per program. The console exporter prints no resource
 * block for a resource that holds nothing else.
 *
 * @returns The default resource.
 *
 * @example
 * ```ts
 * import { defaultResource } from "@tracelinks/activity";
 * import assert from "node:assert/strict";
 *
 * const resource = defaultResource();
 * assert.equal(resource.get("telemetry.sdk.name"), "@tracelinks/activity");
 * assert.equal(resource.get("process.runtime.name"), "deno");
 * assert.match(String(resource.get("service.name")), /^unknown_service:/);
 * ```
 */
export function defaultResource(): Resource {
  return defaultResourceValue ??= new Resource(defaultAttributes());
}

let defaultResourceValue: Resource | undefined;
