// Model packs from R2, loaded once per isolate. The first request for a model
// reads manifest and weights, verifies them, packs the weights for the
// kernels and keeps the result; concurrent first requests share that load.
// A failed load is not cached, so a fixed object is picked up by the next request.
import kernels from "../../build/kernels.wasm";
import { TrmError } from "../errors.ts";
import { MANIFEST_FILE, type ModelPack, type PackManifest, loadPack, manifestConfig, parameterCount, parseManifest } from "../engine/pack.ts";
import { type LoadedModel, createModel } from "../solver.ts";
import { solving } from "./schedule.ts";

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const loaded = new Map<string, Promise<LoadedModel>>();
const ready = new Map<string, LoadedModel>(); // the loads that finished

export const modelKey = (name: string, file: string) => `models/${name}/${file}`;

function checkName(name: string): void {
  if (!NAME.test(name)) throw new TrmError("model_not_found", `no model named ${JSON.stringify(name)}`, 404);
}

function unavailable(name: string, why: string): TrmError {
  return new TrmError("model_unavailable", `model ${name} cannot be served: ${why}`, 503);
}

export async function readManifest(bucket: R2Bucket, name: string): Promise<PackManifest> {
  checkName(name);
  const object = await bucket.get(modelKey(name, MANIFEST_FILE));
  if (!object) throw new TrmError("model_not_found", `no model named ${JSON.stringify(name)}`, 404);
  try {
    return parseManifest(JSON.parse(await object.text()));
  } catch (e) {
    throw unavailable(name, e instanceof TrmError ? e.message : `${MANIFEST_FILE} is not valid JSON`);
  }
}

async function load(bucket: R2Bucket, name: string): Promise<LoadedModel> {
  const manifest = await readManifest(bucket, name);
  const object = await bucket.get(modelKey(name, manifest.weights.file));
  if (!object) throw unavailable(name, `weights object ${modelKey(name, manifest.weights.file)} is missing`);
  let pack: ModelPack;
  try {
    pack = await loadPack(manifest, new Uint8Array(await object.arrayBuffer()));
  } catch (e) {
    if (e instanceof TrmError) throw unavailable(name, e.message);
    throw e;
  }
  return createModel(name, kernels, pack);
}

export function getModel(bucket: R2Bucket, name: string): Promise<LoadedModel> {
  let model = loaded.get(name);
  if (!model) {
    model = load(bucket, name);
    loaded.set(name, model);
    model.then((m) => ready.set(name, m), () => loaded.delete(name));
  }
  return model;
}

/** What GET /v1/models shows of a model: no weights are loaded for it. */
export function describe(name: string, m: PackManifest) {
  const config = manifestConfig(m);
  return {
    name,
    task: m.task,
    parameters: parameterCount(config),
    size_bytes: m.weights.bytes,
    dtype: m.weights.dtype,
    seq_len: m.seq_len,
    vocab_size: m.vocab_size,
    halt_max_steps: m.arch.halt_max_steps,
    model: config.arch.family,
    block: m.arch.mlp_t ? "mlp_t" : "attention",
    loaded: loaded.has(name),
  };
}

export async function modelInfo(bucket: R2Bucket, name: string) {
  const manifest = await readManifest(bucket, name);
  return { ...describe(name, manifest), manifest };
}

export async function listModels(bucket: R2Bucket) {
  const names: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix: "models/", delimiter: "/", cursor });
    names.push(...page.delimitedPrefixes.map((p) => p.slice("models/".length, -1)));
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  const models = await Promise.all(
    names.filter((n) => NAME.test(n)).map(async (name) => {
      try {
        return describe(name, await readManifest(bucket, name));
      } catch (e) {
        return { name, error: e instanceof TrmError ? { code: e.code, message: e.message } : { code: "internal", message: "internal error" } };
      }
    }),
  );
  return { models };
}

/**
 * GET /v1/health: the bucket answers a listing, and every model this isolate
 * has loaded still has its weights object in the bucket at the size it was
 * loaded with. `ok` is false if any check fails; `solving` counts the
 * requests this isolate is computing or has queued.
 */
export async function health(bucket: R2Bucket) {
  const bucketCheck = await bucket.list({ prefix: "models/", limit: 1 }).then(
    () => ({ ok: true }),
    (e: unknown) => ({ ok: false, message: `the MODELS bucket cannot be listed: ${(e as Error)?.message ?? e}`.slice(0, 300) }),
  );
  const models = await Promise.all(
    [...loaded.keys()].map(async (name) => {
      const model = ready.get(name);
      if (!model) return { name, ok: true, state: "loading" };
      const key = modelKey(name, model.manifest.weights.file);
      const head = await bucket.head(key).catch(() => null);
      if (!head) return { name, ok: false, state: "loaded", message: `${key} is no longer in the bucket` };
      if (head.size !== model.manifest.weights.bytes) return { name, ok: false, state: "loaded", message: `${key} is ${head.size} bytes, ${model.manifest.weights.bytes} were loaded` };
      return { name, ok: true, state: "loaded" };
    }),
  );
  return { ok: bucketCheck.ok && models.every((m) => m.ok), bucket: bucketCheck, models, solving: solving() };
}
