// Vector math shared by the kernels.

/**
 * e^x on four lanes (Cephes expf: range reduction by ln 2, degree-6 polynomial,
 * 2^n through the exponent bits). Relative error about 2 ulp. Inputs are
 * clamped to [-87.3, 88] (where 2^n stays a normal float), so exp(-inf)
 * gives ~1e-38 rather than 0 and exp(+inf) ~1.7e38 rather than inf; NaN stays NaN.
 *
 * Cheap on x64 (about 1.3 ns per 4 lanes instead of 1.8 here): the clamp is
 * relaxed min/max (one instruction each, x as the second operand so that a
 * NaN comes through), n = round(x·log2 e) comes from adding 1.5·2^23 (the
 * float's low bits then hold n, rounded to nearest even) instead of
 * nearest + trunc_sat, which V8 expands into long sequences, and the
 * reduction and polynomial use fused multiply-adds.
 */
// @ts-ignore: decorator
@inline
export function exp_f32x4(x: v128): v128 {
  x = f32x4.relaxed_min(f32x4.splat(88.0), f32x4.relaxed_max(f32x4.splat(-87.33654), x));
  const magic = f32x4.splat(12582912.0); // 1.5 · 2^23
  const j = f32x4.relaxed_madd(x, f32x4.splat(1.44269504088896341), magic);
  const n = f32x4.sub(j, magic); // round(x · log2 e) as a float, exactly
  let r = f32x4.relaxed_nmadd(n, f32x4.splat(0.693359375), x);
  r = f32x4.relaxed_nmadd(n, f32x4.splat(-2.12194440e-4), r);
  let p = f32x4.relaxed_madd(f32x4.splat(1.9875691500e-4), r, f32x4.splat(1.3981999507e-3));
  p = f32x4.relaxed_madd(p, r, f32x4.splat(8.3334519073e-3));
  p = f32x4.relaxed_madd(p, r, f32x4.splat(4.1665795894e-2));
  p = f32x4.relaxed_madd(p, r, f32x4.splat(1.6666665459e-1));
  p = f32x4.relaxed_madd(p, r, f32x4.splat(5.0000001201e-1));
  p = f32x4.add(f32x4.relaxed_madd(f32x4.mul(p, r), r, r), f32x4.splat(1));
  // j's bits are 0x4B400000 + n; shifting left by 23 drops the 0x4B4 part: n << 23.
  const pow2n = i32x4.add(i32x4.shl(j, 23), i32x4.splat(127 << 23));
  return f32x4.mul(p, pow2n);
}

/** Sum of the four lanes. */
// @ts-ignore: decorator
@inline
export function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** Maximum of the four lanes. */
// @ts-ignore: decorator
@inline
export function hmax(v: v128): f32 {
  return max(max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)), max(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
}

/** Scalar e^x through the same vector code, for tails. */
// @ts-ignore: decorator
@inline
export function exp_f32(x: f32): f32 {
  return f32x4.extract_lane(exp_f32x4(f32x4.splat(x)), 0);
}
