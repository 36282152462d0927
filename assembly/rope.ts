// Rotary position embedding, the official rotate_half layout:
//   x' = x · cos + rotate_half(x) · sin,  rotate_half([x1 | x2]) = [-x2 | x1],
// with cos/sin tables of concat(freqs, freqs), so both halves share one angle.
// Plain mul/sub (no fused multiply-add) to round like the reference.

/**
 * Rotates the q and k heads of `rows` rows of qkv (row stride ld; q heads at
 * columns [0, heads·d), k heads right after) in place. Row r has position r % positions.
 * cos, sin: (positions, d).
 */
export function rope(qkv: usize, rows: i32, positions: i32, ld: i32, heads: i32, d: i32, cos: usize, sin: usize): void {
  const half = d / 2;
  const halfBytes = <usize>half * 4;
  for (let r = 0; r < rows; r++) {
    const pos = r % positions;
    const c = cos + <usize>(pos * d) * 4;
    const s = sin + <usize>(pos * d) * 4;
    const row = qkv + <usize>(r * ld) * 4;
    for (let h = 0; h < 2 * heads; h++) {
      const x = row + <usize>(h * d) * 4;
      let j = 0;
      for (; j + 4 <= half; j += 4) {
        const o = <usize>j * 4;
        const x1 = v128.load(x + o);
        const x2 = v128.load(x + halfBytes + o);
        const c1 = v128.load(c + o), s1 = v128.load(s + o);
        const c2 = v128.load(c + halfBytes + o), s2 = v128.load(s + halfBytes + o);
        v128.store(x + o, f32x4.sub(f32x4.mul(x1, c1), f32x4.mul(x2, s1)));
        v128.store(x + halfBytes + o, f32x4.add(f32x4.mul(x2, c2), f32x4.mul(x1, s2)));
      }
      for (; j < half; j++) {
        const o = <usize>j * 4;
        const x1 = load<f32>(x + o);
        const x2 = load<f32>(x + halfBytes + o);
        store<f32>(x + o, x1 * load<f32>(c + o) - x2 * load<f32>(s + o));
        store<f32>(x + halfBytes + o, x2 * load<f32>(c + halfBytes + o) + x1 * load<f32>(s + halfBytes + o));
      }
    }
  }
}
