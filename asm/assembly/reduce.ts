// Reductions. A single sequential stream leaves one core's memory system idle between
// prefetches, so each kernel reads the four quarters of its vectors at once (measured at 10M:
// 2x faster than one stream for one vector, 1.15x for two) and then the few elements left over.
// Sums run in float32 lanes over blocks and add the block sums in float64, so the rounding error
// grows with the block, not with n.
import { byteLength, chunkBytes, ld, sumLanes } from './simd';

/** Bytes of each of the four quarters: a whole number of 4-lane chunks. */
function quarterBytes(n: i32): usize {
  return (((<usize>n) >> 2) & ~3) << 2;
}

// Chunks per quarter summed in float32 before the block sum goes to float64 (each lane then adds
// 128 products: float32 rounding stays near 1e-5 relative in the worst case).
const BLOCK_BYTES: usize = 2048;

function productAt(a: usize, b: usize, o: usize): v128 {
  return f32x4.mul(v128.load(a + o), v128.load(b + o));
}

/** sum a[i] * b[i] */
export function dot(a: usize, b: usize, n: i32): f64 {
  const q = quarterBytes(n);
  const end = byteLength(n);
  let total: f64 = 0;
  let i: usize = 0;
  while (i < q) {
    const blockEnd = min(i + BLOCK_BYTES, q);
    let acc0 = f32x4.splat(0);
    let acc1 = f32x4.splat(0);
    let acc2 = f32x4.splat(0);
    let acc3 = f32x4.splat(0);
    for (; i < blockEnd; i += 16) {
      acc0 = f32x4.add(acc0, productAt(a, b, i));
      acc1 = f32x4.add(acc1, productAt(a, b, i + q));
      acc2 = f32x4.add(acc2, productAt(a, b, i + 2 * q));
      acc3 = f32x4.add(acc3, productAt(a, b, i + 3 * q));
    }
    total += sumLanes(acc0) + sumLanes(acc1) + sumLanes(acc2) + sumLanes(acc3);
  }
  for (i = 4 * q; i < end; i += 4) total += <f64>load<f32>(a + i) * <f64>load<f32>(b + i);
  return total;
}

// |x| as bits: clearing the sign bit leaves an integer ordered like |x|, with +Inf at 0x7f800000
// and every NaN above it. The bits are then non-negative as i32, so signed comparisons (single
// SSE instructions, unlike the unsigned ones) order them correctly.
const ABS_BITS: i32 = 0x7fffffff;
const INF_BITS: i32 = 0x7f800000;

function absBits(p: usize, tail: bool): v128 {
  return v128.and(ld(p, tail), i32x4.splat(ABS_BITS));
}

function maxAbsAt(best: v128, p: usize, tail: bool): v128 {
  const bits = absBits(p, tail);
  const notNaN = i32x4.lt_s(bits, i32x4.splat(INF_BITS + 1));
  return i32x4.max_s(best, v128.and(bits, notNaN));
}

/** max |x[i]| ignoring NaN; 0 for n = 0. */
export function maxAbs(x: usize, n: i32): f32 {
  const q = quarterBytes(n);
  const chunks = chunkBytes(n);
  const end = byteLength(n);
  let best = i32x4.splat(0);
  let i: usize = 0;
  for (; i < q; i += 16) {
    best = inline.always(maxAbsAt(best, x + i, false));
    best = inline.always(maxAbsAt(best, x + i + q, false));
    best = inline.always(maxAbsAt(best, x + i + 2 * q, false));
    best = inline.always(maxAbsAt(best, x + i + 3 * q, false));
  }
  for (i = 4 * q; i < chunks; i += 16) best = inline.always(maxAbsAt(best, x + i, false));
  for (; i < end; i += 4) best = inline.always(maxAbsAt(best, x + i, true));
  const pair = i32x4.max_s(best, v128.shuffle<i32>(best, best, 2, 3, 0, 1));
  return reinterpret<f32>(max(i32x4.extract_lane(pair, 0), i32x4.extract_lane(pair, 1)));
}

function sumCounts(counts: v128): i32 {
  return (
    i32x4.extract_lane(counts, 0) +
    i32x4.extract_lane(counts, 1) +
    i32x4.extract_lane(counts, 2) +
    i32x4.extract_lane(counts, 3)
  );
}

// A true lane of a comparison is -1: subtracting it counts it.
function nonFiniteAt(count: v128, p: usize, tail: bool): v128 {
  return i32x4.sub(count, i32x4.gt_s(absBits(p, tail), i32x4.splat(INF_BITS - 1)));
}

/** Entries that are NaN or +-Inf. */
export function countNonFinite(x: usize, n: i32): i32 {
  const q = quarterBytes(n);
  const chunks = chunkBytes(n);
  const end = byteLength(n);
  let count = i32x4.splat(0);
  let i: usize = 0;
  for (; i < q; i += 16) {
    count = inline.always(nonFiniteAt(count, x + i, false));
    count = inline.always(nonFiniteAt(count, x + i + q, false));
    count = inline.always(nonFiniteAt(count, x + i + 2 * q, false));
    count = inline.always(nonFiniteAt(count, x + i + 3 * q, false));
  }
  for (i = 4 * q; i < chunks; i += 16) count = inline.always(nonFiniteAt(count, x + i, false));
  for (; i < end; i += 4) count = inline.always(nonFiniteAt(count, x + i, true));
  return sumCounts(count);
}

function nonzeroAt(count: v128, p: usize, tail: bool): v128 {
  return i32x4.sub(count, i32x4.gt_s(absBits(p, tail), i32x4.splat(0)));
}

/** Entries other than +0 and -0 (the tail's zero lanes are not counted). */
export function countNonzero(x: usize, n: i32): i32 {
  const q = quarterBytes(n);
  const chunks = chunkBytes(n);
  const end = byteLength(n);
  let count = i32x4.splat(0);
  let i: usize = 0;
  for (; i < q; i += 16) {
    count = inline.always(nonzeroAt(count, x + i, false));
    count = inline.always(nonzeroAt(count, x + i + q, false));
    count = inline.always(nonzeroAt(count, x + i + 2 * q, false));
    count = inline.always(nonzeroAt(count, x + i + 3 * q, false));
  }
  for (i = 4 * q; i < chunks; i += 16) count = inline.always(nonzeroAt(count, x + i, false));
  for (; i < end; i += 4) count = inline.always(nonzeroAt(count, x + i, true));
  return sumCounts(count);
}
