// What a task view does: its own puzzle controls, the puzzle it sends, and
// the board drawn from the puzzle or from an answer. One module per task
// (sudoku.ts, maze.ts; ARC adds arc.ts) registered in index.ts.
import type { ModelInfo } from "../api.ts";

export interface Answer {
  solution: unknown; // as the API returns it
  cells?: number[]; // per cell, the top probability (detail "cells")
}

export interface TaskView {
  /** Builds the controls in `container`; calls `changed` when the puzzle changes. */
  mount(container: HTMLElement, changed: () => void): void;
  /** The puzzle to send, as typed: the API checks it and names what is wrong. */
  puzzle(): unknown;
  /** Draws the puzzle alone, or an answer with cells that differ from `before` marked. */
  draw(board: HTMLElement, answer?: Answer, before?: Answer): void;
}

export type ViewFactory = (model: ModelInfo) => TaskView;
