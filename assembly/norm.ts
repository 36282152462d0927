// RMSNorm without weight (the official rms_norm): x ← x · rsqrt(mean(x²) + eps), per row, in f32.
import { hsum } from "./vmath";

/** Normalises `rows` rows of `cols` floats at x (row stride ld) in place. */
export function rms_norm_rows(x: usize, rows: i32, cols: i32, ld: i32, eps: f32): void {
  for (let r = 0; r < rows; r++) {
    const row = x + <usize>(r * ld) * 4;
    let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
    let j = 0;
    for (; j + 16 <= cols; j += 16) {
      const p = row + <usize>j * 4;
      const v0 = v128.load(p), v1 = v128.load(p, 16), v2 = v128.load(p, 32), v3 = v128.load(p, 48);
      s0 = f32x4.relaxed_madd(v0, v0, s0);
      s1 = f32x4.relaxed_madd(v1, v1, s1);
      s2 = f32x4.relaxed_madd(v2, v2, s2);
      s3 = f32x4.relaxed_madd(v3, v3, s3);
    }
    for (; j + 4 <= cols; j += 4) {
      const v = v128.load(row + <usize>j * 4);
      s0 = f32x4.relaxed_madd(v, v, s0);
    }
    let sum = hsum(f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3)));
    for (; j < cols; j++) {
      const v = load<f32>(row + <usize>j * 4);
      sum += v * v;
    }
    const scale: f32 = <f32>1 / Mathf.sqrt(sum / <f32>cols + eps);
    const vs = f32x4.splat(scale);
    j = 0;
    for (; j + 4 <= cols; j += 4) {
      const p = row + <usize>j * 4;
      v128.store(p, f32x4.mul(v128.load(p), vs));
    }
    for (; j < cols; j++) {
      const p = row + <usize>j * 4;
      store<f32>(p, load<f32>(p) * scale);
    }
  }
}
