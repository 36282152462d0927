// ARC jobs: a tasks file (test_puzzles.json, or ARC challenges) evaluated as
// `trm arc` evaluates it, with the work spread over queue messages.
//   plan    one message per (task, slice of its augmentations in index order)
//   solve   each message runs solveArcTask (src/tasks/arc/solve.ts) on its
//           rows and stores every sequence's vote, augmentation-major
//   vote    once every slice is in, each task's votes go back into a VoteBook
//           of that task alone, in augmentation order, exactly the order
//           `trm arc` adds them, and a Scorer (src/tasks/arc/vote.ts, the one
//           voting implementation) scores the tasks in file order into
//           submission.json and the pass@K report. One task's votes are in
//           memory at a time, so the vote's memory does not grow with the job
import { TrmError } from "../../errors.ts";
import type { PackManifest } from "../../engine/pack.ts";
import { stepFlops } from "../../engine/cost.ts";
import { readTaskRows, rowCount, taskEntry } from "../../engine/puzzle-table.ts";
import { solveOptions } from "../../solver.ts";
import { type Grid, gridKey, toArray } from "../../tasks/arc/grid.ts";
import { augmentationsOption, hCyclesOption, solveArcTask } from "../../tasks/arc/solve.ts";
import { parseTasksFile, resultJson, submissionJson } from "../../tasks/arc/tasks-file.ts";
import { Scorer, VoteBook } from "../../tasks/arc/vote.ts";
import { arcContext } from "../arc.ts";

import { getModel } from "../models.ts";
import { type JobMeta, type JobOptions, type JobsEnv, MESSAGE_BYTES, type SliceMessage, type SliceOutcome, arcKey, resultKey } from "./types.ts";

/** One stored vote: a sequence's cropped prediction in the original frame and sigmoid(q_halt). */
interface VoteLine {
  index: number;
  task: string;
  test: number;
  augmentation: string;
  prediction: number[][];
  confidence: number;
  steps: number;
}

/** The messages of an ARC job over `tasksJson` (checked here: unknown tasks are scored as unanswered, as `trm arc` does). */
export async function planArc(
  env: JobsEnv, id: string, manifest: PackManifest, model: string, tasksJson: unknown, options: Record<string, unknown>, sliceGflop: number,
): Promise<{ meta: JobMeta; messages: SliceMessage[] }> {
  const loaded = await getModel(env.MODELS, model);
  const ctx = await arcContext(env.MODELS, loaded);
  const { maxSteps, halt } = solveOptions(options, loaded.config);
  const augmentations = augmentationsOption(options.augmentations);
  const hCycles = hCyclesOption(options.h_cycles, loaded.config.arch.H_cycles);
  const tasks = parseTasksFile(tasksJson, "the tasks file");
  const known = tasks.filter((t) => Object.hasOwn(ctx.index.tasks, t.task));
  if (!known.length) throw new TrmError("unknown_task", `none of the ${tasks.length} tasks is in ${model}'s task index: TRM learns one puzzle embedding per task augmentation, so it can only solve tasks from its training data`, 422);
  const jobOptions: JobOptions = { max_steps: maxSteps, halt: halt === "checked" ? "adaptive" : halt, augmentations, ...(hCycles ? { h_cycles: hCycles } : {}) };
  const messages: SliceMessage[] = [];
  let start = 0;
  for (const t of known) {
    const augs = Math.min(rowCount(taskEntry(ctx.index, t.task)), augmentations === "all" ? Infinity : augmentations);
    const perAug = (t.tests.length * maxSteps * stepFlops(loaded.config, hCycles)) / 1e9; // GFLOP of one augmentation's sequences
    const step = Math.max(1, Math.floor(sliceGflop / perAug));
    const tests = t.tests.map((x) => toArray(x.input));
    for (let from = 0; from < augs; from += step) {
      const to = Math.min(augs, from + step);
      const m: SliceMessage = { job: id, slice: messages.length, start, model, options: jobOptions, puzzles: [], arc: { task: t.task, tests, from, to } };
      if (JSON.stringify(m).length > MESSAGE_BYTES) throw new TrmError("puzzle_too_large", `task ${t.task}'s test inputs do not fit in one queue message (${MESSAGE_BYTES} bytes)`, 413);
      messages.push(m);
      start += (to - from) * tests.length;
    }
  }
  const meta: JobMeta = {
    id, model, task: manifest.task, options: jobOptions, total: start, slices: messages.length, state: "queued",
    done: 0, failed: 0, slices_done: 0, slices_failed: 0, cpu_ms: 0, created_at: Date.now(),
    arc: { tasks: tasks.length, unknown_tasks: tasks.filter((t) => !known.includes(t)).map((t) => t.task), finalized: false },
  };
  return { meta, messages };
}

/** Solves one (task, augmentations) slice and writes its votes; returns the compute time in ms. */
export async function solveArcSlice(env: JobsEnv, m: SliceMessage): Promise<number> {
  const a = m.arc!;
  const model = await getModel(env.MODELS, m.model);
  const ctx = await arcContext(env.MODELS, model);
  const all = await ctx.cache.get(a.task, () => readTaskRows(ctx.read, ctx.table, a.task, taskEntry(ctx.index, a.task)));
  const dim = all.rows.length / all.names.length;
  const rows = { ...all, names: all.names.slice(a.from, a.to), ids: all.ids.slice(a.from, a.to), rows: all.rows.subarray(a.from * dim, a.to * dim) };
  const tests = a.tests.map(gridOf);
  const t0 = performance.now();
  const result = await solveArcTask(model.network, a.task, tests, rows, { augmentations: "all", maxSteps: m.options.max_steps, halt: m.options.halt === "checked" ? "adaptive" : m.options.halt, hCycles: m.options.h_cycles });
  const cpuMs = performance.now() - t0;
  const lines = result.votes.map((v, i): VoteLine => ({
    index: m.start + i, task: a.task, test: i % tests.length, augmentation: rows.names[Math.floor(i / tests.length)],
    prediction: toArray(v.grid), confidence: v.confidence, steps: result.steps[i],
  }));
  await env.JOB_DATA.put(resultKey(m.job, m.slice), lines.map((l) => JSON.stringify(l) + "\n").join(""), { httpMetadata: { contentType: "application/x-ndjson" } });
  return cpuMs;
}

function gridOf(rows: number[][]): Grid {
  return { rows: rows.length, cols: rows[0]?.length ?? 0, cells: Uint8Array.from(rows.flat()) };
}

/**
 * The job's vote: the tasks in file order, each from its solved slices' votes
 * in slice order (augmentations in index order). Writing is idempotent, so a
 * vote redone after a crash writes the same files.
 */
export async function voteArc(env: JobsEnv, meta: JobMeta, outcomes: SliceOutcome[]): Promise<void> {
  const tasksObject = await env.JOB_DATA.get(arcKey(meta.id, "tasks.json"));
  if (!tasksObject) throw new Error(`job ${meta.id}: tasks.json is missing from R2`);
  const tasks = parseTasksFile(JSON.parse(await tasksObject.text()), "the tasks file");
  const slicesOf = new Map<string, number[]>();
  for (const o of outcomes) {
    if (o.status !== "done") continue;
    if (!o.task) throw new Error(`job ${meta.id}: slice ${o.slice}'s outcome does not name its task`);
    const slices = slicesOf.get(o.task);
    if (slices) slices.push(o.slice);
    else slicesOf.set(o.task, [o.slice]);
  }
  const scorer = new Scorer(tasks);
  const perTask = [];
  for (const [i, { task, tests }] of tasks.entries()) {
    const book = new VoteBook();
    for (const slice of slicesOf.get(task) ?? []) {
      const object = await env.JOB_DATA.get(resultKey(meta.id, slice));
      if (!object) throw new Error(`job ${meta.id}: results of slice ${slice} are missing from R2`);
      for (const text of (await object.text()).split("\n")) {
        if (!text) continue;
        const v = JSON.parse(text) as VoteLine;
        const grid = gridOf(v.prediction);
        book.add(task, tests[v.test].input, { key: gridKey(grid), grid, confidence: v.confidence });
      }
    }
    const r = scorer.score(i, (j) => book.candidates(task, tests[j].input));
    perTask.push({ task, pass: r.pass, tests: r.tests.map((x) => ({ rank_of_correct: x.rank, candidates: x.candidates.length })) });
  }
  await env.JOB_DATA.put(arcKey(meta.id, "submission.json"), submissionJson(scorer.submission), { httpMetadata: { contentType: "application/json" } });
  const pass = scorer.pass;
  const report = {
    model: meta.model,
    options: meta.options,
    tasks: tasks.length,
    unknown_tasks: meta.arc!.unknown_tasks,
    sequences: meta.done,
    failed_sequences: meta.failed,
    result: pass ? JSON.parse(resultJson(pass)) : null,
    per_task: perTask,
  };
  await env.JOB_DATA.put(arcKey(meta.id, "report.json"), JSON.stringify(report, null, 2) + "\n", { httpMetadata: { contentType: "application/json" } });
}
