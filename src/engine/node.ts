// Node-side loading: the compiled kernels from build/ and model packs from a directory.
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { TrmError } from "../errors.ts";
import { MANIFEST_FILE, type ModelPack, loadPack } from "./pack.ts";

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
