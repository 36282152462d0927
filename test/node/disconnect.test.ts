// A client that hangs up on a stream over a real connection (wrangler's local
// harness: workerd behind a socket, as in wrangler dev) stops the Worker's
// work: a request sent after three abandoned ones costs workerd about the CPU
// it costs alone; work that went on would be spent beside it. CPU time, not
// wall time, so that other jobs on the machine do not move the ratio. Inside
// vitest's workerd pool (test/worker) an aborted fetch also cancels the
// request's timers, so only a socket shows what a client's disconnect does.
// A JSON answer is noticed only once it streams (src/worker/solve.ts,
// jsonAnswer): before that change, a JSON request aborted a quarter of the way
// through went on to the end (workerd CPU 3.2x alone, measured 2026-12-02).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTestHarness } from "wrangler";
import { workerdCpuMs } from "../../bench/workerd.ts";
import { REPO, SHARED } from "./helpers.ts";

const golden = JSON.parse(readFileSync(join(SHARED, "golden/mlp_t/expected.json"), "utf8")) as { inputs: number[][] };
const puzzles = golden.inputs.map((tokens) => ({ tokens })); // 4 puzzles, 16 steps: seconds of work
const pack = join(REPO, "weights/sudoku-parity");
const MODEL = "sudoku-parity-tokens"; // the golden inputs are random tokens, so served as a tokens model
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("a client that disconnects", () => {
  const harness = createTestHarness({ workers: [{ configPath: join(REPO, "wrangler.toml") }] });
  let url = "";

  beforeAll(async () => {
    url = new URL(`/v1/models/${MODEL}/solve`, (await harness.listen()).url).toString();
    const env = (await harness.getWorker().getEnv()) as { MODELS: { put(k: string, v: string | Uint8Array): Promise<unknown> } };
    const manifest = JSON.parse(readFileSync(join(pack, "model.json"), "utf8"));
    await env.MODELS.put(`models/${MODEL}/model.json`, JSON.stringify({ ...manifest, task: "tokens" }));
    await env.MODELS.put(`models/${MODEL}/model.safetensors`, new Uint8Array(readFileSync(join(pack, "model.safetensors"))));
    await (await send("json")).arrayBuffer(); // the model loads on its first request
  }, 120_000);
  afterAll(() => harness.close());

  const send = (kind: "json" | "sse" | "ndjson", signal?: AbortSignal) =>
    fetch(url, {
      method: "POST",
      signal,
      headers: { "content-type": kind === "ndjson" ? "application/x-ndjson" : "application/json", accept: kind === "sse" ? "text/event-stream" : "*/*" },
      body: kind === "ndjson" ? puzzles.map((p) => JSON.stringify({ puzzle: p })).join("\n") : JSON.stringify({ puzzles }),
    });

  /** workerd CPU ms (this test's workerd only) spent while one JSON request is answered, and its wall time. */
  async function one(): Promise<{ cpu: number; wall: number }> {
    const c0 = workerdCpuMs({ ownOnly: true })!;
    const t0 = performance.now();
    const r = await send("json");
    expect(r.status).toBe(200);
    await r.arrayBuffer();
    return { cpu: workerdCpuMs({ ownOnly: true })! - c0, wall: performance.now() - t0 };
  }

  /**
   * Abandons one request: JSON by aborting it a quarter of the way through (a
   * request aborted before the Worker has it would show nothing), a stream by
   * hanging up after its first chunk.
   */
  async function abandon(kind: "json" | "sse" | "ndjson", aloneMs: number): Promise<void> {
    const abort = new AbortController();
    const r = send(kind, abort.signal);
    if (kind === "json") {
      await sleep(aloneMs / 4);
    } else {
      const reader = (await r).body!.getReader();
      expect((await reader.read()).done).toBe(false);
    }
    abort.abort();
    await r.then((res) => res.body?.cancel()).catch(() => {});
  }

  for (const kind of ["json", "sse", "ndjson"] as const) {
    test(`${kind}: after three abandoned requests, the next one costs workerd about what it costs alone`, async () => {
      const alone = await one();
      for (let i = 0; i < 3; i++) await abandon(kind, alone.wall);
      const after = await one();
      // Work that went on would be spent while it is answered: about 3-4x alone (round-robin or FIFO).
      expect(after.cpu, `workerd CPU: alone ${alone.cpu.toFixed(0)} ms, after ${after.cpu.toFixed(0)} ms`).toBeLessThan(2.5 * alone.cpu);
    }, 180_000);
  }
});
