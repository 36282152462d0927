// A job's state: one Durable Object per job (named by the job id), storing
// the counts and one outcome per finished slice in its own transactional
// storage. A Durable Object runs one call at a time, and its input gate holds
// other calls while a storage read is pending, so each method's
// read-check-write below is atomic however many consumers call at once: a
// slice delivered twice, or retried after a consumer died, is counted once
// (the first outcome recorded wins). Isolate memory holds nothing.
import { DurableObject } from "cloudflare:workers";
import type { JobError, JobMeta, SliceOutcome } from "./types.ts";

const META = "meta";
const outcomeKey = (slice: number) => `slice:${String(slice).padStart(6, "0")}`; // padded: list() returns them in input order
const errorKey = (slice: number) => `error:${slice}`;

/** What a consumer should do with a message. */
export type Go = "work" | "finished" | "cancelled" | "unknown";

export class JobState extends DurableObject {
  private meta(): Promise<JobMeta | undefined> {
    return this.ctx.storage.get<JobMeta>(META);
  }

  /** Creates the job; creating it again returns the first one unchanged. */
  async create(meta: JobMeta): Promise<JobMeta> {
    const existing = await this.meta();
    if (existing) return existing;
    await this.ctx.storage.put(META, meta);
    return meta;
  }

  async status(): Promise<{ meta: JobMeta; failures: SliceOutcome[] } | null> {
    const meta = await this.meta();
    if (!meta) return null;
    const failures = meta.slices_failed ? (await this.outcomes()).filter((o) => o.status === "failed") : [];
    return { meta, failures };
  }

  /** Every recorded outcome, in slice order. */
  async outcomes(): Promise<SliceOutcome[]> {
    return [...(await this.ctx.storage.list<SliceOutcome>({ prefix: "slice:" })).values()];
  }

  /** Called before a consumer starts a slice: work only on a live job and an unfinished slice. */
  async begin(slice: number): Promise<Go> {
    const meta = await this.meta();
    if (!meta) return "unknown";
    if (meta.state === "cancelled") return "cancelled";
    if (await this.ctx.storage.get(outcomeKey(slice))) return "finished";
    if (meta.state === "queued") await this.ctx.storage.put(META, { ...meta, state: "running", started_at: Date.now() });
    return "work";
  }

  /** Records a finished slice; false when it was already recorded (the counts stay as they are). */
  async record(outcome: SliceOutcome): Promise<boolean> {
    const meta = await this.meta();
    if (!meta || (await this.ctx.storage.get(outcomeKey(outcome.slice)))) return false;
    const ok = outcome.status === "done";
    const next: JobMeta = {
      ...meta,
      done: meta.done + (ok ? outcome.count : 0),
      failed: meta.failed + (ok ? 0 : outcome.count),
      slices_done: meta.slices_done + (ok ? 1 : 0),
      slices_failed: meta.slices_failed + (ok ? 0 : 1),
      cpu_ms: meta.cpu_ms + outcome.cpu_ms,
    };
    if (next.slices_done + next.slices_failed === next.slices) {
      next.finished_at = Date.now();
      if (next.state !== "cancelled") next.state = next.arc ? "voting" : "done"; // ARC: done once the vote is written
    }
    await this.ctx.storage.put({ [META]: next, [outcomeKey(outcome.slice)]: outcome });
    await this.ctx.storage.delete(errorKey(outcome.slice));
    return true;
  }

  /** Keeps why an attempt failed, so the dead-letter consumer can say why the slice failed. */
  async attemptFailed(slice: number, attempts: number, error: JobError): Promise<void> {
    await this.ctx.storage.put(errorKey(slice), { attempts, error });
  }

  /** The slice's message ran out of retries: the slice fails with its last attempt's error. */
  async deadLettered(slice: number, start: number, count: number, task?: string): Promise<boolean> {
    const last = await this.ctx.storage.get<{ attempts: number; error: JobError }>(errorKey(slice));
    const error = last?.error ?? { code: "dead_lettered", message: "the message reached the dead-letter queue" };
    return this.record({ slice, start, count, status: "failed", attempts: last?.attempts ?? 0, cpu_ms: 0, error, task });
  }

  /** ARC: every slice is in and the vote is not written yet (asked after each message, so a vote that died is redone). */
  async needsVote(): Promise<boolean> {
    return (await this.meta())?.state === "voting";
  }

  async voted(): Promise<void> {
    const meta = await this.meta();
    if (meta?.arc && meta.state === "voting") await this.ctx.storage.put(META, { ...meta, state: "done", arc: { ...meta.arc, finalized: true } });
  }

  /** Messages still queued then do no work; slices already solved keep their results. */
  async cancel(): Promise<JobMeta | null> {
    const meta = await this.meta();
    if (!meta) return null;
    if (meta.state !== "queued" && meta.state !== "running") return meta; // finished (or voting on finished slices)
    const next: JobMeta = { ...meta, state: "cancelled", finished_at: Date.now() };
    await this.ctx.storage.put(META, next);
    return next;
  }
}
