// int8 GEMM: C (m, n) ≈ A (m, k) · B (k, n) with B quantised per output
// column (int8, scale = max |column| / 127) and A quantised per row on the fly
// (7 bits, scale = max |row| / 63), accumulated exactly in i32.
//
// The multiply is i32x4.relaxed_dot_i8x16_i7x16_add_s, whose second operand
// is only portable in [0, 127] (x64 reads it unsigned, Arm signed). So the
// weights are the signed operand and a row of A is stored offset by 64:
// u = round(x / s_a) + 64 in [1, 127]. Then
//   Σ_k u·w = Σ_k q·w + 64·Σ_k w
// and the packed panel carries 64·Σ_k w per column to subtract. A pair of
// products is at most 2·127·127 = 32258, so the x64 lowering (pmaddubsw,
// which saturates pairs to i16) stays exact.
//
// B is packed once into panels of 8 columns, k in groups of 4:
//   panel p = [scale f32 ×8][64·Σw i32 ×8][groups: (ceil(k/4), 8 columns, 4 k) i8]
// so one 16-byte load gives 4 columns × 4 values of k, lined up with a 4-byte
// broadcast of one row of A. The whole of k stays in one pass (a 12 KiB panel
// for k = 1536), so there is no k blocking; i32 sums are exact for k < 130000.

import { PANEL, store_row, swiglu_rows } from "./gemm";

const MR: i32 = 4;
const GROUP: i32 = 4; // values of k per dot lane
const HEADER: i32 = 64; // bytes: 8 scales + 8 corrections
const OFFSET: i32 = 64; // zero point of the quantised rows of A
const Q_A: f32 = 63; // A levels each side of zero
const Q_B: f32 = 127; // B levels each side of zero
const PANELS_PER_BLOCK: i32 = 32; // 256 columns: at k = 1536, 384 KiB of panels stay in L2

/** Bytes of one quantised row of A, and of k in a packed panel column: k rounded up to a group. */
function row_bytes(k: i32): i32 {
  return (k + GROUP - 1) / GROUP * GROUP;
}

/** Bytes of one packed panel. */
function panel_bytes(k: i32): i32 {
  return HEADER + row_bytes(k) * PANEL;
}

/** Bytes needed for B (k, n) packed by pack_nk_i8. */
export function packed_i8_bytes(k: i32, n: i32): i32 {
  return (n + PANEL - 1) / PANEL * panel_bytes(k);
}

/** Scratch bytes gemm_i8 / gemm_swiglu_i8 need for an A of (m, k). */
export function quantized_rows_bytes(m: i32, k: i32): i32 {
  return m * row_bytes(k) + m * 4;
}

/**
 * Quantises W (n, k) row-major with leading dimension ldw (PyTorch [out, in])
 * per output channel and packs B = Wᵀ into panels. Columns past n are zero.
 */
export function pack_nk_i8(w: usize, n: i32, k: i32, ldw: i32, out: usize): void {
  const panels = (n + PANEL - 1) / PANEL;
  for (let p = 0; p < panels; p++) {
    const dst = out + <usize>(p * panel_bytes(k));
    memory.fill(dst, 0, <usize>panel_bytes(k));
    for (let c = 0; c < PANEL; c++) {
      const col = p * PANEL + c;
      if (col >= n) continue;
      const src = w + <usize>(col * ldw) * 4;
      let maxAbs: f32 = 0;
      for (let kk = 0; kk < k; kk++) maxAbs = max(maxAbs, abs(load<f32>(src + <usize>kk * 4)));
      const inv: f32 = maxAbs > 0 ? Q_B / maxAbs : 0;
      let sum: i32 = 0;
      for (let kk = 0; kk < k; kk++) {
        const q = <i32>nearest(load<f32>(src + <usize>kk * 4) * inv);
        sum += q;
        const g = kk / GROUP;
        store<i8>(dst + <usize>(HEADER + (g * PANEL + c) * GROUP + kk % GROUP), <i8>q);
      }
      store<f32>(dst + <usize>c * 4, maxAbs / Q_B);
      store<i32>(dst + <usize>(32 + c * 4), OFFSET * sum);
    }
  }
}

// x·inv + (1.5·2^23 + 64) lands in [2^23, 2^24), where floats are the
// integers: the addition rounds x·inv to nearest (ties to even, as nearest())
// and its bits minus those of 1.5·2^23 are round(x·inv) + 64. V8 expands
// nearest + trunc_sat into long sequences; this is two instructions.
const ROUND_MAGIC: f32 = 12582912.0; // 1.5 · 2^23

// @ts-ignore: decorator
@inline
function quantize_i32x4(x: v128, inv: v128): v128 {
  const y = f32x4.add(f32x4.mul(x, inv), f32x4.splat(ROUND_MAGIC + <f32>OFFSET));
  return i32x4.sub(y, i32x4.splat(reinterpret<i32>(ROUND_MAGIC)));
}

/**
 * Quantises A (m, k), leading dimension lda, into `out`: m rows of
 * row_bytes(k) bytes (round(x / s) + 64, padding 64), then m f32 scales s.
 * Rounds as the scalar reference does: the product x·(63 / max) in float32,
 * then to nearest, ties to even.
 */
export function quantize_rows(a: usize, m: i32, k: i32, lda: i32, out: usize): void {
  const ldq = row_bytes(k);
  const scales = out + <usize>(m * ldq);
  const k16 = k & ~15;
  const k4 = k & ~3;
  for (let i = 0; i < m; i++) {
    const row = a + <usize>(i * lda) * 4;
    // relaxed_max with x second: x64 returns the second operand when either is NaN
    let v0 = f32x4.splat(0), v1 = f32x4.splat(0), v2 = f32x4.splat(0), v3 = f32x4.splat(0);
    for (let kk = 0; kk < k16; kk += 16) {
      const p = row + <usize>kk * 4;
      v0 = f32x4.relaxed_max(v0, f32x4.abs(v128.load(p)));
      v1 = f32x4.relaxed_max(v1, f32x4.abs(v128.load(p, 16)));
      v2 = f32x4.relaxed_max(v2, f32x4.abs(v128.load(p, 32)));
      v3 = f32x4.relaxed_max(v3, f32x4.abs(v128.load(p, 48)));
    }
    for (let kk = k16; kk < k4; kk += 4) v0 = f32x4.relaxed_max(v0, f32x4.abs(v128.load(row + <usize>kk * 4)));
    const v = f32x4.max(f32x4.max(v0, v1), f32x4.max(v2, v3));
    let maxAbs = max(max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)), max(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
    for (let kk = k4; kk < k; kk++) maxAbs = max(maxAbs, abs(load<f32>(row + <usize>kk * 4)));
    const inv: f32 = maxAbs > 0 ? Q_A / maxAbs : 0;
    store<f32>(scales + <usize>i * 4, maxAbs / Q_A);

    const dst = out + <usize>(i * ldq);
    const vinv = f32x4.splat(inv);
    for (let kk = 0; kk < k16; kk += 16) {
      const p = row + <usize>kk * 4;
      const lo = i16x8.narrow_i32x4_s(quantize_i32x4(v128.load(p), vinv), quantize_i32x4(v128.load(p, 16), vinv));
      const hi = i16x8.narrow_i32x4_s(quantize_i32x4(v128.load(p, 32), vinv), quantize_i32x4(v128.load(p, 48), vinv));
      v128.store(dst + <usize>kk, i8x16.narrow_i16x8_u(lo, hi));
    }
    for (let kk = k16; kk < k4; kk += 4) {
      const q = quantize_i32x4(v128.load(row + <usize>kk * 4), vinv);
      const q16 = i16x8.narrow_i32x4_s(q, q);
      store<u32>(dst + <usize>kk, i32x4.extract_lane(i8x16.narrow_i16x8_u(q16, q16), 0));
    }
    for (let kk = k4; kk < ldq; kk++) {
      const q: i32 = kk < k ? <i32>nearest(load<f32>(row + <usize>kk * 4) * inv) + OFFSET : OFFSET;
      store<u8>(dst + <usize>kk, <u8>q);
    }
  }
}

// One 4×8 tile over the whole of k: rows i..i+3 of the quantised A in
// `quantized` (rows past m read row m-1 and are not stored) against one
// packed panel, dequantised into C (written, or added when `add`).
// @ts-ignore: decorator
@inline
function tile_i8_4x8(
  quantized: usize, m: i32, k: i32, i: i32,
  panel: usize, c: usize, ldc: i32, rows: i32, cols: i32, add: bool,
): void {
  const ldq = row_bytes(k);
  const last = m - 1;
  const q0 = quantized + <usize>(i * ldq);
  const q1 = quantized + <usize>(min(i + 1, last) * ldq);
  const q2 = quantized + <usize>(min(i + 2, last) * ldq);
  const q3 = quantized + <usize>(min(i + 3, last) * ldq);
  let c00 = i32x4.splat(0), c01 = i32x4.splat(0);
  let c10 = i32x4.splat(0), c11 = i32x4.splat(0);
  let c20 = i32x4.splat(0), c21 = i32x4.splat(0);
  let c30 = i32x4.splat(0), c31 = i32x4.splat(0);
  let bp = panel + HEADER;
  for (let off: usize = 0; off < <usize>ldq; off += GROUP) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    bp += 32;
    let a = v128.load32_splat(q0 + off);
    c00 = i32x4.relaxed_dot_i8x16_i7x16_add_s(b0, a, c00);
    c01 = i32x4.relaxed_dot_i8x16_i7x16_add_s(b1, a, c01);
    a = v128.load32_splat(q1 + off);
    c10 = i32x4.relaxed_dot_i8x16_i7x16_add_s(b0, a, c10);
    c11 = i32x4.relaxed_dot_i8x16_i7x16_add_s(b1, a, c11);
    a = v128.load32_splat(q2 + off);
    c20 = i32x4.relaxed_dot_i8x16_i7x16_add_s(b0, a, c20);
    c21 = i32x4.relaxed_dot_i8x16_i7x16_add_s(b1, a, c21);
    a = v128.load32_splat(q3 + off);
    c30 = i32x4.relaxed_dot_i8x16_i7x16_add_s(b0, a, c30);
    c31 = i32x4.relaxed_dot_i8x16_i7x16_add_s(b1, a, c31);
  }
  const scales = quantized + <usize>(m * ldq);
  const sb0 = v128.load(panel);
  const sb1 = v128.load(panel, 16);
  const z0 = v128.load(panel, 32);
  const z1 = v128.load(panel, 48);
  const rowBytes = <usize>ldc * 4;
  let sa = load<f32>(scales + <usize>i * 4);
  store_row(c, dequantize(c00, z0, sb0, sa), dequantize(c01, z1, sb1, sa), cols, add);
  if (rows > 1) {
    sa = load<f32>(scales + <usize>(i + 1) * 4);
    store_row(c + rowBytes, dequantize(c10, z0, sb0, sa), dequantize(c11, z1, sb1, sa), cols, add);
  }
  if (rows > 2) {
    sa = load<f32>(scales + <usize>(i + 2) * 4);
    store_row(c + 2 * rowBytes, dequantize(c20, z0, sb0, sa), dequantize(c21, z1, sb1, sa), cols, add);
  }
  if (rows > 3) {
    sa = load<f32>(scales + <usize>(i + 3) * 4);
    store_row(c + 3 * rowBytes, dequantize(c30, z0, sb0, sa), dequantize(c31, z1, sb1, sa), cols, add);
  }
}

/** (acc - 64·Σw) · s_b · s_a on four columns. */
// @ts-ignore: decorator
@inline
function dequantize(acc: v128, correction: v128, sb: v128, sa: f32): v128 {
  return f32x4.mul(f32x4.convert_i32x4_s(i32x4.sub(acc, correction)), f32x4.mul(sb, f32x4.splat(sa)));
}

/**
 * C (m, n) ≈ A (m, k) · B, or C += A · B when `accumulate`; B packed by
 * pack_nk_i8, A quantised into `scratch` (quantized_rows_bytes(m, k) bytes) first.
 */
export function gemm_i8(
  m: i32, n: i32, k: i32,
  a: usize, lda: i32,
  packed: usize,
  c: usize, ldc: i32,
  accumulate: bool,
  scratch: usize,
): void {
  quantize_rows(a, m, k, lda, scratch);
  const panels = (n + PANEL - 1) / PANEL;
  const pb = panel_bytes(k);
  for (let p0 = 0; p0 < panels; p0 += PANELS_PER_BLOCK) {
    const p1 = min(panels, p0 + PANELS_PER_BLOCK);
    for (let i = 0; i < m; i += MR) {
      const rows = min(MR, m - i);
      const crow = c + <usize>(i * ldc) * 4;
      for (let p = p0; p < p1; p++) {
        tile_i8_4x8(scratch, m, k, i, packed + <usize>(p * pb), crow + <usize>(p * PANEL) * 4, ldc, rows, min(PANEL, n - p * PANEL), accumulate);
      }
    }
  }
}

/** Bytes needed for a gate_up weight packed by pack_swiglu_i8. */
export function packed_swiglu_i8_bytes(k: i32, inter: i32): i32 {
  return 2 * packed_i8_bytes(k, inter);
}

/** Quantises and packs W (2·inter, k) ([gate rows | up rows]) in panel pairs, as pack_swiglu does for f32. */
export function pack_swiglu_i8(w: usize, inter: i32, k: i32, ldw: i32, out: usize): void {
  const pairs = (inter + PANEL - 1) / PANEL;
  const pb = panel_bytes(k);
  for (let j = 0; j < pairs; j++) {
    const cols = min(PANEL, inter - j * PANEL);
    const dst = out + <usize>(2 * j * pb);
    pack_nk_i8(w + <usize>(j * PANEL * ldw) * 4, cols, k, ldw, dst);
    pack_nk_i8(w + <usize>((inter + j * PANEL) * ldw) * 4, cols, k, ldw, dst + <usize>pb);
  }
}

// Panel pairs per block: 8 pairs over k = 512 is 64 KiB of packed weights.
const SWIGLU_PAIRS: i32 = 8;

/**
 * out (m, inter) ≈ silu(A·Gᵀ) · (A·Uᵀ) as gemm_swiglu, with the weights packed
 * by pack_swiglu_i8 and A quantised into `scratch` (quantized_rows_bytes(m, k)).
 */
export function gemm_swiglu_i8(
  m: i32, inter: i32, k: i32,
  a: usize, lda: i32,
  packed: usize,
  out: usize, ldo: i32,
  scratch: usize,
): void {
  const gate = memory.data(4 * PANEL * 4, 16); // 4×8 scratch tiles
  const up = memory.data(4 * PANEL * 4, 16);
  quantize_rows(a, m, k, lda, scratch);
  const pairs = (inter + PANEL - 1) / PANEL;
  const pb = panel_bytes(k);
  for (let p0 = 0; p0 < pairs; p0 += SWIGLU_PAIRS) {
    const p1 = min(pairs, p0 + SWIGLU_PAIRS);
    for (let i = 0; i < m; i += MR) {
      for (let p = p0; p < p1; p++) {
        const panel = packed + <usize>(2 * p * pb);
        tile_i8_4x8(scratch, m, k, i, panel, gate, PANEL, MR, PANEL, false);
        tile_i8_4x8(scratch, m, k, i, panel + <usize>pb, up, PANEL, MR, PANEL, false);
        swiglu_rows(gate, up, out + <usize>(i * ldo + p * PANEL) * 4, ldo, min(MR, m - i), min(PANEL, inter - p * PANEL));
      }
    }
  }
}
