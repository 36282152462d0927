// The official model sizes the bench times (random weights), their matmul
// FLOPs, and the GEMM shapes they run. Platform-free: Node and workerd share it.
import { type ArchConfig, MODEL_DEFAULTS, type ModelConfig, dims, validateConfig } from "../src/engine/config.ts";

const OFFICIAL_ARCH: ArchConfig = {
  family: "trm",
  H_cycles: 3,
  L_cycles: 6,
  H_layers: 0,
  L_layers: 2,
  hidden_size: 512,
  expansion: 4,
  num_heads: 8,
  pos_encodings: "none",
  puzzle_emb_ndim: 512,
  puzzle_emb_len: 16,
  halt_max_steps: 16,
  halt_exploration_prob: 0.1,
  forward_dtype: "bfloat16",
  mlp_t: false,
  no_ACT_continue: true,
};

// Sudoku-Extreme with the MLP-T block: 81 cells + 16 puzzle positions.
export const SUDOKU_MLP_T: ModelConfig = validateConfig({
  arch: { ...OFFICIAL_ARCH, mlp_t: true },
  seq_len: 81,
  vocab_size: 11,
  num_puzzle_identifiers: 1,
  puzzle_emb_len: 16,
  ...MODEL_DEFAULTS,
});

// ARC-AGI with attention + RoPE: a 30×30 grid + 16 puzzle positions; the paper
// uses L_cycles 4 for ARC and Maze. The real ARC puzzle-id count only sizes the
// embedding table (JS memory, not wasm memory), not the compute, so 1 id is used here.
// Maze-Hard (30×30, vocab 6) has the same shapes but for the vocab.
export const ARC_ATTENTION: ModelConfig = validateConfig({
  arch: { ...OFFICIAL_ARCH, L_cycles: 4, pos_encodings: "rope" },
  seq_len: 900,
  vocab_size: 12,
  num_puzzle_identifiers: 1,
  puzzle_emb_len: 16,
  ...MODEL_DEFAULTS,
});

// TRM Maze-Hard: the ARC shapes with vocab 6 (the paper's attention model, L_cycles 4).
export const MAZE_ATTENTION: ModelConfig = validateConfig({ ...ARC_ATTENTION, vocab_size: 6 });

// HRM as published (sapientinc/HRM-checkpoint-*): H_level and L_level of 4 blocks,
// H_cycles 2, L_cycles 2, RoPE, one puzzle position (puzzle_emb_ndim = hidden).
const HRM_ARCH: ArchConfig = {
  ...OFFICIAL_ARCH, family: "hrm", H_cycles: 2, L_cycles: 2, H_layers: 4, L_layers: 4, pos_encodings: "rope",
  puzzle_emb_len: 0, no_ACT_continue: false,
};
const hrm = (seq_len: number, vocab_size: number): ModelConfig =>
  validateConfig({ arch: HRM_ARCH, seq_len, vocab_size, num_puzzle_identifiers: 1, puzzle_emb_len: 1, ...MODEL_DEFAULTS });
export const HRM_SUDOKU = hrm(81, 11); // HRM-checkpoint-sudoku-extreme
export const HRM_MAZE = hrm(900, 6); // HRM-checkpoint-maze-30x30-hard
export const HRM_ARC = hrm(900, 12); // HRM-checkpoint-ARC-2's trunk (its 1,045,829-row puzzle table aside)

export const CONFIGS: Record<string, ModelConfig> = {
  sudoku: SUDOKU_MLP_T, arc: ARC_ATTENTION, maze: MAZE_ATTENTION, hrm_sudoku: HRM_SUDOKU, hrm_maze: HRM_MAZE, hrm_arc: HRM_ARC,
};

/** Configurations of ~900 positions, whose calls take long enough to time one by one. */
export const isBig = (configName: string): boolean => dims(CONFIGS[configName]).positions > 500;

/**
 * The memory rows: every public configuration at batch 1 after a full
 * supervision step, bf16-resident, and the ARC trunk serving 8 and 64
 * augmentations (issue 11); HRM ARC in f32 for contrast.
 */
export const MEMORY_ROWS: { config: string; augmentations: number; dtype: "f32" | "bf16" }[] = [
  ...["sudoku", "maze", "arc", "hrm_sudoku", "hrm_maze", "hrm_arc"].map((config) => ({ config, augmentations: 1, dtype: "bf16" as const })),
  { config: "arc", augmentations: 8, dtype: "bf16" },
  { config: "arc", augmentations: 64, dtype: "bf16" },
  { config: "hrm_arc", augmentations: 1, dtype: "f32" },
];

/**
 * The workerd network-call / step rows and the cold starts (a fresh Worker, a
 * fresh Node process): every configuration in bf16-resident weights, and in
 * f32 where an f32 pack fits a 128 MB isolate while loading (TRM; an f32 HRM
 * pack is 104 MiB, beside 120 MiB of f32 panels: see MEMORY_ROWS).
 */
export const RUNTIME_RUNS: { config: string; dtype: "f32" | "bf16" }[] = [
  { config: "sudoku", dtype: "f32" }, { config: "sudoku", dtype: "bf16" },
  { config: "arc", dtype: "f32" }, { config: "arc", dtype: "bf16" },
  { config: "hrm_sudoku", dtype: "bf16" }, { config: "hrm_arc", dtype: "bf16" },
];

export { callFlops, callsPerStep, stepFlops } from "../src/engine/cost.ts";

export interface GemmShape {
  name: string;
  batch: number;
  m: number;
  k: number;
  n: number;
}

/**
 * Every GEMM of the TRM and HRM configurations (C (m, n) = A (m, k) · W (k, n)),
 * at batch 1 and at batch 8 where the batch changes m (rows = batch · positions
 * for the channel MLP, qkv and o_proj; batch · hidden for the MLP-T when the
 * sequences' transposed states are stacked). TRM ARC at batch 8 is left to the
 * full run (--quick skips it); HRM Maze/ARC (901 rows) runs at batch 1.
 */
export function gemmShapes(quick: boolean): GemmShape[] {
  const shapes: GemmShape[] = [];
  const s = dims(SUDOKU_MLP_T);
  const a = dims(ARC_ATTENTION);
  for (const batch of [1, 8]) {
    shapes.push(
      { name: "sud_tmix_gateup", batch, m: batch * s.hidden, k: s.positions, n: 2 * s.interT },
      { name: "sud_tmix_down", batch, m: batch * s.hidden, k: s.interT, n: s.positions },
      { name: "sud_gateup", batch, m: batch * s.positions, k: s.hidden, n: 2 * s.inter },
      { name: "sud_down", batch, m: batch * s.positions, k: s.inter, n: s.hidden },
    );
  }
  const attention = (prefix: string, d: ReturnType<typeof dims>, batch: number): GemmShape[] => [
    { name: `${prefix}_qkv`, batch, m: batch * d.positions, k: d.hidden, n: 3 * d.hidden },
    { name: `${prefix}_oproj`, batch, m: batch * d.positions, k: d.hidden, n: d.hidden },
    { name: `${prefix}_gateup`, batch, m: batch * d.positions, k: d.hidden, n: 2 * d.inter },
    { name: `${prefix}_down`, batch, m: batch * d.positions, k: d.inter, n: d.hidden },
  ];
  for (const batch of quick ? [1] : [1, 8]) shapes.push(...attention("arc", a, batch));
  // HRM: the same blocks over 82 (Sudoku) and 901 (Maze, ARC) positions
  for (const batch of [1, 8]) shapes.push(...attention("hrm_sud", dims(HRM_SUDOKU), batch));
  shapes.push(...attention("hrm_arc", dims(HRM_ARC), 1));
  return shapes;
}
