// What a batch job is made of: the message one consumer invocation works on,
// the job's counts, and each slice's outcome. Shared by the producer
// (api.ts), the consumer (consumer.ts) and the job's Durable Object (state.ts).
import { TrmError, preview } from "../../errors.ts";
import type { SolveHalt } from "../../solver.ts";
import type { WorkerEnv } from "../config.ts";
import type { JobState } from "./state.ts";

/** The Worker's environment with the job bindings and [vars] (wrangler.toml, jobs block). */
export interface JobsEnv extends WorkerEnv {
  JOB_QUEUE: Queue<SliceMessage>;
  JOB_DATA: R2Bucket;
  JOB_STATE: DurableObjectNamespace<JobState>;
  MAX_JOB_PUZZLES?: unknown;
  MAX_JOB_INPUT_BYTES?: unknown;
  JOB_SLICE_GFLOP?: unknown;
  JOB_RETRY_DELAY_S?: unknown;
  JOB_DEAD_LETTER_QUEUE?: string;
}

/** A positive number from [vars]; missing or malformed is a configuration error (503), never "no limit". */
export function jobVar(env: JobsEnv, name: "MAX_JOB_PUZZLES" | "MAX_JOB_INPUT_BYTES" | "JOB_SLICE_GFLOP" | "JOB_RETRY_DELAY_S"): number {
  const raw = env[name];
  const value = typeof raw === "number" ? raw : typeof raw === "string" && /^\s*\d+(\.\d+)?\s*$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isFinite(value) || value <= 0) throw new TrmError("misconfigured", `server configuration error: ${name} must be a number above 0, got ${preview(raw, 40)}`, 503);
  return value;
}

export interface JobOptions {
  max_steps: number;
  halt: SolveHalt;
  augmentations?: number | "all"; // ARC: the first N of each task's augmentations (index order), or all
  h_cycles?: number; // ARC: fewer high-level cycles than trained
}

/** ARC: one task's augmentations [from, to) (row order of the task index), every test input under each. */
export interface ArcSlice {
  task: string;
  tests: number[][][]; // the task's test inputs, original frame
  from: number;
  to: number;
}

/**
 * One queue message: a contiguous slice of the job's work, sized to fit one
 * invocation: puzzles, or for an ARC model (task, slice of augmentations),
 * whose sequences run augmentation-major, test-minor.
 */
export interface SliceMessage {
  job: string;
  slice: number; // 0-based, in input order
  start: number; // index of the slice's first puzzle (ARC: sequence) in the job
  model: string;
  options: JobOptions;
  puzzles: unknown[]; // in the task's notation, as submitted (checked by the producer); empty for ARC
  arc?: ArcSlice;
}

/** Largest message body the producer sends (Queues accepts 128 KB). */
export const MESSAGE_BYTES = 100_000;

/** Puzzles (ARC: sequences) in a message: what its outcome counts. */
export const messageCount = (m: SliceMessage) => (m.arc ? (m.arc.to - m.arc.from) * m.arc.tests.length : m.puzzles.length);

export type JobStateName = "queued" | "running" | "voting" | "done" | "cancelled"; // voting: ARC, every slice in

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
  arc?: { tasks: number; unknown_tasks: string[]; finalized: boolean }; // ARC: submission.json and report.json written once every slice is in
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
  task?: string; // ARC: the task whose augmentations the slice ran (the vote reads one task's slices at a time)
}

/** R2 key of a slice's results: one NDJSON line per puzzle (ARC: per sequence, with its vote), in input order. */
export const resultKey = (job: string, slice: number) => `jobs/${job}/results/${String(slice).padStart(6, "0")}.ndjson`;

/** R2 keys of an ARC job's tasks file as submitted, and of what its vote writes. */
export const arcKey = (job: string, file: "tasks.json" | "submission.json" | "report.json") => `jobs/${job}/${file}`;
