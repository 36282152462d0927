// Sudoku generation: random complete grids, clue removal that keeps the
// solution unique, and a difficulty rating. Grids are 81 numbers, 0 = blank.
import { Random } from "./random.ts";

const ALL = 0x3fe; // bits 1..9

// For each cell, the 20 cells sharing its row, column or box.
const PEERS: Int8Array[] = Array.from({ length: 81 }, (_, i) => {
  const r = Math.floor(i / 9);
  const c = i % 9;
  const peers = new Set<number>();
  for (let k = 0; k < 9; k++) {
    peers.add(r * 9 + k);
    peers.add(k * 9 + c);
    peers.add((Math.floor(r / 3) * 3 + Math.floor(k / 3)) * 9 + Math.floor(c / 3) * 3 + (k % 3));
  }
  peers.delete(i);
  return Int8Array.from(peers);
});

// The 27 units (rows, columns, boxes) as cell lists.
const UNITS: Int8Array[] = Array.from({ length: 27 }, (_, u) => {
  const k = u % 9;
  return Int8Array.from({ length: 9 }, (_, j) =>
    u < 9 ? k * 9 + j : u < 18 ? j * 9 + k : (Math.floor(k / 3) * 3 + Math.floor(j / 3)) * 9 + (k % 3) * 3 + (j % 3),
  );
});

function bitCount(x: number): number {
  let n = 0;
  for (; x; x &= x - 1) n++;
  return n;
}

function candidates(grid: Int8Array, cell: number): number {
  let used = 0;
  for (const p of PEERS[cell]) used |= 1 << grid[p];
  return ALL & ~used;
}

/** Blank cell with the fewest candidates (-1 when the grid is full), and its candidate mask. */
function mostConstrained(grid: Int8Array): { cell: number; mask: number } {
  let best = -1;
  let bestMask = 0;
  let bestCount = 10;
  for (let i = 0; i < 81; i++) {
    if (grid[i] !== 0) continue;
    const mask = candidates(grid, i);
    const n = bitCount(mask);
    if (n < bestCount) {
      best = i;
      bestMask = mask;
      bestCount = n;
      if (n <= 1) break;
    }
  }
  return { cell: best, mask: bestMask };
}

/** Number of solutions, counting no further than `limit`. The grid is restored. */
export function countSolutions(grid: Int8Array, limit = 2): number {
  const { cell, mask } = mostConstrained(grid);
  if (cell < 0) return 1;
  let found = 0;
  for (let d = 1; d <= 9 && found < limit; d++) {
    if (!(mask & (1 << d))) continue;
    grid[cell] = d;
    found += countSolutions(grid, limit - found);
  }
  grid[cell] = 0;
  return found;
}

/** The unique solution, or null when there are none or several. */
export function solveUnique(puzzle: ArrayLike<number>): Int8Array | null {
  const grid = Int8Array.from(puzzle);
  if (countSolutions(grid, 2) !== 1) return null;
  fill(grid, null);
  return grid;
}

/** Fills the blanks with the first solution found (random digit order when `random` is given). */
function fill(grid: Int8Array, random: Random | null): boolean {
  const { cell, mask } = mostConstrained(grid);
  if (cell < 0) return true;
  const digits = [1, 2, 3, 4, 5, 6, 7, 8, 9].filter((d) => mask & (1 << d));
  if (random) random.shuffle(digits);
  for (const d of digits) {
    grid[cell] = d;
    if (fill(grid, random)) return true;
  }
  grid[cell] = 0;
  return false;
}

/**
 * Naked and hidden singles until nothing changes. Returns false on a
 * contradiction. This is the "plain constraint propagation" of the rating.
 */
function propagate(grid: Int8Array): boolean {
  for (let changed = true; changed; ) {
    changed = false;
    for (let i = 0; i < 81; i++) {
      if (grid[i] !== 0) continue;
      const mask = candidates(grid, i);
      if (mask === 0) return false;
      if ((mask & (mask - 1)) === 0) {
        grid[i] = 31 - Math.clz32(mask);
        changed = true;
      }
    }
    for (const unit of UNITS) {
      for (let d = 1; d <= 9; d++) {
        let place = -1;
        let count = 0;
        for (const i of unit) {
          if (grid[i] === d) {
            count = -1;
            break;
          }
          if (grid[i] === 0 && candidates(grid, i) & (1 << d)) {
            place = i;
            count++;
          }
        }
        if (count === 0) return false;
        if (count === 1) {
          grid[place] = d;
          changed = true;
        }
      }
    }
  }
  return true;
}

/**
 * Guesses a propagate-then-branch solver makes before it finds the solution
 * (0: singles alone solve it). Branches on the most constrained cell, digits
 * in increasing order.
 */
export function guessesNeeded(puzzle: ArrayLike<number>): number {
  let guesses = 0;
  const search = (grid: Int8Array): boolean => {
    if (!propagate(grid)) return false;
    const { cell, mask } = mostConstrained(grid);
    if (cell < 0) return true;
    for (let d = 1; d <= 9; d++) {
      if (!(mask & (1 << d))) continue;
      guesses++;
      const next = Int8Array.from(grid);
      next[cell] = d;
      if (search(next)) return true;
    }
    return false;
  };
  search(Int8Array.from(puzzle));
  return guesses;
}

export function randomSolvedGrid(random: Random): Int8Array {
  const grid = new Int8Array(81);
  fill(grid, random);
  return grid;
}

export interface GeneratedSudoku {
  puzzle: Int8Array; // (81) 0 = blank
  solution: Int8Array; // (81)
  guesses: number;
}

/**
 * A puzzle with exactly `clues` givens and a unique solution: blanks are
 * removed from a random complete grid in random order, skipping any removal
 * that would allow a second solution; a grid that gets stuck above `clues`
 * is thrown away.
 */
export function generateSudoku(random: Random, clues: number): GeneratedSudoku {
  if (!Number.isInteger(clues) || clues < 17 || clues > 81) throw new RangeError(`clues must be an integer in 17..81, got ${clues}`);
  for (;;) {
    const solution = randomSolvedGrid(random);
    const puzzle = Int8Array.from(solution);
    let given = 81;
    for (const cell of random.shuffle(Array.from({ length: 81 }, (_, i) => i))) {
      if (given === clues) break;
      const digit = puzzle[cell];
      puzzle[cell] = 0;
      if (countSolutions(puzzle, 2) === 1) given--;
      else puzzle[cell] = digit;
    }
    if (given === clues) return { puzzle, solution, guesses: guessesNeeded(puzzle) };
  }
}

export function sudokuString(grid: ArrayLike<number>, blank = "."): string {
  let s = "";
  for (let i = 0; i < 81; i++) s += grid[i] === 0 ? blank : String(grid[i]);
  return s;
}
