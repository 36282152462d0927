// Elementwise sums and transposes.

/** dst (n) = a + b; dst may alias a or b. */
export function add(dst: usize, a: usize, b: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i * 4;
    v128.store(dst + o, f32x4.add(v128.load(a + o), v128.load(b + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i * 4;
    store<f32>(dst + o, load<f32>(a + o) + load<f32>(b + o));
  }
}

const TILE: i32 = 16;

/** dst (cols, rows) = transpose of src (rows, cols); leading dimensions lds / ldd. */
export function transpose(src: usize, rows: i32, cols: i32, lds: i32, dst: usize, ldd: i32): void {
  for (let r0 = 0; r0 < rows; r0 += TILE) {
    const r1 = min(rows, r0 + TILE);
    for (let c0 = 0; c0 < cols; c0 += TILE) {
      const c1 = min(cols, c0 + TILE);
      for (let r = r0; r < r1; r++) {
        for (let c = c0; c < c1; c++) {
          store<f32>(dst + <usize>(c * ldd + r) * 4, load<f32>(src + <usize>(r * lds + c) * 4));
        }
      }
    }
  }
}
