// /openapi.json kept true: every route the Worker has is documented, and
// every documented route, status and error code is produced by a real request
// inside workerd whose answer conforms to the documented schema.
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, test } from "vitest";
import goldenTokens from "@shared/golden/att_rope/expected.json";
import { router } from "../../src/worker/app.ts";
import type { WorkerEnv } from "../../src/worker/index.ts";
import { ERROR_CODES } from "../../src/worker/openapi.ts";
import { call, callWith, post, solvePath, text } from "./http.ts";
import testPuzzles from "@shared/golden/arc/data/test_puzzles.json";
import { ARC_PACK, PACKS, arcTable, putPack, seedArcPack, seedPacks } from "./packs.ts";
import { validate } from "./schema.ts";

type Doc = { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: Record<string, unknown> }> }> }>> } & Record<string, unknown>;
let doc: Doc;

const PUZZLE = "003020600900305001001806400008102900700000008006708200002609500800203009005010300";
const json = { "content-type": "application/json" };
const solveJson = (body: unknown, model = "sudoku-parity", headers: Record<string, string> = {}) => post(solvePath(model), body, headers);
const arcTasks = testPuzzles as Record<string, { test: { input: number[][] }[] }>;
const arc = (extra: Record<string, unknown> = {}, task = "1a2e2828", model = ARC_PACK) => solveJson({ task, test: arcTasks[task].test.map((t) => ({ input: t.input })), augmentations: 1, max_steps: 1, ...extra }, model);
const withVars = (vars: Record<string, unknown>) => ({ ...env, ...vars }) as WorkerEnv;

/** One real request for each error code the description lists. */
const ERROR_RECIPES: Record<string, () => Promise<Response>> = {
  malformed_json: () => solveJson("{nope"),
  bad_request: () => solveJson({ puzzle: PUZZLE, steps: 1 }),
  bad_encoding: () => call(solvePath("sudoku-parity"), { method: "POST", headers: json, body: new Uint8Array([0x7b, 0xff, 0x7d]) }),
  unauthorized: () => callWith(withVars({ API_TOKEN: "t0ken" }), "/v1/models"),
  not_found: () => call("/v2/nothing"),
  model_not_found: () => call("/v1/models/nope"),
  method_not_allowed: () => call("/v1/models", { method: "DELETE" }),
  not_acceptable: () => solveJson({ puzzle: PUZZLE }, "sudoku-parity", { accept: "image/png" }),
  body_too_large: () => solveJson({ puzzle: PUZZLE, pad: "x".repeat(Number(env.MAX_BODY_BYTES)) }),
  too_many_puzzles: () => solveJson({ puzzles: Array(Number(env.MAX_PUZZLES) + 1).fill(PUZZLE) }),
  unsupported_media_type: () => solveJson({ puzzle: PUZZLE }, "sudoku-parity", { "content-type": "text/csv" }),
  bad_puzzle: () => solveJson({ puzzle: "12" }),
  token_out_of_vocab: () => solveJson({ puzzle: [99, ...goldenTokens.inputs[0].slice(1)] }, "tokens-parity"),
  bad_sequence_length: () => solveJson({ puzzle: [1, 2, 3] }, "tokens-parity"),
  puzzle_id_out_of_range: () => solveJson({ puzzle: { tokens: goldenTokens.inputs[0], puzzle_identifier: 99 } }, "tokens-parity"),
  bad_max_steps: () => solveJson({ puzzle: PUZZLE, max_steps: 0 }),
  bad_halt: () => solveJson({ puzzle: PUZZLE, halt: "never" }),
  bad_budget: () => solveJson({ puzzle: PUZZLE, budget_steps: 0 }),
  bad_detail: () => solveJson({ puzzle: PUZZLE, detail: "everything" }),
  origin_not_allowed: () => call(solvePath("sudoku-parity"), { method: "OPTIONS", headers: { origin: "https://elsewhere.example", "access-control-request-method": "POST" } }),
  budget_exhausted: () => callWith(withVars({ MAX_BUDGET_STEPS: 1 }), solvePath("sudoku-parity"), { method: "POST", headers: { "content-type": "application/x-ndjson" }, body: `${JSON.stringify({ puzzle: PUZZLE, max_steps: 1 })}\n${JSON.stringify({ puzzle: PUZZLE })}\n` }),
  rate_limited: async () => {
    for (let i = 0; i < 1000; i++) {
      const r = await call("/v1/health", { headers: { "cf-connecting-ip": "203.0.113.9" } });
      if (r.status === 429) return r;
      await r.arrayBuffer();
    }
    throw new Error("no 429 within 1000 requests");
  },
  bad_grid: () => solveJson({ task: "1a2e2828", test: [{ input: [[1, 2], [3, 11]] }] }, ARC_PACK),
  bad_augmentations: () => arc({ augmentations: 0 }),
  bad_h_cycles: () => arc({ h_cycles: 99 }),
  unknown_task: () => solveJson({ task: "00000000", test: [{ input: [[1]] }] }, ARC_PACK),
  too_much_work: () => callWith(withVars({ CPU_BUDGET_MS: 1 }), solvePath(ARC_PACK), { method: "POST", headers: json, body: JSON.stringify({ task: "1a2e2828", test: arcTasks["1a2e2828"].test.map((t) => ({ input: t.input })) }) }),
  rows_unavailable: async () => {
    await seedArcPack("arc-short", { "puzzle_emb.bin": new Uint8Array(arcTable.slice(0, 50 * 256)) });
    return arc({}, "1a2e2828", "arc-short");
  },
  model_unavailable: async () => {
    await putPack("broken", PACKS["sudoku-parity"].manifest, PACKS["sudoku-parity"].weights.slice(0, 1000));
    return solveJson({ puzzle: PUZZLE }, "broken");
  },
  misconfigured: () => callWith(withVars({ MAX_PUZZLES: "lots" }), "/v1/models"),
  overloaded: async () => {
    const e = withVars({ MAX_QUEUE: 1 });
    const slow = callWith(e, solvePath("tokens-parity"), { method: "POST", headers: json, body: JSON.stringify({ puzzles: goldenTokens.inputs }) });
    while (((await (await call("/v1/health")).json()) as { solving: number }).solving === 0) await new Promise((r) => setTimeout(r, 10));
    const second = await callWith(e, solvePath("sudoku-parity"), { method: "POST", headers: json, body: JSON.stringify({ puzzle: PUZZLE, max_steps: 1 }) });
    await (await slow).arrayBuffer();
    return second;
  },
  unhealthy: async () => {
    await putPack("vanishing", PACKS["sudoku-parity"].manifest, PACKS["sudoku-parity"].weights);
    await (await solveJson({ puzzle: PUZZLE, max_steps: 1 }, "vanishing")).arrayBuffer();
    await env.MODELS.delete("models/vanishing/model.safetensors");
    const r = await call("/v1/health");
    await putPack("vanishing", PACKS["sudoku-parity"].manifest, PACKS["sudoku-parity"].weights);
    return r;
  },
};

/** For a code documented at more than one status, a real request for each status but the one ERROR_RECIPES gives. */
const STATUS_RECIPES: Record<string, () => Promise<Response>> = {
  "404 unknown_task": () => call(`/v1/models/${ARC_PACK}/tasks/00000000`),
};

/** Successful answers of each documented operation. */
const OK_RECIPES: Record<string, () => Promise<Response>> = {
  "GET /openapi.json": () => call("/openapi.json"),
  "GET /v1/health": () => call("/v1/health"),
  "GET /v1/models": () => call("/v1/models"),
  "GET /v1/models/{name}": () => call("/v1/models/sudoku-parity"),
  "POST /v1/models/{name}/solve": () => solveJson({ puzzles: [PUZZLE], max_steps: 2, halt: "checked" }),
  "GET /v1/models/{name}/tasks": () => call(`/v1/models/${ARC_PACK}/tasks?limit=5`),
  "GET /v1/models/{name}/tasks/{task}": () => call(`/v1/models/${ARC_PACK}/tasks/1a2e2828`),
  "POST /v1/jobs": () => submitJob(),
  "GET /v1/jobs/{id}": async () => call(`/v1/jobs/${await jobId()}`),
  "GET /v1/jobs/{id}/{part}": async () => call(`/v1/jobs/${await jobId()}/results`),
  "DELETE /v1/jobs/{id}": async () => call(`/v1/jobs/${await jobId()}`, { method: "DELETE" }),
};

const submitJob = () => post("/v1/jobs", { model: "sudoku-parity", puzzles: [PUZZLE], options: { max_steps: 1 } });
let job: Promise<string> | undefined;
const jobId = () => (job ??= submitJob().then(async (r) => ((await r.json()) as { id: string }).id));

async function conforms(r: Response, method: string, path: string): Promise<void> {
  const op = doc.paths[path][method.toLowerCase()];
  const documented = op.responses[String(r.status)];
  const body = await text(r);
  expect(documented, `${method} ${path} answered ${r.status}, which is not documented: ${body.slice(0, 200)}`).toBeDefined();
  const type = (r.headers.get("content-type") ?? "").split(";")[0];
  const schema = documented.content?.[type]?.schema;
  expect(schema, `${method} ${path} ${r.status} answered ${type}, not documented`).toBeDefined();
  if (type === "application/json") expect(validate(JSON.parse(body), schema!, doc)).toEqual([]);
}

beforeAll(async () => {
  await seedPacks();
  await seedArcPack();
  doc = (await (await call("/openapi.json")).json()) as Doc;
});

describe("/openapi.json", () => {
  test("is OpenAPI 3.1, and documents exactly the routes the Worker has", () => {
    expect(doc.openapi).toBe("3.1.0");
    const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p.replace(/\{(\w+)\}/g, ":$1")}`));
    expect(documented.sort()).toEqual(router.list().sort());
  });

  test("every operation's success answer conforms to its schema", async () => {
    for (const [op, recipe] of Object.entries(OK_RECIPES)) {
      const [method, path] = op.split(" ");
      const r = await recipe();
      expect(r.status, op).toBe(op === "POST /v1/jobs" ? 202 : 200);
      await conforms(r, method, path);
    }
    const arcAnswer = await arc();
    expect(arcAnswer.status).toBe(200);
    await conforms(arcAnswer, "POST", "/v1/models/{name}/solve");
    expect(Object.keys(OK_RECIPES).sort()).toEqual(Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)).sort());
  });

  test("every documented error code comes from a real request, with the documented status and schema", async () => {
    const codes = Object.entries(ERROR_CODES).flatMap(([status, list]) => list.map((code) => ({ status: Number(status), code })));
    expect(Object.keys(ERROR_RECIPES).sort()).toEqual([...new Set(codes.map((c) => c.code))].sort());
    const twice = codes.filter((c) => codes.filter((d) => d.code === c.code).length > 1);
    expect(Object.keys(STATUS_RECIPES).sort()).toEqual(twice.filter((c) => c.status !== 422).map((c) => `${c.status} ${c.code}`).sort());
    for (const { status, code } of codes) {
      const r = await (STATUS_RECIPES[`${status} ${code}`] ?? ERROR_RECIPES[code])();
      const body = await text(r);
      if (code === "budget_exhausted") {
        // an NDJSON answer is 200; the code arrives on the line it concerns
        expect(body.trim().split("\n").map((l) => JSON.parse(l).error?.code)).toEqual([undefined, code]);
        continue;
      }
      expect(r.status, `${code}: ${body.slice(0, 200)}`).toBe(status);
      const parsed = JSON.parse(body);
      expect(parsed.error.code).toBe(code);
      expect(validate(parsed, { $ref: "#/components/schemas/Error" }, doc)).toEqual([]);
      if (status === 405) expect(r.headers.get("allow")).toBeTruthy();
      if (status === 429 || status === 503) expect(r.headers.get("retry-after"), code).toBeTruthy();
    }
  });

  test("each operation's documented statuses are ones it really gives", async () => {
    const seen: Record<string, Set<number>> = {
      "GET /v1/health": new Set([200, 401, 429, 503]),
      "GET /v1/models": new Set([200, 401, 429, 503]),
      "GET /v1/models/{name}": new Set([200, 404, 401, 429, 503]),
      "POST /v1/models/{name}/solve": new Set([200, 400, 404, 406, 413, 415, 422, 401, 429, 503]),
      "GET /v1/models/{name}/tasks": new Set([200, 400, 404, 401, 429, 503]),
      "GET /v1/models/{name}/tasks/{task}": new Set([200, 404, 401, 429, 503]),
    };
    for (const [op, statuses] of Object.entries(seen)) {
      const [method, path] = op.split(" ");
      expect(Object.keys(doc.paths[path][method.toLowerCase()].responses).map(Number).sort()).toEqual([...statuses].sort());
    }
    // the statuses above, as produced by the error recipes on their routes
    const model404 = await call("/v1/models/nope");
    await conforms(model404, "GET", "/v1/models/{name}");
    for (const code of ["malformed_json", "not_acceptable", "body_too_large", "unsupported_media_type", "bad_puzzle", "unknown_task", "model_unavailable"]) {
      await conforms(await ERROR_RECIPES[code](), "POST", "/v1/models/{name}/solve");
    }
    await conforms(await call(`/v1/models/${ARC_PACK}/tasks?limit=0`), "GET", "/v1/models/{name}/tasks");
    await conforms(await call("/v1/models/sudoku-parity/tasks"), "GET", "/v1/models/{name}/tasks");
    await conforms(await STATUS_RECIPES["404 unknown_task"](), "GET", "/v1/models/{name}/tasks/{task}");
    await conforms(await call("/v1/models/nope/tasks/1a2e2828"), "GET", "/v1/models/{name}/tasks/{task}");
    await seedArcPack("arc-bad-puzzles", { "test_puzzles.json": "{}" });
    await conforms(await call("/v1/models/arc-bad-puzzles/tasks/1a2e2828"), "GET", "/v1/models/{name}/tasks/{task}");
    await conforms(await ERROR_RECIPES.unauthorized(), "GET", "/v1/models");
    await conforms(await ERROR_RECIPES.unhealthy(), "GET", "/v1/health");
  });
});
