// The WASM SIMD kernels against plain scalar references, on awkward sizes:
// tails of the 4-wide vectors, partial 4×8 GEMM tiles, the KC/NC blocks and
// the attention query block, strided rows whose padding must stay untouched.
import { describe, expect, it } from "vitest";
import { Arena, ensureMemory, instantiateKernels } from "../../src/engine/kernels.ts";
import { nodeKernelModule } from "../../src/engine/node.ts";
import { attention, linear, linearInt8, rmsNorm, ropeHead, swigluActivation, transpose } from "../../src/engine/reference.ts";
import { toBFloat16 } from "../../src/engine/safetensors.ts";

const { kernels: K, memory } = instantiateKernels(nodeKernelModule());

/** Written around outputs: a kernel must leave it as it is. */
const SENTINEL = -7777.25;
/** Written into input padding: a kernel that reads it turns its output into NaN. */
const POISON = NaN;

/** Seeded uniform floats in [lo, hi) (mulberry32), so failures reproduce. */
function randomSource(seed: number) {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return (n: number, lo = -1, hi = 1): Float32Array => Float32Array.from({ length: n }, () => lo + (hi - lo) * next());
}

/** Float buffers in the kernels' memory, from heap_base up; views are made afresh since growing detaches the old ones. */
class Heap {
  private readonly arena = new Arena(K.heap_base());

  alloc(floats: number, fill = SENTINEL): number {
    const ptr = this.arena.alloc(floats);
    ensureMemory(memory, this.arena.end);
    this.view(ptr, floats).fill(fill);
    return ptr;
  }

  put(data: Float32Array): number {
    const ptr = this.alloc(data.length);
    this.view(ptr, data.length).set(data);
    return ptr;
  }

  read(ptr: number, floats: number): Float32Array {
    return this.view(ptr, floats).slice();
  }

  private view(ptr: number, floats: number): Float32Array {
    return new Float32Array(memory.buffer, ptr, floats);
  }
}

/** dense (rows, cols) laid out with leading dimension ld, `pad` in columns [cols, ld). */
function strided(dense: Float32Array, rows: number, cols: number, ld: number, pad: number): Float32Array {
  const out = new Float32Array(rows * ld).fill(pad);
  for (let r = 0; r < rows; r++) out.set(dense.subarray(r * cols, (r + 1) * cols), r * ld);
  return out;
}

/** The (rows, cols) block of a buffer with leading dimension ld, packed densely. */
function dense(buf: Float32Array, rows: number, cols: number, ld: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) out.set(buf.subarray(r * ld, r * ld + cols), r * cols);
  return out;
}

/** |got - ref| <= atol + rtol·|ref| everywhere (NaN fails); the message names the worst element. */
function expectClose(got: ArrayLike<number>, ref: ArrayLike<number>, atol: number, rtol: number, what: string): void {
  expect(got.length, `${what}: length`).toBe(ref.length);
  let bad = 0, worst = 0, worstRatio = -1, maxErr = 0;
  for (let i = 0; i < ref.length; i++) {
    const err = Math.abs(got[i] - ref[i]);
    const ratio = Number.isNaN(err) ? Infinity : err / (atol + rtol * Math.abs(ref[i]));
    if (!(err <= atol + rtol * Math.abs(ref[i]))) bad++;
    if (ratio > worstRatio) [worst, worstRatio] = [i, ratio];
    if (!(err <= maxErr)) maxErr = err;
  }
  const msg = `${what}: ${bad}/${ref.length} outside ${atol} + ${rtol}·|ref|, max |err| ${maxErr}; worst [${worst}] got ${got[worst]} ref ${ref[worst]}`;
  expect(bad, msg).toBe(0);
}

/** Bitwise-equal floats (NaN equals NaN); the message names the first difference. */
function expectSame(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  let first = -1;
  for (let i = 0; i < want.length && first < 0; i++) if (!Object.is(got[i], want[i])) first = i;
  expect(first, `${what}: first difference at [${first}]: got ${got[first]}, want ${want[first]}`).toBe(-1);
}

/** Every element of buf outside the (rows, cols) block (leading dimension ld) still holds SENTINEL. */
function expectUntouchedOutside(buf: Float32Array, rows: number, cols: number, ld: number, what: string): void {
  let first = -1;
  for (let i = 0; i < buf.length && first < 0; i++) {
    const outside = Math.floor(i / ld) >= rows || i % ld >= cols;
    if (outside && buf[i] !== SENTINEL) first = i;
  }
  expect(first, `${what}: wrote outside its ${rows}x${cols} block at row ${Math.floor(first / ld)}, column ${first % ld}: ${buf[first]}`).toBe(-1);
}

/** Largest |got/ref - 1| over elements with ref != 0. */
function maxRelativeError(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < ref.length; i++) if (ref[i] !== 0) max = Math.max(max, Math.abs(got[i] / ref[i] - 1));
  return max;
}

// ---------------------------------------------------------------------------

const AWKWARD = [1, 2, 3, 4, 5, 7, 8, 9, 13, 17, 31, 33, 63, 65, 97];
const MR = 4; // rows of the micro-kernel: the most a partial tile could overrun

interface GemmCase {
  m: number;
  n: number;
  k: number;
  packing: "nk" | "kn";
  accumulate: boolean;
}

/**
 * One GEMM with every operand strided: A (lda = k+3), W (ldw = k+2) or B (ldb = n+3)
 * with POISON padding, C (ldc = n+5) with SENTINEL padding and MR SENTINEL rows after it.
 * C starts random when accumulating, POISON when overwriting (it must not be read).
 */
function checkGemm({ m, n, k, packing, accumulate }: GemmCase, random: ReturnType<typeof randomSource>): void {
  const what = `gemm pack_${packing} m=${m} n=${n} k=${k} accumulate=${accumulate}`;
  const heap = new Heap();
  const [lda, ldc] = [k + 3, n + 5];
  const a = random(m * k);
  const w = random(n * k); // W (n, k) = Bᵀ
  const cOld = accumulate ? random(m * n) : new Float32Array(m * n).fill(POISON);

  const len = K.packed_len(k, n);
  const packed = heap.alloc(len + 8);
  if (packing === "nk") {
    K.pack_nk(heap.put(strided(w, n, k, k + 2, POISON)), n, k, k + 2, packed);
  } else {
    K.pack_kn(heap.put(strided(transpose(w, n, k), k, n, n + 3, POISON)), k, n, n + 3, packed);
  }
  expectSame(heap.read(packed + len * 4, 8), new Float32Array(8).fill(SENTINEL), `${what}: floats past packed_len`);

  const cBuf = new Float32Array((m + MR) * ldc).fill(SENTINEL);
  cBuf.set(strided(cOld, m, n, ldc, SENTINEL));
  const c = heap.put(cBuf);
  K.gemm(m, n, k, heap.put(strided(a, m, k, lda, POISON)), lda, packed, c, ldc, accumulate);

  const product = linear(a, m, k, w, n);
  const ref = accumulate ? product.map((v, i) => v + cOld[i]) : product;
  const tol = 1e-5 * Math.sqrt(k); // 0 when k = 0: zeros, or C exactly unchanged
  const got = heap.read(c, cBuf.length);
  expectClose(dense(got, m, n, ldc), ref, tol, tol, what);
  expectUntouchedOutside(got, m, n, ldc, what);
}

function* cases(ms: number[], ns: number[], ks: number[], accumulates = [false, true]): Generator<GemmCase> {
  for (const packing of ["nk", "kn"] as const) {
    for (const accumulate of accumulates) {
      for (const m of ms) for (const n of ns) for (const k of ks) yield { m, n, k, packing, accumulate };
    }
  }
}

describe("gemm", () => {
  it.each(["nk", "kn"] as const)("matches the reference for every m, n, k in %s packing, overwriting C", (packing) => {
    const random = randomSource(1);
    for (const m of AWKWARD) for (const n of AWKWARD) for (const k of AWKWARD) checkGemm({ m, n, k, packing, accumulate: false }, random);
  });

  it("adds A·B to the existing C when accumulating", () => {
    const random = randomSource(2);
    for (const c of cases([1, 3, 4, 5, 9, 33], [1, 5, 8, 17, 65], [1, 4, 9, 31, 97], [true])) checkGemm(c, random);
  });

  it("crosses the KC = 512 block of k", () => {
    const random = randomSource(3);
    for (const c of cases([1, 4, 5, 7], [1, 8, 9, 17], [255, 511, 512, 513, 600, 1024, 1025, 1537])) checkGemm(c, random);
  });

  it("crosses the NC = 256 block of n, also with k past KC", () => {
    const random = randomSource(4);
    for (const c of cases([1, 3, 4, 5], [255, 256, 257, 264, 300, 520], [1, 7, 33, 300, 513])) checkGemm(c, random);
  });

  it("with k = 0 writes zeros, or leaves C unchanged when accumulating", () => {
    const random = randomSource(5);
    for (const c of cases([1, 2, 5], [1, 9, 300], [0])) checkGemm(c, random);
  });
});

// ---------------------------------------------------------------------------

/**
 * gemm_swiglu on (m, k) × W (2·inter, k) with every operand strided: A (lda = k+3)
 * and W (ldw = k+2) with POISON padding, out (ldo = inter+5) with SENTINEL padding
 * and MR SENTINEL rows after it. Reference: silu(a·gᵀ)·(a·uᵀ) in float64.
 */
function checkGemmSwiglu(m: number, inter: number, k: number, random: ReturnType<typeof randomSource>, scale = 1): void {
  const what = `gemm_swiglu m=${m} inter=${inter} k=${k}`;
  const heap = new Heap();
  const [lda, ldw, ldo] = [k + 3, k + 2, inter + 5];
  const a = random(m * k, -scale, scale);
  const w = random(2 * inter * k);
  const len = K.packed_swiglu_len(k, inter);
  expect(len, `${what}: packed length`).toBe(2 * K.packed_len(k, inter));
  const packed = heap.alloc(len + 8);
  K.pack_swiglu(heap.put(strided(w, 2 * inter, k, ldw, POISON)), inter, k, ldw, packed);
  expectSame(heap.read(packed + len * 4, 8), new Float32Array(8).fill(SENTINEL), `${what}: floats past packed_swiglu_len`);

  const outBuf = new Float32Array((m + MR) * ldo).fill(SENTINEL);
  const out = heap.put(outBuf);
  K.gemm_swiglu(m, inter, k, heap.put(strided(a, m, k, lda, POISON)), lda, packed, out, ldo);

  const ref = new Float64Array(m * inter);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < inter; j++) {
      let g = 0, u = 0;
      for (let kk = 0; kk < k; kk++) {
        g += a[i * k + kk] * w[j * k + kk];
        u += a[i * k + kk] * w[(inter + j) * k + kk];
      }
      ref[i * inter + j] = (g / (1 + Math.exp(-g))) * u;
    }
  }
  const tol = 2e-5 * Math.sqrt(k) * scale * scale;
  const got = heap.read(out, outBuf.length);
  expectClose(dense(got, m, inter, ldo), ref, tol, tol, what);
  expectUntouchedOutside(got, m, inter, ldo, what);
}

describe("gemm_swiglu", () => {
  it("matches silu(A·Gᵀ)·(A·Uᵀ) for awkward m, inter, k", () => {
    const random = randomSource(6);
    for (const m of [1, 2, 3, 4, 5, 7, 9, 13, 33]) {
      for (const inter of [1, 3, 7, 8, 9, 16, 17, 65, 72]) for (const k of [1, 4, 5, 31, 97]) checkGemmSwiglu(m, inter, k, random);
    }
  });

  it("crosses its block of 8 panel pairs and long k", () => {
    const random = randomSource(7);
    for (const [m, inter, k] of [[5, 63, 257], [4, 64, 300], [9, 65, 513], [3, 130, 769], [97, 136, 97]]) checkGemmSwiglu(m, inter, k, random);
  });

  it("stays finite and accurate for gates far into silu's tails", () => {
    const random = randomSource(8);
    for (const [m, inter, k] of [[3, 9, 31], [5, 17, 64]]) checkGemmSwiglu(m, inter, k, random, 4);
  });

  it("with k = 0 writes zeros", () => {
    const random = randomSource(9);
    for (const [m, inter] of [[1, 1], [5, 9], [3, 70]]) checkGemmSwiglu(m, inter, 0, random);
  });

  it("agrees with gemm followed by swiglu on an official shape (97 × 512 → 1536)", () => {
    const [m, k, inter] = [97, 512, 1536];
    const random = randomSource(10);
    const heap = new Heap();
    const a = heap.put(random(m * k));
    const w = heap.put(random(2 * inter * k, -0.05, 0.05));
    const fusedPacked = heap.alloc(K.packed_swiglu_len(k, inter));
    K.pack_swiglu(w, inter, k, k, fusedPacked);
    const fused = heap.alloc(m * inter);
    K.gemm_swiglu(m, inter, k, a, k, fusedPacked, fused, inter);
    const packed = heap.alloc(K.packed_len(k, 2 * inter));
    K.pack_nk(w, 2 * inter, k, k, packed);
    const gu = heap.alloc(m * 2 * inter);
    K.gemm(m, 2 * inter, k, a, k, packed, gu, 2 * inter, false);
    const two = heap.alloc(m * inter);
    K.swiglu(gu, m, inter, two);
    // the same products summed in another order (one pass over k instead of KC blocks)
    expectClose(heap.read(fused, m * inter), heap.read(two, m * inter), 1e-6, 1e-5, "fused vs gemm + swiglu");
  });
});

// ---------------------------------------------------------------------------

/** Floats of room for `bytes` bytes. */
const floatsFor = (bytes: number) => Math.ceil(bytes / 4);

/**
 * gemm_i8 with every operand strided as in checkGemm, against linearInt8 (the
 * same quantisation and exact integer sums): equal to the last bit, also the
 * accumulated C = fround(C + A·B). Checks that packing and quantising stay
 * inside packed_i8_bytes and quantized_rows_bytes.
 */
function checkGemmI8(m: number, n: number, k: number, accumulate: boolean, random: ReturnType<typeof randomSource>): void {
  const what = `gemm_i8 m=${m} n=${n} k=${k} accumulate=${accumulate}`;
  const heap = new Heap();
  const [lda, ldw, ldc] = [k + 3, k + 2, n + 5];
  const a = random(m * k, -3, 3);
  const w = random(n * k, -0.1, 0.1);
  const cOld = accumulate ? random(m * n) : new Float32Array(m * n).fill(POISON);
  const packedFloats = floatsFor(K.packed_i8_bytes(k, n));
  const packed = heap.alloc(packedFloats + 8);
  K.pack_nk_i8(heap.put(strided(w, n, k, ldw, POISON)), n, k, ldw, packed);
  expectSame(heap.read(packed + packedFloats * 4, 8), new Float32Array(8).fill(SENTINEL), `${what}: past packed_i8_bytes`);
  const scratchFloats = floatsFor(K.quantized_rows_bytes(m, k));
  const scratch = heap.alloc(scratchFloats + 8);

  const cBuf = new Float32Array((m + MR) * ldc).fill(SENTINEL);
  cBuf.set(strided(cOld, m, n, ldc, SENTINEL));
  const c = heap.put(cBuf);
  K.gemm_i8(m, n, k, heap.put(strided(a, m, k, lda, POISON)), lda, packed, c, ldc, accumulate, scratch);
  expectSame(heap.read(scratch + scratchFloats * 4, 8), new Float32Array(8).fill(SENTINEL), `${what}: past quantized_rows_bytes`);

  const product = linearInt8(a, m, k, w, n);
  const ref = accumulate ? Float32Array.from(product, (v, i) => v + cOld[i]) : product;
  const got = heap.read(c, cBuf.length);
  expectSame(dense(got, m, n, ldc), ref, what);
  expectUntouchedOutside(got, m, n, ldc, what);
}

describe("gemm_i8", () => {
  it("equals the int8 reference for every awkward m, n, k, overwriting C", () => {
    const random = randomSource(21);
    for (const m of AWKWARD) for (const n of AWKWARD) for (const k of AWKWARD) checkGemmI8(m, n, k, false, random);
  });

  it("adds to the existing C when accumulating", () => {
    const random = randomSource(22);
    for (const m of [1, 3, 4, 5, 9, 33]) for (const n of [1, 5, 8, 17, 65]) for (const k of [1, 4, 9, 31, 97]) checkGemmI8(m, n, k, true, random);
  });

  it("crosses its block of 32 panels and long k", () => {
    const random = randomSource(23);
    for (const [m, n, k] of [[5, 255, 33], [4, 256, 7], [3, 257, 100], [7, 520, 513], [2, 9, 1537], [5, 17, 2048]]) {
      for (const accumulate of [false, true]) checkGemmI8(m, n, k, accumulate, random);
    }
  });

  it("with k = 0 writes zeros, or leaves C unchanged when accumulating", () => {
    const random = randomSource(24);
    for (const [m, n] of [[1, 1], [5, 9], [3, 300]]) for (const accumulate of [false, true]) checkGemmI8(m, n, 0, accumulate, random);
  });

  it("gives zeros for a zero row of A or a zero channel of W, and stays finite for a row of one huge value", () => {
    const [m, n, k] = [6, 10, 37];
    const random = randomSource(25);
    const heap = new Heap();
    const a = random(m * k);
    a.fill(0, 2 * k, 3 * k); // row 2 all zero
    a.fill(0, 4 * k, 5 * k);
    a[4 * k + 5] = 3e4; // row 4: one value, the rest zero
    const w = random(n * k);
    w.fill(0, 7 * k, 8 * k); // channel 7 all zero
    const packed = heap.alloc(floatsFor(K.packed_i8_bytes(k, n)));
    K.pack_nk_i8(heap.put(w), n, k, k, packed);
    const c = heap.alloc(m * n);
    K.gemm_i8(m, n, k, heap.put(a), k, packed, c, n, false, heap.alloc(floatsFor(K.quantized_rows_bytes(m, k))));
    const got = heap.read(c, m * n);
    expectSame(got, linearInt8(a, m, k, w, n), "gemm_i8 with zero rows and channels");
    for (let j = 0; j < n; j++) expect(got[2 * n + j]).toBe(0);
    for (let i = 0; i < m; i++) expect(got[i * n + 7]).toBe(0);
    expect(got.every(Number.isFinite), "all finite").toBe(true);
  });

  it("stays within 2 % (rms) of the float32 product on an official shape (97 × 512 → 1536)", () => {
    const [m, k, n] = [97, 512, 1536];
    const random = randomSource(26);
    const heap = new Heap();
    const a = random(m * k);
    const w = random(n * k, -0.05, 0.05);
    const packed = heap.alloc(floatsFor(K.packed_i8_bytes(k, n)));
    K.pack_nk_i8(heap.put(w), n, k, k, packed);
    const c = heap.alloc(m * n);
    K.gemm_i8(m, n, k, heap.put(a), k, packed, c, n, false, heap.alloc(floatsFor(K.quantized_rows_bytes(m, k))));
    const got = heap.read(c, m * n);
    const exact = linear(a, m, k, w, n);
    let err = 0, norm = 0;
    for (let i = 0; i < exact.length; i++) [err, norm] = [err + (got[i] - exact[i]) ** 2, norm + exact[i] ** 2];
    expect(Math.sqrt(err / norm)).toBeLessThan(0.02);
  });
});

/**
 * gemm_swiglu_i8 strided as in checkGemmSwiglu, against silu(g)·u of the int8
 * reference's gate and up products (equal but for exp and float32 rounding).
 */
function checkGemmSwigluI8(m: number, inter: number, k: number, random: ReturnType<typeof randomSource>): void {
  const what = `gemm_swiglu_i8 m=${m} inter=${inter} k=${k}`;
  const heap = new Heap();
  const [lda, ldw, ldo] = [k + 3, k + 2, inter + 5];
  const a = random(m * k);
  const w = random(2 * inter * k);
  const bytes = K.packed_swiglu_i8_bytes(k, inter);
  expect(bytes, `${what}: packed bytes`).toBe(2 * K.packed_i8_bytes(k, inter));
  const packed = heap.alloc(floatsFor(bytes) + 8);
  K.pack_swiglu_i8(heap.put(strided(w, 2 * inter, k, ldw, POISON)), inter, k, ldw, packed);
  expectSame(heap.read(packed + floatsFor(bytes) * 4, 8), new Float32Array(8).fill(SENTINEL), `${what}: past packed_swiglu_i8_bytes`);

  const outBuf = new Float32Array((m + MR) * ldo).fill(SENTINEL);
  const out = heap.put(outBuf);
  const scratch = heap.alloc(floatsFor(K.quantized_rows_bytes(m, k)));
  K.gemm_swiglu_i8(m, inter, k, heap.put(strided(a, m, k, lda, POISON)), lda, packed, out, ldo, scratch);

  const ref = swigluActivation(linearInt8(a, m, k, w, 2 * inter), m, inter);
  const got = heap.read(out, outBuf.length);
  expectClose(dense(got, m, inter, ldo), ref, 1e-6, 2e-6, what);
  expectUntouchedOutside(got, m, inter, ldo, what);
}

describe("gemm_swiglu_i8", () => {
  it("matches silu(A·Gᵀ)·(A·Uᵀ) of the int8 reference for awkward m, inter, k", () => {
    const random = randomSource(27);
    for (const m of [1, 2, 3, 4, 5, 7, 9, 13, 33]) {
      for (const inter of [1, 3, 7, 8, 9, 16, 17, 65, 72]) for (const k of [0, 1, 4, 5, 31, 97]) checkGemmSwigluI8(m, inter, k, random);
    }
  });

  it("crosses its block of 8 panel pairs and long k", () => {
    const random = randomSource(28);
    for (const [m, inter, k] of [[5, 63, 257], [4, 64, 300], [9, 65, 513], [3, 130, 1537]]) checkGemmSwigluI8(m, inter, k, random);
  });
});

// ---------------------------------------------------------------------------

/** bf16 bits of dense (rows, cols) laid out with leading dimension ld, `pad` bits in columns [cols, ld). */
function stridedBf16(dense: Float32Array, rows: number, cols: number, ld: number, pad: number): Uint16Array {
  const bits = new Uint16Array(toBFloat16(dense).buffer);
  const out = new Uint16Array(rows * ld).fill(pad);
  for (let r = 0; r < rows; r++) out.set(bits.subarray(r * cols, (r + 1) * cols), r * ld);
  return out;
}

/** The float32 values of bf16-rounded x (exact: bf16 is the top half of an f32). */
const bf16Rounded = (x: Float32Array) => new Float32Array(Uint32Array.from(new Uint16Array(toBFloat16(x).buffer), (b) => b << 16).buffer);

/** u16 data put in the heap (as floats' worth of room), returning its pointer. */
function putU16(heap: Heap, bits: Uint16Array): number {
  const ptr = heap.alloc(Math.ceil(bits.length / 2));
  new Uint16Array(memory.buffer, ptr, bits.length).set(bits);
  return ptr;
}

const BF16_NAN = 0x7fc0; // poison in bf16 weight padding

/**
 * gemm_bf16 with every operand strided as in checkGemm (W's padding a bf16 NaN):
 * equal to the last bit to gemm on the f32 widening of the same weights (the same
 * products in the same order), and within checkGemm's tolerance of the reference.
 */
function checkGemmBf16(m: number, n: number, k: number, accumulate: boolean, random: ReturnType<typeof randomSource>): void {
  const what = `gemm_bf16 m=${m} n=${n} k=${k} accumulate=${accumulate}`;
  const heap = new Heap();
  const [lda, ldw, ldc] = [k + 3, k + 2, n + 5];
  const a = random(m * k);
  const w = bf16Rounded(random(n * k)); // W (n, k) = Bᵀ, values that bf16 holds exactly
  const cOld = accumulate ? random(m * n) : new Float32Array(m * n).fill(POISON);
  const bytes = K.packed_bf16_bytes(k, n);
  expect(bytes, `${what}: packed bytes`).toBe(2 * K.packed_len(k, n));
  const packed = heap.alloc(floatsFor(bytes) + 8);
  K.pack_nk_bf16(putU16(heap, stridedBf16(w, n, k, ldw, BF16_NAN)), n, k, ldw, packed);
  expectSame(heap.read(packed + floatsFor(bytes) * 4, 8), new Float32Array(8).fill(SENTINEL), `${what}: past packed_bf16_bytes`);
  const packedF32 = heap.alloc(K.packed_len(k, n));
  K.pack_nk(heap.put(w), n, k, k, packedF32);

  const cBuf = new Float32Array((m + MR) * ldc).fill(SENTINEL);
  cBuf.set(strided(cOld, m, n, ldc, SENTINEL));
  const [c, cF32] = [heap.put(cBuf), heap.put(cBuf)];
  const aPtr = heap.put(strided(a, m, k, lda, POISON));
  K.gemm_bf16(m, n, k, aPtr, lda, packed, c, ldc, accumulate);
  K.gemm(m, n, k, aPtr, lda, packedF32, cF32, ldc, accumulate);

  const got = heap.read(c, cBuf.length);
  expectSame(got, heap.read(cF32, cBuf.length), `${what} vs gemm on the widened weights`);
  const product = linear(a, m, k, w, n);
  const ref = accumulate ? product.map((v, i) => v + cOld[i]) : product;
  const tol = 1e-5 * Math.sqrt(k);
  expectClose(dense(got, m, n, ldc), ref, tol, tol, what);
  expectUntouchedOutside(got, m, n, ldc, what);
}

describe("gemm_bf16", () => {
  it("equals gemm on the widened weights for every awkward m, n, k, overwriting C", () => {
    const random = randomSource(31);
    for (const m of AWKWARD) for (const n of AWKWARD) for (const k of AWKWARD) checkGemmBf16(m, n, k, false, random);
  });

  it("adds to the existing C when accumulating", () => {
    const random = randomSource(32);
    for (const m of [1, 3, 4, 5, 9, 33]) for (const n of [1, 5, 8, 17, 65]) for (const k of [1, 4, 9, 31, 97]) checkGemmBf16(m, n, k, true, random);
  });

  it("crosses the KC = 512 and NC = 256 blocks and the MC = 128 block of rows", () => {
    const random = randomSource(33);
    for (const [m, n, k] of [[5, 255, 33], [4, 256, 7], [3, 257, 513], [7, 520, 600], [2, 9, 1537], [5, 17, 1025], [129, 17, 513], [258, 9, 31], [131, 33, 97]]) {
      for (const accumulate of [false, true]) checkGemmBf16(m, n, k, accumulate, random);
    }
  });

  it("with k = 0 writes zeros, or leaves C unchanged when accumulating", () => {
    const random = randomSource(34);
    for (const [m, n] of [[1, 1], [5, 9], [3, 300]]) for (const accumulate of [false, true]) checkGemmBf16(m, n, 0, accumulate, random);
  });
});

/** gemm_swiglu_bf16 strided as in checkGemmSwiglu: bit-equal to gemm_swiglu on the widened weights. */
function checkGemmSwigluBf16(m: number, inter: number, k: number, random: ReturnType<typeof randomSource>): void {
  const what = `gemm_swiglu_bf16 m=${m} inter=${inter} k=${k}`;
  const heap = new Heap();
  const [lda, ldw, ldo] = [k + 3, k + 2, inter + 5];
  const a = random(m * k);
  const w = bf16Rounded(random(2 * inter * k));
  const bytes = K.packed_swiglu_bf16_bytes(k, inter);
  expect(bytes, `${what}: packed bytes`).toBe(2 * K.packed_bf16_bytes(k, inter));
  const packed = heap.alloc(floatsFor(bytes) + 8);
  K.pack_swiglu_bf16(putU16(heap, stridedBf16(w, 2 * inter, k, ldw, BF16_NAN)), inter, k, ldw, packed);
  expectSame(heap.read(packed + floatsFor(bytes) * 4, 8), new Float32Array(8).fill(SENTINEL), `${what}: past packed_swiglu_bf16_bytes`);
  const packedF32 = heap.alloc(K.packed_swiglu_len(k, inter));
  K.pack_swiglu(heap.put(w), inter, k, k, packedF32);

  const outBuf = new Float32Array((m + MR) * ldo).fill(SENTINEL);
  const [out, outF32] = [heap.put(outBuf), heap.put(outBuf)];
  const aPtr = heap.put(strided(a, m, k, lda, POISON));
  K.gemm_swiglu_bf16(m, inter, k, aPtr, lda, packed, out, ldo);
  K.gemm_swiglu(m, inter, k, aPtr, lda, packedF32, outF32, ldo);
  const got = heap.read(out, outBuf.length);
  expectSame(got, heap.read(outF32, outBuf.length), `${what} vs gemm_swiglu on the widened weights`);
  const ref = swigluActivation(linear(a, m, k, w, 2 * inter), m, inter);
  const tol = 2e-5 * Math.sqrt(k);
  expectClose(dense(got, m, inter, ldo), ref, tol, tol, what);
  expectUntouchedOutside(got, m, inter, ldo, what);
}

describe("gemm_swiglu_bf16", () => {
  it("equals gemm_swiglu on the widened weights for awkward m, inter, k", () => {
    const random = randomSource(35);
    for (const m of [1, 2, 3, 4, 5, 7, 9, 13, 33]) {
      for (const inter of [1, 3, 7, 8, 9, 16, 17, 65, 72]) for (const k of [0, 1, 4, 5, 31, 97]) checkGemmSwigluBf16(m, inter, k, random);
    }
  });

  it("crosses its block of 8 panel pairs, its chunks of 128 of k and its block of 128 rows", () => {
    const random = randomSource(36);
    for (const [m, inter, k] of [[5, 63, 257], [4, 64, 300], [9, 65, 513], [3, 130, 769], [129, 9, 257], [261, 17, 600], [130, 3, 97]]) checkGemmSwigluBf16(m, inter, k, random);
  });
});

// ---------------------------------------------------------------------------

/** rms_norm_rows on (rows, cols) with leading dimension cols+5, against reference.ts rmsNorm. */
function checkRmsNorm(x: Float32Array, rows: number, cols: number, eps: number, what: string): void {
  const heap = new Heap();
  const ld = cols + 5;
  const ptr = heap.put(strided(x, rows, cols, ld, SENTINEL));
  K.rms_norm_rows(ptr, rows, cols, ld, eps);
  const ref = x.slice();
  rmsNorm(ref, rows, cols, eps);
  const got = heap.read(ptr, rows * ld);
  expectClose(dense(got, rows, cols, ld), ref, 1e-6, 2e-6, what);
  expectUntouchedOutside(got, rows, cols, ld, what);
}

describe("rms_norm_rows", () => {
  it("matches the reference for cols 1..70 with padded rows", () => {
    const random = randomSource(10);
    for (let cols = 1; cols <= 70; cols++) checkRmsNorm(random(3 * cols, -3, 3), 3, cols, 1e-5, `cols=${cols}`);
  });

  it("applies eps where it dominates mean(x²)", () => {
    const random = randomSource(11);
    for (const cols of [5, 33]) checkRmsNorm(random(2 * cols, -1e-3, 1e-3), 2, cols, 1e-2, `cols=${cols} eps=1e-2`);
  });

  it("keeps an all-zero row at zero", () => {
    for (const cols of [1, 7, 16, 19]) checkRmsNorm(new Float32Array(2 * cols), 2, cols, 1e-6, `zero rows, cols=${cols}`);
  });
});

// ---------------------------------------------------------------------------

/** silu(gate) · up per row of gu = [gate | up], in float64. */
function swigluReference(gu: Float32Array, rows: number, inter: number): Float64Array {
  const out = new Float64Array(rows * inter);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < inter; j++) {
      const g = gu[r * 2 * inter + j];
      out[r * inter + j] = (g / (1 + Math.exp(-g))) * gu[r * 2 * inter + inter + j];
    }
  }
  return out;
}

/** swiglu on gu (rows, 2·inter); the output is followed by SENTINEL floats that must survive. */
function runSwiglu(gu: Float32Array, rows: number, inter: number): Float32Array {
  const heap = new Heap();
  const out = heap.alloc(rows * inter + 4);
  K.swiglu(heap.put(gu), rows, inter, out);
  const got = heap.read(out, rows * inter + 4);
  expectSame(got.subarray(rows * inter), new Float32Array(4).fill(SENTINEL), `swiglu rows=${rows} inter=${inter}: floats after the output`);
  return got.subarray(0, rows * inter);
}

describe("swiglu", () => {
  it.each([1, 3, 4, 5, 13, 256])("matches silu(gate)·up within 5e-7 relative for inter=%i", (inter) => {
    const random = randomSource(20 + inter);
    const rows = 3;
    const gu = random(rows * 2 * inter, -10, 10);
    const got = runSwiglu(gu, rows, inter);
    expectClose(got, swigluReference(gu, rows, inter), 1e-30, 5e-7, `inter=${inter}`);
  });

  it("stays finite and accurate for gates up to ±200", () => {
    const inter = 13;
    const gates = [90, -90, 200, -200, 88.7, -88.7, 87.3, -87.3, 100, -100, 30, -30, 0];
    const gu = Float32Array.from([...gates, ...randomSource(21)(inter, 0.5, 2)]);
    const got = runSwiglu(gu, 1, inter);
    expect(got.every(Number.isFinite), `non-finite output: ${Array.from(got)}`).toBe(true);
    expectClose(got, swigluReference(gu, 1, inter), 1e-30, 5e-7, "large gates");
  });
});

// ---------------------------------------------------------------------------

/** softmax(scale · x) per row, in float64. */
function softmaxReference(x: Float32Array, rows: number, cols: number, scale: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const row = x.subarray(r * cols, (r + 1) * cols);
    const max = Math.max(...row);
    let sum = 0;
    for (let j = 0; j < cols; j++) sum += out[r * cols + j] = Math.exp(scale * (row[j] - max));
    for (let j = 0; j < cols; j++) out[r * cols + j] /= sum;
  }
  return out;
}

/**
 * softmax over whole rows through softmax_block: x (rows, cols) split into key
 * blocks of `block` columns, leading dimension cols+3 (padding must survive),
 * each block's p rescaled by the alphas of the blocks after it, then divided
 * by the final sum l, as attention does with its partial outputs.
 */
function runSoftmax(x: Float32Array, rows: number, cols: number, scale: number, block = cols): Float32Array {
  const heap = new Heap();
  const ld = cols + 3;
  const ptr = heap.put(strided(x, rows, cols, ld, SENTINEL));
  const m = heap.put(new Float32Array(rows).fill(-Infinity));
  const l = heap.put(new Float32Array(rows));
  const alpha = heap.alloc(rows);
  const out = new Float32Array(rows * cols);
  for (let c0 = 0; c0 < cols; c0 += block) {
    const width = Math.min(block, cols - c0);
    K.softmax_block(ptr + c0 * 4, rows, width, ld, scale, m, l, alpha);
    const a = heap.read(alpha, rows);
    const p = heap.read(ptr, rows * ld);
    for (let r = 0; r < rows; r++) {
      if (c0 > 0) for (let j = 0; j < c0; j++) out[r * cols + j] *= a[r];
      for (let j = c0; j < c0 + width; j++) out[r * cols + j] = p[r * ld + j];
    }
  }
  const got = heap.read(ptr, rows * ld);
  expectUntouchedOutside(got, rows, cols, ld, `softmax cols=${cols} scale=${scale}`);
  const sums = heap.read(l, rows);
  return out.map((v, i) => v / sums[Math.floor(i / cols)]);
}

function expectRowsSumToOne(got: Float32Array, rows: number, cols: number, what: string): void {
  const sums = Array.from({ length: rows }, (_, r) => got.subarray(r * cols, (r + 1) * cols).reduce((s, v) => s + v, 0));
  expectClose(sums, new Array(rows).fill(1), 1e-6 * Math.sqrt(cols), 0, `${what}: row sums`);
}

describe("softmax_block", () => {
  const COLS = [1, 3, 5, 64, 97, 916];

  it.each(COLS)("matches the reference and sums to 1 for cols=%i, scales 1, 0.125, 2.5", (cols) => {
    const random = randomSource(30 + cols);
    const rows = 3;
    for (const scale of [1, 0.125, 2.5]) {
      const x = random(rows * cols, -4, 4);
      const got = runSoftmax(x, rows, cols, scale);
      const what = `cols=${cols} scale=${scale}`;
      expectClose(got, softmaxReference(x, rows, cols, scale), 1e-9, 5e-6, what);
      expectRowsSumToOne(got, rows, cols, what);
    }
  });

  it("over key blocks of 1, 7, 256 and 300 columns gives the softmax of the whole row", () => {
    const random = randomSource(33);
    const [rows, cols] = [3, 916];
    const x = random(rows * cols, -6, 6);
    x[5] = 40; // a late block with a larger max rescales the earlier ones
    x[cols + 900] = 40;
    for (const block of [1, 7, 256, 300]) {
      const got = runSoftmax(x, rows, cols, 0.125, block);
      expectClose(got, softmaxReference(x, rows, cols, 0.125), 1e-9, 5e-6, `blocks of ${block}`);
    }
  });

  it("computes e^x within 5e-7 relative (each output over the row's largest)", () => {
    // Multiples of 2^-10 in [-80, 0] with scale 1: x - max is exact in float32, so
    // softmax_j / softmax_max = e^(x_j - max) up to two roundings of the normalisation.
    const cols = 916;
    const x = Float32Array.from(randomSource(31)(cols, -80, 0), (v) => Math.round(v * 1024) / 1024);
    x[7] = 0;
    const got = runSoftmax(x, 1, cols, 1);
    const ratios = Array.from(got, (v) => v / got[7]);
    const exact = Array.from(x, (v) => Math.exp(v));
    const err = maxRelativeError(ratios, exact);
    expect(err, `max relative error of e^x: ${err}`).toBeLessThan(5e-7);
  });

  it.each(COLS)("stays finite with inputs of ±1e4 for cols=%i", (cols) => {
    const random = randomSource(32 + cols);
    const rows = 4;
    const extremes = [1e4, -1e4, 0, 1e4 - 1, -1e4 + 3, 9998];
    const x = new Float32Array(rows * cols);
    for (let j = 0; j < cols; j++) {
      x[j] = extremes[j % extremes.length]; // mixed: a few large winners
      x[cols + j] = -1e4; // all equal and very negative: uniform
      x[2 * cols + j] = 1e4; // all equal and very large: uniform
      x[3 * cols + j] = Math.round(random(1, -1e4, 1e4)[0]); // spread out: one winner
    }
    for (const scale of [1, 0.125]) {
      const got = runSoftmax(x, rows, cols, scale);
      const what = `±1e4 cols=${cols} scale=${scale}`;
      expect(got.every(Number.isFinite), `${what}: non-finite output`).toBe(true);
      expectClose(got, softmaxReference(x, rows, cols, scale), 1e-9, 5e-6, what);
      expectRowsSumToOne(got, rows, cols, what);
    }
  });
});

// ---------------------------------------------------------------------------

describe("rope", () => {
  it.each([2, 6, 10, 16, 64])("matches ropeHead on the q and k heads, leaving v alone, for d=%i", (d) => {
    const random = randomSource(40 + d);
    const positions = 5;
    const rows = 12; // rows past `positions` wrap: position = row % positions
    for (const heads of [1, 2, 3]) {
      const width = 3 * heads * d;
      const ld = width + 3;
      const qkv = random(rows * width, -2, 2);
      const cos = random(positions * d); // independent halves: catches a half read from the wrong place
      const sin = random(positions * d);
      const heap = new Heap();
      const ptr = heap.put(strided(qkv, rows, width, ld, SENTINEL));
      K.rope(ptr, rows, positions, ld, heads, d, heap.put(cos), heap.put(sin));

      const ref = qkv.slice();
      for (let r = 0; r < rows; r++) {
        for (let h = 0; h < 2 * heads; h++) ropeHead(ref, r * width + h * d, d, r % positions, cos, sin);
      }
      const got = heap.read(ptr, rows * ld);
      const what = `rope d=${d} heads=${heads}`;
      expectSame(dense(got, rows, width, ld), ref, what); // same float32 operations in the same order
      expectUntouchedOutside(got, rows, width, ld, what);
    }
  });
});

// ---------------------------------------------------------------------------

describe("add", () => {
  it("sums exactly for n = 1..37, into a fresh buffer or over either operand", () => {
    const random = randomSource(50);
    for (let n = 1; n <= 37; n++) {
      const a = random(n);
      const b = random(n);
      const sum = a.map((v, i) => v + b[i]);
      for (const into of ["fresh", "a", "b"] as const) {
        const heap = new Heap();
        const pa = heap.put(a);
        const pb = heap.put(b);
        const dst = into === "a" ? pa : into === "b" ? pb : heap.alloc(n + 4);
        K.add(dst, pa, pb, n);
        expectSame(heap.read(dst, n), sum, `add n=${n} into ${into}`);
        if (into === "fresh") expectSame(heap.read(dst + n * 4, 4), new Float32Array(4).fill(SENTINEL), `add n=${n}: floats after dst`);
      }
    }
  });
});

describe("transpose", () => {
  it.each([
    [1, 1], [1, 17], [17, 1], [3, 5], [16, 16], [17, 33], [33, 17], [5, 40],
  ])("matches the reference for %i x %i with padded source and destination", (rows, cols) => {
    const x = randomSource(60 + rows * cols)(rows * cols);
    const [lds, ldd] = [cols + 3, rows + 2];
    const heap = new Heap();
    const dst = heap.alloc(cols * ldd);
    K.transpose(heap.put(strided(x, rows, cols, lds, POISON)), rows, cols, lds, dst, ldd);
    const got = heap.read(dst, cols * ldd);
    const what = `transpose ${rows}x${cols}`;
    expectSame(dense(got, cols, rows, ldd), transpose(x, rows, cols), what);
    expectUntouchedOutside(got, cols, rows, ldd, what);
  });
});

// ---------------------------------------------------------------------------

describe("attention", () => {
  it("keeps its scores scratch to one 64 × 256 block whatever the sequence length", () => {
    expect(K.attention_scores_len()).toBe(64 * 256 + 3 * 64);
  });

  it.each([1, 5, 63, 64, 65, 130, 255, 256, 257, 600])("matches the reference for seq=%i, heads 1..3, d in {1, 4, 6, 16}", (seq) => {
    const random = randomSource(70 + seq);
    for (const heads of [1, 2, 3]) {
      for (const d of [1, 4, 6, 16]) {
        const qkv = random(seq * 3 * heads * d, -2, 2);
        const heap = new Heap();
        const out = heap.alloc(seq * heads * d + 4);
        const kpack = heap.alloc(K.packed_len(d, seq));
        const vpackLen = K.attention_vpack_len(seq, d);
        const vpack = heap.alloc(vpackLen + 4);
        const scoresLen = K.attention_scores_len();
        const scores = heap.alloc(scoresLen + 4);
        K.attention(heap.put(qkv), seq, heads, d, out, kpack, vpack, scores);
        const got = heap.read(out, seq * heads * d + 4);
        const what = `attention seq=${seq} heads=${heads} d=${d}`;
        expectClose(got.subarray(0, seq * heads * d), attention(qkv, seq, heads, d), 2e-6, 2e-6, what);
        expectSame(got.subarray(seq * heads * d), new Float32Array(4).fill(SENTINEL), `${what}: floats after out`);
        expectSame(heap.read(vpack + vpackLen * 4, 4), new Float32Array(4).fill(SENTINEL), `${what}: floats after vpack`);
        expectSame(heap.read(scores + scoresLen * 4, 4), new Float32Array(4).fill(SENTINEL), `${what}: floats after scores`);
      }
    }
  });
});
