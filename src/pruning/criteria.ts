/**
 * Which weights to prune: the prunable segments of a ParamVector and a 0/1 mask from a criterion.
 *
 * Every criterion scores each prunable weight and hands the scores to the kernels' O(N)
 * selection (FlatOps.magnitudeMask): the `count` smallest scores are pruned, ties going to the
 * lowest flat index first. Global criteria select over the union of the prunable segments,
 * layer-wise ones select `round(sparsity * length)` in each segment.
 *
 * - magnitude: |w| (Han et al. 2015)
 * - gradient-magnitude: |w * g|, g a gradient summed over a few batches (ShrinkBench)
 * - random: a seeded uniform draw (Philox, so every kernel backend prunes the same weights)
 *
 * Masks only grow: a weight pruned by an earlier mask stays pruned (its score is set below every
 * kept weight's), so iterative and gradual pruning never revive a weight.
 *
 * This file sits below the Trainer (the gradual-pruning method uses it), so it imports nothing
 * from src/train.
 */
import type { ParamSegment, ParamVector, SegmentKind } from '../engine/param-vector.js';
import { UsageError } from '../errors.js';
import type { FlatOps, FlatVector } from '../kernels/index.js';

export const PRUNING_CRITERIA = [
  'global-magnitude',
  'layer-magnitude',
  'global-gradient-magnitude',
  'layer-gradient-magnitude',
  'random',
] as const;

export type PruningCriterion = (typeof PRUNING_CRITERIA)[number];

/** Which segments may be pruned. Default: conv and dense kernels but the first and the last. */
export interface PrunableOptions {
  /** Segment kinds that may be pruned (default ['kernel']). */
  kinds?: readonly SegmentKind[];
  /** Prune the first kernel (the input layer) too (default false). */
  includeFirst?: boolean;
  /** Prune the last kernel (the classifier) too (default false). */
  includeLast?: boolean;
  /** Only segments whose name contains one of these strings or matches one of these RegExps. */
  include?: readonly (string | RegExp)[];
  /** Never segments whose name contains one of these strings or matches one of these RegExps. */
  exclude?: readonly (string | RegExp)[];
}

const matches = (name: string, patterns: readonly (string | RegExp)[]) =>
  patterns.some((p) => (typeof p === 'string' ? name.includes(p) : p.test(name)));

/** The prunable segments of `pv` under `opts` (an error when none is left). */
export function prunableSegments(pv: ParamVector, opts: PrunableOptions = {}): ParamSegment[] {
  const kinds = opts.kinds ?? ['kernel'];
  const kernels = pv.segmentsWhere((s) => s.kind === 'kernel');
  const first = kernels[0];
  const last = kernels[kernels.length - 1];
  const chosen = pv.segmentsWhere(
    (s) =>
      kinds.includes(s.kind) &&
      (opts.includeFirst === true || s !== first) &&
      (opts.includeLast === true || s !== last) &&
      (opts.include === undefined || matches(s.name, opts.include)) &&
      !matches(s.name, opts.exclude ?? []),
  );
  if (chosen.length === 0) {
    throw new UsageError(
      'ANNEAL_PRUNE_NOTHING',
      `no prunable weights: of ${pv.segments.map((s) => `${s.name} (${s.kind})`).join(', ')}, ` +
        `none is a ${kinds.join('/')} segment outside the first and last layer that the ` +
        `include/exclude patterns allow; pass includeFirst/includeLast or other kinds.`,
    );
  }
  return chosen;
}

export function checkCriterion(criterion: unknown): PruningCriterion {
  if (!(PRUNING_CRITERIA as readonly unknown[]).includes(criterion)) {
    throw new UsageError(
      'ANNEAL_PRUNE_CRITERION',
      `unknown pruning criterion ${JSON.stringify(criterion)}: expected one of ` +
        `${PRUNING_CRITERIA.join(', ')}.`,
    );
  }
  return criterion as PruningCriterion;
}

/** A sparsity: a number in [0, 1). */
export function checkSparsity(name: string, value: unknown, allowZero = true): number {
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value >= 1 ||
    value < 0 ||
    (!allowZero && value === 0)
  ) {
    throw new UsageError(
      'ANNEAL_PRUNE_SPARSITY',
      `${name} = ${String(value)} is not valid: expected a fraction of the prunable weights in ` +
        `${allowZero ? '[0, 1)' : '(0, 1)'}, e.g. 0.9 for 90% of them pruned.`,
    );
  }
  return value;
}

export interface MaskOptions {
  criterion: PruningCriterion;
  /** Fraction of the prunable weights pruned in total once the mask is applied. */
  sparsity: number;
  /** The prunable segments (default: prunableSegments(pv)). */
  segments?: readonly ParamSegment[];
  /** The mask already in force (default: pv.mask); its pruned weights stay pruned. */
  previous?: Float32Array | null;
  /** The gradient (pv.length entries) for the gradient-magnitude criteria. */
  gradient?: Float32Array;
  /** Seed of the random criterion (default 0). */
  seed?: number;
}

/** Scores below every kept weight's: pruned ones get 0, kept ones at least the least denormal. */
const KEPT_FLOOR = 1.401298464324817e-45;

/** How many weights of `length` a sparsity prunes (the same rounding in every criterion). */
export function prunedCount(sparsity: number, length: number): number {
  return Math.round(sparsity * length);
}

/**
 * The mask (1 keep, 0 pruned; pv.length entries) that prunes `sparsity` of the prunable weights
 * by `criterion`. Weights outside the prunable segments are kept.
 */
export function computeMask(pv: ParamVector, opts: MaskOptions): Float32Array {
  const criterion = checkCriterion(opts.criterion);
  const sparsity = checkSparsity('sparsity', opts.sparsity);
  const segments = opts.segments ?? prunableSegments(pv);
  const ops = pv.ops;
  const previous = opts.previous === undefined ? downloadOrNull(ops, pv.mask) : opts.previous;
  const score = scores(pv, criterion, opts, segments);
  if (previous) {
    for (const s of segments) {
      for (let i = s.offset; i < s.offset + s.length; i++) {
        score[i] = previous[i] === 0 ? 0 : Math.max(score[i], KEPT_FLOOR);
      }
    }
  }
  const scoreVector = ops.fromArray(score);
  const maskVector = ops.alloc(pv.length);
  try {
    ops.fill(maskVector, 1);
    if (criterion.startsWith('layer-')) {
      for (const s of segments) {
        const already = previous ? countZerosIn(previous, s) : 0;
        ops.magnitudeMask(
          scoreVector,
          maskVector,
          [s],
          Math.max(already, prunedCount(sparsity, s.length)),
        );
      }
    } else {
      const total = segments.reduce((n, s) => n + s.length, 0);
      const already = previous ? segments.reduce((n, s) => n + countZerosIn(previous, s), 0) : 0;
      ops.magnitudeMask(
        scoreVector,
        maskVector,
        segments,
        Math.max(already, prunedCount(sparsity, total)),
      );
    }
    return ops.download(maskVector);
  } finally {
    ops.free(scoreVector);
    ops.free(maskVector);
  }
}

function scores(
  pv: ParamVector,
  criterion: PruningCriterion,
  opts: MaskOptions,
  segments: readonly ParamSegment[],
): Float32Array {
  const ops = pv.ops;
  if (criterion === 'random') {
    const draws = ops.alloc(pv.length);
    try {
      ops.random(draws, { seed: opts.seed ?? 0, stream: 0, distribution: 'uniform' });
      return ops.download(draws);
    } finally {
      ops.free(draws);
    }
  }
  const w = ops.download(pv.params);
  const score = new Float32Array(pv.length);
  if (criterion.includes('gradient')) {
    const g = opts.gradient;
    if (!g || g.length !== pv.length) {
      throw new UsageError(
        'ANNEAL_PRUNE_GRADIENT',
        `criterion '${criterion}' needs a gradient of ${pv.length} entries (got ` +
          `${g ? g.length : 'none'}); compute one with accumulateGradient() or use a magnitude criterion.`,
      );
    }
    for (const s of segments)
      for (let i = s.offset; i < s.offset + s.length; i++) score[i] = Math.abs(w[i] * g[i]);
  } else {
    for (const s of segments)
      for (let i = s.offset; i < s.offset + s.length; i++) score[i] = Math.abs(w[i]);
  }
  return score;
}

function downloadOrNull(ops: FlatOps, v: FlatVector | null): Float32Array | null {
  return v ? ops.download(v) : null;
}

function countZerosIn(mask: Float32Array, s: { offset: number; length: number }): number {
  let n = 0;
  for (let i = s.offset; i < s.offset + s.length; i++) if (mask[i] === 0) n++;
  return n;
}

/** Fraction of the weights of `segments` that are pruned (0) in `mask`. */
export function maskSparsity(mask: Float32Array, segments: readonly ParamSegment[]): number {
  const total = segments.reduce((n, s) => n + s.length, 0);
  const zeros = segments.reduce((n, s) => n + countZerosIn(mask, s), 0);
  return total === 0 ? 0 : zeros / total;
}
