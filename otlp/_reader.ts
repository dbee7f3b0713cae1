// Reads protobuf wire data from untrusted bytes: every length is checked against what is left of
// its message, and whatever is wrong (a truncated field, a wire type the reader does not read, a
// varint longer than 10 bytes) is a SyntaxError that says where. The one protobuf reader of the
// module: the OTLP decoder reads requests with it, and `readFields` (in _protobuf.ts) the
// exporter's responses.

/** The wire type of varints (`int32`, `int64`, `uint32`, `bool`, enums). */
export const VARINT = 0;
/** The wire type of `fixed64` and `double`. */
export const FIXED64 = 1;
/** The wire type of length-delimited fields (strings, bytes, messages, packed lists). */
export const LEN = 2;
/** The wire type of `fixed32` and `float`. */
export const FIXED32 = 5;
const WIRE_NAMES = ["varint", "fixed64", "length-delimited", "group start", "group end", "fixed32"];

const utf8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** The name of a wire type, for messages. */
export function wireName(wire: number): string {
  return WIRE_NAMES[wire] ?? "unknown";
}

/** Reads fields from one buffer; `end` bounds the message being read. */
export class Reader {
  readonly buf: Uint8Array;
  readonly view: DataView;
  /** What a message about malformed input starts with, e.g. `Cannot decode OTLP protobuf`. */
  readonly context: string;
  pos = 0;
  /** Strings that were not valid UTF-8. */
  badText = 0;

  constructor(buf: Uint8Array, context: string) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.context = context;
  }

  /** The error of malformed input. */
  malformed(message: string): SyntaxError {
    return new SyntaxError(`${this.context}: ${message}`);
  }

  /** A varint as a number; exact up to 2^53, and any longer value is too large for a length. */
  varint(end: number): number {
    const buf = this.buf;
    let pos = this.pos;
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= end) throw this.malformed(`truncated varint at byte ${pos}`);
      const b = buf[pos++]!;
      result += (b & 0x7f) * scale;
      if (b < 0x80) {
        this.pos = pos;
        return result;
      }
      scale *= 128;
    }
    throw this.malformed(`varint longer than 10 bytes at byte ${pos}`);
  }

  /** A varint as an unsigned 64-bit integer (a `uint64`, or the bits of an `int64`). */
  uint64(end: number): bigint {
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
    return BigInt.asUintN(64, result);
  }

  /** A varint as a signed 64-bit integer (an `int64`). */
  int64(end: number): bigint {
    return BigInt.asIntN(64, this.uint64(end));
  }

  /** The end of a length-delimited field whose length is next. */
  lengthEnd(end: number): number {
    const at = this.pos;
    const length = this.varint(end);
    if (length > end - this.pos) {
      throw this.malformed(`length ${length} at byte ${at} runs past the end of its message`);
    }
    return this.pos + length;
  }

  fixed32(end: number): number {
    if (end - this.pos < 4) throw this.malformed(`truncated fixed32 at byte ${this.pos}`);
    const n = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return n;
  }

  fixed64(end: number): bigint {
    if (end - this.pos < 8) throw this.malformed(`truncated fixed64 at byte ${this.pos}`);
    const n = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return n;
  }

  double(end: number): number {
    if (end - this.pos < 8) throw this.malformed(`truncated double at byte ${this.pos}`);
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
    const buf = this.buf;
    let text = "";
    for (let i = this.pos; i < stop; i++) text += HEX[buf[i]!]!;
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
        if (end - this.pos < 8) throw this.malformed(`truncated fixed64 at byte ${this.pos}`);
        this.pos += 8;
        return;
      case LEN:
        this.pos = this.lengthEnd(end);
        return;
      case FIXED32:
        if (end - this.pos < 4) throw this.malformed(`truncated fixed32 at byte ${this.pos}`);
        this.pos += 4;
        return;
    }
    throw this.malformed(
      `${message} field ${field} has wire type ${wire} (${wireName(wire)}), ` +
        `which this decoder does not read`,
    );
  }

  /** Reads a field key; returns `[field, wire]` packed as `field * 8 + wire`. */
  key(end: number): number {
    const at = this.pos;
    const key = this.varint(end);
    if (key < 8 || key > 0xffff_ffff) {
      throw this.malformed(`invalid field key ${key} at byte ${at}`);
    }
    return key;
  }
}
