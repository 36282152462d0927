// GEMM on bfloat16-resident weights: C (m, n) = A (m, k) · B with A and C in
// f32 and B's values stored as bf16 (the top 16 bits of an f32), so weights
// take half the memory and half the read bandwidth of gemm.ts. A panel row is
// 8 bf16 values in 16 bytes, lane j of the i32x4 holding column j in its low
// half and column j + 4 in its high half, so `shl 16` widens columns 0-3 and
// `and 0xffff0000` columns 4-7, exactly (bf16 → f32 is exact).
//
// Why widen into a scratch panel instead of in the micro-kernel: widening in
// registers adds a shift and an AND to every 8 FMAs, and on this machine (AMD
// EPYC) that kernel measured ~5 % slower than the f32 one on every shape (the
// likely cause: vector shifts issue on one of the two FMA pipes on AMD Zen).
// Here a (kc, 8) piece of a panel is widened once into a 16 KiB f32 scratch
// (in L1) and gemm.ts's own 4×8 micro-kernel runs on it for MC rows of A (the
// MC × kc block of A stays in L2), so the widening is spread over MC / 4
// tiles. The products and sums are the f32 kernel's in the
// same order (KC blocks added to C as gemm does; the SwiGLU tiles resume
// their accumulators across chunks of k), so the same weights give the same
// bits as gemm / gemm_swiglu on their f32 widening.

import { KC, MR, PANEL, gemm, swiglu_rows, tile_rows_4x8 } from "./gemm";

// Rows of A per block: 128 × KC floats of A is 256 KiB (stays in L2).
const MC: i32 = 128;
// k per widened SwiGLU chunk: the gate and up pieces (2 × 128 × 8 floats) and
// the block's gate and up accumulators (2 × MC × 8 floats) fill the same 16 KiB.
const SWIGLU_KC: i32 = 128;
// One scratch for both kernels (they never run at once): the (KC, 8) widened
// panel of gemm_bf16, or the four SwiGLU pieces. Static data is part of the
// .wasm file (zeros included), so it is kept to this one 16 KiB.
const SCRATCH_BYTES: i32 = KC * PANEL * 4;
const scratch = memory.data(SCRATCH_BYTES, 16);

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

/** dst (kc, 8) f32 = rows of a bf16 panel (kc rows of 16 bytes, from src), widened. */
// @ts-ignore: decorator
@inline
function widen_panel(src: usize, kc: i32, dst: usize): void {
  const high = i32x4.splat(0xffff0000);
  for (let kk = 0; kk < kc; kk++) {
    const v = v128.load(src + <usize>kk * 16);
    const row = dst + <usize>kk * 32;
    v128.store(row, i32x4.shl(v, 16));
    v128.store(row, v128.and(v, high), 16);
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
  if (k == 0) return gemm(m, n, 0, a, lda, packed, c, ldc, accumulate);
  const wide = scratch; // (kc, 8) f32
  const panels = (n + PANEL - 1) / PANEL;
  for (let k0 = 0; k0 < k; k0 += KC) {
    const kc = min(KC, k - k0);
    const add = accumulate || k0 > 0;
    for (let i0 = 0; i0 < m; i0 += MC) {
      const i1 = min(m, i0 + MC);
      for (let p = 0; p < panels; p++) {
        widen_panel(packed + <usize>((p * k + k0) * PANEL) * 2, kc, wide);
        const cp = c + <usize>(p * PANEL) * 4;
        const cols = min(PANEL, n - p * PANEL);
        for (let i = i0; i < i1; i += MR) tile_rows_4x8(a, lda, m, i, k0, wide, kc, cp + <usize>(i * ldc) * 4, ldc, cols, add);
      }
    }
  }
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
  const piece = <usize>(SWIGLU_KC * PANEL) * 4;
  const wideGate = scratch; // (kc, 8) f32
  const wideUp = scratch + piece;
  const gate = scratch + 2 * piece; // (MC, 8) accumulators of the block's rows
  const up = gate + <usize>(MC * PANEL) * 4;
  const pairs = (inter + PANEL - 1) / PANEL;
  const panelBytes = <usize>(k * PANEL) * 2;
  for (let p = 0; p < pairs; p++) {
    const gp = packed + <usize>(2 * p) * panelBytes;
    const cols = min(PANEL, inter - p * PANEL);
    for (let i0 = 0; i0 < m; i0 += MC) {
      const i1 = min(m, i0 + MC);
      if (k == 0) {
        memory.fill(gate, 0, <usize>(MC * PANEL) * 4);
        memory.fill(up, 0, <usize>(MC * PANEL) * 4);
      }
      for (let k0 = 0; k0 < k; k0 += SWIGLU_KC) {
        const kc = min(SWIGLU_KC, k - k0);
        widen_panel(gp + <usize>(k0 * PANEL) * 2, kc, wideGate);
        widen_panel(gp + panelBytes + <usize>(k0 * PANEL) * 2, kc, wideUp);
        for (let i = i0; i < i1; i += MR) {
          const row = <usize>((i - i0) * PANEL) * 4;
          tile_rows_4x8(a, lda, m, i, k0, wideGate, kc, gate + row, PANEL, PANEL, false, k0 > 0);
          tile_rows_4x8(a, lda, m, i, k0, wideUp, kc, up + row, PANEL, PANEL, false, k0 > 0);
        }
      }
      for (let i = i0; i < i1; i += MR) {
        const row = <usize>((i - i0) * PANEL) * 4;
        swiglu_rows(gate + row, up + row, out + <usize>(i * ldo + p * PANEL) * 4, ldo, min(MR, m - i), cols);
      }
    }
  }
}
