// What a production API owes its users and its operator, inside workerd:
// impossible input refused, work that stops when the client goes, limits that
// fail closed, budgets and rate limits, HTTP conventions, unusable packs refused.
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, test } from "vitest";
import goldenSudoku from "@shared/golden/mlp_t/expected.json";
import { Random } from "../../src/generate/random.ts";
import { generateSudoku, sudokuString } from "../../src/generate/sudoku.ts";
import { TrmError } from "../../src/errors.ts";
import type { WorkerEnv } from "../../src/worker/index.ts";
import { JSON_STREAM_AFTER_MS, jsonAnswer } from "../../src/worker/solve.ts";
import { call, callWith, expectError, post, sleep, solvePath, solving, text, until } from "./http.ts";
import { PACKS, putPack, seedPacks } from "./packs.ts";

beforeAll(seedPacks);

const goldenIds = goldenSudoku.inputs.map((tokens) => ({ tokens }));
const puzzle = sudokuString(generateSudoku(new Random(99), 30).puzzle);

describe("input without an answer is refused", () => {
  test("sudoku givens that repeat a digit in a row, column or box", async () => {
    await expectError(post(solvePath("sudoku-parity"), { puzzle: "550000000003600000070090200050007000000045700000100030001000068000000070900000000" }), 422, "bad_puzzle", /5 appears twice in row 0 \(at row 0, column 0 and row 0, column 1/);
    const column = "1" + "0".repeat(8) + "1" + "0".repeat(71);
    await expectError(post(solvePath("sudoku-parity"), { puzzle: column }), 422, "bad_puzzle", /1 appears twice in column 0/);
    const box = "1" + "0".repeat(9) + "1" + "0".repeat(70);
    await expectError(post(solvePath("sudoku-parity"), { puzzles: [puzzle, box] }), 422, "bad_puzzle", /^puzzles\[1\]: .*1 appears twice in box 0/);
  });

  test("mazes need exactly one S and one G, connected", async () => {
    const maze = ["S  # ", " # # ", " #   ", " ### ", "    G"];
    await expectError(post(solvePath("maze-5x5"), { puzzle: maze.map((r) => r.replace("S", " ")) }), 422, "bad_puzzle", /exactly one "S" \(start\), got 0/);
    await expectError(post(solvePath("maze-5x5"), { puzzle: ["SS # ", ...maze.slice(1)] }), 422, "bad_puzzle", /exactly one "S" \(start\), got 2/);
    await expectError(post(solvePath("maze-5x5"), { puzzle: [...maze.slice(0, 4), "     "] }), 422, "bad_puzzle", /exactly one "G" \(goal\), got 0/);
    await expectError(post(solvePath("maze-5x5"), { puzzle: ["S  # ", " # # ", " #   ", " ####", "   #G"] }), 422, "bad_puzzle", /walls separate S from G/);
    expect((await post(solvePath("maze-5x5"), { puzzle: maze, max_steps: 1 })).status).toBe(200);
  });
});

describe("work stops when the client goes", () => {
  const body = JSON.stringify({ puzzles: goldenIds });
  const request = (init: RequestInit = {}) => call(solvePath("sudoku-parity-tokens"), { method: "POST", body, headers: { "content-type": "application/json" }, ...init });

  test("JSON: an aborted request stops within a supervision step", async () => {
    const t0 = performance.now();
    const first = await request();
    expect(first.status).toBe(200);
    await first.text();
    const full = performance.now() - t0; // 16 steps
    const abort = new AbortController();
    const answer = request({ signal: abort.signal }).catch((e: Error) => e.name);
    await until(async () => (await solving()) > 0, 10_000);
    abort.abort();
    expect(await answer).toBe("AbortError");
    const drained = await until(async () => (await solving()) === 0, full);
    expect(drained).toBeLessThan(full / 4);
  });

  test("JSON: an answer still being worked on after JSON_STREAM_AFTER_MS streams a space per step, so a hang-up is noticed", async () => {
    const r = await request();
    expect(r.status).toBe(200);
    expect(r.headers.get("content-encoding")).toBe("identity"); // no compressor holding the spaces back
    const reader = r.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toMatch(/^ +$/);
    await reader.cancel();
    await until(async () => (await solving()) === 0, 5_000);

    const whole = await (await request()).text();
    expect(whole).toMatch(/^ +\{"model"/);
    expect(JSON.parse(whole).results.map((x: { solution: number[] }) => x.solution)).toEqual(goldenSudoku.steps[15].preds);
  });

  test("JSON: quick work and refusals keep their status; a failure after the answer began is its {error} document", async () => {
    const quick = await jsonAnswer(new Request("http://x/"), "id-1", async () => ({ ok: 1 }));
    expect([quick.status, quick.headers.get("content-encoding"), await quick.json()]).toEqual([200, null, { ok: 1 }]);
    await expect(jsonAnswer(new Request("http://x/"), "id-2", async () => { throw new TrmError("overloaded", "busy", 503); })).rejects.toMatchObject({ status: 503 });
    const late = await jsonAnswer(new Request("http://x/"), "id-3", async (_signal, beat) => {
      await sleep(JSON_STREAM_AFTER_MS + 100);
      beat();
      throw new TrmError("overloaded", "busy", 503);
    });
    expect(late.status).toBe(200);
    expect(JSON.parse(await late.text())).toEqual({ error: { code: "overloaded", message: "busy", request_id: "id-3" } });
  });

  test("SSE and NDJSON: a cancelled body stops the work", async () => {
    const sse = await call(solvePath("sudoku-parity-tokens"), { method: "POST", body, headers: { "content-type": "application/json", accept: "text/event-stream" } });
    const reader = sse.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toMatch(/^event: step/);
    await reader.cancel();
    await until(async () => (await solving()) === 0, 5_000);

    const lines = goldenIds.map((p) => JSON.stringify({ puzzle: p })).join("\n");
    const nd = await call(solvePath("sudoku-parity-tokens"), { method: "POST", body: lines, headers: { "content-type": "application/x-ndjson" } });
    const ndReader = nd.body!.getReader();
    expect(JSON.parse(new TextDecoder().decode((await ndReader.read()).value)).line).toBe(1);
    await ndReader.cancel();
    await until(async () => (await solving()) === 0, 5_000);
  });
});

describe("configuration fails closed", () => {
  const withVars = (vars: Record<string, unknown>) => ({ ...env, ...vars }) as WorkerEnv;

  test("a missing or malformed limit is a 503 naming it, on every route", async () => {
    for (const [name, value, why] of [
      ["MAX_PUZZLES", "sixty-four", /MAX_PUZZLES must be a whole number/],
      ["MAX_PUZZLES", undefined, /MAX_PUZZLES is not set/],
      ["MAX_BODY_BYTES", "", /MAX_BODY_BYTES is not set/],
      ["MAX_BODY_BYTES", -5, /MAX_BODY_BYTES must be a whole number/],
      ["MAX_BUDGET_STEPS", 1.5, /MAX_BUDGET_STEPS/],
      ["MAX_QUEUE", "1e3", /MAX_QUEUE/],
      ["RATE_LIMIT", "maybe", /RATE_LIMIT must be "on" or "off"/],
      ["RATE_LIMITER", undefined, /RATE_LIMITER rate-limiting binding is missing/],
    ] as const) {
      const e = withVars({ [name]: value });
      for (const path of ["/v1/models", "/v1/health"]) {
        const r = await callWith(e, path);
        expect(r.headers.get("retry-after")).toBeTruthy();
        await expectError(r, 503, "misconfigured", why);
      }
      await expectError(callWith(e, solvePath("sudoku-parity"), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ puzzles: Array(200).fill(puzzle) }) }), 503, "misconfigured");
    }
  });

  test("numbers given as strings (dashboard, .dev.vars) are read; RATE_LIMIT off needs no binding", async () => {
    const e = withVars({ MAX_PUZZLES: " 2 ", RATE_LIMIT: "off", RATE_LIMITER: undefined });
    await expectError(callWith(e, solvePath("sudoku-parity"), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ puzzles: [puzzle, puzzle, puzzle] }) }), 413, "too_many_puzzles", /limit is 2/);
    expect((await callWith(e, "/v1/models")).status).toBe(200);
  });
});

describe("cost protection", () => {
  test("budget_steps returns the best answers so far, marked truncated", async () => {
    const r = await post(solvePath("sudoku-parity-tokens"), { puzzles: goldenIds.slice(0, 2), budget_steps: 5 });
    expect(r.status).toBe(200);
    const { results } = (await r.json()) as { results: { steps: number; truncated: boolean; stopped: string; solution: number[] }[] };
    // 2 sequences: steps 1 and 2 spend 4 of 5; a third step would need 6.
    results.forEach((res, b) => {
      expect(res).toMatchObject({ steps: 2, truncated: true, stopped: "budget" });
      expect(res.solution).toEqual(goldenSudoku.steps[1].preds[b]);
    });
    await expectError(post(solvePath("sudoku-parity-tokens"), { puzzles: goldenIds.slice(0, 2), budget_steps: 1 }), 422, "bad_budget", /less than one step/);
    await expectError(post(solvePath("sudoku-parity-tokens"), { puzzle: goldenIds[0], budget_steps: Number(env.MAX_BUDGET_STEPS) + 1 }), 422, "bad_budget", /from 1 to 1024/);
  });

  test("MAX_BUDGET_STEPS bounds a request that asks for nothing", async () => {
    const r = await callWith({ ...env, MAX_BUDGET_STEPS: 3 } as WorkerEnv, solvePath("sudoku-parity-tokens"), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ puzzle: goldenIds[0] }) });
    expect(((await r.json()) as { result: { steps: number; truncated: boolean } }).result).toMatchObject({ steps: 3, truncated: true });
  });

  test("per-client rate limit: 429 with Retry-After, other clients unaffected", async () => {
    const from = (ip: string) => call("/v1/models", { headers: { "cf-connecting-ip": ip } });
    let limited: Response | undefined;
    for (let i = 0; i < 1000 && !limited; i++) {
      const r = await from("198.51.100.7");
      if (r.status === 429) limited = r;
      else await r.arrayBuffer();
    }
    expect(limited, "no 429 within 1000 requests").toBeDefined();
    expect(Number(limited!.headers.get("retry-after"))).toBeGreaterThan(0);
    await expectError(limited!, 429, "rate_limited");
    expect((await from("198.51.100.8")).status).toBe(200);
  });

  test("a full isolate answers 503 overloaded with Retry-After", async () => {
    const e = { ...env, MAX_QUEUE: 1 } as WorkerEnv;
    // The first request is admitted and solving once its first step event arrives.
    const first = await callWith(e, solvePath("sudoku-parity-tokens"), { method: "POST", headers: { "content-type": "application/json", accept: "text/event-stream" }, body: JSON.stringify({ puzzles: goldenIds }) });
    const events = first.body!.getReader();
    expect(new TextDecoder().decode((await events.read()).value)).toMatch(/^event: step/);
    const second = await callWith(e, solvePath("sudoku-parity-tokens"), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ puzzle: goldenIds[0] }) });
    expect(second.headers.get("retry-after")).toBeTruthy();
    await expectError(second, 503, "overloaded");
    while (!(await events.read()).done); // the first one still finishes
  });
});

describe("scheduling", () => {
  test("concurrent requests finish in arrival order (first come, first served), the first long before the last", async () => {
    const body = { puzzles: goldenIds };
    const finished: number[] = [];
    const at: number[] = [];
    const jobs: Promise<void>[] = [];
    const start = performance.now();
    for (let i = 0; i < 4; i++) {
      jobs.push(
        post(solvePath("sudoku-parity-tokens"), body).then(async (r) => {
          await r.arrayBuffer();
          finished.push(i);
          at[i] = performance.now() - start;
        }),
      );
      await sleep(500); // admitted before the next one is sent
    }
    await Promise.all(jobs);
    expect(finished).toEqual([0, 1, 2, 3]);
    // One at a time, the first is done at about a quarter of the last; round-robin by
    // step would finish all four together. Both times come from the same run, so the
    // machine's load cancels out.
    expect(at[0], `finished at ${at.map((t) => t.toFixed(0)).join(", ")} ms`).toBeLessThan(at[3] / 2);
  });
});

describe("HTTP conventions", () => {
  test("405 lists Allow; HEAD is GET without a body; OPTIONS answers Allow", async () => {
    const r = await call(solvePath("sudoku-parity"));
    expect(r.headers.get("allow")).toBe("POST, OPTIONS");
    await expectError(r, 405, "method_not_allowed");
    const put = await call("/v1/models", { method: "PUT" });
    expect(put.headers.get("allow")).toBe("GET, HEAD, OPTIONS");
    await expectError(put, 405, "method_not_allowed");
    const head = await call("/v1/models", { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-type")).toContain("application/json");
    expect((await head.arrayBuffer()).byteLength).toBe(0);
    const options = await call(solvePath("sudoku-parity"), { method: "OPTIONS" });
    expect(options.status).toBe(204);
    expect(options.headers.get("allow")).toBe("POST, OPTIONS");
    expect((await call("/v1/nothing", { method: "HEAD" })).status).toBe(404);
  });

  test("request ids: a sane client id is kept, anything else replaced, and errors carry it", async () => {
    const kept = await call("/v1/models", { headers: { "x-request-id": "client-42.a" } });
    expect(kept.headers.get("x-request-id")).toBe("client-42.a");
    const replaced = await call("/v1/nope", { headers: { "x-request-id": "x".repeat(500) } });
    const id = replaced.headers.get("x-request-id")!;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect((await expectError(replaced, 404, "not_found")).error.request_id).toBe(id);
  });

  test("media types: case-insensitive, with parameters; both NDJSON names; others 415", async () => {
    const ok = await post(solvePath("sudoku-parity"), { puzzle, max_steps: 1 }, { "content-type": "Application/JSON; Charset=\"UTF-8\"" });
    expect(ok.status).toBe(200);
    const nd = await post(solvePath("sudoku-parity"), JSON.stringify({ puzzle, max_steps: 1 }) + "\n", { "content-type": "application/ndjson" });
    expect(nd.headers.get("content-type")).toContain("application/ndjson");
    expect(JSON.parse(await text(nd)).result.steps).toBe(1);
    await expectError(post(solvePath("sudoku-parity"), { puzzle }, { "content-type": "text/plain" }), 415, "unsupported_media_type");
    await expectError(post(solvePath("sudoku-parity"), { puzzle }, { "content-type": "application/json; charset=latin1" }), 415, "unsupported_media_type");
  });

  test("Accept: q-values, wildcards and specificity; 406 when nothing fits", async () => {
    const kind = async (accept: string) => (await post(solvePath("sudoku-parity"), { puzzle, max_steps: 1 }, { accept })).headers.get("content-type");
    expect(await kind("text/event-stream;q=0.2, application/json")).toContain("application/json");
    expect(await kind("application/json;q=0, text/event-stream")).toContain("text/event-stream");
    expect(await kind("TEXT/EVENT-STREAM")).toContain("text/event-stream");
    expect(await kind("text/event-stream, */*")).toContain("text/event-stream");
    expect(await kind("*/*")).toContain("application/json");
    await expectError(post(solvePath("sudoku-parity"), { puzzle }, { accept: "text/html" }), 406, "not_acceptable");
  });

  test("error messages are bounded: a huge input is not echoed", async () => {
    const big = await expectError(post(solvePath("sudoku-parity"), { puzzle: [["x".repeat(100_000)]] }), 422, "bad_puzzle");
    expect(big.error.message.length).toBeLessThan(600);
    const field = await expectError(post(solvePath("sudoku-parity"), { puzzle, ["k".repeat(50_000)]: 1 }), 400, "bad_request");
    expect(field.error.message.length).toBeLessThan(600);
    const steps = await expectError(post(solvePath("sudoku-parity"), { puzzle, max_steps: "9".repeat(50_000) }), 422, "bad_max_steps");
    expect(steps.error.message.length).toBeLessThan(600);
  });

  test("GET /v1/health checks the bucket and each loaded model", async () => {
    await putPack("health-probe", PACKS["sudoku-parity"].manifest, PACKS["sudoku-parity"].weights);
    expect((await post(solvePath("health-probe"), { puzzle, max_steps: 1 })).status).toBe(200);
    const ok = (await (await call("/v1/health")).json()) as { ok: boolean; bucket: { ok: boolean }; models: { name: string; ok: boolean }[] };
    expect(ok).toMatchObject({ ok: true, bucket: { ok: true } });
    expect(ok.models).toContainEqual({ name: "health-probe", ok: true, state: "loaded" });
    await env.MODELS.delete("models/health-probe/model.safetensors");
    const r = await call("/v1/health");
    expect(r.headers.get("retry-after")).toBeTruthy();
    const bad = (await expectError(r, 503, "unhealthy")) as unknown as { checks: { models: { name: string; ok: boolean; message?: string }[] } };
    expect(bad.checks.models.find((m) => m.name === "health-probe")).toMatchObject({ ok: false, message: expect.stringMatching(/no longer in the bucket/) });
    await putPack("health-probe", PACKS["sudoku-parity"].manifest, PACKS["sudoku-parity"].weights);
    expect((await call("/v1/health")).status).toBe(200);
  });
});

describe("API description", () => {
  test("GET /openapi.json is an OpenAPI 3.1 description of every /v1 route", async () => {
    const r = await call("/openapi.json");
    expect(r.status).toBe(200);
    const doc = (await r.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/v1/models", "/v1/models/{name}", "/v1/models/{name}/solve", "/v1/health"]));
  });
});

describe("packs that cannot give answers", () => {
  test("non-finite weights with a matching checksum are a 503 at load", async () => {
    const { manifest, weights } = PACKS["sudoku-parity"];
    const bytes = new Uint8Array(weights.slice(0));
    new DataView(bytes.buffer).setFloat32(bytes.length - 4, NaN, true); // the last value of the last F32 tensor
    const sha256 = Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)), (b) => b.toString(16).padStart(2, "0")).join("");
    await putPack("nan-weights", { ...manifest, weights: { ...manifest.weights, sha256 } }, bytes);
    await expectError(post(solvePath("nan-weights"), { puzzle, max_steps: 1 }), 503, "model_unavailable", /NaN or infinite/);
  });
});
