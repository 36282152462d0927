// Sudoku in the official encoding (dataset/build_sudoku_dataset.py): cell
// value v (0 = blank) is token v + 1, so a blank is 1 and PAD is 0.
// Puzzles come as an 81-character string ('0' or '.' for blanks), as 9
// strings of 9, or as a 9x9 array of numbers; answers use the same form.
import { TrmError, preview } from "../errors.ts";
import type { TaskCodec } from "./codec.ts";

type Form = "string" | "rows" | "grid";

interface Context {
  givens: Int8Array; // (81) 0 for blanks
  form: Form;
}

function bad(message: string): never {
  throw new TrmError("bad_puzzle", message, 422);
}

function parseCell(ch: unknown, where: string): number {
  if (typeof ch === "number" && Number.isInteger(ch) && ch >= 0 && ch <= 9) return ch;
  if (ch === ".") return 0;
  if (typeof ch === "string" && /^[0-9]$/.test(ch)) return Number(ch);
  return bad(`illegal sudoku cell ${preview(ch, 20)} at ${where}: use digits 1-9 and 0 or '.' for blanks`);
}

function parse(puzzle: unknown): Context {
  if (typeof puzzle === "string") {
    const cells = [...puzzle.trim()];
    if (cells.length !== 81) bad(`a sudoku string needs 81 cells, got ${cells.length}`);
    return { givens: Int8Array.from(cells, (c, i) => parseCell(c, `cell ${i}`)), form: "string" };
  }
  if (Array.isArray(puzzle) && puzzle.length === 9 && puzzle.every((r) => typeof r === "string")) {
    const rows = puzzle as string[];
    rows.forEach((r, i) => r.length !== 9 && bad(`sudoku row ${i} has ${r.length} cells, expected 9`));
    return { givens: Int8Array.from(rows.join(""), (c, i) => parseCell(c, `row ${Math.floor(i / 9)}, column ${i % 9}`)), form: "rows" };
  }
  if (Array.isArray(puzzle) && puzzle.length === 9 && puzzle.every(Array.isArray)) {
    const rows = puzzle as unknown[][];
    rows.forEach((r, i) => r.length !== 9 && bad(`sudoku row ${i} has ${r.length} cells, expected 9`));
    return { givens: Int8Array.from(rows.flat(), (c, i) => parseCell(c, `row ${Math.floor(i / 9)}, column ${i % 9}`)), form: "grid" };
  }
  return bad("a sudoku puzzle is an 81-character string, 9 strings of 9 characters, or a 9x9 array of numbers");
}

const UNITS: { name: string; cells: number[] }[] = Array.from({ length: 9 }, (_, k) => [
  { name: `row ${k}`, cells: Array.from({ length: 9 }, (_, j) => k * 9 + j) },
  { name: `column ${k}`, cells: Array.from({ length: 9 }, (_, j) => j * 9 + k) },
  { name: `box ${k}`, cells: Array.from({ length: 9 }, (_, j) => (Math.floor(k / 3) * 3 + Math.floor(j / 3)) * 9 + (k % 3) * 3 + (j % 3)) },
]).flat();

/** Givens that repeat a digit in a row, column or box leave the puzzle without an answer. */
function checkGivens(givens: Int8Array): void {
  for (const { name, cells } of UNITS) {
    const seen = new Map<number, number>();
    for (const i of cells) {
      const v = givens[i];
      if (v === 0) continue;
      const first = seen.get(v);
      const at = (c: number) => `row ${Math.floor(c / 9)}, column ${c % 9}`;
      if (first !== undefined) bad(`the givens have no solution: ${v} appears twice in ${name} (at ${at(first)} and ${at(i)}, counting from 0)`);
      seen.set(v, i);
    }
  }
}

/** Every given kept, every row, column and box holding 1-9 once. */
export function checkSudoku(givens: ArrayLike<number>, solution: ArrayLike<number>): { valid: boolean; keeps_givens: boolean; complete: boolean } {
  let keeps = true;
  for (let i = 0; i < 81; i++) if (givens[i] !== 0 && givens[i] !== solution[i]) keeps = false;
  const complete = UNITS.every(({ cells }) => new Set(cells.map((i) => solution[i]).filter((v) => v >= 1 && v <= 9)).size === 9);
  return { valid: keeps && complete, keeps_givens: keeps, complete };
}

export const sudoku: TaskCodec<Context> = {
  name: "sudoku",
  encode(puzzle, config) {
    if (config.seq_len !== 81 || config.vocab_size !== 11) bad(`this model (seq_len ${config.seq_len}, vocab ${config.vocab_size}) does not take 9x9 sudokus`);
    const context = parse(puzzle);
    checkGivens(context.givens);
    return { sequences: [{ tokens: Int32Array.from(context.givens, (v) => v + 1), puzzleId: 0 }], context };
  },
  decode([out], context) {
    // Token t is digit t - 1; PAD (0) has no digit and shows as 0.
    const digits = Array.from(out.preds, (t) => (t >= 1 && t <= 10 ? t - 1 : 0));
    const solution =
      context.form === "string" ? digits.join("")
      : context.form === "rows" ? Array.from({ length: 9 }, (_, r) => digits.slice(r * 9, r * 9 + 9).join(""))
      : Array.from({ length: 9 }, (_, r) => digits.slice(r * 9, r * 9 + 9));
    const check = checkSudoku(context.givens, digits);
    return { solution, check, solved: check.valid };
  },
};
