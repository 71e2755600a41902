// Element-wise kernels: x, y, out, a, b are byte addresses of float32 vectors of n elements.
// In-place use (out equal to an input) is safe: each element is read before it is written.
import { byteLength, chunkBytes, ld, pairBytes, st } from './simd';

function scaleAt(i: usize, tail: bool, x: usize, alpha: v128): void {
  st(x + i, f32x4.mul(ld(x + i, tail), alpha), tail);
}

/** x *= alpha */
export function scale(x: usize, n: i32, alpha: f32): void {
  const a = f32x4.splat(alpha);
  const pairs = pairBytes(n);
  const chunks = chunkBytes(n);
  const end = byteLength(n);
  let i: usize = 0;
  for (; i < pairs; i += 32) {
    inline.always(scaleAt(i, false, x, a));
    inline.always(scaleAt(i + 16, false, x, a));
  }
  for (; i < chunks; i += 16) inline.always(scaleAt(i, false, x, a));
  for (; i < end; i += 4) inline.always(scaleAt(i, true, x, a));
}

function axpyAt(i: usize, tail: bool, y: usize, x: usize, alpha: v128): void {
  st(y + i, f32x4.add(ld(y + i, tail), f32x4.mul(alpha, ld(x + i, tail))), tail);
}

/** y += alpha * x */
export function axpy(y: usize, x: usize, n: i32, alpha: f32): void {
  const a = f32x4.splat(alpha);
  const pairs = pairBytes(n);
  const chunks = chunkBytes(n);
  const end = byteLength(n);
  let i: usize = 0;
  for (; i < pairs; i += 32) {
    inline.always(axpyAt(i, false, y, x, a));
    inline.always(axpyAt(i + 16, false, y, x, a));
  }
  for (; i < chunks; i += 16) inline.always(axpyAt(i, false, y, x, a));
  for (; i < end; i += 4) inline.always(axpyAt(i, true, y, x, a));
}

function axpbyAt(
  i: usize,
  tail: bool,
  out: usize,
  a: usize,
  b: usize,
  alpha: v128,
  beta: v128,
): void {
  st(out + i, f32x4.add(f32x4.mul(alpha, ld(a + i, tail)), f32x4.mul(beta, ld(b + i, tail))), tail);
}

/** out = alpha a + beta b (EMA: avg = decay avg + (1 - decay) x) */
export function axpby(out: usize, a: usize, b: usize, n: i32, alpha: f32, beta: f32): void {
  const av = f32x4.splat(alpha);
  const bv = f32x4.splat(beta);
  const pairs = pairBytes(n);
  const chunks = chunkBytes(n);
  const end = byteLength(n);
  let i: usize = 0;
  for (; i < pairs; i += 32) {
    inline.always(axpbyAt(i, false, out, a, b, av, bv));
    inline.always(axpbyAt(i + 16, false, out, a, b, av, bv));
  }
  for (; i < chunks; i += 16) inline.always(axpbyAt(i, false, out, a, b, av, bv));
  for (; i < end; i += 4) inline.always(axpbyAt(i, true, out, a, b, av, bv));
}

function mulAt(i: usize, tail: bool, out: usize, a: usize, b: usize): void {
  st(out + i, f32x4.mul(ld(a + i, tail), ld(b + i, tail)), tail);
}

/** out = a * b */
export function mul(out: usize, a: usize, b: usize, n: i32): void {
  const pairs = pairBytes(n);
  const chunks = chunkBytes(n);
  const end = byteLength(n);
  let i: usize = 0;
  for (; i < pairs; i += 32) {
    inline.always(mulAt(i, false, out, a, b));
    inline.always(mulAt(i + 16, false, out, a, b));
  }
  for (; i < chunks; i += 16) inline.always(mulAt(i, false, out, a, b));
  for (; i < end; i += 4) inline.always(mulAt(i, true, out, a, b));
}

function lerpAt(i: usize, tail: bool, out: usize, a: usize, b: usize, t: v128): void {
  const ai = ld(a + i, tail);
  st(out + i, f32x4.add(ai, f32x4.mul(t, f32x4.sub(ld(b + i, tail), ai))), tail);
}

/** out = a + t (b - a) */
export function lerp(out: usize, a: usize, b: usize, n: i32, t: f32): void {
  const tv = f32x4.splat(t);
  const pairs = pairBytes(n);
  const chunks = chunkBytes(n);
  const end = byteLength(n);
  let i: usize = 0;
  for (; i < pairs; i += 32) {
    inline.always(lerpAt(i, false, out, a, b, tv));
    inline.always(lerpAt(i + 16, false, out, a, b, tv));
  }
  for (; i < chunks; i += 16) inline.always(lerpAt(i, false, out, a, b, tv));
  for (; i < end; i += 4) inline.always(lerpAt(i, true, out, a, b, tv));
}

function lookaheadAt(i: usize, tail: bool, slow: usize, fast: usize, alpha: v128): void {
  const s = ld(slow + i, tail);
  const next = f32x4.add(s, f32x4.mul(alpha, f32x4.sub(ld(fast + i, tail), s)));
  st(slow + i, next, tail);
  st(fast + i, next, tail);
}

/** slow += alpha (fast - slow); fast = slow */
export function lookaheadSync(slow: usize, fast: usize, n: i32, alpha: f32): void {
  const a = f32x4.splat(alpha);
  const pairs = pairBytes(n);
  const chunks = chunkBytes(n);
  const end = byteLength(n);
  let i: usize = 0;
  for (; i < pairs; i += 32) {
    inline.always(lookaheadAt(i, false, slow, fast, a));
    inline.always(lookaheadAt(i + 16, false, slow, fast, a));
  }
  for (; i < chunks; i += 16) inline.always(lookaheadAt(i, false, slow, fast, a));
  for (; i < end; i += 4) inline.always(lookaheadAt(i, true, slow, fast, a));
}

function weightedSumAt(i: usize, tail: bool, out: usize, xs: usize, weights: usize, k: i32): void {
  let acc = f32x4.splat(0);
  for (let j = 0; j < k; j++) {
    const x = load<usize>(xs + ((<usize>j) << 2));
    acc = f32x4.add(acc, f32x4.mul(v128.load(weights + ((<usize>j) << 4)), ld(x + i, tail)));
  }
  st(out + i, acc, tail);
}

/** Two chunks per pass over the k inputs: half the address and weight loads per element. */
function weightedSumPairAt(i: usize, out: usize, xs: usize, weights: usize, k: i32): void {
  let acc0 = f32x4.splat(0);
  let acc1 = f32x4.splat(0);
  for (let j = 0; j < k; j++) {
    const x = load<usize>(xs + ((<usize>j) << 2)) + i;
    const w = v128.load(weights + ((<usize>j) << 4));
    acc0 = f32x4.add(acc0, f32x4.mul(w, v128.load(x)));
    acc1 = f32x4.add(acc1, f32x4.mul(w, v128.load(x, 16)));
  }
  v128.store(out + i, acc0);
  v128.store(out + i, acc1, 16);
}

/**
 * out = sum_j weights[j] * xs[j] in one pass: xs holds k vector addresses (u32), weights k
 * float32 weights each repeated in 4 lanes (16 bytes). Safe when out aliases any xs[j]: each
 * element is read from every xs[j] before it is written.
 */
export function weightedSum(out: usize, n: i32, xs: usize, weights: usize, k: i32): void {
  const pairs = pairBytes(n);
  const chunks = chunkBytes(n);
  const end = byteLength(n);
  let i: usize = 0;
  for (; i < pairs; i += 32) inline.always(weightedSumPairAt(i, out, xs, weights, k));
  for (; i < chunks; i += 16) inline.always(weightedSumAt(i, false, out, xs, weights, k));
  for (; i < end; i += 4) inline.always(weightedSumAt(i, true, out, xs, weights, k));
}
