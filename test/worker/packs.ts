// Packs the Worker tests serve from the local R2 bucket: the shipped TRM and
// HRM parity packs (the sudoku one also as a tokens model) and a 5x5 maze pack
// converted from an official-code fixture.
import { env } from "cloudflare:test";
import { type PackManifest, sha256Hex } from "../../src/engine/pack.ts";
import { encodeSafetensors, parseSafetensors, toBFloat16, toFloat32 } from "../../src/engine/safetensors.ts";
import hrmWeights from "../../weights/hrm-parity/model.safetensors";
import hrmManifest from "../../weights/hrm-parity/model.json";
import sudokuWeights from "../../weights/sudoku-parity/model.safetensors";
import sudokuManifest from "../../weights/sudoku-parity/model.json";
import tokensWeights from "../../weights/tokens-parity/model.safetensors";
import tokensManifest from "../../weights/tokens-parity/model.json";
import mazeWeights from "../fixtures/packs/maze-5x5/model.safetensors";
import mazeManifest from "../fixtures/packs/maze-5x5/model.json";

export const PACKS = {
  "sudoku-parity": { manifest: sudokuManifest, weights: sudokuWeights },
  // The same weights as a tokens model, for the golden inputs (random tokens, not valid sudokus).
  "sudoku-parity-tokens": { manifest: { ...sudokuManifest, task: "tokens" }, weights: sudokuWeights },
  "tokens-parity": { manifest: tokensManifest, weights: tokensWeights },
  "maze-5x5": { manifest: mazeManifest, weights: mazeWeights },
  "hrm-parity": { manifest: hrmManifest, weights: hrmWeights },
};

/**
 * A pack's weights rounded to bf16, as `trm convert --dtype bf16` stores them,
 * and the same bf16 values stored as f32: the first runs bf16-resident, the
 * second on the f32 kernels, and their answers must agree.
 */
export async function bf16Packs(manifest: unknown, weights: ArrayBuffer): Promise<{ bf16: [PackManifest, Uint8Array]; widened: [PackManifest, Uint8Array] }> {
  const { tensors } = parseSafetensors(new Uint8Array(weights));
  const half = encodeSafetensors([...tensors].map(([n, t]) => [n, { dtype: "BF16", shape: t.shape, data: toBFloat16(toFloat32(t)) }]));
  const widened = encodeSafetensors([...parseSafetensors(half).tensors].map(([n, t]) => [n, { dtype: "F32", shape: t.shape, data: new Uint8Array(toFloat32(t).buffer) }]));
  const as = async (dtype: "bf16" | "f32", bytes: Uint8Array): Promise<[PackManifest, Uint8Array]> => {
    const m = manifest as PackManifest;
    return [{ ...m, weights: { ...m.weights, dtype, bytes: bytes.byteLength, sha256: await sha256Hex(bytes) } }, bytes];
  };
  return { bf16: await as("bf16", half), widened: await as("f32", widened) };
}

export async function putPack(name: string, manifest: unknown, weights: ArrayBuffer | Uint8Array): Promise<void> {
  await env.MODELS.put(`models/${name}/model.json`, JSON.stringify(manifest));
  await env.MODELS.put(`models/${name}/model.safetensors`, weights);
}

export async function seedPacks(): Promise<void> {
  for (const [name, p] of Object.entries(PACKS)) await putPack(name, p.manifest, p.weights);
}

// The ARC reference pack: trunk, puzzle table, identifiers, task index and puzzles file, as separate objects.
import arcWeights from "../../weights/arc-parity/model.safetensors";
import arcManifest from "../../weights/arc-parity/model.json";
import arcTable from "../../weights/arc-parity/puzzle_emb.bin";
import arcIdentifiers from "../../weights/arc-parity/identifiers.txt?raw";
import arcIndex from "../../weights/arc-parity/tasks.json?raw";
import arcPuzzles from "../../weights/arc-parity/test_puzzles.json?raw";

export const ARC_PACK = "arc-parity";

export async function seedArcPack(name = ARC_PACK, overrides: Record<string, Uint8Array | string> = {}): Promise<void> {
  await putPack(name, arcManifest, arcWeights);
  const objects: Record<string, Uint8Array | ArrayBuffer | string> = { "puzzle_emb.bin": arcTable, "identifiers.txt": arcIdentifiers, "tasks.json": arcIndex, "test_puzzles.json": arcPuzzles, ...overrides };
  for (const [file, body] of Object.entries(objects)) await env.MODELS.put(`models/${name}/${file}`, body);
}

export { arcManifest, arcTable };
