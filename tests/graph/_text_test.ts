import assert from "node:assert/strict";
import { escapeText, shortDuration } from "../../graph/_text.ts";

Deno.test("escapeText() escapes C0, C1, line separators and every bidi control", () => {
  assert.equal(escapeText("plain text, עברית"), "plain text, עברית");
  assert.equal(escapeText("a\u0085b\u2028c"), "a\\u0085b\\u2028c");
  const bidi = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069";
  assert.equal(
    escapeText(bidi),
    "\\u061C\\u200E\\u200F\\u202A\\u202B\\u202C\\u202D\\u202E\\u2066\\u2067\\u2068\\u2069",
  );
});

Deno.test("shortDuration() picks the unit that reads best", () => {
  const cases: [number, string][] = [
    [0, "0ns"],
    [1, "100ns"],
    [8, "800ns"],
    [10, "1µs"],
    [8656, "865.6µs"],
    [10_000, "1ms"],
    [123_456, "12.35ms"],
    [10_000_000, "1s"],
    [12_345_678, "1.235s"],
    [599_999_999, "60s"],
    [1_250_000_000, "2m05s"],
    [37_320_000_000, "1h02m"],
  ];
  assert.deepEqual(cases.map(([ticks]) => [ticks, shortDuration(ticks)]), cases);
});
