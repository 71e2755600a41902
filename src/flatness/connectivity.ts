/**
 * Mode connectivity (Garipov et al. 2018): a quadratic Bezier curve
 *   phi(t) = (1-t)^2 a + 2t(1-t) theta + t^2 b
 * between two solutions a and b, whose bend theta is trained to minimise E_{t~U(0,1)} f(phi(t)):
 * each step draws t, takes the gradient g at phi(t) (FlatOps.bezier builds the point), and
 * moves theta by -lr 2t(1-t) g (the chain rule through phi). Then the loss and accuracy along
 * the curve at num_points values of t, next to the straight line (landscape.lineSlice). For
 * models with BatchNorm the statistics at each point would need refreshing; the measures here
 * evaluate in inference mode with the model's statistics.
 */
import { Rng } from '../data/index.js';
import type { FlatVector } from '../kernels/index.js';
import { invalidOption } from '../options.js';
import { momentumStep, type Objective } from './objective.js';
import type { Slice } from './landscape.js';

export interface BezierOptions {
  /** Training steps (default 200). */
  steps?: number;
  /** Learning rate of the bend (default 0.05). */
  lr?: number;
  /** SGD momentum (default 0.9). */
  momentum?: number;
  /** Mini-batch size of each step (default: the whole objective). */
  batchSize?: number;
  seed?: number;
}

/** Trains the bend of a quadratic Bezier curve from a to b; returns it (caller frees). */
export function trainBezierCurve(
  obj: Objective,
  a: FlatVector,
  b: FlatVector,
  opts: BezierOptions = {},
): { bend: FlatVector; losses: number[] } {
  const steps = opts.steps ?? 200;
  const lr = opts.lr ?? 0.05;
  const momentum = opts.momentum ?? 0.9;
  if (!(Number.isInteger(steps) && steps >= 0))
    throw invalidOption('bezier', 'steps', steps, 'an integer >= 0');
  if (!(lr > 0)) throw invalidOption('bezier', 'lr', lr, 'a number > 0');
  const { ops } = obj;
  const bend = ops.alloc(obj.length);
  // Start at the midpoint: the curve starts as the straight line.
  ops.lerp(bend, a, b, 0.5);
  const point = ops.alloc(obj.length);
  const g = ops.alloc(obj.length);
  const buf = ops.alloc(obj.length);
  const rng = new Rng(opts.seed ?? 0);
  const losses: number[] = [];
  try {
    for (let k = 0; k < steps; k++) {
      const t = rng.next();
      ops.bezier(point, a, bend, b, t);
      const batch = opts.batchSize
        ? { seed: (opts.seed ?? 0) * 7919 + k, size: opts.batchSize }
        : undefined;
      losses.push(obj.gradient(point, g, batch));
      ops.scale(g, 2 * t * (1 - t));
      momentumStep(ops, bend, g, buf, { lr, momentum, step: k + 1 });
    }
    return { bend, losses };
  } catch (e) {
    ops.free(bend);
    throw e;
  } finally {
    for (const v of [point, g, buf]) ops.free(v);
  }
}

/** Loss and accuracy along the Bezier curve at `points` values of t in [0, 1]. */
export function evaluateBezier(
  obj: Objective,
  a: FlatVector,
  bend: FlatVector,
  b: FlatVector,
  points = 11,
): Slice {
  if (!(Number.isInteger(points) && points >= 2))
    throw invalidOption('bezier', 'numPoints', points, 'an integer >= 2');
  const x = obj.ops.alloc(obj.length);
  try {
    const out: Slice = { alphas: [], losses: [], accuracies: [] };
    for (let i = 0; i < points; i++) {
      const t = i / (points - 1);
      obj.ops.bezier(x, a, bend, b, t);
      const r = obj.evaluate(x);
      out.alphas.push(t);
      out.losses.push(r.loss);
      out.accuracies.push(r.accuracy);
    }
    return out;
  } finally {
    obj.ops.free(x);
  }
}
