// A writer of JSON text straight into one growing buffer of UTF-8 bytes, for the OTLP/JSON
// encoder: no text is built and encoded at the end. Strings are written as `JSON.stringify`
// writes them (the same escapes), ASCII byte by byte, anything else through `JSON.stringify`
// and `TextEncoder.encodeInto`; epoch nanoseconds as decimal text without a bigint.

import { finishBuffer, grownBuffer, takeBuffer } from "./_buffer.ts";

const utf8 = new TextEncoder();
const quote = JSON.stringify as (text: string) => string;

/** The decimal text of the last few millions of milliseconds (see {@linkcode JsonWriter.nanos}). */
let lastMega = -1;
let lastMegaText = "";

/** How many ids the writer remembers (see JsonWriter.id). */
const RECENT_IDS = 4;

/** Constant ASCII text as 32-bit words, which the writer copies four bytes at a time. */
export interface Fragment {
  readonly words: Uint32Array;
  readonly length: number;
}

/** The fragment of a constant ASCII text. */
export function fragment(text: string): Fragment {
  const words = new Uint32Array(Math.ceil(text.length / 4));
  const view = new DataView(words.buffer);
  for (let i = 0; i < text.length; i++) view.setUint8(i, text.charCodeAt(i));
  return { words, length: text.length };
}

/** Writes JSON text as UTF-8 into one growing buffer. */
export class JsonWriter {
  #buf: Uint8Array<ArrayBuffer>;
  #view: DataView;
  #pos = 0;
  /** The last ids written, and where their text is (see {@linkcode id}). */
  #recentIds: string[] = ["", "", "", ""];
  #recentAt: number[] = [0, 0, 0, 0];
  #nextRecent = 0;

  constructor(initialSize: number) {
    this.#buf = takeBuffer(initialSize);
    this.#view = new DataView(this.#buf.buffer);
  }

  /** Where the next byte goes. */
  get position(): number {
    return this.#pos;
  }

  #ensure(extra: number): void {
    const need = this.#pos + extra;
    if (need <= this.#buf.length) return;
    this.#buf = grownBuffer(this.#buf, this.#pos, need);
    this.#view = new DataView(this.#buf.buffer);
  }

  /** ASCII text that needs no escaping (punctuation, field names, hex ids, numbers' text). */
  ascii(text: string): void {
    const n = text.length;
    this.#ensure(n);
    const buf = this.#buf;
    const pos = this.#pos;
    for (let i = 0; i < n; i++) buf[pos + i] = text.charCodeAt(i);
    this.#pos = pos + n;
  }

  /** One ASCII byte. */
  byte(c: number): void {
    this.#ensure(1);
    this.#buf[this.#pos++] = c;
  }

  /** Text that is JSON already (escaped), in UTF-8. */
  raw(text: string): void {
    const n = text.length;
    this.#ensure(n);
    const buf = this.#buf;
    const pos = this.#pos;
    let i = 0;
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0x80) break;
      buf[pos + i] = c;
    }
    if (i === n) {
      this.#pos = pos + n;
      return;
    }
    // At most 3 bytes per UTF-16 unit; escaped JSON has no lone surrogate left.
    this.#ensure(n * 3);
    const { written } = utf8.encodeInto(text, this.#buf.subarray(pos, pos + n * 3));
    this.#pos = pos + written;
  }

  /**
   * A hex id (ASCII). Ids recur within a few spans (a child's trace id is its parent's, a
   * child's parent id is the span id of the span written next), so the last few are remembered
   * with where their text went, and copied from there four bytes at a time.
   */
  id(text: string): void {
    const n = text.length;
    const recent = this.#recentIds;
    const at = this.#recentAt;
    const last = text.charCodeAt(n - 1);
    let k = 0;
    for (; k < RECENT_IDS; k++) {
      // The length and the last character first: comparing two different ids made apart
      // costs more than that.
      const r = recent[k]!;
      if (r.length === n && r.charCodeAt(n - 1) === last && r === text) break;
    }
    if (k === RECENT_IDS || (n & 3) !== 0) {
      k = this.#nextRecent;
      this.#nextRecent = (k + 1) % RECENT_IDS;
      recent[k] = text;
      at[k] = this.#pos;
      this.ascii(text);
      return;
    }
    this.#ensure(n);
    const view = this.#view;
    const pos = this.#pos;
    const from = at[k]!;
    for (let i = 0; i < n; i += 4) view.setUint32(pos + i, view.getUint32(from + i));
    at[k] = pos;
    this.#pos = pos + n;
  }

  /** A string in quotes, escaped as `JSON.stringify` escapes it. */
  string(text: string): void {
    const n = text.length;
    this.#ensure(n + 2);
    const buf = this.#buf;
    const pos = this.#pos;
    buf[pos] = 0x22;
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i);
      // Controls, '"', '\' and all that is not ASCII: the rare case, left to JSON.stringify.
      if (c < 0x20 || c === 0x22 || c === 0x5c || c >= 0x80) {
        this.raw(quote(text));
        return;
      }
      buf[pos + 1 + i] = c;
    }
    buf[pos + 1 + n] = 0x22;
    this.#pos = pos + n + 2;
  }

  /** A non-negative integer below 2^31 in decimal. */
  small(n: number): void {
    let digits = 1;
    for (let t = n; t >= 10; t = (t / 10) | 0) digits++;
    this.#ensure(digits);
    const buf = this.#buf;
    let pos = this.#pos + digits;
    this.#pos = pos;
    let v = n | 0;
    do {
      const q = (v / 10) | 0;
      buf[--pos] = 0x30 + v - q * 10;
      v = q;
    } while (v > 0);
  }

  /** `n` below 1e6 as six digits, with leading zeros. */
  #six(n: number): void {
    this.#ensure(6);
    const buf = this.#buf;
    const pos = this.#pos;
    let v = n | 0;
    for (let i = 5; i >= 0; i--) {
      const q = (v / 10) | 0;
      buf[pos + i] = 0x30 + v - q * 10;
      v = q;
    }
    this.#pos = pos + 6;
  }

  /**
   * The epoch nanoseconds `ms * 1e6 + sub` (`ms` a safe integer, `sub` 0 to 999,999) as a
   * decimal in quotes, the text of the same bigint.
   */
  nanos(ms: number, sub: number): void {
    this.ascii('"');
    if (ms < 0) {
      this.ascii("-");
      // -(ms * 1e6 + sub) is (-ms - 1) * 1e6 + (1e6 - sub) when sub > 0.
      if (sub === 0) ms = -ms;
      else {
        ms = -ms - 1;
        sub = 1e6 - sub;
      }
    }
    if (ms === 0) this.small(sub);
    else {
      const mega = Math.floor(ms / 1e6);
      const rest = ms - mega * 1e6;
      if (mega === 0) this.small(rest);
      else {
        if (mega !== lastMega) {
          lastMega = mega;
          lastMegaText = String(mega);
        }
        this.ascii(lastMegaText);
        this.#six(rest);
      }
      this.#six(sub);
    }
    this.ascii('"');
  }

  /**
   * Copies the first `length` bytes of `from`, four at a time (up to three bytes past them are
   * written too, and overwritten by what comes next). `from` is a multiple of 4 bytes long.
   */
  copy(from: DataView, length: number): void {
    this.#ensure(length + 4);
    const view = this.#view;
    const pos = this.#pos;
    for (let i = 0; i < length; i += 4) view.setUint32(pos + i, from.getUint32(i, true), true);
    this.#pos = pos + length;
  }

  /** Writes a fragment made by {@linkcode fragment}. */
  fragment(f: Fragment): void {
    const words = f.words;
    const n = words.length;
    this.#ensure(n * 4);
    const view = this.#view;
    const pos = this.#pos;
    for (let i = 0; i < n; i++) view.setUint32(pos + 4 * i, words[i]!, true);
    this.#pos = pos + f.length;
  }

  /** Copies the bytes written since `start` into `into` (which must hold them). */
  keep(start: number, into: DataView): void {
    new Uint8Array(into.buffer, into.byteOffset, into.byteLength).set(
      this.#buf.subarray(start, this.#pos),
    );
  }

  /** Removes the comma at `at`, if there is one: a message's first field written as a later one. */
  dropComma(at: number): void {
    if (at >= this.#pos || this.#buf[at] !== 0x2c) return;
    this.#buf.copyWithin(at, at + 1, this.#pos);
    this.#pos--;
  }

  /** The bytes written, in a buffer of their own size; the writer's buffer is kept for the next. */
  finish(): Uint8Array<ArrayBuffer> {
    return finishBuffer(this.#buf, this.#pos);
  }
}
