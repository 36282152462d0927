// The job API (the producer):
//   POST   /v1/jobs              {model, puzzles: [...] | input: "<R2 key in JOB_DATA>", options?: {max_steps, halt}} -> 202 {id, ...status}
//   GET    /v1/jobs/:id          state, counts, CPU ms so far, ETA, failed slices with their reasons
//   GET    /v1/jobs/:id/results  NDJSON, one line per solved (or failed) puzzle, in input order
//   DELETE /v1/jobs/:id          cancel: messages still queued do no work
// Every puzzle is checked against the model's codec before anything is queued,
// so a bad puzzle is a 4xx here and never a failed slice later.
import { TrmError } from "../../errors.ts";
import { stepFlops } from "../../engine/cost.ts";
import { manifestConfig } from "../../engine/pack.ts";
import { encodePuzzles, solveOptions } from "../../solver.ts";
import { codecFor } from "../../tasks/index.ts";
import { json, parseJson, readBody } from "../http.ts";

import { readManifest } from "../models.ts";
import { jobStub } from "./consumer.ts";
import { planArc } from "./arc.ts";
import { configOf } from "../config.ts";
import { type JobMeta, type JobsEnv, MESSAGE_BYTES, type SliceMessage, type SliceOutcome, arcKey, jobVar, resultKey } from "./types.ts";

// Queues limits: a sendBatch call up to 100 messages and 256 KB (a message: MESSAGE_BYTES).
const BATCH_MESSAGES = 100;
const BATCH_BYTES = 240_000;

const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface JobLimits {
  maxBodyBytes: number;
  maxJobPuzzles: number;
  maxInputBytes: number;
  sliceGflop: number;
}

function jobLimits(env: JobsEnv): JobLimits {
  return {
    maxBodyBytes: configOf(env).maxBodyBytes,
    maxJobPuzzles: jobVar(env, "MAX_JOB_PUZZLES"),
    maxInputBytes: jobVar(env, "MAX_JOB_INPUT_BYTES"),
    sliceGflop: jobVar(env, "JOB_SLICE_GFLOP"),
  };
}

const notFound = (id: string) => new TrmError("job_not_found", `no job with id ${JSON.stringify(id)}`, 404);

export async function jobsRoute(request: Request, env: JobsEnv, pathname: string): Promise<Response> {
  const match = /^\/v1\/jobs(?:\/([^/]+)(?:\/(results|submission|report))?)?\/?$/.exec(pathname);
  if (!match) throw new TrmError("not_found", `no route for ${pathname}`, 404);
  const [, id, part] = match;
  const allow = (...methods: string[]) => {
    if (!methods.includes(request.method)) throw new TrmError("method_not_allowed", `${pathname} accepts ${methods.join(", ")}`, 405);
  };
  if (id === undefined) {
    allow("POST");
    return submit(request, env, jobLimits(env));
  }
  if (!JOB_ID.test(id)) throw notFound(id);
  if (part === "results") {
    allow("GET");
    return resultsOf(env, id);
  }
  if (part) {
    allow("GET");
    return arcFile(env, id, part === "submission" ? "submission.json" : "report.json");
  }
  allow("GET", "DELETE");
  const job = jobStub(env, id);
  if (request.method === "DELETE" && !(await job.cancel())) throw notFound(id);
  const status = await job.status();
  if (!status) throw notFound(id);
  return json(view(status.meta, status.failures));
}

/** The text of an input object in the jobs bucket. */
async function readInput(env: JobsEnv, key: string, limits: JobLimits): Promise<string> {
  const object = await env.JOB_DATA.get(key);
  if (!object) throw new TrmError("input_not_found", `no object ${JSON.stringify(key)} in the jobs bucket`, 404);
  if (object.size > limits.maxInputBytes) {
    await object.body.cancel();
    throw new TrmError("input_too_large", `input ${key} has ${object.size} bytes; the limit is ${limits.maxInputBytes}`, 413);
  }
  return object.text();
}

/** The puzzles of an NDJSON input: one {"puzzle": ...} per non-empty line. */
function inputLines(text: string): unknown[] {
  const lines = text.split("\n").map((t, i) => ({ t: t.trim(), line: i + 1 })).filter((l) => l.t);
  return lines.map(({ t, line }) => {
    const o = parseJson(t, `input line ${line}`) as { puzzle?: unknown } | null;
    if (!o || typeof o !== "object" || !("puzzle" in o)) throw new TrmError("bad_request", `input line ${line} must be an object {"puzzle": ...}`, 400);
    return o.puzzle;
  });
}

/**
 * Checks a job's body and every puzzle, and splits the puzzles into slices:
 * contiguous runs of at most JOB_SLICE_GFLOP of work (matmul FLOPs of
 * max_steps supervision steps on each puzzle's sequences, which predicts the
 * measured CPU within a few percent; see the README's jobs section) and
 * MESSAGE_BYTES of message. A puzzle bigger than the budget gets a slice of
 * its own. Nothing is stored or sent yet.
 */
export async function planJob(env: JobsEnv, body: unknown, limits = jobLimits(env)): Promise<{ meta: JobMeta; messages: SliceMessage[]; tasks?: unknown }> {
  if (!body || typeof body !== "object" || Array.isArray(body)) throw new TrmError("bad_request", 'the body must be a JSON object {"model", "puzzles" or "input", "options"}', 400);
  const b = body as Record<string, unknown>;
  const unknownKeys = Object.keys(b).filter((k) => !["model", "puzzles", "tasks", "input", "options"].includes(k));
  if (unknownKeys.length) throw new TrmError("bad_request", `unknown field(s) ${unknownKeys.join(", ")}; expected model, puzzles (ARC: tasks) or input, options`, 400);
  if (typeof b.model !== "string") throw new TrmError("bad_request", '"model" must be a model name', 400);
  const manifest = await readManifest(env.MODELS, b.model);
  const arc = manifest.task === "arc";
  const inline = arc ? "tasks" : "puzzles";
  if ((inline in b) === ("input" in b) || (arc ? "puzzles" : "tasks") in b) throw new TrmError("bad_request", `give exactly one of "${inline}" and "input" (${b.model} is ${arc ? "an ARC" : `a ${manifest.task}`} model)`, 400);
  if ("input" in b && (typeof b.input !== "string" || !b.input)) throw new TrmError("bad_request", `"input" must be the key of ${arc ? "a tasks JSON" : "an NDJSON"} object in the jobs bucket`, 400);
  const options = b.options ?? {};
  const optionKeys = arc ? ["max_steps", "halt", "augmentations", "h_cycles"] : ["max_steps", "halt"];
  if (!options || typeof options !== "object" || Array.isArray(options)) throw new TrmError("bad_request", `"options" must be an object {${optionKeys.join(", ")}}`, 400);
  const badOptions = Object.keys(options).filter((k) => !optionKeys.includes(k));
  if (badOptions.length) throw new TrmError("bad_request", `unknown option(s) ${badOptions.join(", ")}; expected ${optionKeys.join(", ")}`, 400);
  if (arc) {
    const tasks = typeof b.input === "string" ? parseJson(await readInput(env, b.input, limits), `input ${b.input}`) : b.tasks;
    const plan = await planArc(env, crypto.randomUUID(), manifest, b.model, tasks, options as Record<string, unknown>, limits.sliceGflop);
    if (plan.meta.total > limits.maxJobPuzzles) throw new TrmError("too_many_puzzles", `${plan.meta.total} augmented test inputs in one job; the limit is ${limits.maxJobPuzzles}`, 413);
    return { ...plan, tasks };
  }

  const shape = { codec: codecFor(manifest.task), config: manifestConfig(manifest) };
  const opts = solveOptions(options, shape.config);
  const puzzles = typeof b.input === "string" ? inputLines(await readInput(env, b.input, limits)) : b.puzzles;
  if (!Array.isArray(puzzles) || puzzles.length === 0) throw new TrmError("bad_request", "the job has no puzzles", 400);
  if (puzzles.length > limits.maxJobPuzzles) throw new TrmError("too_many_puzzles", `${puzzles.length} puzzles in one job; the limit is ${limits.maxJobPuzzles}`, 413);
  const encoded = encodePuzzles(shape, puzzles);

  const id = crypto.randomUUID();
  const jobOptions = { max_steps: opts.maxSteps, halt: opts.halt };
  const puzzleGflop = (opts.maxSteps * stepFlops(shape.config)) / 1e9; // per sequence
  const messages: SliceMessage[] = [];
  for (let start = 0; start < puzzles.length; ) {
    const m: SliceMessage = { job: id, slice: messages.length, start, model: b.model, options: jobOptions, puzzles: [] };
    let gflop = 0;
    let bytes = JSON.stringify(m).length;
    for (let i = start; i < puzzles.length; i++) {
      const work = encoded[i].sequences.length * puzzleGflop;
      const size = JSON.stringify(puzzles[i]).length + 1;
      if (m.puzzles.length && (gflop + work > limits.sliceGflop || bytes + size > MESSAGE_BYTES)) break;
      if (bytes + size > MESSAGE_BYTES) throw new TrmError("puzzle_too_large", `puzzles[${i}] does not fit in one queue message (${MESSAGE_BYTES} bytes)`, 413);
      m.puzzles.push(puzzles[i]);
      gflop += work;
      bytes += size;
    }
    messages.push(m);
    start += m.puzzles.length;
  }
  const meta: JobMeta = {
    id, model: b.model, task: manifest.task, options: jobOptions, total: puzzles.length, slices: messages.length, state: "queued",
    done: 0, failed: 0, slices_done: 0, slices_failed: 0, cpu_ms: 0, created_at: Date.now(),
  };
  return { meta, messages };
}

async function submit(request: Request, env: JobsEnv, limits: JobLimits): Promise<Response> {
  const { meta, messages, tasks } = await planJob(env, parseJson(await readBody(request, limits.maxBodyBytes)), limits);
  if (tasks !== undefined) await env.JOB_DATA.put(arcKey(meta.id, "tasks.json"), JSON.stringify(tasks)); // what the vote scores against
  const job = jobStub(env, meta.id);
  await job.create(meta); // before the first message, so no consumer finds the job missing
  try {
    for (let i = 0; i < messages.length; ) {
      const batch: MessageSendRequest<SliceMessage>[] = [];
      let bytes = 0;
      for (; i < messages.length && batch.length < BATCH_MESSAGES; i++) {
        const size = JSON.stringify(messages[i]).length;
        if (batch.length && bytes + size > BATCH_BYTES) break;
        batch.push({ body: messages[i], contentType: "json" });
        bytes += size;
      }
      await env.JOB_QUEUE.sendBatch(batch);
    }
  } catch (e) {
    await job.cancel(); // a job missing some of its messages would never finish; the ones sent do no work
    throw e;
  }
  return json(view(meta, []), 202, { location: `/v1/jobs/${meta.id}` });
}

/** A job as GET /v1/jobs/:id shows it. */
function view(meta: JobMeta, failures: SliceOutcome[]) {
  const iso = (ms?: number) => (ms === undefined ? null : new Date(ms).toISOString());
  const elapsedMs = meta.started_at === undefined ? 0 : (meta.finished_at ?? Date.now()) - meta.started_at;
  const finished = meta.done + meta.failed;
  const remaining = meta.total - finished;
  return {
    id: meta.id,
    state: meta.state,
    model: meta.model,
    task: meta.task,
    options: meta.options,
    counts: { total: meta.total, done: meta.done, failed: meta.failed, pending: remaining },
    slices: { total: meta.slices, done: meta.slices_done, failed: meta.slices_failed },
    cpu_ms: meta.cpu_ms,
    created_at: iso(meta.created_at),
    started_at: iso(meta.started_at),
    finished_at: iso(meta.finished_at),
    elapsed_s: elapsedMs / 1000,
    eta_s: meta.state === "running" && finished > 0 ? Math.round((elapsedMs * remaining) / finished) / 1000 : null,
    failures: failures.map((f) => ({ slice: f.slice, start: f.start, count: f.count, attempts: f.attempts, error: f.error })),
    ...(meta.arc ? { arc: { tasks: meta.arc.tasks, unknown_tasks: meta.arc.unknown_tasks, voted: meta.arc.finalized } } : {}),
    links: {
      status: `/v1/jobs/${meta.id}`,
      results: `/v1/jobs/${meta.id}/results`,
      ...(meta.arc ? { submission: `/v1/jobs/${meta.id}/submission`, report: `/v1/jobs/${meta.id}/report` } : {}),
    },
  };
}

/** An ARC job's submission.json or report.json, once its vote is written. */
async function arcFile(env: JobsEnv, id: string, file: "submission.json" | "report.json"): Promise<Response> {
  const status = await jobStub(env, id).status();
  if (!status) throw notFound(id);
  if (!status.meta.arc) throw new TrmError("not_found", `job ${id} is not an ARC job: it has results, no ${file}`, 404);
  if (!status.meta.arc.finalized) throw new TrmError("job_not_finished", `job ${id} is ${status.meta.state}; ${file} is written once every slice is in`, 409);
  const object = await env.JOB_DATA.get(arcKey(id, file));
  if (!object) throw new Error(`job ${id}: ${file} is missing from R2`);
  return new Response(object.body, { headers: { "content-type": "application/json; charset=utf-8" } });
}

/** What is finished so far, in input order: each solved slice's lines from R2, an error line per puzzle of a failed slice. */
async function resultsOf(env: JobsEnv, id: string): Promise<Response> {
  const job = jobStub(env, id);
  const status = await job.status();
  if (!status) throw notFound(id);
  const outcomes = await job.outcomes();
  const encoder = new TextEncoder();
  let next = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const o = outcomes[next++];
      if (!o) return controller.close();
      if (o.status === "failed") {
        const lines = Array.from({ length: o.count }, (_, i) => JSON.stringify({ index: o.start + i, error: o.error }) + "\n");
        return controller.enqueue(encoder.encode(lines.join("")));
      }
      const object = await env.JOB_DATA.get(resultKey(id, o.slice));
      if (!object) return controller.error(new Error(`results of job ${id} slice ${o.slice} are missing from R2`));
      controller.enqueue(new Uint8Array(await object.arrayBuffer()));
    },
  });
  const finished = outcomes.reduce((n, o) => n + o.count, 0);
  return new Response(body, {
    headers: {
      "content-type": "application/x-ndjson; charset=utf-8",
      "x-job-state": status.meta.state,
      "x-job-complete": String(finished === status.meta.total),
    },
  });
}
