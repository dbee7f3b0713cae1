// The growing byte buffer both OTLP writers (protobuf and JSON) write into. One buffer is kept
// from the last writer that finished, so that an encoding does not allocate and zero a new one;
// at most MAX_SPARE bytes are kept. A writer that starts while another is writing (an encoding
// from inside a tag's getter) finds none kept and makes its own.

let spare: Uint8Array<ArrayBuffer> | undefined;
const MAX_SPARE = 4 * 1024 * 1024;

/** A buffer of at least `size` bytes: the one kept, if large enough, else a new one. */
export function takeBuffer(size: number): Uint8Array<ArrayBuffer> {
  const kept = spare;
  if (kept !== undefined && kept.length >= size) {
    spare = undefined;
    return kept;
  }
  return new Uint8Array(size);
}

/** A buffer of at least `need` bytes (doubling) holding the first `used` bytes of `buf`. */
export function grownBuffer(
  buf: Uint8Array<ArrayBuffer>,
  used: number,
  need: number,
): Uint8Array<ArrayBuffer> {
  let size = buf.length * 2;
  while (size < need) size *= 2;
  const next = new Uint8Array(size);
  next.set(buf.subarray(0, used));
  return next;
}

/** The first `used` bytes in a buffer of their own size; `buf` is kept for the next writer. */
export function finishBuffer(buf: Uint8Array<ArrayBuffer>, used: number): Uint8Array<ArrayBuffer> {
  const out = buf.slice(0, used);
  if (buf.length <= MAX_SPARE) spare = buf;
  return out;
}
