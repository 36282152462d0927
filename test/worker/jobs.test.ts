// Batch jobs inside workerd, with the real local queues (producer, consumer,
// dead-letter queue), R2 buckets and the job's Durable Object. Some tests let
// the queue deliver (POST /v1/jobs, then poll); others plan a job with the
// producer's own planJob and hand its messages to the consumer with
// createMessageBatch, to deliver twice, out of order, after a crash, or after
// a cancel, and read the ack/retry verdicts with getQueueResult.
import { createExecutionContext, createMessageBatch, env, evictDurableObject, getQueueResult, runInDurableObject } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, test } from "vitest";
import worker from "../../src/worker/index.ts";
import { planJob } from "../../src/worker/jobs/api.ts";
import { backoffSeconds, jobStub, solveSlice } from "../../src/worker/jobs/consumer.ts";
import type { JobState } from "../../src/worker/jobs/state.ts";
import { type JobsEnv, type SliceMessage, arcKey, resultKey } from "../../src/worker/jobs/types.ts";
import sudokuWeights from "../../weights/sudoku/model.safetensors";
import sudokuManifest from "../../weights/sudoku/model.json";
import mazeWeights from "../../weights/maze/model.safetensors";
import mazeManifest from "../../weights/maze/model.json";
import arcTasks from "../../weights/arc-parity/test_puzzles.json";
import { Random } from "../../src/generate/random.ts";
import { generateMaze } from "../../src/generate/maze.ts";
import { generateSudoku, sudokuString } from "../../src/generate/sudoku.ts";
import { ARC_PACK, putPack, seedArcPack } from "./packs.ts";

const E = env as unknown as JobsEnv;
const BASE = "http://trm.test";
const DLQ = "trm-jobs-dlq";
const PER_SLICE = 4; // JOB_SLICE_GFLOP 17 in vitest.workers.config.ts / 4.13 GFLOP per shipped-model Sudoku at 16 steps

const call = (path: string, init: RequestInit = {}) => exports.default.fetch(new Request(BASE + path, init));
const post = (path: string, body: unknown) => call(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
const text = async (r: Response) => new TextDecoder().decode(await r.arrayBuffer());

interface Status {
  id: string;
  state: string;
  counts: { total: number; done: number; failed: number; pending: number };
  slices: { total: number; done: number; failed: number };
  cpu_ms: number;
  eta_s: number | null;
  failures: { slice: number; start: number; count: number; attempts: number; error: { code: string; message: string } }[];
}
interface Line {
  index: number;
  solution?: unknown;
  steps?: number;
  confidence?: number;
  halted?: boolean;
  check?: unknown;
  timings?: unknown;
  error?: { code: string; message: string };
}

async function status(id: string): Promise<Status> {
  const r = await call(`/v1/jobs/${id}`);
  expect(r.status).toBe(200);
  return (await r.json()) as Status;
}

async function results(id: string): Promise<Line[]> {
  const r = await call(`/v1/jobs/${id}/results`);
  expect(r.status).toBe(200);
  expect(r.headers.get("content-type")).toContain("application/x-ndjson");
  return (await text(r)).split("\n").filter(Boolean).map((l) => JSON.parse(l) as Line);
}

async function until(id: string, done: (s: Status) => boolean, ms = 90_000): Promise<Status> {
  const deadline = Date.now() + ms;
  for (;;) {
    const s = await status(id);
    if (done(s)) return s;
    if (Date.now() > deadline) throw new Error(`job ${id} did not get there in ${ms} ms: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function expectError(res: Promise<Response>, status: number, code: string): Promise<string> {
  const r = await res;
  const body = (await r.json()) as { error: { code: string; message: string } };
  expect(r.status, JSON.stringify(body)).toBe(status);
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(0);
  return body.error.message;
}

/** The answers of POST /v1/models/:name/solve for the same puzzles, without timings. */
async function directSolve(model: string, puzzles: unknown[], options: Record<string, unknown> = {}): Promise<Line[]> {
  const r = await post(`/v1/models/${model}/solve`, { puzzles, ...options });
  expect(r.status).toBe(200);
  return ((await r.json()) as { results: Line[] }).results.map(withoutTimings);
}
const withoutTimings = ({ timings: _, ...rest }: Line) => rest;

/** A job planned by the producer and created in its Durable Object, with its messages kept back for delivery by hand. */
async function staged(body: unknown): Promise<{ id: string; messages: SliceMessage[] }> {
  const { meta, messages, tasks } = await planJob(E, body);
  if (tasks !== undefined) await E.JOB_DATA.put(arcKey(meta.id, "tasks.json"), JSON.stringify(tasks)); // as submit does
  await jobStub(E, meta.id).create(meta);
  return { id: meta.id, messages };
}

let nextId = 0;
async function deliver(queue: string, messages: { body: SliceMessage; attempts?: number }[]) {
  const batch = createMessageBatch<SliceMessage>(queue, messages.map((m) => ({ id: `msg-${nextId++}`, timestamp: Date.now(), attempts: m.attempts ?? 1, body: m.body })));
  await worker.queue(batch, E);
  return getQueueResult(batch, createExecutionContext());
}

const random = new Random(913_001);
const sudokus = Array.from({ length: 30 }, () => sudokuString(generateSudoku(random, 34).puzzle));
const mazes = Array.from({ length: 10 }, () => generateMaze(random, Math.sqrt(mazeManifest.seq_len), 8, 2).maze);

beforeAll(async () => {
  await putPack("sudoku", sudokuManifest, sudokuWeights);
  await putPack("maze", mazeManifest, mazeWeights);
});

describe("jobs through the real queue", () => {
  test("a Sudoku job's results equal the direct solve answers, in input order", async () => {
    const r = await post("/v1/jobs", { model: "sudoku", puzzles: sudokus });
    expect(r.status).toBe(202);
    const submitted = (await r.json()) as Status;
    expect(r.headers.get("location")).toBe(`/v1/jobs/${submitted.id}`);
    expect(submitted).toMatchObject({ state: "queued", counts: { total: 30, done: 0, failed: 0, pending: 30 }, slices: { total: Math.ceil(30 / PER_SLICE) } });

    const s = await until(submitted.id, (x) => x.state === "done");
    expect(s.counts).toEqual({ total: 30, done: 30, failed: 0, pending: 0 });
    expect(s.slices).toEqual({ total: 8, done: 8, failed: 0 });
    expect(s.cpu_ms).toBeGreaterThan(0);
    const lines = await results(submitted.id);
    expect(lines.map((l) => l.index)).toEqual(sudokus.map((_, i) => i));
    expect(lines.map(withoutTimings)).toEqual((await directSolve("sudoku", sudokus)).map((l, i) => ({ ...l, index: i })));
    expect(lines.filter((l) => (l.check as { valid: boolean }).valid).length).toBeGreaterThanOrEqual(25); // the trained model solves these
  });

  test("a Maze job from an NDJSON object in R2, with options, equals the direct solve", async () => {
    await E.JOB_DATA.put("inputs/mazes.ndjson", mazes.map((m) => JSON.stringify({ puzzle: m })).join("\n") + "\n");
    const r = await post("/v1/jobs", { model: "maze", input: "inputs/mazes.ndjson", options: { max_steps: 8, halt: "adaptive" } });
    expect(r.status).toBe(202);
    const { id } = (await r.json()) as Status;
    await until(id, (x) => x.state === "done");
    const lines = await results(id);
    expect(lines.map(withoutTimings)).toEqual(await directSolve("maze", mazes, { max_steps: 8, halt: "adaptive" }));
  });

  test("a slice that keeps failing retries, lands in the dead-letter queue, and the job shows it failed with the reason", async () => {
    await E.MODELS.put("models/no-weights/model.json", JSON.stringify(sudokuManifest)); // manifest only: the producer accepts it, consumers cannot load it
    const submitted = Date.now();
    const r = await post("/v1/jobs", { model: "no-weights", puzzles: sudokus.slice(0, 6) });
    expect(r.status).toBe(202);
    const { id } = (await r.json()) as Status;
    const s = await until(id, (x) => x.state === "done");
    expect(Date.now() - submitted).toBeGreaterThanOrEqual((1 + 2 + 4) * 1000); // three retries after 1, 2 and 4 s (JOB_RETRY_DELAY_S 1)
    expect(s.counts).toEqual({ total: 6, done: 0, failed: 6, pending: 0 });
    expect(s.slices).toEqual({ total: 2, done: 0, failed: 2 });
    expect(s.failures.map((f) => [f.start, f.count, f.attempts, f.error.code])).toEqual([[0, 4, 4, "model_unavailable"], [4, 2, 4, "model_unavailable"]]);
    expect(s.failures[0].error.message).toMatch(/weights object .* is missing/);
    const lines = await results(id);
    expect(lines.map((l) => [l.index, l.error?.code])).toEqual([0, 1, 2, 3, 4, 5].map((i) => [i, "model_unavailable"]));
  });
});

describe("the consumer, message by message", () => {
  test("duplicate delivery (same batch, separate batches, concurrent) counts each slice once", async () => {
    const { id, messages } = await staged({ model: "sudoku", puzzles: sudokus.slice(0, 10) });
    expect(messages.map((m) => [m.start, m.puzzles.length])).toEqual([[0, 4], [4, 4], [8, 2]]);
    const first = await deliver("trm-jobs", [{ body: messages[0] }, { body: messages[0] }]);
    expect(first.explicitAcks).toHaveLength(2);
    await Promise.all([deliver("trm-jobs", [{ body: messages[1] }]), deliver("trm-jobs", [{ body: messages[1] }])]);
    await deliver("trm-jobs", [{ body: messages[2] }]);
    await deliver("trm-jobs", [{ body: messages[2], attempts: 2 }]);
    const s = await status(id);
    expect(s.state).toBe("done");
    expect(s.counts).toEqual({ total: 10, done: 10, failed: 0, pending: 0 });
    expect(s.slices).toEqual({ total: 3, done: 3, failed: 0 });
    const lines = await results(id);
    expect(lines.map(withoutTimings)).toEqual(await directSolve("sudoku", sudokus.slice(0, 10)));
    // one outcome per slice in the Durable Object's storage
    const stored = await runInDurableObject(jobStub(E, id), async (_: JobState, state) => [...(await state.storage.list({ prefix: "slice:" })).keys()]);
    expect(stored).toEqual(["slice:000000", "slice:000001", "slice:000002"]);
  });

  test("a consumer that died after writing results but before recording them: the redelivery counts the slice once", async () => {
    const { id, messages } = await staged({ model: "sudoku", puzzles: sudokus.slice(0, 5) });
    await solveSlice(E, messages[1]); // the crashed consumer got this far
    expect(await E.JOB_DATA.head(resultKey(id, 1))).not.toBeNull();
    expect((await status(id)).counts.done).toBe(0);
    for (const m of messages) expect((await deliver("trm-jobs", [{ body: m, attempts: 2 }])).explicitAcks).toHaveLength(1);
    const s = await status(id);
    expect(s.counts).toEqual({ total: 5, done: 5, failed: 0, pending: 0 });
    expect((await results(id)).map(withoutTimings)).toEqual(await directSolve("sudoku", sudokus.slice(0, 5)));
  });

  test("a consumer that throws mid-message is retried with backoff; the retry that succeeds is counted once", async () => {
    await E.MODELS.put("models/late-weights/model.json", JSON.stringify(sudokuManifest));
    const { id, messages } = await staged({ model: "late-weights", puzzles: sudokus.slice(0, 4) });
    const failed = await deliver("trm-jobs", [{ body: messages[0], attempts: 1 }]);
    expect(failed.explicitAcks).toEqual([]);
    expect(failed.retryMessages).toHaveLength(1); // (the harness's retry() drops delaySeconds; the real-queue test times the backoff)
    expect((await status(id)).counts).toEqual({ total: 4, done: 0, failed: 0, pending: 4 });
    await E.MODELS.put("models/late-weights/model.safetensors", sudokuWeights);
    expect((await deliver("trm-jobs", [{ body: messages[0], attempts: 2 }])).explicitAcks).toHaveLength(1);
    const s = await status(id);
    expect(s).toMatchObject({ state: "done", counts: { done: 4, failed: 0 }, failures: [] });
    expect((await results(id)).map(withoutTimings)).toEqual(await directSolve("sudoku", sudokus.slice(0, 4)));
  });

  test("backoff doubles per attempt; a dead-lettered slice is failed once, a late success after it is not counted", async () => {
    expect([1, 2, 3, 4, 20].map((a) => backoffSeconds(E, a))).toEqual([1, 2, 4, 8, 900]);
    await E.MODELS.put("models/no-weights-2/model.json", JSON.stringify(sudokuManifest));
    const { id, messages } = await staged({ model: "no-weights-2", puzzles: sudokus.slice(0, 4) });
    for (const attempts of [1, 2, 3, 4]) {
      const r = await deliver("trm-jobs", [{ body: messages[0], attempts }]);
      expect(r.retryMessages).toHaveLength(1);
    }
    await deliver(DLQ, [{ body: messages[0] }]);
    await deliver(DLQ, [{ body: messages[0] }]); // the dead letter delivered twice
    const s = await status(id);
    expect(s).toMatchObject({ state: "done", counts: { total: 4, done: 0, failed: 4, pending: 0 } });
    expect(s.failures).toMatchObject([{ slice: 0, attempts: 4, error: { code: "model_unavailable" } }]);
    await E.MODELS.put("models/no-weights-2/model.safetensors", sudokuWeights);
    await deliver("trm-jobs", [{ body: messages[0], attempts: 5 }]);
    expect((await status(id)).counts).toEqual({ total: 4, done: 0, failed: 4, pending: 0 });
  });

  test("cancellation: queued messages do no work, solved slices keep their results, counts stay right", async () => {
    const { id, messages } = await staged({ model: "sudoku", puzzles: sudokus.slice(0, 12) });
    await deliver("trm-jobs", [{ body: messages[0] }]);
    const r = await call(`/v1/jobs/${id}`, { method: "DELETE" });
    expect(r.status).toBe(200);
    expect(((await r.json()) as Status).state).toBe("cancelled");
    const after = await deliver("trm-jobs", [{ body: messages[1] }, { body: messages[2] }]);
    expect(after.explicitAcks).toHaveLength(2);
    expect(await E.JOB_DATA.head(resultKey(id, 1))).toBeNull();
    const s = await status(id);
    expect(s).toMatchObject({ state: "cancelled", counts: { total: 12, done: 4, failed: 0, pending: 8 }, eta_s: null });
    const res = await call(`/v1/jobs/${id}/results`);
    expect(res.headers.get("x-job-complete")).toBe("false");
    const lines = (await text(res)).split("\n").filter(Boolean).map((l) => JSON.parse(l) as Line);
    expect(lines.map(withoutTimings)).toEqual(await directSolve("sudoku", sudokus.slice(0, 4)));
    expect(((await (await call(`/v1/jobs/${id}`, { method: "DELETE" })).json()) as Status).state).toBe("cancelled");
  });

  test("job state lives in the Durable Object's storage: it survives eviction, and partial results come in input order", async () => {
    const { id, messages } = await staged({ model: "sudoku", puzzles: sudokus.slice(0, 12) });
    await deliver("trm-jobs", [{ body: messages[2] }]);
    await deliver("trm-jobs", [{ body: messages[0] }]);
    await evictDurableObject(jobStub(E, id));
    const s = await status(id);
    expect(s).toMatchObject({ state: "running", counts: { total: 12, done: 8, pending: 4 } });
    expect(s.eta_s).not.toBeNull();
    expect((await results(id)).map((l) => l.index)).toEqual([0, 1, 2, 3, 8, 9, 10, 11]);
  });
});

describe("ARC jobs", () => {
  const options = { augmentations: 2, max_steps: 1 }; // the reference pack costs 10 GFLOP per sequence-step: kept small
  type Submission = Record<string, Record<string, number[][]>[]>;

  test("an ARC job over the pack's test_puzzles.json votes like the direct solve: one message per (task, augmentation), submission and pass@K in R2", async () => {
    await seedArcPack();
    const r = await post("/v1/jobs", { model: ARC_PACK, tasks: arcTasks, options });
    expect(r.status).toBe(202);
    const submitted = (await r.json()) as Status & { arc: { tasks: number; unknown_tasks: string[] } };
    const tasks = Object.entries(arcTasks as Record<string, { test: { input: number[][] }[] }>);
    const sequences = tasks.reduce((n, [, t]) => n + 2 * t.test.length, 0);
    expect(submitted.counts.total).toBe(sequences);
    expect(submitted.slices.total).toBe(2 * tasks.length); // 10 or 20 GFLOP per augmentation, JOB_SLICE_GFLOP 17: one augmentation per message
    expect(submitted.arc).toEqual({ tasks: tasks.length, unknown_tasks: [], voted: false });
    await expectError(call(`/v1/jobs/${submitted.id}/submission`), 409, "job_not_finished");

    const s = await until(submitted.id, (x) => x.state === "done");
    expect(s.counts).toEqual({ total: sequences, done: sequences, failed: 0, pending: 0 });
    const submission = JSON.parse(await text(await call(`/v1/jobs/${submitted.id}/submission`))) as Submission;
    expect(Object.keys(submission)).toEqual(tasks.map(([id]) => id));
    for (const [task, t] of tasks) {
      const direct = await post(`/v1/models/${ARC_PACK}/solve`, { task, test: t.test.map((x) => ({ input: x.input })), ...options });
      expect(direct.status).toBe(200);
      const { result } = (await direct.json()) as { result: { tests: { attempt_1: number[][]; attempt_2: number[][] }[] } };
      expect(submission[task]).toEqual(result.tests.map((x) => ({ attempt_1: x.attempt_1, attempt_2: x.attempt_2 })));
    }
    const report = JSON.parse(await text(await call(`/v1/jobs/${submitted.id}/report`))) as { result: Record<string, number> | null; sequences: number };
    expect(report.sequences).toBe(sequences);
    expect(Object.keys(report.result ?? {})).toEqual(["ARC/pass@1", "ARC/pass@2", "ARC/pass@5", "ARC/pass@10", "ARC/pass@100", "ARC/pass@1000"]);
    const lines = await results(submitted.id);
    expect(lines.map((l) => l.index)).toEqual(Array.from({ length: sequences }, (_, i) => i));
  }, 300_000);

  test("a vote that died is redone by the next delivery; duplicates count once", async () => {
    await seedArcPack();
    const [task, t] = Object.entries(arcTasks as Record<string, { test: { input: number[][] }[] }>)[0];
    const { id, messages } = await staged({ model: ARC_PACK, tasks: { [task]: t }, options });
    await solveSlice(E, messages[0]); // solved, then died before recording
    for (const m of messages) await deliver("trm-jobs", [{ body: m }, { body: m }]);
    const s = await status(id);
    expect(s).toMatchObject({ state: "done", counts: { done: 2 * t.test.length, failed: 0 } });
    const once = await text(await call(`/v1/jobs/${id}/submission`));
    await runInDurableObject(jobStub(E, id), async (_: JobState, state) => {
      const meta = (await state.storage.get("meta")) as { state: string; arc: { finalized: boolean } };
      await state.storage.put("meta", { ...meta, state: "voting", arc: { ...meta.arc, finalized: false } }); // as if the voter died
    });
    await E.JOB_DATA.delete(arcKey(id, "submission.json"));
    await deliver("trm-jobs", [{ body: messages[0], attempts: 2 }]);
    expect((await status(id)).state).toBe("done");
    expect(await text(await call(`/v1/jobs/${id}/submission`))).toBe(once);
  }, 300_000);

  test("ARC job mistakes", async () => {
    await seedArcPack();
    await expectError(post("/v1/jobs", { model: ARC_PACK, puzzles: [] }), 400, "bad_request");
    await expectError(post("/v1/jobs", { model: ARC_PACK, tasks: { nope: { test: [{ input: [[1]] }] } } }), 422, "unknown_task");
    await expectError(post("/v1/jobs", { model: ARC_PACK, tasks: arcTasks, options: { augmentations: 0 } }), 422, "bad_augmentations");
    await expectError(post("/v1/jobs", { model: ARC_PACK, tasks: arcTasks, options: { colours: 1 } }), 400, "bad_request");
    await expectError(post("/v1/jobs", { model: "sudoku", tasks: arcTasks }), 400, "bad_request");
    await expectError(call("/v1/jobs/00000000-0000-4000-8000-000000000000/submission"), 404, "job_not_found");
  });
});

describe("job API errors", () => {

  test("bad bodies, bad puzzles, limits, unknown jobs and methods", async () => {
    await expectError(call("/v1/jobs", { method: "POST", body: "{" }), 400, "malformed_json");
    await expectError(post("/v1/jobs", { model: "sudoku" }), 400, "bad_request");
    await expectError(post("/v1/jobs", { model: "sudoku", puzzles: [], extra: 1 }), 400, "bad_request");
    await expectError(post("/v1/jobs", { model: "sudoku", puzzles: sudokus, options: { steps: 3 } }), 400, "bad_request");
    await expectError(post("/v1/jobs", { model: "nope", puzzles: sudokus }), 404, "model_not_found");
    await expectError(post("/v1/jobs", { model: "sudoku", input: "inputs/missing.ndjson" }), 404, "input_not_found");
    expect(await expectError(post("/v1/jobs", { model: "sudoku", puzzles: [sudokus[0], "12"] }), 422, "bad_puzzle")).toMatch(/puzzles\[1\]/);
    await expectError(post("/v1/jobs", { model: "sudoku", puzzles: sudokus, options: { max_steps: 99 } }), 422, "bad_max_steps");
    await expectError(post("/v1/jobs", { model: "sudoku", puzzles: Array(101).fill(sudokus[0]) }), 413, "too_many_puzzles");
    await E.JOB_DATA.put("inputs/bad.ndjson", `{"puzzle": "${sudokus[0]}"}\n[1]\n`);
    expect(await expectError(post("/v1/jobs", { model: "sudoku", input: "inputs/bad.ndjson" }), 400, "bad_request")).toMatch(/line 2/);
    await expectError(call("/v1/jobs/not-a-job"), 404, "job_not_found");
    await expectError(call("/v1/jobs/00000000-0000-4000-8000-000000000000"), 404, "job_not_found");
    await expectError(call("/v1/jobs/00000000-0000-4000-8000-000000000000/results"), 404, "job_not_found");
    await expectError(call("/v1/jobs/00000000-0000-4000-8000-000000000000", { method: "DELETE" }), 404, "job_not_found");
    await expectError(call("/v1/jobs"), 405, "method_not_allowed");
    await expectError(call("/v1/jobs/00000000-0000-4000-8000-000000000000", { method: "PUT" }), 405, "method_not_allowed");
  });
});
