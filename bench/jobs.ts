// `node bench/jobs.ts [--json FILE] [--throughput-only]`: the figures behind the README's jobs scale table.
//   1. CPU per queue message inside workerd: the Worker runs in wrangler's
//      local harness (its queue consumer, Durable Object and R2 in one workerd
//      process); a job of exactly one full slice (JOB_SLICE_GFLOP of work, as
//      the producer sizes it) goes through POST /v1/jobs, and the CPU that
//      workerd process used from submit to done is read from
//      /proc/<pid>/task/*/schedstat. Shipped trained packs run 16-step slices;
//      the official sizes (random weights, bench/configs.ts) run 1- and 2-step
//      slices (a 16-step slice of them is one puzzle of minutes), so the table
//      scales CPU per GFLOP, which these runs show is the same at 1 and 2 steps.
//   2. Throughput against consumer concurrency: K local Workers at once, each
//      consuming its own queue (miniflare runs one consumer invocation at a
//      time per queue), each with a one-slice job of the shipped Sudoku;
//      puzzles per second over the whole run.
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createTestHarness } from "wrangler";
import { ARC_ATTENTION, SUDOKU_MLP_T } from "./configs.ts";
import { randomSafetensors } from "./random-weights.ts";
import { workerdCpuMs } from "./workerd.ts";
import { type ModelConfig, validateConfig } from "../src/engine/config.ts";
import { stepFlops } from "../src/engine/cost.ts";
import { PACK_FORMAT, PACK_FORMAT_VERSION, manifestConfig, parameterCount, parseManifest, sha256Hex } from "../src/engine/pack.ts";
import { Random } from "../src/generate/random.ts";
import { generateMaze } from "../src/generate/maze.ts";
import { generateSudoku, sudokuString } from "../src/generate/sudoku.ts";

const REPO = resolve(import.meta.dirname, "..");
const SLICE_GFLOP = Number(/^JOB_SLICE_GFLOP = (\d+)/m.exec(readFileSync(join(REPO, "wrangler.toml"), "utf8"))![1]);
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
process.env.WRANGLER_SEND_METRICS ??= "false";

interface Pack {
  name: string;
  manifest: Record<string, unknown> & { seq_len: number };
  weights: Uint8Array;
}

function shipped(name: string): Pack {
  const dir = join(REPO, "weights", name);
  return { name, manifest: JSON.parse(readFileSync(join(dir, "model.json"), "utf8")), weights: new Uint8Array(readFileSync(join(dir, "model.safetensors"))) };
}

/** A pack of seeded random weights at an official size. */
async function official(name: string, task: string, config: ModelConfig): Promise<Pack> {
  const weights = randomSafetensors(config, "f32");
  const manifest = {
    format: PACK_FORMAT, format_version: PACK_FORMAT_VERSION, name, task, arch: config.arch, seq_len: config.seq_len, vocab_size: config.vocab_size,
    num_puzzle_identifiers: config.num_puzzle_identifiers, puzzle_emb_len: config.puzzle_emb_len, rms_norm_eps: config.rms_norm_eps, rope_theta: config.rope_theta,
    weights: { file: "model.safetensors", dtype: "f32", bytes: weights.byteLength, sha256: await sha256Hex(weights), parameters: parameterCount(config) },
    provenance: { source: "bench/jobs.ts: seeded random weights at the official size" },
  };
  return { name, manifest, weights };
}

/** CPU ms of the workerd processes this process started. */
const ownCpuMs = () => workerdCpuMs({ ownOnly: true }) ?? NaN;

interface Worker {
  url: string;
  close(): Promise<void>;
}

async function startWorker(packs: Pack[]): Promise<Worker> {
  const harness = createTestHarness({ workers: [{ configPath: join(REPO, "wrangler.toml") }] });
  const url = (await harness.listen()).url.toString().replace(/\/$/, "");
  const env = (await harness.getWorker().getEnv()) as { MODELS: { put(k: string, v: string | Uint8Array): Promise<unknown> } };
  for (const p of packs) {
    await env.MODELS.put(`models/${p.name}/model.json`, JSON.stringify(p.manifest));
    await env.MODELS.put(`models/${p.name}/model.safetensors`, p.weights);
  }
  return { url, close: () => harness.close() };
}

interface JobStatus {
  id: string;
  state: string;
  counts: { total: number; done: number; failed: number };
  slices: { total: number };
  cpu_ms: number;
}

async function runJob(url: string, model: string, puzzles: unknown[], maxSteps: number): Promise<JobStatus> {
  const res = await fetch(`${url}/v1/jobs`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model, puzzles, options: { max_steps: maxSteps } }) });
  if (res.status !== 202) throw new Error(`submit ${model}: ${res.status} ${await res.text()}`);
  const { id } = (await res.json()) as JobStatus;
  for (;;) {
    await new Promise((r) => setTimeout(r, 250));
    const s = (await (await fetch(`${url}/v1/jobs/${id}`)).json()) as JobStatus;
    if (s.state === "done") {
      if (s.counts.failed) throw new Error(`job ${id} on ${model}: ${s.counts.failed} failed`);
      return s;
    }
  }
}

interface Case {
  name: string; // what the README calls it
  pack: Pack;
  puzzles: (n: number) => unknown[]; // one sequence each
  steps: number[]; // max_steps of the measured one-message jobs
}

interface Measured {
  name: string;
  model: string;
  steps: number;
  puzzles_per_message: number; // as the producer slices at JOB_SLICE_GFLOP
  gflop: number; // matmul work of the message
  workerd_cpu_ms: number; // workerd process CPU from submit to done
  consumer_compute_ms: number; // what the consumer measured around the solve
  cpu_ms_per_gflop: number;
}

/** Puzzles of one sequence in one message at `steps`: what planJob puts in a slice. */
const sliceSize = (p: Pack, steps: number) => Math.max(1, Math.floor(SLICE_GFLOP / ((steps * stepFlops(manifestConfig(parseManifest(p.manifest)))) / 1e9)));

async function measure(worker: Worker, c: Case): Promise<Measured[]> {
  const stepGflop = stepFlops(manifestConfig(parseManifest(c.pack.manifest))) / 1e9;
  await runJob(worker.url, c.pack.name, c.puzzles(1), 1); // loads the model in the isolate
  const out: Measured[] = [];
  for (const steps of c.steps) {
    const n = sliceSize(c.pack, steps);
    const puzzles = c.puzzles(n);
    const before = ownCpuMs();
    const s = await runJob(worker.url, c.pack.name, puzzles, steps);
    const cpu = ownCpuMs() - before;
    if (s.slices.total !== 1) throw new Error(`${c.name}: ${s.slices.total} messages, expected 1`);
    const gflop = n * steps * stepGflop;
    out.push({
      name: c.name, model: c.pack.name, steps, puzzles_per_message: n, gflop: Math.round(gflop), workerd_cpu_ms: Math.round(cpu),
      consumer_compute_ms: s.cpu_ms, cpu_ms_per_gflop: Math.round((cpu / gflop) * 10) / 10,
    });
    console.error(`bench jobs: ${c.name}: ${n} puzzles x ${steps} steps (${gflop.toFixed(0)} GFLOP) in one message: workerd ${Math.round(cpu)} ms CPU, consumer ${s.cpu_ms} ms`);
  }
  return out;
}

const random = new Random(515_151);
const sudokus = (n: number) => Array.from({ length: n }, () => sudokuString(generateSudoku(random, 30).puzzle));
const mazes = (n: number) => Array.from({ length: n }, () => generateMaze(random, 9, 8, 2).maze);
const tokenRows = (config: ModelConfig) => (n: number) =>
  Array.from({ length: n }, () => Array.from({ length: config.seq_len }, () => Math.floor(random.next() * config.vocab_size)));

const ARC_H1: ModelConfig = validateConfig({ ...ARC_ATTENTION, arch: { ...ARC_ATTENTION.arch, H_cycles: 1 } });

async function main() {
  const jsonOut = process.argv.includes("--json") ? process.argv[process.argv.indexOf("--json") + 1] : undefined;
  const throughputOnly = process.argv.includes("--throughput-only"); // part 2 alone
  const packs = [
    shipped("sudoku"),
    shipped("maze"),
    await official("sudoku-official", "sudoku", SUDOKU_MLP_T),
    await official("arc-official", "tokens", ARC_ATTENTION),
    await official("arc-official-h1", "tokens", ARC_H1),
  ];
  const cases: Case[] = [
    { name: "Sudoku, shipped (hidden 64, MLP-T)", pack: packs[0], puzzles: sudokus, steps: [16] },
    { name: "Maze 9x9, shipped (hidden 64, MLP-T)", pack: packs[1], puzzles: mazes, steps: [16] },
    { name: "Sudoku, official size (hidden 512, MLP-T, H3 L6)", pack: packs[2], puzzles: sudokus, steps: [1, 2] },
    { name: "ARC / Maze 30x30, official size (hidden 512, attention, H3 L4)", pack: packs[3], puzzles: tokenRows(ARC_ATTENTION), steps: [1, 2] },
    { name: "ARC, official size at H1 (hidden 512, attention, H1 L4)", pack: packs[4], puzzles: tokenRows(ARC_H1), steps: [1] },
  ];

  // --throughput-only keeps the per-message figures already in the --json file
  const perMessage: Measured[] = throughputOnly && jsonOut ? JSON.parse(readFileSync(jsonOut, "utf8")).per_message : [];
  if (!throughputOnly) {
    const worker = await startWorker(packs);
    try {
      for (const c of cases) perMessage.push(...(await measure(worker, c)));
    } finally {
      await worker.close();
    }
  }

  // Throughput with K consumers at once: K Workers, each with a one-slice job of the shipped Sudoku at 16 steps.
  // cores_used (workerd CPU / wall) shows how much of the machine the consumers got.
  const throughput: { consumers: number; puzzles: number; wall_s: number; puzzles_per_s: number; cores_used: number }[] = [];
  for (const k of [1, 2, 4]) {
    const workers = await Promise.all(Array.from({ length: k }, () => startWorker([packs[0]])));
    try {
      const jobs = workers.map(() => sudokus(sliceSize(packs[0], 16)));
      await Promise.all(workers.map((w) => runJob(w.url, "sudoku", sudokus(1), 1))); // warm: model loaded
      const t0 = performance.now();
      const cpu0 = ownCpuMs();
      await Promise.all(workers.map((w, i) => runJob(w.url, "sudoku", jobs[i], 16)));
      const cores = (ownCpuMs() - cpu0) / (performance.now() - t0);
      const wall = (performance.now() - t0) / 1000;
      const puzzles = k * jobs[0].length;
      throughput.push({ consumers: k, puzzles, wall_s: Math.round(wall * 10) / 10, puzzles_per_s: Math.round((puzzles / wall) * 100) / 100, cores_used: Math.round(cores * 100) / 100 });
      console.error(`bench jobs: ${k} consumer(s): ${puzzles} puzzles in ${wall.toFixed(1)} s = ${(puzzles / wall).toFixed(2)} puzzles/s, ${cores.toFixed(2)} cores`);
    } finally {
      await Promise.all(workers.map((w) => w.close()));
    }
  }
  const report = { slice_gflop: SLICE_GFLOP, per_message: perMessage, throughput, cores: (await import("node:os")).cpus().length, loadavg: (await import("node:os")).loadavg() };
  console.log(JSON.stringify(report, null, 2));
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify(report, null, 2) + "\n");
}

await main();
