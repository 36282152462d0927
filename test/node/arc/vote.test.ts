// The vote against the official evaluator's own outputs on the shared ARC
// reference: the model's step-16 predictions and the constructed case.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAugmentation } from "../../../src/tasks/arc/augment.ts";
import { cropPrediction, parseGrid } from "../../../src/tasks/arc/grid.ts";
import { VoteBook, evaluate, voteFromOutput } from "../../../src/tasks/arc/vote.ts";
import { SHARED } from "../helpers.ts";

const ARC = join(SHARED, "golden/arc");
const read = (p: string) => JSON.parse(readFileSync(join(ARC, p), "utf8"));

interface TestPuzzles {
  [task: string]: { test: { input: number[][]; output: number[][] }[] };
}

function tasksOf(file: TestPuzzles) {
  return Object.entries(file).map(([task, p]) => ({
    task,
    tests: p.test.map((t, i) => ({ input: parseGrid(t.input, `${task}.test[${i}].input`), output: parseGrid(t.output, `${task}.test[${i}].output`) })),
  }));
}

/** Feeds rows (test-split order) to a VoteBook the way ARC.update_batch does. */
function vote(names: string[], inputs: number[][], preds: number[][], qHalt: number[]): VoteBook {
  const book = new VoteBook();
  names.forEach((name, i) => {
    const aug = parseAugmentation(name);
    // update_batch keys by the inverse-augmented crop of the dataset input
    const input = voteFromOutput(inputs[i], 0, aug).grid;
    book.add(aug.task, input, voteFromOutput(preds[i], qHalt[i], aug));
  });
  return book;
}

const byInput = (book: VoteBook, tasks: ReturnType<typeof tasksOf>) => (task: string, j: number) => book.candidates(task, tasks.find((t) => t.task === task)!.tests[j].input);
const passOf = (result: Record<string, number>) => Object.fromEntries(Object.entries(result).map(([k, v]) => [Number(k.replace("ARC/pass@", "")), v]));

describe("ARC voting as evaluators/arc.py", () => {
  const identifiers: string[] = read("data/identifiers.json");
  const tasks = tasksOf(read("data/test_puzzles.json"));

  it("reproduces the official submission and pass@K on the model's step-16 outputs", () => {
    const out = read("model/model_outputs.json");
    const step16 = out.steps.find((s: { step: number }) => s.step === 16);
    const names = out.puzzle_identifiers.map((id: number) => identifiers[id]);
    const result = evaluate(tasks, byInput(vote(names, out.inputs, step16.preds, step16.q_halt_logits), tasks));
    expect(result.submission).toEqual(read("eval_model/submission.json"));
    expect(result.pass).toEqual(passOf(read("eval_model/result.json")));
  });

  it("reproduces the constructed voting case: ranking, ties, pass@K and submission", () => {
    const c = read("eval_constructed/constructed_preds.json");
    const names = c.puzzle_identifiers.map((id: number) => identifiers[id]);
    const result = evaluate(tasks, byInput(vote(names, c.inputs, c.preds, c.q_halt_logits), tasks));
    expect(result.submission).toEqual(read("eval_constructed/submission.json"));
    expect(result.pass).toEqual(passOf(read("eval_constructed/result.json")));
    for (const [slot, s] of Object.entries(c.scenarios) as [string, { expected_rank_of_correct: number | null; vote_table: { count: number; mean_sigmoid: number }[] }][]) {
      const [task, index] = slot.split("#");
      const t = result.tasks.find((r) => r.task === task)!.tests[Number(index)];
      expect(t.rank, slot).toBe(s.expected_rank_of_correct ?? null);
      expect(t.candidates.map((x) => x.votes), slot).toEqual(s.vote_table.map((v) => v.count));
      t.candidates.forEach((x, i) => expect(x.confidence).toBeCloseTo(s.vote_table[i].mean_sigmoid, 12));
    }
  });

  it("crops a 0x0 grid when the first token is not a colour", () => {
    expect(cropPrediction(new Array(900).fill(1))).toEqual({ rows: 0, cols: 0, cells: new Uint8Array(0) });
  });
});
