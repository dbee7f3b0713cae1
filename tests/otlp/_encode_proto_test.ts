// The OTLP protobuf writer against the reference it replaced (times through the bigint getters,
// each id decoded from its hex): the same bytes for every kind of field, value and instant.

import assert from "node:assert/strict";
import type { Activity } from "../../mod.ts";
import { encodeJson } from "../../otlp/_encode_json.ts";
import { encodeProtobuf } from "../../otlp/_encode_proto.ts";
import { resourceTags } from "../../otlp/_values.ts";
import { referenceProtobuf } from "./_proto_reference.ts";
import { variedActivities } from "./_varied.ts";

Deno.test("encodeProtobuf() writes the same bytes as the reference encoder", () => {
  const { activities, resources } = variedActivities();
  assert.equal(activities.length, 14);
  for (const resource of [...resources, undefined]) {
    const tags = resourceTags(resource, "unknown_service");
    assert.deepEqual(encodeProtobuf(activities, tags), referenceProtobuf(activities, tags));
    for (let i = 0; i < activities.length; i++) {
      const one = activities.slice(i, i + 1);
      assert.deepEqual(encodeProtobuf(one, tags), referenceProtobuf(one, tags), `span ${i}`);
    }
  }
  const tags = resourceTags(undefined, "unknown_service");
  assert.deepEqual(encodeProtobuf([], tags), referenceProtobuf([], tags));
});

// What the encoders read of an activity, through its public getters.
const GETTERS = [
  "source",
  "displayName",
  "kind",
  "traceId",
  "spanId",
  "parentSpanId",
  "traceState",
  "hasRemoteParent",
  "traceFlags",
  "startTimeUnixNano",
  "endTimeUnixNano",
  "tags",
  "events",
  "links",
  "droppedTagCount",
  "droppedEventCount",
  "droppedLinkCount",
  "status",
  "statusDescription",
] as const;

Deno.test("encodeProtobuf() and encodeJson() encode an object shaped like an activity", () => {
  const { activities } = variedActivities();
  const tags = resourceTags(undefined, "unknown_service");
  for (const real of activities) {
    const fake = Object.fromEntries(GETTERS.map((key) => [key, real[key]])) as unknown as Activity;
    assert.deepEqual(encodeProtobuf([fake], tags), encodeProtobuf([real], tags));
    assert.deepEqual(encodeJson([fake], tags), encodeJson([real], tags));
  }
});
