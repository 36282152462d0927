// One ARC task through the recursion: every test input under each chosen
// augmentation (the task's rows in index order, the unaugmented one first)
// is one sequence; slices of sequences small enough for one network batch
// run all their supervision steps, and their final predictions vote. After
// every step the caller sees the vote so far (for SSE). Test split order is
// augmentation-major, test-minor, as the official builder writes it, so ties
// between equally voted grids resolve as in the official evaluator.
import { TrmError } from "../../errors.ts";
import type { Puzzle } from "../../engine/inputs.ts";
import { cancelled } from "../../solver.ts";
import type { TaskRows } from "../../engine/puzzle-table.ts";
import { type HaltMode, type Network, recurse } from "../../engine/recursion.ts";
import { type Augmentation, augmentGrid, parseAugmentation } from "./augment.ts";
import { type Grid, encodeGrid } from "./grid.ts";
import { type Candidate, type Vote, VoteBook, voteFromOutput } from "./vote.ts";

export interface ArcOptions {
  augmentations: number | "all"; // the first N rows of the task in index order, or all of them
  maxSteps: number;
  halt: HaltMode;
  hCycles?: number; // fewer high-level cycles than trained (cheaper); default as trained
  budget?: number; // supervision steps summed over the running sequences (budget_steps); past it the vote so far, truncated
  signal?: AbortSignal; // the client went away: stop within one supervision step (a cancelled error)
  turn?: () => Promise<void>; // awaited before each step (the Worker's scheduler); default one event-loop turn
}

export interface ArcProgress {
  slice: number; // slices done or running, 1-based
  slices: number;
  step: number; // supervision step of the running slice
  candidates: Candidate[][]; // per test input, best first: finished slices plus the running slice's current answers
}

export interface ArcResult {
  task: string;
  augmentations: string[]; // identifiers of the rows used
  candidates: Candidate[][]; // per test input, best first
  steps: number[]; // supervision steps of each sequence (augmentation-major)
  votes: Vote[]; // each sequence's vote, augmentation-major, in the order the book took them (jobs combine slices from these)
  sequences: number;
  truncated: boolean; // the budget ran out: the vote of the sequences computed so far (the last slice at its last step)
}

/** Which of the task's rows a request uses. */
export function chooseRows(rows: TaskRows, augmentations: number | "all"): number {
  if (augmentations === "all") return rows.names.length;
  return Math.min(augmentations, rows.names.length);
}

/** Parses the `augmentations` option: a positive integer or "all". */
export function augmentationsOption(value: unknown, where = "augmentations", status = 422): number | "all" {
  if (value === undefined || value === "all") return "all";
  if (typeof value === "number" && Number.isInteger(value) && value >= 1) return value;
  if (typeof value === "string" && /^[1-9][0-9]*$/.test(value)) return Number(value);
  throw new TrmError("bad_augmentations", `${where} must be a positive integer (the first N of the task's augmentations, the original first) or "all", got ${JSON.stringify(value)}`, status);
}

/** Parses `h_cycles`: 1 up to the trained H_cycles. */
export function hCyclesOption(value: unknown, trained: number, where = "h_cycles", status = 422): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= trained) return value;
  if (typeof value === "string" && /^[0-9]+$/.test(value) && Number(value) >= 1 && Number(value) <= trained) return Number(value);
  throw new TrmError("bad_h_cycles", `${where} must be an integer from 1 to ${trained} (the model's H_cycles), got ${JSON.stringify(value)}`, status);
}

const nextTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/**
 * Solves one task: `tests` are its test inputs in the original frame,
 * `rows` the task's verified rows. `onProgress` may await (backpressure).
 */
export async function solveArcTask(
  net: Network<unknown>, task: string, tests: Grid[], rows: TaskRows, opts: ArcOptions,
  onProgress?: (p: ArcProgress) => void | Promise<void>,
): Promise<ArcResult> {
  const used = chooseRows(rows, opts.augmentations);
  const dim = rows.rows.length / rows.names.length;
  const augs: Augmentation[] = rows.names.slice(0, used).map(parseAugmentation);
  const work: { test: number; aug: number; puzzle: Puzzle }[] = [];
  augs.forEach((aug, a) => {
    if (aug.task !== task) throw new TrmError("bad_pack", `row ${rows.ids[a]} (${rows.names[a]}) is not an augmentation of task ${task}`, 503);
    tests.forEach((grid, test) => {
      const embedding = rows.rows.subarray(a * dim, (a + 1) * dim);
      work.push({ test, aug: a, puzzle: { tokens: encodeGrid(augmentGrid(grid, aug)), puzzleId: rows.ids[a], embedding } });
    });
  });
  const book = new VoteBook();
  const steps: number[] = [];
  const votes: Vote[] = [];
  const sliceSize = Math.max(1, net.maxBatch);
  const slices = Math.ceil(work.length / sliceSize);
  if (opts.budget !== undefined && opts.budget < Math.min(sliceSize, work.length)) {
    throw new TrmError("bad_budget", `budget_steps ${opts.budget} is less than one step of this request (${Math.min(sliceSize, work.length)} sequences)`, 422);
  }
  const voteOf = (w: (typeof work)[number], preds: Int32Array, qHalt: number): Vote => voteFromOutput(preds, qHalt, augs[w.aug]);
  let spent = 0;
  let truncated = false;
  for (let s = 0; s < slices && !truncated; s++) {
    const slice = work.slice(s * sliceSize, (s + 1) * sliceSize);
    let last: { preds: Int32Array; qHalt: number; steps: number; halted: boolean }[] = [];
    const reports = recurse(net, slice.map((w) => w.puzzle), opts.maxSteps, opts.halt, { hCycles: opts.hCycles });
    try {
      for (;;) {
        const active = last.length ? last.filter((q) => !q.halted).length : slice.length;
        if (active > 0 && opts.budget !== undefined && spent + active > opts.budget) {
          truncated = true;
          break;
        }
        await (opts.turn ?? nextTurn)();
        if (opts.signal?.aborted) throw cancelled();
        const next = reports.next();
        if (next.done) break;
        last = next.value.sequences;
        spent += active;
        if (onProgress) {
          const running = new VoteBook(book);
          slice.forEach((w, i) => running.add(task, tests[w.test], voteOf(w, last[i].preds, last[i].qHalt)));
          await onProgress({ slice: s + 1, slices, step: next.value.step, candidates: tests.map((g) => running.candidates(task, g)) });
        }
      }
    } finally {
      reports.return(undefined);
    }
    slice.forEach((w, i) => {
      if (!last.length) return; // truncated before this slice's first step
      const vote = voteOf(w, last[i].preds, last[i].qHalt);
      book.add(task, tests[w.test], vote);
      votes.push(vote);
      steps.push(last[i].steps);
    });
  }
  return {
    task,
    augmentations: rows.names.slice(0, used),
    candidates: tests.map((g) => book.candidates(task, g)),
    steps,
    votes,
    sequences: work.length,
    truncated,
  };
}
