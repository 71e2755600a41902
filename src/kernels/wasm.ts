/**
 * The wasm backend: the AssemblyScript kernels of asm/assembly (128-bit SIMD), compiled to
 * asm/build/anneal.wasm. Vectors live in the module's linear memory, handed out by an Arena;
 * kernels get byte addresses, so nothing is copied between JS and the kernels except by
 * upload/download. The js backend (js.ts) is the specification each kernel is tested against.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Arena, type WasmMemory } from './arena.js';
import {
  VectorGuard,
  checkAllocLength,
  checkCount,
  checkDownloadTarget,
  checkHostArray,
  checkNotDisposed,
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
import { checkDistribution, checkRandomSpec, distributionCode, seedKey } from './philox.js';
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

/**
 * The part of the WebAssembly JS API used here, typed locally (with WasmMemory): tsconfig's lib
 * (ES2023, no DOM) does not declare it, and a global declaration could clash with other packages'.
 */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: object };
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** The exports of asm/assembly/index.ts; addresses are byte offsets, n element counts. */
interface Kernels {
  memory: WasmMemory;
  heapBase(): number;
  scale(x: number, n: number, alpha: number): void;
  axpy(y: number, x: number, n: number, alpha: number): void;
  mul(out: number, a: number, b: number, n: number): void;
  lerp(out: number, a: number, b: number, n: number, t: number): void;
  lookaheadSync(slow: number, fast: number, n: number, alpha: number): void;
  axpby(out: number, a: number, b: number, n: number, alpha: number, beta: number): void;
  weightedSum(out: number, n: number, xs: number, weights: number, k: number): void;
  adam(
    p: number,
    g: number,
    m: number,
    v: number,
    vMax: number,
    lrMask: number,
    decayMask: number,
    n: number,
    lr: number,
    beta1: number,
    beta2: number,
    oneMinusBeta1: number,
    oneMinusBeta2: number,
    eps: number,
    wd: number,
    stepSize: number,
    invBc2Sqrt: number,
    decoupled: number,
  ): void;
  sgd(
    p: number,
    g: number,
    buf: number,
    lrMask: number,
    decayMask: number,
    n: number,
    lr: number,
    wd: number,
    momentum: number,
    oneMinusDampening: number,
    first: number,
    nesterov: number,
    decoupled: number,
  ): void;
  langevin(
    xp: number,
    g: number,
    x: number,
    mu: number,
    n: number,
    eta: number,
    gamma: number,
    noiseScale: number,
    alpha: number,
    oneMinusAlpha: number,
    key0: number,
    key1: number,
    stream: number,
  ): void;
  dot(a: number, b: number, n: number): number;
  maxAbs(x: number, n: number): number;
  countNonFinite(x: number, n: number): number;
  countNonzero(x: number, n: number): number;
  random(
    out: number,
    n: number,
    key0: number,
    key1: number,
    stream: number,
    distribution: number,
  ): void;
  perturb(
    x: number,
    n: number,
    sigma: number,
    key0: number,
    key1: number,
    stream: number,
    distribution: number,
  ): void;
  magnitudeMask(x: number, mask: number, segments: number, nsegs: number, count: number): number;
}

const WASM_FILE = join('asm', 'build', 'anneal.wasm');

/**
 * asm/build/anneal.wasm of the package this file belongs to: found by walking up from this
 * module's directory (src/kernels under tsx, dist/src/kernels when compiled) to the package root.
 */
export function findWasmFile(): { path?: string; searched: string[] } {
  const searched: string[] = [];
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, WASM_FILE);
    searched.push(candidate);
    if (existsSync(candidate)) return { path: candidate, searched };
    const parent = dirname(dir);
    if (existsSync(join(dir, 'package.json')) || parent === dir) return { searched };
    dir = parent;
  }
}

let compiled: object | undefined;

function compileKernels(): object {
  if (compiled) return compiled;
  const { path, searched } = findWasmFile();
  if (!path) {
    throw new KernelError(
      'ANNEAL_KERNEL_UNAVAILABLE',
      `the WASM module is not built (looked for ${searched.join(', ')}); run \`npm run build:asm\`.`,
    );
  }
  try {
    compiled = new wasmApi.Module(readFileSync(path));
  } catch (e) {
    throw new KernelError(
      'ANNEAL_KERNEL_UNAVAILABLE',
      `could not compile ${path} (${(e as Error).message}); it needs WebAssembly SIMD (Node >= 16.4): ` +
        `rebuild it with \`npm run build:asm\`.`,
    );
  }
  return compiled;
}

class WasmVector implements FlatVector {
  readonly backend = 'wasm';
  freed = false;
  constructor(
    readonly ptr: number,
    readonly length: number,
    readonly owner: WasmOps,
  ) {}
  get alive(): boolean {
    return !this.freed && !this.owner.disposed;
  }
  /** Index of element 0 in a Float32Array over the whole memory. */
  get index(): number {
    return this.ptr / 4;
  }
}

const ptrOf = (v: WasmVector | null) => v?.ptr ?? 0;

export class WasmOps implements FlatOps {
  readonly name = 'wasm';
  disposed = false;
  private readonly k: Kernels;
  private readonly arena: Arena;
  private readonly guard = new VectorGuard<WasmVector>(
    'wasm',
    (v): v is WasmVector => v instanceof WasmVector && v.owner === this,
  );

  constructor() {
    const instance = new wasmApi.Instance(compileKernels(), {});
    this.k = instance.exports as unknown as Kernels;
    this.arena = new Arena(this.k.memory, this.k.heapBase());
  }

  /** Runs fn with a scratch block of `bytes` bytes, released afterwards. */
  private withScratch<T>(bytes: number, fn: (ptr: number) => T): T {
    const ptr = this.arena.alloc(bytes);
    try {
      return fn(ptr);
    } finally {
      this.arena.release(ptr);
    }
  }

  // ---- vectors ---------------------------------------------------------------------------

  alloc(length: number): FlatVector {
    checkNotDisposed('wasm', this.disposed);
    checkAllocLength(length);
    const v = new WasmVector(this.arena.alloc(length * 4), length, this);
    this.arena.f32.fill(0, v.index, v.index + length);
    return v;
  }

  fromArray(data: Float32Array): FlatVector {
    return allocFrom(this, data);
  }

  upload(v: FlatVector, data: Float32Array, offset = 0): void {
    const dst = this.guard.own('upload', 'the vector', v);
    checkHostArray('upload', data);
    checkUploadRange(dst.length, data.length, offset);
    this.arena.f32.set(data, dst.index + offset);
  }

  download(v: FlatVector, out?: Float32Array): Float32Array {
    const src = this.guard.own('download', 'the vector', v);
    checkDownloadTarget(src.length, out);
    const result = out ?? new Float32Array(src.length);
    result.set(this.arena.f32.subarray(src.index, src.index + src.length));
    return result;
  }

  fill(v: FlatVector, value: number): void {
    const x = this.guard.own('fill', 'the vector', v);
    this.arena.f32.fill(value, x.index, x.index + x.length);
  }

  copy(dst: FlatVector, src: FlatVector): void {
    const [d, s] = this.guard.all('copy', { dst, src });
    this.arena.f32.copyWithin(d.index, s.index, s.index + s.length);
  }

  free(v: FlatVector): void {
    const x = this.guard.release(v);
    x.freed = true;
    this.arena.release(x.ptr);
  }

  // ---- element-wise ----------------------------------------------------------------------

  scale(x: FlatVector, alpha: number): void {
    const X = this.guard.own('scale', 'x', x);
    this.k.scale(X.ptr, X.length, alpha);
  }

  axpy(y: FlatVector, alpha: number, x: FlatVector): void {
    const [Y, X] = this.guard.all('axpy', { y, x });
    this.k.axpy(Y.ptr, X.ptr, Y.length, alpha);
  }

  mul(out: FlatVector, a: FlatVector, b: FlatVector): void {
    const [O, A, B] = this.guard.all('mul', { out, a, b });
    this.k.mul(O.ptr, A.ptr, B.ptr, O.length);
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
    const [P, G, M, V] = this.guard.all('adam', { param, grad, m, v });
    const n = P.length;
    const VMax = this.guard.optional('adam', 'vMax', vMax, n);
    const lrMask = this.guard.optional('adam', 'lrMask', options.lrMask, n);
    const decayMask = this.guard.optional('adam', 'decayMask', options.decayMask, n);
    checkStep('adam', h.step);
    const step = hostGatedStep(this, 'adam', options.gate, h.step);
    if (step === null) return; // the gate skips this step
    const stepSize = h.lr / (1 - h.beta1 ** step);
    const invBc2Sqrt = 1 / Math.sqrt(1 - h.beta2 ** step);
    this.k.adam(
      P.ptr,
      G.ptr,
      M.ptr,
      V.ptr,
      ptrOf(VMax),
      ptrOf(lrMask),
      ptrOf(decayMask),
      n,
      h.lr,
      h.beta1,
      h.beta2,
      1 - h.beta1,
      1 - h.beta2,
      h.eps,
      h.weightDecay,
      stepSize,
      invBc2Sqrt,
      h.decoupled ? 1 : 0,
    );
  }

  sgd(
    param: FlatVector,
    grad: FlatVector,
    momentumBuf: FlatVector | null,
    h: SgdHyper,
    options: StepOptions = {},
  ): void {
    const [P, G] = this.guard.all('sgd', { param, grad });
    const n = P.length;
    checkStep('sgd', h.step);
    checkSgd(h.momentum, h.dampening, h.nesterov, momentumBuf !== null);
    const buf = h.momentum !== 0 ? this.guard.optional('sgd', 'momentumBuf', momentumBuf, n) : null;
    const lrMask = this.guard.optional('sgd', 'lrMask', options.lrMask, n);
    const decayMask = this.guard.optional('sgd', 'decayMask', options.decayMask, n);
    // After every check: a skip the gate counts is a step that would have run.
    const step = hostGatedStep(this, 'sgd', options.gate, h.step);
    if (step === null) return; // the gate skips this step
    this.k.sgd(
      P.ptr,
      G.ptr,
      ptrOf(buf),
      ptrOf(lrMask),
      ptrOf(decayMask),
      n,
      h.lr,
      h.weightDecay,
      h.momentum,
      1 - h.dampening,
      step === 1 ? 1 : 0,
      h.nesterov ? 1 : 0,
      h.decoupled ? 1 : 0,
    );
  }

  lookaheadSync(slow: FlatVector, fast: FlatVector, alpha: number): void {
    const [S, F] = this.guard.all('lookaheadSync', { slow, fast });
    this.k.lookaheadSync(S.ptr, F.ptr, S.length, alpha);
  }

  langevinStep(
    xp: FlatVector,
    grad: FlatVector,
    x: FlatVector,
    mu: FlatVector,
    h: LangevinHyper,
  ): void {
    const [XP, G, X, MU] = this.guard.all('langevinStep', { xp, grad, x, mu });
    checkRandomSpec('langevinStep', h);
    const [key0, key1] = seedKey(h.seed);
    const noiseScale = Math.sqrt(h.eta) * h.noise;
    const { eta, gamma, alpha, stream } = h;
    this.k.langevin(
      XP.ptr,
      G.ptr,
      X.ptr,
      MU.ptr,
      XP.length,
      eta,
      gamma,
      noiseScale,
      alpha,
      1 - alpha,
      key0,
      key1,
      stream,
    );
  }

  // ---- averaging -------------------------------------------------------------------------

  runningMean(avg: FlatVector, x: FlatVector, count: number): void {
    const [A, X] = this.guard.all('runningMean', { avg, x });
    checkCount('runningMean', 'count', count, Number.MAX_SAFE_INTEGER);
    this.k.lerp(A.ptr, A.ptr, X.ptr, A.length, 1 / (count + 1));
  }

  ema(avg: FlatVector, x: FlatVector, decay: number): void {
    const [A, X] = this.guard.all('ema', { avg, x });
    this.k.axpby(A.ptr, A.ptr, X.ptr, A.length, decay, 1 - decay);
  }

  weightedSum(out: FlatVector, xs: readonly FlatVector[], weights: readonly number[]): void {
    checkWeightedSum(out, xs, weights);
    const named = Object.fromEntries([['out', out], ...xs.map((x, k) => [`xs[${k}]`, x])]);
    const [O, ...XS] = this.guard.all('weightedSum', named);
    this.sumInto(O, XS, weights);
  }

  /** out = sum_k weights[k] xs[k] in one pass (out may alias any of xs). */
  private sumInto(out: WasmVector, xs: readonly WasmVector[], weights: readonly number[]): void {
    const k = xs.length;
    // Scratch: each weight repeated in 4 lanes (16 bytes), then the k vector addresses.
    this.withScratch(k * 20, (scratch) => {
      const w = scratch / 4;
      weights.forEach((weight, j) => this.arena.f32.fill(weight, w + 4 * j, w + 4 * j + 4));
      this.arena.u32.set(
        xs.map((x) => x.ptr),
        w + 4 * k,
      );
      this.k.weightedSum(out.ptr, out.length, scratch + 16 * k, scratch, k);
    });
  }

  lerp(out: FlatVector, a: FlatVector, b: FlatVector, t: number): void {
    const [O, A, B] = this.guard.all('lerp', { out, a, b });
    this.k.lerp(O.ptr, A.ptr, B.ptr, O.length, t);
  }

  bezier(out: FlatVector, a: FlatVector, bend: FlatVector, b: FlatVector, t: number): void {
    const [O, A, C, B] = this.guard.all('bezier', { out, a, bend, b });
    this.sumInto(O, [A, C, B], [(1 - t) ** 2, 2 * t * (1 - t), t ** 2]);
  }

  // ---- reductions ------------------------------------------------------------------------

  dot(a: FlatVector, b: FlatVector): number {
    const [A, B] = this.guard.all('dot', { a, b });
    return this.k.dot(A.ptr, B.ptr, A.length);
  }

  sumSquares(x: FlatVector): number {
    const X = this.guard.own('sumSquares', 'x', x);
    return this.k.dot(X.ptr, X.ptr, X.length);
  }

  maxAbs(x: FlatVector): number {
    const X = this.guard.own('maxAbs', 'x', x);
    return this.k.maxAbs(X.ptr, X.length);
  }

  countNonFinite(x: FlatVector): number {
    const X = this.guard.own('countNonFinite', 'x', x);
    return this.k.countNonFinite(X.ptr, X.length) >>> 0;
  }

  gateNonFinite(gate: FlatVector, x: FlatVector, step: number): void {
    hostGateNonFinite(this, gate, x, step);
  }

  countZeros(x: FlatVector): number {
    const X = this.guard.own('countZeros', 'x', x);
    return X.length - (this.k.countNonzero(X.ptr, X.length) >>> 0);
  }

  clipByGlobalNorm(g: FlatVector, maxNorm: number): number {
    return clipByGlobalNormWith(this, g, maxNorm);
  }

  clipByGlobalNormInto(g: FlatVector, maxNorm: number, norm: FlatVector): void {
    clipByGlobalNormIntoWith(this, g, maxNorm, norm);
  }

  // ---- randomness and perturbation -------------------------------------------------------

  random(out: FlatVector, spec: RandomSpec): void {
    const O = this.guard.own('random', 'out', out);
    checkDistribution('random', spec);
    const [key0, key1] = seedKey(spec.seed);
    this.k.random(O.ptr, O.length, key0, key1, spec.stream, distributionCode(spec.distribution));
  }

  perturb(x: FlatVector, sigma: number, spec: RandomSpec, segments?: readonly Segment[]): void {
    const X = this.guard.own('perturb', 'x', x);
    checkDistribution('perturb', spec);
    const [key0, key1] = seedKey(spec.seed);
    const code = distributionCode(spec.distribution);
    if (!segments) {
      this.k.perturb(X.ptr, X.length, sigma, key0, key1, spec.stream, code);
      return;
    }
    const sorted = sortedSegments('perturb', segments, X.length);
    // d in a scratch vector, then per segment: two norms and an axpy over the segment's range.
    this.withScratch(X.length * 4, (d) => {
      this.k.random(d, X.length, key0, key1, spec.stream, code);
      for (const { offset, length } of sorted) {
        const xSeg = X.ptr + offset * 4;
        const dSeg = d + offset * 4;
        const dNormSq = this.k.dot(dSeg, dSeg, length);
        const coef =
          dNormSq > 0
            ? (sigma * Math.sqrt(this.k.dot(xSeg, xSeg, length))) / Math.sqrt(dNormSq)
            : 0;
        this.k.axpy(xSeg, dSeg, length, coef);
      }
    });
  }

  // ---- pruning ---------------------------------------------------------------------------

  magnitudeMask(
    x: FlatVector,
    mask: FlatVector,
    segments: readonly Segment[],
    count: number,
  ): ThresholdResult {
    const [X, MASK] = this.guard.all('magnitudeMask', { x, mask });
    const sorted = sortedSegments('magnitudeMask', segments, X.length);
    checkCount('magnitudeMask', 'count', count, segmentsTotal(sorted));
    const thresholdBits = this.withScratch(sorted.length * 8, (list) => {
      const u32 = this.arena.u32;
      sorted.forEach(({ offset, length }, s) => {
        u32[list / 4 + 2 * s] = offset;
        u32[list / 4 + 2 * s + 1] = length;
      });
      return this.k.magnitudeMask(X.ptr, MASK.ptr, list, sorted.length, count) >>> 0;
    });
    return { threshold: count > 0 ? float32FromBits(thresholdBits) : 0, pruned: count };
  }

  applyMask(x: FlatVector, mask: FlatVector): void {
    const [X, MASK] = this.guard.all('applyMask', { x, mask });
    this.k.mul(X.ptr, X.ptr, MASK.ptr, X.length);
  }

  synchronize(): void {}

  dispose(): void {
    this.disposed = true;
  }
}

/** The wasm backend; throws KernelError('ANNEAL_KERNEL_UNAVAILABLE') when the module is missing. */
export function createWasmOps(): FlatOps {
  return new WasmOps();
}
