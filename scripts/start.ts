// `npm start`: seed the local R2 bucket (miniflare persistence under
// .wrangler/state) with every pack in weights/, serve the Worker with
// `wrangler dev` (which also runs the job queue's consumer locally), and show
// one solve through it.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { getPlatformProxy } from "wrangler";

const ROOT = resolve(import.meta.dirname, "..");
const PORT = Number(process.env.PORT ?? 8787);
const BASE = `http://127.0.0.1:${PORT}`;
const EXAMPLE_MODEL = "sudoku"; // the trained default (weights/sudoku/README.md)
const ARC_EXAMPLE_MODEL = "arc-parity";
const ARC_EXAMPLE_TASK = "0c786b71";
const EXAMPLE_PUZZLE = "003020600900305001001806400008102900700000008006708200002609500800203009005010300"; // Project Euler 96, grid 01
const quiet = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false", CI: "true" };
Object.assign(process.env, quiet);

async function seed(): Promise<string[]> {
  const { env, dispose } = await getPlatformProxy<{ MODELS: { put(key: string, value: string | Uint8Array): Promise<unknown> } }>({
    configPath: join(ROOT, "wrangler.toml"),
    persist: true,
  });
  const names = readdirSync(join(ROOT, "weights"), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  try {
    for (const name of names) {
      const manifest = JSON.parse(readFileSync(join(ROOT, "weights", name, "model.json"), "utf8"));
      await env.MODELS.put(`models/${name}/model.json`, JSON.stringify(manifest));
      // An ARC pack's puzzle table, identifiers and task index are objects of their own (read by range per request).
      const table = manifest.puzzle_table;
      for (const file of [manifest.weights.file, ...(table ? [table.file, table.identifiers_file, table.index_file] : [])]) {
        await env.MODELS.put(`models/${name}/${file}`, readFileSync(join(ROOT, "weights", name, file)));
      }
      console.log(`seeded models/${name} (${manifest.task}, ${manifest.weights.bytes} bytes)`);
    }
  } finally {
    await dispose();
  }
  return names;
}

async function waitForWorker(deadline: number): Promise<void> {
  for (;;) {
    try {
      if ((await fetch(`${BASE}/v1/models`)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the Worker did not answer on ${BASE} within the time limit`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

await seed();
const wrangler = spawn(process.execPath, [join(ROOT, "node_modules/wrangler/bin/wrangler.js"), "dev", "--ip", "127.0.0.1", "--port", String(PORT), "--show-interactive-dev-session=false"], {
  cwd: ROOT,
  env: quiet,
  stdio: ["ignore", "inherit", "inherit"],
});
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => wrangler.kill(signal));
wrangler.on("exit", (code) => process.exit(code ?? 0));

await waitForWorker(Date.now() + 120_000);
const body = JSON.stringify({ puzzle: EXAMPLE_PUZZLE });
console.log(`\nTRM Worker is serving on ${BASE}. Open the playground page: ${BASE}/\nExample request:\n`);
console.log(`  curl -s ${BASE}/v1/models/${EXAMPLE_MODEL}/solve -H 'content-type: application/json' -d '${body}'\n`);
const res = await fetch(`${BASE}/v1/models/${EXAMPLE_MODEL}/solve`, { method: "POST", headers: { "content-type": "application/json" }, body });
console.log(`It answered (HTTP ${res.status}):\n${JSON.stringify(await res.json(), null, 2)}\n`);

// ARC: one task of the shipped reference pack (random weights: it shows the pipeline, not intelligence).
const arcTasks = JSON.parse(readFileSync(join(ROOT, "weights", ARC_EXAMPLE_MODEL, "test_puzzles.json"), "utf8"));
const arcBody = JSON.stringify({ task: ARC_EXAMPLE_TASK, test: arcTasks[ARC_EXAMPLE_TASK].test.map((t: { input: unknown }) => ({ input: t.input })), augmentations: 3, max_steps: 2 });
console.log(`An ARC request (${ARC_EXAMPLE_MODEL}: the official-code reference checkpoint, random weights):\n`);
console.log(`  curl -s ${BASE}/v1/models/${ARC_EXAMPLE_MODEL}/solve -H 'content-type: application/json' -d '${arcBody}'\n`);
const arc = await fetch(`${BASE}/v1/models/${ARC_EXAMPLE_MODEL}/solve`, { method: "POST", headers: { "content-type": "application/json" }, body: arcBody });
const arcAnswer = (await arc.json()) as { result?: { tests: { attempt_1: unknown[][]; candidates: unknown[] }[]; augmentations: number; steps: number; rows: unknown } };
const shape = (g: unknown[][]) => `${g.length}x${g[0]?.length ?? 0}`;
console.log(`It answered (HTTP ${arc.status}): ${arcAnswer.result ? `attempt_1 a ${shape(arcAnswer.result.tests[0].attempt_1)} grid, ${arcAnswer.result.tests[0].candidates.length} distinct candidates from ${arcAnswer.result.augmentations} augmentations x ${arcAnswer.result.steps} steps, rows ${JSON.stringify(arcAnswer.result.rows)}` : JSON.stringify(arcAnswer)}\n`);
console.log(`The same Worker consumes the local job queue. A batch job (one puzzle per line), with a progress bar:\n`);
console.log(`  npx trm jobs submit --url ${BASE} --model-name ${EXAMPLE_MODEL} --task sudoku --input ../shared/benchmarks/sudoku/easy50.txt --out results.ndjson\n`);
console.log("Ctrl-C stops the Worker.");
