// The API under load, in workerd (wrangler dev), for one or two builds of the
// Worker side by side ("before": another checkout, e.g. `git archive main`):
//   - 1, 8 and 64 concurrent clients, one shipped-sudoku puzzle each (16 fixed
//     steps): throughput and p50 / p99 latency;
//   - 5 aborted 64-puzzle requests: workerd CPU seconds in the 10 s after the
//     abort, and GET /v1/models latency meanwhile;
//   - 1,000 requests in a row: workerd's resident memory along the way.
// CPU and memory come from /proc for the workerd processes wrangler started.
//   node bench/api.ts [--before DIR] [--after DIR (default: this checkout)] [--json out.json]
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { getPlatformProxy } from "wrangler";
import { Random } from "../src/generate/random.ts";
import { generateSudoku, sudokuString } from "../src/generate/sudoku.ts";

const ROOT = resolve(import.meta.dirname, "..");
const MODEL = "sudoku";
const quiet = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false", CI: "true" };
Object.assign(process.env, quiet);
const { values } = parseArgs({ options: { before: { type: "string" }, after: { type: "string" }, json: { type: "string" } } });

const random = new Random(31_337);
const puzzles = Array.from({ length: 64 }, () => sudokuString(generateSudoku(random, 30).puzzle));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)];
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

function freePort(): Promise<number> {
  return new Promise((done) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => done(port));
    });
  });
}

interface Server {
  base: string;
  child: ChildProcess;
  workerd: () => number[];
}

/** Seeds a fresh local bucket with the shipped sudoku pack and serves `dir`'s Worker from it. */
async function serve(dir: string, started: (child: ChildProcess) => void): Promise<Server> {
  const persist = mkdtempSync(join(tmpdir(), "trm-bench-api-"));
  const { env, dispose } = await getPlatformProxy<{ MODELS: { put(k: string, v: string | Uint8Array): Promise<unknown> } }>({ configPath: join(dir, "wrangler.toml"), persist: { path: join(persist, "v3") } }); // wrangler dev --persist-to adds the v3 folder itself
  const manifest = JSON.parse(readFileSync(join(ROOT, "weights", MODEL, "model.json"), "utf8"));
  await env.MODELS.put(`models/${MODEL}/model.json`, JSON.stringify(manifest));
  await env.MODELS.put(`models/${MODEL}/${manifest.weights.file}`, readFileSync(join(ROOT, "weights", MODEL, manifest.weights.file)));
  await dispose();
  const port = await freePort();
  const child = spawn(process.execPath, [join(ROOT, "node_modules/wrangler/bin/wrangler.js"), "dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", persist, "--var", "RATE_LIMIT:off", "--show-interactive-dev-session=false"], {
    cwd: dir,
    env: quiet,
    stdio: ["ignore", "ignore", "inherit"],
    detached: true,
  });
  started(child);
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (await fetch(`${base}/v1/models`).then((r) => r.ok, () => false)) break;
    if (i > 240) throw new Error(`${dir}: the Worker did not start`);
    await sleep(500);
  }
  const workerd = () => {
    const all = execFileSync("ps", ["-eo", "pid,pgid,comm"], { encoding: "utf8" }).trim().split("\n").slice(1).map((l) => l.trim().split(/\s+/));
    return all.filter(([, pgid, comm]) => Number(pgid) === child.pid && comm === "workerd").map(([pid]) => Number(pid));
  };
  // warm: the model loads on its first request
  await solve(base, { puzzle: puzzles[0], max_steps: 1 });
  return { base, child, workerd };
}

function stop(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, "SIGTERM");
  } catch {
    // gone
  }
}

async function solve(base: string, body: unknown, signal?: AbortSignal): Promise<number> {
  const t0 = performance.now();
  const r = await fetch(`${base}/v1/models/${MODEL}/solve`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), signal });
  await r.arrayBuffer();
  if (!r.ok) throw new Error(`HTTP ${r.status}`);
  return performance.now() - t0;
}

const cpuSeconds = (pids: number[]) =>
  pids.reduce((sum, pid) => {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return sum + (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks of 10 ms
  }, 0);
const rssMiB = (pids: number[]) => pids.reduce((sum, pid) => sum + Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024, 0);

async function concurrency(s: Server, clients: number) {
  const t0 = performance.now();
  const latencies = await Promise.all(Array.from({ length: clients }, (_, i) => solve(s.base, { puzzle: puzzles[i % puzzles.length] })));
  const wall = performance.now() - t0;
  return { clients, throughput_rps: round(clients / (wall / 1000), 2), p50_ms: round(percentile(latencies, 50)), p99_ms: round(percentile(latencies, 99)), wall_ms: round(wall) };
}

async function aborted(s: Server) {
  const controllers = Array.from({ length: 5 }, () => new AbortController());
  const requests = controllers.map((c) => solve(s.base, { puzzles }, c.signal).catch(() => 0));
  await sleep(500);
  controllers.forEach((c) => c.abort());
  await Promise.all(requests);
  const pids = s.workerd();
  const cpu0 = cpuSeconds(pids);
  const gets: number[] = [];
  const t0 = performance.now();
  while (performance.now() - t0 < 10_000) {
    const g0 = performance.now();
    await fetch(`${s.base}/v1/models`).then((r) => r.arrayBuffer());
    gets.push(performance.now() - g0);
    await sleep(500);
  }
  return { cpu_s_in_10s_after_abort: round(cpuSeconds(pids) - cpu0, 2), get_models_p50_ms: round(percentile(gets, 50)), get_models_max_ms: round(Math.max(...gets)) };
}

async function memory(s: Server) {
  const pids = s.workerd();
  const samples: Record<string, number> = { "0": round(rssMiB(pids)) };
  for (let i = 1; i <= 1000; i++) {
    await solve(s.base, { puzzles: puzzles.slice(0, 1 + (i % 2)), max_steps: 1 + (i % 2) });
    if (i === 100 || i === 500 || i === 1000) samples[String(i)] = round(rssMiB(pids));
  }
  return { rss_mib_after_requests: samples };
}

const builds: [string, string][] = [...(values.before ? [["before", resolve(values.before)] as [string, string]] : []), ["after", resolve(values.after ?? ROOT)]];
const servers = new Map<string, Server>();
const children: ChildProcess[] = [];
const report: Record<string, Record<string, unknown>> = {};
try {
  for (const [name, dir] of builds) {
    servers.set(name, await serve(dir, (child) => children.push(child)));
    report[name] = { concurrency: [] as unknown[] };
  }
  // Side by side: each measurement on every build before the next measurement.
  for (const clients of [1, 8, 64]) {
    for (const [name] of builds) {
      const r = await concurrency(servers.get(name)!, clients);
      (report[name].concurrency as unknown[]).push(r);
      console.log(`${name}: ${clients} concurrent clients: ${r.throughput_rps} req/s, p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms`);
    }
  }
  // "after" first: a build whose aborted work goes on would otherwise load the machine for the other.
  for (const [name] of [...builds].reverse()) {
    report[name].aborted = await aborted(servers.get(name)!);
    console.log(`${name}: 5 aborted 64-puzzle requests:`, report[name].aborted);
  }
  for (const [name] of builds) {
    report[name].memory = await memory(servers.get(name)!);
    console.log(`${name}: 1,000 requests:`, report[name].memory);
  }
} finally {
  children.forEach(stop);
}
console.log(JSON.stringify(report));
if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 2) + "\n");
