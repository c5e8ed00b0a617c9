/**
 * @module pipeline/arrow-ipc — Arrow columns (pipeline/arrow-buffers) framed as an Arrow IPC stream:
 * one Schema message, one RecordBatch message, end-of-stream. This is what parquet-wasm reads
 * (`Table.fromIPCStream`), written with the `flatbuffers` library that apache-arrow uses itself, so the
 * encoder worker does not load apache-arrow: that library cost the process ~11 MB of resident memory
 * for one function (`tableToIPC`) of it (bench/memory.ts ladder; README "Performance").
 *
 * Format (https://arrow.apache.org/docs/format/Columnar.html#serialization-and-interprocess-communication-ipc):
 * each message is 0xFFFFFFFF, an int32 metadata length, a flatbuffer `Message` padded to 8 bytes, then
 * the body. Table layouts and slot numbers: format/Message.fbs and format/Schema.fbs of apache/arrow
 * (https://github.com/apache/arrow/tree/main/format). Only the five column types of schema v1.
 */
import { Builder } from "flatbuffers";
import type { ArrowColumn } from "./arrow-buffers.ts";

/** Message.fbs / Schema.fbs enum values. */
const METADATA_V5 = 4;
const HEADER_SCHEMA = 1;
const HEADER_RECORD_BATCH = 3;
const TYPE_INT = 2;
const TYPE_FLOATING_POINT = 3;
const TYPE_UTF8 = 5;
const TYPE_BOOL = 6;
const TYPE_LIST = 12;
const PRECISION_DOUBLE = 2;
const CONTINUATION = 0xffffffff;

const pad8 = (n: number) => (n + 7) & ~7;

function emptyTable(b: Builder): number {
  b.startObject(0);
  return b.endObject();
}

/** The `Type` union member of a field: [type id, table offset]. */
function typeOf(b: Builder, t: "int64" | "float64" | "utf8" | "bool" | "list"): [number, number] {
  switch (t) {
    case "int64":
      b.startObject(2);
      b.addFieldInt32(0, 64, 0); // bitWidth
      b.addFieldInt8(1, 1, 0); // is_signed
      return [TYPE_INT, b.endObject()];
    case "float64":
      b.startObject(1);
      b.addFieldInt16(0, PRECISION_DOUBLE, 0);
      return [TYPE_FLOATING_POINT, b.endObject()];
    case "utf8":
      return [TYPE_UTF8, emptyTable(b)];
    case "bool":
      return [TYPE_BOOL, emptyTable(b)];
    case "list":
      return [TYPE_LIST, emptyTable(b)];
  }
}

function offsetVector(b: Builder, offsets: number[]): number {
  b.startVector(4, offsets.length, 4);
  for (let i = offsets.length - 1; i >= 0; i--) b.addOffset(offsets[i]!);
  return b.endVector();
}

/** Field { name, nullable, type_type, type, dictionary, children } (Schema.fbs). */
function field(b: Builder, name: string, nullable: boolean, type: Parameters<typeof typeOf>[1], children: number[]): number {
  const nameOff = b.createString(name);
  const [typeId, typeOff] = typeOf(b, type);
  const childrenOff = offsetVector(b, children);
  b.startObject(7);
  b.addFieldOffset(0, nameOff, 0);
  b.addFieldInt8(1, nullable ? 1 : 0, 0);
  b.addFieldInt8(2, typeId, 0);
  b.addFieldOffset(3, typeOff, 0);
  b.addFieldOffset(5, childrenOff, 0);
  return b.endObject();
}

function columnField(b: Builder, c: ArrowColumn): number {
  if (c.type === "list_f64") return field(b, c.name, c.nullable, "list", [field(b, "element", false, "float64", [])]);
  return field(b, c.name, c.nullable, c.type, []);
}

/** Message { version, header_type, header, bodyLength }, finished: the flatbuffer's bytes. */
function message(b: Builder, headerType: number, header: number, bodyLength: number): Uint8Array {
  b.startObject(5);
  b.addFieldInt16(0, METADATA_V5, 0);
  b.addFieldInt8(1, headerType, 0);
  b.addFieldOffset(2, header, 0);
  b.addFieldInt64(3, BigInt(bodyLength), 0n);
  b.finish(b.endObject());
  return b.asUint8Array();
}

function schemaMessage(columns: ArrowColumn[]): Uint8Array {
  const b = new Builder(1024);
  const fields = offsetVector(
    b,
    columns.map((c) => columnField(b, c)),
  );
  b.startObject(4);
  b.addFieldOffset(1, fields, 0); // endianness (slot 0) defaults to Little
  return message(b, HEADER_SCHEMA, b.endObject(), 0);
}

/** A vector of 16-byte structs of two int64s (FieldNode {length, null_count}, Buffer {offset, length}). */
function pairVector(b: Builder, pairs: [number, number][]): number {
  b.startVector(16, pairs.length, 8);
  for (let i = pairs.length - 1; i >= 0; i--) {
    b.prep(8, 16);
    b.writeInt64(BigInt(pairs[i]![1])); // written back to front: the second field first
    b.writeInt64(BigInt(pairs[i]![0]));
  }
  return b.endVector();
}

/** The body's buffers in Arrow's order: for each field depth-first, validity then offsets then values. */
function bodyParts(columns: ArrowColumn[]): { nodes: [number, number][]; parts: Uint8Array[] } {
  const nodes: [number, number][] = [];
  const parts: Uint8Array[] = [];
  const bytes = (v: ArrayBufferView) => new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  const none = new Uint8Array(0);
  for (const c of columns) {
    nodes.push([c.length, c.nullCount]);
    parts.push(c.validity ?? none);
    if (c.offsets) parts.push(bytes(c.offsets));
    if (c.type === "list_f64") {
      nodes.push([c.values.length, 0]); // the element child: no nulls
      parts.push(none);
    }
    parts.push(bytes(c.values));
  }
  return { nodes, parts };
}

function recordBatchMessage(length: number, nodes: [number, number][], buffers: [number, number][], bodyLength: number): Uint8Array {
  const b = new Builder(1024);
  const nodesOff = pairVector(b, nodes);
  const buffersOff = pairVector(b, buffers);
  b.startObject(5);
  b.addFieldInt64(0, BigInt(length), 0n);
  b.addFieldOffset(1, nodesOff, 0);
  b.addFieldOffset(2, buffersOff, 0);
  return message(b, HEADER_RECORD_BATCH, b.endObject(), bodyLength);
}

/** The IPC stream of one record batch of `length` rows: one buffer, the columns' bytes copied into it once. */
export function ipcStream(columns: ArrowColumn[], length: number): Uint8Array {
  const { nodes, parts } = bodyParts(columns);
  const buffers: [number, number][] = [];
  let bodyLength = 0;
  for (const p of parts) {
    buffers.push([bodyLength, p.byteLength]);
    bodyLength += pad8(p.byteLength);
  }
  const schema = schemaMessage(columns);
  const batch = recordBatchMessage(length, nodes, buffers, bodyLength);
  const schemaLen = pad8(schema.length);
  const batchLen = pad8(batch.length);
  const out = new Uint8Array(8 + schemaLen + 8 + batchLen + bodyLength + 8);
  const view = new DataView(out.buffer);
  let pos = 0;
  const header = (meta: Uint8Array, padded: number) => {
    view.setUint32(pos, CONTINUATION, true);
    view.setInt32(pos + 4, padded, true);
    out.set(meta, pos + 8);
    pos += 8 + padded;
  };
  header(schema, schemaLen);
  header(batch, batchLen);
  for (let i = 0; i < parts.length; i++) out.set(parts[i]!, pos + buffers[i]![0]);
  pos += bodyLength;
  view.setUint32(pos, CONTINUATION, true); // end of stream: continuation, then a zero length (already 0)
  return out;
}
