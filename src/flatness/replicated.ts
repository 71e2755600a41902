/**
 * Replicated SGD (Baldassi, Pittorino & Zecchina 2020; Pittorino et al. 2021, "Entropic gradient
 * descent algorithms and wide flat minima"): y replicas x_a, each coupled to their centre
 * c = mean_a x_a by an elastic term, so the replicated loss is sum_a f(x_a) + gamma/2 ||x_a - c||^2.
 * Each replica's step is the kernels' SGD step on g_a + gamma (x_a - c), on its own mini-batch;
 * gamma grows by (1 + scoping) every step, pulling the replicas together into a wide minimum.
 * The coupling is capped at gamma = 1 / lr (couplingCap), where a step moves a replica onto the
 * centre: beyond it the step overshoots the centre, and the scoped gamma, uncapped, grows without
 * bound (1e-3 at 1% a step passes 1 / 0.05 in ~1,000 steps), so the replicas' distance to the
 * centre oscillates and diverges once lr gamma exceeds 2 (1 + momentum).
 * The centre is the solution.
 */
import type { FlatVector } from '../kernels/index.js';
import { invalidOption } from '../options.js';
import { couplingCap } from '../optim/replicated-sgd.js';
import { momentumStep, type Objective } from './objective.js';

export interface ReplicatedSgdOptions {
  /** Number of replicas y (default 3). */
  replicas?: number;
  /** Steps (each steps every replica once; default 100). */
  steps?: number;
  lr?: number;
  momentum?: number;
  /** Elastic coupling at the first step (default 1e-3). */
  gamma?: number;
  /** gamma *= 1 + scoping every step (default 1e-2). */
  scoping?: number;
  /** Replicas start at the start point plus sigma N(0, I) (default 0.01). */
  initSigma?: number;
  /** Mini-batch size (default 64). */
  batchSize?: number;
  seed?: number;
}

export interface ReplicatedSgdResult {
  /** The centre's weights (host copy). */
  centre: Float32Array;
  replicas: Float32Array[];
  /** Mean replica loss per step. */
  losses: number[];
  /** Mean squared distance of the replicas to the centre at the end. */
  spread: number;
}

export function replicatedSgd(
  obj: Objective,
  start: FlatVector,
  opts: ReplicatedSgdOptions = {},
): ReplicatedSgdResult {
  const y = opts.replicas ?? 3;
  const steps = opts.steps ?? 100;
  const lr = opts.lr ?? 0.05;
  const momentum = opts.momentum ?? 0.9;
  const scoping = opts.scoping ?? 1e-2;
  const seed = opts.seed ?? 0;
  let gamma = opts.gamma ?? 1e-3;
  if (!(Number.isInteger(y) && y >= 2))
    throw invalidOption('replicated-sgd', 'replicas', y, 'an integer >= 2');
  if (!(Number.isInteger(steps) && steps >= 0))
    throw invalidOption('replicated-sgd', 'steps', steps, 'an integer >= 0');
  const { ops } = obj;
  const n = obj.length;
  const xs: FlatVector[] = [];
  const bufs: FlatVector[] = [];
  const centre = ops.alloc(n);
  const g = ops.alloc(n);
  try {
    for (let a = 0; a < y; a++) {
      const x = ops.alloc(n);
      xs.push(x);
      bufs.push(ops.alloc(n));
      ops.copy(x, start);
      ops.perturb(x, opts.initSigma ?? 0.01, { seed, stream: 1000 + a, distribution: 'gaussian' });
    }
    const weights = xs.map(() => 1 / y);
    const losses: number[] = [];
    for (let k = 0; k < steps; k++) {
      ops.weightedSum(centre, xs, weights);
      let lossSum = 0;
      for (let a = 0; a < y; a++) {
        lossSum += obj.gradient(xs[a], g, {
          seed: seed * 7919 + k * y + a,
          size: opts.batchSize ?? 64,
        });
        // g += gamma (x_a - c), gamma at most 1 / lr
        const coupling = couplingCap(gamma, lr);
        ops.axpy(g, coupling, xs[a]);
        ops.axpy(g, -coupling, centre);
        momentumStep(ops, xs[a], g, bufs[a], { lr, momentum, step: k + 1 });
      }
      losses.push(lossSum / y);
      gamma *= 1 + scoping;
    }
    ops.weightedSum(centre, xs, weights);
    let spread = 0;
    for (const x of xs) {
      ops.copy(g, x);
      ops.axpy(g, -1, centre);
      spread += ops.sumSquares(g) / y;
    }
    return {
      centre: ops.download(centre),
      replicas: xs.map((x) => ops.download(x)),
      losses,
      spread,
    };
  } finally {
    for (const v of [...xs, ...bufs, centre, g]) ops.free(v);
  }
}
