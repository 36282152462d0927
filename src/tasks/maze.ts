// Mazes in the official encoding (dataset/build_maze_dataset.py): each cell
// is one of "# SGo" (wall, open, start, goal, path) and its token is the
// character's index + 1; 0 is padding. Puzzles come as rows of characters
// or as one string (n·n characters, or rows separated by newlines); the
// answer takes the same form, with the path drawn as 'o'.
import { TrmError, preview } from "../errors.ts";
import type { TaskCodec } from "./codec.ts";

export const MAZE_CHARSET = "# SGo";

interface Context {
  cells: string; // n·n characters of the puzzle
  side: number;
  form: "rows" | "string";
}

function bad(message: string): never {
  throw new TrmError("bad_puzzle", message, 422);
}

function parse(puzzle: unknown, side: number): Context {
  let rows: string[];
  let form: Context["form"];
  if (typeof puzzle === "string") {
    form = "string";
    const text = puzzle.replace(/\r/g, "").replace(/\n$/, "");
    rows = text.includes("\n") ? text.split("\n") : text.length === side * side ? Array.from({ length: side }, (_, r) => text.slice(r * side, (r + 1) * side)) : [text];
  } else if (Array.isArray(puzzle) && puzzle.every((r) => typeof r === "string")) {
    form = "rows";
    rows = puzzle as string[];
  } else {
    return bad(`a maze is ${side} strings of ${side} characters from "${MAZE_CHARSET}", or one string of them`);
  }
  if (rows.length !== side || rows.some((r) => r.length !== side)) {
    bad(`this model solves ${side}x${side} mazes; got ${rows.length} row(s) of ${preview([...new Set(rows.map((r) => r.length))].join("/"), 40)} characters`);
  }
  const cells = rows.join("");
  for (let i = 0; i < cells.length; i++) {
    if (!MAZE_CHARSET.includes(cells[i])) bad(`illegal maze character ${JSON.stringify(cells[i])} at row ${Math.floor(i / side)}, column ${i % side}: use "${MAZE_CHARSET}"`);
  }
  for (const mark of ["S", "G"]) {
    const count = [...cells].filter((ch) => ch === mark).length;
    if (count !== 1) bad(`a maze needs exactly one ${JSON.stringify(mark)} (${mark === "S" ? "start" : "goal"}), got ${count}`);
  }
  if (distances(side, cells.indexOf("S"), (i) => cells[i] !== "#")[cells.indexOf("G")] < 0) bad("the maze has no answer: walls separate S from G");
  return { cells, side, form };
}

/** Breadth-first distances from `from` over cells accepted by `open`. */
function distances(side: number, from: number, open: (i: number) => boolean): Int32Array {
  const dist = new Int32Array(side * side).fill(-1);
  dist[from] = 0;
  const queue = [from];
  for (let q = 0; q < queue.length; q++) {
    const i = queue[q];
    const r = Math.floor(i / side);
    const c = i % side;
    for (const [nr, nc] of [[r - 1, c], [r + 1, c], [r, c - 1], [r, c + 1]]) {
      const j = nr * side + nc;
      if (nr >= 0 && nr < side && nc >= 0 && nc < side && dist[j] < 0 && open(j)) {
        dist[j] = dist[i] + 1;
        queue.push(j);
      }
    }
  }
  return dist;
}

/**
 * The answer keeps the maze (walls, start, goal), its 'o' cells connect start
 * to goal, and there are exactly as many as a shortest path needs.
 */
export function checkMaze(puzzle: string, answer: string, side: number) {
  let keepsMaze = answer.length === puzzle.length;
  for (let i = 0; keepsMaze && i < puzzle.length; i++) {
    const p = puzzle[i];
    const a = answer[i];
    keepsMaze = p === " " || p === "o" ? a === " " || a === "o" : a === p;
  }
  const start = puzzle.indexOf("S");
  const goal = puzzle.indexOf("G");
  if (!keepsMaze || start < 0 || goal < 0) return { valid: false, keeps_maze: keepsMaze, connected: false, shortest: false };
  const along = distances(side, start, (i) => answer[i] === "o" || answer[i] === "G");
  const best = distances(side, start, (i) => puzzle[i] !== "#");
  const connected = along[goal] >= 0;
  const pathCells = [...answer].filter((ch) => ch === "o").length;
  const shortest = connected && best[goal] >= 0 && pathCells === best[goal] - 1;
  return { valid: connected && shortest, keeps_maze: true, connected, shortest };
}

export const maze: TaskCodec<Context> = {
  name: "maze",
  encode(puzzle, config) {
    const side = Math.sqrt(config.seq_len);
    if (!Number.isInteger(side) || config.vocab_size !== MAZE_CHARSET.length + 1) bad(`this model (seq_len ${config.seq_len}, vocab ${config.vocab_size}) does not take square mazes`);
    const context = parse(puzzle, side);
    return { sequences: [{ tokens: Int32Array.from(context.cells, (ch) => MAZE_CHARSET.indexOf(ch) + 1), puzzleId: 0 }], context };
  },
  decode([out], context) {
    // PAD (0) has no character; it shows as a wall-free blank.
    const answer = Array.from(out.preds, (t) => (t >= 1 && t <= MAZE_CHARSET.length ? MAZE_CHARSET[t - 1] : " ")).join("");
    const rows = Array.from({ length: context.side }, (_, r) => answer.slice(r * context.side, (r + 1) * context.side));
    const check = checkMaze(context.cells, answer, context.side);
    return { solution: context.form === "rows" ? rows : rows.join("\n"), check, solved: check.valid };
  },
};
