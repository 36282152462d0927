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
      await env.MODELS.put(`models/${name}/${manifest.weights.file}`, readFileSync(join(ROOT, "weights", name, manifest.weights.file)));
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
console.log(`\nTRM Worker is serving on ${BASE}. Example request:\n`);
console.log(`  curl -s ${BASE}/v1/models/${EXAMPLE_MODEL}/solve -H 'content-type: application/json' -d '${body}'\n`);
const res = await fetch(`${BASE}/v1/models/${EXAMPLE_MODEL}/solve`, { method: "POST", headers: { "content-type": "application/json" }, body });
console.log(`It answered (HTTP ${res.status}):\n${JSON.stringify(await res.json(), null, 2)}\n`);
console.log(`The same Worker consumes the local job queue. A batch job (one puzzle per line), with a progress bar:\n`);
console.log(`  npx trm jobs submit --url ${BASE} --model-name ${EXAMPLE_MODEL} --task sudoku --input ../shared/benchmarks/sudoku/easy50.txt --out results.ndjson\n`);
console.log("Ctrl-C stops the Worker.");
