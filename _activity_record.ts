// What an activity records beside its identity and time: tags, events, links and status, within
// the activity's limits, with the counts of what the limits dropped. An activity makes its record
// at the first write, so one that records nothing carries none. The activity checks that it is
// writable before it calls in; the record only applies the limits.

import { type ActivityLink, keptLink } from "./links.ts";
import type { ActivityStatusCode } from "./kind.ts";
import type { ActivityLimits } from "./limits.ts";
import { type ActivityEvent, type EventInput, exceptionTags } from "./event.ts";
import {
  cleanValue,
  limitTags,
  tagAppended,
  type TagList,
  tagPosition,
  tagRemoved,
  type TagValue,
} from "./tags.ts";
import { nowTicks, type TimeBase, toTicks, unixNano } from "./_time.ts";
import { reportUnusable } from "./_diagnostics.ts";

/** The recorded data of one activity. Lists are made at their first item, of exactly one. */
export class ActivityRecord {
  tags: [string, unknown][] | undefined;
  droppedTags = 0;
  events: ActivityEvent[] | undefined;
  droppedEvents = 0;
  links: ActivityLink[] | undefined;
  droppedLinks = 0;
  status: ActivityStatusCode = "unset";
  statusDescription: string | undefined;

  /** Keeps the tags given at start, which were made for the activity, within the limits. */
  startTags(tags: [string, unknown][], limits: ActivityLimits): void {
    const kept = limitTags(tags, limits.tagCount, limits.tagValueLength);
    this.tags = kept.tags;
    this.droppedTags = kept.dropped;
  }

  /** Sets, replaces or (for `null` and `undefined`) removes the first tag with the key. */
  setTag(key: string, value: TagValue, limits: ActivityLimits): void {
    const tags = this.tags;
    if (tags === undefined) {
      if (value === null || value === undefined) return;
      if (limits.tagCount > 0) this.tags = [[key, cleanValue(value, limits.tagValueLength)]];
      else this.droppedTags++;
      return;
    }
    const i = tagPosition(tags, key);
    if (value === null || value === undefined) {
      if (i >= 0) {
        tags.splice(i, 1);
        tagRemoved(tags);
      }
      return;
    }
    const v = cleanValue(value, limits.tagValueLength);
    if (i >= 0) {
      tags[i] = [key, v];
    } else if (tags.length < limits.tagCount) {
      tagAppended(tags, key);
      tags.push([key, v]);
    } else {
      this.droppedTags++;
    }
  }

  /** Appends a tag, even for a key already there. */
  addTag(key: string, value: TagValue, limits: ActivityLimits): void {
    const tags = this.tags ??= [];
    if (tags.length < limits.tagCount) {
      tagAppended(tags, key);
      tags.push([key, cleanValue(value, limits.tagValueLength)]);
    } else {
      this.droppedTags++;
    }
  }

  /** The value of the first tag with the key, or `undefined`. */
  tagItem(key: string): unknown {
    const tags = this.tags;
    const i = tags === undefined ? -1 : tagPosition(tags, key);
    return i < 0 ? undefined : tags![i]![1];
  }

  /** Whether one more event is within the limit; counts it as dropped when it is not. */
  roomForEvent(limits: ActivityLimits): boolean {
    if ((this.events?.length ?? 0) < limits.eventCount) return true;
    this.droppedEvents++;
    return false;
  }

  /** Adds an event from options read once (the caller has checked there is room). */
  pushEvent(name: string, input: EventInput, limits: ActivityLimits, time: TimeBase): void {
    let ticks: number | undefined;
    if (input.timestamp !== undefined) ticks = toTicks(time, input.timestamp);
    ticks ??= nowTicks(time);
    const kept = limitTags(input.tags, limits.eventTagCount, limits.tagValueLength);
    (this.events ??= []).push(Object.freeze({
      name,
      timeUnixNano: unixNano(time, ticks),
      tags: Object.freeze(kept.tags),
      droppedTagCount: kept.dropped,
    }));
  }

  /** Adds OpenTelemetry's `exception` event for an error, with the options' tags after. */
  pushException(error: unknown, input: EventInput, limits: ActivityLimits, time: TimeBase): void {
    const tags = exceptionTags(error);
    for (let i = 0; i < input.tags.length; i++) tags.push(input.tags[i]!);
    this.pushEvent("exception", { timestamp: input.timestamp, tags }, limits, time);
  }

  /** Adds the links given at start (the source has applied the link limit to the list). */
  startLinks(links: readonly ActivityLink[], limits: ActivityLimits): void {
    const where = "ActivitySource.startActivity() links";
    try {
      for (let i = 0; i < links.length; i++) this.pushLink(links[i], limits, where);
    } catch (error) {
      reportUnusable(where, error);
    }
  }

  /**
   * Adds a link within the limits. Anything but an `ActivityLink` whose context and tags can be
   * read is ignored, and reported once.
   */
  pushLink(link: unknown, limits: ActivityLimits, where: string): void {
    let kept: ActivityLink;
    try {
      kept = keptLink(link, limits.linkTagCount, limits.tagValueLength);
    } catch (error) {
      reportUnusable(where, error);
      return;
    }
    const links = this.links;
    if ((links === undefined ? 0 : links.length) >= limits.linkCount) this.droppedLinks++;
    else if (links === undefined) this.links = [kept];
    else links.push(kept);
  }

  /** Sets the status; a description is kept only for `"error"`. Other codes are ignored. */
  setStatus(code: ActivityStatusCode, description: unknown): void {
    if (code !== "unset" && code !== "ok" && code !== "error") return;
    this.status = code;
    this.statusDescription = code === "error" && typeof description === "string" &&
        description !== ""
      ? description
      : undefined;
  }
}

/** The tags of an activity that has none. */
export const NO_TAGS: TagList = Object.freeze([]);
/** The events of an activity that has none. */
export const NO_EVENTS: readonly ActivityEvent[] = Object.freeze([]);
/** The links of an activity that has none. */
export const NO_LINKS: readonly ActivityLink[] = Object.freeze([]);
