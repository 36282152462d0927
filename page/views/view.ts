// What a task view does: its own puzzle controls, the request it sends, and
// what it draws of each SSE step and of the result. One module per task
// (sudoku.ts, maze.ts, arc.ts) registered in index.ts. Sudoku and Maze share
// one request and event shape (a puzzle, its checked answer), so they are
// written as a BoardView and adapted by boardTask.
import type { ModelInfo, PuzzleState } from "../api.ts";

/** What the page shows of a step for every task: the counter, the halting meter and its history. */
export interface Progress {
  step: number;
  confidence: number; // 0..1, drawn as the meter and one history bar
  halted: boolean;
  phase?: string; // e.g. which slice of augmentations runs; the history restarts when it changes
}

export type OutcomeRow = [term: string, value: string, key: string];

export interface TaskView {
  /** Builds the controls in `container`; calls `changed` when the puzzle changes. May fetch what it shows. */
  mount(container: HTMLElement, changed: () => void): void | Promise<void>;
  /** The task checks answers, so "checked" halting means something. */
  checked: boolean;
  /** Max steps to offer first (the model's halt_max_steps when absent). */
  steps?: number;
  /** The request body: the puzzle as typed (the API checks it and names what is wrong) with the page's options. */
  request(options: { max_steps: number; halt: string }): Record<string, unknown>;
  /** Draws the puzzle alone. */
  reset(board: HTMLElement): void;
  /** Draws one SSE step event's data. */
  step(board: HTMLElement, data: unknown): Progress;
  /** Draws the result event's data; its rows for the outcome list. */
  result(board: HTMLElement, data: unknown): Progress & { rows: OutcomeRow[] };
}

/** A view for one model; `token` is the page's bearer token, for the GETs a view makes itself. */
export type ViewFactory = (model: ModelInfo, token: () => string) => TaskView;

export interface Answer {
  solution: unknown; // as the API returns it
  cells?: number[]; // per cell, the top probability (detail "cells")
}

/** A task with one puzzle in, one checked answer out (Sudoku, Maze). */
export interface BoardView {
  mount(container: HTMLElement, changed: () => void): void;
  puzzle(): unknown;
  /** Draws the puzzle alone, or an answer with cells that differ from `before` marked. */
  draw(board: HTMLElement, answer?: Answer, before?: Answer): void;
}

const yesNo = (v: unknown) => (v === true ? "yes" : v === false ? "no" : String(v));
const progressOf = (s: PuzzleState): Progress => ({ step: s.steps, confidence: s.confidence, halted: s.halted });

export function boardTask(view: BoardView): TaskView {
  let before: Answer | undefined;
  return {
    mount: (container, changed) => view.mount(container, changed),
    checked: true,
    request: (options) => ({ puzzle: view.puzzle(), ...options, detail: "cells" }),
    reset(board) {
      before = undefined;
      view.draw(board);
    },
    step(board, data) {
      const s = (data as { puzzles: PuzzleState[] }).puzzles[0];
      view.draw(board, s, before);
      before = s;
      return progressOf(s);
    },
    result(board, data) {
      const s = (data as { result: PuzzleState }).result;
      view.draw(board, s, before);
      const solved = s.solved ?? s.check?.valid; // `solved` where the API gives it, else the task check's verdict
      const rows: OutcomeRow[] = [
        ["Solved", solved === undefined ? "no check for this task" : yesNo(solved), "solved"],
        ...Object.entries(s.check ?? {}).map(([k, v]): OutcomeRow => [`Check: ${k.replace(/_/g, " ")}`, yesNo(v), `check-${k}`]),
        ["Steps", String(s.steps), "steps"],
        ["Server compute", `${s.timings?.compute_ms ?? "?"} ms`, "compute"],
        ["Server total", `${s.timings?.total_ms ?? "?"} ms`, "total"],
      ];
      return { ...progressOf(s), rows };
    },
  };
}
