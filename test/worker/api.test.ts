// The Worker API inside workerd, against a local R2 bucket seeded with real packs.
// The sudoku and tokens packs are the official golden checkpoints converted,
// so their answers are checked against the official outputs.
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, test } from "vitest";
import goldenSudoku from "@shared/golden/mlp_t/expected.json";
import goldenTokens from "@shared/golden/att_rope/expected.json";
import goldenHrm from "@shared/golden/hrm_att_rope/expected.json";
import { Random } from "../../src/generate/random.ts";
import { generateSudoku, sudokuString } from "../../src/generate/sudoku.ts";
import { call, callWith, expectError, post, solvePath, text } from "./http.ts";
import { PACKS, bf16Packs, putPack, seedPacks } from "./packs.ts";

// The golden sudoku inputs are random tokens (their givens repeat digits), which the
// sudoku task refuses; the official outputs are checked through the same weights
// served as a tokens model ("sudoku-parity-tokens"). Sudoku-shaped tests use
// generated puzzles with unique answers.
const digits = (tokens: number[]) => tokens.map((t) => (t >= 1 ? t - 1 : 0)).join("");
const random = new Random(4242);
const sudokuPuzzles = Array.from({ length: 4 }, () => sudokuString(generateSudoku(random, 30).puzzle, "0"));
const goldenIds = goldenSudoku.inputs.map((tokens) => ({ tokens }));
const lastStep = <T extends { steps: unknown[] }>(g: T) => g.steps[g.steps.length - 1] as { preds: number[][]; q_halt_logits: number[] };

interface ApiResult {
  index: number;
  solution: unknown;
  steps: number;
  confidence: number;
  halted: boolean;
  solved?: boolean;
  stopped: string;
  truncated: boolean;
  check?: Record<string, boolean>;
  timings: { compute_ms: number; total_ms: number };
}

beforeAll(seedPacks);

describe("models", () => {
  test("GET /v1/models lists every pack with task, parameters and size", async () => {
    const r = await call("/v1/models");
    expect(r.status).toBe(200);
    const { models } = (await r.json()) as { models: { name: string; task: string; parameters: number; size_bytes: number }[] };
    const byName = Object.fromEntries(models.map((m) => [m.name, m]));
    expect(byName["sudoku-parity"]).toMatchObject({ task: "sudoku", parameters: 398018, size_bytes: PACKS["sudoku-parity"].manifest.weights.bytes });
    expect(byName["tokens-parity"]).toMatchObject({ task: "tokens", parameters: 133506 });
    expect(byName["maze-5x5"]).toMatchObject({ task: "maze" });
  });

  test("GET /v1/models/:name gives the manifest", async () => {
    const r = await call("/v1/models/sudoku-parity");
    expect(r.status).toBe(200);
    const info = (await r.json()) as { name: string; manifest: { arch: { mlp_t: boolean }; weights: { sha256: string } } };
    expect(info.name).toBe("sudoku-parity");
    expect(info.manifest.arch.mlp_t).toBe(true);
    expect(info.manifest.weights.sha256).toBe(PACKS["sudoku-parity"].manifest.weights.sha256);
  });

  test("unknown models, routes and methods", async () => {
    await expectError(call("/v1/models/nope"), 404, "model_not_found");
    await expectError(post(solvePath("nope"), { puzzle: sudokuPuzzles[0] }), 404, "model_not_found");
    await expectError(call("/v1/models/%E0%A4%A"), 404, "model_not_found");
    await expectError(call("/v2/anything"), 404, "not_found");
    await expectError(call(solvePath("sudoku-parity")), 405, "method_not_allowed");
    await expectError(post("/v1/models", {}), 405, "method_not_allowed");
  });
});

describe("solve (JSON)", () => {
  test("the official answer at step 16 (bundled wasm in workerd)", async () => {
    const r = await post(solvePath("sudoku-parity-tokens"), { puzzles: goldenIds });
    expect(r.status).toBe(200);
    const body = (await r.json()) as { model: string; task: string; results: ApiResult[] };
    expect(body).toMatchObject({ model: "sudoku-parity-tokens", task: "tokens" });
    body.results.forEach((res, b) => {
      const q = lastStep(goldenSudoku).q_halt_logits[b];
      expect(res.index).toBe(b);
      expect(res.solution).toEqual(lastStep(goldenSudoku).preds[b]);
      expect(res.steps).toBe(16);
      expect(res.halted).toBe(q > 0); // what the Q-head said (no_ACT_continue), not "ran out of steps"
      expect(res.stopped).toBe("max_steps");
      expect(res.truncated).toBe(false);
      expect(res.confidence).toBeCloseTo(1 / (1 + Math.exp(-q)), 4);
      expect(res.timings.compute_ms).toBeGreaterThanOrEqual(0);
    });
  });

  test("sudoku answers carry the task check and solved", async () => {
    const { results } = (await (await post(solvePath("sudoku-parity"), { puzzles: sudokuPuzzles, max_steps: 2 })).json()) as { results: ApiResult[] };
    results.forEach((res) => {
      expect(res.check).toEqual({ valid: expect.any(Boolean), keeps_givens: expect.any(Boolean), complete: expect.any(Boolean) });
      expect(res.solved).toBe(res.check!.valid);
    });
  });

  test("9x9 arrays and rows come back in the same form", async () => {
    const grid = Array.from({ length: 9 }, (_, r) => [...sudokuPuzzles[0].slice(r * 9, r * 9 + 9)].map(Number));
    const asGrid = (await (await post(solvePath("sudoku-parity"), { puzzle: grid, max_steps: 2 })).json()) as { result: ApiResult };
    const asRows = (await (await post(solvePath("sudoku-parity"), { puzzle: grid.map((r) => r.join("")), max_steps: 2 })).json()) as { result: ApiResult };
    const asString = (await (await post(solvePath("sudoku-parity"), { puzzle: sudokuPuzzles[0].replace(/0/g, "."), max_steps: 2 })).json()) as { result: ApiResult };
    expect(asGrid.result.solution).toEqual(Array.from({ length: 9 }, (_, r) => [...(asString.result.solution as string).slice(r * 9, r * 9 + 9)].map(Number)));
    expect(asRows.result.solution).toEqual((grid as number[][]).map((_, r) => (asString.result.solution as string).slice(r * 9, r * 9 + 9)));
    expect(asString.result.steps).toBe(2);
  });

  test("adaptive halting stops each puzzle at its first q_halt > 0", async () => {
    const r = await post(solvePath("sudoku-parity-tokens"), { puzzles: goldenIds, halt: "adaptive" });
    const { results } = (await r.json()) as { results: ApiResult[] };
    results.forEach((res, b) => {
      const stop = goldenSudoku.steps.find((s) => s.q_halt_logits[b] > 0)?.step;
      expect(res.steps).toBe(stop ?? 16);
      expect(res.solution).toEqual(goldenSudoku.steps[(stop ?? 16) - 1].preds[b]);
      expect(res.halted).toBe(stop !== undefined);
      expect(res.stopped).toBe(stop !== undefined ? "halted" : "max_steps");
    });
  });

  test("raw tokens with puzzle identifiers match the official attention model", async () => {
    const r = await post(solvePath("tokens-parity"), {
      puzzles: goldenTokens.inputs.map((tokens, b) => ({ tokens, puzzle_identifier: goldenTokens.puzzle_identifiers[b] })),
    });
    const { results } = (await r.json()) as { results: ApiResult[] };
    results.forEach((res, b) => expect(res.solution).toEqual(lastStep(goldenTokens).preds[b]));
  });

  test("mazes: rows in, rows out, with a path check", async () => {
    const maze = ["S  # ", " # # ", " #   ", " ### ", "    G"];
    const r = await post(solvePath("maze-5x5"), { puzzle: maze, max_steps: 3 });
    expect(r.status).toBe(200);
    const { result } = (await r.json()) as { result: ApiResult };
    expect(result.solution).toHaveLength(5);
    (result.solution as string[]).forEach((row) => expect(row).toMatch(/^[# SGo]{5}$/));
    expect(result.check).toHaveProperty("valid");
    await expectError(post(solvePath("maze-5x5"), { puzzle: ["S  # ", " # # ", " #x  ", " ### ", "    G"] }), 422, "bad_puzzle", /illegal maze character "x" at row 2, column 2/);
    await expectError(post(solvePath("maze-5x5"), { puzzle: maze.slice(1) }), 422, "bad_puzzle", /5x5/);
  });
});

describe("HRM packs", () => {
  const puzzles = goldenHrm.inputs.map((tokens, b) => ({ tokens, puzzle_identifier: goldenHrm.puzzle_identifiers[b] }));

  test("an HRM pack is listed as such and answers like the official HRM code at step 16", async () => {
    const { models } = (await (await call("/v1/models")).json()) as { models: { name: string; model: string; parameters: number }[] };
    expect(models.find((m) => m.name === "hrm-parity")).toMatchObject({ model: "hrm", parameters: 264578 });
    const r = await post(solvePath("hrm-parity"), { puzzles });
    const { results } = (await r.json()) as { results: ApiResult[] };
    results.forEach((res, b) => expect(res.solution).toEqual(lastStep(goldenHrm).preds[b]));
  });

  test("adaptive halting stops each sequence at its first q_halt > q_continue (HRM's rule)", async () => {
    const r = await post(solvePath("hrm-parity"), { puzzles, halt: "adaptive" });
    const { results } = (await r.json()) as { results: ApiResult[] };
    results.forEach((res, b) => {
      const first = goldenHrm.steps.findIndex((s) => s.q_halt_logits[b] > s.q_continue_logits[b]);
      const stop = first < 0 ? 16 : first + 1;
      expect(res.steps).toBe(stop);
      expect(res.solution).toEqual(goldenHrm.steps[stop - 1].preds[b]);
    });
    expect(new Set(results.map((res) => res.steps)).size).toBeGreaterThan(1); // the rule matters on this case
  });

  test("a bf16 pack is served bf16-resident with the answers of the f32 pack of the same values", async () => {
    const { bf16, widened } = await bf16Packs(PACKS["hrm-parity"].manifest, PACKS["hrm-parity"].weights);
    await putPack("hrm-bf16", ...bf16);
    await putPack("hrm-bf16-widened", ...widened);
    const answers = async (name: string) => ((await (await post(solvePath(name), { puzzles, max_steps: 16 })).json()) as { results: ApiResult[] }).results;
    const [half, full] = [await answers("hrm-bf16"), await answers("hrm-bf16-widened")];
    expect(half.map((r) => [r.solution, r.confidence])).toEqual(full.map((r) => [r.solution, r.confidence]));
  });
});

describe("bad requests", () => {
  test("malformed JSON", async () => {
    await expectError(post(solvePath("sudoku-parity"), "{puzzle:"), 400, "malformed_json");
    await expectError(post(solvePath("sudoku-parity"), "[1,2]"), 400, "bad_request");
  });

  test("wrong puzzle length and illegal characters", async () => {
    await expectError(post(solvePath("sudoku-parity"), { puzzle: "123" }), 422, "bad_puzzle", /81 cells, got 3/);
    await expectError(post(solvePath("sudoku-parity"), { puzzle: "x" + sudokuPuzzles[0].slice(1) }), 422, "bad_puzzle", /illegal sudoku cell "x" at cell 0/);
    await expectError(post(solvePath("sudoku-parity"), { puzzles: [sudokuPuzzles[0], 42] }), 422, "bad_puzzle", /^puzzles\[1\]/);
    await expectError(post(solvePath("tokens-parity"), { puzzle: { tokens: [99, ...goldenTokens.inputs[0].slice(1)] } }), 422, "token_out_of_vocab", /tokens\[0\] = 99/);
    await expectError(post(solvePath("tokens-parity"), { puzzle: { tokens: goldenTokens.inputs[0], puzzle_identifier: 10 } }), 422, "puzzle_id_out_of_range");
  });

  test("oversize body, with and without Content-Length", async () => {
    const big = JSON.stringify({ puzzle: sudokuPuzzles[0], pad: "x".repeat(Number(env.MAX_BODY_BYTES)) });
    await expectError(post(solvePath("sudoku-parity"), big), 413, "body_too_large");
    const bytes = new TextEncoder().encode(big);
    const chunked = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < bytes.length; i += 65536) c.enqueue(bytes.subarray(i, i + 65536));
        c.close();
      },
    });
    await expectError(call(solvePath("sudoku-parity"), { method: "POST", body: chunked, headers: { "content-type": "application/json" } }), 413, "body_too_large");
  });

  test("too many puzzles", async () => {
    const puzzles = Array.from({ length: Number(env.MAX_PUZZLES) + 1 }, () => sudokuPuzzles[0]);
    await expectError(post(solvePath("sudoku-parity"), { puzzles }), 413, "too_many_puzzles", /65 puzzles .* limit is 64/);
  });

  test("bad options", async () => {
    for (const max_steps of [0, 17, 2.5, "3", -1]) {
      await expectError(post(solvePath("sudoku-parity"), { puzzle: sudokuPuzzles[0], max_steps }), 422, "bad_max_steps", /1 to 16/);
    }
    await expectError(post(solvePath("sudoku-parity"), { puzzle: sudokuPuzzles[0], halt: "sometimes" }), 422, "bad_halt");
    await expectError(post(solvePath("sudoku-parity"), { puzzle: sudokuPuzzles[0], steps: 3 }), 400, "bad_request", /unknown field\(s\) steps/);
    await expectError(post(solvePath("sudoku-parity"), { puzzle: sudokuPuzzles[0], puzzles: [] }), 400, "bad_request");
    await expectError(post(solvePath("sudoku-parity"), { puzzles: [] }), 400, "bad_request");
  });

  test("bearer token when API_TOKEN is set", async () => {
    const withToken = { ...env, API_TOKEN: "s3cret-token" };
    const ask = (headers: Record<string, string>) => callWith(withToken, "/v1/models", { headers });
    const missing = await ask({});
    expect(missing.headers.get("www-authenticate")).toContain("Bearer");
    await expectError(missing, 401, "unauthorized");
    await expectError(ask({ authorization: "Bearer wrong" }), 401, "unauthorized");
    await expectError(ask({ authorization: "Basic s3cret-token" }), 401, "unauthorized");
    expect((await ask({ authorization: "Bearer s3cret-token" })).status).toBe(200);
    expect((await call("/v1/models")).status).toBe(200); // no token configured: open
  });
});

describe("weight objects that cannot be trusted", () => {
  const { manifest, weights } = PACKS["sudoku-parity"];
  const solveOnce = (name: string) => post(solvePath(name), { puzzle: sudokuPuzzles[0], max_steps: 1 });

  test("corrupt, truncated, mismatched or missing weights give 503, never an answer", async () => {
    const flipped = new Uint8Array(weights.slice(0));
    flipped[flipped.length - 1000] ^= 0x40;
    await putPack("corrupt", manifest, flipped);
    await expectError(solveOnce("corrupt"), 503, "model_unavailable", /sha256 .* does not match/);

    await putPack("truncated", manifest, weights.slice(0, weights.byteLength - 64));
    await expectError(solveOnce("truncated"), 503, "model_unavailable", /truncated/);

    await putPack("mismatched", manifest, PACKS["tokens-parity"].weights);
    await expectError(solveOnce("mismatched"), 503, "model_unavailable");

    await env.MODELS.put("models/no-weights/model.json", JSON.stringify(manifest));
    await expectError(solveOnce("no-weights"), 503, "model_unavailable", /missing/);

    await env.MODELS.put("models/bad-manifest/model.json", "{not json");
    await expectError(solveOnce("bad-manifest"), 503, "model_unavailable");
  });

  test("a failed load is not cached: the fixed object is served", async () => {
    await putPack("repaired", manifest, weights.slice(0, 100));
    await expectError(solveOnce("repaired"), 503, "model_unavailable");
    await putPack("repaired", manifest, weights);
    expect((await solveOnce("repaired")).status).toBe(200);
  });
});

interface SseEvent {
  event: string;
  data: unknown;
}

function parseSse(body: string): SseEvent[] {
  return body.split("\n\n").filter(Boolean).map((block) => {
    const lines = block.split("\n");
    return {
      event: lines.find((l) => l.startsWith("event: "))!.slice(7),
      data: JSON.parse(lines.find((l) => l.startsWith("data: "))!.slice(6)),
    };
  });
}

function ndjson(lines: unknown[]): string {
  return lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n") + "\n";
}

describe("streaming", () => {
  test("NDJSON: one line out per line in, in order, bad lines reported with their number", async () => {
    const body = ndjson([{ puzzle: goldenIds[0], max_steps: 2 }, "{oops", { puzzle: "12" }, { puzzles: [goldenIds[1]] }, { puzzle: goldenIds[1], halt: "adaptive" }]);
    const r = await post(solvePath("sudoku-parity-tokens"), body, { "content-type": "application/x-ndjson" });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toContain("application/x-ndjson");
    const reader = r.body!.getReader();
    const first = await reader.read();
    const firstLines = new TextDecoder().decode(first.value).trim().split("\n");
    expect(firstLines).toHaveLength(1); // sent before the rest is computed
    let rest = "";
    for (let c = await reader.read(); !c.done; c = await reader.read()) rest += new TextDecoder().decode(c.value);
    const out = [...firstLines, ...rest.trim().split("\n")].map((l) => JSON.parse(l));
    expect(out.map((o) => o.line)).toEqual([1, 2, 3, 4, 5]);
    expect(out[0].result.steps).toBe(2);
    expect(out[1].error.code).toBe("malformed_json");
    expect(out[1].error.message).toMatch(/line 2/);
    expect(out[2].error.code).toBe("bad_puzzle");
    expect(out[3].error.code).toBe("bad_request");
    const stop = goldenSudoku.steps.find((s) => s.q_halt_logits[1] > 0)?.step ?? 16;
    expect(out[4].result).toMatchObject({ steps: stop, solution: goldenSudoku.steps[stop - 1].preds[1] });
  });

  test("NDJSON limits", async () => {
    const many = ndjson(Array.from({ length: Number(env.MAX_PUZZLES) + 1 }, () => ({ puzzle: sudokuPuzzles[0] })));
    await expectError(post(solvePath("sudoku-parity"), many, { "content-type": "application/x-ndjson" }), 413, "too_many_puzzles");
    await expectError(post(solvePath("sudoku-parity"), "\n\n", { "content-type": "application/x-ndjson" }), 400, "bad_request");
  });

  test("SSE: one event per supervision step, then the result", async () => {
    const r = await post(solvePath("sudoku-parity-tokens"), { puzzle: goldenIds[2] }, { accept: "text/event-stream" });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toContain("text/event-stream");
    const events = parseSse(await text(r));
    const steps = events.filter((e) => e.event === "step").map((e) => e.data as { step: number; puzzles: ApiResult[] });
    expect(steps.map((s) => s.step)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    steps.forEach((s) => {
      expect(s.puzzles[0].solution).toEqual(goldenSudoku.steps[s.step - 1].preds[2]);
      expect(s.puzzles[0].confidence).toBeCloseTo(1 / (1 + Math.exp(-goldenSudoku.steps[s.step - 1].q_halt_logits[2])), 4);
    });
    expect(events.at(-1)!.event).toBe("result");
    expect((events.at(-1)!.data as { result: ApiResult }).result.solution).toEqual(lastStep(goldenSudoku).preds[2]);
    await expectError(post(solvePath("sudoku-parity"), { puzzle: "1" }, { accept: "text/event-stream" }), 422, "bad_puzzle");
  });
});

describe("concurrency", () => {
  type Job = () => Promise<unknown>;
  const answersOf = (results: ApiResult[]) => results.map(({ solution, steps, confidence, halted, solved, stopped, check }) => ({ solution, steps, confidence, halted, solved, stopped, check }));
  const jobs: Job[] = Array.from({ length: 32 }, (_, i): Job => {
    const puzzle = sudokuPuzzles[i % 4];
    const halt = i % 3 === 0 ? "adaptive" : "fixed";
    const max_steps = 4 + (i % 5);
    switch (i % 4) {
      case 0:
        return async () => answersOf([((await (await post(solvePath("sudoku-parity"), { puzzle, halt, max_steps })).json()) as { result: ApiResult }).result]);
      case 1:
        return async () => answersOf(((await (await post(solvePath("tokens-parity"), { puzzles: goldenTokens.inputs.slice(0, 1 + (i % 3)).map((tokens) => ({ tokens })), halt, max_steps })).json()) as { results: ApiResult[] }).results);
      case 2:
        return async () => {
          const events = parseSse(await text(await post(solvePath("sudoku-parity"), { puzzles: [puzzle, sudokuPuzzles[(i + 1) % 4]], halt, max_steps }, { accept: "text/event-stream" })));
          return { steps: events.filter((e) => e.event === "step").map((e) => answersOf((e.data as { puzzles: ApiResult[] }).puzzles)), final: answersOf((events.at(-1)!.data as { results: ApiResult[] }).results) };
        };
      default:
        return async () => {
          const body = ndjson([{ puzzle, halt, max_steps }, { puzzle: sudokuPuzzles[(i + 2) % 4], max_steps: 3 }]);
          const out = (await text(await post(solvePath("sudoku-parity"), body, { "content-type": "application/x-ndjson" }))).trim().split("\n").map((l) => JSON.parse(l));
          return out.map((o) => answersOf([o.result]));
        };
    }
  });

  test("32 concurrent mixed requests give the answers of sequential runs", async () => {
    const sequential: unknown[] = [];
    for (const job of jobs) sequential.push(await job());
    const concurrent = await Promise.all(jobs.map((job) => job()));
    expect(concurrent).toEqual(sequential);
  });
});
