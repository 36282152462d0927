// Property-based requests (fast-check) against the Worker inside workerd:
// malformed and hostile requests on every route and field. Each answer must
// be a documented status with a documented JSON error code (or a well-formed
// stream), never a 5xx, and afterwards a fixed probe must answer exactly as
// before. The budget is kept small so that a request that happens to be valid
// costs little.
import { env } from "cloudflare:test";
import fc from "fast-check";
import { beforeAll, describe, expect, test } from "vitest";
import { ERROR_CODES } from "../../src/worker/openapi.ts";
import type { WorkerEnv } from "../../src/worker/index.ts";
import { callWith, solvePath, text } from "./http.ts";
import { ARC_PACK, seedArcPack, seedPacks } from "./packs.ts";

const TOKEN = "fuzz-token-0123456789";
const fuzzEnv = { ...env, MAX_BUDGET_STEPS: 4, MAX_BODY_BYTES: 65536, MAX_PUZZLES: 8 } as WorkerEnv;
const tokenEnv = { ...fuzzEnv, API_TOKEN: TOKEN } as WorkerEnv;
const MODELS = ["sudoku-parity", "tokens-parity", "maze-5x5", "sudoku-parity-tokens"];
const PUZZLE = "003020600900305001001806400008102900700000008006708200002609500800203009005010300";
const RUNS = { bodies: 400, headers: 200, routes: 200, ndjson: 150, auth: 100 }; // 1,050 requests per run

let requests = 0;
const documented = new Map<number, readonly string[]>(Object.entries(ERROR_CODES).map(([s, codes]) => [Number(s), codes]));

/** Checks one answer: a documented status; errors as JSON with a documented code; streams line by line. */
async function checkAnswer(r: Response, method = "POST"): Promise<void> {
  requests++;
  expect(r.headers.get("x-request-id")).toBeTruthy();
  const type = r.headers.get("content-type") ?? "";
  const body = await text(r);
  if (method === "HEAD") expect(body).toBe("");
  if (r.status === 204 || method === "HEAD") return;
  const parse = (t: string) => {
    try {
      return JSON.parse(t);
    } catch {
      throw new Error(`HTTP ${r.status} ${type}: not JSON: ${JSON.stringify(body.slice(0, 300))}`);
    }
  };
  if (r.status === 200) {
    if (type.includes("ndjson")) {
      for (const line of body.trim().split("\n")) {
        const o = parse(line) as { result?: unknown; error?: { code: string } };
        expect(o.result !== undefined || Object.values(ERROR_CODES).flat().includes(o.error!.code as never), line.slice(0, 200)).toBe(true);
      }
    } else if (type.includes("event-stream")) {
      expect(body).toMatch(/^event: (step|result|error)\n/);
    } else {
      parse(body);
    }
    return;
  }
  expect(documented.has(r.status), `status ${r.status}: ${body.slice(0, 300)}`).toBe(true);
  expect(type).toContain("application/json");
  const { error } = parse(body) as { error: { code: string; message: string; request_id: string } };
  expect(documented.get(r.status), body.slice(0, 300)).toContain(error.code);
  expect(error.message.length).toBeLessThan(600);
  expect(error.request_id).toBe(r.headers.get("x-request-id"));
}

// Header values a client can send at all (printable ASCII).
const headerText = (maxLength: number) => fc.string({ maxLength }).map((s) => s.replace(/[^\x20-\x7e]/g, ""));
const ip = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255)).map(([a, b, c]) => `10.${a}.${b}.${c}`);
const value = fc.oneof(
  fc.anything({ maxDepth: 3 }),
  fc.string({ maxLength: 200 }),
  fc.constantFrom(PUZZLE, PUZZLE.replace(/0/g, "."), PUZZLE.slice(1), "x".repeat(81), [1, 2, 3], { tokens: [1, 2] }, null, -1, 0, 1, 17, 1e308, "16", 2.5),
  fc.array(fc.string({ maxLength: 9 }), { maxLength: 10 }),
  fc.nat(30).map((d) => JSON.parse("[".repeat(1 + d * 30) + "]".repeat(1 + d * 30))), // deeply nested
);
const field = fc.constantFrom("puzzle", "puzzles", "max_steps", "halt", "budget_steps", "__proto__", "constructor", "", "é", "task", "test");
const object = fc.dictionary(field, value, { maxKeys: 5 });
const valid = fc.record({ puzzle: fc.constant(PUZZLE), max_steps: fc.constant(1) });
const body = fc.oneof(
  object.map((o) => JSON.stringify(o)),
  fc.tuple(valid, field, value).map(([v, k, x]) => JSON.stringify({ ...v, [k]: x })), // one field wrong
  fc.string({ maxLength: 300 }), // not JSON
  fc.jsonValue().map((v) => JSON.stringify(v)), // JSON, wrong shape
  fc.uint8Array({ maxLength: 300 }), // any bytes, invalid UTF-8 among them
  fc.nat(4).map((k) => JSON.stringify({ puzzle: PUZZLE, pad: "x".repeat(k * 40_000) })), // over MAX_BODY_BYTES or not
  fc.constant(new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode(JSON.stringify({ puzzle: PUZZLE, max_steps: 1 }))])), // BOM
);

function chunked(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(c) {
      for (let i = 0; i < bytes.length; i += 8192) c.enqueue(bytes.subarray(i, i + 8192));
      c.close();
    },
  });
}

const encode = (b: string | Uint8Array) => (typeof b === "string" ? new TextEncoder().encode(b) : b);

async function probe(): Promise<unknown> {
  const r = await callWith(fuzzEnv, solvePath("sudoku-parity"), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ puzzle: PUZZLE, max_steps: 2 }) });
  expect(r.status).toBe(200);
  const { result } = (await r.json()) as { result: Record<string, unknown> };
  const { timings: _, ...answer } = result;
  return answer;
}

let baseline: unknown;
beforeAll(async () => {
  await seedPacks();
  await seedArcPack(); // for the task routes (not solved here: ARC work is costly)
  baseline = await probe();
});

describe("fuzz: every answer is documented, no 5xx, the Worker keeps answering the same", () => {
  test("solve bodies: wrong types, huge and nested values, bad JSON and encodings, over-limit with and without Content-Length", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...MODELS), body, fc.boolean(), ip, async (model, b, stream, from) => {
        const bytes = encode(b);
        await checkAnswer(await callWith(fuzzEnv, solvePath(model), { method: "POST", headers: { "content-type": "application/json", "cf-connecting-ip": from }, body: stream ? chunked(bytes) : bytes }));
      }),
      { numRuns: RUNS.bodies },
    );
  });

  test("headers: content types, Accept, request ids", async () => {
    const header = fc.oneof(headerText(60), fc.constantFrom("application/json", "APPLICATION/JSON; charset=UTF-8", "application/x-ndjson", "application/ndjson", "text/event-stream", "text/event-stream;q=0", "*/*;q=0.5", "text/plain", "multipart/form-data; boundary=x", "application/json; charset=utf-16", ";;;", "a/b;q=nan"));
    await fc.assert(
      fc.asyncProperty(header, header, headerText(200), ip, async (contentType, accept, id, from) => {
        await checkAnswer(await callWith(fuzzEnv, solvePath("sudoku-parity"), { method: "POST", headers: { "content-type": contentType, accept, "x-request-id": id, "cf-connecting-ip": from }, body: JSON.stringify({ puzzle: PUZZLE, max_steps: 1 }) }));
      }),
      { numRuns: RUNS.headers },
    );
  });

  test("routes and methods: traversal and odd names", async () => {
    const segment = fc.oneof(fc.constantFrom(...MODELS, ARC_PACK, "..", "%2e%2e", "..%2F..%2Fetc", "%00", "%E0%A4%A", "models", "solve", "tasks", "1a2e2828", "__proto__", "v1", "", "a".repeat(300), "%F0%9F%98%80", "CON"), fc.string({ maxLength: 20 }).map(encodeURIComponent));
    const query = fc.oneof(
      fc.constant(""),
      fc.tuple(fc.constantFrom("limit", "cursor", "page", "", "limit[]"), fc.oneof(fc.constantFrom("0", "1", "5", "1000", "1001", "-1", "2.5", "", "zzzz", "%FF", "1a2e2828"), fc.string({ maxLength: 20 }).map(encodeURIComponent)), fc.boolean())
        .map(([k, v, twice]) => `?${k}=${v}${twice ? `&${k}=${v}` : ""}`),
    );
    const path = fc.oneof(
      fc.array(segment, { maxLength: 5 }).map((s) => `/v1/models/${s.join("/")}`),
      fc.tuple(segment, fc.constantFrom("", "/solve", "/solve/", "//solve", "/tasks", "/tasks/", "/tasks/1a2e2828", "/tasks/00000000")).map(([n, tail]) => `/v1/models/${n}${tail}`),
      fc.tuple(fc.constantFrom(ARC_PACK, "sudoku-parity"), fc.oneof(fc.constant(""), segment.map((t) => `/${t}`)), query).map(([n, task, q]) => `/v1/models/${n}/tasks${task}${q}`),
      fc.constantFrom("/", "/v1", "/v1/", "/v1/health", "/openapi.json", "/v1/models", "/../v1/models", "/v1/jobs"),
    );
    const method = fc.constantFrom("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS");
    await fc.assert(
      fc.asyncProperty(path, method, ip, async (p, m, from) => {
        const init: RequestInit = { method: m, headers: { "content-type": "application/json", "cf-connecting-ip": from } };
        if (m === "POST" || m === "PUT" || m === "PATCH") init.body = JSON.stringify({ puzzle: PUZZLE, max_steps: 1 });
        await checkAnswer(await callWith(fuzzEnv, p, init), m);
      }),
      { numRuns: RUNS.routes },
    );
  });

  test("NDJSON and SSE with bad lines", async () => {
    const line = fc.oneof(body.filter((b): b is string => typeof b === "string").map((s) => s.replace(/\n/g, " ")), fc.constant(JSON.stringify({ puzzle: PUZZLE, max_steps: 1 })), fc.constant(""), fc.constant("\r"));
    await fc.assert(
      fc.asyncProperty(fc.array(line, { maxLength: 12 }), fc.constantFrom("application/x-ndjson", "application/ndjson", "sse"), ip, async (lines, kind, from) => {
        const sse = kind === "sse";
        const headers = { "content-type": sse ? "application/json" : kind, accept: sse ? "text/event-stream" : "*/*", "cf-connecting-ip": from };
        await checkAnswer(await callWith(fuzzEnv, solvePath("sudoku-parity"), { method: "POST", headers, body: sse ? (lines[0] ?? "") : lines.join("\n") }));
      }),
      { numRuns: RUNS.ndjson },
    );
  });

  test("auth variants when API_TOKEN is set", async () => {
    const authorization = fc.oneof(
      headerText(80),
      fc.constantFrom(`Bearer ${TOKEN}`, `bearer ${TOKEN}`, `Bearer  ${TOKEN}`, `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, `Basic ${TOKEN}`, "Bearer", "Bearer ", TOKEN, `Bearer ${"x".repeat(4000)}`),
    );
    await fc.assert(
      fc.asyncProperty(authorization, fc.constantFrom("/v1/models", "/v1/health", solvePath("sudoku-parity"), "/v1/models/sudoku-parity"), ip, async (auth, path, from) => {
        const post = path.endsWith("/solve");
        const r = await callWith(tokenEnv, path, { method: post ? "POST" : "GET", headers: { authorization: auth, "content-type": "application/json", "cf-connecting-ip": from }, body: post ? JSON.stringify({ puzzle: PUZZLE, max_steps: 1 }) : undefined });
        if (r.status < 300) expect(/^bearer\s+/i.test(auth) && auth.replace(/^bearer\s+/i, "") === TOKEN).toBe(true);
        await checkAnswer(r);
      }),
      { numRuns: RUNS.auth },
    );
  });

  test("after all of it, the probe answers exactly as before", async () => {
    expect(await probe()).toEqual(baseline);
    expect(requests).toBeGreaterThanOrEqual(1000);
  });
});
