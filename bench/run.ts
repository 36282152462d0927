// The engine benchmark: the GEMM and attention kernels on the TRM shapes, then
// network calls (one L_level call = L_layers blocks) and supervision steps for
// the shared golden configs and the official model sizes with random weights.
// Prints readable tables, then one JSON line with every number.
//   npm run bench [-- --quick]      (--quick: few repetitions, a smoke run)
import { readFileSync } from "node:fs";
import os from "node:os";
import { join, resolve } from "node:path";
import { convert } from "../src/convert/convert.ts";
import { type ArchConfig, MODEL_DEFAULTS, type ModelConfig, dims, validateConfig } from "../src/engine/config.ts";
import { Arena, type Kernels, ensureMemory, instantiateKernels } from "../src/engine/kernels.ts";
import { nodeKernelModule } from "../src/engine/node.ts";
import { type Weights, loadPack } from "../src/engine/pack.ts";
import { supervisionStep } from "../src/engine/recursion.ts";
import { WasmNetwork } from "../src/engine/wasm-network.ts";
import { randomPuzzles, randomWeights, seededNormal } from "./random-weights.ts";
import { type Plan, type Timing, measure } from "./timing.ts";

const QUICK = process.argv.includes("--quick");
const GOLDEN_DIR = join(process.env.TRM_SHARED ?? resolve(import.meta.dirname, "../../shared"), "golden");
const PEER_LABEL = "peer-bench.md (other run, not side by side)";

// Cheap work is repeated inside a sample until it lasts sampleMs; the ARC
// model's calls (~0.5 s) and steps (~15 calls) are timed one at a time.
const PLANS = {
  kernel: QUICK ? plan(100, 3, 30) : plan(300, 9, 150),
  call: QUICK ? plan(100, 3, 30) : plan(500, 9, 150),
  step: QUICK ? plan(1, 2, 0) : plan(200, 5, 150),
  bigCall: QUICK ? plan(1, 2, 0) : plan(1000, 5, 0),
  bigStep: QUICK ? plan(0, 1, 0) : plan(0, 2, 0), // its calls were just warmed up
};

function plan(warmupMs: number, samples: number, sampleMs: number): Plan {
  return { warmupMs, samples, sampleMs };
}

// ---------------------------------------------------------------- kernels

interface GemmShape {
  name: string;
  m: number;
  k: number;
  n: number;
  peer?: { ortWeb: number; tfjs: number }; // peer-bench.md §2, rep 4, CPU-time GFLOP/s medians
}

const GEMM_SHAPES: GemmShape[] = [
  { name: "sud_gateup", m: 97, k: 512, n: 3072, peer: { ortWeb: 26.3, tfjs: 32.8 } },
  { name: "sud_down", m: 97, k: 1536, n: 512, peer: { ortWeb: 26.9, tfjs: 33.6 } },
  { name: "sud_tmix_gateup (It 256)", m: 512, k: 97, n: 512, peer: { ortWeb: 26.0, tfjs: 30.2 } },
  { name: "sud_tmix_down (It 256)", m: 512, k: 256, n: 97, peer: { ortWeb: 22.6, tfjs: 31.2 } },
  // The official MLP-T width over 97 positions is swigluWidth(97, 4) = 512, not the 256 peer-bench used.
  { name: "sud_tmix_gateup (It 512)", m: 512, k: 97, n: 1024 },
  { name: "sud_tmix_down (It 512)", m: 512, k: 512, n: 97 },
  { name: "arc_qkv", m: 916, k: 512, n: 1536, peer: { ortWeb: 26.2, tfjs: 34.8 } },
  { name: "arc_oproj", m: 916, k: 512, n: 512, peer: { ortWeb: 27.3, tfjs: 33.5 } },
  { name: "arc_gateup", m: 916, k: 512, n: 3072, peer: { ortWeb: 24.5, tfjs: 31.4 } },
  { name: "arc_down", m: 916, k: 1536, n: 512, peer: { ortWeb: 25.5, tfjs: 34.3 } },
];

// peer-bench.md §3, rep 4, median ms: ort-web MatMul/Softmax/MatMul and tfjs per-head 2-D matMul.
const ATTENTION_PEER: Record<number, { ortWeb: number; tfjs: number }> = {
  1: { ortWeb: 9.8, tfjs: 8.8 },
  8: { ortWeb: 76.3, tfjs: 96.9 },
};
const ATTENTION_SEQ = 916;
const ATTENTION_HEAD_DIM = 64;

interface KernelResult extends Timing {
  name: string;
  shape: string;
  mflop: number;
  gflops: number; // median
  bestGflops: number;
}

function kernelResult(name: string, shape: string, flop: number, t: Timing): KernelResult {
  return { name, shape, mflop: flop / 1e6, ...t, gflops: flop / t.medianMs / 1e6, bestGflops: flop / t.minMs / 1e6 };
}

/** Fills `floats` floats at byte offset `ptr` with normal values of the given std. */
function fillNormal(memory: WebAssembly.Memory, ptr: number, floats: number, std: number, seed: number): void {
  const normal = seededNormal(seed);
  const view = new Float32Array(memory.buffer, ptr, floats);
  for (let i = 0; i < floats; i++) view[i] = std * normal();
}

function benchGemm(k: Kernels, memory: WebAssembly.Memory, s: GemmShape): KernelResult {
  const arena = new Arena(k.heap_base());
  const a = arena.alloc(s.m * s.k);
  const w = arena.alloc(s.n * s.k); // a weight as PyTorch stores it, [out, in]
  const packed = arena.alloc(k.packed_len(s.k, s.n));
  const c = arena.alloc(s.m * s.n);
  ensureMemory(memory, arena.end);
  fillNormal(memory, a, s.m * s.k, 1, 3);
  fillNormal(memory, w, s.n * s.k, 1 / Math.sqrt(s.k), 4);
  k.pack_nk(w, s.n, s.k, s.k, packed); // once, like model weights: not timed
  const t = measure(() => k.gemm(s.m, s.n, s.k, a, s.k, packed, c, s.n, false), PLANS.kernel);
  return kernelResult(s.name, `${s.m}×${s.k}×${s.n}`, 2 * s.m * s.k * s.n, t);
}

/** The attention kernel on one sequence; its time includes packing K and V and the softmax. */
function benchAttention(k: Kernels, memory: WebAssembly.Memory, heads: number): KernelResult {
  const seq = ATTENTION_SEQ;
  const d = ATTENTION_HEAD_DIM;
  const arena = new Arena(k.heap_base());
  const qkv = arena.alloc(seq * 3 * heads * d);
  const out = arena.alloc(seq * heads * d);
  const kpack = arena.alloc(k.packed_len(d, seq));
  const vpack = arena.alloc(k.packed_len(seq, d));
  const scores = arena.alloc((k.attention_query_block.value as number) * seq);
  ensureMemory(memory, arena.end);
  fillNormal(memory, qkv, seq * 3 * heads * d, 1, 5);
  const t = measure(() => k.attention(qkv, seq, heads, d, out, kpack, vpack, scores), PLANS.kernel);
  return kernelResult(`attention ${heads} head${heads > 1 ? "s" : ""}`, `${seq}×${d}×${heads}`, heads * 4 * seq * seq * d, t);
}

// ---------------------------------------------------------------- networks

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
const SUDOKU_MLP_T: ModelConfig = validateConfig({
  arch: { ...OFFICIAL_ARCH, mlp_t: true },
  seq_len: 81,
  vocab_size: 11,
  num_puzzle_identifiers: 1,
  puzzle_emb_len: 16,
  ...MODEL_DEFAULTS,
});

// ARC-AGI with attention + RoPE: a 30×30 grid + 16 puzzle positions; the paper
// uses L_cycles 4 for ARC and Maze. The real ARC puzzle-id count only sizes the
// embedding table (memory), not the compute, so 1 id is used here.
const ARC_ATTENTION: ModelConfig = validateConfig({
  arch: { ...OFFICIAL_ARCH, L_cycles: 4, pos_encodings: "rope" },
  seq_len: 900,
  vocab_size: 12,
  num_puzzle_identifiers: 1,
  puzzle_emb_len: 16,
  ...MODEL_DEFAULTS,
});

interface NetworkCase {
  name: string;
  config: ModelConfig;
  weights: Weights;
  batches: number[];
  callPlan: Plan;
  stepPlan: Plan;
  peerCallMs?: string; // batch 1, peer-bench.md §0/§4
}

interface NetworkResult {
  name: string;
  batch: number;
  positions: number;
  callsPerStep: number;
  mflopPerCall: number; // matmul FLOPs only
  call: Timing;
  callGflops: number; // median
  step: Timing;
  peerCallMs?: string;
}

/** Matmul FLOPs of one network call on one sequence (elementwise work not counted). */
function callFlops(cfg: ModelConfig): number {
  const { hidden: H, positions: L, inter: I, interT: It } = dims(cfg);
  const mix = cfg.arch.mlp_t
    ? 2 * H * L * 2 * It + 2 * H * It * L
    : 2 * L * H * 3 * H + 4 * L * L * H + 2 * L * H * H; // qkv, q·kᵀ and p·v over all heads, o_proj
  const mlp = 2 * L * H * 2 * I + 2 * L * I * H;
  return cfg.arch.L_layers * (mix + mlp);
}

function benchNetwork(c: NetworkCase): NetworkResult[] {
  const net = new WasmNetwork(nodeKernelModule(), c.config, c.weights);
  const { H_cycles, L_cycles } = c.config.arch;
  return c.batches.map((batch) => {
    progress(`${c.name}, batch ${batch}`);
    const states = randomPuzzles(c.config, batch).map((p) => net.start(p));
    const { zH, zL, x } = net.load(states);
    const call = measure(() => net.update(zL, zH, x), c.callPlan); // z_L = net(z_L, z_H + x), the common call
    const step = measure(() => supervisionStep(net, states), c.stepPlan);
    const flop = batch * callFlops(c.config);
    return {
      name: c.name,
      batch,
      positions: dims(c.config).positions,
      callsPerStep: H_cycles * (L_cycles + 1),
      mflopPerCall: flop / 1e6,
      call,
      callGflops: flop / call.medianMs / 1e6,
      step,
      ...(batch === 1 && c.peerCallMs ? { peerCallMs: c.peerCallMs } : {}),
    };
  });
}

/** A golden case converted in-process from its checkpoint.pt and all_config.yaml, as `trm convert` would. */
async function goldenCase(name: string): Promise<NetworkCase> {
  const dir = join(GOLDEN_DIR, name);
  const converted = await convert({
    checkpoint: new Uint8Array(readFileSync(join(dir, "checkpoint.pt"))),
    checkpointName: join(dir, "checkpoint.pt"),
    configYaml: readFileSync(join(dir, "all_config.yaml"), "utf8"),
    configName: join(dir, "all_config.yaml"),
    name,
    converter: "trm-worker bench",
  });
  const pack = await loadPack(converted.manifest, converted.safetensors);
  return { name: `golden ${name}`, config: pack.config, weights: pack.weights, batches: [1, 4], callPlan: PLANS.call, stepPlan: PLANS.step };
}

// ---------------------------------------------------------------- output

function progress(what: string): void {
  process.stderr.write(`bench: ${what}\n`);
}

/** "cpu/wall / other vCPUs busy" of one measurement. */
function contention(t: Timing): string {
  return `${t.cpuPerWall.toFixed(2)} / ${t.otherVcpus === null ? "?" : t.otherVcpus.toFixed(2)}`;
}

function ms(x: number): string {
  return x < 10 ? x.toFixed(3) : x < 100 ? x.toFixed(2) : x.toFixed(1);
}

function printTable(title: string, header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("  ");
  console.log(`\n${title}`);
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of rows) console.log(line(r));
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
    loadavgStart: os.loadavg(),
    loadavgEnd: [] as number[],
  };

  const { kernels, memory } = instantiateKernels(nodeKernelModule());
  const gemm = GEMM_SHAPES.map((s) => {
    progress(`gemm ${s.name}`);
    return benchGemm(kernels, memory, s);
  });
  const attention = [1, 8].map((heads) => {
    progress(`attention, ${heads} head(s)`);
    return benchAttention(kernels, memory, heads);
  });

  const cases: NetworkCase[] = [
    await goldenCase("att_rope"),
    await goldenCase("mlp_t"),
    {
      name: "sudoku mlp_t 512",
      config: SUDOKU_MLP_T,
      weights: randomWeights(SUDOKU_MLP_T),
      batches: [1, 4],
      callPlan: PLANS.call,
      stepPlan: PLANS.step,
      peerCallMs: "40–45 (It 256)",
    },
    {
      name: "arc att+rope 512",
      config: ARC_ATTENTION,
      weights: randomWeights(ARC_ATTENTION),
      batches: [1],
      callPlan: PLANS.bigCall,
      stepPlan: PLANS.bigStep,
      peerCallMs: "550–650 (no RoPE)",
    },
  ];
  const networks = cases.flatMap(benchNetwork);
  meta.loadavgEnd = os.loadavg();

  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(" ");
  console.log(`TRM engine benchmark${QUICK ? " (--quick)" : ""}: node ${meta.node}, V8 ${meta.v8}, ${meta.cpu} × ${meta.cpus}`);
  console.log(`load average (1/5/15 min): start ${load(meta.loadavgStart)}, end ${load(meta.loadavgEnd)}`);
  console.log("wall time per call (performance.now); median and min over samples after warm-up");
  console.log("contention = cpu/wall / other vCPUs busy: cpu/wall < 1 means we waited for a core; other processes' CPU use slows us even at cpu/wall 1");

  printTable(
    "GEMM C = A·B, M×K×N, B pre-packed (not timed)",
    ["shape", "M×K×N", "MFLOP", "ms median", "GFLOP/s median", "GFLOP/s best", "contention", `ort-web / tfjs-wasm GFLOP/s, ${PEER_LABEL}`],
    gemm.map((r, i) => {
      const peer = GEMM_SHAPES[i].peer;
      return [r.name, r.shape, r.mflop.toFixed(0), ms(r.medianMs), r.gflops.toFixed(1), r.bestGflops.toFixed(1), contention(r), peer ? `${peer.ortWeb} / ${peer.tfjs}` : "-"];
    }),
  );
  printTable(
    `Attention kernel, seq ${ATTENTION_SEQ}, head dim ${ATTENTION_HEAD_DIM} (FLOPs: the two matmuls only; time includes K/V packing and softmax)`,
    ["what", "seq×d×heads", "MFLOP", "ms median", "ms min", "GFLOP/s median", "contention", `ort-web / tfjs-2d ms, ${PEER_LABEL}`],
    attention.map((r, i) => {
      const peer = ATTENTION_PEER[[1, 8][i]];
      return [r.name, r.shape, r.mflop.toFixed(0), ms(r.medianMs), ms(r.minMs), r.gflops.toFixed(1), contention(r), `${peer.ortWeb} / ${peer.tfjs}`];
    }),
  );
  printTable(
    "Network: call = net.update(z, a, b) (L_layers blocks); step = supervisionStep (H_cycles·(L_cycles+1) calls + readout)",
    ["config", "batch", "positions", "MFLOP/call", "call ms median", "call ms min", "call GFLOP/s", "calls/step", "step ms median", "step ms min", "contention call", "contention step", `ms/call, ${PEER_LABEL}`],
    networks.map((r) => [
      r.name, String(r.batch), String(r.positions), r.mflopPerCall.toFixed(0),
      ms(r.call.medianMs), ms(r.call.minMs), r.callGflops.toFixed(1), String(r.callsPerStep),
      ms(r.step.medianMs), ms(r.step.minMs), contention(r.call), contention(r.step), r.peerCallMs ?? "-",
    ]),
  );
  console.log(
    "\nNotes: random weights for the official sizes (std 0.6/sqrt(fan_in)). Maze (30×30, vocab 6) has the ARC shapes but for the vocab," +
      " which only sizes embed_tokens and lm_head, so it costs the same as the ARC row. Peer numbers are CPU-time medians from another" +
      " session (ort-web 1.30 and tfjs-wasm 4.22, --no-liftoff); they are a reference, not a side-by-side ratio. Peer Sudoku blocks used an" +
      " MLP-T width of 256 (the official width over 97 positions is 512); peer ARC blocks had no RoPE.",
  );
  console.log(JSON.stringify({ bench: "trm-engine", meta, gemm, attention, networks }));
}

await main();
