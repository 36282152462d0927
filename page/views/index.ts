// The task views the page has; a model whose task is not here is listed but cannot be picked.
import { arc } from "./arc.ts";
import { maze } from "./maze.ts";
import { sudoku } from "./sudoku.ts";
import { type ViewFactory, boardTask } from "./view.ts";

export const VIEWS: Record<string, ViewFactory> = { sudoku: () => boardTask(sudoku()), maze: (m) => boardTask(maze(m)), arc };
