// ARC task files and the evaluator's output files, shared by `trm arc` and
// ARC jobs: test_puzzles.json (or an ARC challenges file plus solutions) in,
// submission.json and the pass@K result dict out, spaced as the official
// evaluator's json.dump writes them.
import { TrmError } from "../../errors.ts";
import { parseGrid } from "./grid.ts";
import { type ArcTestInput, PASS_KS } from "./vote.ts";

export interface ArcTask {
  task: string;
  tests: ArcTestInput[];
}

/** test_puzzles.json of the official builder, or an ARC challenges file (+ its solutions file). */
export function parseTasksFile(json: unknown, path: string, solutions?: unknown): ArcTask[] {
  if (!json || typeof json !== "object" || Array.isArray(json)) throw new TrmError("bad_input", `${path} must map task ids to {"train": [...], "test": [{"input": grid, "output"?: grid}]}`);
  const sols = solutions as Record<string, unknown[]> | undefined;
  const tasks = Object.entries(json as Record<string, { test?: unknown }>).map(([task, p]) => {
    if (!p || !Array.isArray(p.test) || p.test.length === 0) throw new TrmError("bad_input", `${path}: task ${task} has no "test" list`);
    const tests = (p.test as { input?: unknown; output?: unknown }[]).map((t, i): ArcTestInput => {
      const output = t?.output ?? sols?.[task]?.[i];
      return {
        input: parseGrid(t?.input, `${task}.test[${i}].input`),
        ...(output !== undefined ? { output: parseGrid(output, `${task}.test[${i}].output`) } : {}),
      };
    });
    return { task, tests };
  });
  if (tasks.length === 0) throw new TrmError("bad_input", `${path} holds no tasks`);
  return tasks;
}

export interface ArcPuzzle {
  train: { input: number[][]; output: number[][] }[];
  test: { input: number[][]; output?: number[][] }[];
}

/**
 * A pack's puzzles file (test_puzzles.json of the official builder, shipped
 * for GET /v1/models/:name/tasks/:task): every task's train pairs and test
 * inputs checked as ARC grids, with only those fields kept. `trm convert
 * --puzzles` and the Worker both check it here.
 */
export function parsePuzzlesFile(json: unknown, path: string): Map<string, ArcPuzzle> {
  if (!json || typeof json !== "object" || Array.isArray(json)) throw new TrmError("bad_input", `${path} must map task ids to {"train": [...], "test": [...]}`);
  const pair = (x: unknown, where: string, needsOutput: boolean) => {
    const { input, output } = (x ?? {}) as { input?: unknown; output?: unknown };
    parseGrid(input, `${where}.input`);
    if (output !== undefined || needsOutput) parseGrid(output, `${where}.output`);
    return (output === undefined ? { input } : { input, output }) as { input: number[][]; output: number[][] };
  };
  return new Map(
    Object.entries(json).map(([task, p]: [string, { train?: unknown; test?: unknown }]) => {
      if (!p || typeof p !== "object" || !Array.isArray(p.train) || !Array.isArray(p.test) || p.test.length === 0) throw new TrmError("bad_input", `${path}: task ${task.slice(0, 64)} is not {"train": [...], "test": [...]}`);
      return [task, { train: p.train.map((x, i) => pair(x, `${task}.train[${i}]`, true)), test: p.test.map((x, i) => pair(x, `${task}.test[${i}]`, false)) }];
    }),
  );
}

/** Floats as Python's json.dump prints them (1.0, 0.25, 5e-05), so reports compare with the official result.json. */
function pythonFloat(x: number): string {
  if (Number.isInteger(x)) return x.toFixed(1);
  if (Math.abs(x) < 1e-4) return x.toExponential().replace(/e([+-])(\d)$/, "e$10$2");
  return String(x);
}

/** The official result dict: {"ARC/pass@1": ..., ...}, in json.dump's spacing. */
export function resultJson(pass: Record<number, number>): string {
  return `{${PASS_KS.map((k) => `"ARC/pass@${k}": ${pythonFloat(pass[k])}`).join(", ")}}`;
}

/** json.dump's spacing for the submission (", " and ": "), byte for byte like the evaluator's file. */
export function submissionJson(submission: Record<string, Record<string, number[][]>[]>): string {
  const grid = (g: number[][]) => `[${g.map((r) => `[${r.join(", ")}]`).join(", ")}]`;
  const entry = (e: Record<string, number[][]>) => `{${Object.entries(e).map(([k, g]) => `"${k}": ${grid(g)}`).join(", ")}}`;
  return `{${Object.entries(submission).map(([task, es]) => `${JSON.stringify(task)}: [${es.map(entry).join(", ")}]`).join(", ")}}`;
}

