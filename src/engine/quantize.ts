// Symmetric int8 quantisation per row: the one definition behind
// `trm convert --dtype int8` packs, their loading, and the scalar reference of
// the int8 kernels (assembly/gemm_i8.ts rounds the same way, in float32).

/** Levels each side of zero: weights per output channel, activations per row (7 bits, see gemm_i8.ts). */
export const INT8_WEIGHT_LEVELS = 127;
export const INT8_ACTIVATION_LEVELS = 63;

/** Round to nearest, ties to even (as f32x4.nearest). */
function roundHalfEven(x: number): number {
  const r = Math.round(x); // ties towards +∞
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Each row of x (rows, cols) in float32 arithmetic: scale = max |row| / levels,
 * q = round(x · (levels / max |row|)) in [-levels, levels]; an all-zero row gets scale 0.
 */
export function quantizeRows(x: Float32Array, rows: number, cols: number, levels: number): { q: Int32Array; scale: Float32Array } {
  const q = new Int32Array(rows * cols);
  const scale = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let maxAbs = 0;
    for (let c = 0; c < cols; c++) maxAbs = Math.max(maxAbs, Math.abs(x[r * cols + c]));
    const inv = maxAbs > 0 ? Math.fround(levels / maxAbs) : 0;
    scale[r] = maxAbs / levels;
    for (let c = 0; c < cols; c++) q[r * cols + c] = roundHalfEven(Math.fround(x[r * cols + c] * inv));
  }
  return { q, scale };
}

/** q · scale per row: (rows, cols) float32. */
export function dequantizeRows(q: ArrayLike<number>, scale: Float32Array, cols: number): Float32Array {
  return Float32Array.from({ length: q.length }, (_, i) => q[i] * scale[Math.floor(i / cols)]);
}
