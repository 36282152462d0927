// One configuration's network call and supervision step on our engine, with
// its cold-start pieces and memory. Platform-free: Node (bench/run.ts) and
// workerd (bench/workerd/worker.ts) run this same code on the same module.
import { dims } from "../src/engine/config.ts";
import { instantiateKernels } from "../src/engine/kernels.ts";
import { supervisionStep } from "../src/engine/recursion.ts";
import { WasmNetwork } from "../src/engine/wasm-network.ts";
import { CONFIGS, callFlops, callsPerStep, stepFlops } from "./configs.ts";
import { randomPuzzles, randomSafetensors, unpackSafetensors } from "./random-weights.ts";
import { type Contention, type Plan, type Timing, measure } from "./timing.ts";

export interface NetworkPlans {
  call: Plan;
  step: Plan;
}

export interface NetworkRun {
  config: string;
  runtime: string;
  dtype: "f32" | "bf16"; // the pack's: bf16 stays bf16 in wasm memory (gemm_bf16)
  batch: number;
  positions: number;
  callsPerStep: number;
  mflopPerCall: number; // matmul FLOPs only
  ms: number; // median ms per network call
  gflops: number; // median
  call: Timing;
  step: Timing;
  stepGflops: number;
  cold: {
    instantiateMs: number; // a kernels instance with its memory (the module is already compiled)
    unpackMs: number; // safetensors → weights (parse, check, views)
    packMs: number; // WasmNetwork: instantiate + pack every weight into GEMM panels
    firstStepMs: number; // the first supervision step, V8 tiering included
  };
  memory: {
    wasmBytes: number; // the instance's WebAssembly memory after the steps: its peak, since it never shrinks
    jsHeapBytes: number | null; // used JS heap after the steps (null: not visible here)
  };
}

export async function benchNetwork(
  module: WebAssembly.Module, configName: string, batch: number, runtime: string, plans: NetworkPlans,
  contention?: Contention, jsHeapBytes?: () => number, dtype: "f32" | "bf16" = "f32",
): Promise<NetworkRun> {
  const config = CONFIGS[configName];
  const bytes = randomSafetensors(config, dtype);
  let t = performance.now();
  instantiateKernels(module);
  const instantiateMs = performance.now() - t;
  t = performance.now();
  const weights = unpackSafetensors(config, bytes);
  const unpackMs = performance.now() - t;
  t = performance.now();
  const net = new WasmNetwork(module, config, weights);
  const packMs = performance.now() - t;
  t = performance.now();
  const states = randomPuzzles(config, batch).map((p) => net.start(p));
  supervisionStep(net, states);
  const firstStepMs = performance.now() - t;

  const { zH, zL, x } = net.load(states);
  const call = await measure(() => net.update("L", zL, zH, x), plans.call, contention); // z_L = net(z_L, z_H + x), the common call
  const step = await measure(() => supervisionStep(net, states), plans.step, contention);
  const flop = batch * callFlops(config);
  return {
    config: configName,
    runtime,
    dtype,
    batch,
    positions: dims(config).positions,
    callsPerStep: callsPerStep(config),
    mflopPerCall: flop / 1e6,
    ms: call.medianMs,
    gflops: flop / call.medianMs / 1e6,
    call,
    step,
    stepGflops: (batch * stepFlops(config)) / step.medianMs / 1e6,
    cold: { instantiateMs, unpackMs, packMs, firstStepMs },
    memory: { wasmBytes: net.memoryBytes, jsHeapBytes: jsHeapBytes ? jsHeapBytes() : null },
  };
}
