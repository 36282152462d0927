// Packs the Worker tests serve from the local R2 bucket: the two shipped
// parity packs (the sudoku one also as a tokens model) and a 5x5 maze pack
// converted from an official-code fixture.
import { env } from "cloudflare:test";
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
};

export async function putPack(name: string, manifest: unknown, weights: ArrayBuffer | Uint8Array): Promise<void> {
  await env.MODELS.put(`models/${name}/model.json`, JSON.stringify(manifest));
  await env.MODELS.put(`models/${name}/model.safetensors`, weights);
}

export async function seedPacks(): Promise<void> {
  for (const [name, p] of Object.entries(PACKS)) await putPack(name, p.manifest, p.weights);
}

// The ARC reference pack: trunk, puzzle table, identifiers and task index, as separate objects.
import arcWeights from "../../weights/arc-parity/model.safetensors";
import arcManifest from "../../weights/arc-parity/model.json";
import arcTable from "../../weights/arc-parity/puzzle_emb.bin";
import arcIdentifiers from "../../weights/arc-parity/identifiers.txt?raw";
import arcIndex from "../../weights/arc-parity/tasks.json?raw";

export const ARC_PACK = "arc-parity";

export async function seedArcPack(name = ARC_PACK, overrides: Record<string, Uint8Array | string> = {}): Promise<void> {
  await putPack(name, arcManifest, arcWeights);
  const objects: Record<string, Uint8Array | ArrayBuffer | string> = { "puzzle_emb.bin": arcTable, "identifiers.txt": arcIdentifiers, "tasks.json": arcIndex, ...overrides };
  for (const [file, body] of Object.entries(objects)) await env.MODELS.put(`models/${name}/${file}`, body);
}

export { arcManifest, arcTable };
