// The OTLP protobuf encoder as it was before epoch nanoseconds were written without a bigint:
// each time through the public getters (`startTimeUnixNano`, `endTimeUnixNano`) and
// `setBigUint64`, each id decoded from its hex text. Kept by the tests as the reference that
// otlp/_encode_proto.ts must match byte for byte.

import type { Activity } from "../../activity.ts";
import { droppedLinkTagCount } from "../../links.ts";
import type { TagList } from "../../tags.ts";
import {
  type AnyValue,
  endTime,
  groupBySource,
  KIND,
  spanFlags,
  STATUS,
  toAnyValue,
} from "../../otlp/_values.ts";

import {
  FIXED32 as WIRE_FIXED32,
  FIXED64 as WIRE_FIXED64,
  LEN as WIRE_LEN,
  VARINT as WIRE_VARINT,
} from "../../otlp/_reader.ts";

const utf8 = new TextEncoder();

/** The most attribute keys whose encoding is kept (see ProtoWriter.key). */
const KEY_CACHE_SIZE = 1024;
const keyCache = new Map<string, Uint8Array>();

/** How many hex texts the writer remembers (see ProtoWriter.hex). */
const RECENT = 4;

/** Writes protobuf fields into one growing buffer; nested messages are patched in place. */
class ProtoWriter {
  #buf: Uint8Array<ArrayBuffer>;
  #view: DataView;
  #pos = 0;
  /** The last hex texts written, and where their bytes are (see {@linkcode hex}). */
  #recentHex: string[] = ["", "", "", ""];
  #recentAt: number[] = [0, 0, 0, 0];
  #nextRecent = 0;

  constructor(initialSize = 4096) {
    this.#buf = new Uint8Array(initialSize);
    this.#view = new DataView(this.#buf.buffer);
  }

  #ensure(extra: number): void {
    const need = this.#pos + extra;
    if (need <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  /** A varint of a non-negative integer up to 2^53. */
  #varint(n: number): void {
    this.#ensure(10);
    const buf = this.#buf;
    let pos = this.#pos;
    while (n >= 0x80) {
      buf[pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    buf[pos++] = n;
    this.#pos = pos;
  }

  #tag(field: number, wire: number): void {
    this.#varint(field * 8 + wire);
  }

  /** A `uint32`, `int32` (non-negative), `bool` or enum field; zero is skipped. */
  uint(field: number, n: number): void {
    if (n === 0) return;
    this.#tag(field, WIRE_VARINT);
    this.#varint(n);
  }

  /** A `bool` field; false is skipped unless `always`. */
  bool(field: number, b: boolean, always = false): void {
    if (!b && !always) return;
    this.#tag(field, WIRE_VARINT);
    this.#varint(b ? 1 : 0);
  }

  /** An `int64` field from a bigint in the signed 64-bit range; written even when zero. */
  int64(field: number, value: bigint): void {
    this.#tag(field, WIRE_VARINT);
    const u = BigInt.asUintN(64, value);
    const lo = Number(u & 0xffff_ffffn);
    const hi = Number(u >> 32n);
    this.#varint64(lo, hi);
  }

  /**
   * An `int64` field from a number that is an integer in the signed 64-bit range (a safe
   * integer, or a larger one that a double holds exactly); written even when zero.
   */
  int64Number(field: number, value: number): void {
    this.#tag(field, WIRE_VARINT);
    if (value >= 0 && value <= Number.MAX_SAFE_INTEGER) {
      this.#varint(value);
      return;
    }
    // Two's complement of 64 bits, as two unsigned 32-bit halves.
    let hi = Math.floor(value / 0x1_0000_0000);
    let lo = value - hi * 0x1_0000_0000;
    hi = hi >>> 0;
    lo = lo >>> 0;
    this.#varint64(lo, hi);
  }

  #varint64(lo: number, hi: number): void {
    if (hi === 0) {
      this.#varint(lo);
      return;
    }
    this.#ensure(10);
    const buf = this.#buf;
    let pos = this.#pos;
    // 64-bit value as two 32-bit halves, 7 bits at a time.
    while (hi > 0 || lo >= 0x80) {
      buf[pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | ((hi & 0x7f) << 25)) >>> 0;
      hi = hi >>> 7;
    }
    buf[pos++] = lo;
    this.#pos = pos;
  }

  /** A `fixed32` field; zero is skipped. */
  fixed32(field: number, n: number): void {
    if (n === 0) return;
    this.#tag(field, WIRE_FIXED32);
    this.#ensure(4);
    this.#view.setUint32(this.#pos, n >>> 0, true);
    this.#pos += 4;
  }

  /** A `fixed64` field from a non-negative bigint; zero is skipped. */
  fixed64(field: number, value: bigint): void {
    if (value === 0n) return;
    this.#tag(field, WIRE_FIXED64);
    this.#ensure(8);
    // setBigUint64 takes the value modulo 2^64.
    this.#view.setBigUint64(this.#pos, value, true);
    this.#pos += 8;
  }

  /** A `double` field, written even when zero (inside a oneof). */
  double(field: number, value: number): void {
    this.#tag(field, WIRE_FIXED64);
    this.#ensure(8);
    this.#view.setFloat64(this.#pos, value, true);
    this.#pos += 8;
  }

  /**
   * Field 1 as a string, for attribute keys (`KeyValue.key`): keys are few and recur in every
   * span, so the encoded field of each short ASCII key is kept (up to {@linkcode KEY_CACHE_SIZE}
   * keys, then the cache starts over) and copied.
   */
  key(text: string): void {
    const known = keyCache.get(text);
    if (known !== undefined) {
      const n = known.length;
      this.#ensure(n);
      const buf = this.#buf;
      const pos = this.#pos;
      for (let i = 0; i < n; i++) buf[pos + i] = known[i]!;
      this.#pos = pos + n;
      return;
    }
    const start = this.#pos;
    this.string(1, text);
    const end = this.#pos;
    // A short key whose field took its one-byte tag, one-byte length and one byte per char.
    if (text.length <= 64 && end - start === text.length + 2) {
      if (keyCache.size >= KEY_CACHE_SIZE) keyCache.clear();
      keyCache.set(text, this.#buf.slice(start, end));
    }
  }

  /** A `string` field; the empty string is skipped unless `always`. */
  string(field: number, text: string, always = false): void {
    if (text === "" && !always) return;
    this.#tag(field, WIRE_LEN);
    const length = text.length;
    if (length < 0x80) {
      // Short ASCII text, the common case: copied byte by byte after its one-byte length.
      this.#ensure(length + 1);
      const buf = this.#buf;
      const start = this.#pos;
      let i = 0;
      for (; i < length; i++) {
        const c = text.charCodeAt(i);
        if (c >= 0x80) break;
        buf[start + 1 + i] = c;
      }
      if (i === length) {
        buf[start] = length;
        this.#pos = start + 1 + length;
        return;
      }
    }
    // At most 3 bytes per UTF-16 unit; write after a one-byte length, then fix the length.
    const max = length * 3;
    this.#ensure(max + 5);
    const bodyStart = this.#pos + 1;
    const { written } = utf8.encodeInto(text, this.#buf.subarray(bodyStart, bodyStart + max));
    this.#pos = bodyStart + written;
    this.#patch(bodyStart, 1);
  }

  /** A `bytes` field. */
  bytes(field: number, data: Uint8Array): void {
    this.#tag(field, WIRE_LEN);
    this.#varint(data.length);
    this.#ensure(data.length);
    this.#buf.set(data, this.#pos);
    this.#pos += data.length;
  }

  /**
   * A `bytes` field from hex text (trace and span ids); empty text is skipped. Ids recur
   * within a few fields (a span's trace id is its parent's, a child's parent id is the span id
   * written just before), so the last few are remembered with where their bytes went, and
   * copied instead of decoded again.
   */
  hex(field: number, hexText: string): void {
    if (hexText === "") return;
    const n = hexText.length >>> 1;
    this.#tag(field, WIRE_LEN);
    this.#varint(n);
    this.#ensure(n);
    const buf = this.#buf;
    const pos = this.#pos;
    const recent = this.#recentHex;
    const at = this.#recentAt;
    let k = 0;
    while (k < RECENT && recent[k] !== hexText) k++;
    if (k < RECENT) {
      const from = at[k]!;
      for (let i = 0; i < n; i++) buf[pos + i] = buf[from + i]!;
    } else {
      for (let i = 0; i < n; i++) {
        // A hex digit's value from its code: '0'-'9' are 0x30-0x39, 'a'-'f' 0x61-0x66 and
        // 'A'-'F' 0x41-0x46; bit 6 tells the letters, whose low four bits are 1 to 6.
        const hi = hexText.charCodeAt(2 * i);
        const lo = hexText.charCodeAt(2 * i + 1);
        buf[pos + i] = (((hi & 0xf) + (hi >> 6) * 9) << 4) | ((lo & 0xf) + (lo >> 6) * 9);
      }
      k = this.#nextRecent;
      this.#nextRecent = (k + 1) % RECENT;
      recent[k] = hexText;
    }
    at[k] = pos;
    this.#pos = pos + n;
  }

  /**
   * Starts an embedded message field; returns the mark to give to {@linkcode end}. `reserve`
   * bytes are kept for its length (the length of a message of 128 bytes to 16 KiB takes two):
   * when the length needs another size, the message is moved, so the output is the same.
   */
  begin(field: number, reserve = 1): number {
    this.#tag(field, WIRE_LEN);
    this.#ensure(reserve);
    const bodyStart = this.#pos + reserve;
    this.#pos = bodyStart;
    return bodyStart * 8 + reserve;
  }

  /** Ends the embedded message started at `mark`, writing its length. */
  end(mark: number): void {
    const reserve = mark % 8;
    this.#patch((mark - reserve) / 8, reserve);
  }

  /** Writes the length of the bytes from `bodyStart` into the `reserve` bytes before them. */
  #patch(bodyStart: number, reserve: number): void {
    const length = this.#pos - bodyStart;
    if (length < 0x80 && reserve === 1) {
      this.#buf[bodyStart - 1] = length;
      return;
    }
    let size = 1;
    for (let n = length; n >= 0x80; n = Math.floor(n / 0x80)) size++;
    const shift = size - reserve;
    if (shift !== 0) {
      if (shift > 0) this.#ensure(shift);
      this.#buf.copyWithin(bodyStart + shift, bodyStart, this.#pos);
      this.#pos += shift;
      const at = this.#recentAt;
      for (let k = 0; k < RECENT; k++) if (at[k]! >= bodyStart) at[k]! += shift;
    }
    const buf = this.#buf;
    let pos = bodyStart - reserve;
    let n = length;
    while (n >= 0x80) {
      buf[pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    buf[pos] = n;
  }

  /** The bytes written so far, in a buffer of their own size (a copy unless it is that). */
  finish(): Uint8Array<ArrayBuffer> {
    return this.#pos === this.#buf.length ? this.#buf : this.#buf.slice(0, this.#pos);
  }
}

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

const TWO_POW_63 = 2 ** 63;

function writeTags(w: ProtoWriter, field: number, tags: TagList): void {
  let stack: unknown[] | undefined;
  for (let i = 0; i < tags.length; i++) {
    const tag = tags[i]!;
    const key = tag[0];
    const value = tag[1];
    // The common cases, strings and numbers, without an intermediate value (the same
    // AnyValue as toAnyValue's).
    if (typeof value === "string") {
      const kv = w.begin(field);
      w.key(key);
      const any = w.begin(2);
      w.string(1, value, true);
      w.end(any);
      w.end(kv);
    } else if (typeof value === "number") {
      const kv = w.begin(field);
      w.key(key);
      const any = w.begin(2);
      if (Number.isInteger(value) && Math.abs(value) < TWO_POW_63) w.int64Number(3, value);
      else w.double(4, value);
      w.end(any);
      w.end(kv);
    } else {
      writeKeyValue(w, field, key, toAnyValue(value, stack ??= []));
    }
  }
}

function writeSpan(w: ProtoWriter, activity: Activity): void {
  const span = w.begin(2, 2);
  w.hex(1, activity.traceId);
  w.hex(2, activity.spanId);
  w.string(3, activity.traceState ?? "");
  w.hex(4, activity.parentSpanId ?? "");
  w.string(5, activity.displayName);
  w.uint(6, KIND[activity.kind] ?? 0);
  w.fixed64(7, activity.startTimeUnixNano);
  w.fixed64(8, endTime(activity));
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
export function referenceProtobuf(
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
