// The recursion of TRM (official trm.py, TinyRecursiveReasoningModel_ACTV1)
// and HRM (hrm_act_v1.py, HierarchicalReasoningModel_ACTV1): every
// supervision step runs H_cycles times
//   { L_cycles times z_L = L_level(z_L, z_H + x);  z_H = H_level(z_H, z_L) }
// then reads the answer from z_H (lm_head) and the halting logits from its
// first position (q_head). The carry (z_H, z_L) persists across steps.
// HRM's two levels are separate stacks of blocks; TRM is the case where both
// levels are the same network. Network implementations (scalar reference,
// WASM SIMD) supply the levels.
import type { ModelConfig } from "./config.ts";
import type { Level } from "./pack.ts";
import { type Puzzle } from "./inputs.ts";

/** One sequence's carry and input, kept outside any network between steps. */
export interface SequenceState {
  x: Float32Array; // (P + seq, H) input embeddings
  zH: Float32Array; // (P + seq, H)
  zL: Float32Array; // (P + seq, H)
}

export interface Readout {
  logits: Float32Array[]; // per sequence (seq, V)
  qHalt: Float32Array; // (B)
  qContinue: Float32Array; // (B)
}

/**
 * A network over a batch of sequences; T is its handle for a (B, P + seq, H)
 * activation. All calls are synchronous: the workspace is only valid inside
 * one supervision step, so nothing in it survives an await.
 */
export interface Network<T> {
  readonly config: ModelConfig;
  /** Most sequences one load may hold (bounds working memory); larger batches go in groups. */
  readonly maxBatch: number;
  /** A fresh carry (H_init / L_init broadcast over positions) and the input embeddings. */
  start(puzzle: Puzzle): SequenceState;
  /** Copies the sequences into working buffers. */
  load(batch: SequenceState[]): { zH: T; zL: T; x: T };
  /** z = level(z, a + b): z + (a + b), then every block of that level. */
  update(level: Level, z: T, a: T, b?: T): void;
  /** lm_head on the token positions of z_H; q_head on position 0. */
  readout(zH: T): Readout;
  /** Copies the carries back into the sequences. */
  store(batch: SequenceState[]): void;
}

/** Overrides of the trained recursion: fewer high-level cycles per step costs less (ARC's `h_cycles`). */
export interface RecursionOptions {
  hCycles?: number;
}

/** One supervision step for a batch, in place on the sequences' carries. */
export function supervisionStep<T>(net: Network<T>, batch: SequenceState[], opts: RecursionOptions = {}): Readout {
  const { L_cycles } = net.config.arch;
  const H_cycles = opts.hCycles ?? net.config.arch.H_cycles;
  const { zH, zL, x } = net.load(batch);
  for (let h = 0; h < H_cycles; h++) {
    for (let l = 0; l < L_cycles; l++) net.update("L", zL, zH, x); // z_L = L_level(z_L, z_H + x)
    net.update("H", zH, zL); // z_H = H_level(z_H, z_L)
  }
  const out = net.readout(zH);
  net.store(batch);
  return out;
}

export type HaltMode = "fixed" | "adaptive";

/** The Q-head's verdict: q_halt > 0, or q_halt > q_continue when the model was trained with the continue loss. */
export function wantsHalt(config: ModelConfig, qHalt: number, qContinue: number): boolean {
  return config.arch.no_ACT_continue ? qHalt > 0 : qHalt > qContinue;
}

export interface SequenceStep {
  logits: Float32Array; // (seq, V)
  preds: Int32Array; // (seq) argmax, first index on ties
  qHalt: number;
  qContinue: number;
  halted: boolean;
  steps: number; // supervision steps this sequence has run
}

export interface StepReport {
  step: number;
  sequences: SequenceStep[]; // a halted sequence repeats its last result
}

/**
 * Runs up to maxSteps supervision steps, yielding after each. "fixed" is the
 * official evaluation (every sequence runs all steps); "adaptive" stops a
 * sequence at its first step whose Q-head says halt (q_halt > 0, or
 * q_halt > q_continue when the model was trained with the continue loss, as
 * every HRM is). The caller may stop more sequences after a step by passing
 * their indices to `next()` (e.g. those whose answer already passes the task's check).
 */
export function* recurse<T>(
  net: Network<T>, puzzles: Puzzle[], maxSteps: number, halt: HaltMode, opts: RecursionOptions = {},
): Generator<StepReport, void, Iterable<number> | undefined> {
  const states = puzzles.map((p) => net.start(p));
  const last: SequenceStep[] = [];
  for (let step = 1; step <= maxSteps; step++) {
    const active = puzzles.map((_, i) => i).filter((i) => !last[i]?.halted);
    if (active.length === 0) return;
    for (let g = 0; g < active.length; g += net.maxBatch) {
      const group = active.slice(g, g + net.maxBatch);
      const out = supervisionStep(net, group.map((i) => states[i]), opts);
      group.forEach((i, j) => {
        const qHalt = out.qHalt[j];
        const qContinue = out.qContinue[j];
        last[i] = {
          logits: out.logits[j],
          preds: argmaxRows(out.logits[j], net.config.vocab_size),
          qHalt,
          qContinue,
          halted: step >= maxSteps || (halt === "adaptive" && wantsHalt(net.config, qHalt, qContinue)),
          steps: step,
        };
      });
    }
    const stop = yield { step, sequences: [...last] };
    for (const i of stop ?? []) last[i] = { ...last[i], halted: true };
  }
}

/** Row-wise argmax of a (rows, cols) matrix; the first index wins ties, like torch.argmax. */
export function argmaxRows(m: Float32Array, cols: number): Int32Array {
  const rows = m.length / cols;
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < cols; c++) if (m[r * cols + c] > m[r * cols + best]) best = c;
    out[r] = best;
  }
  return out;
}
