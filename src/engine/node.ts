// Node-side loading: the compiled kernels from build/ and model packs from a directory.
import { readFileSync } from "node:fs";
import { open, readFile } from "node:fs/promises";
import { join } from "node:path";
import { TrmError } from "../errors.ts";
import { MANIFEST_FILE, type ModelPack, loadPack } from "./pack.ts";
import { type RangeReader, type TaskIndex, loadTaskIndex } from "./puzzle-table.ts";

let kernelModule: WebAssembly.Module | null = null;

/** The kernels compiled by `npm run build` (cached per process). */
export function nodeKernelModule(): WebAssembly.Module {
  if (!kernelModule) {
    const path = new URL("../../build/kernels.wasm", import.meta.url);
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch {
      throw new TrmError("kernels_missing", `${path.pathname} is missing: run \`npm run build\` first`, 500);
    }
    kernelModule = new WebAssembly.Module(new Uint8Array(bytes));
  }
  return kernelModule;
}

/** Reads model.json and its safetensors file from a pack directory, verified. */
export async function readPackDir(dir: string): Promise<ModelPack> {
  let manifestText: string;
  try {
    manifestText = await readFile(join(dir, MANIFEST_FILE), "utf8");
  } catch {
    throw new TrmError("model_not_found", `no ${MANIFEST_FILE} in ${dir}`, 404);
  }
  let manifest: { weights?: { file?: unknown } };
  try {
    manifest = JSON.parse(manifestText);
  } catch (e) {
    throw new TrmError("bad_pack", `${join(dir, MANIFEST_FILE)} is not valid JSON: ${(e as Error).message}`);
  }
  const file = manifest?.weights?.file;
  if (typeof file !== "string" || file.includes("/") || file.includes("\\")) {
    throw new TrmError("bad_pack", `${MANIFEST_FILE} weights.file must be a file name in the pack directory`);
  }
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(join(dir, file)));
  } catch {
    throw new TrmError("bad_pack", `weights file ${join(dir, file)} is missing`);
  }
  return loadPack(manifest, bytes);
}

/** Range reads of the files of a pack directory (what R2 range reads are to the Worker). */
export function packRangeReader(dir: string): RangeReader {
  return async (file, offset, length) => {
    let handle;
    try {
      handle = await open(join(dir, file), "r");
    } catch {
      return null;
    }
    try {
      const out = new Uint8Array(length);
      const { bytesRead } = await handle.read(out, 0, length, offset);
      return out.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  };
}

/** The task index of a pack whose puzzle table is its own object (ARC). */
export async function readPackTaskIndex(dir: string, pack: ModelPack): Promise<TaskIndex> {
  const table = pack.manifest.puzzle_table;
  if (!table) throw new TrmError("bad_pack", `${dir} has no puzzle table and task index (convert it with --identifiers)`);
  let bytes: Uint8Array | null = null;
  try {
    bytes = new Uint8Array(await readFile(join(dir, table.index_file)));
  } catch {
    // loadTaskIndex names the missing file
  }
  return loadTaskIndex(bytes, table);
}
