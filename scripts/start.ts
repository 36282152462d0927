// `npm start`: seed the local R2 bucket (miniflare persistence under
// .wrangler/state) with every pack in weights/, serve the Worker with
// `wrangler dev` (which also runs the job queue's consumer locally), and show
// one solve through it.
//   PORT=9000 npm start          another port
//   TRM_DEV_VARS=path npm start  another vars file than .dev.vars (API_TOKEN=...)
// wrangler dev runs in its own process group, and every way out of this
// script (error, Ctrl-C, SIGTERM, SIGHUP, the Worker exiting) ends that group,
// so no workerd is left holding the port.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { connect } from "node:net";
import { join, resolve } from "node:path";
import { getPlatformProxy } from "wrangler";
import { packFiles } from "../src/engine/pack.ts";

const ROOT = resolve(import.meta.dirname, "..");
const PORT = Number(process.env.PORT ?? 8787);
const BASE = `http://127.0.0.1:${PORT}`;
const DEV_VARS = resolve(ROOT, process.env.TRM_DEV_VARS ?? ".dev.vars");
const READY_WITHIN_MS = 120_000;
const EXAMPLE_MODEL = "sudoku"; // the trained default (weights/sudoku/README.md)
const ARC_EXAMPLE_MODEL = "arc-parity";
const ARC_EXAMPLE_TASK = "0c786b71";
const EXAMPLE_PUZZLE = "003020600900305001001806400008102900700000008006708200002609500800203009005010300"; // Project Euler 96, grid 01
const quiet = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false", CI: "true" };
Object.assign(process.env, quiet);

let wrangler: ChildProcess | undefined;

/** Ends wrangler dev and everything it started (workerd), once. */
function stopWorker(signal: NodeJS.Signals = "SIGTERM"): void {
  if (wrangler?.pid === undefined || wrangler.exitCode !== null || wrangler.signalCode !== null) return;
  try {
    process.kill(-wrangler.pid, signal);
  } catch {
    // already gone
  }
}

function fail(message: string): never {
  console.error(`npm start: ${message}`);
  stopWorker();
  process.exit(1);
}

process.on("exit", () => stopWorker());
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    stopWorker(signal);
    process.exit(128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const)[signal]);
  });
}
process.on("uncaughtException", (e) => fail(e.stack ?? String(e)));
process.on("unhandledRejection", (e) => fail((e as Error)?.stack ?? String(e)));

/** API_TOKEN from the vars file wrangler dev reads (KEY=VALUE lines, optionally quoted). */
function apiToken(): string | undefined {
  if (!existsSync(DEV_VARS)) return undefined;
  for (const line of readFileSync(DEV_VARS, "utf8").split("\n")) {
    const m = /^\s*API_TOKEN\s*=\s*(.*?)\s*$/.exec(line);
    if (m) return m[1].replace(/^(["'])(.*)\1$/, "$2");
  }
  return undefined;
}

function portInUse(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      done(true);
    });
    socket.once("error", () => done(false));
  });
}

async function seed(): Promise<void> {
  const { env, dispose } = await getPlatformProxy<{ MODELS: { put(key: string, value: string | Uint8Array): Promise<unknown> } }>({
    configPath: join(ROOT, "wrangler.toml"),
    persist: true,
  });
  const names = readdirSync(join(ROOT, "weights"), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  try {
    for (const name of names) {
      const manifest = JSON.parse(readFileSync(join(ROOT, "weights", name, "model.json"), "utf8"));
      await env.MODELS.put(`models/${name}/model.json`, JSON.stringify(manifest));
      // An ARC pack's puzzle table, identifiers, task index and puzzles file are objects of their own (read by range per request).
      for (const file of packFiles(manifest)) {
        await env.MODELS.put(`models/${name}/${file}`, readFileSync(join(ROOT, "weights", name, file)));
      }
      console.log(`seeded models/${name} (${manifest.task}, ${manifest.weights.bytes} bytes)`);
    }
  } finally {
    await dispose();
  }
}

/** Polls /v1/health until it answers 200; on timeout, says what the last answer was. */
async function waitForWorker(headers: Record<string, string>): Promise<void> {
  const deadline = Date.now() + READY_WITHIN_MS;
  let last = "nothing is listening yet";
  for (;;) {
    try {
      const res = await fetch(`${BASE}/v1/health`, { headers });
      if (res.ok) return;
      const body = (await res.json().catch(() => null)) as { error?: { code: string; message: string } } | null;
      last = `HTTP ${res.status}${body?.error ? ` ${body.error.code}: ${body.error.message}` : ""}`;
      if (res.status === 401) fail(`the Worker refuses the token: ${last} (API_TOKEN in ${DEV_VARS})`);
      if (res.status === 503 && body?.error?.code === "misconfigured") fail(`the Worker is misconfigured: ${body.error.message}`);
    } catch (e) {
      last = `no answer (${(e as Error & { cause?: { code?: string } }).cause?.code ?? (e as Error).message})`;
    }
    if (Date.now() > deadline) fail(`the Worker on ${BASE} was not ready within ${READY_WITHIN_MS / 1000} s; last answer to GET /v1/health: ${last}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

if (await portInUse(PORT)) fail(`port ${PORT} is already in use (another npm start or wrangler dev?); stop it, or choose another with PORT=9000 npm start`);
await seed();
wrangler = spawn(
  process.execPath,
  [join(ROOT, "node_modules/wrangler/bin/wrangler.js"), "dev", "--ip", "127.0.0.1", "--port", String(PORT), "--show-interactive-dev-session=false", ...(existsSync(DEV_VARS) ? ["--env-file", DEV_VARS] : [])],
  { cwd: ROOT, env: quiet, stdio: ["ignore", "inherit", "inherit"], detached: true },
);
wrangler.on("exit", (code, signal) => fail(`wrangler dev exited (${signal ?? `code ${code}`}); its output above says why`));

const token = apiToken();
const auth: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
if (token) console.log(`API_TOKEN is set in ${DEV_VARS}: this script sends it as a bearer token, and so must every /v1 request.`);
await waitForWorker(auth);
const body = JSON.stringify({ puzzle: EXAMPLE_PUZZLE });
const authFlag = token ? ` -H 'authorization: Bearer ${token}'` : "";
console.log(`\nTRM Worker is serving on ${BASE}. Open the playground page: ${BASE}/\nExample request:\n`);
console.log(`  curl -s ${BASE}/v1/models/${EXAMPLE_MODEL}/solve -H 'content-type: application/json'${authFlag} -d '${body}'\n`);
const res = await fetch(`${BASE}/v1/models/${EXAMPLE_MODEL}/solve`, { method: "POST", headers: { "content-type": "application/json", ...auth }, body });
console.log(`It answered (HTTP ${res.status}):\n${JSON.stringify(await res.json(), null, 2)}\n`);

// ARC: one task of the shipped reference pack (random weights: it shows the pipeline, not intelligence),
// its test input from the pack's own task route.
console.log(`The ARC pack's tasks, and one task's demonstrations and test inputs:\n`);
console.log(`  curl -s ${BASE}/v1/models/${ARC_EXAMPLE_MODEL}/tasks${authFlag}`);
console.log(`  curl -s ${BASE}/v1/models/${ARC_EXAMPLE_MODEL}/tasks/${ARC_EXAMPLE_TASK}${authFlag}\n`);
const arcTask = await fetch(`${BASE}/v1/models/${ARC_EXAMPLE_MODEL}/tasks/${ARC_EXAMPLE_TASK}`, { headers: auth });
const { test: arcTests = [] } = (await arcTask.json()) as { test?: { input: unknown }[] };
const arcBody = JSON.stringify({ task: ARC_EXAMPLE_TASK, test: arcTests.map((t) => ({ input: t.input })), augmentations: 3, max_steps: 2 });
console.log(`An ARC request (${ARC_EXAMPLE_MODEL}: the official-code reference checkpoint, random weights):\n`);
console.log(`  curl -s ${BASE}/v1/models/${ARC_EXAMPLE_MODEL}/solve -H 'content-type: application/json'${authFlag} -d '${arcBody}'\n`);
const arc = await fetch(`${BASE}/v1/models/${ARC_EXAMPLE_MODEL}/solve`, { method: "POST", headers: { "content-type": "application/json", ...auth }, body: arcBody });
const arcAnswer = (await arc.json()) as { result?: { tests: { attempt_1: unknown[][]; candidates: unknown[] }[]; augmentations: number; steps: number; rows: unknown } };
const shape = (g: unknown[][]) => `${g.length}x${g[0]?.length ?? 0}`;
console.log(`It answered (HTTP ${arc.status}): ${arcAnswer.result ? `attempt_1 a ${shape(arcAnswer.result.tests[0].attempt_1)} grid, ${arcAnswer.result.tests[0].candidates.length} distinct candidates from ${arcAnswer.result.augmentations} augmentations x ${arcAnswer.result.steps} steps, rows ${JSON.stringify(arcAnswer.result.rows)}` : JSON.stringify(arcAnswer)}\n`);
console.log(`The same Worker consumes the local job queue. A batch job (one puzzle per line), with a progress bar:\n`);
console.log(`  npx trm jobs submit --url ${BASE} --model-name ${EXAMPLE_MODEL} --task sudoku --input ../shared/benchmarks/sudoku/easy50.txt --out results.ndjson\n`);
console.log("Ctrl-C stops the Worker.");
