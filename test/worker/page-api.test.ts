// What the playground page needs from the API, useful to every client: the
// opt-in per-cell confidence ("detail": "cells", checked against the official
// logits) and CORS for browser apps on other origins (CORS_ORIGINS).
import { createExecutionContext, env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, test } from "vitest";
import worker from "../../src/worker/index.ts";
import goldenSudoku from "@shared/golden/mlp_t/expected.json";
import { seedPacks } from "./packs.ts";

const BASE = "http://trm.test";
// The golden sudoku inputs are random tokens (their givens repeat digits, which the sudoku
// task refuses), so they go to the same weights served as a tokens model.
const SOLVE = `${BASE}/v1/models/sudoku-parity-tokens/solve`;
const PUZZLE = 2; // a golden case
const puzzle = goldenSudoku.inputs[PUZZLE];

/** The official logits' top softmax probability per cell at `step` (1-based; the golden file keeps steps 1, 2 and 16). */
function officialCells(step: number): number[] | undefined {
  const logits = (goldenSudoku.steps[step - 1] as { logits?: number[][][] }).logits;
  return logits?.[PUZZLE].map((row) => {
    const max = Math.max(...row);
    return 1 / row.reduce((s, v) => s + Math.exp(v - max), 0);
  });
}

function solveRequest(body: unknown, headers: Record<string, string> = {}): Request {
  return new Request(SOLVE, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
}

function parseSse(body: string): { event: string; data: any }[] {
  return body.split("\n\n").filter(Boolean).map((block) => ({
    event: /^event: (.*)$/m.exec(block)![1],
    data: JSON.parse(/^data: (.*)$/m.exec(block)![1]),
  }));
}

/** The Worker called with CORS_ORIGINS set as [vars] would set it (the generated Env types the default "" literally). */
function workerWith(corsOrigins: string): (request: Request) => Promise<Response> {
  type Args = Parameters<typeof worker.fetch>;
  const configured = { ...env, CORS_ORIGINS: corsOrigins } as unknown as Args[1];
  return (request) => worker.fetch(request as Args[0], configured, createExecutionContext());
}

beforeAll(seedPacks);

describe('"detail": "cells"', () => {
  test("every SSE step and the result carry each cell's top probability, as in the official logits", async () => {
    const r = await exports.default.fetch(solveRequest({ puzzle, detail: "cells" }, { accept: "text/event-stream" }));
    expect(r.status).toBe(200);
    const events = parseSse(new TextDecoder().decode(await r.arrayBuffer()));
    const steps = events.filter((e) => e.event === "step");
    expect(steps).toHaveLength(16);
    let compared = 0;
    for (const { data } of steps) {
      const cells: number[] = data.puzzles[0].cells;
      expect(cells).toHaveLength(81);
      expect(cells.every((p) => p > 0 && p <= 1)).toBe(true);
      const official = officialCells(data.step);
      if (!official) continue;
      compared++;
      official.forEach((p, i) => expect(Math.abs(cells[i] - p), `step ${data.step}, cell ${i}`).toBeLessThanOrEqual(0.0005 + 1e-6)); // rounded to 3 decimals
    }
    expect(compared).toBe(3);
    const result = events.at(-1)!;
    expect(result.event).toBe("result");
    expect(result.data.result.cells).toEqual(steps.at(-1)!.data.puzzles[0].cells);
  });

  test("JSON answers have cells only when asked; other values are refused", async () => {
    const plain = (await (await exports.default.fetch(solveRequest({ puzzle, max_steps: 2 }))).json()) as { result: Record<string, unknown> };
    expect(plain.result).not.toHaveProperty("cells");
    const detailed = (await (await exports.default.fetch(solveRequest({ puzzles: [puzzle, puzzle], max_steps: 2, detail: "cells" }))).json()) as { results: { cells: number[] }[] };
    expect(detailed.results.map((r) => r.cells.length)).toEqual([81, 81]);
    expect(detailed.results[0].cells.every((p) => p > 0 && p <= 1)).toBe(true);
    const bad = await exports.default.fetch(solveRequest({ puzzle, detail: "logits" }));
    expect(bad.status).toBe(422);
    expect(await bad.json()).toMatchObject({ error: { code: "bad_detail", message: 'detail must be "cells", got "logits"' } });
  });
});

describe("CORS", () => {
  const preflight = (origin: string) =>
    new Request(SOLVE, { method: "OPTIONS", headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type, authorization" } });

  test("off by default: no cross-origin headers, and preflights are refused with a reason", async () => {
    const r = await exports.default.fetch(new Request(`${BASE}/v1/models`, { headers: { origin: "https://app.example" } }));
    expect(r.status).toBe(200);
    expect(r.headers.get("access-control-allow-origin")).toBeNull();
    const pre = await exports.default.fetch(preflight("https://app.example"));
    expect(pre.status).toBe(403);
    expect(((await pre.json()) as { error: { code: string } }).error.code).toBe("origin_not_allowed");
  });

  test("listed origins may call the API, including error answers and SSE streams; others may not", async () => {
    const listed = workerWith("https://app.example, https://other.example");
    const pre = await listed(preflight("https://app.example"));
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(pre.headers.get("access-control-allow-methods")).toContain("POST");
    expect(pre.headers.get("access-control-allow-headers")).toContain("authorization");
    expect((await listed(preflight("https://evil.example"))).status).toBe(403);

    const models = await listed(new Request(`${BASE}/v1/models`, { headers: { origin: "https://other.example" } }));
    expect(models.headers.get("access-control-allow-origin")).toBe("https://other.example");
    expect(models.headers.get("vary")).toContain("Origin");
    const missing = await listed(new Request(`${BASE}/v1/models/nope`, { headers: { origin: "https://app.example" } }));
    expect(missing.status).toBe(404);
    expect(missing.headers.get("access-control-allow-origin")).toBe("https://app.example");
    const stream = await listed(solveRequest({ puzzle, max_steps: 2 }, { origin: "https://app.example", accept: "text/event-stream" }));
    expect(stream.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(parseSse(new TextDecoder().decode(await stream.arrayBuffer())).map((e) => e.event)).toEqual(["step", "step", "result"]);
    const other = await listed(new Request(`${BASE}/v1/models`, { headers: { origin: "https://evil.example" } }));
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });

  test('"*" allows any origin', async () => {
    const any = workerWith("*");
    const r = await any(new Request(`${BASE}/v1/models`, { headers: { origin: "https://anywhere.example" } }));
    expect(r.headers.get("access-control-allow-origin")).toBe("*");
    expect((await any(preflight("https://anywhere.example"))).status).toBe(204);
  });
});
