// The queue consumer. Each message is one slice of a job: ask the job whether
// to work, solve the slice on the same engine path as POST /v1/models/:name/solve,
// write its results to R2 under a key fixed by (job, slice), then record the
// outcome in the job. A consumer that dies anywhere in between leaves the
// message unacknowledged; its retry finds the slice unrecorded, solves it
// again and overwrites the same key with the same lines, so nothing is
// counted twice or lost. Failed attempts retry with exponential backoff; after
// max_retries the message lands in the dead-letter queue, whose consumer
// marks the slice failed with the last attempt's reason.
import { TrmError } from "../../errors.ts";
import { encodePuzzles, solveEncoded } from "../../solver.ts";

import { getModel } from "../models.ts";
import { present } from "../solve.ts";
import { solveArcSlice, voteArc } from "./arc.ts";
import { type JobError, type JobsEnv, type SliceMessage, jobVar, messageCount, resultKey } from "./types.ts";

const MAX_DELAY_S = 900;

export const jobStub = (env: JobsEnv, id: string) => env.JOB_STATE.get(env.JOB_STATE.idFromName(id));

/** Seconds before attempt `attempts + 1`: base, 2·base, 4·base, ... */
export function backoffSeconds(env: JobsEnv, attempts: number): number {
  return Math.min(MAX_DELAY_S, jobVar(env, "JOB_RETRY_DELAY_S") * 2 ** (attempts - 1));
}

function describe(e: unknown): JobError {
  if (e instanceof TrmError) return { code: e.code, message: e.message };
  console.error("job slice failed", e);
  return { code: "internal", message: `internal error: ${(e as Error)?.message ?? String(e)}` };
}

/** Solves one slice and writes its result lines (ARC: its votes); returns the compute time in ms. */
export function solveSlice(env: JobsEnv, m: SliceMessage): Promise<number> {
  return m.arc ? solveArcSlice(env, m) : solvePuzzles(env, m);
}

async function solvePuzzles(env: JobsEnv, m: SliceMessage): Promise<number> {
  const model = await getModel(env.MODELS, m.model);
  const encoded = encodePuzzles(model, m.puzzles, (i) => `puzzle ${m.start + i}`);
  const t0 = performance.now();
  const results = await solveEncoded(model, encoded, { maxSteps: m.options.max_steps, halt: m.options.halt });
  const cpuMs = performance.now() - t0;
  const lines = results.map((r) => JSON.stringify({ ...present(r), index: m.start + r.index }) + "\n");
  await env.JOB_DATA.put(resultKey(m.job, m.slice), lines.join(""), { httpMetadata: { contentType: "application/x-ndjson" } });
  return cpuMs;
}

async function work(env: JobsEnv, m: SliceMessage, attempts: number): Promise<void> {
  const job = jobStub(env, m.job);
  if ((await job.begin(m.slice)) === "work") {
    const cpuMs = await solveSlice(env, m);
    await job.record({ slice: m.slice, start: m.start, count: messageCount(m), status: "done", attempts, cpu_ms: Math.round(cpuMs), task: m.arc?.task });
  } // else cancelled, already recorded, or no such job: nothing to solve
  if (m.arc) await voteIfDone(env, m.job);
}

/** ARC: the message that finds every slice in (or its redelivery, if that one died) writes the vote. */
async function voteIfDone(env: JobsEnv, id: string): Promise<void> {
  const job = jobStub(env, id);
  if (!(await job.needsVote())) return;
  const status = await job.status();
  await voteArc(env, status!.meta, await job.outcomes());
  await job.voted();
}

export async function consume(batch: MessageBatch<SliceMessage>, env: JobsEnv): Promise<void> {
  if (!env.JOB_DEAD_LETTER_QUEUE) throw new TrmError("misconfigured", "the Worker's JOB_DEAD_LETTER_QUEUE setting must name the jobs queue's dead_letter_queue", 503);
  const deadLetters = batch.queue === env.JOB_DEAD_LETTER_QUEUE;
  for (const msg of batch.messages) {
    const m = msg.body;
    if (deadLetters) {
      await jobStub(env, m.job).deadLettered(m.slice, m.start, messageCount(m), m.arc?.task);
      if (m.arc) await voteIfDone(env, m.job);
      msg.ack();
      continue;
    }
    try {
      await work(env, m, msg.attempts);
      msg.ack();
    } catch (e) {
      await jobStub(env, m.job).attemptFailed(m.slice, msg.attempts, describe(e)).catch(() => {}); // the retry happens regardless
      msg.retry({ delaySeconds: backoffSeconds(env, msg.attempts) });
    }
  }
}
