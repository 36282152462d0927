// Puzzles in, answers out: task codec + recursion, shared by the Worker and
// `trm solve`. Between supervision steps it yields to the event loop, so
// concurrent requests interleave step by step (each step is synchronous and
// owns the network's scratch memory only while it runs).
import { topProbabilities } from "./cells.ts";
import { TrmError, preview } from "./errors.ts";
import type { ModelConfig } from "./engine/config.ts";
import type { Puzzle } from "./engine/inputs.ts";
import type { ModelPack, PackManifest } from "./engine/pack.ts";
import { type HaltMode, type Network, type StepReport, recurse, wantsHalt } from "./engine/recursion.ts";
import { type LinearDtype, WasmNetwork } from "./engine/wasm-network.ts";
import type { Answer, TaskCodec } from "./tasks/codec.ts";
import { codecFor } from "./tasks/index.ts";

export interface LoadedModel {
  name: string;
  manifest: PackManifest;
  config: ModelConfig;
  network: Network<unknown>;
  codec: TaskCodec;
}

/** How a pack's linear layers compute: as asked, else int8 for an int8 pack and float32 for the others. */
export function linearDtypeFor(manifest: PackManifest, asked?: LinearDtype): LinearDtype {
  return asked ?? (manifest.weights.dtype === "int8" ? "int8" : "f32");
}

export function createModel(name: string, kernels: WebAssembly.Module, pack: ModelPack, linear?: LinearDtype): LoadedModel {
  return {
    name,
    manifest: pack.manifest,
    config: pack.config,
    network: new WasmNetwork(kernels, pack.config, pack.weights, linearDtypeFor(pack.manifest, linear)),
    codec: codecFor(pack.manifest.task),
  };
}

/**
 * How a puzzle stops before max_steps: "fixed" never (the official evaluation),
 * "adaptive" when the Q-head says halt, "checked" as soon as its answer passes
 * the task's check (tasks without a check fall back to the Q-head).
 */
export type SolveHalt = HaltMode | "checked";
export const HALT_MODES: readonly SolveHalt[] = ["fixed", "adaptive", "checked"];

export interface SolveOptions {
  maxSteps: number;
  halt: SolveHalt;
  /** Supervision steps this request may compute, summed over its sequences; past it, answers come back truncated. */
  budget?: number;
  /** Aborted (client gone): the work stops after the current supervision step. */
  signal?: AbortSignal;
  detail?: "cells"; // also report each answer cell's top probability
  /** Awaited before each supervision step (the Worker's scheduler); by default a plain yield to the event loop. */
  turn?: () => Promise<void>;
}

/**
 * `max_steps`, `halt`, `budget_steps` and `detail` from a request; max_steps may not exceed
 * what the model was trained for, budget_steps not what the operator allows.
 */
export function solveOptions(body: { max_steps?: unknown; halt?: unknown; budget_steps?: unknown; detail?: unknown }, config: ModelConfig, maxBudget?: number, status = 422): SolveOptions {
  const limit = config.arch.halt_max_steps;
  const maxSteps = body.max_steps ?? limit;
  const isCount = (v: unknown, max: number): v is number => typeof v === "number" && Number.isInteger(v) && v >= 1 && v <= max;
  if (!isCount(maxSteps, limit)) {
    throw new TrmError("bad_max_steps", `max_steps must be an integer from 1 to ${limit} (the model's halt_max_steps), got ${preview(body.max_steps)}`, status);
  }
  const halt = body.halt ?? "fixed";
  if (!HALT_MODES.includes(halt as SolveHalt)) throw new TrmError("bad_halt", `halt must be one of ${HALT_MODES.map((m) => `"${m}"`).join(", ")}, got ${preview(body.halt)}`, status);
  const budget = body.budget_steps ?? maxBudget;
  if (budget !== undefined && !isCount(budget, maxBudget ?? Number.MAX_SAFE_INTEGER)) {
    throw new TrmError("bad_budget", `budget_steps must be an integer from 1 to ${maxBudget ?? "2^53"}, got ${preview(body.budget_steps)}`, status);
  }
  if (body.detail !== undefined && body.detail !== "cells") throw new TrmError("bad_detail", `detail must be "cells", got ${preview(body.detail)}`, status);
  return { maxSteps, halt: halt as SolveHalt, budget, ...(body.detail === "cells" ? { detail: "cells" as const } : {}) };
}

export interface EncodedPuzzle {
  sequences: Puzzle[];
  context: unknown;
}

/** Encodes every puzzle first, so a bad one is reported before any work starts. */
export function encodePuzzles(model: Pick<LoadedModel, "codec" | "config">, puzzles: unknown[], label = (i: number) => `puzzles[${i}]`): EncodedPuzzle[] {
  return puzzles.map((p, i) => {
    try {
      return model.codec.encode(p, model.config);
    } catch (e) {
      if (e instanceof TrmError) throw new TrmError(e.code, label(i) ? `${label(i)}: ${e.message}` : e.message, e.status);
      throw e;
    }
  });
}

/** Why a puzzle stopped: its last step, the Q-head, the task's check, or the request's budget. */
export type StopReason = "max_steps" | "halted" | "solved" | "budget";

export interface Progress {
  index: number;
  step: number; // steps this puzzle has run
  answer: Answer;
  confidence: number; // sigmoid(q_halt), mean over the puzzle's sequences
  halted: boolean; // the Q-head says halt, for every sequence of the puzzle
  stopped?: StopReason; // set once the puzzle computes no more
  cells?: number[]; // with detail "cells": (sequences x seq_len) top probabilities, in sequence order
}

export interface Result extends Progress {
  stopped: StopReason;
  truncated: boolean; // the budget ran out before the puzzle stopped on its own
  timings: { compute_ms: number; total_ms: number };
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const nextTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

export function cancelled(): TrmError {
  return new TrmError("cancelled", "the client went away; the work was stopped", 499);
}

/**
 * Runs the recursion over all sequences of all puzzles as one batch.
 * `onStep` sees every puzzle after every step (for streaming); awaiting in it
 * pauses the work (backpressure). Before each step it awaits its turn (other
 * work runs meanwhile); after each it stops the puzzles that are done, and it
 * gives up as soon as `opts.signal` is aborted.
 */
export async function solveEncoded(
  model: LoadedModel, encoded: EncodedPuzzle[], opts: SolveOptions,
  onStep?: (step: number, progress: Progress[]) => void | Promise<void>,
): Promise<Result[]> {
  const started = performance.now();
  const { config, codec } = model;
  const owner: number[] = encoded.flatMap((e, i) => e.sequences.map(() => i));
  const members = encoded.map((_, i) => owner.flatMap((o, j) => (o === i ? [j] : [])));
  if (opts.budget !== undefined && opts.budget < owner.length) {
    throw new TrmError("bad_budget", `budget_steps ${opts.budget} is less than one step of this request (${owner.length} sequences)`, 422);
  }
  const computeMs = new Float64Array(encoded.length);
  const stopped: (StopReason | undefined)[] = new Array(encoded.length);
  const summarize = (report: StepReport): Progress[] =>
    encoded.map((e, i) => {
      const seqs = members[i].map((j) => report.sequences[j]);
      return {
        index: i,
        step: Math.max(...seqs.map((s) => s.steps)),
        answer: codec.decode(seqs.map((s) => ({ preds: s.preds, qHalt: s.qHalt })), e.context, config),
        confidence: seqs.reduce((sum, s) => sum + sigmoid(s.qHalt), 0) / seqs.length,
        halted: seqs.every((s) => wantsHalt(config, s.qHalt, s.qContinue)),
        stopped: stopped[i],
        ...(opts.detail === "cells" ? { cells: seqs.flatMap((s) => topProbabilities(s.logits, config.vocab_size)) } : {}),
      };
    });
  const check = () => {
    if (opts.signal?.aborted) throw cancelled();
  };
  check();
  let last: StepReport | undefined;
  let progress: Progress[] = [];
  let spent = 0;
  let stop: number[] | undefined;
  const steps = recurse(model.network, encoded.flatMap((e) => e.sequences), opts.maxSteps, opts.halt === "adaptive" ? "adaptive" : "fixed");
  try {
    for (;;) {
      const active = last ? owner.filter((_, j) => !last!.sequences[j].halted && !stop?.includes(j)).length : owner.length;
      if (active > 0 && opts.budget !== undefined && spent + active > opts.budget) {
        for (let i = 0; i < stopped.length; i++) stopped[i] ??= "budget";
        break;
      }
      await (opts.turn ?? nextTurn)();
      check();
      const t0 = performance.now();
      const next = steps.next(stop);
      if (next.done) break;
      const ms = performance.now() - t0;
      last = next.value;
      spent += active;
      const step = last.step;
      for (const i of new Set(last.sequences.flatMap((s, j) => (s.steps === step ? [owner[j]] : [])))) computeMs[i] += ms;
      progress = summarize(last);
      // Which puzzles stop after this step, and why; in "checked" mode the solver stops them itself.
      stop = [];
      for (const p of progress) {
        if (stopped[p.index]) continue;
        const byCheck = opts.halt === "checked" && (p.answer.solved ?? p.halted);
        const done = byCheck || members[p.index].every((j) => last!.sequences[j].halted);
        if (!done) continue;
        stopped[p.index] = byCheck && p.answer.solved ? "solved" : p.halted && opts.halt !== "fixed" ? "halted" : "max_steps";
        p.stopped = stopped[p.index];
        if (byCheck) stop.push(...members[p.index]);
      }
      if (onStep) await onStep(step, progress);
      check();
    }
  } finally {
    steps.return();
  }
  const total = performance.now() - started;
  return summarize(last!).map((p, i) => ({
    ...p,
    stopped: stopped[i] ?? "max_steps",
    truncated: stopped[i] === "budget",
    timings: { compute_ms: round(computeMs[i]), total_ms: round(total) },
  }));
}

const round = (ms: number) => Math.round(ms * 10) / 10;
