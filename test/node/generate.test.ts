// Puzzle generators: unique answers, exact clue counts, reproducible seeds,
// the official encodings; and `trm generate` end to end.
import { describe, expect, test } from "vitest";
import { Random } from "../../src/generate/random.ts";
import { countSolutions, generateSudoku, guessesNeeded, solveUnique, sudokuString } from "../../src/generate/sudoku.ts";
import { generateMaze } from "../../src/generate/maze.ts";
import { checkSudoku } from "../../src/tasks/sudoku.ts";
import { MAZE_CHARSET, checkMaze } from "../../src/tasks/maze.ts";
import { trm } from "./helpers.ts";

// Project Euler 96, grid 01: solved by naked and hidden singles alone.
const EASY = "003020600900305001001806400008102900700000008006708200002609500800203009005010300";
// Norvig's "hardest" (top95 line 1): needs search.
const HARD = "4.....8.5.3..........7......2.....6.....8.4......1.......6.3.7.5..2.....1.4......";
const grid = (s: string) => Int8Array.from(s, (c) => (c === "." ? 0 : Number(c)));

/** Independent shortest-path counter for the maze test: plain BFS layer by layer. */
function shortestPathCount(maze: string, side: number): number {
  const start = maze.indexOf("S");
  const goal = maze.indexOf("G");
  const ways = new Map<number, number>([[start, 1]]);
  let frontier = [start];
  const seen = new Set([start]);
  while (frontier.length && !seen.has(goal)) {
    const next = new Map<number, number>();
    for (const i of frontier) {
      const [r, c] = [Math.floor(i / side), i % side];
      for (const [nr, nc] of [[r - 1, c], [r + 1, c], [r, c - 1], [r, c + 1]]) {
        const j = nr * side + nc;
        if (nr < 0 || nc < 0 || nr >= side || nc >= side || maze[j] === "#" || seen.has(j)) continue;
        next.set(j, (next.get(j) ?? 0) + ways.get(i)!);
      }
    }
    for (const [j, w] of next) {
      seen.add(j);
      ways.set(j, w);
    }
    frontier = [...next.keys()];
  }
  return ways.get(goal) ?? 0;
}

describe("sudoku generator", () => {
  test("solver counts solutions and rates difficulty", () => {
    expect(countSolutions(grid(EASY))).toBe(1);
    expect(countSolutions(new Int8Array(81))).toBe(2); // an empty grid has many: the count stops at the limit
    expect(guessesNeeded(grid(EASY))).toBe(0);
    expect(guessesNeeded(grid(HARD))).toBeGreaterThan(10);
    const solved = solveUnique(grid(HARD))!;
    expect(checkSudoku(grid(HARD), solved).valid).toBe(true);
  });

  test.each([46, 36, 30, 26])("%i clues, unique solution, solution consistent", (clues) => {
    const random = new Random(clues);
    for (let i = 0; i < 10; i++) {
      const { puzzle, solution, guesses } = generateSudoku(random, clues);
      expect(puzzle.filter((v) => v !== 0).length).toBe(clues);
      expect(countSolutions(Int8Array.from(puzzle))).toBe(1);
      expect(checkSudoku(puzzle, solution).valid).toBe(true);
      expect(guesses).toBe(guessesNeeded(puzzle));
    }
  });

  test("same seed, same puzzles; different seed, different puzzles", () => {
    const a = sudokuString(generateSudoku(new Random(5), 36).puzzle);
    expect(sudokuString(generateSudoku(new Random(5), 36).puzzle)).toBe(a);
    expect(sudokuString(generateSudoku(new Random(6), 36).puzzle)).not.toBe(a);
    expect(() => generateSudoku(new Random(1), 16)).toThrow(/17\.\.81/);
  });
});

describe("maze generator", () => {
  test.each([[11, 10, 4], [15, 20, 0], [7, 4, 2]])("side %i, min path %i, %i loops: a unique shortest path, drawn", (side, minPath, loops) => {
    const random = new Random(side * 100 + loops);
    for (let i = 0; i < 20; i++) {
      const m = generateMaze(random, side, minPath, loops);
      expect(m.maze).toHaveLength(side * side);
      expect([...m.maze].every((c) => "# SG".includes(c))).toBe(true);
      expect([...m.solution].every((c) => MAZE_CHARSET.includes(c))).toBe(true);
      expect(m.pathLength).toBeGreaterThanOrEqual(minPath);
      expect([...m.solution].filter((c) => c === "o")).toHaveLength(m.pathLength - 1);
      expect(shortestPathCount(m.maze, side)).toBe(1);
      expect(checkMaze(m.maze, m.solution, side)).toMatchObject({ valid: true, connected: true, shortest: true });
      // The border is wall all round.
      for (let k = 0; k < side; k++) expect([m.maze[k], m.maze[k * side], m.maze[(side - 1) * side + k], m.maze[k * side + side - 1]]).toEqual(["#", "#", "#", "#"]);
    }
  });

  test("rejects even sides and impossible path lengths", () => {
    expect(() => generateMaze(new Random(1), 10, 5, 0)).toThrow(/odd/);
    expect(() => generateMaze(new Random(1), 5, 100, 0)).toThrow(/no 5x5 maze/);
  });
});

describe("trm generate", () => {
  test("sudoku CSV in the official source layout", async () => {
    const r = await trm(["generate", "sudoku", "--count", "3", "--clues", "30-32", "--seed", "9"]);
    expect(r.code, r.stderr).toBe(0);
    const [header, ...rows] = r.stdout.trim().split("\n");
    expect(header).toBe("source,question,answer,rating");
    expect(rows).toHaveLength(3);
    for (const row of rows) {
      const [source, q, a, rating] = row.split(",");
      expect(source).toBe("trm-generate-sudoku-seed9");
      const clues = [...q].filter((c) => c !== ".").length;
      expect(clues).toBeGreaterThanOrEqual(30);
      expect(clues).toBeLessThanOrEqual(32);
      expect(checkSudoku(grid(q), grid(a)).valid).toBe(true);
      expect(Number(rating)).toBe(guessesNeeded(grid(q)));
    }
    expect(r.stderr).toMatch(/3\/3 sudoku puzzles/);
  });

  test("maze CSV, and usage errors", async () => {
    const r = await trm(["generate", "maze", "--count", "2", "--seed", "3"]); // the default side is the shipped model's 9
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split("\n")[1].split(",")[1]).toHaveLength(81);
    for (const [args, message] of [
      [["generate", "chess", "--count", "1"], /sudoku or maze/],
      [["generate", "sudoku"], /--count/],
      [["generate", "sudoku", "--count", "1", "--clues", "10"], /--clues/],
      [["generate", "maze", "--count", "1", "--side", "8"], /odd/],
    ] as const) {
      const bad = await trm([...args]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(message);
    }
  });
});
