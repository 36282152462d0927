// The task views the page has; a model whose task is not here is listed but cannot be picked.
import { maze } from "./maze.ts";
import { sudoku } from "./sudoku.ts";
import type { ViewFactory } from "./view.ts";

export const VIEWS: Record<string, ViewFactory> = { sudoku, maze };
