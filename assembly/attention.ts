// Bidirectional multi-head attention for one sequence:
//   out_h = softmax(q_h k_hᵀ / sqrt(d)) v_h, for each head h.
// Query rows go QB at a time, so at most one (QB, seq) block of one head's
// scores exists at once.
import { gemm, pack_kn, pack_nk } from "./gemm";
import { softmax_rows } from "./activation";

export const QB: i32 = 64;

/**
 * qkv (seq, 3·heads·d): [q heads | k heads | v heads], RoPE already applied.
 * out (seq, heads·d). Scratch: kpack packed_len(d, seq), vpack packed_len(seq, d), scores (QB, seq).
 */
export function attention(
  qkv: usize, seq: i32, heads: i32, d: i32, out: usize,
  kpack: usize, vpack: usize, scores: usize,
): void {
  const hidden = heads * d;
  const ld = 3 * hidden;
  const scale: f32 = <f32>1 / Mathf.sqrt(<f32>d);
  for (let h = 0; h < heads; h++) {
    const q = qkv + <usize>(h * d) * 4;
    const k = qkv + <usize>(hidden + h * d) * 4;
    const v = qkv + <usize>(2 * hidden + h * d) * 4;
    pack_nk(k, seq, d, ld, kpack); // Kᵀ (d, seq)
    pack_kn(v, seq, d, ld, vpack); // V (seq, d)
    for (let q0 = 0; q0 < seq; q0 += QB) {
      const rows = min(QB, seq - q0);
      gemm(rows, seq, d, q + <usize>(q0 * ld) * 4, ld, kpack, scores, seq, false);
      softmax_rows(scores, rows, seq, seq, scale);
      gemm(rows, d, seq, scores, seq, vpack, out + <usize>(q0 * hidden + h * d) * 4, hidden, false);
    }
  }
}
