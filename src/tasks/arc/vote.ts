// Augmentation voting exactly as the official evaluators/arc.py: each
// augmented prediction is cropped, mapped back to the original frame and
// counted for its (task, test input); the distinct grids are ranked by
// (votes, mean sigmoid(q_halt)) descending, first-seen order on exact ties;
// pass@K is whether the right grid is among the first K, averaged over a
// task's test inputs and then over tasks; the submission holds the top
// `submission_K` grids, padded by repeating attempt_1. The CLI, the Worker
// and jobs all vote through this file.
import { type Augmentation, invertGrid } from "./augment.ts";
import { type Grid, cropPrediction, gridKey, toArray } from "./grid.ts";

export const PASS_KS = [1, 2, 5, 10, 100, 1000] as const;
export const SUBMISSION_K = 2;

export interface Candidate {
  grid: Grid;
  votes: number;
  confidence: number; // mean sigmoid(q_halt) over its votes
}

/** What the evaluator keeps of one augmented prediction: the grid in the original frame and its halting confidence. */
export interface Vote {
  key: string; // gridKey of grid
  grid: Grid;
  confidence: number; // sigmoid(q_halt), in float64 like the evaluator
}

export const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** One model output (tokens, q_halt) of an augmented test input, as a vote in the original frame. */
export function voteFromOutput(preds: ArrayLike<number>, qHalt: number, aug: Augmentation): Vote {
  const grid = invertGrid(cropPrediction(preds), aug);
  return { key: gridKey(grid), grid, confidence: sigmoid(qHalt) };
}

/** Distinct grids with their vote counts and mean confidence, best first. */
export function rankVotes(votes: readonly Vote[]): Candidate[] {
  const byKey = new Map<string, { grid: Grid; votes: number; sum: number }>();
  for (const v of votes) {
    const c = byKey.get(v.key);
    if (c) {
      c.votes += 1;
      c.sum += v.confidence;
    } else byKey.set(v.key, { grid: v.grid, votes: 1, sum: v.confidence });
  }
  const ranked = [...byKey.values()].map((c) => ({ grid: c.grid, votes: c.votes, confidence: c.sum / c.votes }));
  // Array.prototype.sort is stable, as Python's sorted(reverse=True) is.
  return ranked.sort((a, b) => b.votes - a.votes || b.confidence - a.confidence);
}

/** The 1-based rank of `truth` among the candidates, or null. */
export function rankOf(candidates: readonly Candidate[], truth: Grid): number | null {
  const key = gridKey(truth);
  const i = candidates.findIndex((c) => gridKey(c.grid) === key);
  return i < 0 ? null : i + 1;
}

/** {"attempt_1": grid, "attempt_2": grid, ...}: the top K grids, padded with attempt_1. */
export function attempts(candidates: readonly Candidate[], k = SUBMISSION_K): Record<string, number[][]> {
  const grids = candidates.slice(0, k).map((c) => c.grid);
  while (grids.length < k) grids.push(grids[0]);
  return Object.fromEntries(grids.map((g, i) => [`attempt_${i + 1}`, toArray(g)]));
}

/** The votes of every (task, test input), keyed by the test input's grid as the evaluator keys them. */
export class VoteBook {
  private readonly votes: Map<string, Vote[]>;

  /** A book of its own, starting from a copy of `from`'s votes. */
  constructor(from?: VoteBook) {
    this.votes = new Map([...(from?.votes ?? [])].map(([k, v]) => [k, [...v]]));
  }

  private static slot(task: string, input: Grid): string {
    return `${task}\n${gridKey(input)}`;
  }

  add(task: string, input: Grid, vote: Vote): void {
    const slot = VoteBook.slot(task, input);
    const list = this.votes.get(slot);
    if (list) list.push(vote);
    else this.votes.set(slot, [vote]);
  }

  candidates(task: string, input: Grid): Candidate[] {
    return rankVotes(this.votes.get(VoteBook.slot(task, input)) ?? []);
  }
}

export interface ArcTestInput {
  input: Grid;
  output?: Grid;
}

export interface TaskReport {
  task: string;
  tests: { candidates: Candidate[]; rank: number | null }[]; // rank of the right grid, when outputs are known
  pass: Record<number, number> | null; // pass@K for this task, when outputs are known
}

export interface Evaluation {
  submission: Record<string, Record<string, number[][]>[]>;
  pass: Record<number, number> | null; // mean over tasks, when every test input has an output
  tasks: TaskReport[];
}

/**
 * ARC.result(), one task at a time: score the tasks in file order, then read
 * `pass`. A test input with no votes gets no submission entry but still
 * counts in its task's denominator; a task with no votes at all still counts
 * in the total. Holding only the submission and the sums, it lets a caller
 * (an ARC job's vote) bring one task's candidates in at a time.
 */
export class Scorer {
  readonly submission: Evaluation["submission"] = {};
  private readonly tasks: readonly { task: string; tests: readonly ArcTestInput[] }[];
  private readonly passKs: readonly number[];
  private readonly scored: boolean;
  private readonly total: Record<number, number>;

  constructor(tasks: readonly { task: string; tests: readonly ArcTestInput[] }[], passKs: readonly number[] = PASS_KS) {
    this.tasks = tasks;
    this.passKs = passKs;
    this.scored = tasks.length > 0 && tasks.every((t) => t.tests.every((x) => x.output));
    this.total = Object.fromEntries(passKs.map((k) => [k, 0]));
  }

  /** Scores tasks[i] (call for every task, in file order) on its candidates per test input. */
  score(i: number, candidatesOf: (test: number) => Candidate[]): TaskReport {
    const { task, tests } = this.tasks[i];
    const entries: Record<string, number[][]>[] = (this.submission[task] = []);
    const perTask = Object.fromEntries(this.passKs.map((k) => [k, 0]));
    const results = tests.map((t, j) => {
      const candidates = candidatesOf(j);
      const rank = t.output && candidates.length ? rankOf(candidates, t.output) : null;
      if (candidates.length) {
        entries.push(attempts(candidates));
        for (const k of this.passKs) if (rank !== null && rank <= k) perTask[k] += 1;
      }
      return { candidates, rank };
    });
    for (const k of this.passKs) {
      perTask[k] /= tests.length;
      this.total[k] += perTask[k];
    }
    return { task, tests: results, pass: this.scored ? perTask : null };
  }

  /** The mean over tasks, when every test input has an output (after every task is scored). */
  get pass(): Record<number, number> | null {
    return this.scored ? Object.fromEntries(this.passKs.map((k) => [k, this.total[k] / this.tasks.length])) : null;
  }
}

/** Every task through a Scorer: the submission, pass@K and each task's report. */
export function evaluate(
  tasks: readonly { task: string; tests: readonly ArcTestInput[] }[],
  candidatesOf: (task: string, test: number) => Candidate[],
  passKs: readonly number[] = PASS_KS,
): Evaluation {
  const scorer = new Scorer(tasks, passKs);
  const reports = tasks.map((t, i) => scorer.score(i, (j) => candidatesOf(t.task, j)));
  return { submission: scorer.submission, pass: scorer.pass, tasks: reports };
}
