// Bench-only probes of the machine's WebAssembly SIMD limits (build/probe.wasm,
// never shipped with the Worker): the f32 FMA peak with many independent
// relaxed_madd accumulators (latency hidden), the same with separate mul+add,
// the integer dot products an int8 weight path would use, and read bandwidth.

/**
 * `iters` rounds of 12 independent f32x4.relaxed_madd chains: 96 FLOP per round.
 * The multiplier is just below 1 and the addend tiny, so values stay finite.
 */
export function fma_peak(iters: i32, seed: f32): f32 {
  const a = f32x4.splat(<f32>0.999999);
  const b = f32x4.splat(<f32>1e-7);
  let c0 = f32x4.splat(seed), c1 = f32x4.splat(seed + 1), c2 = f32x4.splat(seed + 2), c3 = f32x4.splat(seed + 3);
  let c4 = f32x4.splat(seed + 4), c5 = f32x4.splat(seed + 5), c6 = f32x4.splat(seed + 6), c7 = f32x4.splat(seed + 7);
  let c8 = f32x4.splat(seed + 8), c9 = f32x4.splat(seed + 9), c10 = f32x4.splat(seed + 10), c11 = f32x4.splat(seed + 11);
  for (let i = 0; i < iters; i++) {
    c0 = f32x4.relaxed_madd(c0, a, b);
    c1 = f32x4.relaxed_madd(c1, a, b);
    c2 = f32x4.relaxed_madd(c2, a, b);
    c3 = f32x4.relaxed_madd(c3, a, b);
    c4 = f32x4.relaxed_madd(c4, a, b);
    c5 = f32x4.relaxed_madd(c5, a, b);
    c6 = f32x4.relaxed_madd(c6, a, b);
    c7 = f32x4.relaxed_madd(c7, a, b);
    c8 = f32x4.relaxed_madd(c8, a, b);
    c9 = f32x4.relaxed_madd(c9, a, b);
    c10 = f32x4.relaxed_madd(c10, a, b);
    c11 = f32x4.relaxed_madd(c11, a, b);
  }
  const s = f32x4.add(f32x4.add(f32x4.add(c0, c1), f32x4.add(c2, c3)), f32x4.add(f32x4.add(c4, c5), f32x4.add(c6, c7)));
  return f32x4.extract_lane(f32x4.add(s, f32x4.add(f32x4.add(c8, c9), f32x4.add(c10, c11))), 0);
}

/** The same 96 FLOP per round as separate f32x4.mul and f32x4.add (what non-relaxed engines use). */
export function muladd_peak(iters: i32, seed: f32): f32 {
  const a = f32x4.splat(<f32>0.999999);
  const b = f32x4.splat(<f32>1e-7);
  let c0 = f32x4.splat(seed), c1 = f32x4.splat(seed + 1), c2 = f32x4.splat(seed + 2), c3 = f32x4.splat(seed + 3);
  let c4 = f32x4.splat(seed + 4), c5 = f32x4.splat(seed + 5), c6 = f32x4.splat(seed + 6), c7 = f32x4.splat(seed + 7);
  let c8 = f32x4.splat(seed + 8), c9 = f32x4.splat(seed + 9), c10 = f32x4.splat(seed + 10), c11 = f32x4.splat(seed + 11);
  for (let i = 0; i < iters; i++) {
    c0 = f32x4.add(f32x4.mul(c0, a), b);
    c1 = f32x4.add(f32x4.mul(c1, a), b);
    c2 = f32x4.add(f32x4.mul(c2, a), b);
    c3 = f32x4.add(f32x4.mul(c3, a), b);
    c4 = f32x4.add(f32x4.mul(c4, a), b);
    c5 = f32x4.add(f32x4.mul(c5, a), b);
    c6 = f32x4.add(f32x4.mul(c6, a), b);
    c7 = f32x4.add(f32x4.mul(c7, a), b);
    c8 = f32x4.add(f32x4.mul(c8, a), b);
    c9 = f32x4.add(f32x4.mul(c9, a), b);
    c10 = f32x4.add(f32x4.mul(c10, a), b);
    c11 = f32x4.add(f32x4.mul(c11, a), b);
  }
  const s = f32x4.add(f32x4.add(f32x4.add(c0, c1), f32x4.add(c2, c3)), f32x4.add(f32x4.add(c4, c5), f32x4.add(c6, c7)));
  return f32x4.extract_lane(f32x4.add(s, f32x4.add(f32x4.add(c8, c9), f32x4.add(c10, c11))), 0);
}

/**
 * `iters` rounds of 12 independent i32x4.relaxed_dot_i8x16_i7x16_add_s chains
 * (16 int8 multiply-adds each: 192 MACs per round), what an int8 weight path
 * would run on. Each chain feeds its own accumulator back as the i8 operand,
 * so nothing can be hoisted out of the loop.
 */
export function dot_i8_peak(iters: i32, seed: i32): i32 {
  const b = i8x16.splat(<i8>5);
  let c0 = i32x4.splat(seed), c1 = i32x4.splat(seed + 1), c2 = i32x4.splat(seed + 2), c3 = i32x4.splat(seed + 3);
  let c4 = i32x4.splat(seed + 4), c5 = i32x4.splat(seed + 5), c6 = i32x4.splat(seed + 6), c7 = i32x4.splat(seed + 7);
  let c8 = i32x4.splat(seed + 8), c9 = i32x4.splat(seed + 9), c10 = i32x4.splat(seed + 10), c11 = i32x4.splat(seed + 11);
  for (let i = 0; i < iters; i++) {
    c0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(c0, b, c0);
    c1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(c1, b, c1);
    c2 = i32x4.relaxed_dot_i8x16_i7x16_add_s(c2, b, c2);
    c3 = i32x4.relaxed_dot_i8x16_i7x16_add_s(c3, b, c3);
    c4 = i32x4.relaxed_dot_i8x16_i7x16_add_s(c4, b, c4);
    c5 = i32x4.relaxed_dot_i8x16_i7x16_add_s(c5, b, c5);
    c6 = i32x4.relaxed_dot_i8x16_i7x16_add_s(c6, b, c6);
    c7 = i32x4.relaxed_dot_i8x16_i7x16_add_s(c7, b, c7);
    c8 = i32x4.relaxed_dot_i8x16_i7x16_add_s(c8, b, c8);
    c9 = i32x4.relaxed_dot_i8x16_i7x16_add_s(c9, b, c9);
    c10 = i32x4.relaxed_dot_i8x16_i7x16_add_s(c10, b, c10);
    c11 = i32x4.relaxed_dot_i8x16_i7x16_add_s(c11, b, c11);
  }
  const s = i32x4.add(i32x4.add(i32x4.add(c0, c1), i32x4.add(c2, c3)), i32x4.add(i32x4.add(c4, c5), i32x4.add(c6, c7)));
  return i32x4.extract_lane(i32x4.add(s, i32x4.add(i32x4.add(c8, c9), i32x4.add(c10, c11))), 0);
}

/** The same with i32x4.dot_i16x8_s + i32x4.add (8 int16 MACs each: 96 MACs per round). */
export function dot_i16_peak(iters: i32, seed: i32): i32 {
  const b = i16x8.splat(<i16>5);
  let c0 = i32x4.splat(seed), c1 = i32x4.splat(seed + 1), c2 = i32x4.splat(seed + 2), c3 = i32x4.splat(seed + 3);
  let c4 = i32x4.splat(seed + 4), c5 = i32x4.splat(seed + 5), c6 = i32x4.splat(seed + 6), c7 = i32x4.splat(seed + 7);
  let c8 = i32x4.splat(seed + 8), c9 = i32x4.splat(seed + 9), c10 = i32x4.splat(seed + 10), c11 = i32x4.splat(seed + 11);
  for (let i = 0; i < iters; i++) {
    c0 = i32x4.add(c0, i32x4.dot_i16x8_s(c0, b));
    c1 = i32x4.add(c1, i32x4.dot_i16x8_s(c1, b));
    c2 = i32x4.add(c2, i32x4.dot_i16x8_s(c2, b));
    c3 = i32x4.add(c3, i32x4.dot_i16x8_s(c3, b));
    c4 = i32x4.add(c4, i32x4.dot_i16x8_s(c4, b));
    c5 = i32x4.add(c5, i32x4.dot_i16x8_s(c5, b));
    c6 = i32x4.add(c6, i32x4.dot_i16x8_s(c6, b));
    c7 = i32x4.add(c7, i32x4.dot_i16x8_s(c7, b));
    c8 = i32x4.add(c8, i32x4.dot_i16x8_s(c8, b));
    c9 = i32x4.add(c9, i32x4.dot_i16x8_s(c9, b));
    c10 = i32x4.add(c10, i32x4.dot_i16x8_s(c10, b));
    c11 = i32x4.add(c11, i32x4.dot_i16x8_s(c11, b));
  }
  const s = i32x4.add(i32x4.add(i32x4.add(c0, c1), i32x4.add(c2, c3)), i32x4.add(i32x4.add(c4, c5), i32x4.add(c6, c7)));
  return i32x4.extract_lane(i32x4.add(s, i32x4.add(i32x4.add(c8, c9), i32x4.add(c10, c11))), 0);
}

/** Sums `bytes` (a multiple of 64) at ptr with four v128 loads per step: read bandwidth. */
export function read_sum(ptr: usize, bytes: i32): f32 {
  let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
  const end = ptr + <usize>bytes;
  for (let p = ptr; p < end; p += 64) {
    s0 = f32x4.add(s0, v128.load(p));
    s1 = f32x4.add(s1, v128.load(p, 16));
    s2 = f32x4.add(s2, v128.load(p, 32));
    s3 = f32x4.add(s3, v128.load(p, 48));
  }
  return f32x4.extract_lane(f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3)), 0);
}

/** First byte the host may use. */
export function heap_base(): usize {
  return __heap_base;
}
