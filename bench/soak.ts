// Memory across requests, in workerd: the real Worker (wrangler.toml: local R2
// seeded with every shipped pack as `npm start` seeds it, queues, the job
// Durable Object, the rate limiter on) takes `requests` requests in a fixed
// mix, one after another over HTTP, and every `every` requests we record:
//   js_heap_used_bytes / js_heap_total_bytes: the isolate's JS heap in use and
//     committed, after a forced GC (inspector HeapProfiler.collectGarbage, then
//     Runtime.getHeapUsage), and js_array_buffer_bytes, its ArrayBuffer backing stores;
//   wasm_bytes: every WebAssembly.Memory alive in the isolate (one per loaded
//     model's engine), found with Runtime.queryObjects (bench/memory.ts);
//   workerd_rss_bytes: resident memory of the workerd processes this run started
//     (the Worker's, with the local R2/queue/Durable Object simulators, and wrangler's proxy).
// The mix repeats every MIX.length requests, so each batch of `every` (a multiple
// of it) is the same work: JSON, NDJSON and SSE solves of Sudoku and Maze (a
// few puzzles, a few steps) and of the other shipped models, requests the
// client aborts mid-computation or mid-stream, bad requests (400/404/405/413/422),
// GET /v1/models, /v1/health, /v1/models/:name, ARC one-task requests on
// arc-parity, and batch jobs submitted and polled.
//   node bench/soak.ts [--requests 1000] [--every 100] [--kinds "GET /v1/models,..."] [--no-inspector] [--json FILE]
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { getPlatformProxy, unstable_startWorker } from "wrangler";
import { Random } from "../src/generate/random.ts";
import { generateMaze } from "../src/generate/maze.ts";
import { generateSudoku, sudokuString } from "../src/generate/sudoku.ts";
import { type PutBucket, seedShippedPacks } from "../scripts/seed-packs.ts";
import { heapAfterGc, inspector, wasmMemories } from "./memory.ts";
import { workerdPids } from "./workerd.ts";

const ROOT = resolve(import.meta.dirname, "..");
const MiB = 2 ** 20;

export interface SoakSample {
  requests: number; // requests answered (or aborted) so far
  // null when run without the inspector (inspect: false)
  js_heap_used_bytes: number | null;
  js_heap_total_bytes: number | null;
  js_array_buffer_bytes: number | null;
  wasm_bytes: number[] | null; // one per WebAssembly.Memory alive, largest first
  wasm_total_bytes: number | null;
  workerd_rss_bytes: number; // summed over this run's workerd processes
  workerd_rss_anon_bytes: number; // the anonymous part of it (malloc, V8 and wasm pages; not mapped files)
  workerd_rss_by_pid: Record<string, number>; // which process it is in
  elapsed_s: number;
}

export interface SoakReport {
  requests: number;
  every: number;
  models: string[]; // the packs seeded (weights/)
  mix: string[]; // the request kinds, in their order
  statuses: Record<string, number>; // "kind status" -> count ("aborted" for client aborts)
  client_ms: Record<string, number>; // kind -> total time the client spent on it
  samples: SoakSample[]; // requests 0 (ready, nothing served), every, 2·every, ...
}

// ---- the mix -------------------------------------------------------------

const random = new Random(15_013);
const sudokus = Array.from({ length: 40 }, () => sudokuString(generateSudoku(random, 30).puzzle));
const mazes = Array.from({ length: 8 }, () => generateMaze(random, 9, 8, 2).maze);
const DUPLICATE_GIVENS = "550000000003600000070090200050007000000045700000100030001000068000000070900000000";
const arcTasks = JSON.parse(readFileSync(join(ROOT, "weights/arc-parity/test_puzzles.json"), "utf8")) as Record<string, { test: { input: number[][] }[] }>;
const arcTask = (i: number) => {
  const ids = Object.keys(arcTasks);
  const id = ids[i % ids.length];
  return { task: id, test: arcTasks[id].test.slice(0, 1).map((t) => ({ input: t.input })) };
};
const tokens = (i: number) => Array.from({ length: 36 }, (_, k) => 1 + ((i + k) % 11));

interface Call {
  path: string;
  method?: string;
  type?: string; // content-type
  accept?: string;
  body?: unknown; // JSON-encoded unless a string
  status: number; // the answer expected (checked)
  abortAfter?: "first-chunk" | number; // the client goes away after its first body chunk, or after this many ms
}

// i: the request's number in the run; round: which pass through the mix; job: the last job submitted
type Kind = [name: string, call: (i: number, at: { round: number; job?: string }) => Call];

const solve = (model: string, body: unknown, extra: Partial<Call> = {}): Call => ({ path: `/v1/models/${model}/solve`, method: "POST", type: "application/json", body, status: 200, ...extra });
const ndjson = (lines: unknown[]) => lines.map((l) => JSON.stringify(l)).join("\n") + "\n";

export const MIX: Kind[] = [
  ["sudoku json", (i) => solve("sudoku", { puzzles: sudokus.slice(i % 30, (i % 30) + 4), max_steps: 3 })],
  ["maze json", (i) => solve("maze", { puzzles: mazes.slice(i % 6, (i % 6) + 3), max_steps: 2, halt: "checked" })],
  ["sudoku ndjson", (i) => solve("sudoku", ndjson([{ puzzle: sudokus[i % 40], max_steps: 2 }, { puzzle: "12" }, { puzzle: sudokus[(i + 1) % 40], max_steps: 2, detail: "cells" }]), { type: "application/x-ndjson" })],
  ["sudoku sse", (i) => solve("sudoku", { puzzle: sudokus[i % 40], max_steps: 3, detail: "cells" }, { accept: "text/event-stream" })],
  ["maze sse", (i) => solve("maze", { puzzle: mazes[i % 8], max_steps: 3 }, { accept: "text/event-stream" })],
  ["sudoku-int8 json", (i) => solve("sudoku-int8", { puzzles: sudokus.slice(i % 38, (i % 38) + 2), max_steps: 3, halt: "adaptive", budget_steps: 4 })],
  ["hrm-parity json", (i) => solve("hrm-parity", { puzzles: [tokens(i), { tokens: tokens(i + 1), puzzle_identifier: 1 }], max_steps: 2 })],
  ["tokens-parity ndjson", (i) => solve("tokens-parity", ndjson([{ puzzle: tokens(i), max_steps: 2 }]), { type: "application/ndjson" })],
  ["sudoku-parity json", (i) => solve("sudoku-parity", { puzzle: sudokus[i % 40], max_steps: 1 })],
  ["arc json", (i) => solve("arc-parity", { ...arcTask(i), augmentations: 2, max_steps: 1, h_cycles: 1 })],
  ["arc sse", (i) => solve("arc-parity", { ...arcTask(i + 1), augmentations: 2, max_steps: 1, h_cycles: 1 }, { accept: "text/event-stream" })],
  ["aborted json", (i) => solve("sudoku", { puzzles: sudokus.slice(i % 30, (i % 30) + 4), max_steps: 6 }, { abortAfter: 100 })],
  ["aborted sse", (i) => solve("sudoku", { puzzles: sudokus.slice(i % 30, (i % 30) + 8) }, { accept: "text/event-stream", abortAfter: "first-chunk" })],
  ["aborted ndjson", () => solve("maze", ndjson(mazes.map((m) => ({ puzzle: m, max_steps: 4 }))), { type: "application/x-ndjson", abortAfter: "first-chunk" })],
  ["aborted arc sse", (i) => solve("arc-parity", { ...arcTask(i), augmentations: 2, max_steps: 2, h_cycles: 1 }, { accept: "text/event-stream", abortAfter: "first-chunk" })],
  ["422 bad_puzzle", () => solve("sudoku", { puzzle: DUPLICATE_GIVENS }, { status: 422 })],
  ["400 malformed_json", () => solve("sudoku", '{"puzzle": ', { status: 400 })],
  ["413 too_many_puzzles", () => solve("sudoku", { puzzles: Array.from({ length: 65 }, (_, k) => sudokus[k % 40]) }, { status: 413 })],
  ["413 body_too_large", () => solve("maze", `{"puzzle": "${"#".repeat(MiB)}"}`, { status: 413 })],
  ["404 model_not_found", (i) => solve(`no-such-model-${i}`, { puzzle: sudokus[0] }, { status: 404 })],
  ["405 method_not_allowed", () => ({ path: "/v1/models/sudoku/solve", status: 405 })],
  ["GET /v1/models", () => ({ path: "/v1/models", status: 200 })],
  ["GET /v1/health", () => ({ path: "/v1/health", status: 200 })],
  ["GET /v1/models/:name", (i) => ({ path: `/v1/models/${["sudoku", "maze", "arc-parity"][i % 3]}`, status: 200 })],
  // every other round of the mix submits a two-puzzle job, the others poll the last one
  ["job", (i, { round, job }) =>
    round % 2 === 0 || !job
      ? { path: "/v1/jobs", method: "POST", type: "application/json", body: { model: "sudoku", puzzles: sudokus.slice(i % 38, (i % 38) + 2), options: { max_steps: 2 } }, status: 202 }
      : { path: `/v1/jobs/${job}`, status: 200 }],
];

/** One request of the mix from client `client`; returns its status, or "aborted". */
async function send(base: string, call: Call, client: number): Promise<{ status: number | "aborted"; body?: string }> {
  const abort = new AbortController();
  // 16 clients (the rate limit is per CF-Connecting-IP), so a fast run of GETs stays under it
  const headers: Record<string, string> = { "cf-connecting-ip": `198.51.100.${client % 16}` };
  if (call.type) headers["content-type"] = call.type;
  if (call.accept) headers.accept = call.accept;
  const timer = typeof call.abortAfter === "number" ? setTimeout(() => abort.abort(), call.abortAfter) : undefined;
  try {
    const res = await fetch(base + call.path, {
      method: call.method ?? "GET", headers, signal: abort.signal,
      body: call.body === undefined ? undefined : typeof call.body === "string" ? call.body : JSON.stringify(call.body),
    });
    if (call.abortAfter === "first-chunk") {
      await res.body?.getReader().read();
      abort.abort();
      return { status: "aborted" };
    }
    return { status: res.status, body: new TextDecoder().decode(await res.arrayBuffer()) };
  } catch (e) {
    if (abort.signal.aborted) return { status: "aborted" };
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

// ---- the run -------------------------------------------------------------

function rss(pids: number[]): { rss: number; anon: number; byPid: Record<string, number> } {
  let total = 0;
  let anon = 0;
  const byPid: Record<string, number> = {};
  for (const pid of pids) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      byPid[pid] = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
      total += byPid[pid];
      anon += Number(/RssAnon:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
    } catch {
      // process ended
    }
  }
  return { rss: total, anon, byPid };
}

/**
 * `kinds` runs only those kinds of the mix (a control run: e.g. only GETs, which never touch an engine);
 * `inspect: false` attaches no inspector and records RSS only (does the inspector itself cost memory?).
 */
export async function soak({ requests, every, kinds, inspect = true, log = () => {} }: { requests: number; every: number; kinds?: string[]; inspect?: boolean; log?: (line: string) => void }): Promise<SoakReport> {
  const unknown = kinds?.filter((k) => !MIX.some(([name]) => name === k)) ?? [];
  if (unknown.length) throw new RangeError(`no request kind ${unknown.join(", ")} in the mix: ${MIX.map(([name]) => name).join(", ")}`);
  const mix = kinds ? MIX.filter(([name]) => kinds.includes(name)) : MIX;
  // each batch the same work: whole rounds of the mix, as many submitting jobs as polling them
  if (every % (2 * mix.length) !== 0 || requests % every !== 0) throw new RangeError(`every (${every}) must be a multiple of ${2 * mix.length} (twice the mix), and requests (${requests}) of every`);
  process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
  process.env.WRANGLER_SEND_METRICS ??= "false";
  const persist = mkdtempSync(join(tmpdir(), "trm-soak-"));
  const config = join(ROOT, "wrangler.toml");
  let models: string[] = [];
  try {
    // seeded the way `npm start` seeds its bucket; the Worker then reads the same persisted state
    const platform = await getPlatformProxy<{ MODELS: PutBucket }>({ configPath: config, persist: { path: join(persist, "v3") } });
    try {
      models = await seedShippedPacks(platform.env.MODELS);
    } finally {
      await platform.dispose();
    }
    const inspectorPort = 20000 + Math.floor(Math.random() * 20000);
    const worker = await unstable_startWorker({ config, dev: { server: { port: 0 }, inspector: { port: inspectorPort }, persist, logLevel: "error" } });
    try {
      await worker.ready;
      const base = (await worker.url).toString().replace(/\/$/, "");
      const pids = workerdPids({ ownOnly: true });
      const session = inspect ? await inspector(inspectorPort) : undefined;
      const report: SoakReport = { requests, every, models, mix: mix.map(([name]) => name), statuses: {}, client_ms: {}, samples: [] };
      const t0 = performance.now();
      const sample = async (n: number) => {
        const heap = session ? await heapAfterGc(session, () => fetch(`${base}/v1/health`, { method: "HEAD" }).then((r) => r.arrayBuffer())) : undefined;
        const wasm = session ? (await wasmMemories(session)).sort((a, b) => b - a) : undefined;
        const mem = rss(pids);
        const s: SoakSample = {
          requests: n, js_heap_used_bytes: heap?.usedSize ?? null, js_heap_total_bytes: heap?.totalSize ?? null, js_array_buffer_bytes: heap ? heap.backingStorageSize ?? 0 : null,
          wasm_bytes: wasm ?? null, wasm_total_bytes: wasm ? wasm.reduce((a, b) => a + b, 0) : null, workerd_rss_bytes: mem.rss, workerd_rss_anon_bytes: mem.anon, workerd_rss_by_pid: mem.byPid,
          elapsed_s: Math.round((performance.now() - t0) / 100) / 10,
        };
        report.samples.push(s);
        log(row(s));
      };
      try {
        log(header());
        await sample(0);
        let job: string | undefined;
        for (let i = 0; i < requests; i++) {
          const [name, make] = mix[i % mix.length];
          const call = make(i, { round: Math.floor(i / mix.length), job });
          const started = performance.now();
          const { status, body } = await send(base, call, i);
          report.client_ms[name] = Math.round((report.client_ms[name] ?? 0) + performance.now() - started);
          if (status !== "aborted" && status !== call.status) throw new Error(`request ${i + 1} (${name}): HTTP ${status}, expected ${call.status}: ${body?.slice(0, 300)}`);
          if (call.status === 202) job = (JSON.parse(body!) as { id: string }).id;
          const key = `${name} ${status}`;
          report.statuses[key] = (report.statuses[key] ?? 0) + 1;
          if ((i + 1) % every === 0) await sample(i + 1);
        }
      } finally {
        session?.close();
      }
      return report;
    } finally {
      await worker.dispose();
    }
  } finally {
    rmSync(persist, { recursive: true, force: true });
  }
}

const mib = (b: number | null) => (b === null ? "-" : (b / MiB).toFixed(2));
const header = () => "requests | JS heap used after GC (MiB) | JS heap committed | ArrayBuffers | wasm memories (MiB) | wasm total | workerd RSS (MiB) | RSS anon | elapsed s\n--: | --: | --: | --: | --- | --: | --: | --: | --:";
const row = (s: SoakSample) =>
  `${s.requests} | ${mib(s.js_heap_used_bytes)} | ${mib(s.js_heap_total_bytes)} | ${mib(s.js_array_buffer_bytes)} | ${s.wasm_bytes?.map(mib).join(" + ") ?? "-"} | ${mib(s.wasm_total_bytes)} | ${mib(s.workerd_rss_bytes)} | ${mib(s.workerd_rss_anon_bytes)} | ${s.elapsed_s}`;

if (import.meta.main) {
  const { values } = parseArgs({ options: { requests: { type: "string", default: "1000" }, every: { type: "string", default: "100" }, kinds: { type: "string" }, "no-inspector": { type: "boolean" }, json: { type: "string" } } });
  const kinds = values.kinds?.split(",").map((k) => k.trim());
  const report = await soak({ requests: Number(values.requests), every: Number(values.every), kinds, inspect: !values["no-inspector"], log: (line) => console.log(line) });
  console.log("\nanswers by kind:", JSON.stringify(report.statuses));
  console.log("client ms by kind:", JSON.stringify(report.client_ms));
  if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 2) + "\n");
}
