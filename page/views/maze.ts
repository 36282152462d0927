// Maze: pick an example or generate one (the repository's generator: a
// unique shortest path); the answer draws the path as 'o', shown as dots.
import type { ModelInfo } from "../api.ts";
import { generateMaze } from "../../src/generate/maze.ts";
import { Random } from "../../src/generate/random.ts";
import { type CellView, drawBoard, place, sure } from "./board.ts";
import { button, field, freshSeed, select } from "./controls.ts";
import type { Answer, BoardView } from "./view.ts";

const KINDS: Record<string, [cls: string, text: string, word: string]> = {
  "#": ["wall", "", "wall"],
  " ": ["open", "", "open"],
  S: ["start", "S", "start"],
  G: ["goal", "G", "goal"],
  o: ["path", "•", "path"],
};

const rowsOf = (maze: string, side: number) => Array.from({ length: side }, (_, r) => maze.slice(r * side, (r + 1) * side));

/** Rows as typed; one trailing line break is allowed. The API checks sizes and characters. */
const parseRows = (text: string) => text.replace(/\r/g, "").replace(/\n$/, "").split("\n");

export function maze(model: ModelInfo): BoardView {
  const side = Math.round(Math.sqrt(model.seq_len ?? 81));
  const generate = (random: Random) => generateMaze(random, side, side - 1, 2).maze; // like `trm generate maze --min-path side-1 --loops 2`
  const heldOut = new Random(1031); // the held-out seed of the shipped maze model's card
  const examples = [1, 2, 3].map(() => generate(heldOut));
  const text = document.createElement("textarea");
  text.rows = side;
  text.spellcheck = false;
  text.className = "mono";
  text.value = rowsOf(examples[0], side).join("\n");
  return {
    mount(container, changed) {
      const pick = field(container, "Example", select(examples.map((_, i) => `held-out maze ${i + 1} (seed 1031)`))) as HTMLSelectElement;
      pick.addEventListener("change", () => {
        text.value = rowsOf(examples[Number(pick.value)], side).join("\n");
        changed();
      });
      container.append(
        button("Generate a maze", () => {
          text.value = rowsOf(generate(new Random(freshSeed())), side).join("\n");
          changed();
        }),
      );
      field(container, `Maze: ${side} rows of ${side} characters, # wall, space open, S start, G goal`, text);
      text.addEventListener("input", changed);
    },
    puzzle: () => parseRows(text.value),
    draw(board, answer?: Answer, before?: Answer) {
      const typed = parseRows(text.value).join("");
      const chars = Array.isArray(answer?.solution) ? [...answer.solution.join("")] : [...typed.padEnd(side * side, " ").slice(0, side * side)];
      const previous = Array.isArray(before?.solution) ? [...before.solution.join("")] : undefined;
      const cells: CellView[] = chars.map((ch, i) => {
        const [cls, shown, word] = KINDS[ch] ?? ["open", ch, `"${ch}"`];
        const changed = previous !== undefined && previous[i] !== ch;
        const p = answer?.cells?.[i];
        return {
          text: shown,
          label: `${place(i, side)}: ${word}${sure(p)}${changed ? ", changed" : ""}`,
          classes: [cls, changed ? "changed" : ""].filter(Boolean),
          confidence: p,
        };
      });
      drawBoard(board, side, "maze", answer ? "the model's maze answer" : "the maze", cells);
    },
  };
}
