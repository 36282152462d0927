// The official model sizes the bench times (random weights), their matmul
// FLOPs, and the GEMM shapes they run. Platform-free: Node and workerd share it.
import { type ArchConfig, MODEL_DEFAULTS, type ModelConfig, dims, validateConfig } from "../src/engine/config.ts";

const OFFICIAL_ARCH: ArchConfig = {
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

export const CONFIGS: Record<string, ModelConfig> = { sudoku: SUDOKU_MLP_T, arc: ARC_ATTENTION };

export { callFlops, stepFlops } from "../src/engine/cost.ts";

export interface GemmShape {
  name: string;
  batch: number;
  m: number;
  k: number;
  n: number;
}

/**
 * Every GEMM of the two configurations (C (m, n) = A (m, k) · W (k, n)), at
 * batch 1 and at batch 8 where the batch changes m (rows = batch · positions
 * for the channel MLP, qkv and o_proj; batch · hidden for the MLP-T when the
 * sequences' transposed states are stacked). ARC at batch 8 is left to the
 * full run (--quick skips it).
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
  for (const batch of quick ? [1] : [1, 8]) {
    shapes.push(
      { name: "arc_qkv", batch, m: batch * a.positions, k: a.hidden, n: 3 * a.hidden },
      { name: "arc_oproj", batch, m: batch * a.positions, k: a.hidden, n: a.hidden },
      { name: "arc_gateup", batch, m: batch * a.positions, k: a.hidden, n: 2 * a.inter },
      { name: "arc_down", batch, m: batch * a.positions, k: a.inter, n: a.hidden },
    );
  }
  return shapes;
}
