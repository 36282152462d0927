// What goes into the recursion: checked puzzles, their input embeddings and
// the RoPE tables. Shared by every network implementation, computed once per
// request (not per network call), in float32 like the official code.
import { TrmError } from "../errors.ts";
import { type ModelConfig, dims } from "./config.ts";
import type { Weights } from "./pack.ts";
import type { SequenceState } from "./recursion.ts";

export interface Puzzle {
  tokens: Int32Array; // (seq_len) token ids in [0, vocab)
  puzzleId: number; // row of the puzzle embedding, in [0, num_puzzle_identifiers)
  embedding?: Float32Array; // (puzzle_emb_ndim) that row itself, for packs whose table is read per request (ARC)
}

/**
 * Checks one token sequence and puzzle id against the config. `where` names
 * them in errors (e.g. "inputs[3]"); `status` is the HTTP status to report.
 */
export function checkPuzzle(
  cfg: ModelConfig, seq: unknown, id: unknown,
  where: { tokens: string; id: string }, status = 400,
): Puzzle {
  const bad = (code: string, message: string): never => {
    throw new TrmError(code, message, status);
  };
  if (!Array.isArray(seq)) bad("bad_inputs", `${where.tokens} is not an array of token ids`);
  const row = seq as unknown[];
  if (row.length !== cfg.seq_len) bad("bad_sequence_length", `${where.tokens} has ${row.length} tokens, the model needs ${cfg.seq_len}`);
  const tokens = new Int32Array(cfg.seq_len);
  row.forEach((t, i) => {
    if (typeof t !== "number" || !Number.isInteger(t) || t < 0 || t >= cfg.vocab_size) {
      bad("token_out_of_vocab", `${where.tokens}[${i}] = ${JSON.stringify(t)} is not a token id in [0, ${cfg.vocab_size})`);
    }
    tokens[i] = t as number;
  });
  if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id >= cfg.num_puzzle_identifiers) {
    bad("puzzle_id_out_of_range", `${where.id} = ${JSON.stringify(id)} is not in [0, ${cfg.num_puzzle_identifiers})`);
  }
  return { tokens, puzzleId: id as number };
}

/** The `trm run` input: {"inputs": [[token, ...], ...], "puzzle_identifiers": [id, ...]} (ids default to 0). */
export function checkPuzzles(cfg: ModelConfig, inputs: unknown, puzzleIds: unknown): Puzzle[] {
  if (!Array.isArray(inputs) || inputs.length === 0) throw new TrmError("bad_inputs", "inputs must be a non-empty array of token arrays");
  const ids = puzzleIds ?? inputs.map(() => 0);
  if (!Array.isArray(ids) || ids.length !== inputs.length) {
    throw new TrmError("bad_puzzle_identifiers", `puzzle_identifiers must be an array with one id per input (${inputs.length})`);
  }
  return inputs.map((seq, b) => checkPuzzle(cfg, seq, ids[b], { tokens: `inputs[${b}]`, id: `puzzle_identifiers[${b}]` }));
}

/**
 * sqrt(H) · concat(puzzle_emb(id) zero-padded to P·H viewed (P, H), embed_tokens(tokens)),
 * with learned positions 0.707106781 · (emb + pos) before the scale.   // (P + seq, H)
 */
export function inputEmbeddings(cfg: ModelConfig, w: Weights, puzzle: Puzzle): Float32Array {
  const d = dims(cfg);
  const H = d.hidden;
  const x = new Float32Array(d.positions * H);
  const ndim = cfg.arch.puzzle_emb_ndim;
  if (puzzle.embedding) {
    if (puzzle.embedding.length !== ndim) throw new TrmError("bad_embedding_row", `a puzzle-embedding row has ${puzzle.embedding.length} values, the model needs ${ndim}`);
    x.set(puzzle.embedding, 0);
  } else if (w.puzzleEmb) {
    x.set(w.puzzleEmb.subarray(puzzle.puzzleId * ndim, (puzzle.puzzleId + 1) * ndim), 0);
  } else if (ndim > 0) {
    throw new TrmError("missing_embedding_row", "this pack reads its puzzle-embedding rows per request, and none was given");
  }
  for (let i = 0; i < d.seqLen; i++) {
    const t = puzzle.tokens[i];
    x.set(w.embedTokens.subarray(t * H, (t + 1) * H), (d.puzzleLen + i) * H);
  }
  // The official code multiplies float32 tensors by Python floats, which PyTorch rounds to float32.
  if (w.embedPos) {
    const half = Math.fround(0.707106781);
    for (let i = 0; i < x.length; i++) x[i] = Math.fround(half * Math.fround(x[i] + w.embedPos[i]));
  }
  const scale = Math.fround(Math.sqrt(H));
  for (let i = 0; i < x.length; i++) x[i] = Math.fround(scale * x[i]);
  return x;
}

/** A fresh carry (H_init / L_init broadcast over positions) and the input embeddings. */
export function startSequence(cfg: ModelConfig, w: Weights, puzzle: Puzzle): SequenceState {
  const { positions, hidden } = dims(cfg);
  const zH = new Float32Array(positions * hidden);
  const zL = new Float32Array(positions * hidden);
  for (let p = 0; p < positions; p++) {
    zH.set(w.HInit, p * hidden);
    zL.set(w.LInit, p * hidden);
  }
  return { x: inputEmbeddings(cfg, w, puzzle), zH, zL };
}

/**
 * cos and sin of concat(freqs, freqs), freqs = outer(positions, inv_freq),
 * inv_freq = 1 / theta^(2i / d), every step rounded to float32 as PyTorch does.   // (P + seq, d) each
 */
export function ropeTables(cfg: ModelConfig): { cos: Float32Array; sin: Float32Array } {
  const { positions, headDim } = dims(cfg);
  const half = headDim / 2;
  const invFreq = Array.from({ length: half }, (_, i) =>
    Math.fround(1 / Math.fround(Math.pow(cfg.rope_theta, Math.fround((2 * i) / headDim)))),
  );
  const cos = new Float32Array(positions * headDim);
  const sin = new Float32Array(positions * headDim);
  for (let p = 0; p < positions; p++) {
    for (let i = 0; i < half; i++) {
      const f = Math.fround(p * invFreq[i]);
      for (const j of [i, i + half]) {
        cos[p * headDim + j] = Math.cos(f);
        sin[p * headDim + j] = Math.sin(f);
      }
    }
  }
  return { cos, sin };
}
