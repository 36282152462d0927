// Bidirectional multi-head attention for one sequence:
//   out_h = softmax(q_h k_hᵀ / sqrt(d)) v_h, for each head h.
// Tile by tile with an online softmax: QB query rows against KB keys at a
// time, keeping per query row the running max and sum, and rescaling the
// partial output when the max grows (softmax_block). The scores never exceed
// one (QB, KB) block, whatever the sequence length; K and V are packed per
// head, (seq, d) each.
import { gemm, pack_kn, pack_nk, packed_len } from "./gemm";
import { softmax_block } from "./activation";

export const QB: i32 = 64;
// Keys per block: a multiple of the GEMM panel (8), so a key block is whole
// panels of Kᵀ. 64 KiB of scores; at 916 positions 128 measured 3 % slower
// than one block per row, 256 and 512 within 1 % of it.
export const KB: i32 = 256;

/** Floats for V packed one key block at a time: ceil(seq / KB) blocks of packed (KB, d). */
export function attention_vpack_len(seq: i32, d: i32): i32 {
  return (seq + KB - 1) / KB * packed_len(KB, d);
}

/** Floats of scores scratch: one (QB, KB) block, then per query row its running max, sum and rescale factor. */
export function attention_scores_len(): i32 {
  return QB * KB + 3 * QB;
}

/** Row r of x (rows, cols), row stride ld, times factors[r]. */
// @ts-ignore: decorator
@inline
function scale_rows(x: usize, rows: i32, cols: i32, ld: i32, factors: usize): void {
  for (let r = 0; r < rows; r++) {
    const row = x + <usize>(r * ld) * 4;
    const f = load<f32>(factors + <usize>r * 4);
    const vf = f32x4.splat(f);
    let j = 0;
    for (; j + 4 <= cols; j += 4) v128.store(row + <usize>j * 4, f32x4.mul(v128.load(row + <usize>j * 4), vf));
    for (; j < cols; j++) store<f32>(row + <usize>j * 4, load<f32>(row + <usize>j * 4) * f);
  }
}

/**
 * qkv (seq, 3·heads·d): [q heads | k heads | v heads], RoPE already applied.
 * out (seq, heads·d). Scratch: kpack packed_len(d, seq), vpack attention_vpack_len(seq, d),
 * scores attention_scores_len().
 */
export function attention(
  qkv: usize, seq: i32, heads: i32, d: i32, out: usize,
  kpack: usize, vpack: usize, scores: usize,
): void {
  const hidden = heads * d;
  const ld = 3 * hidden;
  const scale: f32 = <f32>1 / Mathf.sqrt(<f32>d);
  const rowMax = scores + <usize>(QB * KB) * 4; // (QB)
  const rowSum = rowMax + <usize>QB * 4; // (QB)
  const factor = rowSum + <usize>QB * 4; // (QB)
  const vblock = <usize>packed_len(KB, d) * 4; // bytes of one packed V block
  for (let h = 0; h < heads; h++) {
    const q = qkv + <usize>(h * d) * 4;
    const k = qkv + <usize>(hidden + h * d) * 4;
    const v = qkv + <usize>(2 * hidden + h * d) * 4;
    pack_nk(k, seq, d, ld, kpack); // Kᵀ (d, seq): keys k0.. start at float k0·d
    for (let k0 = 0; k0 < seq; k0 += KB) {
      pack_kn(v + <usize>(k0 * ld) * 4, min(KB, seq - k0), d, ld, vpack + <usize>(k0 / KB) * vblock); // V block (keys, d)
    }
    for (let q0 = 0; q0 < seq; q0 += QB) {
      const rows = min(QB, seq - q0);
      const o = out + <usize>(q0 * hidden + h * d) * 4; // (rows, d), row stride hidden
      for (let r = 0; r < rows; r++) {
        store<f32>(rowMax + <usize>r * 4, -Infinity);
        store<f32>(rowSum + <usize>r * 4, 0);
      }
      for (let k0 = 0; k0 < seq; k0 += KB) {
        const keys = min(KB, seq - k0);
        gemm(rows, keys, d, q + <usize>(q0 * ld) * 4, ld, kpack + <usize>(k0 * d) * 4, scores, KB, false);
        softmax_block(scores, rows, keys, KB, scale, rowMax, rowSum, factor);
        if (k0 > 0) scale_rows(o, rows, d, hidden, factor); // the blocks so far, to the new max
        gemm(rows, d, keys, scores, KB, vpack + <usize>(k0 / KB) * vblock, o, hidden, k0 > 0);
      }
      for (let r = 0; r < rows; r++) store<f32>(factor + <usize>r * 4, <f32>1 / load<f32>(rowSum + <usize>r * 4));
      scale_rows(o, rows, d, hidden, factor);
    }
  }
}
