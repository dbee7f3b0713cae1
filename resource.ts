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
   * Returns a resource with the attributes of both; `other` wins on duplicate keys.
   *
   * @param other The resource to merge in.
   * @returns The merged resource.
   */
  merge(other: Resource): Resource {
    return new Resource([...this.attributes, ...other.attributes] as [string, never][]);
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
