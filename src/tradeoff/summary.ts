/**
 * What a set of curve points says: each recipe's curve as the mean and spread over seeds, the
 * Pareto frontier of those curves, the single-run vs. multi-run check, and where each recipe
 * lies above the baseline at equal training time.
 */
import { mean, std } from '../stats.js';
import { compareAtEqualCost, paretoFrontier, type EqualCostComparison } from './pareto.js';
import type { CurvePoint } from './curve.js';
import { BASELINE } from './recipes.js';

/** One budget of one recipe's curve, over its seeds. */
export interface CurveRow {
  recipe: string;
  run: CurvePoint['run'];
  cycle: number;
  steps: number;
  epochs: number;
  seeds: number;
  accuracyMean: number;
  /** Sample standard deviation over seeds (0 with one seed). */
  accuracySd: number;
  lossMean: number;
  trainSecondsMean: number;
  evalSecondsMean: number;
  /** On the Pareto frontier of all single-run rows (accuracy vs. training time). */
  frontier: boolean;
  /** A seed's loss was not finite at this budget: never on a frontier. */
  diverged: boolean;
}

export interface SingleVsMultiRow {
  recipe: string;
  cycle: number;
  steps: number;
  single: number;
  singleSd: number;
  multi: number;
  multiSd: number;
  /** single - multi. */
  difference: number;
  /** |difference| <= 2 standard deviations of the multi-run seeds (the goal). */
  withinTwoSd: boolean;
}

export interface CostComparison {
  recipe: string;
  /** Training seconds of the single run (its last point), mean over seeds. */
  singleSeconds: number;
  /** Training seconds of all separate runs together, mean over seeds. */
  multiSeconds: number;
  /** multiSeconds / singleSeconds. */
  ratio: number;
  /** The same in optimizer steps (independent of the machine's load). */
  singleSteps: number;
  multiSteps: number;
}

export interface CurveSummary {
  rows: CurveRow[];
  singleVsMulti: SingleVsMultiRow[];
  cost: CostComparison[];
  /** Per recipe other than the baseline: its single-run curve vs. the baseline's at equal time. */
  vsBaseline: { recipe: string; points: EqualCostComparison[]; helpsAt: number; of: number }[];
}

/**
 * A point whose test loss is not finite came from weights that diverged (its accuracy is an
 * artefact, often chance). NaN is saved as null in curve.json, so this reads old files too.
 */
export function isDivergedPoint(p: Pick<CurvePoint, 'loss'>): boolean {
  return !Number.isFinite(p.loss);
}

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

/** Each recipe's curve (per run kind and budget) as mean and spread over seeds. */
export function curveRows(points: readonly CurvePoint[]): CurveRow[] {
  const rows: CurveRow[] = [];
  for (const group of groupBy(
    points,
    (p) => `${p.recipe}\u0000${p.run}\u0000${p.cycle}`,
  ).values()) {
    const p = group[0];
    const accuracy = group.map((q) => q.accuracy);
    rows.push({
      recipe: p.recipe,
      run: p.run,
      cycle: p.cycle,
      steps: p.steps,
      epochs: p.epochs,
      seeds: group.length,
      accuracyMean: mean(accuracy),
      accuracySd: std(accuracy),
      lossMean: mean(group.map((q) => q.loss)),
      trainSecondsMean: mean(group.map((q) => q.trainSeconds)),
      evalSecondsMean: mean(group.map((q) => q.evalSeconds)),
      frontier: false,
      diverged: group.some(isDivergedPoint),
    });
  }
  const single = rows.filter((r) => r.run === 'single' && !r.diverged);
  for (const r of paretoFrontier(
    single,
    (r) => r.trainSecondsMean,
    (r) => r.accuracyMean,
  )) {
    r.frontier = true;
  }
  return rows;
}

export function summarizeCurves(points: readonly CurvePoint[]): CurveSummary {
  const rows = curveRows(points);
  const find = (recipe: string, run: CurvePoint['run'], cycle: number) =>
    rows.find((r) => r.recipe === recipe && r.run === run && r.cycle === cycle);

  const singleVsMulti: SingleVsMultiRow[] = [];
  for (const s of rows.filter((r) => r.run === 'single')) {
    const m = find(s.recipe, 'multi', s.cycle);
    if (!m) continue;
    const difference = s.accuracyMean - m.accuracyMean;
    singleVsMulti.push({
      recipe: s.recipe,
      cycle: s.cycle,
      steps: s.steps,
      single: s.accuracyMean,
      singleSd: s.accuracySd,
      multi: m.accuracyMean,
      multiSd: m.accuracySd,
      difference,
      withinTwoSd: Math.abs(difference) <= 2 * m.accuracySd,
    });
  }

  const cost: CostComparison[] = [];
  for (const [recipe, group] of groupBy(points, (p) => p.recipe)) {
    const multi = group.filter((p) => p.run === 'multi');
    const single = group.filter((p) => p.run === 'single');
    if (multi.length === 0 || single.length === 0) continue;
    const last = (ps: CurvePoint[]) =>
      [...groupBy(ps, (p) => String(p.seed)).values()].map((seedPoints) =>
        seedPoints.reduce((a, b) => (b.steps > a.steps ? b : a)),
      );
    const perSeedSum = (ps: CurvePoint[], f: (p: CurvePoint) => number) =>
      [...groupBy(ps, (p) => String(p.seed)).values()].map((seedPoints) =>
        seedPoints.reduce((a, p) => a + f(p), 0),
      );
    const singleSeconds = mean(last(single).map((p) => p.trainSeconds));
    const multiSeconds = mean(perSeedSum(multi, (p) => p.trainSeconds));
    cost.push({
      recipe,
      singleSeconds,
      multiSeconds,
      ratio: multiSeconds / singleSeconds,
      singleSteps: mean(last(single).map((p) => p.steps)),
      multiSteps: mean(perSeedSum(multi, (p) => p.steps)),
    });
  }

  const curve = (recipe: string) =>
    rows
      .filter((r) => r.recipe === recipe && r.run === 'single')
      .map((r) => ({ x: r.trainSecondsMean, y: r.accuracyMean }));
  const recipes = [...new Set(rows.map((r) => r.recipe))];
  const vsBaseline = recipes.includes(BASELINE)
    ? recipes
        .filter((r) => r !== BASELINE)
        .map((recipe) => {
          const compared = compareAtEqualCost(curve(BASELINE), curve(recipe));
          return {
            recipe,
            points: compared,
            helpsAt: compared.filter((c) => c.delta > 0).length,
            of: compared.length,
          };
        })
    : [];
  return { rows, singleVsMulti, cost, vsBaseline };
}
