// Fused optimizer steps, in place on the parameter and its state (see src/kernels/types.ts for
// the math and src/kernels/js.ts for the reference). Masks are optional (address 0 = none).
// Each combination of the flags that change the data flow (decoupled decay, AMSGrad, momentum,
// masks) gets its own loop: the exported function calls the loop function through inline.always
// with constant flags, so no loop branches on them (a loop with no masks loads none, which is
// about 1.15x faster, measured). prettier-ignore keeps the long argument lists grouped by meaning.
import { byteLength, chunkBytes, ld, maskBase, maskSelector, pairBytes, st } from './simd';
import { gaussianAt } from './random';

// Adam / AdamW -------------------------------------------------------------------------------

// prettier-ignore
function adamAt(
  i: usize, tail: bool, decoupled: bool, amsgrad: bool, masked: bool,
  p: usize, g: usize, m: usize, v: usize, vMax: usize,
  lrMask: usize, lrSel: usize, decayMask: usize, decaySel: usize,
  lr: v128, beta1: v128, beta2: v128, oneMinusBeta1: v128, oneMinusBeta2: v128,
  eps: v128, wd: v128, stepSize: v128, invBc2Sqrt: v128,
): void {
  let lrI = lr;
  let step = stepSize;
  let decay = wd;
  if (masked) {
    const lrScale = ld(lrMask + (i & lrSel), tail);
    lrI = f32x4.mul(lr, lrScale);
    step = f32x4.mul(stepSize, lrScale);
    decay = f32x4.mul(wd, ld(decayMask + (i & decaySel), tail));
  }
  let pi = ld(p + i, tail);
  let gi = ld(g + i, tail);
  if (decoupled) pi = f32x4.mul(pi, f32x4.sub(f32x4.splat(1), f32x4.mul(lrI, decay)));
  else gi = f32x4.add(gi, f32x4.mul(decay, pi));
  const mi = f32x4.add(f32x4.mul(beta1, ld(m + i, tail)), f32x4.mul(oneMinusBeta1, gi));
  let vi = f32x4.add(f32x4.mul(beta2, ld(v + i, tail)), f32x4.mul(f32x4.mul(oneMinusBeta2, gi), gi));
  st(m + i, mi, tail);
  st(v + i, vi, tail);
  if (amsgrad) {
    vi = f32x4.max(ld(vMax + i, tail), vi);
    st(vMax + i, vi, tail);
  }
  const denom = f32x4.add(f32x4.mul(f32x4.sqrt(vi), invBc2Sqrt), eps);
  st(p + i, f32x4.sub(pi, f32x4.div(f32x4.mul(step, mi), denom)), tail);
}

// prettier-ignore
function adamLoops(
  decoupled: bool, amsgrad: bool, masked: bool,
  p: usize, g: usize, m: usize, v: usize, vMax: usize, lrMask: usize, decayMask: usize, n: i32,
  lr: f32, beta1: f32, beta2: f32, oneMinusBeta1: f32, oneMinusBeta2: f32,
  eps: f32, wd: f32, stepSize: f32, invBc2Sqrt: f32,
): void {
  const lrBase = maskBase(lrMask);
  const lrSel = maskSelector(lrMask);
  const decayBase = maskBase(decayMask);
  const decaySel = maskSelector(decayMask);
  const lrV = f32x4.splat(lr);
  const b1 = f32x4.splat(beta1);
  const b2 = f32x4.splat(beta2);
  const c1 = f32x4.splat(oneMinusBeta1);
  const c2 = f32x4.splat(oneMinusBeta2);
  const epsV = f32x4.splat(eps);
  const wdV = f32x4.splat(wd);
  const stepV = f32x4.splat(stepSize);
  const bc2 = f32x4.splat(invBc2Sqrt);
  const pairs = pairBytes(n);
  const chunks = chunkBytes(n);
  const end = byteLength(n);
  let i: usize = 0;
  for (; i < pairs; i += 32) {
    inline.always(adamAt(i, false, decoupled, amsgrad, masked, p, g, m, v, vMax, lrBase, lrSel, decayBase, decaySel,
      lrV, b1, b2, c1, c2, epsV, wdV, stepV, bc2));
    inline.always(adamAt(i + 16, false, decoupled, amsgrad, masked, p, g, m, v, vMax, lrBase, lrSel, decayBase, decaySel,
      lrV, b1, b2, c1, c2, epsV, wdV, stepV, bc2));
  }
  for (; i < chunks; i += 16) {
    inline.always(adamAt(i, false, decoupled, amsgrad, masked, p, g, m, v, vMax, lrBase, lrSel, decayBase, decaySel,
      lrV, b1, b2, c1, c2, epsV, wdV, stepV, bc2));
  }
  for (; i < end; i += 4) {
    inline.always(adamAt(i, true, decoupled, amsgrad, masked, p, g, m, v, vMax, lrBase, lrSel, decayBase, decaySel,
      lrV, b1, b2, c1, c2, epsV, wdV, stepV, bc2));
  }
}

/**
 * One Adam/AdamW step. stepSize = lr / (1 - beta1^step), invBc2Sqrt = 1 / sqrt(1 - beta2^step);
 * vMax != 0 turns on AMSGrad. 1 - beta comes from the host in float64: 1 - f32(0.999) in float32
 * is off by 1e-5 relative.
 */
// prettier-ignore
export function adam(
  p: usize, g: usize, m: usize, v: usize, vMax: usize, lrMask: usize, decayMask: usize, n: i32,
  lr: f32, beta1: f32, beta2: f32, oneMinusBeta1: f32, oneMinusBeta2: f32,
  eps: f32, wd: f32, stepSize: f32, invBc2Sqrt: f32, decoupled: bool,
): void {
  const masked = lrMask != 0 || decayMask != 0;
  switch ((decoupled ? 4 : 0) | (vMax != 0 ? 2 : 0) | (masked ? 1 : 0)) {
    case 0: inline.always(adamLoops(false, false, false, p, g, m, v, vMax, lrMask, decayMask, n,
      lr, beta1, beta2, oneMinusBeta1, oneMinusBeta2, eps, wd, stepSize, invBc2Sqrt)); break;
    case 1: inline.always(adamLoops(false, false, true, p, g, m, v, vMax, lrMask, decayMask, n,
      lr, beta1, beta2, oneMinusBeta1, oneMinusBeta2, eps, wd, stepSize, invBc2Sqrt)); break;
    case 2: inline.always(adamLoops(false, true, false, p, g, m, v, vMax, lrMask, decayMask, n,
      lr, beta1, beta2, oneMinusBeta1, oneMinusBeta2, eps, wd, stepSize, invBc2Sqrt)); break;
    case 3: inline.always(adamLoops(false, true, true, p, g, m, v, vMax, lrMask, decayMask, n,
      lr, beta1, beta2, oneMinusBeta1, oneMinusBeta2, eps, wd, stepSize, invBc2Sqrt)); break;
    case 4: inline.always(adamLoops(true, false, false, p, g, m, v, vMax, lrMask, decayMask, n,
      lr, beta1, beta2, oneMinusBeta1, oneMinusBeta2, eps, wd, stepSize, invBc2Sqrt)); break;
    case 5: inline.always(adamLoops(true, false, true, p, g, m, v, vMax, lrMask, decayMask, n,
      lr, beta1, beta2, oneMinusBeta1, oneMinusBeta2, eps, wd, stepSize, invBc2Sqrt)); break;
    case 6: inline.always(adamLoops(true, true, false, p, g, m, v, vMax, lrMask, decayMask, n,
      lr, beta1, beta2, oneMinusBeta1, oneMinusBeta2, eps, wd, stepSize, invBc2Sqrt)); break;
    default: inline.always(adamLoops(true, true, true, p, g, m, v, vMax, lrMask, decayMask, n,
      lr, beta1, beta2, oneMinusBeta1, oneMinusBeta2, eps, wd, stepSize, invBc2Sqrt));
  }
}

// SGD ---------------------------------------------------------------------------------------

// prettier-ignore
function sgdAt(
  i: usize, tail: bool, decoupled: bool, hasMomentum: bool, masked: bool,
  p: usize, g: usize, buf: usize, lrMask: usize, lrSel: usize, decayMask: usize, decaySel: usize,
  lr: v128, wd: v128, momentum: v128, oneMinusDampening: v128, first: v128, nesterov: v128,
): void {
  let lrI = lr;
  let decay = wd;
  if (masked) {
    lrI = f32x4.mul(lr, ld(lrMask + (i & lrSel), tail));
    decay = f32x4.mul(wd, ld(decayMask + (i & decaySel), tail));
  }
  let pi = ld(p + i, tail);
  let d = ld(g + i, tail);
  if (decoupled) pi = f32x4.mul(pi, f32x4.sub(f32x4.splat(1), f32x4.mul(lrI, decay)));
  else d = f32x4.add(d, f32x4.mul(decay, pi));
  if (hasMomentum) {
    // first / nesterov are all-ones or all-zeros lane masks: bitselect picks without branching,
    // and on the first step the old buffer's value is computed with but never kept.
    const accumulated = f32x4.add(f32x4.mul(momentum, ld(buf + i, tail)), f32x4.mul(oneMinusDampening, d));
    const b = v128.bitselect(d, accumulated, first);
    st(buf + i, b, tail);
    d = v128.bitselect(f32x4.add(d, f32x4.mul(momentum, b)), b, nesterov);
  }
  st(p + i, f32x4.sub(pi, f32x4.mul(lrI, d)), tail);
}

// prettier-ignore
function sgdLoops(
  decoupled: bool, hasMomentum: bool, masked: bool,
  p: usize, g: usize, buf: usize, lrMask: usize, decayMask: usize, n: i32,
  lr: f32, wd: f32, momentum: f32, oneMinusDampening: f32, first: bool, nesterov: bool,
): void {
  const lrBase = maskBase(lrMask);
  const lrSel = maskSelector(lrMask);
  const decayBase = maskBase(decayMask);
  const decaySel = maskSelector(decayMask);
  const lrV = f32x4.splat(lr);
  const wdV = f32x4.splat(wd);
  const mom = f32x4.splat(momentum);
  const damp = f32x4.splat(oneMinusDampening);
  const firstV = i32x4.splat(first ? -1 : 0);
  const nesterovV = i32x4.splat(nesterov ? -1 : 0);
  const pairs = pairBytes(n);
  const chunks = chunkBytes(n);
  const end = byteLength(n);
  let i: usize = 0;
  for (; i < pairs; i += 32) {
    inline.always(sgdAt(i, false, decoupled, hasMomentum, masked, p, g, buf, lrBase, lrSel, decayBase, decaySel,
      lrV, wdV, mom, damp, firstV, nesterovV));
    inline.always(sgdAt(i + 16, false, decoupled, hasMomentum, masked, p, g, buf, lrBase, lrSel, decayBase, decaySel,
      lrV, wdV, mom, damp, firstV, nesterovV));
  }
  for (; i < chunks; i += 16) {
    inline.always(sgdAt(i, false, decoupled, hasMomentum, masked, p, g, buf, lrBase, lrSel, decayBase, decaySel,
      lrV, wdV, mom, damp, firstV, nesterovV));
  }
  for (; i < end; i += 4) {
    inline.always(sgdAt(i, true, decoupled, hasMomentum, masked, p, g, buf, lrBase, lrSel, decayBase, decaySel,
      lrV, wdV, mom, damp, firstV, nesterovV));
  }
}

/** One SGD step; buf == 0 means no momentum (the buffer is neither read nor written). */
// prettier-ignore
export function sgd(
  p: usize, g: usize, buf: usize, lrMask: usize, decayMask: usize, n: i32,
  lr: f32, wd: f32, momentum: f32, oneMinusDampening: f32, first: bool, nesterov: bool, decoupled: bool,
): void {
  const masked = lrMask != 0 || decayMask != 0;
  switch ((decoupled ? 4 : 0) | (buf != 0 ? 2 : 0) | (masked ? 1 : 0)) {
    case 0: inline.always(sgdLoops(false, false, false, p, g, buf, lrMask, decayMask, n,
      lr, wd, momentum, oneMinusDampening, first, nesterov)); break;
    case 1: inline.always(sgdLoops(false, false, true, p, g, buf, lrMask, decayMask, n,
      lr, wd, momentum, oneMinusDampening, first, nesterov)); break;
    case 2: inline.always(sgdLoops(false, true, false, p, g, buf, lrMask, decayMask, n,
      lr, wd, momentum, oneMinusDampening, first, nesterov)); break;
    case 3: inline.always(sgdLoops(false, true, true, p, g, buf, lrMask, decayMask, n,
      lr, wd, momentum, oneMinusDampening, first, nesterov)); break;
    case 4: inline.always(sgdLoops(true, false, false, p, g, buf, lrMask, decayMask, n,
      lr, wd, momentum, oneMinusDampening, first, nesterov)); break;
    case 5: inline.always(sgdLoops(true, false, true, p, g, buf, lrMask, decayMask, n,
      lr, wd, momentum, oneMinusDampening, first, nesterov)); break;
    case 6: inline.always(sgdLoops(true, true, false, p, g, buf, lrMask, decayMask, n,
      lr, wd, momentum, oneMinusDampening, first, nesterov)); break;
    default: inline.always(sgdLoops(true, true, true, p, g, buf, lrMask, decayMask, n,
      lr, wd, momentum, oneMinusDampening, first, nesterov));
  }
}

// Entropy-SGD / Langevin ----------------------------------------------------------------------

// prettier-ignore
function langevinAt(
  o: usize, tail: bool, xp: usize, g: usize, x: usize, mu: usize,
  eta: v128, gamma: v128, noiseScale: v128, alpha: v128, oneMinusAlpha: v128,
  key0: u32, key1: u32, stream: u32,
): void {
  const noise = gaussianAt(<u32>(o >>> 2), stream, key0, key1);
  const xpi = ld(xp + o, tail);
  const drift = f32x4.mul(eta, f32x4.add(ld(g + o, tail), f32x4.mul(gamma, f32x4.sub(xpi, ld(x + o, tail)))));
  const next = f32x4.sub(xpi, f32x4.add(drift, f32x4.mul(noiseScale, noise)));
  st(xp + o, next, tail);
  st(mu + o, f32x4.add(f32x4.mul(oneMinusAlpha, ld(mu + o, tail)), f32x4.mul(alpha, next)), tail);
}

/**
 * xp -= eta (g + gamma (xp - x)) + noiseScale N(0,1);  mu = oneMinusAlpha mu + alpha xp.
 * The Gaussian (log and cos in float64) costs more than the memory traffic.
 */
// prettier-ignore
export function langevin(
  xp: usize, g: usize, x: usize, mu: usize, n: i32,
  eta: f32, gamma: f32, noiseScale: f32, alpha: f32, oneMinusAlpha: f32,
  key0: u32, key1: u32, stream: u32,
): void {
  const etaV = f32x4.splat(eta);
  const gammaV = f32x4.splat(gamma);
  const noiseV = f32x4.splat(noiseScale);
  const alphaV = f32x4.splat(alpha);
  const keepV = f32x4.splat(oneMinusAlpha);
  const chunks = chunkBytes(n);
  const end = byteLength(n);
  let o: usize = 0;
  for (; o < chunks; o += 16) {
    inline.always(langevinAt(o, false, xp, g, x, mu, etaV, gammaV, noiseV, alphaV, keepV, key0, key1, stream));
  }
  for (; o < end; o += 4) {
    inline.always(langevinAt(o, true, xp, g, x, mu, etaV, gammaV, noiseV, alphaV, keepV, key0, key1, stream));
  }
}
