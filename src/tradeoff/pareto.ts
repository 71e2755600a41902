/**
 * Pareto frontiers of accuracy-vs-cost points, and how two tradeoff curves compare at equal
 * cost. Cost (training time, samples) is minimised and accuracy maximised.
 */

/**
 * The points no other point dominates (another point dominates p when it costs no more and is
 * no less accurate, and is strictly better in one of the two), sorted by cost. Of exact
 * duplicates, the first is kept.
 */
export function paretoFrontier<T>(
  points: readonly T[],
  cost: (p: T) => number,
  accuracy: (p: T) => number,
): T[] {
  // Sorted by cost, then by accuracy (best first), then by input order: a point is on the
  // frontier exactly when it is more accurate than every point before it.
  const order = points
    .map((p, i) => ({ p, i, c: cost(p), a: accuracy(p) }))
    .filter((q) => Number.isFinite(q.c) && Number.isFinite(q.a))
    .sort((x, y) => x.c - y.c || y.a - x.a || x.i - y.i);
  const frontier: T[] = [];
  let best = -Infinity;
  for (const q of order) {
    if (q.a > best) {
      frontier.push(q.p);
      best = q.a;
    }
  }
  return frontier;
}

export interface CurveXY {
  x: number;
  y: number;
}

/**
 * The curve's y at `x` by linear interpolation between its points (sorted by x); undefined
 * outside the curve's range, where comparing would be extrapolating.
 */
export function interpolate(curve: readonly CurveXY[], x: number): number | undefined {
  const sorted = [...curve].sort((a, b) => a.x - b.x);
  if (sorted.length === 0 || x < sorted[0].x || x > sorted[sorted.length - 1].x) return undefined;
  for (let i = 0; i < sorted.length - 1; i++) {
    const a = sorted[i];
    const b = sorted[i + 1];
    if (x <= b.x)
      return b.x === a.x ? Math.max(a.y, b.y) : a.y + ((b.y - a.y) * (x - a.x)) / (b.x - a.x);
  }
  return sorted[sorted.length - 1].y;
}

export interface EqualCostComparison {
  x: number;
  /** The reference curve's y at x (interpolated). */
  reference: number;
  /** The other curve's y at x (its own point). */
  other: number;
  /** other - reference: positive where the other curve lies above. */
  delta: number;
}

/**
 * At each of `other`'s points that falls within `reference`'s range, the difference between
 * the two curves at equal cost: where `delta > 0` the other recipe "helps" at that budget.
 */
export function compareAtEqualCost(
  reference: readonly CurveXY[],
  other: readonly CurveXY[],
): EqualCostComparison[] {
  const out: EqualCostComparison[] = [];
  for (const p of [...other].sort((a, b) => a.x - b.x)) {
    const ref = interpolate(reference, p.x);
    if (ref !== undefined) out.push({ x: p.x, reference: ref, other: p.y, delta: p.y - ref });
  }
  return out;
}
