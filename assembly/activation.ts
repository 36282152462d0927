// SwiGLU's elementwise part and the online softmax of attention.
import { exp_f32, exp_f32x4, hmax, hsum } from "./vmath";

/**
 * out (rows, inter) = silu(gate) · up, where gu (rows, 2·inter) holds [gate | up]
 * per row (the official gate_up_proj(x).chunk(2, -1)); silu(g) = g / (1 + e^-g).
 */
export function swiglu(gu: usize, rows: i32, inter: i32, out: usize): void {
  const one = f32x4.splat(1);
  for (let r = 0; r < rows; r++) {
    const gate = gu + <usize>(r * 2 * inter) * 4;
    const up = gate + <usize>inter * 4;
    const dst = out + <usize>(r * inter) * 4;
    let j = 0;
    for (; j + 4 <= inter; j += 4) {
      const o = <usize>j * 4;
      const g = v128.load(gate + o);
      const silu = f32x4.div(g, f32x4.add(one, exp_f32x4(f32x4.neg(g))));
      v128.store(dst + o, f32x4.mul(silu, v128.load(up + o)));
    }
    for (; j < inter; j++) {
      const o = <usize>j * 4;
      const g = load<f32>(gate + o);
      store<f32>(dst + o, (g / (<f32>1 + exp_f32(-g))) * load<f32>(up + o));
    }
  }
}

/**
 * One key block of an online softmax (as in FlashAttention). x (rows, cols),
 * row stride ld, holds raw scores; m and l hold, per row, the running max of
 * scale·x and the running sum of the blocks before (-inf and 0 before the
 * first). Writes p = e^(scale·x - m') over x, where m' = max(m, scale·max x),
 * then sets alpha = e^(m - m'), the factor for whatever was accumulated
 * against the old max, l = l·alpha + Σp and m = m'. scale > 0.
 */
export function softmax_block(x: usize, rows: i32, cols: i32, ld: i32, scale: f32, m: usize, l: usize, alpha: usize): void {
  for (let r = 0; r < rows; r++) {
    const row = x + <usize>(r * ld) * 4;
    const slot = <usize>r * 4;
    const mOld = load<f32>(m + slot);
    const mNew = max(mOld, row_max(row, cols) * scale);
    const sum = exp_in_place(row, cols, scale, mNew);
    const a = mOld == -Infinity ? <f32>0 : exp_f32(mOld - mNew);
    store<f32>(alpha + slot, a);
    store<f32>(l + slot, load<f32>(l + slot) * a + sum);
    store<f32>(m + slot, mNew);
  }
}

/** The largest of `cols` floats at row. */
// @ts-ignore: decorator
@inline
function row_max(row: usize, cols: i32): f32 {
  // relaxed_max is one instruction (f32x4.max is a long NaN-handling
  // sequence on x64, 8x slower here); the row as second operand keeps a NaN.
  let vmax = f32x4.splat(-Infinity);
  let j = 0;
  for (; j + 4 <= cols; j += 4) vmax = f32x4.relaxed_max(vmax, v128.load(row + <usize>j * 4));
  let m = hmax(vmax);
  for (; j < cols; j++) m = max(m, load<f32>(row + <usize>j * 4));
  return m;
}

/** x = e^(scale·x - shift) over `cols` floats at row, in place; returns their sum. */
// @ts-ignore: decorator
@inline
function exp_in_place(row: usize, cols: i32, scale: f32, shift: f32): f32 {
  const vs = f32x4.splat(scale);
  const vshift = f32x4.splat(shift);
  let vsum = f32x4.splat(0), vsum1 = f32x4.splat(0);
  let j = 0;
  for (; j + 8 <= cols; j += 8) { // two independent exps per step
    const p = row + <usize>j * 4;
    const e0 = exp_f32x4(f32x4.sub(f32x4.mul(v128.load(p), vs), vshift));
    const e1 = exp_f32x4(f32x4.sub(f32x4.mul(v128.load(p, 16), vs), vshift));
    v128.store(p, e0);
    v128.store(p, e1, 16);
    vsum = f32x4.add(vsum, e0);
    vsum1 = f32x4.add(vsum1, e1);
  }
  for (; j + 4 <= cols; j += 4) {
    const p = row + <usize>j * 4;
    const e = exp_f32x4(f32x4.sub(f32x4.mul(v128.load(p), vs), vshift));
    v128.store(p, e);
    vsum = f32x4.add(vsum, e);
  }
  let sum = hsum(f32x4.add(vsum, vsum1));
  for (; j < cols; j++) {
    const p = row + <usize>j * 4;
    const e = exp_f32(load<f32>(p) * scale - shift);
    store<f32>(p, e);
    sum += e;
  }
  return sum;
}
