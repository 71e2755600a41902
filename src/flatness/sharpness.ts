/**
 * Sharpness of a solution x0 of an Objective:
 * - epsilon-sharpness (Keskar et al. 2017): the largest loss increase within a box
 *   |z_i| <= eps (|x0_i| + 1) or a ball ||z|| <= eps (||x0|| + 1), found by a few steps of
 *   projected gradient ascent from a random start (a lower bound of the true maximum);
 * - the mean loss increase under random Gaussian perturbations x0 + sigma d, d ~ N(0, I) on the
 *   kernels' Philox generator (optionally filter-normalised), at several sigmas; for a quadratic
 *   0.5 x'Ax around its minimum its expectation is 0.5 sigma^2 tr(A);
 * - the largest Hessian eigenvalue, by power iteration on Hessian-vector products computed as
 *   central finite differences of gradients, Hv = (g(x0 + h v) - g(x0 - h v)) / 2h (exact up to
 *   rounding for quadratics; O(h^2) error otherwise); a shifted second run when the dominant
 *   eigenvalue is negative, so the result is the largest algebraic eigenvalue.
 */
import { Rng } from '../data/index.js';
import type { FlatVector } from '../kernels/index.js';
import { invalidOption } from '../options.js';
import { norm, randomDirection } from './directions.js';
import type { Objective } from './objective.js';

export interface EpsilonSharpnessOptions {
  /** Default 1e-3. */
  epsilon?: number;
  /** 'box' (default, Keskar et al.) or 'ball'. */
  norm?: 'box' | 'ball';
  /** Ascent steps (default 10). */
  steps?: number;
  /** Step size as a fraction of the radius (default 0.25). */
  stepFraction?: number;
  seed?: number;
}

export interface EpsilonSharpness {
  /** max f(x0 + z) - f(x0) found. */
  increase: number;
  /** Keskar et al.'s normalised value: 100 * increase / (1 + f(x0)). */
  keskar: number;
  baseLoss: number;
  maxLoss: number;
}

export function epsilonSharpness(
  obj: Objective,
  x0: FlatVector,
  opts: EpsilonSharpnessOptions = {},
): EpsilonSharpness {
  const eps = opts.epsilon ?? 1e-3;
  const kind = opts.norm ?? 'box';
  const steps = opts.steps ?? 10;
  const frac = opts.stepFraction ?? 0.25;
  // Beyond 1 the box is wider than the weights themselves, and far beyond it the radius
  // overflows float32 (1e308 gave NaN).
  if (!(eps > 0 && eps <= 1))
    throw invalidOption('sharpness', 'epsilon', eps, 'a radius in (0, 1], e.g. 1e-3');
  if (kind !== 'box' && kind !== 'ball')
    throw invalidOption('sharpness', 'norm', kind, "'box' or 'ball'");
  if (!(Number.isInteger(steps) && steps >= 0))
    throw invalidOption('sharpness', 'steps', steps, 'an integer >= 0');
  const { ops } = obj;
  const base = ops.download(x0);
  const n = base.length;
  // Box: per-coordinate radius eps (|x_i| + 1); ball: radius eps (||x|| + 1).
  const boxRadius = Float32Array.from(base, (v) => eps * (Math.abs(v) + 1));
  const ballRadius = eps * (Math.sqrt(base.reduce((a, v) => a + v * v, 0)) + 1);
  const rng = new Rng(opts.seed ?? 0);
  const z = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    z[i] = kind === 'box' ? (2 * rng.next() - 1) * boxRadius[i] : rng.normal();
  }
  const project = () => {
    if (kind === 'box') {
      for (let i = 0; i < n; i++) z[i] = Math.max(-boxRadius[i], Math.min(boxRadius[i], z[i]));
    } else {
      const zn = Math.sqrt(z.reduce((a, v) => a + v * v, 0));
      if (zn > ballRadius) for (let i = 0; i < n; i++) z[i] *= ballRadius / zn;
    }
  };
  if (kind === 'ball') {
    const zn = Math.sqrt(z.reduce((a, v) => a + v * v, 0)) || 1;
    for (let i = 0; i < n; i++) z[i] *= (0.5 * ballRadius) / zn;
  }
  const x = ops.alloc(n);
  const g = ops.alloc(n);
  const host = new Float32Array(n);
  const at = () => {
    for (let i = 0; i < n; i++) host[i] = base[i] + z[i];
    ops.upload(x, host);
  };
  try {
    const baseLoss = obj.loss(x0);
    let maxLoss = baseLoss;
    for (let step = 0; step < steps; step++) {
      at();
      const loss = obj.gradient(x, g);
      maxLoss = Math.max(maxLoss, loss);
      const grad = ops.download(g);
      if (kind === 'box') {
        for (let i = 0; i < n; i++) z[i] += frac * boxRadius[i] * Math.sign(grad[i]);
      } else {
        const gn = Math.sqrt(grad.reduce((a, v) => a + v * v, 0)) || 1;
        for (let i = 0; i < n; i++) z[i] += (frac * ballRadius * grad[i]) / gn;
      }
      project();
    }
    at();
    maxLoss = Math.max(maxLoss, obj.loss(x));
    const increase = maxLoss - baseLoss;
    return { increase, keskar: (100 * increase) / (1 + baseLoss), baseLoss, maxLoss };
  } finally {
    ops.free(x);
    ops.free(g);
  }
}

export interface PerturbationOptions {
  /** Default [0.001, 0.01, 0.05]. */
  sigmas?: readonly number[];
  /** Random directions per sigma (default 10). */
  samples?: number;
  filterNormalized?: boolean;
  seed?: number;
}

export interface PerturbationSharpness {
  sigma: number;
  /** Mean of f(x0 + sigma d) - f(x0) over the samples. */
  meanIncrease: number;
  /** Its standard error. */
  stderr: number;
  /** Mean accuracy drop (NaN without accuracy). */
  meanAccuracyDrop: number;
}

export function perturbationSharpness(
  obj: Objective,
  x0: FlatVector,
  opts: PerturbationOptions = {},
): PerturbationSharpness[] {
  const sigmas = opts.sigmas ?? [0.001, 0.01, 0.05];
  const samples = opts.samples ?? 10;
  if (!(Number.isInteger(samples) && samples >= 1))
    throw invalidOption('sharpness', 'samples', samples, 'an integer >= 1');
  for (const s of sigmas)
    if (!(s >= 0)) throw invalidOption('sharpness', 'sigmas', sigmas, 'numbers >= 0');
  const { ops } = obj;
  const base = obj.evaluate(x0);
  const x = ops.alloc(obj.length);
  const d = ops.alloc(obj.length);
  try {
    return sigmas.map((sigma, si) => {
      let sum = 0;
      let sumSq = 0;
      let accDrop = 0;
      for (let k = 0; k < samples; k++) {
        randomDirection(ops, d, x0, obj.segments, {
          seed: opts.seed ?? 0,
          stream: si * samples + k,
          filterNormalized: opts.filterNormalized,
        });
        ops.copy(x, x0);
        ops.axpy(x, sigma, d);
        const r = obj.evaluate(x);
        const inc = r.loss - base.loss;
        sum += inc;
        sumSq += inc * inc;
        accDrop += base.accuracy - r.accuracy;
      }
      const mean = sum / samples;
      const variance = samples > 1 ? (sumSq - samples * mean * mean) / (samples - 1) : 0;
      return {
        sigma,
        meanIncrease: mean,
        stderr: Math.sqrt(Math.max(variance, 0) / samples),
        meanAccuracyDrop: accDrop / samples,
      };
    });
  } finally {
    ops.free(x);
    ops.free(d);
  }
}

export interface HessianOptions {
  /** Default 30. */
  iterations?: number;
  /** Finite-difference step (default 1e-3). */
  h?: number;
  /** Stop when the eigenvalue changes by less than tol relative (default 1e-4). */
  tol?: number;
  seed?: number;
}

export interface HessianTop {
  eigenvalue: number;
  iterations: number;
  converged: boolean;
  method: 'power iteration on central finite differences of gradients';
}

/**
 * Power iteration on v -> (H - shift I) v with finite-difference Hessian-vector products; returns
 * the dominant eigenvalue of H - shift I plus shift.
 */
function powerIteration(
  obj: Objective,
  x0: FlatVector,
  shift: number,
  iterations: number,
  h: number,
  tol: number,
  seed: number,
): { eigenvalue: number; iterations: number; converged: boolean } {
  const { ops } = obj;
  const n = obj.length;
  const v = ops.alloc(n);
  const x = ops.alloc(n);
  const gPlus = ops.alloc(n);
  const gMinus = ops.alloc(n);
  try {
    ops.random(v, { seed, stream: 0, distribution: 'gaussian' });
    ops.scale(v, 1 / norm(ops, v));
    let eigenvalue = 0;
    let done = 0;
    let converged = false;
    for (let it = 0; it < iterations; it++) {
      ops.copy(x, x0);
      ops.axpy(x, h, v);
      obj.gradient(x, gPlus);
      ops.copy(x, x0);
      ops.axpy(x, -h, v);
      obj.gradient(x, gMinus);
      // gPlus <- (H - shift I) v = (g+ - g-) / 2h - shift v
      ops.axpy(gPlus, -1, gMinus);
      ops.scale(gPlus, 1 / (2 * h));
      ops.axpy(gPlus, -shift, v);
      const next = ops.dot(v, gPlus);
      done = it + 1;
      const hvNorm = norm(ops, gPlus);
      if (hvNorm === 0) {
        eigenvalue = 0;
        converged = true;
        break;
      }
      ops.copy(v, gPlus);
      ops.scale(v, 1 / hvNorm);
      const change = Math.abs(next - eigenvalue);
      eigenvalue = next;
      if (it > 0 && change <= tol * Math.abs(next)) {
        converged = true;
        break;
      }
    }
    return { eigenvalue: eigenvalue + shift, iterations: done, converged };
  } finally {
    for (const b of [v, x, gPlus, gMinus]) ops.free(b);
  }
}

/**
 * The largest (algebraic) Hessian eigenvalue. Power iteration finds the eigenvalue of largest
 * magnitude; when that one is negative (away from a minimum), a second power iteration on
 * H - lambda_neg I finds the top one.
 */
export function hessianTopEigenvalue(
  obj: Objective,
  x0: FlatVector,
  opts: HessianOptions = {},
): HessianTop {
  const iterations = opts.iterations ?? 30;
  const h = opts.h ?? 1e-3;
  const tol = opts.tol ?? 1e-4;
  const seed = opts.seed ?? 0;
  if (!(h > 0)) throw invalidOption('hessian-top', 'h', h, 'a number > 0');
  const first = powerIteration(obj, x0, 0, iterations, h, tol, seed);
  const result =
    first.eigenvalue < 0
      ? powerIteration(obj, x0, first.eigenvalue, iterations, h, tol, seed + 1)
      : first;
  return {
    eigenvalue: result.eigenvalue,
    iterations: first === result ? first.iterations : first.iterations + result.iterations,
    converged: first.converged && result.converged,
    method: 'power iteration on central finite differences of gradients',
  };
}
