// The OTLP/HTTP protobuf body: opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest,
// written field by field with the module's own protobuf writer.

import { type Activity, activityTimes } from "../activity.ts";
import { type ActivityTimes, DEFAULT_TIME_BASE, unixNano } from "../_time.ts";
import { type Nanos, splitNanos } from "./_nanos.ts";
import { droppedLinkTagCount } from "../links.ts";
import type { TagList } from "../tags.ts";
import { ProtoWriter } from "./_protobuf.ts";
import {
  type AnyValue,
  endTime,
  groupBySource,
  KIND,
  spanFlags,
  STATUS,
  toAnyValue,
} from "./_values.ts";

function writeAny(w: ProtoWriter, field: number, value: AnyValue): void {
  const mark = w.begin(field);
  switch (value.kind) {
    case "string":
      w.string(1, value.value, true);
      break;
    case "bool":
      w.bool(2, value.value, true);
      break;
    case "int":
      w.int64(3, value.value);
      break;
    case "double":
      w.double(4, value.value);
      break;
    case "array": {
      const inner = w.begin(5);
      for (const item of value.value) writeAny(w, 1, item);
      w.end(inner);
      break;
    }
    case "kvlist": {
      const inner = w.begin(6);
      for (const [key, item] of value.value) writeKeyValue(w, 1, key, item);
      w.end(inner);
      break;
    }
    case "bytes":
      w.bytes(7, value.value);
      break;
  }
  w.end(mark);
}

function writeKeyValue(w: ProtoWriter, field: number, key: string, value: AnyValue): void {
  const mark = w.begin(field);
  w.string(1, key);
  writeAny(w, 2, value);
  w.end(mark);
}

function writeTags(w: ProtoWriter, field: number, tags: TagList): void {
  let stack: unknown[] | undefined;
  for (let i = 0; i < tags.length; i++) {
    const tag = tags[i]!;
    const key = tag[0];
    const value = tag[1];
    // The common cases, strings and numbers, without an intermediate value (the same
    // AnyValue as toAnyValue's).
    if (typeof value === "string" || typeof value === "number") {
      w.attribute(field, key, value);
    } else {
      writeKeyValue(w, field, key, toAnyValue(value, stack ??= []));
    }
  }
}

const times: ActivityTimes = { time: DEFAULT_TIME_BASE, startTicks: 0, endTicks: 0 };
const nanos: Nanos = { ms: 0, sub: 0 };

/** Fields 7 and 8, the start and end in epoch nanoseconds (the end is the start while running). */
function writeTimes(w: ProtoWriter, activity: Activity): void {
  if (!activityTimes(activity, times)) {
    // An object shaped like an activity: its getters.
    w.fixed64(7, activity.startTimeUnixNano);
    w.fixed64(8, endTime(activity));
    return;
  }
  const time = times.time;
  if (splitNanos(time, times.startTicks, nanos)) w.fixed64Nanos(7, nanos.ms, nanos.sub);
  else w.fixed64(7, unixNano(time, times.startTicks));
  if (splitNanos(time, times.endTicks, nanos)) w.fixed64Nanos(8, nanos.ms, nanos.sub);
  else w.fixed64(8, unixNano(time, times.endTicks));
}

function writeSpan(w: ProtoWriter, activity: Activity): void {
  const span = w.begin(2, 2);
  w.hex(1, activity.traceId);
  w.hex(2, activity.spanId);
  w.string(3, activity.traceState ?? "");
  w.hex(4, activity.parentSpanId ?? "");
  w.string(5, activity.displayName);
  w.uint(6, KIND[activity.kind] ?? 0);
  writeTimes(w, activity);
  writeTags(w, 9, activity.tags);
  w.uint(10, activity.droppedTagCount);
  const events = activity.events;
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    const mark = w.begin(11);
    w.fixed64(1, event.timeUnixNano);
    w.string(2, event.name);
    writeTags(w, 3, event.tags);
    w.uint(4, event.droppedTagCount);
    w.end(mark);
  }
  w.uint(12, activity.droppedEventCount);
  const links = activity.links;
  for (let i = 0; i < links.length; i++) {
    const link = links[i]!;
    const context = link.context;
    const mark = w.begin(13);
    w.hex(1, context.traceId);
    w.hex(2, context.spanId);
    w.string(3, context.traceState ?? "");
    writeTags(w, 4, link.tags);
    w.uint(5, droppedLinkTagCount(link));
    w.fixed32(6, spanFlags(context.traceFlags, context.isRemote));
    w.end(mark);
  }
  w.uint(14, activity.droppedLinkCount);
  const code = STATUS[activity.status] ?? 0;
  const message = activity.statusDescription ?? "";
  if (code !== 0 || message !== "") {
    const mark = w.begin(15);
    w.string(2, message);
    w.uint(3, code);
    w.end(mark);
  }
  w.fixed32(16, spanFlags(activity.traceFlags, activity.hasRemoteParent));
  w.end(span);
}

/** The protobuf body of a request for `activities` under a resource's tags. */
export function encodeProtobuf(
  activities: readonly Activity[],
  resource: TagList,
): Uint8Array<ArrayBuffer> {
  // Sized for a span of the usual shape (about 200 bytes), so that the buffer rarely grows.
  const w = new ProtoWriter(1024 + activities.length * 256);
  const resourceSpans = w.begin(1, 3);
  const res = w.begin(1);
  writeTags(w, 1, resource);
  w.end(res);
  for (const [source, group] of groupBySource(activities)) {
    const scopeSpans = w.begin(2, 3);
    const scope = w.begin(1);
    w.string(1, source.name);
    w.string(2, source.version ?? "");
    writeTags(w, 3, source.tags);
    w.end(scope);
    for (const activity of group) writeSpan(w, activity);
    w.end(scopeSpans);
  }
  w.end(resourceSpans);
  return w.finish();
}
