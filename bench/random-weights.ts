// Seeded random weights (and puzzles) for any ModelConfig, so the official
// model sizes can be timed without their checkpoints. Shapes come from
// expectedTensors and go through weightsFromTensors, so a config that the
// engine would refuse is refused here too.
import { type ModelConfig, expectedTensors } from "../src/engine/config.ts";
import type { Puzzle } from "../src/engine/inputs.ts";
import {
  PACK_FORMAT, PACK_FORMAT_VERSION, type PackManifest, WEIGHTS_FILE, type Weights, parameterCount, sha256Hex, weightsFromTensors,
} from "../src/engine/pack.ts";
import { type RawTensor, encodeSafetensors, float32Bytes, numel, parseSafetensors, toBFloat16, toFloat32 } from "../src/engine/safetensors.ts";

/** mulberry32: uniform in [0, 1), the same sequence for the same seed. */
export function seededUniform(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal samples (Box–Muller on seededUniform). */
export function seededNormal(seed: number): () => number {
  const uniform = seededUniform(seed);
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

/**
 * Every tensor of the config, normal with std 0.6/sqrt(fan_in) for matrices
 * ([out, in], like the shared golden cases: keeps the recursion stable over
 * many calls) and std 1 for vectors (H_init, L_init, q_head bias).
 */
export function randomTensors(config: ModelConfig, seed = 1): Map<string, RawTensor> {
  const normal = seededNormal(seed);
  const tensors = new Map<string, RawTensor>();
  for (const { name, shape } of expectedTensors(config)) {
    const std = shape.length === 2 ? 0.6 / Math.sqrt(shape[1]) : 1;
    const values = new Float32Array(numel(shape));
    for (let i = 0; i < values.length; i++) values[i] = std * normal();
    tensors.set(name, { dtype: "F32", shape, data: float32Bytes(values) });
  }
  return tensors;
}

export function randomWeights(config: ModelConfig, seed = 1): Weights {
  const tensors = randomTensors(config, seed);
  return weightsFromTensors(config, (name) => tensors.get(name), [...tensors.keys()]);
}

/** The random tensors as a safetensors file, f32 or bf16 (what `trm convert --dtype` writes). */
export function randomSafetensors(config: ModelConfig, dtype: "f32" | "bf16", seed = 1): Uint8Array {
  const tensors = [...randomTensors(config, seed)].map(([name, t]): [string, RawTensor] =>
    dtype === "f32" ? [name, t] : [name, { dtype: "BF16", shape: t.shape, data: toBFloat16(toFloat32(t)) }],
  );
  return encodeSafetensors(tensors);
}

/** A whole pack (manifest + safetensors) of random weights, as `trm convert --dtype` would write it. */
export async function randomPack(config: ModelConfig, dtype: "f32" | "bf16", name: string): Promise<{ manifest: PackManifest; bytes: Uint8Array }> {
  const bytes = randomSafetensors(config, dtype);
  const manifest: PackManifest = {
    format: PACK_FORMAT, format_version: PACK_FORMAT_VERSION, name, task: "tokens", arch: config.arch,
    seq_len: config.seq_len, vocab_size: config.vocab_size, num_puzzle_identifiers: config.num_puzzle_identifiers,
    puzzle_emb_len: config.puzzle_emb_len, rms_norm_eps: config.rms_norm_eps, rope_theta: config.rope_theta,
    weights: { file: WEIGHTS_FILE, dtype, bytes: bytes.byteLength, sha256: await sha256Hex(bytes), parameters: parameterCount(config) },
    provenance: { source: "bench/random-weights.ts (seeded random weights)" },
  };
  return { manifest, bytes };
}

/** Weights from safetensors bytes: the unpacking half of loadPack (its checksum aside); bf16 stays bf16. */
export function unpackSafetensors(config: ModelConfig, bytes: Uint8Array): Weights {
  const { tensors } = parseSafetensors(bytes);
  return weightsFromTensors(config, (name) => tensors.get(name), [...tensors.keys()]);
}

/**
 * The same random values (bf16-rounded) as bf16-resident weights and as
 * float32 weights, so that networks on either compute the same thing.
 */
export function randomWeightsBf16(config: ModelConfig, seed = 1): { bf16: Weights; f32: Weights } {
  const bytes = randomSafetensors(config, "bf16", seed);
  const { tensors } = parseSafetensors(bytes);
  const widened = (name: string): RawTensor | undefined => {
    const t = tensors.get(name);
    return t && { dtype: "F32", shape: t.shape, data: float32Bytes(toFloat32(t)) };
  };
  return { bf16: unpackSafetensors(config, bytes), f32: weightsFromTensors(config, widened, [...tensors.keys()]) };
}

/** `count` puzzles of uniformly random tokens, puzzle id 0. */
export function randomPuzzles(config: ModelConfig, count: number, seed = 2): Puzzle[] {
  const uniform = seededUniform(seed);
  return Array.from({ length: count }, () => ({
    tokens: Int32Array.from({ length: config.seq_len }, () => Math.floor(uniform() * config.vocab_size)),
    puzzleId: 0,
  }));
}
