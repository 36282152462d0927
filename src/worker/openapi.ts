// The API described in OpenAPI 3.1, served at /openapi.json. The tests check
// every route, status and error code here against real answers inside workerd
// (test/worker/openapi.test.ts), so this stays true.

const errorCodes = {
  400: ["malformed_json", "bad_request", "bad_encoding"],
  401: ["unauthorized"],
  403: ["origin_not_allowed"],
  404: ["not_found", "model_not_found", "unknown_task"], // unknown_task: 404 for GET .../tasks/:task, 422 for a solve
  405: ["method_not_allowed"],
  406: ["not_acceptable"],
  413: ["body_too_large", "too_many_puzzles"],
  415: ["unsupported_media_type"],
  422: ["bad_puzzle", "token_out_of_vocab", "bad_sequence_length", "puzzle_id_out_of_range", "bad_max_steps", "bad_halt", "bad_budget", "budget_exhausted", "bad_detail", "bad_grid", "bad_augmentations", "bad_h_cycles", "unknown_task", "too_much_work"],
  429: ["rate_limited"],
  503: ["model_unavailable", "rows_unavailable", "misconfigured", "overloaded", "unhealthy"],
} as const;

export const ERROR_CODES = errorCodes;

/** Codes only the job routes answer (src/worker/jobs/api.ts); documented on those routes. */
const jobErrorCodes = ["job_not_found", "job_not_finished", "puzzle_too_large", "input_not_found", "input_too_large"] as const;
const jobError = (status: number, description: string) => ({ description, content: { "application/json": { schema: ref("Error") } } });

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const error = (status: keyof typeof errorCodes, description: string) => ({
  description: `${description} (${errorCodes[status].join(", ")})`,
  ...(status === 405 ? { headers: { Allow: { schema: { type: "string" } } } } : {}),
  ...(status === 429 || status === 503 ? { headers: { "Retry-After": { schema: { type: "string" } } } } : {}),
  content: { "application/json": { schema: ref("Error") } },
});
// Every /v1 route can answer these.
const guarded = {
  401: error(401, "API_TOKEN is set and the bearer token is missing or wrong"),
  429: error(429, "this client sent too many requests; retry after Retry-After seconds"),
  503: error(503, "the configuration is invalid, or a model's objects cannot be used, or the isolate is full"),
};
const jsonBody = (schema: unknown, description: string) => ({ description, content: { "application/json": { schema } } });
const jobId = { name: "id", in: "path", required: true, schema: { type: "string" } };
const name = { name: "name", in: "path", required: true, schema: { type: "string", pattern: "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$" } };
const taskParam = { name: "task", in: "path", required: true, schema: { type: "string" } };
const taskErrors = {
  400: error(400, "an unknown query parameter, or a limit or cursor that is not one"),
  404: error(404, "no such model, a model that is not ARC (not_found), or a task outside its index (unknown_task)"),
  ...guarded,
};
const check = { type: "object", description: "the task's check: Sudoku valid, keeps_givens, complete; Maze valid, keeps_maze, connected, shortest", additionalProperties: { type: "boolean" } };

const result = {
  type: "object",
  required: ["index", "solution", "steps", "confidence", "halted", "stopped", "truncated", "timings"],
  additionalProperties: false,
  properties: {
    index: { type: "integer", minimum: 0 },
    solution: { description: "the answer in the task's notation, in the form of the input" },
    steps: { type: "integer", minimum: 1, description: "supervision steps run" },
    confidence: { type: "number", minimum: 0, maximum: 1, description: "sigmoid of the Q-head's halt logit" },
    halted: { type: "boolean", description: "the Q-head says halt at the last step run" },
    solved: { type: "boolean", description: "the answer passes the task's check (tasks with a check)" },
    check,
    stopped: { enum: ["max_steps", "halted", "solved", "budget"], description: "why the puzzle stopped" },
    truncated: { type: "boolean", description: "the request's budget ran out first: the best answer so far" },
    cells: { type: "array", items: { type: "number" }, description: 'with detail "cells": each answer cell\'s top probability, (sequences x seq_len)' },
    timings: {
      type: "object",
      required: ["compute_ms", "total_ms"],
      additionalProperties: false,
      properties: { compute_ms: { type: "number", minimum: 0 }, total_ms: { type: "number", minimum: 0 } },
    },
  },
};

const options = {
  max_steps: { type: "integer", minimum: 1, description: "up to the model's halt_max_steps (the default)" },
  halt: { enum: ["fixed", "adaptive", "checked"], default: "fixed" },
  detail: { enum: ["cells"], description: "also report each answer cell's top probability (Sudoku, Maze, tokens)" },
  budget_steps: { type: "integer", minimum: 1, description: "supervision steps for the whole request, summed over its sequences; up to MAX_BUDGET_STEPS (the default)" },
};

const modelSummary = {
  type: "object",
  required: ["name", "task", "parameters", "size_bytes", "dtype", "seq_len", "vocab_size", "halt_max_steps", "block", "loaded"],
  properties: {
    name: { type: "string" },
    task: { enum: ["sudoku", "maze", "arc", "tokens"] },
    parameters: { type: "integer" },
    size_bytes: { type: "integer" },
    dtype: { enum: ["f32", "bf16", "int8"] },
    seq_len: { type: "integer" },
    vocab_size: { type: "integer" },
    halt_max_steps: { type: "integer" },
    block: { enum: ["mlp_t", "attention"] },
    loaded: { type: "boolean" },
  },
};

export const OPENAPI = {
  openapi: "3.1.0",
  info: { title: "TRM Worker", version: "0.1.0", description: "Tiny Recursive Models served from R2. Errors are {error: {code, message, request_id}}; every answer has an x-request-id header." },
  paths: {
    "/v1/health": {
      get: {
        summary: "the bucket and every loaded model",
        responses: { 200: jsonBody(ref("Health"), "all checks pass"), ...guarded },
      },
    },
    "/v1/models": {
      get: {
        summary: "models in the bucket",
        responses: {
          200: jsonBody({ type: "object", required: ["models"], properties: { models: { type: "array", items: { oneOf: [modelSummary, { type: "object", required: ["name", "error"], properties: { name: { type: "string" }, error: ref("ErrorDetail") } }] } } } }, "each model, or why its manifest cannot be read"),
          ...guarded,
        },
      },
    },
    "/v1/models/{name}": {
      get: {
        summary: "one model's summary and manifest",
        parameters: [name],
        responses: {
          200: jsonBody({ allOf: [modelSummary, { type: "object", required: ["manifest"], properties: { manifest: { type: "object" } } }] }, "the model"),
          404: error(404, "no such model"),
          ...guarded,
        },
      },
    },
    "/v1/models/{name}/tasks": {
      get: {
        summary: "an ARC model's tasks (its task index), sorted by id, limit at a time; pass next_cursor as cursor for the next page",
        parameters: [
          name,
          { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 1000, default: 100 } },
          { name: "cursor", in: "query", schema: { type: "string" }, description: "next_cursor of the previous page" },
        ],
        responses: { 200: jsonBody(ref("TaskList"), "one page of tasks"), ...taskErrors },
      },
    },
    "/v1/models/{name}/tasks/{task}": {
      get: {
        summary: "one ARC task: its augmentations, and its demonstrations (train) and test inputs when the pack ships them (puzzle_table.puzzles_file)",
        parameters: [name, taskParam],
        responses: { 200: jsonBody(ref("Task"), "the task"), 404: taskErrors[404], ...guarded },
      },
    },
    "/v1/models/{name}/solve": {
      post: {
        summary: "solve puzzles: JSON, NDJSON (one puzzle per line) or SSE (Accept: text/event-stream)",
        parameters: [name],
        requestBody: {
          required: true,
          content: {
            "application/json": { schema: { oneOf: [ref("SolveRequest"), ref("ArcRequest")] } },
            "application/x-ndjson": { schema: { type: "string", description: "one {puzzle, max_steps?, halt?, budget_steps?} object per line" } },
            "application/ndjson": { schema: { type: "string", description: "as application/x-ndjson" } },
          },
        },
        responses: {
          200: {
            description:
              "the answers. A JSON answer still being worked on after 1 s is streamed (so that a client that hangs up stops the work): 200 at that point, one space per supervision step, then the answer, uncompressed (Content-Encoding: identity); a failure after it began is an {error} document under the 200",
            content: {
              "application/json": { schema: ref("SolveResponse") },
              "application/x-ndjson": { schema: { type: "string", description: "one {line, result} or {line, error} per input line, in order" } },
              "text/event-stream": { schema: { type: "string", description: "step events {step, puzzles}, then a result event (the JSON answer) or an error event" } },
            },
          },
          400: error(400, "the body cannot be read, or has unknown or missing fields"),
          404: error(404, "no such model"),
          406: error(406, "the Accept header allows none of the answer types"),
          413: error(413, "over MAX_BODY_BYTES, or more than MAX_PUZZLES puzzles or lines"),
          415: error(415, "the Content-Type is not JSON or NDJSON, or the charset is not UTF-8"),
          422: error(422, "a puzzle or an option does not fit the model, or the puzzle has no answer"),
          ...guarded,
        },
      },
    },
    "/v1/jobs": {
      post: {
        summary: "a batch job over Cloudflare Queues: {model, puzzles | tasks (ARC) | input: <R2 key in JOB_DATA>, options?}",
        requestBody: { required: true, content: { "application/json": { schema: { type: "object", required: ["model"], properties: { model: { type: "string" }, puzzles: { type: "array" }, tasks: { type: "object" }, input: { type: "string" }, options: { type: "object" } } } } } },
        responses: {
          202: jsonBody(ref("Job"), "queued; Location is the job's status URL"),
          400: error(400, "the body cannot be read, or has unknown or missing fields"),
          404: jobError(404, "no such model, or no such input object (model_not_found, input_not_found)"),
          413: jobError(413, "more than MAX_JOB_PUZZLES puzzles, an input over MAX_JOB_INPUT_BYTES, or a puzzle too large for one queue message (too_many_puzzles, input_too_large, puzzle_too_large)"),
          422: error(422, "a puzzle or an option does not fit the model"),
          ...guarded,
        },
      },
    },
    "/v1/jobs/{id}": {
      get: { summary: "state, counts, CPU ms so far, ETA, failures", parameters: [jobId], responses: { 200: jsonBody(ref("Job"), "the job"), 404: jobError(404, "no such job (job_not_found)"), ...guarded } },
      delete: { summary: "cancel: queued messages do no work", parameters: [jobId], responses: { 200: jsonBody(ref("Job"), "the job, cancelled"), 404: jobError(404, "no such job (job_not_found)"), ...guarded } },
    },
    "/v1/jobs/{id}/{part}": {
      get: {
        summary: "results (NDJSON in input order: what is done, or all when finished), or an ARC job's submission / report",
        parameters: [jobId, { name: "part", in: "path", required: true, schema: { enum: ["results", "submission", "report"] } }],
        responses: {
          200: { description: "the results or file", content: { "application/x-ndjson": { schema: { type: "string" } }, "application/json": { schema: { type: "object" } } } },
          404: jobError(404, "no such job, or not an ARC job (job_not_found, not_found)"),
          409: jobError(409, "the ARC vote is not written yet (job_not_finished)"),
          ...guarded,
        },
      },
    },
    "/openapi.json": { get: { summary: "this description", responses: { 200: jsonBody({ type: "object" }, "OpenAPI 3.1") } } },
  },
  components: {
    schemas: {
      ErrorDetail: {
        type: "object",
        required: ["code", "message"],
        properties: { code: { type: "string" }, message: { type: "string", maxLength: 503 }, request_id: { type: "string" } },
      },
      Error: {
        type: "object",
        required: ["error"],
        properties: {
          error: { allOf: [ref("ErrorDetail"), { type: "object", required: ["request_id"], properties: { code: { enum: [...Object.values(errorCodes).flat(), ...jobErrorCodes] } } }] },
          checks: ref("Health"),
        },
      },
      SolveRequest: {
        oneOf: [
          { type: "object", required: ["puzzle"], additionalProperties: false, properties: { puzzle: { description: "one puzzle in the task's notation" }, ...options } },
          { type: "object", required: ["puzzles"], additionalProperties: false, properties: { puzzles: { type: "array", minItems: 1, description: "up to MAX_PUZZLES" }, ...options } },
        ],
      },
      Result: result,
      TaskList: {
        type: "object",
        required: ["model", "total", "demonstrations", "tasks", "next_cursor"],
        additionalProperties: false,
        properties: {
          model: { type: "string" },
          total: { type: "integer", minimum: 0, description: "tasks in the index" },
          demonstrations: { type: "boolean", description: "the pack ships a puzzles file (demonstrations and test inputs)" },
          tasks: {
            type: "array",
            items: {
              type: "object",
              required: ["task", "augmentations", "demonstrations"],
              additionalProperties: false,
              properties: {
                task: { type: "string" },
                augmentations: { type: "integer", minimum: 1, description: "its rows in the table: the most a solve can use" },
                demonstrations: { type: "boolean", description: "its train pairs and test inputs are in the puzzles file" },
              },
            },
          },
          next_cursor: { oneOf: [{ type: "string" }, { type: "null" }], description: "the cursor of the next page; null on the last page" },
        },
      },
      Task: {
        type: "object",
        required: ["model", "task", "augmentations", "demonstrations"],
        additionalProperties: false,
        properties: {
          model: { type: "string" },
          task: { type: "string" },
          augmentations: { type: "integer", minimum: 1 },
          demonstrations: { type: "boolean" },
          train: { type: "array", items: { type: "object", required: ["input", "output"], additionalProperties: false, properties: { input: ref("Grid"), output: ref("Grid") } } },
          test: { type: "array", minItems: 1, items: { type: "object", required: ["input"], additionalProperties: false, properties: { input: ref("Grid"), output: ref("Grid") } } },
        },
      },
      Grid: { type: "array", minItems: 1, maxItems: 30, items: { type: "array", minItems: 1, maxItems: 30, items: { type: "integer", minimum: 0, maximum: 9 } }, description: "ARC colours 0-9, rows of equal length" },
      ArcRequest: {
        description: "for a model whose task is arc: one task, or several as puzzles",
        oneOf: [
          { type: "object", required: ["task", "test"], properties: { task: { type: "string" }, test: { type: "array", items: { type: "object", required: ["input"] } }, augmentations: {}, max_steps: options.max_steps, halt: options.halt, h_cycles: { type: "integer", minimum: 1 }, budget_steps: options.budget_steps } },
          { type: "object", required: ["puzzles"], properties: { puzzles: { type: "array", items: { type: "object", required: ["task", "test"] } } } },
        ],
      },
      ArcResult: {
        type: "object",
        required: ["task", "tests", "augmentations", "sequences", "steps", "h_cycles", "truncated", "rows", "timings"],
        properties: {
          task: { type: "string" },
          tests: { type: "array", items: { type: "object", required: ["candidates"], properties: { attempt_1: { type: "array" }, attempt_2: { type: "array" }, candidates: { type: "array" } } } },
          augmentations: { type: "integer" },
          sequences: { type: "integer" },
          steps: { type: "integer" },
          h_cycles: { type: "integer" },
          truncated: { type: "boolean", description: "budget_steps ran out: the vote of the augmented inputs computed so far" },
          truncated_reason: { type: "string" },
          rows: { type: "object", required: ["bytes_read", "cached"] },
          timings: { type: "object" },
        },
      },
      SolveResponse: {
        oneOf: [
          { type: "object", required: ["model", "task", "result"], additionalProperties: false, properties: { model: { type: "string" }, task: { type: "string" }, result: { oneOf: [ref("Result"), ref("ArcResult")] } } },
          { type: "object", required: ["model", "task", "results"], additionalProperties: false, properties: { model: { type: "string" }, task: { type: "string" }, results: { type: "array", items: { oneOf: [ref("Result"), ref("ArcResult")] } } } },
        ],
      },
      Job: {
        type: "object",
        required: ["id", "state", "model", "task", "counts", "slices", "cpu_ms", "links"],
        properties: {
          id: { type: "string" },
          state: { enum: ["queued", "running", "voting", "done", "cancelled"] },
          model: { type: "string" },
          task: { type: "string" },
          counts: { type: "object", required: ["total", "done", "failed", "pending"] },
          slices: { type: "object" },
          cpu_ms: { type: "number" },
          eta_s: { description: "seconds left, or null" },
          failures: { type: "array" },
          links: { type: "object" },
        },
      },
      Health: {
        type: "object",
        required: ["ok", "bucket", "models", "solving"],
        properties: {
          ok: { type: "boolean" },
          solving: { type: "integer", minimum: 0, description: "solve requests this isolate is computing or has queued" },
          bucket: { type: "object", required: ["ok"], properties: { ok: { type: "boolean" }, message: { type: "string" } } },
          models: {
            type: "array",
            items: { type: "object", required: ["name", "ok", "state"], properties: { name: { type: "string" }, ok: { type: "boolean" }, state: { enum: ["loading", "loaded"] }, message: { type: "string" } } },
          },
        },
      },
    },
  },
};
