// The codec for each task a pack can declare. ARC arrives in a later change.
import { TrmError } from "../errors.ts";
import type { TaskName } from "../engine/config.ts";
import type { TaskCodec } from "./codec.ts";
import { maze } from "./maze.ts";
import { sudoku } from "./sudoku.ts";
import { tokens } from "./tokens.ts";

const CODECS: Partial<Record<TaskName, TaskCodec>> = { sudoku, maze, tokens } as Partial<Record<TaskName, TaskCodec>>;

export function codecFor(task: TaskName): TaskCodec {
  const codec = CODECS[task];
  if (!codec) throw new TrmError("task_unsupported", `task ${task} has no codec yet`, 501);
  return codec;
}
