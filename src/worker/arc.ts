// ARC requests to POST /v1/models/:name/solve for a pack whose puzzle
// embedding is its own R2 object (src/engine/puzzle-table.ts):
//   {"task": "<id>", "test": [{"input": grid}, ...], "augmentations": N | "all",
//    "max_steps": N, "halt": "fixed" | "adaptive", "h_cycles": N, "budget_steps": N}
// or several tasks as {"puzzles": [{"task", "test"}, ...], options} or one
// task per NDJSON line. A task's rows come from one range read per row range
// (one in official builds), verified against the task index before use, and
// stay in a bounded per-isolate cache. Work that cannot fit the CPU budget
// is refused before it starts, with the estimate. Each task's solve is one
// admitted request of the isolate's scheduler (src/worker/schedule.ts), as
// Sudoku and Maze requests are, and stops within one supervision step when
// the client goes away.
import { TrmError } from "../errors.ts";
import { type PuzzleTableManifest, type RangeReader, type TaskIndex, TaskRowCache, type TaskRows, loadTaskIndex, readTaskRows, rowCount, taskEntry } from "../engine/puzzle-table.ts";
import { type LoadedModel, solveOptions } from "../solver.ts";
import { estimateWork } from "../tasks/arc/cost.ts";
import { type Grid, parseGrid, toArray } from "../tasks/arc/grid.ts";
import { type ArcOptions, type ArcProgress, augmentationsOption, chooseRows, hCyclesOption, solveArcTask } from "../tasks/arc/solve.ts";
import { type Candidate, attempts } from "../tasks/arc/vote.ts";
import { parseJson, readBody } from "./http.ts";
import { modelKey } from "./models.ts";
import { scheduled } from "./schedule.ts";
import { type Limits, describeError, jsonAnswer, shapeOf, sse, stream } from "./solve.ts";

export interface ArcLimits extends Limits {
  cpuBudgetMs: number; // work estimated above this is refused
  gflops: number; // the CPU rate the estimate assumes
}

const ROW_CACHE_BYTES = 16 * 1024 * 1024;
const TOP_CANDIDATES = 10;

export interface ArcContext {
  table: PuzzleTableManifest;
  index: TaskIndex;
  read: RangeReader;
  cache: TaskRowCache;
}

const contexts = new Map<string, Promise<ArcContext>>();

/** R2 range reads of a pack's objects. */
function r2Reader(bucket: R2Bucket, name: string): RangeReader {
  return async (file, offset, length) => {
    if (length === 0) return new Uint8Array(0);
    let object: R2ObjectBody | null;
    try {
      object = await bucket.get(modelKey(name, file), { range: { offset, length } });
    } catch {
      return new Uint8Array(0); // a range past the end of a truncated object: reported as a short read
    }
    return object ? new Uint8Array(await object.arrayBuffer()) : null;
  };
}

/** A pack's table and task index (only model.json and the index are needed: the task routes call this without loading the trunk). */
export function arcContext(bucket: R2Bucket, model: Pick<LoadedModel, "name" | "manifest">): Promise<ArcContext> {
  const key = `${model.name}\n${model.manifest.weights.sha256}`;
  let ctx = contexts.get(key);
  if (!ctx) {
    ctx = (async () => {
      const table = model.manifest.puzzle_table;
      if (!table) throw new TrmError("model_unavailable", `model ${model.name} is an ARC model without a puzzle table and task index (convert it with --identifiers)`, 503);
      const object = await bucket.get(modelKey(model.name, table.index_file));
      try {
        const index = await loadTaskIndex(object ? new Uint8Array(await object.arrayBuffer()) : null, table);
        return { table, index, read: r2Reader(bucket, model.name), cache: new TaskRowCache(ROW_CACHE_BYTES) };
      } catch (e) {
        throw e instanceof TrmError ? new TrmError("model_unavailable", `model ${model.name} cannot be served: ${e.message}`, 503) : e;
      }
    })();
    contexts.set(key, ctx);
    ctx.catch(() => contexts.delete(key));
  }
  return ctx;
}

interface ArcJob {
  task: string;
  tests: Grid[];
  opts: ArcOptions;
}

const OPTION_KEYS = ["augmentations", "max_steps", "halt", "h_cycles", "budget_steps"];

function parseOptions(b: Record<string, unknown>, model: LoadedModel, limits: ArcLimits): ArcOptions {
  const { maxSteps, halt, budget } = solveOptions(b, model.config, limits.maxBudgetSteps);
  // ARC has no answer check: "checked" falls back to the Q-head.
  return { augmentations: augmentationsOption(b.augmentations), maxSteps, halt: halt === "checked" ? "adaptive" : halt, hCycles: hCyclesOption(b.h_cycles, model.config.arch.H_cycles), budget };
}

function parseTask(p: unknown, where: string, opts: ArcOptions): ArcJob {
  if (!p || typeof p !== "object" || Array.isArray(p)) throw new TrmError("bad_request", `${where} must be {"task": "<id>", "test": [{"input": grid}, ...]}`, 400);
  const t = p as Record<string, unknown>;
  const unknownKeys = Object.keys(t).filter((k) => !["task", "test", "train", ...OPTION_KEYS].includes(k));
  if (unknownKeys.length) throw new TrmError("bad_request", `${where} has unknown field(s) ${unknownKeys.slice(0, 5).join(", ").slice(0, 200)}; expected task, test, augmentations, max_steps, halt, h_cycles, budget_steps`, 400);
  if (typeof t.task !== "string" || t.task.length === 0 || t.task.length > 200) throw new TrmError("bad_request", `${where}.task must be the task id (a string)`, 400);
  if (!Array.isArray(t.test) || t.test.length === 0) throw new TrmError("bad_request", `${where}.test must be a non-empty array of {"input": grid}`, 400);
  if (t.test.length > 16) throw new TrmError("bad_request", `${where}.test has ${t.test.length} inputs; at most 16 per task`, 400);
  const tests = t.test.map((x, i) => {
    const input = x && typeof x === "object" && !Array.isArray(x) ? (x as { input?: unknown }).input : undefined;
    if (input === undefined) throw new TrmError("bad_request", `${where}.test[${i}] must be {"input": grid}`, 400);
    return parseGrid(input, `${where}.test[${i}].input`);
  });
  return { task: t.task, tests, opts };
}

/** The tasks and options of one JSON body (a single task, or "puzzles"). */
function parseBody(body: unknown, model: LoadedModel, limits: ArcLimits, batchAllowed = true): { jobs: ArcJob[]; single: boolean } {
  if (!body || typeof body !== "object" || Array.isArray(body)) throw new TrmError("bad_request", 'the body must be a JSON object: {"task": "<id>", "test": [{"input": grid}]} or {"puzzles": [...]}', 400);
  const b = body as Record<string, unknown>;
  const opts = parseOptions(b, model, limits);
  if ("puzzles" in b) {
    if (!batchAllowed) throw new TrmError("bad_request", "an NDJSON line holds one task", 400);
    const extra = Object.keys(b).filter((k) => k !== "puzzles" && !OPTION_KEYS.includes(k));
    if (extra.length) throw new TrmError("bad_request", `unknown field(s) ${extra.slice(0, 5).join(", ").slice(0, 200)} beside "puzzles"`, 400);
    if (!Array.isArray(b.puzzles) || b.puzzles.length === 0) throw new TrmError("bad_request", '"puzzles" must be a non-empty array of tasks', 400);
    if (b.puzzles.length > limits.maxPuzzles) throw new TrmError("too_many_puzzles", `${b.puzzles.length} tasks in one request; the limit is ${limits.maxPuzzles}`, 413);
    return { jobs: b.puzzles.map((p, i) => parseTask(p, `puzzles[${i}]`, opts)), single: false };
  }
  return { jobs: [parseTask(b, "body", opts)], single: true };
}

interface Prepared extends ArcJob {
  rows: TaskRows;
  cached: boolean;
}

/** Looks every task up and reads its rows (422 for an unknown task, 503 for rows that fail their checksum), then checks the whole request's cost. */
async function prepare(ctx: ArcContext, model: LoadedModel, jobs: ArcJob[], limits: ArcLimits): Promise<Prepared[]> {
  const entries = jobs.map((j) => taskEntry(ctx.index, j.task));
  const estimate = estimateWork(
    model.config,
    jobs.reduce((n, j, i) => n + j.tests.length * Math.min(rowCount(entries[i]), j.opts.augmentations === "all" ? Infinity : j.opts.augmentations), 0),
    Math.max(...jobs.map((j) => j.opts.maxSteps)),
    Math.max(...jobs.map((j) => j.opts.hCycles ?? model.config.arch.H_cycles)),
    limits.gflops,
  );
  if (estimate.cpu_ms > limits.cpuBudgetMs) {
    throw new TrmError(
      "too_much_work",
      `this request needs about ${(estimate.cpu_ms / 1000).toFixed(0)} s of CPU (${estimate.sequences} augmented test inputs x ${estimate.steps} steps x H_cycles ${estimate.h_cycles}, ${estimate.gflop} GFLOP at ${limits.gflops} GFLOP/s); ` +
        `the budget is ${(limits.cpuBudgetMs / 1000).toFixed(0)} s. Ask for fewer "augmentations", fewer "max_steps" or a smaller "h_cycles", or run it as a job`,
      422,
    );
  }
  return Promise.all(
    jobs.map(async (j, i) => {
      let cached = true;
      const rows = await ctx.cache.get(j.task, () => {
        cached = false;
        return readTaskRows(ctx.read, ctx.table, j.task, entries[i]);
      });
      return { ...j, rows, cached };
    }),
  );
}

const presentCandidates = (candidates: Candidate[][], top: number) =>
  candidates.map((c) => ({ ...(c.length ? attempts(c) : {}), candidates: c.slice(0, top).map((x) => ({ grid: toArray(x.grid), votes: x.votes, confidence: x.confidence })) }));

/** One task's answer; `onProgress` hears of every step, `beat` is called before each (see jsonAnswer). */
async function run(model: LoadedModel, p: Prepared, limits: ArcLimits, signal: AbortSignal, { onProgress, beat }: { onProgress?: (progress: ArcProgress) => Promise<void>; beat?: () => void } = {}) {
  const started = performance.now();
  const result = await scheduled(limits.maxQueue, (turn) => solveArcTask(model.network, p.task, p.tests, p.rows, { ...p.opts, signal, turn: beat ? () => (beat(), turn()) : turn }, onProgress), signal);
  return {
    task: p.task,
    tests: presentCandidates(result.candidates, TOP_CANDIDATES),
    augmentations: result.augmentations.length,
    sequences: result.sequences,
    steps: Math.max(0, ...result.steps),
    h_cycles: p.opts.hCycles ?? model.config.arch.H_cycles,
    truncated: result.truncated,
    ...(result.truncated ? { truncated_reason: `budget_steps ran out after ${result.votes.length} of ${result.sequences} augmented test inputs had voted` } : {}),
    rows: { bytes_read: p.cached ? 0 : p.rows.bytes, cached: p.cached },
    timings: { total_ms: Math.round((performance.now() - started) * 10) / 10 },
  };
}

export async function solveArc(request: Request, requestId: string, model: LoadedModel, bucket: R2Bucket, limits: ArcLimits): Promise<Response> {
  const shape = shapeOf(request);
  const ctx = await arcContext(bucket, model);
  const text = await readBody(request, limits.maxBodyBytes);
  if (shape.body === "ndjson") {
    const lines = text.split("\n").map((t, i) => ({ text: t.trim(), line: i + 1 })).filter((l) => l.text);
    if (lines.length === 0) throw new TrmError("bad_request", "the NDJSON body has no lines", 400);
    if (lines.length > limits.maxPuzzles) throw new TrmError("too_many_puzzles", `${lines.length} NDJSON lines; the limit is ${limits.maxPuzzles}`, 413);
    return stream(shape.answer, request.signal, async (send, signal) => {
      for (const { text: lineText, line } of lines) {
        let out: unknown;
        try {
          const { jobs } = parseBody(parseJson(lineText, `line ${line}`), model, limits, false);
          const [p] = await prepare(ctx, model, jobs, limits);
          out = { line, result: await run(model, p, limits, signal) };
        } catch (e) {
          if (signal.aborted) throw e;
          out = { line, error: describeError(e) };
        }
        await send(JSON.stringify(out) + "\n");
      }
    });
  }
  const { jobs, single } = parseBody(parseJson(text), model, limits);
  const prepared = await prepare(ctx, model, jobs, limits);
  const envelope = (results: unknown[]) => (single ? { model: model.name, task: "arc", result: results[0] } : { model: model.name, task: "arc", results });
  if (shape.answer === "text/event-stream") {
    return stream("text/event-stream", request.signal, async (send, signal) => {
      try {
        const results = [];
        for (const [i, p] of prepared.entries()) {
          results.push(
            await run(model, p, limits, signal, {
              onProgress: (progress) => send(sse("step", { index: i, task: p.task, slice: progress.slice, slices: progress.slices, step: progress.step, tests: presentCandidates(progress.candidates, 3) })),
            }),
          );
        }
        await send(sse("result", envelope(results)));
      } catch (e) {
        if (signal.aborted) throw e;
        await send(sse("error", { error: describeError(e) }));
      }
    });
  }
  return jsonAnswer(request, requestId, async (signal, beat) => {
    const results = [];
    for (const p of prepared) results.push(await run(model, p, limits, signal, { beat }));
    return envelope(results);
  });
}
