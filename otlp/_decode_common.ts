// Decodes the messages of OTLP's common and resource packages from protobuf (AnyValue, KeyValue
// and their lists, InstrumentationScope, Resource) for the trace decoder of _decode_proto.ts,
// with the reader that decoder reads one request with: it counts what it changes (invalid UTF-8,
// lists cut at MAX_ITEMS) and names the field whose wire type is wrong.

import {
  interner,
  KvList,
  MAX_DEPTH,
  MAX_ITEMS,
  type OtlpAttribute,
  type OtlpResource,
  type OtlpScope,
  type OtlpValue,
  type Problems,
  Rejection,
} from "./_decode_model.ts";
import { FIXED64, LEN, Reader, VARINT, wireName } from "./_reader.ts";

/** A list without items, shared. */
export const EMPTY_LIST: readonly never[] = Object.freeze([]);

/** The reader of one request, with the problems met and the values cut so far. */
export class RequestReader extends Reader {
  readonly problems: Problems;
  /** Elements of arrays and key-value lists cut at MAX_ITEMS. */
  cutValues = 0;

  constructor(buf: Uint8Array, problems: Problems) {
    super(buf, "Cannot decode OTLP protobuf");
    this.problems = problems;
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
    throw new SyntaxError(
      `Cannot decode OTLP protobuf: ${message} field ${field} (${name}) has wire type ${wire} ` +
        `(${wireName(wire)}), expected ${wireName(want)}`,
    );
  }
}

function readAnyValue(r: RequestReader, end: number, depth: number): OtlpValue {
  if (depth > MAX_DEPTH) {
    throw new Rejection(`an attribute value is nested deeper than ${MAX_DEPTH} levels`);
  }
  let value: OtlpValue = null;
  while (r.pos < end) {
    const key = r.key(end);
    const field = Math.floor(key / 8);
    const wire = key % 8;
    switch (field) {
      case 1:
        expect(wire, LEN, "AnyValue", field, "string_value");
        value = r.string(end);
        break;
      case 2:
        expect(wire, VARINT, "AnyValue", field, "bool_value");
        value = r.varint(end) !== 0;
        break;
      case 3:
        expect(wire, VARINT, "AnyValue", field, "int_value");
        value = r.int64(end);
        break;
      case 4:
        expect(wire, FIXED64, "AnyValue", field, "double_value");
        value = r.double(end);
        break;
      case 5: {
        expect(wire, LEN, "AnyValue", field, "array_value");
        const stop = r.lengthEnd(end);
        value = readArrayValue(r, stop, depth);
        break;
      }
      case 6: {
        expect(wire, LEN, "AnyValue", field, "kvlist_value");
        const stop = r.lengthEnd(end);
        value = new KvList(readKeyValueList(r, stop, depth));
        break;
      }
      case 7:
        expect(wire, LEN, "AnyValue", field, "bytes_value");
        value = r.bytes(end);
        break;
      case 8:
        // string_value_strindex belongs to profiles: read as an empty value, and said.
        r.skip(wire, end, field, "AnyValue");
        r.problems.add("an attribute value used string_value_strindex (profiles only): empty");
        value = null;
        break;
      default:
        r.skip(wire, end, field, "AnyValue");
    }
  }
  return value;
}

function readArrayValue(r: RequestReader, end: number, depth: number): OtlpValue[] {
  const out: OtlpValue[] = [];
  while (r.pos < end) {
    const key = r.key(end);
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (field === 1) {
      expect(wire, LEN, "ArrayValue", field, "values");
      const stop = r.lengthEnd(end);
      if (out.length < MAX_ITEMS) out.push(readAnyValue(r, stop, depth + 1));
      else r.cutValues++;
      r.pos = stop;
    } else {
      r.skip(wire, end, field, "ArrayValue");
    }
  }
  return out;
}

function readKeyValueList(r: RequestReader, end: number, depth: number): OtlpAttribute[] {
  const out: OtlpAttribute[] = [];
  while (r.pos < end) {
    const key = r.key(end);
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (field === 1) {
      expect(wire, LEN, "KeyValueList", field, "values");
      const stop = r.lengthEnd(end);
      if (out.length < MAX_ITEMS) out.push(readKeyValue(r, stop, depth + 1));
      else r.cutValues++;
      r.pos = stop;
    } else {
      r.skip(wire, end, field, "KeyValueList");
    }
  }
  return out;
}

function readKeyValue(r: RequestReader, end: number, depth: number): OtlpAttribute {
  let k = "";
  let value: OtlpValue = null;
  while (r.pos < end) {
    const key = r.key(end);
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (field === 1) {
      expect(wire, LEN, "KeyValue", field, "key");
      k = interner.get(r.string(end));
    } else if (field === 2) {
      expect(wire, LEN, "KeyValue", field, "value");
      const stop = r.lengthEnd(end);
      value = readAnyValue(r, stop, depth);
      r.pos = stop;
    } else {
      if (field === 3) r.problems.add("a key used key_strindex (profiles only): ignored");
      r.skip(wire, end, field, "KeyValue");
    }
  }
  return [k, value];
}

/** Reads one attribute into `list` unless it is full; returns 1 when it was dropped. */
export function attribute(r: RequestReader, end: number, list: OtlpAttribute[]): number {
  const stop = r.lengthEnd(end);
  if (list.length >= MAX_ITEMS) {
    r.pos = stop;
    return 1;
  }
  list.push(readKeyValue(r, stop, 1));
  r.pos = stop;
  return 0;
}

export function readResource(r: RequestReader, end: number): OtlpResource {
  const attributes: OtlpAttribute[] = [];
  let dropped = 0;
  while (r.pos < end) {
    const key = r.key(end);
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (field === 1) {
      expect(wire, LEN, "Resource", field, "attributes");
      dropped += attribute(r, end, attributes);
    } else if (field === 2) {
      expect(wire, VARINT, "Resource", field, "dropped_attributes_count");
      dropped += r.varint(end) >>> 0;
    } else {
      r.skip(wire, end, field, "Resource");
    }
  }
  return { attributes, droppedAttributesCount: dropped, schemaUrl: "" };
}

export function readScope(r: RequestReader, end: number): Omit<OtlpScope, "schemaUrl"> {
  let name = "";
  let version = "";
  const attributes: OtlpAttribute[] = [];
  let dropped = 0;
  while (r.pos < end) {
    const key = r.key(end);
    const field = Math.floor(key / 8);
    const wire = key % 8;
    switch (field) {
      case 1:
        expect(wire, LEN, "InstrumentationScope", field, "name");
        name = interner.get(r.string(end));
        break;
      case 2:
        expect(wire, LEN, "InstrumentationScope", field, "version");
        version = interner.get(r.string(end));
        break;
      case 3:
        expect(wire, LEN, "InstrumentationScope", field, "attributes");
        dropped += attribute(r, end, attributes);
        break;
      case 4:
        expect(wire, VARINT, "InstrumentationScope", field, "dropped_attributes_count");
        dropped += r.varint(end) >>> 0;
        break;
      default:
        r.skip(wire, end, field, "InstrumentationScope");
    }
  }
  return { name, version, attributes, droppedAttributesCount: dropped };
}
