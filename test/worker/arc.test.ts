// ARC requests inside workerd against a real local R2 bucket holding the
// shared reference pack (official checkpoint converted with its identifiers):
// the answers must be the official evaluator's, the rows must come from
// range reads of only the asked task, and anything wrong must be refused.
import { env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, test } from "vitest";
import type { WorkerEnv } from "../../src/worker/index.ts";
import { call, callWith, solvePath, solving, until } from "./http.ts";
import testPuzzles from "@shared/golden/arc/data/test_puzzles.json";
import officialSubmission from "@shared/golden/arc/eval_model/submission.json";
import { ARC_PACK, arcTable, seedArcPack } from "./packs.ts";

const BASE = "http://trm.test";
const solve = (model: string, body: unknown, headers: Record<string, string> = {}) =>
  exports.default.fetch(new Request(`${BASE}/v1/models/${model}/solve`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) }));

type Tasks = Record<string, { test: { input: number[][]; output: number[][] }[] }>;
const tasks = testPuzzles as Tasks;
const request = (task: string, extra: Record<string, unknown> = {}) => ({ task, test: tasks[task].test.map((t) => ({ input: t.input })), ...extra });

interface ArcResult {
  task: string;
  truncated_reason?: string;
  tests: { attempt_1: number[][]; attempt_2: number[][]; candidates: { grid: number[][]; votes: number; confidence: number }[] }[];
  augmentations: number;
  sequences: number;
  steps: number;
  truncated: boolean;
  rows: { bytes_read: number; cached: boolean };
}

async function expectError(r: Response, status: number, code: string, message?: RegExp) {
  const body = (await r.json()) as { error: { code: string; message: string } };
  expect(r.status, JSON.stringify(body)).toBe(status);
  expect(body.error.code).toBe(code);
  if (message) expect(body.error.message).toMatch(message);
}

beforeAll(() => seedArcPack());

describe("ARC in the Worker", () => {
  test("a task with every augmentation and 16 steps gets the official evaluator's attempts, from a range read of only its rows", async () => {
    const r = await solve(ARC_PACK, request("1a2e2828", { augmentations: "all", max_steps: 16 }));
    const body = (await r.json()) as { model: string; task: string; result: ArcResult };
    expect(r.status, JSON.stringify(body)).toBe(200);
    expect(body.task).toBe("arc");
    const official = (officialSubmission as Record<string, Record<string, number[][]>[]>)["1a2e2828"];
    expect(body.result.tests.map((t) => ({ attempt_1: t.attempt_1, attempt_2: t.attempt_2 }))).toEqual(official);
    expect(body.result).toMatchObject({ augmentations: 9, sequences: 9, steps: 16, truncated: false });
    // 9 rows of 64 float32 and their 9 identifiers, out of a 109-row table
    const identifierBytes = new TextEncoder().encode(["1a2e2828", ...Array(8)].join("")).length; // at least the names
    expect(body.result.rows.cached).toBe(false);
    expect(body.result.rows.bytes_read).toBeGreaterThan(9 * 64 * 4 + identifierBytes);
    expect(body.result.rows.bytes_read).toBeLessThan(9 * 64 * 4 + 9 * 40);
    expect(body.result.rows.bytes_read).toBeLessThan(arcTable.byteLength / 10);
  }, 600_000);

  test("a second request for the same task reads nothing from R2 (per-isolate cache)", async () => {
    const r = await solve(ARC_PACK, request("1a2e2828", { augmentations: 1, max_steps: 1 }));
    const body = (await r.json()) as { result: ArcResult };
    expect(body.result.rows).toEqual({ bytes_read: 0, cached: true });
    expect(body.result).toMatchObject({ augmentations: 1, sequences: 1, steps: 1 });
  });

  test("several tasks in one request, and SSE shows the vote after every step", async () => {
    const r = await solve(ARC_PACK, { puzzles: [request("e872b94a"), request("5d2a5c43")], augmentations: 2, max_steps: 2, h_cycles: 1 }, { accept: "text/event-stream" });
    expect(r.headers.get("content-type")).toContain("text/event-stream");
    const events = (await r.text()).trim().split("\n\n").map((e) => ({ event: /^event: (.*)$/m.exec(e)![1], data: JSON.parse(/^data: (.*)$/m.exec(e)![1]) }));
    const steps = events.filter((e) => e.event === "step");
    // e872b94a: 1 test x 2 augmentations in 1 slice; 5d2a5c43: 2 tests x 2 in 2 slices; 2 steps each
    expect(steps.map((e) => [e.data.task, e.data.slice, e.data.step])).toEqual([
      ["e872b94a", 1, 1], ["e872b94a", 1, 2], ["5d2a5c43", 1, 1], ["5d2a5c43", 1, 2], ["5d2a5c43", 2, 1], ["5d2a5c43", 2, 2],
    ]);
    const final = events.at(-1)!;
    expect(final.event).toBe("result");
    expect(final.data.results.map((x: ArcResult) => [x.task, x.tests.length, x.sequences])).toEqual([["e872b94a", 1, 2], ["5d2a5c43", 2, 4]]);
  }, 300_000);

  test("a task outside the checkpoint's training data is 422 unknown_task, saying why", async () => {
    await expectError(await solve(ARC_PACK, { task: "00000000", test: [{ input: [[1]] }] }), 422, "unknown_task", /one puzzle embedding per task augmentation/);
  });

  test("bad grids are 422 naming the grid and the cell; bad options are 422", async () => {
    await expectError(await solve(ARC_PACK, { task: "1a2e2828", test: [{ input: [[1, 2], [3, 11]] }] }), 422, "bad_grid", /body\.test\[0\]\.input\[1\]\[1\] = 11 is not a colour/);
    await expectError(await solve(ARC_PACK, { task: "1a2e2828", test: [{ input: Array(31).fill([1]) }] }), 422, "bad_grid", /31 rows/);
    await expectError(await solve(ARC_PACK, request("1a2e2828", { augmentations: 0 })), 422, "bad_augmentations");
    await expectError(await solve(ARC_PACK, request("1a2e2828", { h_cycles: 4 })), 422, "bad_h_cycles", /1 to 3/);
    await expectError(await solve(ARC_PACK, { task: "1a2e2828" }), 400, "bad_request");
    await expectError(await solve(ARC_PACK, { puzzle: "x" }), 400, "bad_request");
  });

  test("work that cannot fit the CPU budget is refused up front with the estimate", async () => {
    // The golden model is small; 64 tasks of every augmentation is 64 x 9 x 16 steps
    const many = { puzzles: Array.from({ length: 64 }, () => request("b7f8a4d8")) };
    await expectError(await solve(ARC_PACK, many), 422, "too_much_work", /about \d+ s of CPU \(576 augmented test inputs x 16 steps x H_cycles 3, [\d.]+ GFLOP at 40 GFLOP\/s\); the budget is 240 s/);
  });

  test("rows that fail their checksum, or a truncated table, are 503 and never an answer", async () => {
    const corrupt = new Uint8Array(arcTable.slice(0));
    corrupt[60 * 256 + 5] ^= 0x40; // a byte of row 60 (task 1a2e2828 holds rows 55-63)
    await seedArcPack("arc-corrupt", { "puzzle_emb.bin": corrupt });
    await expectError(await solve("arc-corrupt", request("1a2e2828", { augmentations: 1, max_steps: 1 })), 503, "rows_unavailable", /sha256 .* does not match the task index/);
    await seedArcPack("arc-short", { "puzzle_emb.bin": new Uint8Array(arcTable.slice(0, 50 * 256)) });
    await expectError(await solve("arc-short", request("1a2e2828", { augmentations: 1, max_steps: 1 })), 503, "rows_unavailable", /returned 0 bytes|missing|truncated/);
    // other tasks of the corrupt pack still work: only the bad rows are refused
    const ok = await solve("arc-corrupt", request("e872b94a", { augmentations: 1, max_steps: 1 }));
    expect(ok.status).toBe(200);
    await seedArcPack("arc-noindex");
    await env.MODELS.delete("models/arc-noindex/tasks.json");
    await expectError(await solve("arc-noindex", request("1a2e2828")), 503, "model_unavailable", /tasks\.json is missing/);
    await seedArcPack("arc-badindex", { "tasks.json": '{"format": "trm-task-index"}' });
    await expectError(await solve("arc-badindex", request("1a2e2828")), 503, "model_unavailable", /sha256 .* does not match model\.json/);
  });
});


/** Reads an SSE body until `count` step events have come; returns the ms between the first and the last. */
async function readSteps(reader: ReadableStreamDefaultReader<Uint8Array>, count: number): Promise<number> {
  const decoder = new TextDecoder();
  let text = "";
  let first = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the stream ended after ${text.split("event: step").length - 1} step events`);
    text += decoder.decode(value, { stream: true });
    const seen = text.split("event: step").length - 1;
    if (seen >= 1 && !first) first = performance.now();
    if (seen >= count) return performance.now() - first;
  }
}

const sseRequest = (e: WorkerEnv | undefined, body: unknown) => {
  const init = { method: "POST", headers: { "content-type": "application/json", accept: "text/event-stream" }, body: JSON.stringify(body) };
  return e ? callWith(e, solvePath(ARC_PACK), init) : call(solvePath(ARC_PACK), init);
};

describe("ARC requests share the isolate as the other tasks' do", () => {
  test("budget_steps: once the next step would not fit, the vote of what was computed, truncated", async () => {
    // 1a2e2828 has 1 test input; 4 augmentations run as 2 slices of 2, so 2 steps of the first slice spend 4
    const r = await solve(ARC_PACK, request("1a2e2828", { augmentations: 4, max_steps: 2, budget_steps: 5 }));
    const body = (await r.json()) as { result: ArcResult };
    expect(r.status, JSON.stringify(body)).toBe(200);
    expect(body.result).toMatchObject({ augmentations: 4, sequences: 4, steps: 2, truncated: true });
    expect(body.result.truncated_reason).toMatch(/after 2 of 4 augmented test inputs/);
    expect(body.result.tests[0].candidates.reduce((n, c) => n + c.votes, 0)).toBe(2);
    const whole = (await (await solve(ARC_PACK, request("1a2e2828", { augmentations: 4, max_steps: 2, budget_steps: 8 }))).json()) as { result: ArcResult };
    expect(whole.result.truncated).toBe(false);
    expect(whole.result.tests[0].candidates.reduce((n, c) => n + c.votes, 0)).toBe(4);
    await expectError(await solve(ARC_PACK, request("1a2e2828", { augmentations: 4, budget_steps: 1 })), 422, "bad_budget", /less than one step of this request \(2 sequences\)/);
    await expectError(await solve(ARC_PACK, request("1a2e2828", { budget_steps: 0 })), 422, "bad_budget");
  }, 300_000);

  test("a client that goes away stops the work within a supervision step, and the request counts as solving until then", async () => {
    // every augmentation x 16 steps: 5 slices of 2 sequences, 80 steps in all
    const r = await sseRequest(undefined, request("1a2e2828", { augmentations: "all", max_steps: 16 }));
    const reader = r.body!.getReader();
    const stepMs = (await readSteps(reader, 3)) / 2;
    expect(await solving()).toBe(1);
    await reader.cancel();
    const drained = await until(async () => (await solving()) === 0, 60_000);
    expect(drained).toBeLessThan(Math.max(10 * stepMs, 500)); // 77 steps were left
  }, 300_000);

  test("the isolate's scheduler admits ARC requests: beyond MAX_QUEUE, 503 overloaded with Retry-After", async () => {
    const e = { ...env, MAX_QUEUE: "1" } as WorkerEnv;
    const first = await sseRequest(e, request("1a2e2828", { augmentations: "all", max_steps: 16 }));
    const reader = first.body!.getReader();
    await readSteps(reader, 1);
    const second = await callWith(e, solvePath(ARC_PACK), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(request("e872b94a", { augmentations: 1, max_steps: 1 })) });
    expect(second.headers.get("retry-after")).toBeTruthy();
    await expectError(second, 503, "overloaded");
    await reader.cancel();
    await until(async () => (await solving()) === 0, 60_000);
  }, 300_000);
});
