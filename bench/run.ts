// The engine benchmark, everything side by side in one run:
//   - the machine's WASM SIMD FMA peak (build/probe.wasm) and read bandwidth;
//   - our GEMM on every TRM and HRM shape (official sizes, batch 1 and 8), next to
//     our bf16-resident and int8 GEMMs, onnxruntime-web and tfjs-wasm on the same
//     shapes and data, and the peak probe, all in the same rounds; our scalar
//     reference on the batch-1 TRM shapes;
//   - the attention kernel; one SwiGLU block in all three engines;
//   - one network call (the L level: TRM 2 blocks, HRM 4) for the official Sudoku
//     MLP-T and ARC/Maze attention TRMs and the published HRM size (Sudoku, and
//     Maze/ARC): ours in Node (f32 and bf16-resident weights) and inside workerd,
//     ours with int8 linear layers, both peers in Node (checked to compute the
//     same thing as ours), and supervision steps;
//   - cold start per configuration (TRM and HRM; f32 where it fits, bf16-resident)
//     in a fresh Node process and in a fresh Worker inside workerd;
//   - memory inside workerd (bench/memory.ts) for every public configuration.
// Prints tables, then one JSON line with every number.
//   npm run bench [-- --quick] [-- --json out.json] [-- --markdown out.md] [-- --no-peers] [-- --no-workerd]
//                 [-- --only gemm,calls,...] [-- --shapes sud_down,...]
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import v8 from "node:v8";
import { dims } from "../src/engine/config.ts";
import { ropeTables } from "../src/engine/inputs.ts";
import { Arena, type Kernels, ensureMemory, instantiateKernels } from "../src/engine/kernels.ts";
import { nodeKernelModule } from "../src/engine/node.ts";
import { layerF32 } from "../src/engine/pack.ts";
import { toBFloat16 } from "../src/engine/safetensors.ts";
import { linear } from "../src/engine/reference.ts";
import { WasmNetwork } from "../src/engine/wasm-network.ts";
import { CONFIGS, type GemmShape, MEMORY_ROWS, RUNTIME_RUNS, callFlops, gemmShapes, isBig } from "./configs.ts";
import { ISOLATE_LIMIT_BYTES, type MemoryRow, memoryInWorkerd } from "./memory.ts";
import { benchNetwork, type NetworkRun } from "./network.ts";
import { nodeContention } from "./node-contention.ts";
import { type PeerEngine, type Runner, onnxruntimeWeb, tfjsWasm, transposed } from "./peers.ts";
import { randomPuzzles, randomWeights, randomWeightsBf16, seededNormal } from "./random-weights.ts";
import { type Plan, type Timing, measure, measureRounds, median, pairedSpeedup, plan } from "./timing.ts";
import { benchInWorkerd } from "./workerd.ts";

const args = process.argv.slice(2);
const QUICK = args.includes("--quick");
const option = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const JSON_OUT = option("--json");
const MARKDOWN_OUT = option("--markdown");
const PEERS = !args.includes("--no-peers");
const WORKERD = !args.includes("--no-workerd");
// --only gemm,attention,...: a subset of the sections (for development; the report needs them all)
const SECTIONS = new Set((option("--only") ?? "gemm,reference,attention,swiglu,calls,cold,workerd,memory").split(","));
// --shapes sud_down,arc_qkv: only the GEMM shapes of these names (for development)
const SHAPES = option("--shapes")?.split(",");

const PLANS = {
  kernel: QUICK ? plan(100, 3, 30) : plan(300, 31, 40),
  call: QUICK ? plan(100, 3, 30) : plan(500, 7, 150),
  bigCall: QUICK ? plan(1, 2, 0) : plan(1000, 5, 0),
  step: QUICK ? plan(1, 2, 0) : plan(200, 5, 150),
  bigStep: QUICK ? plan(0, 1, 0) : plan(0, 2, 0), // its calls were just warmed up
  reference: plan(0, 1, 0),
};
const PROBE_ITERS = 250_000; // 24 MFLOP: about 0.5 ms a call at the peak

const contention = nodeContention;
const progress = (what: string) => process.stderr.write(`bench: ${what}\n`);
const gflops = (flop: number, ms: number) => flop / ms / 1e6;

// ---------------------------------------------------------------- peak probe

interface Probe {
  fma: () => number;
  muladd: () => number;
  dotI8: () => number; // PROBE_ITERS · 192 MACs
  dotI16: () => number; // PROBE_ITERS · 96 MACs
  flop: number;
  bandwidth(): Promise<{ gbs: number; bytes: number }>;
}

interface ProbeExports {
  fma_peak(iters: number, seed: number): number;
  muladd_peak(iters: number, seed: number): number;
  dot_i8_peak(iters: number, seed: number): number;
  dot_i16_peak(iters: number, seed: number): number;
  read_sum(ptr: number, bytes: number): number;
  heap_base(): number;
}

function loadProbe(): Probe {
  const module = new WebAssembly.Module(readFileSync(new URL("../build/probe.wasm", import.meta.url)));
  const memory = new WebAssembly.Memory({ initial: 1 });
  const p = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as ProbeExports;
  return {
    fma: () => p.fma_peak(PROBE_ITERS, 1),
    muladd: () => p.muladd_peak(PROBE_ITERS, 1),
    dotI8: () => p.dot_i8_peak(PROBE_ITERS, 1),
    dotI16: () => p.dot_i16_peak(PROBE_ITERS, 1),
    flop: PROBE_ITERS * 96,
    async bandwidth() {
      const bytes = 64 << 20; // well past the caches
      ensureMemory(memory, p.heap_base() + bytes + 64);
      const base = Math.ceil(p.heap_base() / 64) * 64;
      const t = await measure(() => p.read_sum(base, bytes), plan(100, 5, 0), contention);
      return { gbs: bytes / t.medianMs / 1e6, bytes };
    },
  };
}

// ---------------------------------------------------------------- kernels

interface GemmRow {
  name: string;
  batch: number;
  m: number;
  k: number;
  n: number;
  mflop: number;
  ms: number;
  gflops: number; // ours, median
  best_gflops: number;
  peak_gflops: number; // the FMA probe's median in the same rounds
  fraction_of_peak: number;
  // the same on CPU time (wall · cpu/wall): what is left once waiting for a core is taken out
  cpu_gflops: number | null;
  cpu_peak_gflops: number | null;
  cpu_fraction_of_peak: number | null;
  vs_peers: Record<string, number>; // peer median time / our median time, same rounds
  int8_gops: number; // gemm_i8 (A quantised per call, included), 2·M·K·N ops, same rounds
  int8_vs_f32: number; // our f32 median time / int8 median time
  bf16_gflops: number; // gemm_bf16 (bf16-resident W, widened a panel at a time), same rounds
  bf16_vs_f32: number; // f32 time / bf16 time, median over the rounds (pairedSpeedup): >= 1 is no slower
  // gate_up shapes only (N = 2·inter): the fused SwiGLU kernels the network runs them with, in
  // the network's row chunks; gemm_swiglu time / gemm_swiglu_bf16 time, median over the rounds
  swiglu_bf16_vs_f32: number | null;
  contention: string;
}

interface PeerRow {
  engine: string;
  name: string;
  batch: number;
  m: number;
  k: number;
  n: number;
  ms: number;
  gflops: number;
  cpu_gflops: number | null;
}

/** Fills `floats` floats at byte offset `ptr` with normal values of the given std. */
function fillNormal(memory: WebAssembly.Memory, ptr: number, floats: number, std: number, seed: number): Float32Array {
  const normal = seededNormal(seed);
  const view = new Float32Array(memory.buffer, ptr, floats);
  for (let i = 0; i < floats; i++) view[i] = std * normal();
  return view;
}

/** GFLOP/s on CPU time (wall · cpu/wall): the rate once waiting for a core is taken out; null where CPU time is not measurable. */
function cpuGflops(flop: number, t: Timing): number | null {
  return t.cpuPerWall ? gflops(flop, t.medianMs * t.cpuPerWall) : null;
}

function contentionOf(t: Timing): string {
  return `${t.cpuPerWall === null ? "?" : t.cpuPerWall.toFixed(2)} / ${t.otherVcpus === null ? "?" : t.otherVcpus.toFixed(2)}`;
}

async function benchGemmShape(s: GemmShape, probe: Probe, peers: PeerEngine[]): Promise<{ row: GemmRow; peerRows: PeerRow[] }> {
  const { kernels: k, memory } = instantiateKernels(nodeKernelModule());
  const arena = new Arena(k.heap_base());
  const a = arena.alloc(s.m * s.k);
  const w = arena.alloc(s.n * s.k); // a weight as PyTorch stores it, [out, in]
  const packed = arena.alloc(k.packed_len(s.k, s.n));
  const packedI8 = arena.alloc(Math.ceil(k.packed_i8_bytes(s.k, s.n) / 4));
  const wBf16 = arena.alloc(Math.ceil(s.n * s.k / 2));
  const packedBf16 = arena.alloc(Math.ceil(k.packed_bf16_bytes(s.k, s.n) / 4));
  const quantized = arena.alloc(Math.ceil(k.quantized_rows_bytes(s.m, s.k) / 4));
  const c = arena.alloc(s.m * s.n);
  ensureMemory(memory, arena.end);
  const aData = fillNormal(memory, a, s.m * s.k, 1, 3).slice();
  const wData = fillNormal(memory, w, s.n * s.k, 1 / Math.sqrt(s.k), 4).slice();
  k.pack_nk(w, s.n, s.k, s.k, packed); // once, like model weights: not timed
  k.pack_nk_i8(w, s.n, s.k, s.k, packedI8);
  new Uint8Array(memory.buffer, wBf16, 2 * s.n * s.k).set(toBFloat16(wData));
  k.pack_nk_bf16(wBf16, s.n, s.k, s.k, packedBf16);
  const calls: Record<string, () => unknown> = {
    ours: () => k.gemm(s.m, s.n, s.k, a, s.k, packed, c, s.n, false),
    bf16: () => k.gemm_bf16(s.m, s.n, s.k, a, s.k, packedBf16, c, s.n, false),
    int8: () => k.gemm_i8(s.m, s.n, s.k, a, s.k, packedI8, c, s.n, false, quantized),
    probe: probe.fma,
  };
  if (s.name.endsWith("gateup")) Object.assign(calls, swigluCalls(k, memory, s, a, w, wBf16, c));
  const runners: Runner[] = [];
  const b = peers.length ? transposed(wData, s.n, s.k) : new Float32Array(0);
  for (const p of peers) {
    const r = await p.matmul(s.m, s.k, s.n, b, aData);
    runners.push(r);
    calls[p.name] = () => r.run();
  }
  const t = await measureRounds(calls, PLANS.kernel, contention);
  runners.forEach((r) => r.dispose());
  const flop = 2 * s.m * s.k * s.n;
  const peak = gflops(probe.flop, t.probe.medianMs);
  const ours = t.ours;
  const ourCpu = cpuGflops(flop, ours);
  const cpuPeak = cpuGflops(probe.flop, t.probe);
  return {
    row: {
      name: s.name, batch: s.batch, m: s.m, k: s.k, n: s.n, mflop: flop / 1e6,
      ms: ours.medianMs, gflops: gflops(flop, ours.medianMs), best_gflops: gflops(flop, ours.minMs),
      peak_gflops: peak, fraction_of_peak: gflops(flop, ours.medianMs) / peak,
      cpu_gflops: ourCpu, cpu_peak_gflops: cpuPeak, cpu_fraction_of_peak: ourCpu !== null && cpuPeak ? ourCpu / cpuPeak : null,
      vs_peers: Object.fromEntries(peers.map((p) => [p.name, t[p.name].medianMs / ours.medianMs])),
      int8_gops: gflops(flop, t.int8.medianMs), int8_vs_f32: ours.medianMs / t.int8.medianMs,
      bf16_gflops: gflops(flop, t.bf16.medianMs), bf16_vs_f32: pairedSpeedup(ours, t.bf16),
      swiglu_bf16_vs_f32: t.swiglu ? pairedSpeedup(t.swiglu, t.swigluBf16) : null,
      contention: contentionOf(ours),
    },
    peerRows: peers.map((p) => ({ engine: p.name, name: s.name, batch: s.batch, m: s.m, k: s.k, n: s.n, ms: t[p.name].medianMs, gflops: gflops(flop, t[p.name].medianMs), cpu_gflops: cpuGflops(flop, t[p.name]) })),
  };
}

/**
 * gemm_swiglu and gemm_swiglu_bf16 on a gate_up shape (W (n, k) = [gate | up], inter = n / 2),
 * over A's rows in the chunks the network runs (wasm-network.ts): the MLP-T one sequence's
 * transposed state (hidden rows) per call, the channel MLP MLP_ROWS rows; out goes to c.
 */
function swigluCalls(k: Kernels, memory: WebAssembly.Memory, s: GemmShape, a: number, w: number, wBf16: number, c: number) {
  const inter = s.n / 2;
  const arena = new Arena(c + s.m * s.n * 4);
  const packed = arena.alloc(k.packed_swiglu_len(s.k, inter));
  const packedBf16 = arena.alloc(Math.ceil(k.packed_swiglu_bf16_bytes(s.k, inter) / 4));
  ensureMemory(memory, arena.end);
  k.pack_swiglu(w, inter, s.k, s.k, packed);
  k.pack_swiglu_bf16(wBf16, inter, s.k, s.k, packedBf16);
  const chunk = s.name.includes("tmix") ? s.m / s.batch : MLP_ROWS;
  const chunks = (run: (rows: number, ar: number, out: number) => void) => () => {
    for (let r0 = 0; r0 < s.m; r0 += chunk) run(Math.min(chunk, s.m - r0), a + r0 * s.k * 4, c + r0 * inter * 4);
  };
  return {
    swiglu: chunks((rows, ar, out) => k.gemm_swiglu(rows, inter, s.k, ar, s.k, packed, out, inter)),
    swigluBf16: chunks((rows, ar, out) => k.gemm_swiglu_bf16(rows, inter, s.k, ar, s.k, packedBf16, out, inter)),
  };
}

/** The scalar reference (reference.ts linear, float64 sums) on one shape: one call, it is slow. */
async function benchReference(s: GemmShape): Promise<PeerRow> {
  const normal = seededNormal(5);
  const a = Float32Array.from({ length: s.m * s.k }, normal);
  const w = Float32Array.from({ length: s.n * s.k }, normal);
  const t = await measure(() => linear(a, s.m, s.k, w, s.n), PLANS.reference, contention);
  const flop = 2 * s.m * s.k * s.n;
  return { engine: "scalar reference", name: s.name, batch: s.batch, m: s.m, k: s.k, n: s.n, ms: t.medianMs, gflops: gflops(flop, t.medianMs), cpu_gflops: cpuGflops(flop, t) };
}

interface AttentionRow {
  heads: number;
  seq: number;
  head_dim: number;
  mflop: number;
  ms: number;
  gflops: number; // the two matmuls' FLOPs over the whole time (packing and softmax included)
  contention: string;
}

async function benchAttention(heads: number): Promise<AttentionRow> {
  const { kernels: k, memory } = instantiateKernels(nodeKernelModule());
  const { positions: seq, headDim: d } = dims(CONFIGS.arc);
  const arena = new Arena(k.heap_base());
  const qkv = arena.alloc(seq * 3 * heads * d);
  const out = arena.alloc(seq * heads * d);
  const kpack = arena.alloc(k.packed_len(d, seq));
  const vpack = arena.alloc(k.attention_vpack_len(seq, d));
  const scores = arena.alloc(k.attention_scores_len());
  ensureMemory(memory, arena.end);
  fillNormal(memory, qkv, seq * 3 * heads * d, 1, 5);
  const t = await measure(() => k.attention(qkv, seq, heads, d, out, kpack, vpack, scores), PLANS.kernel, contention);
  const flop = heads * 4 * seq * seq * d;
  return { heads, seq, head_dim: d, mflop: flop / 1e6, ms: t.medianMs, gflops: gflops(flop, t.medianMs), contention: contentionOf(t) };
}

// ---------------------------------------------------------------- SwiGLU block

interface BlockRow {
  engine: string;
  config: string;
  m: number;
  ms: number;
  gflops: number;
}

const MLP_ROWS = 128; // as src/engine/wasm-network.ts runs the channel MLP

/** h = rms_norm(h + down(silu(gate) · up)) in our kernels, the way WasmNetwork runs it. */
function oursSwigluBlock(k: Kernels, memory: WebAssembly.Memory, m: number, configName: string, gateUp: Float32Array, down: Float32Array, x: Float32Array) {
  const { hidden: H, inter } = dims(CONFIGS[configName]);
  const eps = CONFIGS[configName].rms_norm_eps;
  const arena = new Arena(k.heap_base());
  const wgu = arena.alloc(k.packed_swiglu_len(H, inter));
  const wd = arena.alloc(k.packed_len(inter, H));
  const staging = arena.alloc(Math.max(gateUp.length, down.length));
  const h = arena.alloc(m * H);
  const act = arena.alloc(MLP_ROWS * inter);
  ensureMemory(memory, arena.end);
  const f32 = () => new Float32Array(memory.buffer);
  f32().set(gateUp, staging / 4);
  k.pack_swiglu(staging, inter, H, H, wgu);
  f32().set(down, staging / 4);
  k.pack_nk(staging, H, inter, inter, wd);
  f32().set(x, h / 4);
  return () => {
    for (let r0 = 0; r0 < m; r0 += MLP_ROWS) {
      const rows = Math.min(MLP_ROWS, m - r0);
      const hr = h + r0 * H * 4;
      k.gemm_swiglu(rows, inter, H, hr, H, wgu, act, inter);
      k.gemm(rows, H, inter, act, inter, wd, hr, H, true);
    }
    k.rms_norm_rows(h, m, H, H, eps);
  };
}

async function benchSwigluBlocks(peers: PeerEngine[]): Promise<BlockRow[]> {
  const rows: BlockRow[] = [];
  for (const configName of ["sudoku", "arc"]) {
    const config = CONFIGS[configName];
    const { positions: m, hidden: H, inter } = dims(config);
    progress(`swiglu block, ${configName} (${m} rows)`);
    const layer = layerF32(randomWeights(config).levels.L[0]);
    const normal = seededNormal(6);
    const x = Float32Array.from({ length: m * H }, normal);
    const { kernels, memory } = instantiateKernels(nodeKernelModule());
    const calls: Record<string, () => unknown> = { ours: oursSwigluBlock(kernels, memory, m, configName, layer.gateUp, layer.down, x) };
    const runners: Runner[] = [];
    for (const p of peers) {
      const r = await p.swigluBlock(m, config, layer, x);
      runners.push(r);
      calls[p.name] = () => r.run();
    }
    const t = await measureRounds(calls, configName === "arc" && QUICK ? plan(50, 3, 0) : PLANS.call, contention);
    runners.forEach((r) => r.dispose());
    const flop = 2 * m * H * 2 * inter + 2 * m * inter * H;
    for (const [engine, timing] of Object.entries(t)) rows.push({ engine: engine === "ours" ? "trm" : engine, config: configName, m, ms: timing.medianMs, gflops: gflops(flop, timing.medianMs) });
  }
  return rows;
}

// ---------------------------------------------------------------- network calls

interface CallRow {
  config: string;
  runtime: string; // node | workerd
  engine: string; // trm | onnxruntime-web | tfjs-wasm
  batch: number;
  ms: number;
  gflops: number;
  fraction_of_peak: number;
  step_ms: number | null;
  max_abs_diff_vs_trm: number | null; // peers: their output against ours on the same input
  rms_diff_vs_trm: number | null; // trm-int8: rms of its output's difference from ours over the rms of ours
  cpu_per_wall: number | null; // node: our thread's, median over the call samples; workerd: workerd's over the whole request
}

/**
 * Ours (f32 weights), ours bf16-resident, ours with int8 linear layers and the
 * peers on one network call (batch 1: the L level's blocks), in the same
 * rounds, after checking that the peers' graphs compute what ours does:
 * z_L ← blocks(z_L) from the same random z_L (z_H = 0, so the injection adds
 * nothing). The weights are bf16-rounded for every engine, so the bf16-resident
 * network computes exactly what the f32 one does. int8 is not the same
 * computation: its distance from ours is reported, not checked.
 */
async function benchCallsSideBySide(configName: string, peers: PeerEngine[], peak: number): Promise<CallRow[]> {
  const config = CONFIGS[configName];
  const { f32: weights, bf16: bf16Weights } = randomWeightsBf16(config);
  const net = new WasmNetwork(nodeKernelModule(), config, weights);
  const states = randomPuzzles(config, 1).map((p) => net.start(p));
  const normal = seededNormal(9);
  states[0].zL = states[0].zL.map(() => normal());
  states[0].zH.fill(0);
  const x = states[0].zL.slice();
  // One call of `other` from the same z_L, leaving its buffers loaded for timing.
  const callOf = (other: WasmNetwork) => {
    const own = states.map((s) => ({ ...s, zL: x.slice(), zH: s.zH.slice() }));
    const { zH, zL } = other.load(own);
    other.update("L", zL, zH);
    other.store(own);
    return { out: own[0].zL, buffers: other.load(own.map((s) => ({ ...s, zL: x.slice() }))) };
  };
  const f32Call = callOf(net);
  const ours = f32Call.out;
  const bf16 = new WasmNetwork(nodeKernelModule(), config, bf16Weights);
  const bf16Call = callOf(bf16);
  const bf16Diff = ours.reduce((m, v, i) => Math.max(m, Math.abs(v - bf16Call.out[i])), 0);
  if (bf16Diff !== 0) throw new Error(`bf16-resident ${configName} network call differs from f32 on the same values by ${bf16Diff}`);
  const int8 = new WasmNetwork(nodeKernelModule(), config, weights, "int8");
  const int8Call = callOf(int8);
  let err = 0, norm = 0;
  int8Call.out.forEach((v, i) => [err, norm] = [err + (v - ours[i]) ** 2, norm + ours[i] ** 2]);
  const int8Rms = Math.sqrt(err / norm);
  const [b32, b16, b8] = [f32Call.buffers, bf16Call.buffers, int8Call.buffers];
  const calls: Record<string, () => unknown> = {
    ours: () => net.update("L", b32.zL, b32.zH), bf16: () => bf16.update("L", b16.zL, b16.zH), int8: () => int8.update("L", b8.zL, b8.zH),
  };
  const diffs: Record<string, number> = { bf16: bf16Diff };
  const runners: Runner[] = [];
  for (const p of peers) {
    const r = await p.networkCall(config, weights, config.arch.pos_encodings === "rope" ? ropeTables(config) : null, x);
    await r.run();
    const out = r.output();
    let maxDiff = out.length === ours.length ? 0 : Infinity;
    for (let i = 0; i < ours.length; i++) maxDiff = Math.max(maxDiff, Math.abs(out[i] - ours[i]) || (Number.isNaN(out[i]) ? Infinity : 0));
    // The comparison is only fair if both compute the same call: refuse to time a graph that does not.
    if (!(maxDiff <= 1e-3)) throw new Error(`${p.name} ${configName} network call differs from ours by ${maxDiff}: its graph is not the same computation`);
    diffs[p.name] = maxDiff;
    runners.push(r);
    calls[p.name] = () => r.run();
  }
  const t = await measureRounds(calls, isBig(configName) ? PLANS.bigCall : PLANS.call, contention);
  runners.forEach((r) => r.dispose());
  const flop = callFlops(config);
  const engineName: Record<string, string> = { ours: "trm", bf16: "trm-bf16", int8: "trm-int8" };
  return Object.entries(t).map(([name, timing]) => ({
    config: configName, runtime: "node", engine: engineName[name] ?? name, batch: 1,
    ms: timing.medianMs, gflops: gflops(flop, timing.medianMs), fraction_of_peak: gflops(flop, timing.medianMs) / peak,
    step_ms: null, max_abs_diff_vs_trm: diffs[name] ?? null, rms_diff_vs_trm: name === "int8" ? int8Rms : null, cpu_per_wall: timing.cpuPerWall,
  }));
}

function callRow(r: NetworkRun, peak: number, cpuPerWall = r.call.cpuPerWall): CallRow {
  return {
    config: r.config, runtime: r.runtime, engine: r.dtype === "bf16" ? "trm-bf16" : "trm", batch: r.batch, ms: r.ms, gflops: r.gflops,
    fraction_of_peak: r.gflops / peak, step_ms: r.step.medianMs, max_abs_diff_vs_trm: null, rms_diff_vs_trm: null, cpu_per_wall: cpuPerWall,
  };
}

interface ColdRow {
  config: string;
  runtime: string;
  dtype: "f32" | "bf16";
  bootMs?: number;
  importMs?: number;
  compileMs?: number;
  instantiateMs: number;
  unpackMs: number;
  packMs: number;
  firstStepMs: number;
  secondStepMs?: number;
  wasmBytes: number;
  jsHeapBytes: number | null;
  rssBytes?: number;
}

function coldInFreshNode(configName: string, dtype: "f32" | "bf16"): ColdRow {
  const out = execFileSync(process.execPath, [new URL("./cold.ts", import.meta.url).pathname, configName, dtype], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  return JSON.parse(out.trim().split("\n").pop()!) as ColdRow;
}

// ---------------------------------------------------------------- output

function fmt(x: number, digits = 1): string {
  return Number.isFinite(x) ? x.toFixed(digits) : String(x);
}

function ms(x: number): string {
  return x < 10 ? x.toFixed(3) : x < 100 ? x.toFixed(2) : x.toFixed(1);
}

function mib(bytes: number | null | undefined): string {
  return bytes === null || bytes === undefined ? "-" : (bytes / 2 ** 20).toFixed(1);
}

const markdown: string[] = [];

function table(title: string, header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("  ");
  console.log(`\n${title}`);
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of rows) console.log(line(r));
  markdown.push(`\n### ${title}\n`, `| ${header.join(" | ")} |`, `|${header.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`));
}

function text(line: string): void {
  console.log(line);
  markdown.push(line);
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const meta = {
    date: new Date().toISOString(),
    quick: QUICK,
    node: process.version,
    v8: process.versions.v8,
    execArgv: process.execArgv,
    cpu: os.cpus()[0].model,
    cpus: os.cpus().length,
    loadavg_start: os.loadavg(),
    loadavg_end: [] as number[],
    peers: {} as Record<string, string>,
    peer_init_ms: {} as Record<string, number>,
  };

  const probe = loadProbe();
  progress("peak probe");
  const probeT = await measureRounds({ fma: probe.fma, muladd: probe.muladd, dotI8: probe.dotI8, dotI16: probe.dotI16 }, PLANS.kernel, contention);
  const gmacs = (macsPerRound: number, t: Timing) => (PROBE_ITERS * macsPerRound) / t.medianMs / 1e6;
  const bandwidth = await probe.bandwidth();

  const peers: PeerEngine[] = [];
  if (PEERS) {
    progress("starting onnxruntime-web and tfjs-wasm");
    peers.push(await onnxruntimeWeb(), await tfjsWasm());
    for (const p of peers) {
      meta.peers[p.name] = p.version;
      meta.peer_init_ms[p.name] = p.initMs;
    }
  }

  const gemm: GemmRow[] = [];
  const peerRows: PeerRow[] = [];
  for (const s of SECTIONS.has("gemm") ? gemmShapes(QUICK).filter((g) => !SHAPES || SHAPES.includes(g.name)) : []) {
    progress(`gemm ${s.name} batch ${s.batch} (${s.m}×${s.k}×${s.n})`);
    const r = await benchGemmShape(s, probe, peers);
    gemm.push(r.row);
    peerRows.push(...r.peerRows);
  }
  for (const s of SECTIONS.has("reference") ? gemmShapes(true).filter((g) => g.batch === 1) : []) {
    progress(`scalar reference ${s.name}`);
    peerRows.push(await benchReference(s));
  }
  const attention: AttentionRow[] = [];
  for (const heads of SECTIONS.has("attention") ? [1, 8] : []) {
    progress(`attention, ${heads} head(s)`);
    attention.push(await benchAttention(heads));
  }
  const swigluBlock = SECTIONS.has("swiglu") ? await benchSwigluBlocks(peers) : [];

  // The peak for whole-call fractions: the probe's median over all GEMM rounds.
  const peak = gemm.length ? median(gemm.map((g) => g.peak_gflops)) : gflops(probe.flop, probeT.fma.medianMs);
  const calls: CallRow[] = [];
  const nodeRuns: NetworkRun[] = [];
  const callConfigs = [["sudoku", [1, 8]], ["arc", [1]], ["hrm_sudoku", [1]], ["hrm_arc", [1]]] as const;
  for (const [configName, batches] of SECTIONS.has("calls") ? callConfigs : []) {
    progress(`network call side by side, ${configName}`);
    calls.push(...(await benchCallsSideBySide(configName, peers, peak)));
    for (const batch of batches) {
      for (const dtype of ["f32", "bf16"] as const) {
        progress(`network call and step in node, ${configName} batch ${batch}, ${dtype} weights`);
        const big = isBig(configName);
        const run = await benchNetwork(nodeKernelModule(), configName, batch, "node", { call: big ? PLANS.bigCall : PLANS.call, step: big ? PLANS.bigStep : PLANS.step }, contention, undefined, dtype);
        nodeRuns.push(run);
        calls.push(callRow(run, peak));
      }
    }
  }
  const cold: ColdRow[] = [];
  for (const { config, dtype } of SECTIONS.has("cold") ? RUNTIME_RUNS : []) {
    progress(`cold start in a fresh node process, ${config}, ${dtype} weights`);
    cold.push(coldInFreshNode(config, dtype));
  }
  if (WORKERD && SECTIONS.has("workerd")) {
    progress("network call and step inside workerd (a fresh Worker per configuration and weights)");
    for (const run of await benchInWorkerd(RUNTIME_RUNS.map((r) => ({ ...r, batch: 1 })), QUICK)) {
      calls.push(callRow(run, peak, run.workerd_cpu_per_wall));
      cold.push({ config: run.config, runtime: "workerd", dtype: run.dtype, ...run.cold, secondStepMs: run.step.medianMs, wasmBytes: run.memory.wasmBytes, jsHeapBytes: null });
    }
  }
  const memory: MemoryRow[] = [];
  if (WORKERD && SECTIONS.has("memory")) {
    progress("memory of every public configuration inside workerd (a fresh Worker per row)");
    memory.push(...(await memoryInWorkerd(QUICK ? MEMORY_ROWS.filter((r) => r.augmentations < 64) : MEMORY_ROWS)));
  }
  meta.loadavg_end = os.loadavg();

  // ---------------------------------------------------------------- report
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(" ");
  const peerNames = peers.map((p) => p.name);
  text(`TRM engine benchmark${QUICK ? " (--quick)" : ""}, ${meta.date}: node ${meta.node} (V8 ${meta.v8}, flags ${meta.execArgv.join(" ") || "none"}), ${meta.cpu} × ${meta.cpus} vCPUs`);
  text(`peers: ${peers.map((p) => `${p.name} ${p.version} (runtime start ${p.initMs.toFixed(0)} ms)`).join(", ") || "none"}; V8 heap limit ${mib(v8.getHeapStatistics().heap_size_limit)} MiB`);
  text(`load average (1/5/15 min): start ${load(meta.loadavg_start)}, end ${load(meta.loadavg_end)}`);
  text("Medians of wall time over samples after warm-up; engines compared are timed in the same rounds (round-robin), so ratios are fair under load even when absolute numbers move.");
  text("contention = our cpu/wall / other vCPUs busy (cpu/wall < 1: we waited for a core; other processes also slow us at cpu/wall 1).");

  table(
    "WASM SIMD peak (12 independent chains per probe) and read bandwidth",
    ["probe", "GFLOP/s median", "GFLOP/s best", "contention"],
    [
      ["f32x4.relaxed_madd (FMA)", fmt(gflops(probe.flop, probeT.fma.medianMs)), fmt(gflops(probe.flop, probeT.fma.minMs)), contentionOf(probeT.fma)],
      ["f32x4.mul + f32x4.add", fmt(gflops(probe.flop, probeT.muladd.medianMs)), fmt(gflops(probe.flop, probeT.muladd.minMs)), contentionOf(probeT.muladd)],
      ["(int8) i32x4.relaxed_dot_i8x16_i7x16_add_s, GMAC/s (f32 FMA: GFLOP/s ÷ 2)", fmt(gmacs(192, probeT.dotI8)), "-", contentionOf(probeT.dotI8)],
      ["(int16) i32x4.dot_i16x8_s + i32x4.add, GMAC/s", fmt(gmacs(96, probeT.dotI16)), "-", contentionOf(probeT.dotI16)],
      [`read bandwidth, ${bandwidth.bytes >> 20} MiB (GB/s)`, fmt(bandwidth.gbs), "-", "-"],
    ],
  );
  text(`peak used for fractions: ${fmt(peak)} GFLOP/s (median of the FMA probe over the GEMM rounds)`);

  table(
    "GEMM C = A·W, M×K×N, W pre-packed (not timed); peers on the same data in the same rounds",
    ["shape", "batch", "M×K×N", "ms", "GFLOP/s", "probe peak", "% of peak", "CPU-time % of peak", ...peerNames.map((n) => `${n} GFLOP/s`), ...peerNames.map((n) => `× vs ${n}`), "contention"],
    gemm.map((g) => [
      g.name, String(g.batch), `${g.m}×${g.k}×${g.n}`, ms(g.ms), fmt(g.gflops), fmt(g.peak_gflops), fmt(100 * g.fraction_of_peak, 0),
      g.cpu_fraction_of_peak === null ? "-" : fmt(100 * g.cpu_fraction_of_peak, 0),
      ...peerNames.map((n) => fmt(peerRows.find((p) => p.engine === n && p.name === g.name && p.batch === g.batch)!.gflops)),
      ...peerNames.map((n) => fmt(g.vs_peers[n], 2)), g.contention,
    ]),
  );
  table(
    "bf16-resident GEMM (gemm_bf16: W stored as bf16, widened to f32 a panel at a time; half the weight memory and reads), same rounds as the f32 GEMM above (× = median over the rounds of f32 time / bf16 time in that round); gate_up shapes also through the fused SwiGLU kernels (gemm_swiglu ÷ gemm_swiglu_bf16, in the row chunks the network runs them in)",
    ["shape", "batch", "M×K×N", "bf16 GFLOP/s", "f32 GFLOP/s", "bf16 × vs f32", "SwiGLU bf16 × vs f32"],
    gemm.map((g) => [g.name, String(g.batch), `${g.m}×${g.k}×${g.n}`, fmt(g.bf16_gflops), fmt(g.gflops), fmt(g.bf16_vs_f32, 3), g.swiglu_bf16_vs_f32 === null ? "" : fmt(g.swiglu_bf16_vs_f32, 3)]),
  );
  if (gemm.length) {
    const ratios = gemm.flatMap((g) => (g.swiglu_bf16_vs_f32 === null ? [g.bf16_vs_f32] : [g.bf16_vs_f32, g.swiglu_bf16_vs_f32]));
    text(`bf16 × vs f32, lowest over all shapes and both kernels: ${fmt(Math.min(...ratios), 3)}; median ${fmt(median(ratios), 3)}`);
  }
  const i8PeakGops = 2 * gmacs(192, probeT.dotI8);
  table(
    "int8 GEMM (gemm_i8: W int8 per output channel, A quantised per row inside each call), same rounds as the f32 GEMM above",
    ["shape", "batch", "M×K×N", "int8 GOP/s", "% of the int8 dot probe", "f32 GFLOP/s", "int8 × vs f32"],
    gemm.map((g) => [g.name, String(g.batch), `${g.m}×${g.k}×${g.n}`, fmt(g.int8_gops), fmt(100 * g.int8_gops / i8PeakGops, 0), fmt(g.gflops), fmt(g.int8_vs_f32, 2)]),
  );
  table(
    "Scalar reference (reference.ts linear: float64 sums), one call per batch-1 shape",
    ["shape", "M×K×N", "ms", "GFLOP/s", "trm ×"],
    peerRows.filter((p) => p.engine === "scalar reference").map((p) => [p.name, `${p.m}×${p.k}×${p.n}`, ms(p.ms), fmt(p.gflops, 2), fmt(p.ms / gemm.find((g) => g.name === p.name && g.batch === 1)!.ms, 0)]),
  );
  table(
    "Attention kernel, one sequence (FLOPs: the two matmuls; time includes K/V packing and softmax)",
    ["heads", "seq×d", "MFLOP", "ms", "GFLOP/s", "contention"],
    attention.map((a) => [String(a.heads), `${a.seq}×${a.head_dim}`, fmt(a.mflop, 0), ms(a.ms), fmt(a.gflops), a.contention]),
  );
  table(
    "One SwiGLU block: rms_norm(h + down(silu(gate)·up)), same weights and input, same rounds",
    ["config", "rows", "engine", "ms", "GFLOP/s", "trm ×"],
    swigluBlock.map((b) => [b.config, String(b.m), b.engine, ms(b.ms), fmt(b.gflops), fmt(b.ms / swigluBlock.find((o) => o.engine === "trm" && o.config === b.config)!.ms, 2)]),
  );
  table(
    "Network call = the L level's blocks (TRM 2, HRM 4; matmul FLOPs); step = supervision step (H_cycles·(L_cycles+1) calls + lm_head); trm-bf16 = bf16-resident weights",
    ["config", "runtime", "engine", "batch", "ms/call", "GFLOP/s", "% of peak", "step ms", "engine ms / trm ms", "max |diff| vs trm", "rms diff vs trm", "cpu/wall"],
    calls.map((c) => {
      const trm = calls.find((o) => o.config === c.config && o.engine === "trm" && o.runtime === "node" && o.batch === c.batch && o.step_ms === null);
      return [
        c.config, c.runtime, c.engine, String(c.batch), ms(c.ms), fmt(c.gflops), fmt(100 * c.fraction_of_peak, 0), c.step_ms === null ? "-" : ms(c.step_ms),
        trm && c.step_ms === null ? fmt(c.ms / trm.ms, 2) : "-", c.max_abs_diff_vs_trm === null ? "-" : c.max_abs_diff_vs_trm.toExponential(1),
        c.rms_diff_vs_trm === null ? "-" : `${fmt(100 * c.rms_diff_vs_trm, 2)} %`,
        c.cpu_per_wall === null ? "-" : fmt(c.cpu_per_wall, 2),
      ];
    }),
  );
  table(
    "Cold start (batch 1; node: a fresh process, default V8 flags; workerd: a fresh Worker) and memory",
    ["config", "runtime", "weights", "boot ms", "import ms", "compile ms", "instantiate ms", "unpack ms", "pack ms", "1st step ms", "2nd step ms", "wasm memory MiB", "JS heap MiB", "RSS MiB"],
    cold.map((c) => [
      c.config, c.runtime, c.dtype, c.bootMs === undefined ? "-" : fmt(c.bootMs, 0), c.importMs === undefined ? "-" : fmt(c.importMs, 0),
      c.compileMs === undefined ? "-" : fmt(c.compileMs, 1), fmt(c.instantiateMs, 1), fmt(c.unpackMs, 0), fmt(c.packMs, 0),
      fmt(c.firstStepMs, 0), c.secondStepMs === undefined ? "-" : fmt(c.secondStepMs, 0), mib(c.wasmBytes), mib(c.jsHeapBytes), mib(c.rssBytes),
    ]),
  );
  table(
    `Memory inside workerd after one full supervision step (a fresh Worker per row; pack loaded from R2 the way the API Worker does); limit ${mib(ISOLATE_LIMIT_BYTES)} MiB`,
    ["config", "augmentations", "weights", "parameters", "pack MiB", "wasm MiB", "JS heap + ArrayBuffers MiB", "total MiB", "< 128 MiB", "load ms", "step ms", "CPU ms / augmentation / step"],
    memory.map((m) => [
      m.config, String(m.augmentations), m.dtype, (m.parameters / 1e6).toFixed(2) + "M", mib(m.pack_bytes), mib(m.wasm_bytes), mib(m.js_heap_bytes), mib(m.total_bytes),
      m.under_128_mib ? "yes" : "NO", fmt(m.load_ms, 0), fmt(m.step_ms, 0), m.cpu_ms_per_augmentation_step === null ? "-" : fmt(m.cpu_ms_per_augmentation_step, 0),
    ]),
  );
  text(
    "\nNotes: random weights at the official sizes (std 0.6/sqrt(fan_in)). Maze (30×30, vocab 6) has the ARC shapes but for the vocab." +
      " Peers run the same graphs (RoPE included for ARC, MLP-T width 512 for Sudoku), checked against ours (max |diff|);" +
      " tfjs attention is per head with 2-D matMuls, its fast path. trm-int8: our engine with --linear int8 (int8 GOP/s counted as GFLOP/s). workerd has no CPU clock inside the isolate, so its rows are wall" +
      " time at 1 ms resolution; their cpu/wall is the workerd process's CPU (all threads, from /proc) over the whole request." +
      " The node rows run with the flags above.",
  );

  const result = {
    bench: "trm-engine",
    meta,
    peak_gflops: peak,
    peak: {
      fma_gflops: gflops(probe.flop, probeT.fma.medianMs),
      fma_best_gflops: gflops(probe.flop, probeT.fma.minMs),
      muladd_gflops: gflops(probe.flop, probeT.muladd.medianMs),
      fma_gmacs: gflops(probe.flop, probeT.fma.medianMs) / 2,
      dot_i8_gmacs: gmacs(192, probeT.dotI8),
      dot_i16_gmacs: gmacs(96, probeT.dotI16),
      read_bandwidth_gbs: bandwidth.gbs,
    },
    gemm,
    peers: peerRows,
    attention,
    swiglu_block: swigluBlock,
    network_call: calls,
    network_runs: nodeRuns,
    cold,
    memory,
  };
  console.log(JSON.stringify(result));
  if (JSON_OUT) writeFileSync(JSON_OUT, JSON.stringify(result, null, 1) + "\n");
  if (MARKDOWN_OUT) writeFileSync(MARKDOWN_OUT, markdown.join("\n") + "\n");
}

await main();
