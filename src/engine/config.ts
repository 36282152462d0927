// The model configuration: the official TinyRecursiveReasoningModel_ACTV1Config
// fields, what the dataset adds, and the sizes derived from them.
import { TrmError } from "../errors.ts";

export type PosEncoding = "rope" | "learned" | "none";
export type TaskName = "sudoku" | "maze" | "arc" | "tokens";
export const TASKS: readonly TaskName[] = ["sudoku", "maze", "arc", "tokens"];

/** The arch fields of the official config (config/arch/trm.yaml), as in all_config.yaml. */
export interface ArchConfig {
  H_cycles: number;
  L_cycles: number;
  H_layers: number; // ignored by the official model
  L_layers: number;
  hidden_size: number;
  expansion: number;
  num_heads: number;
  pos_encodings: PosEncoding;
  puzzle_emb_ndim: number;
  puzzle_emb_len: number; // as configured: 0 means ceil(puzzle_emb_ndim / hidden_size)
  halt_max_steps: number;
  halt_exploration_prob: number;
  forward_dtype: string; // the training run's; this engine always computes in float32
  mlp_t: boolean;
  no_ACT_continue: boolean;
}

/** Everything the network needs: arch fields plus dataset metadata and model defaults. */
export interface ModelConfig {
  arch: ArchConfig;
  seq_len: number;
  vocab_size: number;
  num_puzzle_identifiers: number;
  puzzle_emb_len: number; // effective number of puzzle positions
  rms_norm_eps: number;
  rope_theta: number;
}

export const ARCH_DEFAULTS: Partial<ArchConfig> = {
  // pydantic defaults of the official config class
  puzzle_emb_ndim: 0,
  forward_dtype: "bfloat16",
  mlp_t: false,
  puzzle_emb_len: 16,
  no_ACT_continue: true,
};
export const MODEL_DEFAULTS = { rms_norm_eps: 1e-5, rope_theta: 10000 };

/** Sizes derived from the config, named as in the maths. */
export interface Dims {
  hidden: number; // H
  heads: number;
  headDim: number; // d = H / heads
  puzzleLen: number; // P, puzzle positions before the tokens
  seqLen: number; // tokens per sequence
  positions: number; // P + seqLen: rows of z_H and z_L
  vocab: number;
  inter: number; // SwiGLU width over hidden
  interT: number; // SwiGLU width of the MLP-T over positions
}

/** The official SwiGLU width: round(expansion · n · 2/3) rounded up to a multiple of 256. */
export function swigluWidth(n: number, expansion: number): number {
  // Python's round() rounds halves to even
  const x = expansion * n * 2 / 3;
  let r = Math.round(x);
  if (Math.abs(x % 1) === 0.5 && r % 2 !== 0) r -= 1;
  return Math.ceil(r / 256) * 256;
}

/** The official effective puzzle_emb_len. */
export function effectivePuzzleLen(arch: Pick<ArchConfig, "puzzle_emb_len" | "puzzle_emb_ndim" | "hidden_size">): number {
  return arch.puzzle_emb_len === 0 ? Math.ceil(arch.puzzle_emb_ndim / arch.hidden_size) : arch.puzzle_emb_len;
}

export function dims(cfg: ModelConfig): Dims {
  const a = cfg.arch;
  const positions = cfg.puzzle_emb_len + cfg.seq_len;
  return {
    hidden: a.hidden_size,
    heads: a.num_heads,
    headDim: a.hidden_size / a.num_heads,
    puzzleLen: cfg.puzzle_emb_len,
    seqLen: cfg.seq_len,
    positions,
    vocab: cfg.vocab_size,
    inter: swigluWidth(a.hidden_size, a.expansion),
    interT: swigluWidth(positions, a.expansion),
  };
}

export interface TensorSpec {
  name: string;
  shape: number[];
}

/** Every tensor of the official state dict (without the "_orig_mod.model." prefix), in a stable order. */
/**
 * The state dict's tensors. `puzzleTable: false` leaves out the puzzle
 * embedding, for packs that keep it as its own object (read per request).
 */
export function expectedTensors(cfg: ModelConfig, { puzzleTable = true } = {}): TensorSpec[] {
  const d = dims(cfg);
  const a = cfg.arch;
  const specs: TensorSpec[] = [
    { name: "inner.H_init", shape: [d.hidden] },
    { name: "inner.L_init", shape: [d.hidden] },
    { name: "inner.embed_tokens.embedding_weight", shape: [d.vocab, d.hidden] },
    { name: "inner.lm_head.weight", shape: [d.vocab, d.hidden] },
    { name: "inner.q_head.weight", shape: [2, d.hidden] },
    { name: "inner.q_head.bias", shape: [2] },
  ];
  if (a.puzzle_emb_ndim > 0 && puzzleTable) specs.push({ name: "inner.puzzle_emb.weights", shape: [cfg.num_puzzle_identifiers, a.puzzle_emb_ndim] });
  if (a.pos_encodings === "learned") specs.push({ name: "inner.embed_pos.embedding_weight", shape: [d.positions, d.hidden] });
  for (let i = 0; i < a.L_layers; i++) {
    const p = `inner.L_level.layers.${i}`;
    if (a.mlp_t) {
      specs.push({ name: `${p}.mlp_t.gate_up_proj.weight`, shape: [2 * d.interT, d.positions] });
      specs.push({ name: `${p}.mlp_t.down_proj.weight`, shape: [d.positions, d.interT] });
    } else {
      specs.push({ name: `${p}.self_attn.qkv_proj.weight`, shape: [3 * d.hidden, d.hidden] });
      specs.push({ name: `${p}.self_attn.o_proj.weight`, shape: [d.hidden, d.hidden] });
    }
    specs.push({ name: `${p}.mlp.gate_up_proj.weight`, shape: [2 * d.inter, d.hidden] });
    specs.push({ name: `${p}.mlp.down_proj.weight`, shape: [d.hidden, d.inter] });
  }
  return specs;
}

function bad(message: string): never {
  throw new TrmError("bad_config", message);
}

function positiveInt(v: unknown, name: string, min = 1): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) bad(`${name} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  return v;
}

/**
 * Checks a config for what the official model would accept (or silently
 * mis-compute): types, ranges, head split, RoPE pairs, puzzle padding.
 */
export function validateConfig(cfg: ModelConfig): ModelConfig {
  const a = cfg.arch;
  if (!a || typeof a !== "object") bad("config has no arch section");
  positiveInt(a.H_cycles, "H_cycles");
  positiveInt(a.L_cycles, "L_cycles");
  positiveInt(a.L_layers, "L_layers");
  positiveInt(a.hidden_size, "hidden_size");
  positiveInt(a.num_heads, "num_heads");
  positiveInt(a.halt_max_steps, "halt_max_steps");
  positiveInt(a.puzzle_emb_ndim, "puzzle_emb_ndim", 0);
  positiveInt(a.puzzle_emb_len, "puzzle_emb_len", 0);
  positiveInt(cfg.seq_len, "seq_len");
  positiveInt(cfg.vocab_size, "vocab_size");
  positiveInt(cfg.num_puzzle_identifiers, "num_puzzle_identifiers");
  if (typeof a.expansion !== "number" || !(a.expansion > 0)) bad(`expansion must be a positive number, got ${a.expansion}`);
  if (!["rope", "learned", "none"].includes(a.pos_encodings)) bad(`pos_encodings must be rope, learned or none, got ${JSON.stringify(a.pos_encodings)}`);
  if (typeof a.mlp_t !== "boolean") bad("mlp_t must be true or false");
  if (typeof a.no_ACT_continue !== "boolean") bad("no_ACT_continue must be true or false");
  if (!(cfg.rms_norm_eps > 0)) bad(`rms_norm_eps must be positive, got ${cfg.rms_norm_eps}`);
  if (!(cfg.rope_theta > 0)) bad(`rope_theta must be positive, got ${cfg.rope_theta}`);
  if (cfg.puzzle_emb_len !== effectivePuzzleLen(a)) {
    bad(`puzzle_emb_len ${cfg.puzzle_emb_len} disagrees with arch (puzzle_emb_len ${a.puzzle_emb_len}, puzzle_emb_ndim ${a.puzzle_emb_ndim}, hidden ${a.hidden_size}): expected ${effectivePuzzleLen(a)}`);
  }
  if (a.puzzle_emb_ndim === 0 && cfg.puzzle_emb_len !== 0) {
    bad(`puzzle_emb_ndim is 0 but puzzle_emb_len is ${cfg.puzzle_emb_len}: the official model has no puzzle positions to fill (its carry and inputs would disagree in length)`);
  }
  if (a.puzzle_emb_ndim > cfg.puzzle_emb_len * a.hidden_size) {
    bad(`puzzle_emb_ndim ${a.puzzle_emb_ndim} does not fit in puzzle_emb_len ${cfg.puzzle_emb_len} x hidden ${a.hidden_size}`);
  }
  if (!a.mlp_t) {
    // attention splits hidden into heads; the MLP-T block never uses heads
    if (a.hidden_size % a.num_heads !== 0) bad(`hidden_size ${a.hidden_size} is not divisible by num_heads ${a.num_heads}`);
    if (a.pos_encodings === "rope" && (a.hidden_size / a.num_heads) % 2 !== 0) {
      bad(`RoPE needs an even head dimension, got ${a.hidden_size / a.num_heads}`);
    }
  }
  if (a.mlp_t && cfg.puzzle_emb_len + cfg.seq_len === 0) bad("MLP-T needs at least one position");
  return cfg;
}
