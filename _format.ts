// Text forms used by the console exporter: .NET's number, array, TimeSpan and timestamp
// formats, and escaping of control characters. None of these functions throws.

/**
 * The string form of any value, never throwing; functions and symbols get a placeholder, and
 * so does an array too long to join (a holey `new Array(2 ** 32 - 1)` would take all memory).
 */
export function safeString(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "function") return `[Function ${value.name || "(anonymous)"}]`;
  if (typeof value === "symbol") return value.toString();
  try {
    if (Array.isArray(value) && !(value.length <= MAX_ARRAY_ELEMENTS)) {
      return `[Array of ${safeString(value.length)} elements]`;
    }
    return String(value);
  } catch {
    return "[unprintable value]";
  }
}

function hex4(code: number): string {
  return code.toString(16).toUpperCase().padStart(4, "0");
}

// C0 controls, DEL, C1 controls, the Unicode line and paragraph separators, and the
// bidirectional formatting characters (marks, embeddings, overrides, isolates), which could
// reorder what follows them on a terminal line.
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/;
// deno-lint-ignore no-control-regex
const CONTROL_ALL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

/**
 * Escapes the characters that could break a record into more lines, drive a terminal or
 * reorder a line: `\n`, `\r`, `\t` by name; other C0 and C1 controls, DEL, U+2028, U+2029 and
 * the bidirectional controls (U+061C, U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069) as
 * `\uXXXX`.
 */
export function escapeControl(text: string): string {
  if (!CONTROL.test(text)) return text;
  return text.replace(CONTROL_ALL, (c) => {
    if (c === "\n") return "\\n";
    if (c === "\r") return "\\r";
    if (c === "\t") return "\\t";
    return `\\u${hex4(c.charCodeAt(0))}`;
  });
}

/** The most characters of bad input that an error message shows. */
const MAX_SHOWN = 40;

/**
 * A fragment of bad input as an error message shows it: at most 40 characters (then `...`),
 * with control and bidirectional characters escaped, so that the message stays one safe line.
 */
export function printable(text: string): string {
  return escapeControl(text.length > MAX_SHOWN ? text.slice(0, MAX_SHOWN) + "..." : text);
}

/**
 * A number as .NET prints a double: shortest round-trip digits, fixed notation when
 * 1e-4 <= |n| < 1e15, else `1E+15`, `1.5E+20`, `1E-05`; `NaN`, `Infinity`, `-Infinity`, `-0`.
 */
export function formatNumber(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "Infinity";
  if (n === -Infinity) return "-Infinity";
  if (n === 0) return Object.is(n, -0) ? "-0" : "0";
  const abs = n < 0 ? -n : n;
  // In this range JavaScript prints the same shortest round-trip digits in fixed notation.
  if (abs >= 1e-4 && abs < 1e15) return String(n);
  const e = n.toExponential(); // shortest digits that round-trip, e.g. "-1.5e+20"
  const negative = e[0] === "-";
  const at = e.indexOf("e");
  const mantissa = e.slice(negative ? 1 : 0, at);
  const exponent = Number(e.slice(at + 1));
  const digits = mantissa.replace(".", "");
  const sign = negative ? "-" : "";
  if (exponent >= -4 && exponent < 15) {
    if (exponent < 0) return `${sign}0.${"0".repeat(-exponent - 1)}${digits}`;
    if (digits.length <= exponent + 1) {
      return sign + digits + "0".repeat(exponent + 1 - digits.length);
    }
    return `${sign}${digits.slice(0, exponent + 1)}.${digits.slice(exponent + 1)}`;
  }
  const digitsOfExponent = Math.abs(exponent);
  return `${sign}${mantissa}E${exponent < 0 ? "-" : "+"}${
    digitsOfExponent < 10 ? "0" : ""
  }${digitsOfExponent}`;
}

/** A string inside a JSON array, escaped as .NET's default JSON encoder does. */
function jsonString(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c) out += "\\\\";
    else if (c === 0x0a) out += "\\n";
    else if (c === 0x0d) out += "\\r";
    else if (c === 0x09) out += "\\t";
    else if (c === 0x08) out += "\\b";
    else if (c === 0x0c) out += "\\f";
    else if (
      c < 0x20 || c > 0x7e || c === 0x22 || c === 0x27 || c === 0x26 || c === 0x3c ||
      c === 0x3e || c === 0x2b || c === 0x60
    ) out += `\\u${hex4(c)}`;
    else out += text[i];
  }
  return out + '"';
}

/**
 * The most elements an array tag value keeps, and the most printed, nested arrays included,
 * whatever the limits: a holey `new Array(2 ** 32 - 1)` takes a few bytes, its copy or its
 * printed form all memory.
 */
export const MAX_ARRAY_ELEMENTS = 65_536;

/**
 * Arrays nested deeper than this are not followed: printed, copied or encoded as a placeholder
 * (`[Array]`, or the value's string form).
 */
export const MAX_ARRAY_DEPTH = 16;

// Elements still to print of the tag value being formatted (nested arrays included).
let budget = MAX_ARRAY_ELEMENTS;

function jsonArray(values: readonly unknown[], outer: unknown[] | undefined): string {
  // `outer` holds the arrays being printed, to cut cycles; it is made only for nested arrays.
  if (outer !== undefined) {
    if (outer.includes(values)) return '"[Circular]"';
    if (outer.length >= MAX_ARRAY_DEPTH) return '"[Array]"';
    outer.push(values);
  }
  const length = values.length;
  const total = typeof length === "number" && length >= 1 ? Math.floor(length) : 0;
  const n = Math.min(total, budget);
  budget -= n;
  let out = "[";
  for (let i = 0; i < n; i++) {
    if (i > 0) out += ",";
    const v = values[i];
    if (v === null || v === undefined) out += "null";
    else if (typeof v === "string") out += jsonString(v);
    else if (typeof v === "number") out += formatNumber(v);
    else if (typeof v === "boolean" || typeof v === "bigint") out += String(v);
    else if (Array.isArray(v)) out += jsonArray(v, outer ??= [values]);
    else out += jsonString(safeString(v));
  }
  outer?.pop();
  // Elements beyond the budget: their number, after an ellipsis.
  if (n < total) out += `${n > 0 ? "," : ""}…${total - n} more`;
  return out + "]";
}

/**
 * A tag value as the console exporter prints it (see console-layout.md, "Tag values"). Arrays
 * print at most {@linkcode MAX_ARRAY_ELEMENTS} elements in all, then `…N more`.
 */
export function formatTagValue(value: unknown): string {
  switch (typeof value) {
    case "string":
      return escapeControl(value);
    case "number":
      return formatNumber(value);
    case "boolean":
      return value ? "true" : "false";
    case "bigint":
      return value.toString();
    case "undefined":
      return "";
  }
  if (value === null) return "";
  try {
    if (Array.isArray(value)) {
      budget = MAX_ARRAY_ELEMENTS;
      return jsonArray(value, undefined);
    }
  } catch {
    return "[unprintable array]";
  }
  return escapeControl(safeString(value));
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}

/**
 * A duration in 100-ns ticks as .NET's TimeSpan constant format `[-][d.]hh:mm:ss[.fffffff]`.
 */
export function formatDuration(ticks: number): string {
  const sign = ticks < 0 ? "-" : "";
  let t = Math.abs(Math.round(ticks));
  const fraction = t % 10_000_000;
  t = (t - fraction) / 10_000_000;
  const seconds = t % 60;
  t = (t - seconds) / 60;
  const minutes = t % 60;
  t = (t - minutes) / 60;
  const hours = t % 24;
  const days = (t - hours) / 24;
  return `${sign}${days > 0 ? `${days}.` : ""}${pad2(hours)}:${pad2(minutes)}:${pad2(seconds)}${
    fraction > 0 ? `.${String(fraction).padStart(7, "0")}` : ""
  }`;
}

// The date and time part of the last second formatted: records and their events mostly fall in
// the same second, and Date.prototype.toISOString is the costly step.
let cachedSecond = NaN;
let cachedPrefix = "";

/** An instant in epoch nanoseconds as `yyyy-MM-ddTHH:mm:ss.fffffffZ` (UTC, 7 digits). */
export function formatTimestamp(unixNano: bigint): string {
  let seconds = unixNano / 1_000_000_000n;
  let rest = unixNano % 1_000_000_000n;
  if (rest < 0n) {
    rest += 1_000_000_000n;
    seconds -= 1n;
  }
  const second = Number(seconds);
  if (second !== cachedSecond) {
    const iso = new Date(second * 1000).toISOString(); // yyyy-MM-ddTHH:mm:ss.000Z
    cachedPrefix = iso.slice(0, -5);
    cachedSecond = second;
  }
  const ticks = Math.floor(Number(rest) / 100); // 0 to 9,999,999
  return `${cachedPrefix}.${ticks < 1_000_000 ? String(ticks).padStart(7, "0") : ticks}Z`;
}
