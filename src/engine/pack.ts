// A model pack: model.json (config, task, checksum, provenance) plus
// model.safetensors (the official state dict without the "_orig_mod.model." prefix).
// Loading verifies the checksum and every tensor against the config, then
// gives the weights as views into the pack's bytes wherever they are aligned:
// a bf16 pack's matrices stay bf16 (Uint16Array of bits) for the bf16 kernels,
// so nothing is widened to float32 but the few small vectors and tables the
// inputs and the Q-head read. A network packs what it needs and keeps no view,
// so the pack's bytes can be released after packing: one copy at a time.
// An int8 pack stores the block's linear weights as I8 with a float32 scale
// per output channel ("<name>_scale", shape [out]) and the rest as F32; it
// loads as the dequantised float32 weights, which the int8 kernels quantise
// back to the same integers.
import { TrmError } from "../errors.ts";
import { type PuzzleTableManifest, checkTableManifest } from "./puzzle-table.ts";
import { type ArchConfig, type ModelConfig, type TaskName, TASKS, expectedTensors, validateConfig } from "./config.ts";
import { dequantizeRows } from "./quantize.ts";
import { type RawTensor, type TensorDType, float32Bytes, numel, parseSafetensors, toFloat32 } from "./safetensors.ts";

export const PACK_FORMAT = "trm-pack";
export const PACK_FORMAT_VERSION = 1;
export const WEIGHTS_FILE = "model.safetensors";
export const MANIFEST_FILE = "model.json";

export type PackDtype = "f32" | "bf16" | "int8";
export const PACK_DTYPES: readonly PackDtype[] = ["f32", "bf16", "int8"];
export const INT8_SCALE_SUFFIX = "_scale";

/** The weights an int8 pack stores as int8: the linear layers of the blocks (attention, MLP, MLP-T) of both levels. */
export function isInt8Linear(name: string): boolean {
  return /^inner\.[HL]_level\.layers\.\d+\.(self_attn|mlp|mlp_t)\.\w+\.weight$/.test(name);
}

/** The safetensors dtype a tensor has in a pack of this dtype. */
export function storedDtype(dtype: PackDtype, name: string): TensorDType {
  if (dtype === "int8") return isInt8Linear(name) ? "I8" : "F32";
  return dtype === "f32" ? "F32" : "BF16";
}

export interface PackManifest {
  format: typeof PACK_FORMAT;
  format_version: number;
  name: string;
  task: TaskName;
  arch: ArchConfig;
  seq_len: number;
  vocab_size: number;
  num_puzzle_identifiers: number;
  puzzle_emb_len: number; // effective
  rms_norm_eps: number;
  rope_theta: number;
  weights: {
    file: string;
    dtype: PackDtype;
    bytes: number;
    sha256: string;
    parameters: number;
  };
  /** Present when the puzzle embedding is its own object, read per request (ARC); the weights file then lacks it. */
  puzzle_table?: PuzzleTableManifest;
  provenance: Record<string, unknown>;
}

/** A weight matrix, row-major [out, in]: float32 values, or the bits of bfloat16 values (a bf16 pack's). */
export type Matrix = Float32Array | Uint16Array;

/** A matrix's values as float32 (bf16 widened exactly; f32 as it is). */
export function matrixF32(m: Matrix): Float32Array {
  return m instanceof Float32Array ? m : new Float32Array(Uint32Array.from(m, (b) => b << 16).buffer);
}

export interface LayerWeights {
  qkv: Matrix | null; // (3H, H) attention only
  o: Matrix | null; // (H, H) attention only
  mlpTGateUp: Matrix | null; // (2·It, P+seq) MLP-T only
  mlpTDown: Matrix | null; // (P+seq, It) MLP-T only
  gateUp: Matrix; // (2·I, H)
  down: Matrix; // (H, I)
}

/** A block's weights, all float32 (what the reference and the bench's peers compute with). */
export type LayerWeightsF32 = { [K in keyof LayerWeights]: null extends LayerWeights[K] ? Float32Array | null : Float32Array };

export function layerF32(w: LayerWeights): LayerWeightsF32 {
  const widen = (m: Matrix | null) => (m ? matrixF32(m) : null);
  return { qkv: widen(w.qkv), o: widen(w.o), mlpTGateUp: widen(w.mlpTGateUp), mlpTDown: widen(w.mlpTDown), gateUp: matrixF32(w.gateUp), down: matrixF32(w.down) };
}

export type Level = "L" | "H";

/** What the inputs and the Q-head read: small, always float32. */
export interface InputWeights {
  HInit: Float32Array; // (H)
  LInit: Float32Array; // (H)
  embedTokens: Float32Array; // (V, H)
  embedPos: Float32Array | null; // (P+seq, H) learned positions only
  puzzleEmb: Matrix | null; // (ids, puzzle_emb_ndim): one row per puzzle is read
  qHeadW: Float32Array; // (2, H): [halt, continue]
  qHeadB: Float32Array; // (2)
}

export interface Weights extends InputWeights {
  lmHead: Matrix; // (V, H)
  levels: Record<Level, LayerWeights[]>; // TRM: H is L (one network); HRM: H_level and L_level
}

export interface ModelPack {
  manifest: PackManifest;
  config: ModelConfig;
  weights: Weights;
}

export function manifestConfig(m: PackManifest): ModelConfig {
  return validateConfig({
    arch: m.arch && { ...m.arch, family: m.arch.family ?? "trm" }, // packs from before HRM have no family
    seq_len: m.seq_len,
    vocab_size: m.vocab_size,
    num_puzzle_identifiers: m.num_puzzle_identifiers,
    puzzle_emb_len: m.puzzle_emb_len,
    rms_norm_eps: m.rms_norm_eps,
    rope_theta: m.rope_theta,
  });
}

function badPack(message: string): never {
  throw new TrmError("bad_pack", message);
}

/** Every object of a pack besides model.json: the weights and, with a puzzle table, its table, identifiers, index and puzzles file. */
export function packFiles(m: PackManifest): string[] {
  const t = m.puzzle_table;
  return [m.weights.file, ...(t ? [t.file, t.identifiers_file, t.index_file, ...(t.puzzles_file ? [t.puzzles_file] : [])] : [])];
}

/** Checks the manifest's own fields (the config is checked by manifestConfig). */
export function parseManifest(json: unknown): PackManifest {
  if (!json || typeof json !== "object" || Array.isArray(json)) badPack("model.json is not a JSON object");
  const m = json as PackManifest;
  if (m.format !== PACK_FORMAT) badPack(`model.json format is ${JSON.stringify(m.format)}, expected "${PACK_FORMAT}"`);
  if (m.format_version !== PACK_FORMAT_VERSION) badPack(`model.json format_version ${m.format_version} is not supported (expected ${PACK_FORMAT_VERSION})`);
  if (!TASKS.includes(m.task)) badPack(`model.json task ${JSON.stringify(m.task)} is not one of ${TASKS.join(", ")}`);
  const w = m.weights;
  if (!w || typeof w.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(w.sha256)) badPack("model.json weights.sha256 must be 64 lowercase hex digits");
  if (!Number.isSafeInteger(w.bytes) || w.bytes < 8) badPack("model.json weights.bytes must be the size of the safetensors file");
  if (!PACK_DTYPES.includes(w.dtype)) badPack(`model.json weights.dtype must be ${PACK_DTYPES.join(", ")}, got ${JSON.stringify(w.dtype)}`);
  const config = manifestConfig(m);
  if (m.puzzle_table !== undefined) checkTableManifest(m.puzzle_table, config.num_puzzle_identifiers, config.arch.puzzle_emb_ndim);
  return m;
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Verifies size and checksum, then every tensor against the config; never returns weights from bad bytes. */
export async function loadPack(manifestJson: unknown, bytes: Uint8Array): Promise<ModelPack> {
  const manifest = parseManifest(manifestJson);
  if (bytes.byteLength !== manifest.weights.bytes) {
    badPack(`weights are ${bytes.byteLength} bytes, model.json says ${manifest.weights.bytes}: truncated or wrong file`);
  }
  const digest = await sha256Hex(bytes);
  if (digest !== manifest.weights.sha256) badPack(`weights sha256 ${digest} does not match model.json (${manifest.weights.sha256}): corrupt or mismatched file`);
  const config = manifestConfig(manifest);
  const dtype = manifest.weights.dtype;
  const { tensors } = parseSafetensors(bytes);
  const isScale = (name: string) => dtype === "int8" && name.endsWith(INT8_SCALE_SUFFIX) && isInt8Linear(name.slice(0, -INT8_SCALE_SUFFIX.length));
  for (const [name, t] of tensors) {
    const want = isScale(name) ? "F32" : storedDtype(dtype, name);
    if (t.dtype !== want) badPack(`tensor ${name} is ${t.dtype}, model.json says ${dtype} (so ${want})`);
  }
  const weights = weightsFromTensors(config, (name) => {
    const t = tensors.get(name);
    if (!t || t.dtype !== "I8") return t;
    const scale = tensors.get(name + INT8_SCALE_SUFFIX);
    if (!scale || scale.dtype !== "F32" || scale.shape.length !== 1 || scale.shape[0] !== t.shape[0]) {
      badPack(`int8 tensor ${name} needs ${name}${INT8_SCALE_SUFFIX}: F32 of shape [${t.shape[0]}]`);
    }
    return { dtype: "F32", shape: t.shape, data: float32Bytes(dequantizeRows(toFloat32(t), toFloat32(scale), t.shape.at(-1)!)) };
  }, [...tensors.keys()].filter((n) => !isScale(n)), { puzzleTable: !manifest.puzzle_table });
  // A matching checksum proves these are the bytes that were converted, not that they are usable.
  const levels = (["L", "H"] as const).filter((l) => l === "L" || weights.levels.H !== weights.levels.L);
  const arrays = [
    ...Object.entries(weights).filter(([k]) => k !== "levels"),
    ...levels.flatMap((level) => weights.levels[level].flatMap((l, i) => Object.entries(l).map(([k, v]) => [`${level}_level.${i}.${k}`, v]))),
  ] as [string, Matrix | null][];
  // bf16 bits are non-finite when their exponent is all ones (checked without widening)
  const finite = (m: Matrix) => (m instanceof Float32Array ? m.every(Number.isFinite) : m.every((b) => (b & 0x7f80) !== 0x7f80));
  const nonFinite = arrays.find(([, w]) => w && !finite(w));
  if (nonFinite) badPack(`weights ${nonFinite[0]} hold NaN or infinite values: the pack cannot give answers`);
  return { manifest, config, weights };
}

/** The tensors a network packs into its own memory (and so may stay bf16): block linears, lm_head, puzzle table. */
function isMatrix(name: string): boolean {
  return /^inner\.[HL]_level\./.test(name) || name === "inner.lm_head.weight" || name === "inner.puzzle_emb.weights";
}

/** t's data as a typed view when aligned (no copy), else copied. */
function view<T extends Float32Array | Uint16Array>(t: RawTensor, make: new (b: ArrayBuffer, offset: number, length: number) => T, size: number): T {
  const { buffer, byteOffset, byteLength } = t.data;
  if (byteOffset % size === 0) return new make(buffer as ArrayBuffer, byteOffset, byteLength / size);
  return new make(t.data.slice().buffer as ArrayBuffer, 0, byteLength / size);
}

/**
 * Checks that exactly the expected tensors are present with the expected
 * shapes and gives them as views: F32 as float32, BF16 matrices as bf16 bits,
 * BF16 vectors and tables widened to float32 (other dtypes: float32 copies).
 */
export function weightsFromTensors(
  config: ModelConfig,
  get: (name: string) => RawTensor | undefined,
  names: string[],
  layout: { puzzleTable?: boolean } = {},
): Weights {
  const specs = expectedTensors(config, layout);
  const expected = new Set(specs.map((s) => s.name));
  const extra = names.filter((n) => !expected.has(n));
  if (extra.length) throw new TrmError("bad_weights", `unexpected tensors for this config: ${extra.join(", ")}`);
  const views = new Map<string, Matrix>();
  for (const spec of specs) {
    const t = get(spec.name);
    if (!t) throw new TrmError("bad_weights", `missing tensor ${spec.name} (shape [${spec.shape}])`);
    if (t.shape.length !== spec.shape.length || t.shape.some((s, i) => s !== spec.shape[i])) {
      throw new TrmError("bad_weights", `tensor ${spec.name} has shape [${t.shape}], the config needs [${spec.shape}]`);
    }
    if (t.dtype === "F32") views.set(spec.name, view(t, Float32Array, 4));
    else if (t.dtype === "BF16" && isMatrix(spec.name)) views.set(spec.name, view(t, Uint16Array, 2));
    else views.set(spec.name, toFloat32(t));
  }
  const v = (name: string) => views.get(name) ?? null;
  const must = (name: string) => views.get(name)!;
  const f32 = (name: string) => must(name) as Float32Array; // not a matrix: float32 above
  const level = (level: Level, layers: number) => Array.from({ length: layers }, (_, i) => {
    const p = `inner.${level}_level.layers.${i}`;
    return {
      qkv: v(`${p}.self_attn.qkv_proj.weight`),
      o: v(`${p}.self_attn.o_proj.weight`),
      mlpTGateUp: v(`${p}.mlp_t.gate_up_proj.weight`),
      mlpTDown: v(`${p}.mlp_t.down_proj.weight`),
      gateUp: must(`${p}.mlp.gate_up_proj.weight`),
      down: must(`${p}.mlp.down_proj.weight`),
    };
  });
  const L = level("L", config.arch.L_layers);
  return {
    HInit: f32("inner.H_init"),
    LInit: f32("inner.L_init"),
    embedTokens: f32("inner.embed_tokens.embedding_weight"),
    embedPos: v("inner.embed_pos.embedding_weight") as Float32Array | null,
    puzzleEmb: v("inner.puzzle_emb.weights"),
    lmHead: must("inner.lm_head.weight"),
    qHeadW: f32("inner.q_head.weight"),
    qHeadB: f32("inner.q_head.bias"),
    levels: { L, H: config.arch.family === "hrm" ? level("H", config.arch.H_layers) : L },
  };
}

/** Parameter count of a config (every tensor of the state dict; without the puzzle table when `puzzleTable` is false). */
export function parameterCount(config: ModelConfig, layout: { puzzleTable?: boolean } = {}): number {
  return expectedTensors(config, layout).reduce((n, s) => n + numel(s.shape), 0);
}
