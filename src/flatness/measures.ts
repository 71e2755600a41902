/**
 * The flatness measures by name, as `anneal flatness --measures` and the bench use them: each
 * gives one headline value (larger = sharper) and details.
 */
import { UsageError } from '../errors.js';
import type { FlatVector } from '../kernels/index.js';
import { localEntropy } from './local-entropy.js';
import type { Objective } from './objective.js';
import { epsilonSharpness, hessianTopEigenvalue, perturbationSharpness } from './sharpness.js';

export const FLATNESS_MEASURES = [
  'sharpness',
  'sharpness-ball',
  'perturbation',
  'perturbation-filter',
  'hessian-top',
  'local-entropy',
] as const;
export type FlatnessMeasure = (typeof FLATNESS_MEASURES)[number];

export interface MeasureOptions {
  seed?: number;
  /** epsilon-sharpness radius (default 1e-3) and ascent steps (default 10). */
  epsilon?: number;
  steps?: number;
  /** Perturbation sigma (default 0.01 unnormalised, 0.1 filter-normalised) and samples (10). */
  sigma?: number;
  samples?: number;
  /** Hessian power iterations (default 20). */
  iterations?: number;
  /** Local-entropy coupling and Langevin steps (defaults 100, 30). */
  gamma?: number;
  langevinSteps?: number;
}

export interface MeasureRow {
  measure: FlatnessMeasure;
  /** Larger = sharper for every measure. */
  value: number;
  /** What the value is, in words. */
  what: string;
  detail: Record<string, number | string | boolean>;
}

/** Splits and checks a comma list of measure names ('all' = every one). */
export function parseMeasures(list: string): FlatnessMeasure[] {
  const names = list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (names.length === 1 && names[0] === 'all') return [...FLATNESS_MEASURES];
  for (const name of names) {
    if (!(FLATNESS_MEASURES as readonly string[]).includes(name)) {
      throw new UsageError(
        'ANNEAL_UNKNOWN_MEASURE',
        `unknown flatness measure '${name}': expected a comma list of ${FLATNESS_MEASURES.join(', ')} (or 'all')`,
      );
    }
  }
  if (names.length === 0) {
    throw new UsageError(
      'ANNEAL_UNKNOWN_MEASURE',
      `no flatness measure given: expected a comma list of ${FLATNESS_MEASURES.join(', ')}`,
    );
  }
  return names as FlatnessMeasure[];
}

export function measureFlatness(
  obj: Objective,
  x0: FlatVector,
  measures: readonly FlatnessMeasure[],
  opts: MeasureOptions = {},
): MeasureRow[] {
  const seed = opts.seed ?? 0;
  return measures.map((measure): MeasureRow => {
    switch (measure) {
      case 'sharpness':
      case 'sharpness-ball': {
        const norm = measure === 'sharpness' ? 'box' : 'ball';
        const epsilon = opts.epsilon ?? 1e-3;
        const r = epsilonSharpness(obj, x0, { epsilon, norm, steps: opts.steps ?? 10, seed });
        return {
          measure,
          value: r.keskar,
          what: `Keskar epsilon-sharpness (${norm}, eps ${epsilon}): 100 max increase / (1 + loss)`,
          detail: { increase: r.increase, baseLoss: r.baseLoss, maxLoss: r.maxLoss },
        };
      }
      case 'perturbation':
      case 'perturbation-filter': {
        const filterNormalized = measure === 'perturbation-filter';
        const sigma = opts.sigma ?? (filterNormalized ? 0.1 : 0.01);
        const [r] = perturbationSharpness(obj, x0, {
          sigmas: [sigma],
          samples: opts.samples ?? 10,
          filterNormalized,
          seed,
        });
        return {
          measure,
          value: r.meanIncrease,
          what: `mean loss increase under ${filterNormalized ? 'filter-normalised ' : ''}Gaussian noise, sigma ${sigma}`,
          detail: { stderr: r.stderr, accuracyDrop: r.meanAccuracyDrop },
        };
      }
      case 'hessian-top': {
        const r = hessianTopEigenvalue(obj, x0, { iterations: opts.iterations ?? 20, seed });
        return {
          measure,
          value: r.eigenvalue,
          what: 'largest Hessian eigenvalue (power iteration, finite differences of gradients)',
          detail: { iterations: r.iterations, converged: r.converged },
        };
      }
      case 'local-entropy': {
        const gamma = opts.gamma ?? 100;
        const r = localEntropy(obj, x0, { gamma, steps: opts.langevinSteps ?? 30, seed });
        return {
          measure,
          value: r.lossIncrease,
          what: `Langevin mean loss increase around the solution (gamma ${gamma}; lower = more local entropy)`,
          detail: {
            meanLoss: r.meanLoss,
            meanSqDistance: r.meanSqDistance,
            gradientNorm: r.gradientNorm,
          },
        };
      }
    }
  });
}
