// The codec for each task a pack can declare. ARC is not a one-grid task: its
// requests go through src/worker/arc.ts and src/tasks/arc/solve.ts instead.
import { TrmError } from "../errors.ts";
import type { TaskName } from "../engine/config.ts";
import type { TaskCodec } from "./codec.ts";
import { maze } from "./maze.ts";
import { sudoku } from "./sudoku.ts";
import { tokens } from "./tokens.ts";

const CODECS: Partial<Record<TaskName, TaskCodec>> = { sudoku, maze, tokens } as Partial<Record<TaskName, TaskCodec>>;

/** ARC models answer {"task", "test"} requests; a one-grid puzzle sent to one gets this explanation. */
const arcRequests: TaskCodec = {
  name: "arc",
  encode() {
    throw new TrmError("bad_request", 'an ARC model solves tasks: send {"task": "<id>", "test": [{"input": grid}, ...]}', 400);
  },
  decode() {
    throw new TrmError("bad_request", "an ARC model does not decode single grids", 400);
  },
};

export function codecFor(task: TaskName): TaskCodec {
  if (task === "arc") return arcRequests;
  const codec = CODECS[task];
  if (!codec) throw new TrmError("task_unsupported", `task ${task} has no codec yet`, 501);
  return codec;
}
