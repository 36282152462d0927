// The shipped trained models, measured through our engine with `trm eval` on
// puzzles generated here with seeds never used for training.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { Random } from "../../src/generate/random.ts";
import { generateMaze } from "../../src/generate/maze.ts";
import { generateSudoku, sudokuString } from "../../src/generate/sudoku.ts";
import { REPO, SHARED, trm } from "./helpers.ts";

const work = mkdtempSync(join(tmpdir(), "trm-eval-"));
const SUDOKU = join(REPO, "weights/sudoku");
const SUDOKU_INT8 = join(REPO, "weights/sudoku-int8");
const MAZE = join(REPO, "weights/maze");
// Floors below the accuracies measured on the full held-out sets (weights/*/README.md), with room for
// sampling noise on 48 puzzles.
const SUDOKU_FLOOR = 0.9;
const MAZE_FLOOR = 0.75;
const manifest = (dir: string) => JSON.parse(readFileSync(join(dir, "model.json"), "utf8"));

function csv(name: string, rows: [string, string][]): string {
  const path = join(work, name);
  writeFileSync(path, "source,question,answer,rating\n" + rows.map(([q, a]) => `test,${q},${a},0`).join("\n") + "\n");
  return path;
}

interface Report {
  puzzles: number;
  steps: number;
  linear: string;
  exact: number;
  cell_accuracy_blanks: number;
  per_step: number[];
  adaptive: { exact: number; avg_steps: number };
  checked: { exact: number; avg_steps: number };
  scored_by: string;
}

async function evaluate(args: string[]): Promise<Report> {
  const json = join(work, `report-${Math.random().toString(36).slice(2)}.json`);
  const r = await trm(["eval", ...args, "--json", json]);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).toMatch(/puzzles/); // progress
  expect(r.stdout).toMatch(/exact accuracy/);
  return JSON.parse(readFileSync(json, "utf8"));
}

describe("shipped sudoku model", () => {
  const random = new Random(777_001);
  const puzzles = Array.from({ length: 48 }, () => generateSudoku(random, 36));
  const file = csv("sudoku-36.csv", puzzles.map((p) => [sudokuString(p.puzzle), sudokuString(p.solution)]));

  test("solves held-out 36-clue puzzles, better with more supervision steps", async () => {
    const r = await evaluate(["--model", SUDOKU, "--task", "sudoku", "--input", file]);
    expect(r.puzzles).toBe(48);
    expect(r.steps).toBe(16);
    expect(r.per_step).toHaveLength(16);
    expect(r.exact).toBeGreaterThanOrEqual(SUDOKU_FLOOR);
    expect(r.cell_accuracy_blanks).toBeGreaterThan(0.95);
    expect(r.per_step[15]).toBeGreaterThan(r.per_step[0]);
    expect(r.adaptive.avg_steps).toBeGreaterThanOrEqual(1);
    expect(r.adaptive.avg_steps).toBeLessThanOrEqual(16);
    // checked halting stops at the first valid answer: on unique-answer puzzles never worse than fixed, and cheaper
    expect(r.checked.exact).toBeGreaterThanOrEqual(r.exact);
    expect(r.checked.avg_steps).toBeLessThan(16);
  });

  test("with int8 linear layers (--linear int8) it clears the same floor", async () => {
    const r = await evaluate(["--model", SUDOKU, "--task", "sudoku", "--input", file, "--linear", "int8"]);
    expect(r.linear).toBe("int8");
    expect(r.exact).toBeGreaterThanOrEqual(SUDOKU_FLOOR);
  });

  test("plain puzzle files are scored by validity (Project Euler 96 set)", async () => {
    const r = await evaluate(["--model", SUDOKU, "--task", "sudoku", "--input", join(SHARED, "benchmarks/sudoku/easy50.txt"), "--limit", "10", "--steps", "16"]);
    expect(r.scored_by).toBe("validity");
    expect(r.puzzles).toBe(10);
    expect(r.exact).toBeGreaterThan(0);
  });

  test("the card's model is the one in the pack; sudoku-int8 is the same checkpoint in int8", () => {
    expect(manifest(SUDOKU).task).toBe("sudoku");
    expect(readFileSync(join(SUDOKU, "README.md"), "utf8")).toContain(manifest(SUDOKU).weights.sha256);
    const int8 = manifest(SUDOKU_INT8);
    expect(int8.weights.dtype).toBe("int8");
    expect(int8.provenance.source_sha256).toBe(manifest(SUDOKU).provenance.source_sha256);
    expect(readFileSync(join(SUDOKU_INT8, "README.md"), "utf8")).toContain(int8.weights.sha256);
  });
});

describe("shipped maze model", () => {
  const side = manifest(MAZE).seq_len ** 0.5;
  const random = new Random(777_002);
  const mazes = Array.from({ length: 48 }, () => generateMaze(random, side, 8, 2));
  const file = csv("maze.csv", mazes.map((m) => [m.maze, m.solution]));

  test("finds shortest paths in held-out mazes", async () => {
    const r = await evaluate(["--model", MAZE, "--task", "maze", "--input", file]);
    expect(r.puzzles).toBe(48);
    expect(r.exact).toBeGreaterThanOrEqual(MAZE_FLOOR);
    expect(r.cell_accuracy_blanks).toBeGreaterThan(0.9);
  });

  test("with int8 linear layers (--linear int8) it clears the same floor", async () => {
    const r = await evaluate(["--model", MAZE, "--task", "maze", "--input", file, "--linear", "int8"]);
    expect(r.linear).toBe("int8");
    expect(r.exact).toBeGreaterThanOrEqual(MAZE_FLOOR);
  });
});

describe("trm eval errors", () => {
  test("wrong task, missing file, empty file, bad arguments", async () => {
    const empty = join(work, "empty.txt");
    writeFileSync(empty, "\n");
    const one = join(work, "one.txt");
    writeFileSync(one, "003020600900305001001806400008102900700000008006708200002609500800203009005010300\n");
    for (const [args, code, message] of [
      [["--model", SUDOKU, "--task", "maze", "--input", one], 1, /sudoku model/],
      [["--model", SUDOKU, "--task", "sudoku", "--input", join(work, "nope.csv")], 1, /cannot read input/],
      [["--model", SUDOKU, "--task", "sudoku", "--input", empty], 1, /no puzzles/],
      [["--model", SUDOKU, "--task", "chess", "--input", empty], 2, /--task/],
      [["--model", SUDOKU, "--task", "sudoku", "--input", one, "--linear", "int4"], 2, /--linear must be f32 or int8, got "int4"/],
      [["--task", "sudoku", "--input", empty], 2, /--model/],
    ] as const) {
      const r = await trm(["eval", ...args]);
      expect(r.code, r.stderr).toBe(code);
      expect(r.stderr).toMatch(message);
    }
    const bad = join(work, "bad.txt");
    writeFileSync(bad, "12345\n");
    const r = await trm(["eval", "--model", SUDOKU, "--task", "sudoku", "--input", bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/puzzle 1 of .*81 cells/);
  });
});
