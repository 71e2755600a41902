/**
 * FlatOps: every hot loop over all of a model's parameters, as calls on flat float32 vectors.
 * One interface, four backends (js reference, wasm SIMD, the addon's cuda build and its host
 * build, `host`, on OpenMP threads); the js backend is the readable specification of the math
 * and the oracle the others are tested against.
 *
 * Conventions shared by every backend:
 * - Ops work in place on the first vector argument unless they say otherwise; all vector
 *   arguments of one call have the same length (else a KernelError 'ANNEAL_KERNEL_LENGTH').
 * - Optional per-element masks (`lrMask`, `decayMask`) multiply the learning rate / the weight
 *   decay of each element: a 0/1 decayMask gives "no decay on biases and norms", a 0/1 lrMask
 *   freezes pruned weights.
 * - Reductions return JS numbers accumulated in at least float32 pairwise/blocked sums (js uses
 *   float64); tests allow for the difference.
 * - A freed vector, a vector of another backend, or a double free throws KernelError, never
 *   crashes.
 */

export type KernelBackendName = 'cuda' | 'host' | 'wasm' | 'js';
export type KernelChoice = 'auto' | KernelBackendName;

/**
 * A float32 vector owned by one backend (device memory on cuda, native host memory on host,
 * linear memory on wasm).
 */
export interface FlatVector {
  readonly length: number;
  readonly backend: KernelBackendName;
  /** False once freed. */
  readonly alive: boolean;
}

/** A contiguous range of a flat vector (one layer's kernel, bias, ...). */
export interface Segment {
  readonly offset: number;
  readonly length: number;
}

/**
 * Adam / AdamW step (PyTorch semantics, torch.optim.AdamW / Adam):
 *   decoupled (AdamW): p *= 1 - lr*lrMask * weightDecay*decayMask
 *   coupled (Adam+L2): g  = g + weightDecay*decayMask * p
 *   m = beta1 m + (1-beta1) g;  v = beta2 v + (1-beta2) g^2
 *   amsgrad: vMax = max(vMax, v), and vMax replaces v below
 *   p -= lr*lrMask / (1 - beta1^step) * m / (sqrt(v) / sqrt(1 - beta2^step) + eps)
 */
export interface AdamHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** true: AdamW (decoupled decay); false: Adam with L2 (coupled) decay. */
  decoupled: boolean;
  /** 1-based step count, used for bias correction. */
  step: number;
}

/**
 * SGD step (PyTorch semantics, torch.optim.SGD; SGDW when decoupled):
 *   decoupled: p *= 1 - lr*lrMask * weightDecay*decayMask;  d = g
 *   coupled:   d = g + weightDecay*decayMask * p
 *   momentum != 0:  buf = (step == 1) ? d : momentum*buf + (1-dampening)*d
 *                   d = nesterov ? d + momentum*buf : buf
 *   p -= lr*lrMask * d
 * With momentum == 0 the buffer is neither read nor written (it may be null).
 */
export interface SgdHyper {
  lr: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  weightDecay: number;
  decoupled: boolean;
  /** 1-based; step 1 initialises the momentum buffer to d. */
  step: number;
}

/** Floats in a step gate (FlatOps.gateNonFinite). */
export const GATE_LENGTH = 6;

/**
 * A step gate as a fused step reads it (PyTorch's found_inf, kept with the vectors): when
 * vector[0] != 0 the step adds 1 to vector[5] (steps skipped) and does nothing else; otherwise it
 * runs as step h.step - (vector[5] - settled), the skips the host's step count still includes
 * (Adam's bias corrections, SGD's first step). The host never waits for the verdict; it settles
 * the count when it next reads the gate.
 */
export interface StepGateRef {
  /** GATE_LENGTH floats written by gateNonFinite and the gated steps. */
  vector: FlatVector;
  /** vector[5] when the host last read it. */
  settled: number;
}

export interface StepOptions {
  lrMask?: FlatVector | null;
  decayMask?: FlatVector | null;
  /** Skip the step on the device when the gate says so (see StepGateRef). */
  gate?: StepGateRef | null;
}

/**
 * Counter-based random numbers: Philox4x32-10 (Salmon et al. 2011) with
 * key = [seed & 0xffffffff, floor(seed / 2^32)] and counter = [i, stream, 0, 0] for element i.
 * The four output words are w0..w3. Every backend draws the same words for the same
 * (seed, stream, i).
 *   uniform(i)    = min((w0 + 0.5) * 2^-32, 1 - 2^-24)      in (0, 1) as a float32 (without
 *                   the min, the top 128 words would round to 1.0 in float32)
 *   rademacher(i) = (w0 & 1) ? +1 : -1
 *   gaussian(i)   = sqrt(-2 ln u1) * cos(2 pi u2), u1 = (w0 + 0.5) 2^-32, u2 = (w1 + 0.5) 2^-32
 *                   (computed in float64 on js; other backends agree within 1e-6 relative or
 *                   1e-6 absolute)
 * seed and stream are integers in [0, 2^53) and [0, 2^32).
 */
export type Distribution = 'gaussian' | 'rademacher' | 'uniform';
export interface RandomSpec {
  seed: number;
  stream: number;
  distribution: Distribution;
}

/**
 * Entropy-SGD / Langevin inner step (Chaudhari et al. 2017), with xp = x' the inner iterate,
 * g = gradient at x', x the outer weights, mu the running mean of x':
 *   xp -= eta * (g + gamma * (xp - x)) + sqrt(eta) * noise * N(0,1)
 *   mu  = (1 - alpha) * mu + alpha * xp
 * N(0,1) is the gaussian of RandomSpec{seed, stream}.
 */
export interface LangevinHyper {
  eta: number;
  gamma: number;
  noise: number;
  alpha: number;
  seed: number;
  stream: number;
}

export interface ThresholdResult {
  /** The largest |x| that was zeroed in the mask (0 when count is 0). */
  threshold: number;
  /** Entries set to 0 in the mask by this call (== the requested count). */
  pruned: number;
}

export interface FlatOps {
  readonly name: KernelBackendName;

  // ---- vectors ---------------------------------------------------------------------------
  /** A vector of `length` zeros (so fresh optimizer state is the same on every backend). */
  alloc(length: number): FlatVector;
  /** Allocates and uploads in one call. */
  fromArray(data: Float32Array): FlatVector;
  /** Copies host data into `v` starting at element `offset` (default 0). */
  upload(v: FlatVector, data: Float32Array, offset?: number): void;
  /** Copies `v` to the host (into `out` when given, which must have v.length elements). */
  download(v: FlatVector, out?: Float32Array): Float32Array;
  fill(v: FlatVector, value: number): void;
  copy(dst: FlatVector, src: FlatVector): void;
  free(v: FlatVector): void;

  // ---- element-wise ----------------------------------------------------------------------
  /** x *= alpha */
  scale(x: FlatVector, alpha: number): void;
  /** y += alpha * x */
  axpy(y: FlatVector, alpha: number, x: FlatVector): void;
  /** out = a * b (element-wise) */
  mul(out: FlatVector, a: FlatVector, b: FlatVector): void;

  // ---- fused optimizer steps (in place on param and state) -------------------------------
  adam(
    param: FlatVector,
    grad: FlatVector,
    m: FlatVector,
    v: FlatVector,
    vMax: FlatVector | null,
    h: AdamHyper,
    options?: StepOptions,
  ): void;
  sgd(
    param: FlatVector,
    grad: FlatVector,
    momentumBuf: FlatVector | null,
    h: SgdHyper,
    options?: StepOptions,
  ): void;
  /** Lookahead (Zhang et al. 2019): slow += alpha (fast - slow); fast = slow. */
  lookaheadSync(slow: FlatVector, fast: FlatVector, alpha: number): void;
  langevinStep(
    xp: FlatVector,
    grad: FlatVector,
    x: FlatVector,
    mu: FlatVector,
    h: LangevinHyper,
  ): void;

  // ---- averaging ------------------------------------------------------------------------
  /** SWA running mean: avg += (x - avg) / (count + 1), count = models already averaged. */
  runningMean(avg: FlatVector, x: FlatVector, count: number): void;
  /** EMA: avg = decay * avg + (1 - decay) * x. */
  ema(avg: FlatVector, x: FlatVector, decay: number): void;
  /** out = sum_k weights[k] * xs[k] (model soups); out may not alias any xs[k]. */
  weightedSum(out: FlatVector, xs: readonly FlatVector[], weights: readonly number[]): void;
  /** out = a + t (b - a). */
  lerp(out: FlatVector, a: FlatVector, b: FlatVector, t: number): void;
  /** Quadratic Bezier: out = (1-t)^2 a + 2 t (1-t) bend + t^2 b. */
  bezier(out: FlatVector, a: FlatVector, bend: FlatVector, b: FlatVector, t: number): void;

  // ---- reductions -----------------------------------------------------------------------
  dot(a: FlatVector, b: FlatVector): number;
  sumSquares(x: FlatVector): number;
  /** max |x_i| over finite and non-finite values (NaN is ignored; Inf gives Infinity; 0 for empty). */
  maxAbs(x: FlatVector): number;
  countNonFinite(x: FlatVector): number;
  /**
   * The check of a step gate (GATE_LENGTH floats; StepGateRef), queued without a read back:
   *   gate[0] = 1 when x or gate[4] holds a NaN or +-Inf, else 0;
   *   when 1: gate[1] += 1 (hits), gate[2] = step + 1 if it was 0, gate[3] = step + 1.
   * gate[4] is an input (the Trainer's loss); gate[5] is the gated steps' count of the steps they
   * skipped. Counts and steps are stored as float32: exact below 2^24.
   */
  gateNonFinite(gate: FlatVector, x: FlatVector, step: number): void;
  /** Entries equal to +0 or -0. */
  countZeros(x: FlatVector): number;
  /**
   * Global-norm clipping (torch.nn.utils.clip_grad_norm_): norm = ||g||_2;
   * if maxNorm / (norm + 1e-6) < 1, g *= maxNorm / (norm + 1e-6). Returns norm before clipping.
   */
  clipByGlobalNorm(g: FlatVector, maxNorm: number): number;
  /**
   * clipByGlobalNorm, queued: the norm before clipping goes to `norm` (a vector of 1 float) where
   * the vectors are, so nothing waits for it (on a GPU the scale is computed there too).
   */
  clipByGlobalNormInto(g: FlatVector, maxNorm: number, norm: FlatVector): void;

  // ---- randomness and perturbation ------------------------------------------------------
  /** out[i] = sample(spec, i) */
  random(out: FlatVector, spec: RandomSpec): void;
  /**
   * x += sigma * d, d[i] = sample(spec, i). With `segments`, filter-wise normalisation
   * (Li et al. 2018): d restricted to each segment is scaled by ||x_seg|| / ||d_seg||
   * (norms of x before the update); entries outside every segment are left unchanged.
   */
  perturb(x: FlatVector, sigma: number, spec: RandomSpec, segments?: readonly Segment[]): void;

  // ---- pruning --------------------------------------------------------------------------
  /**
   * Sets mask[i] = 0 for the `count` entries of smallest |x[i]| over the union of `segments`
   * (global magnitude selection; call once per segment for layer-wise), mask[i] = 1 for the other
   * entries of those segments, leaves entries outside the segments untouched. Exactly `count`
   * entries are zeroed: ties at the threshold go to the lowest indices first. Selection is
   * O(N) (radix/histogram select over the bits of |x|), not a sort. NaN counts as largest.
   */
  magnitudeMask(
    x: FlatVector,
    mask: FlatVector,
    segments: readonly Segment[],
    count: number,
  ): ThresholdResult;
  /** x *= mask */
  applyMask(x: FlatVector, mask: FlatVector): void;

  /** Waits for queued work (cuda); a no-op elsewhere. */
  synchronize(): void;
  /** Frees the backend's resources; the backend and its vectors are unusable afterwards. */
  dispose(): void;
}
