// Differential fuzzing: extract(), parseTraceState() and parseBaggage() against small reference
// parsers written here from the ABNF of W3C Trace Context Level 2 and W3C Baggage, over headers
// made by a seeded generator (the same headers on every run) and over mutations of the W3C Trace
// Context test suite's strict tracestate cases. The references read character by character and
// share no code with the module; where the specifications leave a choice, the module's
// documented choice is written out below and named.
import assert from "node:assert/strict";
import { type BaggageEntry, extract, parseBaggage, parseTraceState } from "../mod.ts";

// ---------------------------------------------------------------------------------------------
// A seeded generator (mulberry32), so that a failure names a seed and an index to replay.

function generator(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Random {
  #next: () => number;
  constructor(seed: number) {
    this.#next = generator(seed);
  }
  below(n: number): number {
    return Math.floor(this.#next() * n);
  }
  chance(p: number): boolean {
    return this.#next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)]!;
  }
  chars(alphabet: string, length: number): string {
    let out = "";
    for (let i = 0; i < length; i++) out += alphabet[this.below(alphabet.length)];
    return out;
  }
  /** One random edit: insert, delete or replace a character, or repeat a slice. */
  mutate(text: string, alphabet: string): string {
    const at = this.below(text.length + 1);
    switch (this.below(4)) {
      case 0:
        return text.slice(0, at) + this.chars(alphabet, 1) + text.slice(at);
      case 1:
        return text.slice(0, at) + text.slice(at + 1);
      case 2:
        return text.slice(0, at) + this.chars(alphabet, 1) + text.slice(at + 1);
      default: {
        const end = at + this.below(8);
        return text.slice(0, end) + text.slice(at, end) + text.slice(end);
      }
    }
  }
}

/** Characters that matter to the grammars, and some that must never be let through. */
const NASTY = ' \t\r\n\u0000\u000b\u007f\u00a0\u00e9\ufeff\u2028\ud800,;=@%"\\-_*/.:';
const PRINTABLE = (() => {
  let out = "";
  for (let c = 0x20; c <= 0x7e; c++) out += String.fromCharCode(c);
  return out;
})();

// ---------------------------------------------------------------------------------------------
// Reference: W3C Trace Context Level 2, traceparent.
//
//   value          = version "-" version-format
//   version        = 2HEXDIGLC                ; ff is forbidden
//   version-format = trace-id "-" parent-id "-" trace-flags     ; version 00
//   trace-id       = 32HEXDIGLC               ; not all zeros
//   parent-id      = 16HEXDIGLC               ; not all zeros
//   trace-flags    = 2HEXDIGLC
// A higher version is read when it is at least 55 characters: trace-id and parent-id each
// followed by "-", flags at the end or followed by "-". The header's OWS (SP / HTAB) around the
// value is not part of it (RFC 9110).
//
// Choices of the module, written out: a value holding "," is several header lines combined
// (RFC 9110 field order), and several lines mean no parent; a value over 1024 characters is not
// read.

type Parent = { traceId: string; spanId: string; flags: number };

function isHexLc(text: string): boolean {
  if (text.length === 0) return false;
  for (const c of text) if (!"0123456789abcdef".includes(c)) return false;
  return true;
}

function isZeros(text: string): boolean {
  for (const c of text) if (c !== "0") return false;
  return true;
}

function trimSpTab(text: string): string {
  let a = 0;
  let b = text.length;
  while (a < b && (text[a] === " " || text[a] === "\t")) a++;
  while (b > a && (text[b - 1] === " " || text[b - 1] === "\t")) b--;
  return text.slice(a, b);
}

function referenceTraceparent(lines: readonly string[]): Parent | undefined {
  if (lines.length !== 1) return undefined;
  const value = trimSpTab(lines[0]!);
  if (value.length > 1024 || value.includes(",")) return undefined;
  const version = value.slice(0, 2);
  if (!isHexLc(version) || version.length !== 2 || version === "ff") return undefined;
  if (value[2] !== "-") return undefined;
  const traceId = value.slice(3, 35);
  const spanId = value.slice(36, 52);
  const flags = value.slice(53, 55);
  if (traceId.length !== 32 || !isHexLc(traceId) || isZeros(traceId)) return undefined;
  if (value[35] !== "-") return undefined;
  if (spanId.length !== 16 || !isHexLc(spanId) || isZeros(spanId)) return undefined;
  if (value[52] !== "-") return undefined;
  if (flags.length !== 2 || !isHexLc(flags)) return undefined;
  if (version === "00" ? value.length !== 55 : value.length > 55 && value[55] !== "-") {
    return undefined;
  }
  return { traceId, spanId, flags: parseInt(flags, 16) };
}

// ---------------------------------------------------------------------------------------------
// Reference: W3C Trace Context Level 2, tracestate.
//
//   list        = list-member 0*31( OWS "," OWS list-member )
//   list-member = key "=" value
//   list-member = OWS
//   key         = ( lcalpha / DIGIT ) 0*255 ( keychar )
//   keychar     = lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@"
//   value       = 0*255(chr) nblk-chr
//   nblk-chr    = %x21-2B / %x2D-3C / %x3E-7E
//   chr         = %x20 / nblk-chr
// Several header lines are combined with ",". Read strictly: one bad member or more than 32
// members drops the whole header. Over 512 characters: whole members go, those longer than 128
// first, then from the end.
//
// Choices of the module, written out: a repeated key keeps its first member (the suite accepts
// keeping or dropping duplicates), members are counted as sent; a combined header over 32,768
// characters is not read.

function isKey(key: string): boolean {
  if (key.length < 1 || key.length > 256) return false;
  const first = key.charCodeAt(0);
  const lcalphaOrDigit = (c: number) => (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39);
  if (!lcalphaOrDigit(first)) return false;
  for (let i = 1; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (!lcalphaOrDigit(c) && !"_-*/@".includes(key[i]!)) return false;
  }
  return true;
}

function isNblkChr(c: number): boolean {
  return (c >= 0x21 && c <= 0x2b) || (c >= 0x2d && c <= 0x3c) || (c >= 0x3e && c <= 0x7e);
}

function isValue(value: string): boolean {
  if (value.length < 1 || value.length > 256) return false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (!(c === 0x20 || isNblkChr(c))) return false;
  }
  return isNblkChr(value.charCodeAt(value.length - 1));
}

function referenceTraceState(lines: readonly string[]): [string, string][] | undefined {
  const combined = lines.join(",");
  if (combined.length > 32768) return undefined;
  const out: [string, string][] = [];
  let count = 0;
  for (const raw of combined.split(",")) {
    const member = trimSpTab(raw);
    if (member === "") continue;
    const eq = member.indexOf("=");
    if (eq < 0) return undefined;
    const key = member.slice(0, eq);
    const value = member.slice(eq + 1);
    if (!isKey(key) || !isValue(value)) return undefined;
    count++;
    if (count > 32) return undefined;
    if (!out.some(([k]) => k === key)) out.push([key, value]);
  }
  return out;
}

function referenceTruncate(members: [string, string][]): [string, string][] {
  const kept = members.slice();
  const length = () => kept.reduce((n, [k, v]) => n + k.length + 1 + v.length, 0) + kept.length - 1;
  while (kept.length > 0 && length() > 512) {
    let long = -1;
    for (let i = kept.length - 1; i >= 0; i--) {
      if (kept[i]![0].length + 1 + kept[i]![1].length > 128) {
        long = i;
        break;
      }
    }
    kept.splice(long >= 0 ? long : kept.length - 1, 1);
  }
  return kept;
}

/** What extract() must give: the parent and the tracestate it keeps, or "none". */
function referenceExtract(traceparent: string[], tracestate: string[] | undefined): string {
  const parent = referenceTraceparent(traceparent);
  if (parent === undefined) return "none";
  let state = "";
  if (tracestate !== undefined && tracestate.length > 0) {
    const members = referenceTraceState(tracestate);
    if (members !== undefined) {
      state = referenceTruncate(members).map(([k, v]) => `${k}=${v}`).join(",");
    }
  }
  return `${parent.traceId}/${parent.spanId}/${parent.flags}/${state}`;
}

function moduleExtract(traceparent: string[], tracestate: string[] | undefined): string {
  const carrier = new Map<string, string[]>([["traceparent", traceparent]]);
  if (tracestate !== undefined) carrier.set("tracestate", tracestate);
  const context = extract(carrier);
  if (context === undefined) return "none";
  return `${context.traceId}/${context.spanId}/${context.traceFlags}/${context.traceState ?? ""}`;
}

// ---------------------------------------------------------------------------------------------
// Reference: W3C Baggage.
//
//   baggage-string = list-member 0*179( OWS "," OWS list-member )
//   list-member    = key OWS "=" OWS value *( OWS ";" OWS property )
//   property       = key OWS "=" OWS value
//   property       =/ key OWS
//   key            = token                    ; RFC 7230 tchar, one or more
//   value          = *baggage-octet
//   baggage-octet  = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E
// A value is percent-encoded UTF-8: decoded by the WHATWG percent-decode and UTF-8 decode
// (without BOM handling: every code point is kept; a malformed sequence reads as U+FFFD).
//
// Choices of the module, written out: an invalid member is skipped, the others kept; members are
// kept in order up to 180, each at most 4096 characters, and while the kept ones, with their
// commas, fit in 8192; raw input over 65,536 characters is cut at the last "," before that.

const TCHAR = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

function isBaggageOctet(c: number): boolean {
  return c === 0x21 || (c >= 0x23 && c <= 0x2b) || (c >= 0x2d && c <= 0x3a) ||
    (c >= 0x3c && c <= 0x5b) || (c >= 0x5d && c <= 0x7e);
}

/** A recursive-descent reader of one list-member (its OWS around already removed). */
class MemberReader {
  #text: string;
  #at = 0;
  constructor(text: string) {
    this.#text = text;
  }
  get done(): boolean {
    return this.#at === this.#text.length;
  }
  ows(): void {
    while (this.#text[this.#at] === " " || this.#text[this.#at] === "\t") this.#at++;
  }
  literal(c: string): boolean {
    if (this.#text[this.#at] !== c) return false;
    this.#at++;
    return true;
  }
  token(): string | undefined {
    const start = this.#at;
    while (this.#at < this.#text.length && TCHAR.includes(this.#text[this.#at]!)) this.#at++;
    return this.#at > start ? this.#text.slice(start, this.#at) : undefined;
  }
  value(): string {
    const start = this.#at;
    while (this.#at < this.#text.length && isBaggageOctet(this.#text.charCodeAt(this.#at))) {
      this.#at++;
    }
    return this.#text.slice(start, this.#at);
  }
}

type Entry = { key: string; value: string; properties?: { key: string; value?: string }[] };

function readBaggageMember(text: string): Entry | undefined {
  const r = new MemberReader(text);
  const key = r.token();
  if (key === undefined) return undefined;
  r.ows();
  if (!r.literal("=")) return undefined;
  r.ows();
  const value = r.value();
  const properties: { key: string; value?: string }[] = [];
  for (;;) {
    r.ows();
    if (r.done) break;
    if (!r.literal(";")) return undefined;
    r.ows();
    const pkey = r.token();
    if (pkey === undefined) return undefined;
    r.ows();
    if (r.literal("=")) {
      r.ows();
      properties.push({ key: pkey, value: r.value() });
    } else {
      properties.push({ key: pkey });
    }
  }
  const decoded = utf8Decode(percentDecode(value));
  return properties.length === 0 ? { key, value: decoded } : { key, value: decoded, properties };
}

/** WHATWG URL "percent-decode" of an ASCII string. */
function percentDecode(text: string): number[] {
  const hex = (c: string | undefined) => c !== undefined && /^[0-9A-Fa-f]$/.test(c);
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "%" && hex(text[i + 1]) && hex(text[i + 2])) {
      out.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      out.push(text.charCodeAt(i));
    }
  }
  return out;
}

/** WHATWG Encoding "UTF-8 decoder" (replacement mode), with no BOM sniffing. */
function utf8Decode(bytes: number[]): string {
  let out = "";
  let needed = 0;
  let seen = 0;
  let point = 0;
  let lower = 0x80;
  let upper = 0xbf;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (needed === 0) {
      if (byte <= 0x7f) out += String.fromCharCode(byte);
      else if (byte >= 0xc2 && byte <= 0xdf) (needed = 1, point = byte & 0x1f);
      else if (byte >= 0xe0 && byte <= 0xef) {
        if (byte === 0xe0) lower = 0xa0;
        if (byte === 0xed) upper = 0x9f;
        needed = 2;
        point = byte & 0xf;
      } else if (byte >= 0xf0 && byte <= 0xf4) {
        if (byte === 0xf0) lower = 0x90;
        if (byte === 0xf4) upper = 0x8f;
        needed = 3;
        point = byte & 0x7;
      } else out += "\ufffd";
      continue;
    }
    if (byte < lower || byte > upper) {
      needed = seen = point = 0;
      lower = 0x80;
      upper = 0xbf;
      out += "\ufffd";
      i--; // the byte is read again, as the start of a sequence
      continue;
    }
    lower = 0x80;
    upper = 0xbf;
    point = (point << 6) | (byte & 0x3f);
    if (++seen === needed) {
      out += String.fromCodePoint(point);
      needed = seen = point = 0;
    }
  }
  if (needed !== 0) out += "\ufffd";
  return out;
}

function referenceBaggage(lines: readonly string[]): Entry[] {
  let combined = lines.join(",");
  if (combined.length > 65536) {
    const cut = combined.lastIndexOf(",", 65536);
    combined = cut < 0 ? "" : combined.slice(0, cut);
  }
  const out: Entry[] = [];
  let size = 0;
  for (const raw of combined.split(",")) {
    if (out.length === 180) break;
    const member = trimSpTab(raw);
    if (member === "" || member.length > 4096) continue;
    const entry = readBaggageMember(member);
    if (entry === undefined) continue;
    const grown = size + member.length + (out.length > 0 ? 1 : 0);
    if (grown > 8192) continue;
    out.push(entry);
    size = grown;
  }
  return out;
}

function plain(entries: readonly BaggageEntry[]): Entry[] {
  return entries.map((e) => {
    const entry: Entry = { key: e.key, value: e.value };
    if (e.properties !== undefined) {
      entry.properties = e.properties.map((p) =>
        p.value === undefined ? { key: p.key } : { key: p.key, value: p.value }
      );
    }
    return entry;
  });
}

// ---------------------------------------------------------------------------------------------
// The W3C Trace Context test suite's strict tracestate cases (test/test.py at commit
// acab820be9db7b3433668baa5cdd43f57f4c4be0), with the suite's own assertions on what is sent on;
// they check the reference, and are the seeds of the tracestate mutations.

const TP = "00-12345678901234567890123456789012-1234567890123456-00";

type SuiteCase = {
  name: string;
  lines: string[];
  has?: Record<string, string>;
  lacks?: string[];
  count?: number;
  either?: Record<string, string>;
};

const ALL_KEY = "abcdefghijklmnopqrstuvwxyz0123456789_-*/";
const ALL_VALUE = [...PRINTABLE].filter((c) => c !== "," && c !== "=").join("");

const SUITE_TRACESTATE: SuiteCase[] = [
  { name: "included_traceparent_included", lines: ["foo=1,bar=2"], has: { foo: "1", bar: "2" } },
  { name: "empty_header", lines: [""], count: 0 },
  { name: "empty_header (empty last)", lines: ["foo=1", ""], has: { foo: "1" } },
  { name: "empty_header (empty first)", lines: ["", "foo=1"], has: { foo: "1" } },
  {
    name: "multiple_headers_different_keys",
    lines: ["foo=1,bar=2", "rojo=1,congo=2", "baz=3"],
    has: { foo: "1", bar: "2", rojo: "1", congo: "2", baz: "3" },
  },
  { name: "duplicated_keys (foo=1,foo=1)", lines: ["foo=1,foo=1"], has: { foo: "1" } },
  { name: "duplicated_keys (foo=1,foo=2)", lines: ["foo=1,foo=2"], either: { foo: "1|2" } },
  { name: "duplicated_keys (lines, same)", lines: ["foo=1", "foo=1"], has: { foo: "1" } },
  { name: "duplicated_keys (lines, other)", lines: ["foo=1", "foo=2"], either: { foo: "1|2" } },
  {
    name: "all_allowed_characters",
    lines: [`${ALL_KEY}=${ALL_VALUE}`],
    has: { [ALL_KEY]: ALL_VALUE },
  },
  {
    name: "all_allowed_characters (vendor)",
    lines: [`${ALL_KEY}@a-z0-9_-*/=${ALL_VALUE}`],
    has: { [`${ALL_KEY}@a-z0-9_-*/`]: ALL_VALUE },
  },
  {
    name: "ows_handling (around commas)",
    lines: ["foo=1 \t , \t bar=2, \t baz=3"],
    has: { foo: "1", bar: "2", baz: "3" },
  },
  {
    name: "ows_handling (tabs and spaces)",
    lines: ["foo=1\t \t,\t \tbar=2,\t \tbaz=3"],
    has: { foo: "1", bar: "2", baz: "3" },
  },
  { name: "ows_handling (leading space)", lines: [" foo=1"], has: { foo: "1" } },
  { name: "ows_handling (leading tab)", lines: ["\tfoo=1"], has: { foo: "1" } },
  { name: "ows_handling (trailing space)", lines: ["foo=1 "], has: { foo: "1" } },
  { name: "ows_handling (trailing tab)", lines: ["foo=1\t"], has: { foo: "1" } },
  { name: "ows_handling (both)", lines: ["\t foo=1 \t"], has: { foo: "1" } },
  { name: "key_illegal_characters (space)", lines: ["foo =1"], lacks: ["foo ", "foo"] },
  { name: "key_illegal_characters (upper)", lines: ["FOO=1"], lacks: ["FOO"] },
  { name: "key_illegal_characters (dot)", lines: ["foo.bar=1"], lacks: ["foo.bar"] },
  {
    name: "key_illegal_vendor_format (foo@)",
    lines: ["foo@=1,bar=2"],
    has: { "foo@": "1", bar: "2" },
  },
  { name: "key_illegal_vendor_format (@foo)", lines: ["@foo=1,bar=2"], lacks: ["bar"] },
  {
    name: "key_illegal_vendor_format (foo@@bar)",
    lines: ["foo@@bar=1,bar=2"],
    has: { "foo@@bar": "1", bar: "2" },
  },
  {
    name: "key_illegal_vendor_format (foo@bar@baz)",
    lines: ["foo@bar@baz=1,bar=2"],
    has: { "foo@bar@baz": "1", bar: "2" },
  },
  {
    name: "member_count_limit (32)",
    lines: barLines(32),
    has: { bar01: "01" },
    count: 32,
  },
  { name: "member_count_limit (33)", lines: barLines(33), lacks: ["bar01"] },
  {
    name: "key_length_limit (256)",
    lines: ["foo=1", `${"z".repeat(256)}=1`],
    has: { foo: "1", ["z".repeat(256)]: "1" },
  },
  { name: "key_length_limit (257)", lines: ["foo=1", `${"z".repeat(257)}=1`], lacks: ["foo"] },
  {
    name: "key_length_limit (t*241@v*14)",
    lines: ["foo=1", `${"t".repeat(241)}@${"v".repeat(14)}=1`],
    has: { foo: "1", [`${"t".repeat(241)}@${"v".repeat(14)}`]: "1" },
  },
  {
    name: "key_length_limit (t*242@v)",
    lines: ["foo=1", `${"t".repeat(242)}@v=1`],
    has: { foo: "1", [`${"t".repeat(242)}@v`]: "1" },
  },
  {
    name: "key_length_limit (t@v*15)",
    lines: ["foo=1", `t@${"v".repeat(15)}=1`],
    has: { foo: "1", [`t@${"v".repeat(15)}`]: "1" },
  },
  { name: "value_illegal_characters (foo=bar=baz)", lines: ["foo=bar=baz"], lacks: ["foo"] },
  { name: "value_illegal_characters (foo=,bar=3)", lines: ["foo=,bar=3"], lacks: ["foo", "bar"] },
];

function barLines(n: number): string[] {
  const members = Array.from({ length: n }, (_, i) => {
    const d = String(i + 1).padStart(2, "0");
    return `bar${d}=${d}`;
  });
  const lines: string[] = [];
  for (let i = 0; i < members.length; i += 10) lines.push(members.slice(i, i + 10).join(","));
  return lines;
}

Deno.test("the reference tracestate reader meets the W3C suite's strict tracestate cases", () => {
  for (const c of SUITE_TRACESTATE) {
    const out = referenceExtract([TP], c.lines);
    assert.notEqual(out, "none", c.name);
    const state = out.split("/").slice(3).join("/");
    const sent = new Map(
      state === "" ? [] : state.split(",").map((m) => {
        const eq = m.indexOf("=");
        return [m.slice(0, eq), m.slice(eq + 1)] as const;
      }),
    );
    for (const [k, v] of Object.entries(c.has ?? {})) assert.equal(sent.get(k), v, c.name);
    for (const k of c.lacks ?? []) assert.ok(!sent.has(k), c.name);
    if (c.count !== undefined) assert.equal(sent.size, c.count, c.name);
    for (const [k, v] of Object.entries(c.either ?? {})) {
      assert.ok(v.split("|").includes(sent.get(k) ?? ""), c.name);
    }
    // And the module agrees.
    assert.equal(moduleExtract([TP], c.lines), out, c.name);
  }
});

// ---------------------------------------------------------------------------------------------
// Generators.

const HEX = "0123456789abcdef";

function traceparentLine(r: Random): string {
  if (r.chance(0.03)) return r.chars(PRINTABLE + NASTY, r.below(70));
  const version = r.chance(0.6) ? "00" : r.pick(["01", "cc", "fe", "ff", "0A", "0", "000", "g0"]);
  let traceId = r.chance(0.04) ? "0".repeat(32) : r.chars(HEX, 32);
  let spanId = r.chance(0.04) ? "0".repeat(16) : r.chars(HEX, 16);
  let flags = r.pick(["00", "01", "02", "03", "ff", r.chars(HEX, 2), "0F", "1", "001"]);
  if (r.chance(0.04)) traceId = traceId.toUpperCase();
  if (r.chance(0.04)) spanId = spanId.slice(1);
  if (r.chance(0.03)) flags = flags + "0";
  let text = `${version}-${traceId}-${spanId}-${flags}`;
  if (r.chance(0.15)) text += r.pick(["-", "-future", "-a-b-c", ".x", "x", ",", `,${text}`]);
  if (r.chance(0.01)) text += "-" + "x".repeat(1000);
  if (r.chance(0.2)) text = r.mutate(text, HEX + NASTY);
  if (r.chance(0.15)) text = r.pick([" ", "\t", " \t", "\n", "\u00a0", "\ufeff"]) + text;
  if (r.chance(0.15)) text += r.pick([" ", "\t", "\t ", "\r", "\r\n", "\u0000"]);
  return text;
}

const KEY_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789_-*/@";

function traceStateKey(r: Random): string {
  const length = r.pick([1, 2, 3, 8, 14, 15, 240, 241, 242, 255, 256, 257]);
  let key = r.chars("abcdefghijklmnopqrstuvwxyz0123456789", 1) +
    r.chars(r.chance(0.7) ? "abcdefghijklmnopqrstuvwxyz0123456789" : KEY_CHARS, length - 1);
  if (r.chance(0.1)) key = r.mutate(key, KEY_CHARS + "A.@ =" + NASTY);
  return key;
}

function traceStateValue(r: Random): string {
  const length = r.pick([0, 1, 2, 5, 16, 100, 129, 255, 256, 257]);
  let value = r.chars(r.chance(0.8) ? "abcdefXYZ0189+/" : ALL_VALUE, length);
  if (r.chance(0.1)) value = r.mutate(value, PRINTABLE + NASTY);
  return value;
}

function traceStateLines(r: Random): string[] {
  if (r.chance(0.2)) {
    // A mutation of one of the suite's cases.
    const seed = r.pick(SUITE_TRACESTATE).lines.slice();
    const at = r.below(seed.length);
    for (let i = r.below(3) + 1; i > 0; i--) seed[at] = r.mutate(seed[at]!, KEY_CHARS + NASTY);
    return seed;
  }
  const count = r.pick([0, 1, 2, 3, 5, 12, 31, 32, 33, 34]);
  const members: string[] = [];
  const keys: string[] = [];
  for (let i = 0; i < count; i++) {
    const key = keys.length > 0 && r.chance(0.05) ? r.pick(keys) : traceStateKey(r);
    keys.push(key);
    let member = `${key}=${traceStateValue(r)}`;
    if (r.chance(0.1)) member = r.pick([" ", "\t", " \t"]) + member + r.pick(["", " ", "\t "]);
    members.push(member);
    if (r.chance(0.05)) members.push(r.pick(["", " ", "\t"]));
  }
  const lines: string[] = [];
  let start = 0;
  while (start < members.length) {
    const end = r.chance(0.3) ? start + 1 + r.below(members.length - start) : members.length;
    lines.push(members.slice(start, end).join(","));
    start = end;
  }
  if (r.chance(0.005)) lines.push(" ".repeat(33000));
  return lines;
}

const TOKEN_SAMPLE = "abcXYZ09!#$&'*+-.^_`|~%";

function baggageLines(r: Random): string[] {
  const count = r.pick([0, 1, 2, 3, 5, 8, 13, 64, 180, 181]);
  const members: string[] = [];
  for (let i = 0; i < count; i++) {
    let key = r.chars(TOKEN_SAMPLE, 1 + r.below(6));
    if (r.chance(0.05)) key = r.mutate(key, NASTY + "();<>@[]{}?");
    let value = "";
    for (let j = r.below(r.chance(0.005) ? 1500 : 12); j > 0; j--) {
      value += r.chance(0.03) ? r.chars(' \t,;"\\\u00e9\ufeff\u0000', 1) : r.pick([
        r.chars("abcXYZ019!#$&'()*+-./:<=>?@[]^_`{|}~", 1),
        "%" + r.chars("0123456789ABCDEFabcdef", 2),
        r.pick([
          "%C3%AB",
          "%E2%98%83",
          "%F0%9D%84%9E",
          "%EF%BB%BF",
          "%ED%A0%80",
          "%C0%AF",
          "%F4%90%80%80",
        ]),
        r.pick(["%", "%z", "%4", "%%41"]),
      ]);
    }
    let member = key + r.pick(["=", " = ", "\t=", "=\t"]) + value;
    for (let p = r.chance(0.2) ? r.below(3) + 1 : 0; p > 0; p--) {
      member += r.pick([";", " ; ", ";\t"]) + r.chars(TOKEN_SAMPLE, 1 + r.below(4));
      if (r.chance(0.6)) member += r.pick(["=", " = "]) + r.chars("abc019=%;", r.below(5));
    }
    if (r.chance(0.05)) member = r.mutate(member, NASTY);
    if (r.chance(0.1)) member = r.pick([" ", "\t"]) + member + r.pick(["", " ", "\t"]);
    members.push(member);
    if (r.chance(0.03)) members.push(r.pick(["", " ", "\t"]));
  }
  if (r.chance(0.01)) members.push("k=" + "v".repeat(4095), "k=" + "v".repeat(4094));
  if (r.chance(0.003)) {
    members.push(...Array.from({ length: 4000 }, (_, i) => `key${i}=${"x".repeat(9)}`));
  }
  if (members.length > 1 && r.chance(0.3)) {
    const cut = 1 + r.below(members.length - 1);
    return [members.slice(0, cut).join(","), members.slice(cut).join(",")];
  }
  return [members.join(",")];
}

// ---------------------------------------------------------------------------------------------
// The differential runs. Bounded: a fixed number of cases from fixed seeds.

const SEED = 20261201;

Deno.test("extract() reads traceparent as the reference from the Level 2 ABNF does", () => {
  const r = new Random(SEED);
  let parents = 0;
  for (let i = 0; i < 20000; i++) {
    const lines = r.chance(0.05) ? [traceparentLine(r), traceparentLine(r)] : [traceparentLine(r)];
    const expected = referenceExtract(lines, undefined);
    assert.equal(
      moduleExtract(lines, undefined),
      expected,
      `seed ${SEED}, case ${i}: ${JSON.stringify(lines)}`,
    );
    // The same text as a plain string field.
    if (lines.length === 1) {
      const context = extract({ traceparent: lines[0] });
      assert.equal(
        context === undefined
          ? "none"
          : `${context.traceId}/${context.spanId}/${context.traceFlags}/`,
        expected,
      );
    }
    if (expected !== "none") parents++;
  }
  // The generator reaches both sides of the grammar.
  assert.ok(parents > 4000 && parents < 16000, `${parents} of 20000 parsed`);
});

Deno.test("parseTraceState() and extract() read tracestate as the reference from the Level 2 ABNF does", () => {
  const r = new Random(SEED + 1);
  const outcomes = { invalid: 0, truncated: 0, duplicates: 0, kept: 0 };
  for (let i = 0; i < 6000; i++) {
    const lines = traceStateLines(r);
    const expected = referenceTraceState(lines);
    const label = `seed ${SEED + 1}, case ${i}: ${JSON.stringify(lines)}`;
    assert.deepEqual(parseTraceState(lines), expected, label);
    if (lines.length === 1) assert.deepEqual(parseTraceState(lines[0]!), expected, label);
    assert.equal(moduleExtract([TP], lines), referenceExtract([TP], lines), label);
    if (expected === undefined) outcomes.invalid++;
    else {
      const sent = lines.join(",").split(",").filter((m) => trimSpTab(m) !== "").length;
      if (sent !== expected.length) outcomes.duplicates++;
      if (referenceTruncate(expected).length !== expected.length) outcomes.truncated++;
      outcomes.kept++;
    }
  }
  for (const [name, count] of Object.entries(outcomes)) {
    assert.ok(count >= 20, `only ${count} cases ${name}: ${JSON.stringify(outcomes)}`);
  }
});

Deno.test("parseBaggage() reads baggage as the reference from the W3C Baggage ABNF does", () => {
  const r = new Random(SEED + 2);
  const outcomes = { members: 0, skipped: 0, replaced: 0, bom: 0, properties: 0 };
  for (let i = 0; i < 2500; i++) {
    const lines = baggageLines(r);
    const expected = referenceBaggage(lines);
    const label = `seed ${SEED + 2}, case ${i}: ${JSON.stringify(lines).slice(0, 2000)}`;
    const actual = plain(parseBaggage(lines));
    // Compared as JSON first (fast; plain() spells absent property values the same way on both
    // sides), and field by field when they differ, for a readable failure.
    if (JSON.stringify(actual) !== JSON.stringify(expected)) {
      assert.deepEqual(actual, expected, label);
    }
    outcomes.members += expected.length;
    outcomes.skipped += lines.join(",").split(",").filter((m) => trimSpTab(m) !== "").length -
      expected.length;
    for (const entry of expected) {
      if (entry.value.includes("\ufffd")) outcomes.replaced++;
      if (entry.value.startsWith("\ufeff")) outcomes.bom++;
      if (entry.properties !== undefined) outcomes.properties++;
    }
  }
  for (const [name, count] of Object.entries(outcomes)) {
    assert.ok(count >= 20, `only ${count} ${name}: ${JSON.stringify(outcomes)}`);
  }
});
