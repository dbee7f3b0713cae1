// A minimal protocol-buffers writer, and a field list over the reader of _reader.ts: what the
// OTLP exporter needs to encode an ExportTraceServiceRequest and to read the small messages a
// collector answers with (ExportTraceServiceResponse, google.rpc.Status). Output is canonical:
// fields in the order written, lengths as shortest varints, default values left out by the caller.

import { finishBuffer, grownBuffer, takeBuffer } from "./_buffer.ts";
import {
  FIXED32 as WIRE_FIXED32,
  FIXED64 as WIRE_FIXED64,
  LEN as WIRE_LEN,
  Reader,
  VARINT as WIRE_VARINT,
} from "./_reader.ts";

const utf8 = new TextEncoder();

/** The most attribute keys whose encoding is kept (see ProtoWriter.key). */
const KEY_CACHE_SIZE = 1024;
const keyCache = new Map<string, Uint8Array>();

/** The last encoding of an attribute's key and value (see ProtoWriter.attribute). */
interface LastAttribute {
  value: string | number;
  /** Bytes used in `bytes`: the KeyValue's one-byte length and its body. */
  length: number;
  bytes: DataView;
}
const LAST_ATTRIBUTE_BYTES = 128;
const lastAttribute = new Map<string, LastAttribute>();
const TWO_POW_63 = 2 ** 63;
const TWO_POW_32 = 0x1_0000_0000;

/**
 * The byte of two hex digits, indexed by their 7-bit codes: one load instead of the arithmetic
 * of two digits. A hex digit's value from its code: '0'-'9' are 0x30-0x39, 'a'-'f' 0x61-0x66 and
 * 'A'-'F' 0x41-0x46; bit 6 tells the letters, whose low four bits are 1 to 6.
 */
const HEX_PAIR = new Uint8Array(128 * 128);
for (let hi = 0; hi < 128; hi++) {
  for (let lo = 0; lo < 128; lo++) {
    HEX_PAIR[(hi << 7) | lo] = (((hi & 0xf) + (hi >> 6) * 9) << 4) | ((lo & 0xf) + (lo >> 6) * 9);
  }
}

/** How many hex texts the writer remembers (see ProtoWriter.hex). */
const RECENT = 4;

/** Writes protobuf fields into one growing buffer; nested messages are patched in place. */
export class ProtoWriter {
  #buf: Uint8Array<ArrayBuffer>;
  #view: DataView;
  #pos = 0;
  /** The last hex texts written, and where their bytes are (see {@linkcode hex}). */
  #recentHex: string[] = ["", "", "", ""];
  #recentAt: number[] = [0, 0, 0, 0];
  #nextRecent = 0;

  constructor(initialSize = 4096) {
    this.#buf = takeBuffer(initialSize);
    this.#view = new DataView(this.#buf.buffer);
  }

  #ensure(extra: number): void {
    const need = this.#pos + extra;
    if (need <= this.#buf.length) return;
    this.#buf = grownBuffer(this.#buf, this.#pos, need);
    this.#view = new DataView(this.#buf.buffer);
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

  /**
   * A `fixed64` field of epoch nanoseconds `ms * 1e6 + sub` (see `_nanos.ts`), modulo 2^64
   * as {@linkcode fixed64} writes a bigint; zero is skipped.
   */
  fixed64Nanos(field: number, ms: number, sub: number): void {
    if (ms === 0 && sub === 0) return;
    this.#tag(field, WIRE_FIXED64);
    this.#ensure(8);
    const buf = this.#buf;
    const pos = this.#pos;
    // ms = high * 2^32 + (ms - high * 2^32): the second part times 1e6, plus sub, stays below
    // 2^53, and |high| is at most 2^21, so every step is exact; ToUint32 takes hi modulo 2^32.
    const high = Math.floor(ms / TWO_POW_32);
    const x = (ms - high * TWO_POW_32) * 1e6 + sub;
    const carry = Math.floor(x / TWO_POW_32);
    const lo = x - carry * TWO_POW_32;
    const hi = (high * 1e6 + carry) >>> 0;
    buf[pos] = lo;
    buf[pos + 1] = lo >>> 8;
    buf[pos + 2] = lo >>> 16;
    buf[pos + 3] = lo >>> 24;
    buf[pos + 4] = hi;
    buf[pos + 5] = hi >>> 8;
    buf[pos + 6] = hi >>> 16;
    buf[pos + 7] = hi >>> 24;
    this.#pos = pos + 8;
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

  /**
   * A `KeyValue` field whose value is a string or a number (the common attributes). An
   * attribute usually recurs with the same value from span to span (a method, a route, a port),
   * so the last encoding of each key is kept, when short, and copied while its value is the same.
   */
  attribute(field: number, key: string, value: string | number): void {
    let last = lastAttribute.get(key);
    if (last !== undefined && last.value === value) {
      const n = last.length;
      this.#tag(field, WIRE_LEN);
      // Four bytes at a time: up to three bytes past the end are written, then overwritten.
      this.#ensure(n + 4);
      const view = this.#view;
      const pos = this.#pos;
      const bytes = last.bytes;
      for (let i = 0; i < n; i += 4) view.setUint32(pos + i, bytes.getUint32(i));
      this.#pos = pos + n;
      return;
    }
    const kv = this.begin(field);
    const lengthAt = this.#pos - 1;
    this.key(key);
    const any = this.begin(2);
    if (typeof value === "string") this.string(1, value, true);
    else if (Number.isInteger(value) && Math.abs(value) < TWO_POW_63) this.int64Number(3, value);
    else this.double(4, value);
    this.end(any);
    this.end(kv);
    const n = this.#pos - lengthAt;
    if (n > LAST_ATTRIBUTE_BYTES) return;
    if (last === undefined) {
      if (lastAttribute.size >= KEY_CACHE_SIZE) lastAttribute.clear();
      last = { value, length: 0, bytes: new DataView(new ArrayBuffer(LAST_ATTRIBUTE_BYTES)) };
      lastAttribute.set(key, last);
    }
    last.value = value;
    last.length = n;
    new Uint8Array(last.bytes.buffer).set(this.#buf.subarray(lengthAt, this.#pos));
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
    const length = hexText.length;
    const lastChar = hexText.charCodeAt(length - 1);
    let k = 0;
    for (; k < RECENT; k++) {
      // The length and the last character first: comparing two different ids made apart
      // costs more than that.
      const r = recent[k]!;
      if (r.length === length && r.charCodeAt(length - 1) === lastChar && r === hexText) break;
    }
    if (k < RECENT) {
      const from = at[k]!;
      for (let i = 0; i < n; i++) buf[pos + i] = buf[from + i]!;
    } else {
      for (let i = 0; i < n; i++) {
        const hi = hexText.charCodeAt(2 * i);
        const lo = hexText.charCodeAt(2 * i + 1);
        buf[pos + i] = HEX_PAIR[((hi & 0x7f) << 7) | (lo & 0x7f)]!;
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

  /** The bytes written so far, in a buffer of their own size; the writer's buffer is kept for the next. */
  finish(): Uint8Array<ArrayBuffer> {
    return finishBuffer(this.#buf, this.#pos);
  }
}

/** One field read by {@linkcode readFields}. */
export interface ProtoField {
  readonly field: number;
  readonly wire: number;
  /** The value of a varint field (as a bigint), else 0n. */
  readonly varint: bigint;
  /** The bytes of a length-delimited field, else empty. */
  readonly bytes: Uint8Array;
}

const EMPTY = new Uint8Array(0);

/**
 * Reads the top-level fields of a message. Throws a `SyntaxError` on malformed input (a
 * truncated field, an unknown wire type).
 */
export function readFields(data: Uint8Array): ProtoField[] {
  const out: ProtoField[] = [];
  const r = new Reader(data, "Cannot read protobuf");
  const end = data.length;
  while (r.pos < end) {
    const key = r.key(end);
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (wire === WIRE_VARINT) {
      out.push({ field, wire, varint: r.uint64(end), bytes: EMPTY });
    } else if (wire === WIRE_LEN) {
      const stop = r.lengthEnd(end);
      out.push({ field, wire, varint: 0n, bytes: data.subarray(r.pos, stop) });
      r.pos = stop;
    } else {
      r.skip(wire, end, field, "Message");
      out.push({ field, wire, varint: 0n, bytes: EMPTY });
    }
  }
  return out;
}

/** Reads a signed 64-bit varint value (as read by {@linkcode readFields}) as a number. */
export function int64Number(value: bigint): number {
  return Number(BigInt.asIntN(64, value));
}
