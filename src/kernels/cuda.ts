/**
 * The cuda and host backends: FlatOps over the N-API addon built from native/ (see
 * CMakeLists.txt). Two builds of the same kernels sit behind the same binding:
 * - build/Release/anneal_cuda.node, backend 'cuda' (loadCudaOps, probeCuda): vectors live in GPU
 *   memory and cross the bus only in upload/download; work is queued in order and ops that
 *   return a number wait for it;
 * - build/Release/anneal_cpu.node, backend 'host' (loadHostOps): the same element math and
 *   selection compiled for the host, its loops on OpenMP threads (ANNEAL_THREADS, else every
 *   core). It also lets CI test the GPU arithmetic without a GPU.
 *
 * This module imports nothing but node built-ins and the addon, so it runs from dist/ without
 * node_modules (the GPU check in bench/device-check.sh relies on that).
 */
import { loadAddon, type LoadedAddon } from '../addons.js';
import { resolveThreads } from '../machine.js';
import {
  VectorGuard,
  checkAllocLength,
  checkCount,
  checkDownloadTarget,
  checkGate,
  checkNormSlot,
  checkHostArray,
  checkNotDisposed,
  checkSgd,
  checkStep,
  checkUploadRange,
  checkWeightedSum,
  segmentsTotal,
  sortedSegments,
  allocFrom,
} from './common.js';
import { KernelError, type KernelErrorCode } from './errors.js';
import { checkDistribution, checkRandomSpec, distributionCode, seedKey } from './philox.js';
import type {
  AdamHyper,
  Distribution,
  FlatOps,
  FlatVector,
  LangevinHyper,
  RandomSpec,
  Segment,
  SgdHyper,
  StepGateRef,
  StepOptions,
  ThresholdResult,
} from './types.js';

// ---- the raw addon (native/binding/addon.cc) ----------------------------------------------

interface NativeVector {
  readonly length: number;
  readonly alive: boolean;
  free(): void;
}

interface NativeRandom {
  seedLo: number;
  seedHi: number;
  stream: number;
  distribution: number;
}

type Vec = NativeVector;
type OptVec = NativeVector | null;

/** anneal_gate (native/cuda/anneal_kernels.h): a step gate and what its kernel recounts with. */
interface NativeGate {
  vector: Vec;
  settled: number;
  step: number;
  beta1?: number;
  beta2?: number;
}

interface NativeAddon {
  readonly backend: NativeBuild;
  readonly DeviceVector: new (length: number) => NativeVector;
  probe(): { status: number; errorName: string; message: string; device: string };
  upload(v: Vec, data: Float32Array, offset: number): void;
  download(v: Vec, out: Float32Array): void;
  fill(v: Vec, value: number): void;
  copy(dst: Vec, src: Vec): void;
  synchronize(): void;
  /** The host build's thread count (0: every core); returns the count in effect. */
  setThreads(threads: number): number;
  timerStart(): void;
  timerStop(): number;
  scale(x: Vec, alpha: number): void;
  axpy(y: Vec, alpha: number, x: Vec): void;
  mul(out: Vec, a: Vec, b: Vec): void;
  adam(
    param: Vec,
    grad: Vec,
    m: Vec,
    v: Vec,
    vMax: OptVec,
    lrMask: OptVec,
    decayMask: OptVec,
    hyper: {
      lr: number;
      beta1: number;
      beta2: number;
      eps: number;
      weightDecay: number;
      biasCorrection1: number;
      sqrtBiasCorrection2: number;
      decoupled: boolean;
    },
    gate?: NativeGate | null,
  ): void;
  sgd(
    param: Vec,
    grad: Vec,
    buf: OptVec,
    lrMask: OptVec,
    decayMask: OptVec,
    hyper: {
      lr: number;
      momentum: number;
      dampening: number;
      weightDecay: number;
      nesterov: boolean;
      decoupled: boolean;
      firstStep: boolean;
    },
    gate?: NativeGate | null,
  ): void;
  lookaheadSync(slow: Vec, fast: Vec, alpha: number): void;
  langevin(
    xp: Vec,
    grad: Vec,
    x: Vec,
    mu: Vec,
    hyper: { eta: number; gamma: number; noiseScale: number; alpha: number },
    rng: NativeRandom,
  ): void;
  runningMean(avg: Vec, x: Vec, invCountPlusOne: number): void;
  ema(avg: Vec, x: Vec, decay: number): void;
  weightedSum(out: Vec, xs: Vec[], weights: Float64Array): void;
  lerp(out: Vec, a: Vec, b: Vec, t: number): void;
  bezier(out: Vec, a: Vec, bend: Vec, b: Vec, t: number): void;
  dot(a: Vec, b: Vec): number;
  sumSquares(x: Vec): number;
  maxAbs(x: Vec): number;
  countNonFinite(x: Vec): number;
  gateNonFinite(gate: Vec, x: Vec, step: number): void;
  countZeros(x: Vec): number;
  clipByGlobalNorm(g: Vec, maxNorm: number): number;
  clipByGlobalNormInto(g: Vec, maxNorm: number, norm: Vec): void;
  random(out: Vec, rng: NativeRandom): void;
  perturb(x: Vec, sigma: number, rng: NativeRandom, segments: Float64Array | null): void;
  magnitudeMask(x: Vec, mask: Vec, segments: Float64Array, count: number): number;
}

/** The backends the addon's two builds give. */
type NativeBuild = 'cuda' | 'host';

const ADDON_FILES: Record<NativeBuild, string> = {
  cuda: 'anneal_cuda.node',
  host: 'anneal_cpu.node',
};

/** Loads one build of the addon once (src/addons.ts keeps a failure's reason). */
function loadBuild(build: NativeBuild): LoadedAddon<NativeAddon> {
  const how =
    build === 'cuda'
      ? 'install the CUDA toolkit (nvcc) and cmake, then run `npm run build:addon`'
      : 'install cmake and a C++17 compiler, then run `npm run build:addon`';
  return loadAddon<NativeAddon>(ADDON_FILES[build], how);
}

// ---- probing -------------------------------------------------------------------------------

export interface CudaProbe {
  ok: boolean;
  /** Why the cuda backend cannot run here (absent when ok). */
  reason?: string;
  /** The GPU, e.g. "NVIDIA H100 80GB HBM3 (sm_90, 79 GiB)" (when ok). */
  device?: string;
  /** The CUDA error code of a failed probe (35: driver too old or missing, 100: no GPU). */
  status?: number;
}

const CUDA_HINTS: Record<number, string> = {
  35: 'no NVIDIA driver new enough for CUDA 13 was found; install or update the driver (>= 580)',
  100: 'no CUDA-capable GPU is visible; check the machine and CUDA_VISIBLE_DEVICES',
  209: 'the addon has no code for this GPU; rebuild with ANNEAL_CUDA_ARCH set to its compute capability (e.g. ANNEAL_CUDA_ARCH=80 npm run build:addon)',
};

let cudaProbe: CudaProbe | undefined;

/**
 * Whether the CUDA addon loads and a GPU answers (a kernel launch included, so a binary
 * without code for this GPU is caught here). Cached: the first call initialises CUDA.
 */
export function probeCuda(): CudaProbe {
  if (cudaProbe) return cudaProbe;
  const loaded = loadBuild('cuda');
  if ('reason' in loaded) {
    cudaProbe = { ok: false, reason: loaded.reason };
  } else {
    const probe = loaded.addon.probe();
    if (probe.status === 0) {
      cudaProbe = { ok: true, device: probe.device };
    } else {
      const hint = CUDA_HINTS[probe.status] ?? 'the GPU cannot be used by this process';
      cudaProbe = {
        ok: false,
        status: probe.status,
        reason: `CUDA error ${probe.status} (${probe.errorName}): ${probe.message}; ${hint}`,
      };
    }
  }
  return cudaProbe;
}

// ---- the backend ---------------------------------------------------------------------------

/** FlatOps of the native addon, plus timing with CUDA events for benchmarks. */
export interface NativeFlatOps extends FlatOps {
  readonly name: NativeBuild;
  /** The GPU's name, or a description of the host build. */
  readonly device: string;
  /**
   * Milliseconds per call of `run`, measured around `repeats` calls with CUDA events on the
   * GPU (so queued kernels are timed, not the host's launch loop); a host clock on the host build.
   */
  elapsedMs(run: () => void, repeats: number): number;
}

class AddonVector implements FlatVector {
  constructor(
    readonly handle: NativeVector,
    readonly owner: NativeOps,
  ) {}
  get backend(): NativeBuild {
    return this.owner.name;
  }
  get length(): number {
    return this.handle.length;
  }
  get alive(): boolean {
    return this.handle.alive && !this.owner.disposed;
  }
}

const ADDON_CODES = new Set<string>([
  'ANNEAL_KERNEL_FREED',
  'ANNEAL_KERNEL_BACKEND',
  'ANNEAL_KERNEL_LENGTH',
  'ANNEAL_KERNEL_ARGUMENT',
  'ANNEAL_KERNEL_MEMORY',
]);

/**
 * Runs an addon call, turning its coded errors into KernelErrors. The checks here make most of
 * them unreachable; a CUDA failure during a run (code ANNEAL_KERNEL_DEVICE) means the GPU is no
 * longer usable by this process, reported as ANNEAL_KERNEL_UNAVAILABLE.
 */
function native<T>(call: () => T): T {
  try {
    return call();
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (typeof code !== 'string' || !code.startsWith('ANNEAL_KERNEL_')) throw e;
    const kernelCode = (
      ADDON_CODES.has(code) ? code : 'ANNEAL_KERNEL_UNAVAILABLE'
    ) as KernelErrorCode;
    throw new KernelError(kernelCode, (e as Error).message);
  }
}

function nativeRandom(
  spec: { seed: number; stream: number },
  distribution: Distribution,
): NativeRandom {
  const [seedLo, seedHi] = seedKey(spec.seed);
  return {
    seedLo,
    seedHi,
    stream: spec.stream >>> 0,
    distribution: distributionCode(distribution),
  };
}

function segmentPairs(segments: readonly Segment[]): Float64Array {
  return Float64Array.from(segments.flatMap((s) => [s.offset, s.length]));
}

class NativeOps implements NativeFlatOps {
  disposed = false;
  private readonly guard: VectorGuard<AddonVector>;
  /** Vectors not yet freed, for dispose(); a vector dropped without free() is freed by GC. */
  private readonly live = new Set<WeakRef<NativeVector>>();
  private readonly forget = new FinalizationRegistry<WeakRef<NativeVector>>((ref) =>
    this.live.delete(ref),
  );
  private readonly refs = new WeakMap<NativeVector, WeakRef<NativeVector>>();

  constructor(
    private readonly addon: NativeAddon,
    readonly name: NativeBuild,
    readonly device: string,
  ) {
    this.guard = new VectorGuard<AddonVector>(
      name,
      (v): v is AddonVector => v instanceof AddonVector && v.owner === this,
    );
  }

  private h(v: FlatVector): NativeVector {
    return (v as AddonVector).handle;
  }

  private optional(
    op: string,
    arg: string,
    v: FlatVector | null | undefined,
    length: number,
  ): OptVec {
    const own = this.guard.optional(op, arg, v, length);
    return own ? own.handle : null;
  }

  /** A step's gate as the addon takes it: the kernel reads it where it is (pass_gate). */
  private gate(
    op: string,
    gate: StepGateRef | null | undefined,
    step: number,
    betas: { beta1?: number; beta2?: number } = {},
  ): NativeGate | null {
    if (!gate) return null;
    const vector = this.guard.own(op, 'gate.vector', gate.vector);
    checkGate(op, vector);
    return { vector: vector.handle, settled: gate.settled, step, ...betas };
  }

  // ---- vectors ---------------------------------------------------------------------------

  alloc(length: number): FlatVector {
    checkNotDisposed(this.name, this.disposed);
    checkAllocLength(length);
    if (length > 0xffffffff) {
      throw new KernelError(
        'ANNEAL_KERNEL_ARGUMENT',
        `alloc: length ${length} exceeds 2^32 - 1, the most elements one ${this.name} vector may hold; split the vector.`,
      );
    }
    const handle = native(() => new this.addon.DeviceVector(length));
    const ref = new WeakRef(handle);
    this.live.add(ref);
    this.refs.set(handle, ref);
    this.forget.register(handle, ref, handle);
    return new AddonVector(handle, this);
  }

  fromArray(data: Float32Array): FlatVector {
    return allocFrom(this, data);
  }

  upload(v: FlatVector, data: Float32Array, offset = 0): void {
    const dst = this.guard.own('upload', 'the vector', v);
    checkHostArray('upload', data);
    checkUploadRange(dst.length, data.length, offset);
    native(() => this.addon.upload(dst.handle, data, offset));
  }

  download(v: FlatVector, out?: Float32Array): Float32Array {
    const src = this.guard.own('download', 'the vector', v);
    checkDownloadTarget(src.length, out);
    const result = out ?? new Float32Array(src.length);
    native(() => this.addon.download(src.handle, result));
    return result;
  }

  fill(v: FlatVector, value: number): void {
    const x = this.guard.own('fill', 'the vector', v);
    native(() => this.addon.fill(x.handle, value));
  }

  copy(dst: FlatVector, src: FlatVector): void {
    const [d, s] = this.guard.all('copy', { dst, src });
    native(() => this.addon.copy(d.handle, s.handle));
  }

  free(v: FlatVector): void {
    const handle = this.guard.release(v).handle;
    const ref = this.refs.get(handle);
    if (ref) this.live.delete(ref);
    this.forget.unregister(handle);
    native(() => handle.free());
  }

  // ---- element-wise ----------------------------------------------------------------------

  scale(x: FlatVector, alpha: number): void {
    const X = this.guard.own('scale', 'x', x);
    native(() => this.addon.scale(X.handle, alpha));
  }

  axpy(y: FlatVector, alpha: number, x: FlatVector): void {
    const [Y, X] = this.guard.all('axpy', { y, x });
    native(() => this.addon.axpy(Y.handle, alpha, X.handle));
  }

  mul(out: FlatVector, a: FlatVector, b: FlatVector): void {
    const [O, A, B] = this.guard.all('mul', { out, a, b });
    native(() => this.addon.mul(O.handle, A.handle, B.handle));
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
    const VMax = this.optional('adam', 'vMax', vMax, n);
    const lrMask = this.optional('adam', 'lrMask', options.lrMask, n);
    const decayMask = this.optional('adam', 'decayMask', options.decayMask, n);
    checkStep('adam', h.step);
    const hyper = {
      lr: h.lr,
      beta1: h.beta1,
      beta2: h.beta2,
      eps: h.eps,
      weightDecay: h.weightDecay,
      biasCorrection1: 1 - h.beta1 ** h.step,
      sqrtBiasCorrection2: Math.sqrt(1 - h.beta2 ** h.step),
      decoupled: h.decoupled,
    };
    const gate = this.gate('adam', options.gate, h.step, { beta1: h.beta1, beta2: h.beta2 });
    native(() =>
      this.addon.adam(P.handle, G.handle, M.handle, V.handle, VMax, lrMask, decayMask, hyper, gate),
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
    const buf = h.momentum !== 0 ? this.optional('sgd', 'momentumBuf', momentumBuf, n) : null;
    const lrMask = this.optional('sgd', 'lrMask', options.lrMask, n);
    const decayMask = this.optional('sgd', 'decayMask', options.decayMask, n);
    const hyper = {
      lr: h.lr,
      momentum: h.momentum,
      dampening: h.dampening,
      weightDecay: h.weightDecay,
      nesterov: h.nesterov,
      decoupled: h.decoupled,
      firstStep: h.step === 1,
    };
    const gate = this.gate('sgd', options.gate, h.step);
    native(() => this.addon.sgd(P.handle, G.handle, buf, lrMask, decayMask, hyper, gate));
  }

  lookaheadSync(slow: FlatVector, fast: FlatVector, alpha: number): void {
    const [S, F] = this.guard.all('lookaheadSync', { slow, fast });
    native(() => this.addon.lookaheadSync(S.handle, F.handle, alpha));
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
    const hyper = {
      eta: h.eta,
      gamma: h.gamma,
      noiseScale: Math.sqrt(h.eta) * h.noise,
      alpha: h.alpha,
    };
    native(() =>
      this.addon.langevin(
        XP.handle,
        G.handle,
        X.handle,
        MU.handle,
        hyper,
        nativeRandom(h, 'gaussian'),
      ),
    );
  }

  // ---- averaging -------------------------------------------------------------------------

  runningMean(avg: FlatVector, x: FlatVector, count: number): void {
    const [A, X] = this.guard.all('runningMean', { avg, x });
    checkCount('runningMean', 'count', count, Number.MAX_SAFE_INTEGER);
    native(() => this.addon.runningMean(A.handle, X.handle, 1 / (count + 1)));
  }

  ema(avg: FlatVector, x: FlatVector, decay: number): void {
    const [A, X] = this.guard.all('ema', { avg, x });
    native(() => this.addon.ema(A.handle, X.handle, decay));
  }

  weightedSum(out: FlatVector, xs: readonly FlatVector[], weights: readonly number[]): void {
    checkWeightedSum(out, xs, weights);
    const named = Object.fromEntries([['out', out], ...xs.map((x, k) => [`xs[${k}]`, x])]);
    const [O, ...XS] = this.guard.all('weightedSum', named).map((v) => v.handle);
    native(() => this.addon.weightedSum(O, XS, Float64Array.from(weights)));
  }

  lerp(out: FlatVector, a: FlatVector, b: FlatVector, t: number): void {
    const [O, A, B] = this.guard.all('lerp', { out, a, b });
    native(() => this.addon.lerp(O.handle, A.handle, B.handle, t));
  }

  bezier(out: FlatVector, a: FlatVector, bend: FlatVector, b: FlatVector, t: number): void {
    const [O, A, C, B] = this.guard.all('bezier', { out, a, bend, b });
    native(() => this.addon.bezier(O.handle, A.handle, C.handle, B.handle, t));
  }

  // ---- reductions ------------------------------------------------------------------------

  dot(a: FlatVector, b: FlatVector): number {
    const [A, B] = this.guard.all('dot', { a, b });
    return native(() => this.addon.dot(A.handle, B.handle));
  }

  sumSquares(x: FlatVector): number {
    const X = this.guard.own('sumSquares', 'x', x);
    return native(() => this.addon.sumSquares(X.handle));
  }

  maxAbs(x: FlatVector): number {
    const X = this.guard.own('maxAbs', 'x', x);
    return native(() => this.addon.maxAbs(X.handle));
  }

  countNonFinite(x: FlatVector): number {
    const X = this.guard.own('countNonFinite', 'x', x);
    return native(() => this.addon.countNonFinite(X.handle));
  }

  gateNonFinite(gate: FlatVector, x: FlatVector, step: number): void {
    const Gate = this.guard.own('gateNonFinite', 'gate', gate);
    const X = this.guard.own('gateNonFinite', 'x', x);
    checkGate('gateNonFinite', gate, step);
    native(() => this.addon.gateNonFinite(Gate.handle, X.handle, step));
  }

  countZeros(x: FlatVector): number {
    const X = this.guard.own('countZeros', 'x', x);
    return native(() => this.addon.countZeros(X.handle));
  }

  /**
   * One native call (clipByGlobalNormWith's arithmetic: the same bits): on cuda the scale
   * factor is computed on the device, so the scaling is queued before the one wait for the norm.
   */
  clipByGlobalNorm(g: FlatVector, maxNorm: number): number {
    const G = this.guard.own('clipByGlobalNorm', 'g', g);
    return native(() => this.addon.clipByGlobalNorm(G.handle, maxNorm));
  }

  clipByGlobalNormInto(g: FlatVector, maxNorm: number, norm: FlatVector): void {
    const G = this.guard.own('clipByGlobalNormInto', 'g', g);
    const N = this.guard.own('clipByGlobalNormInto', 'norm', norm);
    checkNormSlot(norm);
    native(() => this.addon.clipByGlobalNormInto(G.handle, maxNorm, N.handle));
  }

  // ---- randomness and perturbation -------------------------------------------------------

  random(out: FlatVector, spec: RandomSpec): void {
    const O = this.guard.own('random', 'out', out);
    checkDistribution('random', spec);
    native(() => this.addon.random(O.handle, nativeRandom(spec, spec.distribution)));
  }

  perturb(x: FlatVector, sigma: number, spec: RandomSpec, segments?: readonly Segment[]): void {
    const X = this.guard.own('perturb', 'x', x);
    checkDistribution('perturb', spec);
    const pairs = segments ? segmentPairs(sortedSegments('perturb', segments, X.length)) : null;
    native(() => this.addon.perturb(X.handle, sigma, nativeRandom(spec, spec.distribution), pairs));
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
    const threshold = native(() =>
      this.addon.magnitudeMask(X.handle, MASK.handle, segmentPairs(sorted), count),
    );
    return { threshold, pruned: count };
  }

  applyMask(x: FlatVector, mask: FlatVector): void {
    const [X, MASK] = this.guard.all('applyMask', { x, mask });
    native(() => this.addon.mul(X.handle, X.handle, MASK.handle));
  }

  synchronize(): void {
    native(() => this.addon.synchronize());
  }

  elapsedMs(run: () => void, repeats: number): number {
    if (!Number.isSafeInteger(repeats) || repeats < 1) {
      throw new KernelError(
        'ANNEAL_KERNEL_ARGUMENT',
        `elapsedMs: repeats ${repeats} is not an integer >= 1.`,
      );
    }
    native(() => this.addon.timerStart());
    for (let r = 0; r < repeats; r++) run();
    return native(() => this.addon.timerStop()) / repeats;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const ref of this.live) {
      const handle = ref.deref();
      if (handle?.alive) handle.free();
    }
    this.live.clear();
  }
}

/**
 * The addon's DeviceVector under a vector of these kernels, and the addon file it belongs to;
 * null for a js or wasm vector. The tfjs device backend (anneal-cuda) keeps tensors in
 * DeviceVectors of the same addon, so a ParamVector can move gradients and weights between its
 * flat vectors and the model's tensors without leaving the device (src/engine/param-vector.ts).
 */
export function deviceVectorOf(v: FlatVector): { vector: unknown; addonFile: string } | null {
  return v instanceof AddonVector
    ? { vector: v.handle, addonFile: ADDON_FILES[v.owner.name] }
    : null;
}

/**
 * The cuda backend on the GPU. Throws KernelError ANNEAL_KERNEL_UNAVAILABLE with the reason
 * (addon not built, no driver, no GPU, no code for this GPU) when it cannot run here.
 */
export function loadCudaOps(): NativeFlatOps {
  const probe = probeCuda();
  const loaded = loadBuild('cuda');
  if (!probe.ok || 'reason' in loaded) {
    throw new KernelError('ANNEAL_KERNEL_UNAVAILABLE', `cuda kernels unavailable: ${probe.reason}`);
  }
  return new NativeOps(loaded.addon, 'cuda', probe.device ?? 'CUDA device');
}

/**
 * The host backend: the CUDA kernels' element functions and selection built for the host
 * (anneal_cpu.node), loops on OpenMP threads. ANNEAL_THREADS, when set, gives the thread count
 * (checked here: resolveThreads; unset: every core). Throws ANNEAL_KERNEL_UNAVAILABLE when the addon is not
 * built.
 */
export function loadHostOps(): NativeFlatOps {
  const threads = resolveThreads();
  const loaded = loadBuild('host');
  if ('reason' in loaded) {
    throw new KernelError(
      'ANNEAL_KERNEL_UNAVAILABLE',
      `host kernels unavailable: ${loaded.reason}`,
    );
  }
  loaded.addon.setThreads(threads);
  return new NativeOps(loaded.addon, 'host', loaded.addon.probe().device);
}

/**
 * Sets the host backend's thread count for this process (0: every core; every host backend
 * instance shares one OpenMP pool) until the next loadHostOps, which applies ANNEAL_THREADS
 * again. Returns the count in effect (1 where the addon was built without OpenMP). For
 * benchmarks and tests; users set ANNEAL_THREADS.
 */
export function setHostThreads(threads: number): number {
  if (!Number.isSafeInteger(threads) || threads < 0 || threads > 4096) {
    throw new KernelError(
      'ANNEAL_KERNEL_ARGUMENT',
      `setHostThreads: ${threads} is not a whole number in [0, 4096]; pass a thread count, or 0 for every core.`,
    );
  }
  const loaded = loadBuild('host');
  if ('reason' in loaded) {
    throw new KernelError(
      'ANNEAL_KERNEL_UNAVAILABLE',
      `host kernels unavailable: ${loaded.reason}`,
    );
  }
  return loaded.addon.setThreads(threads);
}
