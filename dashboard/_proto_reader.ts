// Reads protobuf wire data from untrusted bytes: every length is checked against what is left of
// its message, and whatever is wrong (a truncated field, a wire type the decoder does not read, a
// varint longer than 10 bytes) is a SyntaxError that says where.

import { type Problems, toHex } from "./_otlp_model.ts";

export const VARINT = 0;
export const FIXED64 = 1;
export const LEN = 2;
export const FIXED32 = 5;
const WIRE_NAMES = ["varint", "fixed64", "length-delimited", "group start", "group end", "fixed32"];

const utf8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The error of a malformed message. */
export function malformed(message: string): SyntaxError {
  return new SyntaxError(`Cannot decode OTLP protobuf: ${message}`);
}

/** Reads fields from one buffer; `end` bounds the message being read. */
export class Reader {
  readonly buf: Uint8Array;
  readonly view: DataView;
  readonly problems: Problems;
  pos = 0;
  /** Strings that were not valid UTF-8. */
  badText = 0;
  /** Elements of arrays and key-value lists cut at MAX_ITEMS. */
  cutValues = 0;

  constructor(buf: Uint8Array, problems: Problems) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.problems = problems;
  }

  /** A varint as a number; exact up to 2^53, and any longer value is too large for a length. */
  varint(end: number): number {
    const buf = this.buf;
    let pos = this.pos;
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= end) throw malformed(`truncated varint at byte ${pos}`);
      const b = buf[pos++]!;
      result += (b & 0x7f) * scale;
      if (b < 0x80) {
        this.pos = pos;
        return result;
      }
      scale *= 128;
    }
    throw malformed(`varint longer than 10 bytes at byte ${pos}`);
  }

  /** A varint as a signed 64-bit integer (an `int64`). */
  int64(end: number): bigint {
    const start = this.pos;
    const n = this.varint(end);
    if (n <= Number.MAX_SAFE_INTEGER) return BigInt(n);
    // Exact: read the bytes again as a bigint.
    let result = 0n;
    let shift = 0n;
    for (let pos = start; pos < this.pos; pos++) {
      result |= BigInt(this.buf[pos]! & 0x7f) << shift;
      shift += 7n;
    }
    return BigInt.asIntN(64, result);
  }

  /** The end of a length-delimited field whose length is next. */
  lengthEnd(end: number): number {
    const at = this.pos;
    const length = this.varint(end);
    if (length > end - this.pos) {
      throw malformed(`length ${length} at byte ${at} runs past the end of its message`);
    }
    return this.pos + length;
  }

  fixed32(end: number): number {
    if (end - this.pos < 4) throw malformed(`truncated fixed32 at byte ${this.pos}`);
    const n = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return n;
  }

  fixed64(end: number): bigint {
    if (end - this.pos < 8) throw malformed(`truncated fixed64 at byte ${this.pos}`);
    const n = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return n;
  }

  double(end: number): number {
    if (end - this.pos < 8) throw malformed(`truncated double at byte ${this.pos}`);
    const n = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return n;
  }

  /** A string field's text (its length is next). */
  string(end: number): string {
    const stop = this.lengthEnd(end);
    const buf = this.buf;
    const start = this.pos;
    this.pos = stop;
    if (stop - start <= 32) {
      let ascii = "";
      let i = start;
      for (; i < stop; i++) {
        const c = buf[i]!;
        if (c >= 0x80) break;
        ascii += String.fromCharCode(c);
      }
      if (i === stop) return ascii;
    }
    const bytes = buf.subarray(start, stop);
    const text = utf8.decode(bytes);
    if (text.includes("\uFFFD")) {
      try {
        strictUtf8.decode(bytes);
      } catch {
        this.badText++;
      }
    }
    return text;
  }

  /** A bytes field as lowercase hex (ids). */
  hex(end: number): string {
    const stop = this.lengthEnd(end);
    const text = toHex(this.buf, this.pos, stop);
    this.pos = stop;
    return text;
  }

  /** A bytes field, copied. */
  bytes(end: number): Uint8Array {
    const stop = this.lengthEnd(end);
    const out = this.buf.slice(this.pos, stop);
    this.pos = stop;
    return out;
  }

  /** Skips a field of a wire type. */
  skip(wire: number, end: number, field: number, message: string): void {
    switch (wire) {
      case VARINT:
        this.varint(end);
        return;
      case FIXED64:
        if (end - this.pos < 8) throw malformed(`truncated fixed64 at byte ${this.pos}`);
        this.pos += 8;
        return;
      case LEN:
        this.pos = this.lengthEnd(end);
        return;
      case FIXED32:
        if (end - this.pos < 4) throw malformed(`truncated fixed32 at byte ${this.pos}`);
        this.pos += 4;
        return;
    }
    throw malformed(
      `${message} field ${field} has wire type ${wire} (${WIRE_NAMES[wire] ?? "unknown"}), ` +
        `which this decoder does not read`,
    );
  }

  /** Reads a field key; returns `[field, wire]` packed as `field * 8 + wire`. */
  key(end: number): number {
    const at = this.pos;
    const key = this.varint(end);
    if (key < 8 || key > 0xffff_ffff) throw malformed(`invalid field key ${key} at byte ${at}`);
    return key;
  }
}

/** Checks the wire type of a known field. */
export function expect(
  wire: number,
  want: number,
  message: string,
  field: number,
  name: string,
): void {
  if (wire !== want) {
    throw malformed(
      `${message} field ${field} (${name}) has wire type ${wire} ` +
        `(${WIRE_NAMES[wire] ?? "unknown"}), expected ${WIRE_NAMES[want]}`,
    );
  }
}
