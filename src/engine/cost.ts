// Matmul FLOPs of the recursion, from the config: what the bench divides by
// time for GFLOP/s, and what the Worker multiplies out to refuse work that
// cannot fit a request's CPU budget. Elementwise work is not counted.
import { type ModelConfig, dims } from "./config.ts";

/** One block on one sequence. */
function blockFlops(cfg: ModelConfig): number {
  const { hidden: H, positions: L, inter: I, interT: It } = dims(cfg);
  const mix = cfg.arch.mlp_t
    ? 2 * H * L * 2 * It + 2 * H * It * L
    : 2 * L * H * 3 * H + 4 * L * L * H + 2 * L * H * H; // qkv, q·kᵀ and p·v over all heads, o_proj
  return mix + 2 * L * H * 2 * I + 2 * L * I * H;
}

/** One network call (the L level: L_layers blocks) on one sequence. */
export function callFlops(cfg: ModelConfig): number {
  return cfg.arch.L_layers * blockFlops(cfg);
}

/** Network calls per supervision step: hCycles·(L_cycles + 1) (an HRM's H-level calls run H_layers blocks). */
export function callsPerStep(cfg: ModelConfig, hCycles = cfg.arch.H_cycles): number {
  return hCycles * (cfg.arch.L_cycles + 1);
}

/** One supervision step on one sequence: hCycles·(L_cycles L-level calls + one H-level call) and the lm_head. */
export function stepFlops(cfg: ModelConfig, hCycles = cfg.arch.H_cycles): number {
  const { hidden: H, seqLen, vocab } = dims(cfg);
  const hLayers = cfg.arch.family === "hrm" ? cfg.arch.H_layers : cfg.arch.L_layers;
  return hCycles * (cfg.arch.L_cycles * cfg.arch.L_layers + hLayers) * blockFlops(cfg) + 2 * seqLen * H * vocab;
}
