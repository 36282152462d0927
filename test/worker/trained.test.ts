// The shipped trained models served by the Worker from its local R2 bucket:
// held-out puzzles generated here (seeds never used for training) must be
// solved, with the task checks saying so.
import { exports } from "cloudflare:workers";
import { beforeAll, describe, expect, test } from "vitest";
import sudokuWeights from "../../weights/sudoku/model.safetensors";
import sudokuManifest from "../../weights/sudoku/model.json";
import sudokuInt8Weights from "../../weights/sudoku-int8/model.safetensors";
import sudokuInt8Manifest from "../../weights/sudoku-int8/model.json";
import mazeWeights from "../../weights/maze/model.safetensors";
import mazeManifest from "../../weights/maze/model.json";
import { Random } from "../../src/generate/random.ts";
import { generateMaze } from "../../src/generate/maze.ts";
import { generateSudoku, sudokuString } from "../../src/generate/sudoku.ts";
import { putPack } from "./packs.ts";

interface Solved {
  results: { solution: unknown; steps: number; check: { valid: boolean } }[];
}

async function solve(model: string, body: unknown): Promise<Solved> {
  const res = await exports.default.fetch(
    new Request(`http://trm.test/v1/models/${model}/solve`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
  );
  expect(res.status).toBe(200);
  return (await res.json()) as Solved;
}

// Floors well below the accuracies measured on 2,000 / 1,000 held-out puzzles (weights/*/README.md),
// so that a regression fails but sampling noise on 16 puzzles does not.
const SUDOKU_WORKER_FLOOR = 15;
const MAZE_WORKER_FLOOR = 10;

const valid = (r: Solved) => r.results.filter((x) => x.check.valid).length;

beforeAll(async () => {
  await putPack("sudoku", sudokuManifest, sudokuWeights);
  await putPack("sudoku-int8", sudokuInt8Manifest, sudokuInt8Weights);
  await putPack("maze", mazeManifest, mazeWeights);
});

describe("trained models through the Worker", () => {
  test("sudoku: the npm start example (Project Euler 96, grid 01) is solved", async () => {
    const r = await solve("sudoku", { puzzles: ["003020600900305001001806400008102900700000008006708200002609500800203009005010300"] });
    expect(r.results[0].check.valid).toBe(true);
  });

  test("sudoku: held-out 36-clue puzzles; checked halting solves as many in fewer steps", async () => {
    const random = new Random(777_101);
    const puzzles = Array.from({ length: 16 }, () => sudokuString(generateSudoku(random, 36).puzzle));
    const r = await solve("sudoku", { puzzles });
    expect(r.results).toHaveLength(16);
    expect(valid(r)).toBeGreaterThanOrEqual(SUDOKU_WORKER_FLOOR);
    // "checked" stops a puzzle at its first valid answer (these puzzles have one answer each).
    const checked = await solve("sudoku", { puzzles, halt: "checked" });
    expect(valid(checked)).toBeGreaterThanOrEqual(valid(r));
    expect(checked.results.reduce((sum, x) => sum + x.steps, 0) / 16).toBeLessThan(16);
  });

  test("sudoku-int8 (the same checkpoint, int8 linear layers): the same held-out puzzles", async () => {
    const info = await exports.default.fetch(new Request("http://trm.test/v1/models/sudoku-int8"));
    expect(((await info.json()) as { dtype: string }).dtype).toBe("int8");
    const random = new Random(777_101);
    const puzzles = Array.from({ length: 16 }, () => sudokuString(generateSudoku(random, 36).puzzle));
    const r = await solve("sudoku-int8", { puzzles });
    expect(valid(r)).toBeGreaterThanOrEqual(SUDOKU_WORKER_FLOOR);
  });

  test("maze: held-out mazes, with adaptive halting", async () => {
    const side = Math.sqrt(mazeManifest.seq_len);
    const random = new Random(777_102);
    const puzzles = Array.from({ length: 16 }, () => generateMaze(random, side, 8, 2).maze);
    const r = await solve("maze", { puzzles, halt: "adaptive" });
    expect(r.results).toHaveLength(16);
    expect(valid(r)).toBeGreaterThanOrEqual(MAZE_WORKER_FLOOR);
    expect(r.results.every((x) => x.steps >= 1 && x.steps <= 16)).toBe(true);
  });
});
