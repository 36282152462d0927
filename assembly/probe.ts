// Bench-only probes of the machine's WebAssembly SIMD limits (build/probe.wasm,
// never shipped with the Worker): the f32 FMA peak with many independent
// relaxed_madd accumulators (latency hidden), the same with separate mul+add,
// and read bandwidth over a buffer.

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
