// Puzzles in, answers out: task codec + recursion, shared by the Worker and
// `trm solve`. Between supervision steps it yields to the event loop, so
// concurrent requests interleave step by step (each step is synchronous and
// owns the network's scratch memory only while it runs).
import { topProbabilities } from "./cells.ts";
import { TrmError } from "./errors.ts";
import type { ModelConfig } from "./engine/config.ts";
import type { Puzzle } from "./engine/inputs.ts";
import type { ModelPack, PackManifest } from "./engine/pack.ts";
import { type HaltMode, type Network, type StepReport, recurse } from "./engine/recursion.ts";
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

export interface SolveOptions {
  maxSteps: number;
  halt: HaltMode;
  detail?: "cells"; // also report each answer cell's top probability
}

/** `max_steps`, `halt` and `detail` from a request; max_steps may not exceed what the model was trained for. */
export function solveOptions(body: { max_steps?: unknown; halt?: unknown; detail?: unknown }, config: ModelConfig, status = 422): SolveOptions {
  const limit = config.arch.halt_max_steps;
  const maxSteps = body.max_steps ?? limit;
  if (typeof maxSteps !== "number" || !Number.isInteger(maxSteps) || maxSteps < 1 || maxSteps > limit) {
    throw new TrmError("bad_max_steps", `max_steps must be an integer from 1 to ${limit} (the model's halt_max_steps), got ${JSON.stringify(body.max_steps)}`, status);
  }
  const halt = body.halt ?? "fixed";
  if (halt !== "fixed" && halt !== "adaptive") throw new TrmError("bad_halt", `halt must be "fixed" or "adaptive", got ${JSON.stringify(body.halt)}`, status);
  if (body.detail !== undefined && body.detail !== "cells") throw new TrmError("bad_detail", `detail must be "cells", got ${JSON.stringify(body.detail)}`, status);
  return { maxSteps, halt, ...(body.detail === "cells" ? { detail: "cells" as const } : {}) };
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
      if (e instanceof TrmError) throw new TrmError(e.code, `${label(i)}: ${e.message}`, e.status);
      throw e;
    }
  });
}

export interface Progress {
  index: number;
  step: number; // steps this puzzle has run
  answer: Answer;
  confidence: number; // sigmoid(q_halt), mean over the puzzle's sequences
  halted: boolean;
  cells?: number[]; // with detail "cells": (sequences x seq_len) top probabilities, in sequence order
}

export interface Result extends Progress {
  timings: { compute_ms: number; total_ms: number };
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const nextTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/**
 * Runs the recursion over all sequences of all puzzles as one batch.
 * `onStep` sees every puzzle after every step (for streaming); awaiting in it
 * pauses the work (backpressure).
 */
export async function solveEncoded(
  model: LoadedModel, encoded: EncodedPuzzle[], opts: SolveOptions,
  onStep?: (step: number, progress: Progress[]) => void | Promise<void>,
): Promise<Result[]> {
  const started = performance.now();
  const owner: number[] = encoded.flatMap((e, i) => e.sequences.map(() => i));
  const computeMs = new Float64Array(encoded.length);
  const summarize = (report: StepReport): Progress[] =>
    encoded.map((e, i) => {
      const seqs = report.sequences.filter((_, j) => owner[j] === i);
      return {
        index: i,
        step: Math.max(...seqs.map((s) => s.steps)),
        answer: model.codec.decode(seqs.map((s) => ({ preds: s.preds, qHalt: s.qHalt })), e.context, model.config),
        confidence: seqs.reduce((sum, s) => sum + sigmoid(s.qHalt), 0) / seqs.length,
        halted: seqs.every((s) => s.halted),
        ...(opts.detail === "cells" ? { cells: seqs.flatMap((s) => topProbabilities(s.logits, model.config.vocab_size)) } : {}),
      };
    });
  let last: StepReport | undefined;
  const steps = recurse(model.network, encoded.flatMap((e) => e.sequences), opts.maxSteps, opts.halt);
  for (;;) {
    const t0 = performance.now();
    const next = steps.next();
    if (next.done) break;
    const ms = performance.now() - t0;
    last = next.value;
    const step = last.step;
    const active = new Set(last.sequences.flatMap((s, j) => (s.steps === step ? [owner[j]] : [])));
    for (const i of active) computeMs[i] += ms;
    if (onStep) await onStep(last.step, summarize(last));
    await nextTurn();
  }
  const total = performance.now() - started;
  return summarize(last!).map((p, i) => ({ ...p, timings: { compute_ms: round(computeMs[i]), total_ms: round(total) } }));
}

const round = (ms: number) => Math.round(ms * 10) / 10;
