/**
 * Loss landscapes as data (drawing them is the reports' job):
 * - a 1-D slice f(x0 + a d) along a direction d: a random filter-normalised one (Li et al. 2018)
 *   or the one between two solutions (then a = 0 and a = 1 are the solutions: the straight path
 *   of mode connectivity);
 * - a 2-D plane through three solutions w1, w2, w3 with the orthonormal basis of Garipov et al.
 *   2018 (footnote): u = w2 - w1, v = (w3 - w1) - <w3 - w1, u>/<u, u> u, both normalised; a point
 *   (a, b) is w1 + a u^ + b v^.
 */
import type { FlatOps, FlatVector } from '../kernels/index.js';
import { invalidOption } from '../options.js';
import { norm, randomDirection } from './directions.js';
import type { Objective } from './objective.js';
import { minOf, maxOf } from '../stats.js';

export interface SliceOptions {
  /** Coordinates a (default [-1, 1]). */
  range?: [number, number];
  /** Number of points (default 21). */
  points?: number;
}

export interface Slice {
  alphas: number[];
  losses: number[];
  accuracies: number[];
}

function linspace(from: number, to: number, points: number): number[] {
  if (!(Number.isInteger(points) && points >= 2))
    throw invalidOption('landscape', 'points', points, 'an integer >= 2');
  return Array.from({ length: points }, (_, i) => from + ((to - from) * i) / (points - 1));
}

/** f(origin + a direction) for a on a grid. */
export function slice1d(
  obj: Objective,
  origin: FlatVector,
  direction: FlatVector,
  opts: SliceOptions = {},
): Slice {
  const [from, to] = opts.range ?? [-1, 1];
  const alphas = linspace(from, to, opts.points ?? 21);
  const x = obj.ops.alloc(obj.length);
  try {
    const out: Slice = { alphas, losses: [], accuracies: [] };
    for (const a of alphas) {
      obj.ops.copy(x, origin);
      obj.ops.axpy(x, a, direction);
      const r = obj.evaluate(x);
      out.losses.push(r.loss);
      out.accuracies.push(r.accuracy);
    }
    return out;
  } finally {
    obj.ops.free(x);
  }
}

/** A 1-D slice along a random (by default filter-normalised) direction. */
export function randomSlice(
  obj: Objective,
  origin: FlatVector,
  opts: SliceOptions & { seed?: number; filterNormalized?: boolean } = {},
): Slice {
  const d = obj.ops.alloc(obj.length);
  try {
    randomDirection(obj.ops, d, origin, obj.segments, {
      seed: opts.seed,
      filterNormalized: opts.filterNormalized ?? obj.segments.length > 0,
    });
    return slice1d(obj, origin, d, opts);
  } finally {
    obj.ops.free(d);
  }
}

/** The straight path a -> b (mode connectivity's line): a = 0 is `a`, a = 1 is `b`. */
export function lineSlice(
  obj: Objective,
  a: FlatVector,
  b: FlatVector,
  opts: SliceOptions = {},
): Slice {
  const d = obj.ops.alloc(obj.length);
  try {
    obj.ops.copy(d, b);
    obj.ops.axpy(d, -1, a);
    return slice1d(obj, a, d, { range: [0, 1], ...opts });
  } finally {
    obj.ops.free(d);
  }
}

export interface PlaneBasis {
  /** Unit vectors u^, v^ (owned by the caller: free them). */
  u: FlatVector;
  v: FlatVector;
  /** Coordinates (a, b) of w1, w2, w3 in the plane. */
  coords: [number, number][];
}

export function planeBasis(
  ops: FlatOps,
  w1: FlatVector,
  w2: FlatVector,
  w3: FlatVector,
): PlaneBasis {
  const u = ops.alloc(w1.length);
  const v = ops.alloc(w1.length);
  ops.copy(u, w2);
  ops.axpy(u, -1, w1);
  ops.copy(v, w3);
  ops.axpy(v, -1, w1);
  const uu = ops.dot(u, u);
  if (!(uu > 0)) {
    ops.free(u);
    ops.free(v);
    throw invalidOption('landscape', 'w2', 'w1', 'three distinct, non-collinear solutions');
  }
  const w3u = ops.dot(v, u); // <w3 - w1, u>
  ops.axpy(v, -w3u / uu, u);
  const vn = norm(ops, v);
  if (!(vn > 1e-12 * Math.sqrt(uu))) {
    ops.free(u);
    ops.free(v);
    throw invalidOption('landscape', 'w3', 'on the line w1-w2', 'three non-collinear solutions');
  }
  const un = Math.sqrt(uu);
  ops.scale(u, 1 / un);
  ops.scale(v, 1 / vn);
  return {
    u,
    v,
    coords: [
      [0, 0],
      [un, 0],
      [w3u / un, vn],
    ],
  };
}

export interface Plane {
  /** Grid coordinates along u^ and v^. */
  as: number[];
  bs: number[];
  /** losses[j][i] at (as[i], bs[j]). */
  losses: number[][];
  accuracies: number[][];
  /** Where w1, w2, w3 lie. */
  solutions: [number, number][];
}

/**
 * f on a points x points grid over the plane through w1, w2, w3, covering the three solutions
 * with a margin (default 0.2 of the extent on each side).
 */
export function plane2d(
  obj: Objective,
  w1: FlatVector,
  w2: FlatVector,
  w3: FlatVector,
  opts: { points?: number; margin?: number } = {},
): Plane {
  const { ops } = obj;
  const basis = planeBasis(ops, w1, w2, w3);
  const x = ops.alloc(obj.length);
  try {
    const margin = opts.margin ?? 0.2;
    const points = opts.points ?? 11;
    const range = (k: 0 | 1): [number, number] => {
      const vals = basis.coords.map((c) => c[k]);
      const lo = minOf(vals);
      const hi = maxOf(vals);
      const pad = margin * (hi - lo || 1);
      return [lo - pad, hi + pad];
    };
    const as = linspace(...range(0), points);
    const bs = linspace(...range(1), points);
    const losses: number[][] = [];
    const accuracies: number[][] = [];
    for (const b of bs) {
      const lrow: number[] = [];
      const arow: number[] = [];
      for (const a of as) {
        ops.copy(x, w1);
        ops.axpy(x, a, basis.u);
        ops.axpy(x, b, basis.v);
        const r = obj.evaluate(x);
        lrow.push(r.loss);
        arow.push(r.accuracy);
      }
      losses.push(lrow);
      accuracies.push(arow);
    }
    return { as, bs, losses, accuracies, solutions: basis.coords };
  } finally {
    for (const b of [x, basis.u, basis.v]) ops.free(b);
  }
}
