// GEMM on bfloat16-resident weights: C (m, n) = A (m, k) · B with A and C in
// f32 and B's values stored as bf16 (the top 16 bits of an f32), so weights
// take half the memory and half the read bandwidth of gemm.ts. The blocking
// and the 4×8 micro-kernel are gemm.ts's (gemm_panels / gemm_swiglu_panels);
// only the panel row differs: 8 bf16 values in 16 bytes, lane j of the
// i32x4 holding column j in its low half and column j + 4 in its high half,
// so `shl 16` widens columns 0-3 and `and 0xffff0000` columns 4-7, exactly
// (bf16 → f32 is exact), and products and sums are the f32 kernel's own:
// the same weights give the same bits as gemm on their f32 widening.

import { PANEL, gemm_panels, gemm_swiglu_panels } from "./gemm";

/** Bytes needed for B (k, n) packed in bf16 panels. */
export function packed_bf16_bytes(k: i32, n: i32): i32 {
  return ((n + PANEL - 1) / PANEL) * PANEL * k * 2;
}

/** Packs W (n, k) of bf16 bits, row-major with leading dimension ldw (PyTorch [out, in]), as B = Wᵀ. */
export function pack_nk_bf16(w: usize, n: i32, k: i32, ldw: i32, out: usize): void {
  const panels = (n + PANEL - 1) / PANEL;
  for (let p = 0; p < panels; p++) {
    const dst = out + <usize>(p * k * PANEL) * 2;
    for (let c = 0; c < PANEL; c++) {
      const col = p * PANEL + c;
      const lane = c < 4 ? 2 * c : 2 * (c - 4) + 1; // u16 slot within the 16-byte row
      if (col < n) {
        const src = w + <usize>(col * ldw) * 2;
        for (let kk = 0; kk < k; kk++) store<u16>(dst + <usize>(kk * PANEL + lane) * 2, load<u16>(src + <usize>kk * 2));
      } else {
        for (let kk = 0; kk < k; kk++) store<u16>(dst + <usize>(kk * PANEL + lane) * 2, 0);
      }
    }
  }
}

/** C (m, n) = A (m, k) · B, or C += A · B when `accumulate`; B packed by pack_nk_bf16. k == 0 as gemm. */
export function gemm_bf16(
  m: i32, n: i32, k: i32,
  a: usize, lda: i32,
  packed: usize,
  c: usize, ldc: i32,
  accumulate: bool,
): void {
  gemm_panels<u16>(m, n, k, a, lda, packed, c, ldc, accumulate);
}

/** Bytes needed for a gate_up weight packed by pack_swiglu_bf16. */
export function packed_swiglu_bf16_bytes(k: i32, inter: i32): i32 {
  return 2 * packed_bf16_bytes(k, inter);
}

/** Packs W (2·inter, k) of bf16 bits ([gate rows | up rows]) in panel pairs, as pack_swiglu does. */
export function pack_swiglu_bf16(w: usize, inter: i32, k: i32, ldw: i32, out: usize): void {
  const pairs = (inter + PANEL - 1) / PANEL;
  for (let j = 0; j < pairs; j++) {
    const cols = min(PANEL, inter - j * PANEL);
    const dst = out + <usize>(2 * j * k * PANEL) * 2;
    pack_nk_bf16(w + <usize>(j * PANEL * ldw) * 2, cols, k, ldw, dst);
    pack_nk_bf16(w + <usize>((inter + j * PANEL) * ldw) * 2, cols, k, ldw, dst + <usize>(k * PANEL) * 2);
  }
}

/** out (m, inter) = silu(A·Gᵀ) · (A·Uᵀ) on weights packed by pack_swiglu_bf16; as gemm_swiglu otherwise. */
export function gemm_swiglu_bf16(
  m: i32, inter: i32, k: i32,
  a: usize, lda: i32,
  packed: usize,
  out: usize, ldo: i32,
): void {
  gemm_swiglu_panels<u16>(m, inter, k, a, lda, packed, out, ldo);
}
