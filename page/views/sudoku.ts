// Sudoku: type or paste 81 cells, pick an example, or generate one (the
// repository's generator, unique solution); the board bolds the givens.
import { Random } from "../../src/generate/random.ts";
import { generateSudoku, sudokuString } from "../../src/generate/sudoku.ts";
import { type CellView, drawBoard, place, sure } from "./board.ts";
import { button, field, freshSeed, select } from "./controls.ts";
import type { Answer, BoardView } from "./view.ts";

// The generated one is no. 18 of `trm generate sudoku --count 30 --clues 26 --seed 2026`.
const EXAMPLES: [string, string][] = [
  ["Project Euler 96, grid 01 (easy: solved at step 2)", "003020600900305001001806400008102900700000008006708200002609500800203009005010300"],
  ["26 clues, generated (seed 2026, no. 18): improves over 8 steps", ".2.5..9.4...2..8...15..........5..36.46.7....9....8..76581.......19.....2.4....8."],
  ["top95 #1 (hard: the shipped model rarely solves these)", "4.....8.5.3..........7......2.....6.....8.4......1.......6.3.7.5..2.....1.4......"],
];

/** The typed puzzle with spaces and line breaks dropped; the API checks the rest. */
const clean = (text: string) => text.replace(/\s+/g, "");

export function sudoku(): BoardView {
  const text = document.createElement("textarea");
  text.rows = 3;
  text.spellcheck = false;
  text.value = EXAMPLES[0][1];
  const givens = () => {
    const cells = clean(text.value);
    return /^[0-9.]{81}$/.test(cells) ? [...cells].map((c) => (c === "." ? "0" : c)) : undefined;
  };
  return {
    mount(container, changed) {
      const examples = field(container, "Example", select(EXAMPLES.map(([name]) => name))) as HTMLSelectElement;
      examples.addEventListener("change", () => {
        text.value = EXAMPLES[Number(examples.value)][1];
        changed();
      });
      const clues = field(container, "Clues for a generated puzzle (24 to 40; fewer is harder)", Object.assign(document.createElement("input"), { type: "number", min: "24", max: "40", value: "30" })) as HTMLInputElement;
      container.append(
        button("Generate a Sudoku", () => {
          const n = Math.min(40, Math.max(24, Math.round(Number(clues.value)) || 30));
          text.value = sudokuString(generateSudoku(new Random(freshSeed()), n).puzzle, "0");
          changed();
        }),
      );
      field(container, "Puzzle: 81 digits in reading order, 0 or . for a blank (spaces and line breaks are ignored)", text);
      text.addEventListener("input", changed);
    },
    puzzle: () => clean(text.value),
    draw(board, answer?: Answer, before?: Answer) {
      const given = givens() ?? Array<string>(81).fill("0");
      const digits = typeof answer?.solution === "string" ? [...answer.solution] : given;
      const previous = typeof before?.solution === "string" ? [...before.solution] : undefined;
      const cells: CellView[] = digits.map((d, i) => {
        const isGiven = given[i] !== "0";
        const changed = previous !== undefined && previous[i] !== d;
        const p = answer?.cells?.[i];
        return {
          text: d === "0" ? "" : d,
          label: `${place(i, 9)}: ${d === "0" ? "blank" : d}${isGiven ? ", given" : sure(p)}${changed ? ", changed" : ""}`,
          classes: [isGiven ? "given" : "", changed ? "changed" : ""].filter(Boolean),
          confidence: isGiven ? undefined : p,
        };
      });
      drawBoard(board, 9, "sudoku", answer ? "the model's Sudoku answer" : "the Sudoku puzzle", cells);
    },
  };
}
