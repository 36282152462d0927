// What a batch job is made of: the message one consumer invocation works on,
// the job's counts, and each slice's outcome. Shared by the producer
// (api.ts), the consumer (consumer.ts) and the job's Durable Object (state.ts).
import type { HaltMode } from "../../engine/recursion.ts";

export interface JobOptions {
  max_steps: number;
  halt: HaltMode;
}

/** One queue message: a contiguous slice of the job's puzzles, sized to fit one invocation. */
export interface SliceMessage {
  job: string;
  slice: number; // 0-based, in input order
  start: number; // index of the slice's first puzzle in the job
  model: string;
  options: JobOptions;
  puzzles: unknown[]; // in the task's notation, as submitted (checked by the producer)
}

export type JobStateName = "queued" | "running" | "done" | "cancelled";

export interface JobMeta {
  id: string;
  model: string;
  task: string;
  options: JobOptions;
  total: number; // puzzles
  slices: number;
  state: JobStateName;
  done: number; // puzzles solved
  failed: number; // puzzles whose slice ended in the dead-letter queue
  slices_done: number;
  slices_failed: number;
  cpu_ms: number; // compute time of the solved slices, as the consumers measured it
  created_at: number; // ms since the epoch
  started_at?: number; // first slice begun
  finished_at?: number; // every slice done or failed
}

export interface JobError {
  code: string;
  message: string;
}

/** Recorded once per slice, when it is solved or dead-lettered; never overwritten. */
export interface SliceOutcome {
  slice: number;
  start: number;
  count: number;
  status: "done" | "failed";
  attempts: number;
  cpu_ms: number;
  error?: JobError; // why the last attempt failed (status "failed")
}

/** R2 key of a slice's results: one NDJSON line per puzzle, in input order. */
export const resultKey = (job: string, slice: number) => `jobs/${job}/results/${String(slice).padStart(6, "0")}.ndjson`;
