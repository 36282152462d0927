// Matmul FLOPs of the recursion, from the config: what the bench divides by
// time for GFLOP/s, and what the Worker multiplies out to refuse work that
// cannot fit a request's CPU budget. Elementwise work is not counted.
import { type ModelConfig, dims } from "./config.ts";

/** One network call (L_layers blocks) on one sequence. */
export function callFlops(cfg: ModelConfig): number {
  const { hidden: H, positions: L, inter: I, interT: It } = dims(cfg);
  const mix = cfg.arch.mlp_t
    ? 2 * H * L * 2 * It + 2 * H * It * L
    : 2 * L * H * 3 * H + 4 * L * L * H + 2 * L * H * H; // qkv, q·kᵀ and p·v over all heads, o_proj
  const mlp = 2 * L * H * 2 * I + 2 * L * I * H;
  return cfg.arch.L_layers * (mix + mlp);
}

/** One supervision step on one sequence: hCycles·(L_cycles+1) calls and the lm_head. */
export function stepFlops(cfg: ModelConfig, hCycles = cfg.arch.H_cycles): number {
  const { hidden: H, seqLen, vocab } = dims(cfg);
  return hCycles * (cfg.arch.L_cycles + 1) * callFlops(cfg) + 2 * seqLen * H * vocab;
}
