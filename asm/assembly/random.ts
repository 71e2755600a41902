// Philox4x32-10 (Salmon et al. 2011) and the distributions of RandomSpec, bit for bit the words
// of src/kernels/philox.ts: key = (key0, key1), counter = (i, stream, 0, 0). Four counters run
// in the four lanes at once: the 32x32 -> 64-bit products come from i64x2.extmul, whose halves
// are regathered into high and low words by shuffles.
import { byteLength, chunkBytes, ld, st } from './simd';

const M0: u32 = 0xd2511f53;
const M1: u32 = 0xcd9e8d57;
const W0: u32 = 0x9e3779b9;
const W1: u32 = 0xbb67ae85;
const INV_2_POW_32: f64 = 1.0 / 4294967296.0;
const FLOAT32_BELOW_ONE: f32 = 0.99999994; // 1 - 2^-24

// Distribution codes, in the order of DISTRIBUTIONS in src/kernels/philox.ts.
const GAUSSIAN = 0;
const RADEMACHER = 1;

// Word w1 of the last philox4 call (Box-Muller's second uniform).
let lastW1: v128 = i32x4.splat(0);

/** Word w0 of Philox4x32-10 for the counters (i + lane, stream, 0, 0); w1 goes to lastW1. */
function philox4(i: u32, stream: u32, key0: u32, key1: u32): v128 {
  let c0 = i32x4.add(i32x4.splat(i), i32x4(0, 1, 2, 3));
  let c1 = i32x4.splat(stream);
  let c2 = i32x4.splat(0);
  let c3 = i32x4.splat(0);
  let k0 = i32x4.splat(key0);
  let k1 = i32x4.splat(key1);
  const m0 = i32x4.splat(M0);
  const m1 = i32x4.splat(M1);
  for (let round = 0; round < 10; round++) {
    // 64-bit lanes are little-endian: 32-bit lane 2j is the low word of product j, 2j + 1 its high word.
    const p0Low = i64x2.extmul_low_i32x4_u(c0, m0);
    const p0High = i64x2.extmul_high_i32x4_u(c0, m0);
    const p1Low = i64x2.extmul_low_i32x4_u(c2, m1);
    const p1High = i64x2.extmul_high_i32x4_u(c2, m1);
    const hi0 = v128.shuffle<i32>(p0Low, p0High, 1, 3, 5, 7);
    const hi1 = v128.shuffle<i32>(p1Low, p1High, 1, 3, 5, 7);
    const next0 = v128.xor(v128.xor(hi1, c1), k0);
    const next2 = v128.xor(v128.xor(hi0, c3), k1);
    c1 = v128.shuffle<i32>(p1Low, p1High, 0, 2, 4, 6);
    c3 = v128.shuffle<i32>(p0Low, p0High, 0, 2, 4, 6);
    c0 = next0;
    c2 = next2;
    // The key bump between rounds; the one after the last round is never used.
    k0 = i32x4.add(k0, i32x4.splat(W0));
    k1 = i32x4.add(k1, i32x4.splat(W1));
  }
  lastW1 = c1;
  return c0;
}

/**
 * (w + 0.5) 2^-32 of each lane, computed in float64 and rounded once to float32, then at most
 * 1 - 2^-24: the top 128 words would round to 1.0 (see FLOAT32_BELOW_ONE in src/kernels/philox.ts).
 */
function uniform4(w: v128): v128 {
  const half = f64x2.splat(0.5);
  const scale = f64x2.splat(INV_2_POW_32);
  const low = f64x2.mul(f64x2.add(f64x2.convert_low_i32x4_u(w), half), scale);
  const high = f64x2.mul(
    f64x2.add(f64x2.convert_low_i32x4_u(v128.shuffle<i32>(w, w, 2, 3, 0, 1)), half),
    scale,
  );
  const u = v128.shuffle<f32>(
    f32x4.demote_f64x2_zero(low),
    f32x4.demote_f64x2_zero(high),
    0,
    1,
    4,
    5,
  );
  return f32x4.min(u, f32x4.splat(FLOAT32_BELOW_ONE));
}

/** sqrt(-2 ln u1) cos(2 pi u2) in float64 (scalar: the log and cos dominate the cost). */
function boxMuller(w0: u32, w1: u32): f32 {
  const u1 = (<f64>w0 + 0.5) * INV_2_POW_32;
  const u2 = (<f64>w1 + 0.5) * INV_2_POW_32;
  return <f32>(Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2));
}

function gaussian4(w0: v128, w1: v128): v128 {
  let out = f32x4.splat(boxMuller(i32x4.extract_lane(w0, 0), i32x4.extract_lane(w1, 0)));
  out = f32x4.replace_lane(out, 1, boxMuller(i32x4.extract_lane(w0, 1), i32x4.extract_lane(w1, 1)));
  out = f32x4.replace_lane(out, 2, boxMuller(i32x4.extract_lane(w0, 2), i32x4.extract_lane(w1, 2)));
  return f32x4.replace_lane(
    out,
    3,
    boxMuller(i32x4.extract_lane(w0, 3), i32x4.extract_lane(w1, 3)),
  );
}

/** N(0,1) for elements i .. i+3. */
export function gaussianAt(i: u32, stream: u32, key0: u32, key1: u32): v128 {
  const w0 = philox4(i, stream, key0, key1);
  return gaussian4(w0, lastW1);
}

/** Elements i .. i+3 of the distribution. */
function sampleAt(i: u32, stream: u32, key0: u32, key1: u32, distribution: i32): v128 {
  const w0 = philox4(i, stream, key0, key1);
  if (distribution == GAUSSIAN) return gaussian4(w0, lastW1);
  if (distribution == RADEMACHER) {
    const odd = i32x4.ne(v128.and(w0, i32x4.splat(1)), i32x4.splat(0));
    return v128.bitselect(f32x4.splat(1), f32x4.splat(-1), odd);
  }
  return uniform4(w0);
}

// In the kernels below, byte offset o holds element o / 4; a tail step computes 4 lanes and
// keeps lane 0.

/** out[i] = sample(i) */
export function random(
  out: usize,
  n: i32,
  key0: u32,
  key1: u32,
  stream: u32,
  distribution: i32,
): void {
  const chunks = chunkBytes(n);
  const end = byteLength(n);
  let o: usize = 0;
  for (; o < chunks; o += 16)
    st(out + o, sampleAt(<u32>(o >>> 2), stream, key0, key1, distribution), false);
  for (; o < end; o += 4)
    st(out + o, sampleAt(<u32>(o >>> 2), stream, key0, key1, distribution), true);
}

function perturbAt(
  o: usize,
  tail: bool,
  x: usize,
  sigma: v128,
  key0: u32,
  key1: u32,
  stream: u32,
  distribution: i32,
): void {
  const d = sampleAt(<u32>(o >>> 2), stream, key0, key1, distribution);
  st(x + o, f32x4.add(ld(x + o, tail), f32x4.mul(sigma, d)), tail);
}

/** x[i] += sigma * sample(i) */
export function perturb(
  x: usize,
  n: i32,
  sigma: f32,
  key0: u32,
  key1: u32,
  stream: u32,
  distribution: i32,
): void {
  const s = f32x4.splat(sigma);
  const chunks = chunkBytes(n);
  const end = byteLength(n);
  let o: usize = 0;
  for (; o < chunks; o += 16)
    inline.always(perturbAt(o, false, x, s, key0, key1, stream, distribution));
  for (; o < end; o += 4) inline.always(perturbAt(o, true, x, s, key0, key1, stream, distribution));
}
