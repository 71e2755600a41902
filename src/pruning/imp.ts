/**
 * One-shot pruning + fine-tuning (ShrinkBench's experiment) and Iterative Magnitude Pruning
 * (Han et al. 2015; Renda et al. 2020): `cycles` rounds of prune-then-retrain that reach `target`
 * along the geometric schedule of cycleSparsities(), each retraining with a schedule of
 * schedule.ts (ft, lrw, slr, clr, llr, allr). Budgeted IMP (Zimmer et al. 2023) splits a total
 * retraining `budget` over the cycles; weight rewinding (Frankle et al. 2019; Renda et al. 2020)
 * resets the kept weights to an early snapshot after each pruning.
 *
 * Each retraining is a fresh Trainer (fresh optimizer state) on the same model, with the mask
 * installed in its ParamVector, so pruned weights stay exactly 0 throughout.
 */
import { DataLoader, type Dataset } from '../data/index.js';
import { ParamVector } from '../engine/param-vector.js';
import { UsageError } from '../errors.js';
import { createFlatOps, type FlatOps, type KernelChoice } from '../kernels/index.js';
import type { OptimizerSpec } from '../optim/index.js';
import { constant, createSchedule, type Schedule, type ScheduleSpec } from '../schedules/index.js';
import type { Callback } from '../train/method.js';
import { isLayersModel } from '../train/model.js';
import type { ModelLike } from '../train/state.js';
import { Timeline, type DurationLike } from '../time/index.js';
import { Trainer } from '../train/trainer.js';
import { installMask } from './apply.js';
import {
  checkCriterion,
  checkSparsity,
  computeMask,
  maskSparsity,
  prunableSegments,
  type PrunableOptions,
  type PruningCriterion,
} from './criteria.js';
import { accumulateGradient } from './gradient.js';
import {
  evaluateTopK,
  pruningMetrics,
  type PruningMetrics,
  type TopKEvaluation,
} from './metrics.js';
import {
  cycleSparsities,
  RETRAIN_SCHEDULES,
  retrainSchedule,
  splitBudget,
  type RetrainSchedule,
} from './schedule.js';

export interface PruneOptions {
  /** The trained model; pruned in place. */
  model: ModelLike;
  trainData: Dataset;
  /** Evaluated after each pruning and each retraining (top-1/top-5). */
  evalData?: Dataset;
  /** The original run's (default 64). */
  batchSize?: number;
  /** Seeds data order (cycle k uses seed + k) and the random criterion (default 0). */
  seed?: number;
  kernels?: KernelChoice | FlatOps;
  /** The original run's optimizer (default 'adamw'); each retraining starts it afresh. */
  optimizer?: string | OptimizerSpec;
  /** The original run: its length and its lr multiplier schedule (default constant 1). */
  original: { duration: DurationLike; schedule?: ScheduleSpec | Schedule };
  /** Default 'global-magnitude'. */
  criterion?: PruningCriterion;
  /** Fraction of the prunable weights pruned at the end, in (0, 1). */
  target: number;
  /** 1 (default): one-shot; k: IMP in k cycles. */
  cycles?: number;
  /** Retraining schedule (default 'ft'). */
  retrain?: RetrainSchedule;
  /** Retraining per cycle (e.g. '1ep'); or give `budget`. */
  retrainDuration?: DurationLike;
  /** Budgeted IMP: the total retraining, split equally over the cycles (remainder to the last). */
  budget?: DurationLike;
  prunable?: PrunableOptions;
  /** Batches the gradient criteria sum their gradient over (default 4). */
  gradientBatches?: number;
  /** Weight rewinding: flat weights (ParamVector order) the kept weights are reset to. */
  rewindWeights?: Float32Array;
  /** Warmup fraction of slr/clr/llr/allr (default 0.1). */
  warmupFraction?: number;
  /** Callbacks of each cycle's retraining Trainer (progress bars, loggers). */
  callbacks?: (cycle: number, steps: number) => Callback[];
  /** Called after each cycle. */
  onCycle?: (result: CycleResult) => void | Promise<void>;
}

export interface CycleResult {
  /** 1-based. */
  cycle: number;
  /** Sparsity of the prunable weights after this cycle's pruning. */
  sparsity: number;
  /** Fraction of the then remaining weights this cycle pruned. */
  prunedFraction: number;
  /** ||w - w_pruned|| / ||w|| over the prunable weights. */
  normDrop: number;
  retrainSteps: number;
  /** The lr multiplier at the first retraining step after warmup. */
  retrainLr: number | null;
  afterPrune: TopKEvaluation | null;
  afterRetrain: TopKEvaluation | null;
  metrics: PruningMetrics;
}

export interface PruneResult {
  cycles: CycleResult[];
  /** The final mask (ParamVector order). */
  mask: Float32Array;
  metrics: PruningMetrics;
  /** Retraining steps in all, and in epochs of the training data. */
  retrainSteps: number;
  retrainEpochs: number;
  /** The original run's length in steps and epochs. */
  originalSteps: number;
  originalEpochs: number;
}

function checkOptions(opts: PruneOptions) {
  const criterion = checkCriterion(opts.criterion ?? 'global-magnitude');
  const target = checkSparsity('target', opts.target, false);
  const cycles = opts.cycles ?? 1;
  if (!Number.isInteger(cycles) || cycles < 1) {
    throw new UsageError(
      'ANNEAL_PRUNE_OPTION',
      `cycles = ${String(cycles)} is not valid: expected an integer >= 1 (1 = one-shot).`,
    );
  }
  const retrain = opts.retrain ?? 'ft';
  if (!(RETRAIN_SCHEDULES as readonly string[]).includes(retrain)) {
    throw new UsageError(
      'ANNEAL_PRUNE_RETRAIN',
      `unknown retraining schedule ${JSON.stringify(retrain)}: expected one of ` +
        `${RETRAIN_SCHEDULES.join(', ')}.`,
    );
  }
  if ((opts.retrainDuration === undefined) === (opts.budget === undefined)) {
    throw new UsageError(
      'ANNEAL_PRUNE_OPTION',
      'give exactly one of retrainDuration (per cycle, e.g. "1ep") and budget (in all, split ' +
        'over the cycles, e.g. "2ep").',
    );
  }
  return { criterion, target, cycles, retrain };
}

/** Prunes `model` to `target` in `cycles` prune-retrain cycles; see the file comment. */
export async function prune(opts: PruneOptions): Promise<PruneResult> {
  const { criterion, target, cycles, retrain } = checkOptions(opts);
  const batchSize = opts.batchSize ?? 64;
  const seed = opts.seed ?? 0;
  const loader = new DataLoader(opts.trainData, { batchSize, seed });
  const timeline = Timeline.ofLoader(loader);
  const originalTimeline = timeline.withTotal(opts.original.duration);
  const originalSteps = originalTimeline.totalSteps!;
  const originalSchedule: Schedule =
    opts.original.schedule === undefined
      ? constant({ value: 1 })
      : typeof opts.original.schedule === 'function'
        ? opts.original.schedule
        : createSchedule(opts.original.schedule, originalTimeline).schedule;
  const steps =
    opts.budget !== undefined
      ? splitBudget(timeline.toSteps(opts.budget), cycles)
      : Array<number>(cycles).fill(timeline.toSteps(opts.retrainDuration!));
  const sparsities = cycleSparsities(target, cycles);

  const ownsOps = typeof opts.kernels !== 'object';
  const ops = typeof opts.kernels === 'object' ? opts.kernels : createFlatOps(opts.kernels);
  const { model } = opts;
  const pv = ParamVector.create(isLayersModel(model) ? model : { variables: model.variables }, ops);
  const results: CycleResult[] = [];
  let mask: Float32Array | null = null;
  try {
    const segments = prunableSegments(pv, opts.prunable);
    const evaluate = async () => (opts.evalData ? evaluateTopK(model, opts.evalData) : null);
    for (let k = 0; k < cycles; k++) {
      pv.readFromModel();
      const before = ops.download(pv.params);
      const gradient = criterion.includes('gradient')
        ? await accumulateGradient(model, opts.trainData, {
            batches: opts.gradientBatches,
            batchSize,
            seed: seed + k,
          })
        : undefined;
      const previousSparsity = mask ? maskSparsity(mask, segments) : 0;
      mask = computeMask(pv, {
        criterion,
        sparsity: sparsities[k],
        segments,
        previous: mask,
        gradient,
        seed: seed + k,
      });
      const normDrop = relativeDrop(before, mask, segments);
      const sparsity = maskSparsity(mask, segments);
      const prunedFraction = (sparsity - previousSparsity) / (1 - previousSparsity);
      if (opts.rewindWeights) ops.upload(pv.params, opts.rewindWeights);
      installMask(pv, mask);
      const afterPrune = await evaluate();

      let retrainLr: number | null = null;
      if (steps[k] > 0) {
        const schedule = retrainSchedule(retrain, {
          original: originalSchedule,
          originalSteps,
          steps: steps[k],
          warmupFraction: opts.warmupFraction,
          normDrop,
          prunedFraction,
        });
        retrainLr = schedule(Math.floor((opts.warmupFraction ?? 0.1) * steps[k]));
        const trainer = new Trainer({
          model,
          trainData: opts.trainData,
          maxDuration: `${steps[k]}ba`,
          batchSize,
          seed: seed + k + 1,
          kernels: ops,
          optimizer: opts.optimizer ?? 'adamw',
          schedules: { lr: schedule },
          callbacks: opts.callbacks?.(k + 1, steps[k]) ?? [],
        });
        try {
          installMask(trainer.state.pv, mask);
          await trainer.fit();
        } finally {
          trainer.dispose();
        }
        pv.readFromModel(); // the trained weights, pruned ones still 0
      }
      const result: CycleResult = {
        cycle: k + 1,
        sparsity,
        prunedFraction,
        normDrop,
        retrainSteps: steps[k],
        retrainLr,
        afterPrune,
        afterRetrain: steps[k] > 0 ? await evaluate() : afterPrune,
        metrics: pruningMetrics(model, pv, mask),
      };
      results.push(result);
      await opts.onCycle?.(result);
    }
    const retrainSteps = steps.reduce((a, b) => a + b, 0);
    return {
      cycles: results,
      mask: mask!,
      metrics: results[results.length - 1].metrics,
      retrainSteps,
      retrainEpochs: retrainSteps / loader.batchesPerEpoch,
      originalSteps,
      originalEpochs: originalSteps / loader.batchesPerEpoch,
    };
  } finally {
    pv.dispose();
    if (ownsOps) ops.dispose();
  }
}

/** ||w - w * mask|| / ||w|| over the segments (the relative norm a pruning removed). */
function relativeDrop(
  w: Float32Array,
  mask: Float32Array,
  segments: readonly { offset: number; length: number }[],
): number {
  let all = 0;
  let removed = 0;
  for (const s of segments) {
    for (let i = s.offset; i < s.offset + s.length; i++) {
      const sq = w[i] * w[i];
      all += sq;
      if (mask[i] === 0) removed += sq;
    }
  }
  return all === 0 ? 0 : Math.sqrt(removed / all);
}
