// The protobuf reader shared by the OTLP decoder and the exporter's response reading
// (`readFields`), and the responses a receiver answers with, read back by it.

import assert from "node:assert/strict";
import { int64Number, ProtoWriter, readFields } from "../../otlp/_protobuf.ts";
import { Reader } from "../../otlp/_reader.ts";
import { exportResponse, statusBody } from "../../otlp/_encode_response.ts";

Deno.test("readFields() reads varints as exact 64-bit values and bytes in place", () => {
  const writer = new ProtoWriter();
  writer.int64(1, -1n);
  writer.int64(2, 2n ** 62n + 1n);
  writer.string(3, "é");
  writer.fixed32(4, 7);
  const fields = readFields(writer.finish());
  assert.deepEqual(fields.map((f) => [f.field, f.wire]), [[1, 0], [2, 0], [3, 2], [4, 5]]);
  assert.equal(fields[0]!.varint, 2n ** 64n - 1n);
  assert.equal(int64Number(fields[0]!.varint), -1);
  assert.equal(fields[1]!.varint, 2n ** 62n + 1n);
  assert.equal(new TextDecoder().decode(fields[2]!.bytes), "é");
});

Deno.test("readFields() throws a SyntaxError that says what is wrong and where", () => {
  const cases: [number[], RegExp][] = [
    [[0x08], /^Cannot read protobuf: truncated varint at byte 1$/],
    [[0x12, 0x05, 0x61], /^Cannot read protobuf: length 5 at byte 1 runs past the end/],
    [[0x0b], /^Cannot read protobuf: Message field 1 has wire type 3 \(group start\)/],
    [[0x00, 0x01], /^Cannot read protobuf: invalid field key 0 at byte 0$/],
    [[0x0d, 0x01, 0x02], /^Cannot read protobuf: truncated fixed32 at byte 1$/],
  ];
  for (const [bytes, message] of cases) {
    assert.throws(() => readFields(Uint8Array.from(bytes)), (error: unknown) => {
      assert.ok(error instanceof SyntaxError);
      assert.match(error.message, message);
      return true;
    });
  }
});

Deno.test("Reader.uint64() and int64() read a 10-byte varint exactly", () => {
  const bytes = Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
  const r = new Reader(bytes, "Cannot read");
  assert.equal(r.uint64(bytes.length), 2n ** 64n - 1n);
  r.pos = 0;
  assert.equal(r.int64(bytes.length), -1n);
  assert.equal(r.pos, 10);
});

Deno.test("exportResponse() and statusBody() in protobuf read back by readFields()", () => {
  const response = readFields(exportResponse(false, 300, "2 spans had no name"));
  assert.deepEqual(response.map((f) => [f.field, f.wire]), [[1, 2]]);
  const partial = readFields(response[0]!.bytes);
  assert.deepEqual(partial.map((f) => f.field), [1, 2]);
  assert.equal(partial[0]!.varint, 300n);
  assert.equal(new TextDecoder().decode(partial[1]!.bytes), "2 spans had no name");
  assert.equal(exportResponse(false, 0, "").length, 0);
  const status = readFields(statusBody(false, 3, "bad"));
  assert.deepEqual(status.map((f) => [f.field, f.varint]), [[1, 3n], [2, 0n]]);
  assert.equal(new TextDecoder().decode(status[1]!.bytes), "bad");
});
