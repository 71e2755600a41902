/**
 * Synthetic label noise, the setting robustness methods (NoiLIn, ALASCA, reinitialisation) are
 * evaluated in. A noise `rate` is the fraction of labels that end up WRONG: exactly
 * round(rate * n) samples, chosen uniformly without replacement, get another class:
 *
 * - symmetric: a class drawn uniformly from the K - 1 other classes (the transition matrix has
 *   1 - rate on its diagonal and rate / (K - 1) elsewhere);
 * - pairflip: class k becomes (k + 1) mod K (Han et al. 2018's pair flipping), the harder,
 *   structured noise.
 *
 * (Some papers draw the new class from all K, so that a "40%" rate flips only 36% of 10 classes;
 * here the rate is the actual noise rate.)
 */
import { UsageError } from '../errors.js';
import { deriveSeed, permutation, Rng } from './random.js';
import type { Dataset } from './types.js';

export const LABEL_NOISE_KINDS = ['symmetric', 'pairflip'] as const;
export type LabelNoiseKind = (typeof LABEL_NOISE_KINDS)[number];

export interface LabelNoiseOptions {
  /** Fraction of labels made wrong, in [0, 1]. */
  rate: number;
  /** Default 'symmetric'. */
  kind?: LabelNoiseKind;
  /** Which samples flip and to what (default 0). */
  seed?: number;
}

export interface FlippedLabels {
  /** The new labels (a copy; the input is not changed). */
  labels: Int32Array;
  /** Indices of the samples whose label changed, ascending. */
  flipped: Int32Array;
}

/** Keeps label-noise draws apart from the other streams of the same seed. */
const LABEL_NOISE_STREAM = 0x6c6e6f69;

function badOption(option: string, value: unknown, expected: string): UsageError {
  return new UsageError(
    'ANNEAL_BAD_LABEL_NOISE',
    `label noise: ${option} = ${JSON.stringify(value)} is not valid: expected ${expected}`,
  );
}

/** rate in [0, 1] and a known kind, else a UsageError naming the option. */
export function checkLabelNoise(rate: unknown, kind: unknown = 'symmetric'): LabelNoiseKind {
  if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1)) {
    throw badOption('rate', rate, 'a number in [0, 1] (the fraction of labels made wrong)');
  }
  if (!(LABEL_NOISE_KINDS as readonly unknown[]).includes(kind)) {
    throw badOption('kind', kind, `one of ${LABEL_NOISE_KINDS.map((k) => `'${k}'`).join(', ')}`);
  }
  return kind as LabelNoiseKind;
}

/**
 * The functional core: flips exactly round(rate * n) labels of `labels` (values 0..K-1), each to
 * a different class, drawing from `rng`.
 */
export function flipLabels(
  labels: Int32Array,
  numClasses: number,
  rate: number,
  kind: LabelNoiseKind,
  rng: Rng,
): FlippedLabels {
  checkLabelNoise(rate, kind);
  if (!Number.isInteger(numClasses) || numClasses < 2) {
    throw badOption('numClasses', numClasses, 'an integer >= 2 (a wrong class must exist)');
  }
  const n = labels.length;
  const count = Math.round(rate * n);
  const out = labels.slice();
  const flipped = permutation(n, rng).subarray(0, count).slice().sort();
  for (const i of flipped) {
    const label = labels[i];
    if (!(label >= 0 && label < numClasses)) {
      throw badOption(`labels[${i}]`, label, `a class in 0..${numClasses - 1}`);
    }
    // A draw over the K - 1 other classes: skip the true one.
    const other = kind === 'pairflip' ? label + 1 : label + 1 + rng.int(numClasses - 1);
    out[i] = other % numClasses;
  }
  return { labels: out, flipped };
}

/**
 * A copy of `ds` (images shared, labels copied) with label noise; `flipped` lists the noisy
 * samples. The same (rate, kind, seed) always flips the same samples to the same classes.
 */
export function addLabelNoise(
  ds: Dataset,
  opts: LabelNoiseOptions,
): { dataset: Dataset; flipped: Int32Array } {
  const kind = checkLabelNoise(opts?.rate, opts?.kind ?? 'symmetric');
  const rng = new Rng(deriveSeed(opts.seed ?? 0, LABEL_NOISE_STREAM));
  const { labels, flipped } = flipLabels(ds.labels, ds.numClasses, opts.rate, kind, rng);
  const note = `${(100 * opts.rate).toFixed(1)}% ${kind} label noise (seed ${opts.seed ?? 0})`;
  return {
    dataset: { ...ds, labels, source: ds.source ? `${ds.source}; ${note}` : note },
    flipped,
  };
}
