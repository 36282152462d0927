// Per-cell confidence for the `"detail": "cells"` solve option: at each answer
// position, the softmax probability of the token the model predicts there
// (the argmax), i.e. how sure the lm_head is of the cell it shows.

/** (seq, vocab) logits -> (seq) top probabilities, rounded to 3 decimals to keep step events small. */
export function topProbabilities(logits: Float32Array, vocab: number): number[] {
  const rows = logits.length / vocab;
  const out: number[] = new Array(rows);
  for (let r = 0; r < rows; r++) {
    const row = logits.subarray(r * vocab, (r + 1) * vocab);
    let max = -Infinity;
    for (const v of row) max = Math.max(max, v);
    let sum = 0;
    for (const v of row) sum += Math.exp(v - max);
    out[r] = Math.round(1000 / sum) / 1000; // p(argmax) = exp(0) / sum
  }
  return out;
}
