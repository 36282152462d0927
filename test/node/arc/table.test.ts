// The puzzle table and task index: a task's rows may be scattered (a
// non-contiguous index), and reading them back must give exactly its rows
// and identifiers, in row order, verified; a flipped byte is refused.
import { describe, expect, it } from "vitest";
import { type PuzzleTableManifest, type RangeReader, TaskRowCache, parseTaskIndex, readTaskRows, sha256Hex } from "../../../src/engine/puzzle-table.ts";
import { writePuzzleTable } from "../../../src/convert/puzzle-table.ts";

const DIM = 3;
const identifiers = ["<blank>", "aaaa", "aaaa|||t1|||0213456789", "bbbb", "bbbb|||t7|||0987654321", "aaaa|||t4|||0123456798"];
const values = Float32Array.from({ length: identifiers.length * DIM }, (_, i) => i / 7);

async function build(dtype: "f32" | "bf16") {
  const chunks: Uint8Array[] = [];
  const written = writePuzzleTable((per, on) => {
    for (let r = 0; r < identifiers.length; r += per) on(r, values.subarray(r * DIM, Math.min(identifiers.length, r + per) * DIM));
  }, identifiers, DIM, dtype, (b) => chunks.push(b.slice()));
  const table = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  chunks.reduce((at, c) => (table.set(c, at), at + c.length), 0);
  const indexBytes = new TextEncoder().encode(JSON.stringify(written.index));
  const manifest: PuzzleTableManifest = { file: "t.bin", dtype, rows: identifiers.length, dim: DIM, bytes: table.length, identifiers_file: "ids.txt", index_file: "tasks.json", index_sha256: await sha256Hex(indexBytes), tasks: written.tasks };
  const files: Record<string, Uint8Array> = { "t.bin": table, "ids.txt": written.identifiersText };
  const reads: [string, number, number][] = [];
  const read: RangeReader = async (file, offset, length) => {
    reads.push([file, offset, length]);
    return files[file]?.slice(offset, offset + length) ?? null;
  };
  return { written, manifest, files, read, reads, index: parseTaskIndex(written.index, manifest) };
}

describe("puzzle table and task index", () => {
  it("lays out a non-contiguous task as several ranges and reads exactly its rows back", async () => {
    const { written, manifest, read, reads, index } = await build("f32");
    expect(written.tasks).toBe(2);
    expect(written.contiguous).toBe(1);
    expect(index.tasks.aaaa.rows).toEqual([[1, 3], [5, 6]]);
    expect(index.tasks.bbbb.rows).toEqual([[3, 5]]);
    const rows = await readTaskRows(read, manifest, "aaaa", index.tasks.aaaa);
    expect(rows.names).toEqual(["aaaa", "aaaa|||t1|||0213456789", "aaaa|||t4|||0123456798"]);
    expect(rows.ids).toEqual([1, 2, 5]);
    expect(Array.from(rows.rows)).toEqual(Array.from([1, 2, 5].flatMap((r) => Array.from(values.subarray(r * DIM, (r + 1) * DIM)))));
    // one read per range of the table and of the identifiers, nothing else
    expect(reads.map(([f, o, l]) => `${f}@${o}+${l}`).sort()).toEqual(["ids.txt@8+28", "ids.txt@64+23", "t.bin@12+24", "t.bin@60+12"].sort());
  });

  it("stores bf16 rows rounded to nearest even and widens them back", async () => {
    const { manifest, read, index } = await build("bf16");
    const rows = await readTaskRows(read, manifest, "bbbb", index.tasks.bbbb);
    const expected = Array.from(values.subarray(3 * DIM, 5 * DIM), (v) => {
      const b = new Uint32Array(Float32Array.of(v).buffer)[0];
      return new Float32Array(Uint32Array.of(((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) << 16).buffer)[0];
    });
    expect(Array.from(rows.rows)).toEqual(expected);
  });

  it("refuses a corrupt row, a corrupt identifier and a short read with 503", async () => {
    for (const [file, at] of [["t.bin", 13], ["ids.txt", 15]] as const) {
      const b = await build("f32");
      b.files[file][at] ^= 1;
      await expect(readTaskRows(b.read, b.manifest, "aaaa", b.index.tasks.aaaa)).rejects.toMatchObject({ code: "rows_unavailable", status: 503 });
    }
    const b = await build("f32");
    b.files["t.bin"] = b.files["t.bin"].slice(0, 40);
    await expect(readTaskRows(b.read, b.manifest, "aaaa", b.index.tasks.aaaa)).rejects.toThrow(/returned 0 bytes, expected 12/);
  });

  it("keeps the cache within its byte bound, most recently used last", async () => {
    const { manifest, read, index } = await build("f32");
    const cache = new TaskRowCache(3 * DIM * 4); // room for task aaaa's 3 rows only
    let loads = 0;
    const get = (task: string) => cache.get(task, () => (loads++, readTaskRows(read, manifest, task, index.tasks[task])));
    await get("aaaa");
    await get("aaaa");
    expect(loads).toBe(1);
    await get("bbbb"); // evicts aaaa
    await get("aaaa");
    expect(loads).toBe(3);
  });
});
