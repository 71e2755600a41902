/**
 * The js backend: plain loops over Float32Arrays, float64 arithmetic inside each element and in
 * every reduction. It is the readable specification of the math of FlatOps (types.ts) and the
 * oracle the wasm and cuda backends are tested against, so it favours clarity over speed.
 */
import {
  VectorGuard,
  checkAllocLength,
  checkCount,
  checkNotDisposed,
  checkDownloadTarget,
  checkHostArray,
  checkSgd,
  checkStep,
  checkUploadRange,
  checkWeightedSum,
  clipByGlobalNormWith,
  float32FromBits,
  segmentsTotal,
  sortedSegments,
  allocFrom,
  hostGateNonFinite,
  hostGatedStep,
  clipByGlobalNormIntoWith,
} from './common.js';
import { KernelError } from './errors.js';
import { checkDistribution, checkRandomSpec, sampler } from './philox.js';
import type {
  AdamHyper,
  FlatOps,
  FlatVector,
  LangevinHyper,
  RandomSpec,
  Segment,
  SgdHyper,
  StepOptions,
  ThresholdResult,
} from './types.js';

class JsVector implements FlatVector {
  readonly backend = 'js';
  freed = false;
  constructor(
    readonly data: Float32Array,
    readonly owner: JsOps,
  ) {}
  get length(): number {
    return this.data.length;
  }
  get alive(): boolean {
    return !this.freed && !this.owner.disposed;
  }
}

/** |x| as its float32 bit pattern: ordered like the values, NaN above +Infinity. */
function magnitudeKeys(x: Float32Array): Uint32Array {
  const keys = new Uint32Array(x.buffer, x.byteOffset, x.length).slice();
  for (let i = 0; i < keys.length; i++) keys[i] &= 0x7fffffff;
  return keys;
}

export class JsOps implements FlatOps {
  readonly name = 'js';
  disposed = false;
  private readonly guard = new VectorGuard<JsVector>(
    'js',
    (v): v is JsVector => v instanceof JsVector && v.owner === this,
  );

  /** The data of an optional mask, or null. */
  private maskData(op: string, name: string, v: FlatVector | null | undefined, length: number) {
    return this.guard.optional(op, name, v, length)?.data ?? null;
  }

  // ---- vectors ---------------------------------------------------------------------------

  alloc(length: number): FlatVector {
    checkNotDisposed('js', this.disposed);
    checkAllocLength(length);
    let data: Float32Array;
    try {
      data = new Float32Array(length);
    } catch (e) {
      throw new KernelError(
        'ANNEAL_KERNEL_MEMORY',
        `alloc: could not allocate ${length} float32 on the js backend (${(e as Error).message}).`,
      );
    }
    return new JsVector(data, this);
  }

  fromArray(data: Float32Array): FlatVector {
    return allocFrom(this, data);
  }

  upload(v: FlatVector, data: Float32Array, offset = 0): void {
    const dst = this.guard.own('upload', 'the vector', v);
    checkHostArray('upload', data);
    checkUploadRange(dst.length, data.length, offset);
    dst.data.set(data, offset);
  }

  download(v: FlatVector, out?: Float32Array): Float32Array {
    const src = this.guard.own('download', 'the vector', v);
    checkDownloadTarget(src.length, out);
    const result = out ?? new Float32Array(src.length);
    result.set(src.data);
    return result;
  }

  fill(v: FlatVector, value: number): void {
    this.guard.own('fill', 'the vector', v).data.fill(value);
  }

  copy(dst: FlatVector, src: FlatVector): void {
    const [d, s] = this.guard.all('copy', { dst, src });
    d.data.set(s.data);
  }

  free(v: FlatVector): void {
    this.guard.release(v).freed = true;
  }

  // ---- element-wise ----------------------------------------------------------------------

  scale(x: FlatVector, alpha: number): void {
    const X = this.guard.own('scale', 'x', x).data;
    for (let i = 0; i < X.length; i++) X[i] = X[i] * alpha;
  }

  axpy(y: FlatVector, alpha: number, x: FlatVector): void {
    const [Y, X] = this.guard.all('axpy', { y, x }).map((v) => v.data);
    for (let i = 0; i < Y.length; i++) Y[i] = Y[i] + alpha * X[i];
  }

  mul(out: FlatVector, a: FlatVector, b: FlatVector): void {
    const [O, A, B] = this.guard.all('mul', { out, a, b }).map((v) => v.data);
    for (let i = 0; i < O.length; i++) O[i] = A[i] * B[i];
  }

  // ---- fused optimizer steps -------------------------------------------------------------

  adam(
    param: FlatVector,
    grad: FlatVector,
    m: FlatVector,
    v: FlatVector,
    vMax: FlatVector | null,
    h: AdamHyper,
    options: StepOptions = {},
  ): void {
    const [P, G, M, V] = this.guard.all('adam', { param, grad, m, v }).map((x) => x.data);
    const n = P.length;
    const VMax = this.maskData('adam', 'vMax', vMax, n);
    const lrMask = this.maskData('adam', 'lrMask', options.lrMask, n);
    const decayMask = this.maskData('adam', 'decayMask', options.decayMask, n);
    checkStep('adam', h.step);
    const step = hostGatedStep(this, 'adam', options.gate, h.step);
    if (step === null) return; // the gate skips this step
    const biasCorrection1 = 1 - h.beta1 ** step;
    const biasCorrection2Sqrt = Math.sqrt(1 - h.beta2 ** step);
    for (let i = 0; i < n; i++) {
      const lr = h.lr * (lrMask ? lrMask[i] : 1);
      const decay = h.weightDecay * (decayMask ? decayMask[i] : 1);
      let p = P[i];
      let g = G[i];
      if (h.decoupled) p *= 1 - lr * decay;
      else g += decay * p;
      const mi = h.beta1 * M[i] + (1 - h.beta1) * g;
      let vi = h.beta2 * V[i] + (1 - h.beta2) * g * g;
      M[i] = mi;
      V[i] = vi;
      if (VMax) {
        vi = Math.max(VMax[i], vi);
        VMax[i] = vi;
      }
      P[i] = p - ((lr / biasCorrection1) * mi) / (Math.sqrt(vi) / biasCorrection2Sqrt + h.eps);
    }
  }

  sgd(
    param: FlatVector,
    grad: FlatVector,
    momentumBuf: FlatVector | null,
    h: SgdHyper,
    options: StepOptions = {},
  ): void {
    const [P, G] = this.guard.all('sgd', { param, grad }).map((x) => x.data);
    const n = P.length;
    checkStep('sgd', h.step);
    checkSgd(h.momentum, h.dampening, h.nesterov, momentumBuf !== null);
    const buf = h.momentum !== 0 ? this.maskData('sgd', 'momentumBuf', momentumBuf, n) : null;
    const lrMask = this.maskData('sgd', 'lrMask', options.lrMask, n);
    const decayMask = this.maskData('sgd', 'decayMask', options.decayMask, n);
    // After every check: a skip the gate counts is a step that would have run.
    const step = hostGatedStep(this, 'sgd', options.gate, h.step);
    if (step === null) return; // the gate skips this step
    for (let i = 0; i < n; i++) {
      const lr = h.lr * (lrMask ? lrMask[i] : 1);
      const decay = h.weightDecay * (decayMask ? decayMask[i] : 1);
      let p = P[i];
      let d = G[i];
      if (h.decoupled) p *= 1 - lr * decay;
      else d += decay * p;
      if (buf) {
        const b = step === 1 ? d : h.momentum * buf[i] + (1 - h.dampening) * d;
        buf[i] = b;
        d = h.nesterov ? d + h.momentum * b : b;
      }
      P[i] = p - lr * d;
    }
  }

  lookaheadSync(slow: FlatVector, fast: FlatVector, alpha: number): void {
    const [S, F] = this.guard.all('lookaheadSync', { slow, fast }).map((v) => v.data);
    for (let i = 0; i < S.length; i++) {
      S[i] = S[i] + alpha * (F[i] - S[i]);
      F[i] = S[i];
    }
  }

  langevinStep(
    xp: FlatVector,
    grad: FlatVector,
    x: FlatVector,
    mu: FlatVector,
    h: LangevinHyper,
  ): void {
    const [XP, G, X, MU] = this.guard.all('langevinStep', { xp, grad, x, mu }).map((v) => v.data);
    checkRandomSpec('langevinStep', h);
    const gaussian = sampler(h, 'gaussian');
    const noiseScale = Math.sqrt(h.eta) * h.noise;
    for (let i = 0; i < XP.length; i++) {
      const noise = Math.fround(gaussian(i));
      XP[i] = XP[i] - (h.eta * (G[i] + h.gamma * (XP[i] - X[i])) + noiseScale * noise);
      MU[i] = (1 - h.alpha) * MU[i] + h.alpha * XP[i];
    }
  }

  // ---- averaging -------------------------------------------------------------------------

  runningMean(avg: FlatVector, x: FlatVector, count: number): void {
    const [A, X] = this.guard.all('runningMean', { avg, x }).map((v) => v.data);
    checkCount('runningMean', 'count', count, Number.MAX_SAFE_INTEGER);
    for (let i = 0; i < A.length; i++) A[i] = A[i] + (X[i] - A[i]) / (count + 1);
  }

  ema(avg: FlatVector, x: FlatVector, decay: number): void {
    const [A, X] = this.guard.all('ema', { avg, x }).map((v) => v.data);
    for (let i = 0; i < A.length; i++) A[i] = decay * A[i] + (1 - decay) * X[i];
  }

  weightedSum(out: FlatVector, xs: readonly FlatVector[], weights: readonly number[]): void {
    checkWeightedSum(out, xs, weights);
    const named = Object.fromEntries([['out', out], ...xs.map((x, k) => [`xs[${k}]`, x])]);
    const [O, ...XS] = this.guard.all('weightedSum', named).map((v) => v.data);
    for (let i = 0; i < O.length; i++) {
      let sum = 0;
      for (let k = 0; k < XS.length; k++) sum += weights[k] * XS[k][i];
      O[i] = sum;
    }
  }

  lerp(out: FlatVector, a: FlatVector, b: FlatVector, t: number): void {
    const [O, A, B] = this.guard.all('lerp', { out, a, b }).map((v) => v.data);
    for (let i = 0; i < O.length; i++) O[i] = A[i] + t * (B[i] - A[i]);
  }

  bezier(out: FlatVector, a: FlatVector, bend: FlatVector, b: FlatVector, t: number): void {
    const [O, A, C, B] = this.guard.all('bezier', { out, a, bend, b }).map((v) => v.data);
    for (let i = 0; i < O.length; i++) {
      O[i] = (1 - t) ** 2 * A[i] + 2 * t * (1 - t) * C[i] + t ** 2 * B[i];
    }
  }

  // ---- reductions ------------------------------------------------------------------------

  dot(a: FlatVector, b: FlatVector): number {
    const [A, B] = this.guard.all('dot', { a, b }).map((v) => v.data);
    let sum = 0;
    for (let i = 0; i < A.length; i++) sum += A[i] * B[i];
    return sum;
  }

  sumSquares(x: FlatVector): number {
    const X = this.guard.own('sumSquares', 'x', x).data;
    let sum = 0;
    for (let i = 0; i < X.length; i++) sum += X[i] * X[i];
    return sum;
  }

  maxAbs(x: FlatVector): number {
    const X = this.guard.own('maxAbs', 'x', x).data;
    let max = 0;
    for (let i = 0; i < X.length; i++) {
      const a = Math.abs(X[i]);
      if (a > max) max = a; // false for NaN: NaN is ignored
    }
    return max;
  }

  countNonFinite(x: FlatVector): number {
    const X = this.guard.own('countNonFinite', 'x', x).data;
    let count = 0;
    for (let i = 0; i < X.length; i++) if (!Number.isFinite(X[i])) count++;
    return count;
  }

  gateNonFinite(gate: FlatVector, x: FlatVector, step: number): void {
    hostGateNonFinite(this, gate, x, step);
  }

  countZeros(x: FlatVector): number {
    const X = this.guard.own('countZeros', 'x', x).data;
    let count = 0;
    for (let i = 0; i < X.length; i++) if (X[i] === 0) count++;
    return count;
  }

  clipByGlobalNorm(g: FlatVector, maxNorm: number): number {
    return clipByGlobalNormWith(this, g, maxNorm);
  }

  clipByGlobalNormInto(g: FlatVector, maxNorm: number, norm: FlatVector): void {
    clipByGlobalNormIntoWith(this, g, maxNorm, norm);
  }

  // ---- randomness and perturbation -------------------------------------------------------

  random(out: FlatVector, spec: RandomSpec): void {
    const O = this.guard.own('random', 'out', out).data;
    checkDistribution('random', spec);
    const sample = sampler(spec, spec.distribution);
    for (let i = 0; i < O.length; i++) O[i] = sample(i);
  }

  perturb(x: FlatVector, sigma: number, spec: RandomSpec, segments?: readonly Segment[]): void {
    const X = this.guard.own('perturb', 'x', x).data;
    checkDistribution('perturb', spec);
    const sorted = segments && sortedSegments('perturb', segments, X.length);
    // d[i] is the float32 that random() would write.
    const d = new Float32Array(X.length);
    const sample = sampler(spec, spec.distribution);
    for (let i = 0; i < d.length; i++) d[i] = sample(i);
    if (!sorted) {
      for (let i = 0; i < X.length; i++) X[i] = X[i] + sigma * d[i];
      return;
    }
    for (const { offset, length } of sorted) {
      let xNormSq = 0;
      let dNormSq = 0;
      for (let i = offset; i < offset + length; i++) {
        xNormSq += X[i] * X[i];
        dNormSq += d[i] * d[i];
      }
      const coef = dNormSq > 0 ? (sigma * Math.sqrt(xNormSq)) / Math.sqrt(dNormSq) : 0;
      for (let i = offset; i < offset + length; i++) X[i] = X[i] + coef * d[i];
    }
  }

  // ---- pruning ---------------------------------------------------------------------------

  magnitudeMask(
    x: FlatVector,
    mask: FlatVector,
    segments: readonly Segment[],
    count: number,
  ): ThresholdResult {
    const [X, MASK] = this.guard.all('magnitudeMask', { x, mask }).map((v) => v.data);
    const sorted = sortedSegments('magnitudeMask', segments, X.length);
    const total = segmentsTotal(sorted);
    checkCount('magnitudeMask', 'count', count, total);
    const keys = magnitudeKeys(X);
    // The oracle sorts (O(N log N)); the other backends select in O(N).
    const candidates = new Uint32Array(total);
    let k = 0;
    for (const { offset, length } of sorted) {
      candidates.set(keys.subarray(offset, offset + length), k);
      k += length;
    }
    candidates.sort();
    // Everything below the threshold goes; of the entries equal to it, the lowest indices go.
    // With count 0 the threshold key is -1, which no key is below or equal to.
    const thresholdKey = count > 0 ? candidates[count - 1] : -1;
    const below = count > 0 ? candidates.findIndex((key) => key >= thresholdKey) : 0;
    let tiesToZero = count - below;
    for (const { offset, length } of sorted) {
      for (let i = offset; i < offset + length; i++) {
        const zero = keys[i] < thresholdKey || (keys[i] === thresholdKey && tiesToZero-- > 0);
        MASK[i] = zero ? 0 : 1;
      }
    }
    return { threshold: count > 0 ? float32FromBits(thresholdKey) : 0, pruned: count };
  }

  applyMask(x: FlatVector, mask: FlatVector): void {
    const [X, MASK] = this.guard.all('applyMask', { x, mask }).map((v) => v.data);
    for (let i = 0; i < X.length; i++) X[i] = X[i] * MASK[i];
  }

  synchronize(): void {}

  dispose(): void {
    this.disposed = true;
  }
}

export function createJsOps(): FlatOps {
  return new JsOps();
}
