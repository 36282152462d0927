// What an ARC request costs before it runs: matmul FLOPs of the sequences
// and steps it asks for, and the CPU time that means at a given rate. The
// Worker refuses, with these numbers, work that cannot fit its CPU budget.
import type { ModelConfig } from "../../engine/config.ts";
import { stepFlops } from "../../engine/cost.ts";

export interface WorkEstimate {
  sequences: number;
  steps: number;
  h_cycles: number;
  gflop: number;
  cpu_ms: number; // at `gflops`
}

export function estimateWork(config: ModelConfig, sequences: number, steps: number, hCycles: number, gflops: number): WorkEstimate {
  const gflop = (sequences * steps * stepFlops(config, hCycles)) / 1e9;
  return { sequences, steps, h_cycles: hCycles, gflop: Math.round(gflop * 10) / 10, cpu_ms: Math.round(gflop / gflops * 1000) };
}
