// `node bench/jobs-scale.ts bench/jobs-results.json`: the README's jobs scale
// table, computed from bench/jobs.ts's measurements. For each job it slices
// the work as the producer does (JOB_SLICE_GFLOP per message, at least one
// sequence), and prices it with the CPU per GFLOP measured in workerd for
// that model family:
//   messages     ceil(sequences / sequences per message)
//   total CPU    sequences · steps · stepFlops · measured ms per GFLOP
//   wall         ceil(messages / 250) · CPU of one full message (250 concurrent
//                consumers, each on one core at the measured speed; queue
//                latency, cold starts and retries not counted)
//   cost         CPU at $0.02 per million CPU-ms, plus per message one consumer
//                invocation ($0.30/M requests), 3 queue operations ($0.40/M),
//                one R2 write ($4.50/M) and 2 Durable Object requests ($0.15/M)
//                (Cloudflare's Workers Paid list prices)
import { readFileSync } from "node:fs";
import { ARC_ATTENTION, SUDOKU_MLP_T } from "./configs.ts";
import { type ModelConfig, validateConfig } from "../src/engine/config.ts";
import { stepFlops } from "../src/engine/cost.ts";
import { manifestConfig, parseManifest } from "../src/engine/pack.ts";

const CONSUMERS = 250;
const USD = { cpuMs: 0.02 / 1e6, request: 0.3 / 1e6, queueOp: 0.4 / 1e6, r2Write: 4.5 / 1e6, doRequest: 0.15 / 1e6 };
const PER_MESSAGE_USD = USD.request + 3 * USD.queueOp + USD.r2Write + 2 * USD.doRequest;
const ARC_EVAL_INPUTS = 419; // ARC-AGI-1 evaluation test inputs

interface Report {
  slice_gflop: number;
  per_message: { model: string; cpu_ms_per_gflop: number }[];
}

const report = JSON.parse(readFileSync(process.argv[2] ?? "bench/jobs-results.json", "utf8")) as Report;
const rate = (model: string) => {
  const runs = report.per_message.filter((m) => m.model === model);
  if (!runs.length) throw new Error(`no measurement for ${model}`);
  return runs.reduce((s, m) => s + m.cpu_ms_per_gflop, 0) / runs.length;
};
const shipped = (name: string) => manifestConfig(parseManifest(JSON.parse(readFileSync(`weights/${name}/model.json`, "utf8"))));
const withH = (c: ModelConfig, h: number) => validateConfig({ ...c, arch: { ...c.arch, H_cycles: h } });

interface Job {
  what: string;
  config: ModelConfig;
  measured: string; // model whose CPU per GFLOP prices it
  sequences: number;
  steps: number;
}

const jobs: Job[] = [
  { what: "10,000 Sudokus, shipped model", config: shipped("sudoku"), measured: "sudoku", sequences: 10_000, steps: 16 },
  { what: "1,000,000 Sudokus, shipped model", config: shipped("sudoku"), measured: "sudoku", sequences: 1_000_000, steps: 16 },
  { what: "10,000 mazes 9x9, shipped model", config: shipped("maze"), measured: "maze", sequences: 10_000, steps: 16 },
  { what: "10,000 Sudokus, official size", config: SUDOKU_MLP_T, measured: "sudoku-official", sequences: 10_000, steps: 16 },
  ...[1, 8, 1000].flatMap((aug) => [
    { what: `ARC-AGI-1 eval, ${aug} aug., H3 x 16 steps`, config: ARC_ATTENTION, measured: "arc-official", sequences: ARC_EVAL_INPUTS * aug, steps: 16 },
    { what: `ARC-AGI-1 eval, ${aug} aug., H1 x 4 steps`, config: withH(ARC_ATTENTION, 1), measured: "arc-official-h1", sequences: ARC_EVAL_INPUTS * aug, steps: 4 },
  ]),
];

const fmtTime = (ms: number) => {
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 7_200_000) return `${(ms / 60_000).toFixed(1)} min`;
  const h = ms / 3_600_000;
  return h < 100 ? `${h.toFixed(1)} h` : `${Math.round(h).toLocaleString("en-US")} h`;
};
const fmtUsd = (x: number) => (x < 0.01 ? `$${x.toFixed(4)}` : x < 100 ? `$${x.toFixed(2)}` : `$${Math.round(x).toLocaleString("en-US")}`);

const rows = jobs.map((j) => {
  const seqGflop = (j.steps * stepFlops(j.config)) / 1e9;
  const perMessage = Math.max(1, Math.floor(report.slice_gflop / seqGflop));
  const messages = Math.ceil(j.sequences / perMessage);
  const msPerGflop = rate(j.measured);
  const cpuMs = j.sequences * seqGflop * msPerGflop;
  const messageMs = perMessage * seqGflop * msPerGflop;
  const wallMs = Math.ceil(messages / CONSUMERS) * messageMs;
  const cost = cpuMs * USD.cpuMs + messages * PER_MESSAGE_USD;
  return `| ${j.what} | ${j.sequences.toLocaleString("en-US")} | ${perMessage} | ${messages.toLocaleString("en-US")} | ${fmtTime(messageMs)} | ${fmtTime(cpuMs)} | ${fmtTime(wallMs)} | ${fmtUsd(cost)} |`;
});
console.log(
  [
    "| job | sequences | per message | messages | CPU per message | total CPU | wall at 250 consumers | cost |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows,
  ].join("\n"),
);
