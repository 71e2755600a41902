/**
 * A local-entropy estimate around a solution x0 (Chaudhari et al. 2017, Entropy-SGD; Baldassi et
 * al.'s local entropy): Langevin dynamics on the kernels (FlatOps.langevinStep) samples x' from
 * the local Gibbs measure exp(-f(x') - gamma/2 ||x' - x0||^2) (at temperature noise^2 / 2), and
 * the estimate is the mean loss increase E[f(x')] - f(x0) over the chain after a burn-in: small
 * in wide flat minima (large local entropy), large in sharp ones. The chain's running mean mu
 * also gives the local-entropy gradient gamma (x0 - mu) (Entropy-SGD's outer direction).
 */
import type { FlatVector } from '../kernels/index.js';
import { invalidOption } from '../options.js';
import type { Objective } from './objective.js';

export interface LocalEntropyOptions {
  /** Coupling (scope) gamma (default 100: a neighbourhood of radius ~ 1/sqrt(gamma)). */
  gamma?: number;
  /** Langevin steps (default 50). */
  steps?: number;
  /** Burn-in steps left out of the mean (default steps / 5). */
  burnIn?: number;
  /** Langevin step size eta (default 0.01). */
  eta?: number;
  /** Noise scale: sqrt(eta) * noise * N(0, 1) per step (default 1e-2). */
  noise?: number;
  /** Running-mean weight of mu (default 0.25, Chaudhari et al.'s 0.75 complement). */
  alpha?: number;
  seed?: number;
  /** Mini-batch size of each Langevin gradient (default: the whole objective). */
  batchSize?: number;
}

export interface LocalEntropy {
  /** E[f(x')] - f(x0) over the chain after burn-in (lower = flatter). */
  lossIncrease: number;
  baseLoss: number;
  meanLoss: number;
  /** Mean squared distance ||x' - x0||^2 after burn-in. */
  meanSqDistance: number;
  /** ||gamma (x0 - mu)||: the local-entropy gradient's norm at x0. */
  gradientNorm: number;
}

export function localEntropy(
  obj: Objective,
  x0: FlatVector,
  opts: LocalEntropyOptions = {},
): LocalEntropy {
  const gamma = opts.gamma ?? 100;
  const steps = opts.steps ?? 50;
  const burnIn = opts.burnIn ?? Math.floor(steps / 5);
  const eta = opts.eta ?? 0.01;
  const noise = opts.noise ?? 1e-2;
  const alpha = opts.alpha ?? 0.25;
  const seed = opts.seed ?? 0;
  if (!(Number.isInteger(steps) && steps > burnIn && burnIn >= 0)) {
    throw invalidOption('local-entropy', 'steps', steps, `an integer > burnIn (${burnIn})`);
  }
  for (const [k, v] of Object.entries({ gamma, eta, noise })) {
    if (!(v >= 0 && Number.isFinite(v)))
      throw invalidOption('local-entropy', k, v, 'a finite number >= 0');
  }
  const { ops } = obj;
  const xp = ops.alloc(obj.length);
  const mu = ops.alloc(obj.length);
  const g = ops.alloc(obj.length);
  const diff = ops.alloc(obj.length);
  try {
    const baseLoss = obj.loss(x0);
    ops.copy(xp, x0);
    ops.copy(mu, x0);
    let lossSum = 0;
    let distSum = 0;
    for (let k = 0; k < steps; k++) {
      const batch = opts.batchSize ? { seed: seed * 7919 + k, size: opts.batchSize } : undefined;
      const loss = obj.gradient(xp, g, batch);
      if (k >= burnIn) {
        lossSum += loss;
        ops.copy(diff, xp);
        ops.axpy(diff, -1, x0);
        distSum += ops.sumSquares(diff);
      }
      ops.langevinStep(xp, g, x0, mu, { eta, gamma, noise, alpha, seed, stream: k });
    }
    const kept = steps - burnIn;
    ops.copy(diff, x0);
    ops.axpy(diff, -1, mu);
    const meanLoss = lossSum / kept;
    return {
      lossIncrease: meanLoss - baseLoss,
      baseLoss,
      meanLoss,
      meanSqDistance: distSum / kept,
      gradientNorm: gamma * Math.sqrt(ops.sumSquares(diff)),
    };
  } finally {
    for (const v of [xp, mu, g, diff]) ops.free(v);
  }
}
