// Every pack in weights/ into an R2 bucket as the Worker reads them:
// models/<name>/model.json, its weights and, for an ARC pack, its puzzle table,
// identifiers, task index and puzzles file (objects of their own, read by range per request).
// `npm start` seeds its local bucket with it; the soak bench (bench/soak.ts) too.
import { readFileSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { packFiles } from "../src/engine/pack.ts";

const WEIGHTS = resolve(import.meta.dirname, "..", "weights");

export interface PutBucket {
  put(key: string, value: string | Uint8Array): Promise<unknown>;
}

/** Seeds `bucket`; `seeded` hears of each pack once it is in. Returns the pack names. */
export async function seedShippedPacks(bucket: PutBucket, seeded?: (name: string, task: string, bytes: number) => void): Promise<string[]> {
  const names = readdirSync(WEIGHTS, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  for (const name of names) {
    const manifest = JSON.parse(readFileSync(join(WEIGHTS, name, "model.json"), "utf8"));
    await bucket.put(`models/${name}/model.json`, JSON.stringify(manifest));
    for (const file of packFiles(manifest)) {
      await bucket.put(`models/${name}/${file}`, new Uint8Array(readFileSync(join(WEIGHTS, name, file))));
    }
    seeded?.(name, manifest.task, manifest.weights.bytes);
  }
  return names;
}
