import assert from "node:assert/strict";
import { formatDuration, formatNumber, formatTagValue, formatTimestamp } from "../_format.ts";

Deno.test("formatDuration() prints .NET's TimeSpan constant format", () => {
  const table: [number, string][] = [
    [1, "00:00:00.0000001"],
    [8656, "00:00:00.0008656"],
    [10_000_000, "00:00:01"],
    [600_000_000, "00:01:00"],
    [36_000_000_000, "01:00:00"],
    [36_000_000_000 * 23 + 1, "23:00:00.0000001"],
    [864_000_000_000, "1.00:00:00"],
    [937_845_000_000, "1.02:03:04.5000000"],
    [864_000_000_000 * 12 + 5_000_000, "12.00:00:00.5000000"],
    [0, "00:00:00"],
    [1.4, "00:00:00.0000001"],
    [1.5, "00:00:00.0000002"],
    [-10_000_000, "-00:00:01"],
  ];
  for (const [ticks, text] of table) assert.equal(formatDuration(ticks), text, `${ticks} ticks`);
});

Deno.test("formatNumber() prints doubles as .NET does", () => {
  const table: [number, string][] = [
    [0, "0"],
    [-0, "-0"],
    [1234, "1234"],
    [-1234, "-1234"],
    [19.99, "19.99"],
    [0.1 + 0.2, "0.30000000000000004"],
    [0.0001, "0.0001"],
    [0.00012345, "0.00012345"],
    [0.00001, "1E-05"],
    [-1.5e-7, "-1.5E-07"],
    [999_999_999_999_999, "999999999999999"],
    [123456789012345.6, "123456789012345.6"],
    [1e15, "1E+15"],
    [1.5e20, "1.5E+20"],
    [1e100, "1E+100"],
    [5e-324, "5E-324"],
    [Number.MAX_VALUE, "1.7976931348623157E+308"],
    [NaN, "NaN"],
    [Infinity, "Infinity"],
    [-Infinity, "-Infinity"],
  ];
  for (const [n, text] of table) assert.equal(formatNumber(n), text, String(n));
});

Deno.test("formatTimestamp() prints UTC with seven fraction digits", () => {
  const table: [bigint, string][] = [
    [1_697_505_880_495_732_600n, "2023-10-17T01:24:40.4957326Z"],
    [1_697_505_880_000_000_000n, "2023-10-17T01:24:40.0000000Z"],
    [0n, "1970-01-01T00:00:00.0000000Z"],
    [100n, "1970-01-01T00:00:00.0000001Z"],
    [-100n, "1969-12-31T23:59:59.9999999Z"],
  ];
  for (const [nanos, text] of table) assert.equal(formatTimestamp(nanos), text, String(nanos));
});

Deno.test("formatTagValue() never throws", () => {
  const revoked = Proxy.revocable({}, {});
  revoked.revoke();
  const values: unknown[] = [
    revoked.proxy,
    [revoked.proxy],
    { [Symbol.toPrimitive]: () => ({}) },
    Object.create(null),
  ];
  for (const value of values) {
    const text = formatTagValue(value);
    assert.equal(typeof text, "string");
    assert.ok(text.length > 0);
  }
});
