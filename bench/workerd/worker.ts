// The bench inside workerd, on the bundled kernels:
//   GET /run?config=<bench/configs.ts name>&batch=N&dtype=f32|bf16&quick=0|1 → a NetworkRun (bench/network.ts).
//     Wall time only: workerd has no CPU clock for the isolate (peer-bench / workers-stack notes).
//   PUT /models/<name>/<file>: stores a pack object in the local R2 bucket (streamed, never buffered here).
//   GET /load?model=<name>: loads it the way the API Worker does (src/worker/models.ts: R2 →
//     checksum → views → packed into wasm memory, the pack's bytes released).
//   GET /step?model=<name>&augmentations=N: one full supervision step over N random sequences;
//     answers the wasm memory after it (bench/memory.ts measures the JS heap from outside).
//     With &arc=1 the N sequences are one ARC test input under N augmentations, solved the way
//     an ARC request is (src/tasks/arc/solve.ts: slices of one network batch, then the vote).
import kernels from "../../build/kernels.wasm";
import { recurse } from "../../src/engine/recursion.ts";
import type { WasmNetwork } from "../../src/engine/wasm-network.ts";
import { getModel } from "../../src/worker/models.ts";
import { CONFIGS, isBig } from "../configs.ts";
import { benchNetwork } from "../network.ts";
import { randomPuzzles, seededUniform } from "../random-weights.ts";
import { solveArcTask } from "../../src/tasks/arc/solve.ts";
import type { TaskRows } from "../../src/engine/puzzle-table.ts";

/** A task's rows as the Worker would read them: the original and count - 1 random augmentations. */
function randomArcTask(dim: number, count: number): { rows: TaskRows; grid: { rows: number; cols: number; cells: Uint8Array } } {
  const uniform = seededUniform(3);
  const perm = () => "0" + [1, 2, 3, 4, 5, 6, 7, 8, 9].sort(() => uniform() - 0.5).join("");
  const names = ["bench", ...Array.from({ length: count - 1 }, () => `bench|||t${Math.floor(uniform() * 8)}|||${perm()}`)];
  const rows = Float32Array.from({ length: count * dim }, () => uniform() - 0.5);
  const grid = { rows: 12, cols: 15, cells: Uint8Array.from({ length: 180 }, () => Math.floor(uniform() * 10)) };
  return { rows: { task: "bench", names, ids: names.map((_, i) => i + 1), rows, bytes: rows.byteLength }, grid };
}
import { plan } from "../timing.ts";

interface Env {
  MODELS: R2Bucket;
}

async function run(url: URL): Promise<Response> {
  const config = url.searchParams.get("config") ?? "";
  const batch = Number(url.searchParams.get("batch") ?? "1");
  const dtype = url.searchParams.get("dtype") ?? "f32";
  const quick = url.searchParams.get("quick") === "1";
  if (!(config in CONFIGS) || !(batch >= 1) || (dtype !== "f32" && dtype !== "bf16")) {
    return new Response(`bad config ${config}, batch ${batch} or dtype ${dtype}`, { status: 400 });
  }
  const big = isBig(config);
  const plans = quick
    ? { call: plan(big ? 1 : 100, 3, big ? 0 : 30), step: plan(big ? 0 : 1, big ? 1 : 2, 0) }
    : { call: plan(big ? 1000 : 500, big ? 5 : 9, big ? 0 : 150), step: plan(big ? 0 : 200, big ? 2 : 5, big ? 0 : 150) };
  return Response.json(await benchNetwork(kernels, config, batch, "workerd", plans, undefined, undefined, dtype));
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    try {
      if (url.pathname === "/run") return await run(url);
      if (request.method === "PUT" && url.pathname.startsWith("/models/")) {
        await env.MODELS.put(url.pathname.slice(1), request.body, { httpMetadata: {} });
        return new Response("stored");
      }
      const name = url.searchParams.get("model") ?? "";
      if (url.pathname === "/load") {
        const t = performance.now();
        await getModel(env.MODELS, name);
        return Response.json({ load_ms: performance.now() - t });
      }
      if (url.pathname === "/step") {
        const model = await getModel(env.MODELS, name);
        const count = Number(url.searchParams.get("augmentations") ?? "1");
        const t = performance.now();
        if (url.searchParams.get("arc") === "1") {
          const { rows, grid } = randomArcTask(model.config.arch.puzzle_emb_ndim, count);
          await solveArcTask(model.network, "bench", [grid], rows, { augmentations: "all", maxSteps: 1, halt: "fixed" });
        } else {
          for (const _ of recurse(model.network, randomPuzzles(model.config, count), 1, "fixed")); // one supervision step, in groups of maxBatch
        }
        const stepMs = performance.now() - t;
        return Response.json({ step_ms: stepMs, wasm_bytes: (model.network as WasmNetwork).memoryBytes });
      }
      if (url.pathname === "/ping") return new Response("pong");
      return new Response("GET /run, PUT /models/<name>/<file>, GET /load, GET /step, GET /ping", { status: 404 });
    } catch (e) {
      return new Response(String((e as Error).stack ?? e), { status: 500 });
    }
  },
};
