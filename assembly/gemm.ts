// GEMM: C (m, n) = A (m, k) · B (k, n), optionally C += A·B.
//
// B is packed once into "panels" of 8 columns:           // (ceil(n/8), k, 8)
//   panel p holds, for each kk in 0..k-1, the 8 values B[kk, 8p .. 8p+7],
//   zero past column n. A weight W stored [out, in] (PyTorch Linear) is B = Wᵀ.
// A and C are plain row-major with leading dimensions lda / ldc (in floats),
// so column slices of a wider buffer (one head of qkv) work without copies.
//
// Micro-kernel: 4 rows × 8 columns (8 f32x4 accumulators), one k per
// iteration: two panel loads, four broadcast loads of A, eight fused
// multiply-adds. Blocking: KC values of k at a time (the 8 KiB A tile and the
// 16 KiB B panel stay in L1), NC columns at a time (the packed B block stays
// in L2). KC = 512 covers hidden 512 in one pass, so C is written once; it
// measured 1-4 % faster than 256 on every TRM shape, most on N = 97.

import { exp_f32x4 } from "./vmath";

export const PANEL: i32 = 8;
export const MR: i32 = 4;
export const KC: i32 = 512;
const NC: i32 = 256;

/** Floats needed for B (k, n) packed in panels. */
export function packed_len(k: i32, n: i32): i32 {
  return ((n + PANEL - 1) / PANEL) * PANEL * k;
}

/** Packs W (n, k) row-major with leading dimension ldw (PyTorch [out, in]) as B = Wᵀ. */
export function pack_nk(w: usize, n: i32, k: i32, ldw: i32, out: usize): void {
  const panels = (n + PANEL - 1) / PANEL;
  for (let p = 0; p < panels; p++) {
    const dst = out + <usize>(p * k * PANEL) * 4;
    for (let c = 0; c < PANEL; c++) {
      const col = p * PANEL + c;
      if (col < n) {
        const src = w + <usize>(col * ldw) * 4;
        for (let kk = 0; kk < k; kk++) store<f32>(dst + <usize>(kk * PANEL + c) * 4, load<f32>(src + <usize>kk * 4));
      } else {
        for (let kk = 0; kk < k; kk++) store<f32>(dst + <usize>(kk * PANEL + c) * 4, 0);
      }
    }
  }
}

/** Packs B (k, n) row-major with leading dimension ldb. */
export function pack_kn(b: usize, k: i32, n: i32, ldb: i32, out: usize): void {
  const panels = (n + PANEL - 1) / PANEL;
  for (let p = 0; p < panels; p++) {
    const dst = out + <usize>(p * k * PANEL) * 4;
    const col0 = p * PANEL;
    const cols = min(PANEL, n - col0);
    for (let kk = 0; kk < k; kk++) {
      const src = b + <usize>(kk * ldb + col0) * 4;
      const row = dst + <usize>(kk * PANEL) * 4;
      if (cols == PANEL) {
        v128.store(row, v128.load(src));
        v128.store(row, v128.load(src, 16), 16);
      } else {
        for (let c = 0; c < PANEL; c++) store<f32>(row + <usize>c * 4, c < cols ? load<f32>(src + <usize>c * 4) : 0);
      }
    }
  }
}

// Writes one 8-wide row of the tile: `cols` (1..8) valid columns, adding to C when `add`.
// @ts-ignore: decorator
@inline
export function store_row(c: usize, lo: v128, hi: v128, cols: i32, add: bool): void {
  if (cols == PANEL) {
    if (add) {
      lo = f32x4.add(v128.load(c), lo);
      hi = f32x4.add(v128.load(c, 16), hi);
    }
    v128.store(c, lo);
    v128.store(c, hi, 16);
    return;
  }
  const tmp = memory.data(32, 16);
  v128.store(tmp, lo);
  v128.store(tmp, hi, 16);
  for (let j = 0; j < cols; j++) {
    const v = load<f32>(tmp + <usize>j * 4);
    const dst = c + <usize>j * 4;
    store<f32>(dst, add ? load<f32>(dst) + v : v);
  }
}

// One 4×8 tile over kc values of k: C = A·B, or C += A·B when `add`, or, when
// `resume`, the accumulators start from C's values (a full 4×8 tile), so a
// product run over k in chunks gives the bits of one run over all of k.
// Rows past `rows` read a valid row of A (the caller clamps the pointers) and
// are not stored.
// @ts-ignore: decorator
@inline
export function tile_4x8(
  a0: usize, a1: usize, a2: usize, a3: usize, bp: usize, kc: i32,
  c: usize, ldc: i32, rows: i32, cols: i32, add: bool, resume: bool = false,
): void {
  const rowBytes = <usize>ldc * 4;
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  if (resume) {
    c00 = v128.load(c); c01 = v128.load(c, 16);
    c10 = v128.load(c + rowBytes); c11 = v128.load(c + rowBytes, 16);
    c20 = v128.load(c + 2 * rowBytes); c21 = v128.load(c + 2 * rowBytes, 16);
    c30 = v128.load(c + 3 * rowBytes); c31 = v128.load(c + 3 * rowBytes, 16);
  }
  for (let kk = 0; kk < kc; kk++) {
    const off = <usize>kk * 4;
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    bp += 32;
    let a = v128.load32_splat(a0 + off);
    c00 = f32x4.relaxed_madd(a, b0, c00);
    c01 = f32x4.relaxed_madd(a, b1, c01);
    a = v128.load32_splat(a1 + off);
    c10 = f32x4.relaxed_madd(a, b0, c10);
    c11 = f32x4.relaxed_madd(a, b1, c11);
    a = v128.load32_splat(a2 + off);
    c20 = f32x4.relaxed_madd(a, b0, c20);
    c21 = f32x4.relaxed_madd(a, b1, c21);
    a = v128.load32_splat(a3 + off);
    c30 = f32x4.relaxed_madd(a, b0, c30);
    c31 = f32x4.relaxed_madd(a, b1, c31);
  }
  store_row(c, c00, c01, cols, add);
  if (rows > 1) store_row(c + rowBytes, c10, c11, cols, add);
  if (rows > 2) store_row(c + 2 * rowBytes, c20, c21, cols, add);
  if (rows > 3) store_row(c + 3 * rowBytes, c30, c31, cols, add);
}

// tile_4x8 on rows i .. i+3 of A (m, k) from column k0: rows past the last are
// clamped to it (read, not stored).
// @ts-ignore: decorator
@inline
export function tile_rows_4x8(
  a: usize, lda: i32, m: i32, i: i32, k0: i32, bp: usize, kc: i32,
  c: usize, ldc: i32, cols: i32, add: bool, resume: bool = false,
): void {
  const last = m - 1;
  const a0 = a + <usize>(i * lda + k0) * 4;
  const a1 = a + <usize>(min(i + 1, last) * lda + k0) * 4;
  const a2 = a + <usize>(min(i + 2, last) * lda + k0) * 4;
  const a3 = a + <usize>(min(i + 3, last) * lda + k0) * 4;
  tile_4x8(a0, a1, a2, a3, bp, kc, c, ldc, min(MR, m - i), cols, add, resume);
}

/**
 * C (m, n) = A (m, k) · B, or C += A · B when `accumulate`; B packed by pack_nk / pack_kn.
 * k == 0 writes zeros (or leaves C unchanged when accumulating).
 */
export function gemm(
  m: i32, n: i32, k: i32,
  a: usize, lda: i32,
  packed: usize,
  c: usize, ldc: i32,
  accumulate: bool,
): void {
  if (k == 0) {
    if (!accumulate) for (let i = 0; i < m; i++) memory.fill(c + <usize>(i * ldc) * 4, 0, <usize>n * 4);
    return;
  }
  const panels = (n + PANEL - 1) / PANEL;
  const panelsPerBlock = NC / PANEL;
  for (let k0 = 0; k0 < k; k0 += KC) {
    const kc = min(KC, k - k0);
    const add = accumulate || k0 > 0;
    for (let p0 = 0; p0 < panels; p0 += panelsPerBlock) {
      const p1 = min(panels, p0 + panelsPerBlock);
      for (let i = 0; i < m; i += MR) {
        const crow = c + <usize>(i * ldc) * 4;
        for (let p = p0; p < p1; p++) {
          const bp = packed + <usize>((p * k + k0) * PANEL) * 4;
          tile_rows_4x8(a, lda, m, i, k0, bp, kc, crow + <usize>(p * PANEL) * 4, ldc, min(PANEL, n - p * PANEL), add);
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------
// GEMM with the SwiGLU epilogue: out (m, inter) = silu(A·Gᵀ) · (A·Uᵀ), where
// the official gate_up_proj weight W (2·inter, k) holds G = its first inter
// rows and U = the rest. Packing puts gate panel j and up panel j side by
// side, so one 4×8 tile of each over the whole of k gives 4×8 outputs at
// once: the (m, 2·inter) gate/up product is never written, and the separate
// swiglu pass over it goes away. The two tiles go through a 4×8 scratch in L1.

/** Floats needed for a gate_up weight packed by pack_swiglu. */
export function packed_swiglu_len(k: i32, inter: i32): i32 {
  return 2 * packed_len(k, inter);
}

/** Packs W (2·inter, k) row-major with leading dimension ldw ([gate rows | up rows]) in panel pairs. */
export function pack_swiglu(w: usize, inter: i32, k: i32, ldw: i32, out: usize): void {
  const pairs = (inter + PANEL - 1) / PANEL;
  for (let j = 0; j < pairs; j++) {
    const cols = min(PANEL, inter - j * PANEL);
    const dst = out + <usize>(2 * j * k * PANEL) * 4;
    pack_nk(w + <usize>(j * PANEL * ldw) * 4, cols, k, ldw, dst);
    pack_nk(w + <usize>((inter + j * PANEL) * ldw) * 4, cols, k, ldw, dst + <usize>(k * PANEL) * 4);
  }
}

/** dst (rows, cols) = silu(gate) · up from two 4×8 tiles (leading dimension 8); silu(g) = g / (1 + e^-g). */
// @ts-ignore: decorator
@inline
export function swiglu_rows(gate: usize, up: usize, dst: usize, ldd: i32, rows: i32, cols: i32): void {
  const one = f32x4.splat(1);
  for (let r = 0; r < rows; r++) {
    const o = <usize>(r * PANEL) * 4;
    const g0 = v128.load(gate + o);
    const g1 = v128.load(gate + o, 16);
    const s0 = f32x4.div(g0, f32x4.add(one, exp_f32x4(f32x4.neg(g0))));
    const s1 = f32x4.div(g1, f32x4.add(one, exp_f32x4(f32x4.neg(g1))));
    store_row(dst + <usize>(r * ldd) * 4, f32x4.mul(s0, v128.load(up + o)), f32x4.mul(s1, v128.load(up + o, 16)), cols, false);
  }
}

// Panel pairs per block: 8 pairs over k = 512 is 256 KiB of packed weights (stays in L2).
const SWIGLU_PAIRS: i32 = 8;

/**
 * out (m, inter) = silu(A·Gᵀ) · (A·Uᵀ), A (m, k) with leading dimension lda,
 * out with leading dimension ldo; packed by pack_swiglu. silu(g) = g / (1 + e^-g),
 * as in swiglu (activation.ts). k == 0 gives zeros.
 */
export function gemm_swiglu(
  m: i32, inter: i32, k: i32,
  a: usize, lda: i32,
  packed: usize,
  out: usize, ldo: i32,
): void {
  const gate = memory.data(MR * PANEL * 4, 16); // 4×8 scratch tiles
  const up = memory.data(MR * PANEL * 4, 16);
  const pairs = (inter + PANEL - 1) / PANEL;
  const panelBytes = <usize>(k * PANEL) * 4;
  for (let p0 = 0; p0 < pairs; p0 += SWIGLU_PAIRS) {
    const p1 = min(pairs, p0 + SWIGLU_PAIRS);
    for (let i = 0; i < m; i += MR) {
      for (let p = p0; p < p1; p++) {
        const bp = packed + <usize>(2 * p) * panelBytes;
        tile_rows_4x8(a, lda, m, i, 0, bp, k, gate, PANEL, PANEL, false);
        tile_rows_4x8(a, lda, m, i, 0, bp + panelBytes, k, up, PANEL, PANEL, false);
        swiglu_rows(gate, up, out + <usize>(i * ldo + p * PANEL) * 4, ldo, min(MR, m - i), min(PANEL, inter - p * PANEL));
      }
    }
  }
}
