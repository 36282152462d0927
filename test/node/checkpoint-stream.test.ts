// The streaming side of the checkpoint reader: ByteSource over memory and
// over a file, deferred tensors read row chunk by row chunk, and the promise
// that a deferred table is never read before streamRows (and then once).
import { copyFileSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type ByteSource, memorySource, openFileSource } from "../../src/convert/byte-source.ts";
import type { DeferredTensor } from "../../src/convert/deferred.ts";
import { readTorchCheckpoint } from "../../src/convert/torch-checkpoint.ts";
import { readZipDirectory } from "../../src/convert/zip.ts";
import { readSafetensors } from "../../src/convert/safetensors-source.ts";
import { type RawTensor, encodeSafetensors, float32Bytes, parseSafetensors, toBFloat16, toFloat32 } from "../../src/engine/safetensors.ts";
import { TrmError } from "../../src/errors.ts";

const GOLDEN = "/work/shared/golden/att_rope/checkpoint.pt";
const FIXTURES = new URL("../fixtures/checkpoints/", import.meta.url);
const TABLE = "_orig_mod.model.inner.puzzle_emb.weights";
const scratch = mkdtempSync(join(tmpdir(), "trm-stream-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(name, FIXTURES)));
}

function expectTrmError(action: () => unknown, code: string, message: string | RegExp): void {
  let caught: unknown;
  try {
    action();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(TrmError);
  expect((caught as TrmError).code).toBe(code);
  if (typeof message === "string") expect((caught as TrmError).message).toContain(message);
  else expect((caught as TrmError).message).toMatch(message);
}

/** All chunks of a deferred tensor, checking that they arrive in order and tile the rows. */
function streamAll(tensor: DeferredTensor, rowsPerChunk: number): { values: number[]; firstRows: number[] } {
  const rows = tensor.shape[0]!;
  const rowSize = tensor.shape.slice(1).reduce((a, b) => a * b, 1);
  const values: number[] = [];
  const firstRows: number[] = [];
  tensor.streamRows(rowsPerChunk, (firstRow, chunk) => {
    expect(firstRow).toBe(values.length / rowSize);
    expect(chunk.length).toBe(Math.min(rowsPerChunk, rows - firstRow) * rowSize);
    firstRows.push(firstRow);
    values.push(...chunk);
  });
  expect(values.length).toBe(rows * rowSize);
  return { values, firstRows };
}

/** A ByteSource that records every read of the one it wraps. */
function recorded(inner: ByteSource): { source: ByteSource; reads: [offset: number, length: number][] } {
  const reads: [number, number][] = [];
  return {
    reads,
    source: {
      size: inner.size,
      read(offset, length) {
        reads.push([offset, length]);
        return inner.read(offset, length);
      },
    },
  };
}

/** File offset of a stored entry's data, from its local header. */
function dataOffset(bytes: Uint8Array, entryName: string): { start: number; size: number } {
  const entry = readZipDirectory(memorySource(bytes)).find((e) => e.name === entryName)!;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const start = entry.localHeaderOffset + 30 + dv.getUint16(entry.localHeaderOffset + 26, true) + dv.getUint16(entry.localHeaderOffset + 28, true);
  return { start, size: entry.uncompressedSize };
}

describe("ByteSource", () => {
  it("reads the same bytes from memory and from a file, and refuses reads outside the source", () => {
    const bytes = new Uint8Array(readFileSync(GOLDEN));
    const file = openFileSource(GOLDEN);
    try {
      const memory = memorySource(bytes);
      expect(file.size).toBe(bytes.length);
      for (const [offset, length] of [[0, 0], [0, 1], [12345, 777], [bytes.length - 5, 5]] as const) {
        expect(file.read(offset, length)).toEqual(memory.read(offset, length));
      }
      for (const source of [memory, file]) {
        expect(() => source.read(bytes.length - 4, 5)).toThrow(RangeError);
        expect(() => source.read(-1, 2)).toThrow(RangeError);
      }
    } finally {
      file.close();
    }
    expect(() => file.read(0, 1)).toThrow(/after close/);
  });

  it("names the file when it shrinks after it was opened", () => {
    const path = join(scratch, "shrinks.pt");
    copyFileSync(GOLDEN, path);
    const file = openFileSource(path);
    try {
      truncateSync(path, 1000);
      expectTrmError(() => file.read(900, 200), "bad_checkpoint", `${path} ended at byte 1000 while reading 200 bytes at offset 900`);
    } finally {
      file.close();
    }
  });
});

describe("deferred tensors", () => {
  it("stream every golden tensor with the values of the eager read, at any chunk size, from memory and from a file", () => {
    const eager = readTorchCheckpoint(memorySource(new Uint8Array(readFileSync(GOLDEN)))).tensors;
    const file = openFileSource(GOLDEN);
    try {
      const { tensors, deferred } = readTorchCheckpoint(file, { defer: () => true });
      expect(tensors.size).toBe(0);
      expect([...deferred.keys()]).toEqual([...eager.keys()]);
      for (const [key, tensor] of deferred) {
        const expected = eager.get(key)!;
        expect(tensor.dtype).toBe(expected.dtype);
        expect(tensor.shape).toEqual(expected.shape);
        const rows = tensor.shape[0]!;
        for (const chunk of [1, 3, rows, rows + 5]) expect(streamAll(tensor, chunk).values).toEqual([...toFloat32(expected)]);
      }
    } finally {
      file.close();
    }
  });

  it("stream a table inside a larger storage, bf16 and f64 tables, as float32", () => {
    const bytes = fixture("stream_rows.pt");
    const eager = readTorchCheckpoint(memorySource(bytes)).tensors;
    const { tensors, deferred } = readTorchCheckpoint(memorySource(bytes), { defer: (key) => key !== "double_rows" });
    expect([...tensors.keys()]).toEqual(["double_rows"]);
    expect(deferred.get("bf16_cube")).toMatchObject({ dtype: "BF16", shape: [4, 2, 3] });

    const table = streamAll(deferred.get("table")!, 3);
    expect(table.firstRows).toEqual([0, 3, 6]);
    expect(table.values).toEqual(Array.from({ length: 35 }, (_, i) => (i + 3) * 0.5 - 4));
    expect(streamAll(deferred.get("bf16_cube")!, 3).values).toEqual(Array.from({ length: 24 }, (_, i) => i - 11.5));

    const double = readTorchCheckpoint(memorySource(bytes), { defer: (key) => key === "double_rows" }).deferred.get("double_rows")!;
    expect(double.dtype).toBe("F32");
    expect(streamAll(double, 2).values).toEqual([...toFloat32(eager.get("double_rows")!)]);
    expect(streamAll(double, 2).values).toEqual([1.5, -2.25, Math.fround(0.001), Math.fround(1e-30), 3, -7]);
  });

  it("are not read until streamed, and then each byte of the storage once, a chunk at a time", () => {
    const bytes = new Uint8Array(readFileSync(GOLDEN));
    const { start, size } = dataOffset(bytes, "checkpoint/data/6"); // puzzle_emb.weights, [10, 64] float32
    const { source, reads } = recorded(memorySource(bytes));
    const { deferred } = readTorchCheckpoint(source, { defer: (key) => key === TABLE });
    const touches = (offset: number, length: number) => offset < start + size && offset + length > start;
    expect(reads.filter(([offset, length]) => touches(offset, length))).toEqual([]);

    reads.length = 0;
    streamAll(deferred.get(TABLE)!, 4);
    const rowBytes = 64 * 4;
    const tableReads = reads.filter(([offset, length]) => length > 64 && touches(offset, length)); // not the local header
    expect(tableReads).toEqual([[start, 4 * rowBytes], [start + 4 * rowBytes, 4 * rowBytes], [start + 8 * rowBytes, 2 * rowBytes]]);
  });

  it("check the CRC32 over the whole storage after the last chunk, including elements outside the tensor", () => {
    const golden = new Uint8Array(readFileSync(GOLDEN));
    const { start } = dataOffset(golden, "checkpoint/data/6");
    const corrupt = golden.slice();
    corrupt[start + 1000]! ^= 0x10;
    const { deferred } = readTorchCheckpoint(memorySource(corrupt), { defer: (key) => key === TABLE }); // not read yet: no error
    const seen: number[] = [];
    expectTrmError(
      () => deferred.get(TABLE)!.streamRows(3, (first) => seen.push(first)),
      "bad_zip",
      /entry "checkpoint\/data\/6" is corrupt: CRC32 is 0x[0-9a-f]{8}, expected 0x[0-9a-f]{8}/,
    );
    expect(seen).toEqual([0, 3, 6, 9]);

    const padded = fixture("stream_rows.pt");
    for (const element of [1, 3 + 35 + 1]) { // before and after the (7, 5) table in its storage
      const bytes = padded.slice();
      bytes[dataOffset(bytes, "stream/data/0").start + element * 4]! ^= 0x01;
      const table = readTorchCheckpoint(memorySource(bytes), { defer: (key) => key === "table" }).deferred.get("table")!;
      expectTrmError(() => table.streamRows(2, () => {}), "bad_zip", 'entry "stream/data/0" is corrupt');
    }
  });

  it("refuse what cannot be streamed, naming the tensor or entry", () => {
    const step7 = memorySource(fixture("zip64_step7.pt"));
    expectTrmError(() => readTorchCheckpoint(step7, { defer: (key) => key === "grid_t" }), "bad_checkpoint", 'state dict entry "grid_t" (shape [4, 3], stride [1, 4]) is not C-contiguous');
    expectTrmError(() => readTorchCheckpoint(step7, { defer: (key) => key === "window" }), "bad_checkpoint", 'state dict entry "window" (shape [2, 2], stride [4, 1]) is not C-contiguous');
    expectTrmError(() => readTorchCheckpoint(step7, { defer: (key) => key === "scalar" }), "bad_checkpoint", 'state dict entry "scalar" is a scalar');
    expectTrmError(() => readTorchCheckpoint(memorySource(fixture("protocol4_deflate.pt")), { defer: (key) => key === "weight" }), "bad_zip", 'entry "archive/data/0" is deflate-compressed, so it cannot be read in pieces');
    expectTrmError(
      () => readTorchCheckpoint(memorySource(fixture("storage_size_mismatch.pt")), { defer: () => true }),
      "bad_checkpoint",
      'storage "bad/data/0" is 12 bytes, expected 16 (4 × 4-byte float32)',
    );
    const grid = readTorchCheckpoint(step7, { defer: (key) => key === "grid" }).deferred.get("grid")!;
    expect(() => grid.streamRows(0, () => {})).toThrow(RangeError);
  });

  it("only ever stream or throw TrmError from a damaged checkpoint", () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const golden = new Uint8Array(readFileSync(GOLDEN));
    const outcomes: Record<string, number> = {};
    for (let run = 0; run < 150; run++) {
      const bytes = random() < 0.2 ? golden.slice(0, Math.floor(random() * golden.length)) : golden.slice();
      for (let flip = 0; flip < 3; flip++) bytes[Math.floor(random() * bytes.length)]! ^= 1 + Math.floor(random() * 255);
      let outcome = "ok";
      try {
        for (const tensor of readTorchCheckpoint(memorySource(bytes), { defer: () => true }).deferred.values()) tensor.streamRows(5, () => {});
      } catch (error) {
        if (!(error instanceof TrmError)) throw new Error(`run ${run} threw a non-TrmError: ${String(error)}`);
        outcome = error.code;
      }
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    }
    expect(outcomes.bad_zip).toBeGreaterThan(0);
  });
});

describe("safetensors over a ByteSource", () => {
  const table = Float32Array.from({ length: 7 * 5 }, (_, i) => i * 0.25 - 3);
  const cube = Float32Array.from({ length: 24 }, (_, i) => i - 11.5);
  const half: RawTensor = { dtype: "F16", shape: [3], data: Uint8Array.of(0x00, 0x3c, 0x00, 0xb8, 0x00, 0x68) }; // 1, -0.5, 2048
  const file = encodeSafetensors([
    ["small", { dtype: "F32", shape: [2], data: float32Bytes(Float32Array.of(1, 2)) }],
    ["table", { dtype: "F32", shape: [7, 5], data: float32Bytes(table) }],
    ["cube", { dtype: "BF16", shape: [4, 2, 3], data: toBFloat16(cube) }],
    ["half", half],
  ], { note: "x" });

  it("reads the small tensors as parseSafetensors does and streams the deferred ones from a file", () => {
    const path = join(scratch, "model.safetensors");
    writeFileSync(path, file);
    const source = openFileSource(path);
    try {
      const { tensors, deferred, metadata } = readSafetensors(source, { defer: (name) => name !== "small" });
      const parsed = parseSafetensors(file);
      expect(metadata).toEqual(parsed.metadata);
      expect([...tensors.keys()]).toEqual(["small"]);
      expect(tensors.get("small")).toEqual(parsed.tensors.get("small"));
      expect([...deferred.keys()]).toEqual(["table", "cube", "half"]);
      expect(deferred.get("cube")).toMatchObject({ dtype: "BF16", shape: [4, 2, 3] });
      const t = streamAll(deferred.get("table")!, 3);
      expect(t.firstRows).toEqual([0, 3, 6]);
      expect(t.values).toEqual([...table]);
      expect(streamAll(deferred.get("cube")!, 3).values).toEqual([...cube]);
      expect(streamAll(deferred.get("half")!, 2).values).toEqual([1, -0.5, 2048]);
    } finally {
      source.close();
    }
  });

  it("reads no byte of a deferred tensor before it is streamed, and checks the header as parseSafetensors does", () => {
    const { source, reads } = recorded(memorySource(file));
    const { dataStart, spans } = parseSafetensorsSpans(file);
    const { deferred } = readSafetensors(source, { defer: (name) => name === "table" });
    const { begin, end } = spans.get("table")!;
    expect(reads.filter(([offset, length]) => offset < dataStart + end && offset + length > dataStart + begin)).toEqual([]);
    reads.length = 0;
    deferred.get("table")!.streamRows(4, () => {});
    expect(reads).toEqual([[dataStart + begin, 4 * 20], [dataStart + begin + 80, 3 * 20]]);

    for (const cut of [5, file.length - 2]) {
      let expected = "";
      try {
        parseSafetensors(file.subarray(0, cut));
      } catch (error) {
        expected = (error as Error).message;
      }
      expect(expected).not.toBe("");
      expectTrmError(() => readSafetensors(memorySource(file.subarray(0, cut)), { defer: () => true }), "bad_safetensors", expected);
    }
  });
});

function parseSafetensorsSpans(file: Uint8Array) {
  const dataStart = 8 + Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(file.subarray(8, dataStart))) as Record<string, { data_offsets: [number, number] }>;
  const spans = new Map(Object.entries(header).filter(([name]) => name !== "__metadata__").map(([name, e]) => [name, { begin: e.data_offsets[0], end: e.data_offsets[1] }]));
  return { dataStart, spans };
}
