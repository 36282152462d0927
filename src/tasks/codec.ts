// A task codec turns a puzzle in the task's own notation into model
// sequences and the model's predictions back into an answer. One puzzle may
// need several sequences (ARC: one per example and augmentation), so encode
// returns a list and decode receives one output per sequence.
import type { ModelConfig, TaskName } from "../engine/config.ts";
import type { Puzzle } from "../engine/inputs.ts";

export interface SequenceOutput {
  preds: Int32Array; // (seq_len) predicted tokens
  qHalt: number; // halting logit
}

export interface Answer {
  solution: unknown; // in the task's notation
  check?: Record<string, unknown>; // task-specific verdict, e.g. { valid: true }
  solved?: boolean; // the answer passes the task's check; absent for tasks without one
}

export interface TaskCodec<Context = unknown> {
  readonly name: TaskName;
  /** Throws TrmError (422) naming what is wrong with the puzzle, including a puzzle that has no answer. */
  encode(puzzle: unknown, config: ModelConfig): { sequences: Puzzle[]; context: Context };
  decode(outputs: SequenceOutput[], context: Context, config: ModelConfig): Answer;
}
