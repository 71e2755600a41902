/**
 * The schedules of pruning: how sparse after each IMP cycle, how sparse at each step of gradual
 * pruning, and the learning rate of each retraining. Every shape comes from src/schedules; this
 * file only says which shape, with which values, over which steps.
 *
 * Retraining schedules (values are MULTIPLIERS of the optimizer's base lr, like every Trainer
 * schedule; `original` is the original run's multiplier per step, maxLr its largest value and
 * finalLr its value at the last step):
 * - ft:   finalLr throughout (fine-tuning at the final learning rate; Han et al. 2015)
 * - lrw:  the last `steps` steps of the original schedule (learning-rate rewinding; Renda et al.
 *         2020)
 * - slr:  the original schedule compressed in time to the retraining length (step j uses the
 *         original's step floor(j * originalSteps / R)), the part before its peak raised to
 *         maxLr, after a linear warmup (Scaled Learning-rate Restarting; Le & Hua 2021)
 * - clr:  linear warmup to maxLr, then cosine to finalLr over the rest (one cycle of Cyclic
 *         Learning-rate Restarting; Le & Hua 2021)
 * - llr:  linear warmup to maxLr, then linear to 0 (Linear Learning-rate Restarting; Zimmer et al.
 *         2023)
 * - allr: llr from eta = clip(maxLr * d / sqrt(p), min(steps / originalSteps, 1) * maxLr, maxLr),
 *         d = ||w - w_pruned|| / ||w|| (the relative norm the pruning removed) and p the fraction
 *         of the remaining weights pruned in this cycle (Adaptive LLR; Zimmer et al. 2023, as in
 *         their code)
 * The warmups are W = floor(warmupFraction * steps) steps (default 10%, as Zimmer et al.'s code
 * does for slr/clr/llr/allr), linear from 0 (their code rises along a cosine); R = steps - W.
 */
import { UsageError } from '../errors.js';
import {
  constant,
  cosineAnnealing,
  defineSchedule,
  linearToZero,
  polynomial,
  withWarmup,
  type Schedule,
} from '../schedules/index.js';
import { checkSparsity } from './criteria.js';

export const RETRAIN_SCHEDULES = ['ft', 'lrw', 'slr', 'clr', 'llr', 'allr'] as const;
export type RetrainSchedule = (typeof RETRAIN_SCHEDULES)[number];

function checkCount(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new UsageError(
      'ANNEAL_PRUNE_OPTION',
      `${name} = ${String(value)} is not valid: expected an integer >= ${min}.`,
    );
  }
  return value;
}

/**
 * The sparsity after each of `cycles` IMP cycles that reach `target`: each prunes the same
 * fraction 1 - (1 - target)^(1/cycles) of the weights still there, so after cycle k the sparsity
 * is 1 - (1 - target)^(k / cycles).
 */
export function cycleSparsities(target: number, cycles: number): number[] {
  checkSparsity('target', target, false);
  checkCount('cycles', cycles, 1);
  return Array.from({ length: cycles }, (_, i) =>
    i === cycles - 1 ? target : 1 - (1 - target) ** ((i + 1) / cycles),
  );
}

/** A total retraining budget in steps split over cycles: equal parts, the remainder to the last. */
export function splitBudget(totalSteps: number, cycles: number): number[] {
  checkCount('budget steps', totalSteps, 0);
  checkCount('cycles', cycles, 1);
  const each = Math.floor(totalSteps / cycles);
  return Array.from({ length: cycles }, (_, i) =>
    i === cycles - 1 ? totalSteps - each * (cycles - 1) : each,
  );
}

export interface GradualSparsityOptions {
  /** s_i: the sparsity at the first pruning step (default 0). */
  initial?: number;
  /** s_f: the final sparsity. */
  final: number;
  /** t_0: the first pruning step. */
  start: number;
  /** The step from which the sparsity is s_f (t_0 + n dt). */
  end: number;
  /** dt: steps between pruning steps (default 1). */
  frequency?: number;
}

/**
 * Zhu & Gupta (2017): s_t = s_f + (s_i - s_f) (1 - (t - t_0) / (n dt))^3 at the pruning steps
 * t = t_0, t_0 + dt, ..., held in between, s_f from t_0 + n dt on, and 0 before t_0. The cubic is
 * the schedules module's polynomial decay with power 3.
 */
export function gradualSparsity(opts: GradualSparsityOptions): Schedule {
  const initial = checkSparsity('initial', opts.initial ?? 0);
  const final = checkSparsity('final', opts.final);
  const start = checkCount('start', opts.start, 0);
  const end = checkCount('end', opts.end, start + 1);
  const frequency = checkCount('frequency', opts.frequency ?? 1, 1);
  if (initial > final) {
    throw new UsageError(
      'ANNEAL_PRUNE_OPTION',
      `initial sparsity ${initial} is above the final ${final}: pruning only adds weights to the ` +
        `mask; give initial <= final.`,
    );
  }
  const cubic = polynomial({ base: initial, min: final, steps: end - start, power: 3 });
  return defineSchedule('gradual-sparsity', (t) =>
    t < start ? 0 : cubic(Math.floor((t - start) / frequency) * frequency),
  );
}

export interface RetrainContext {
  /** The original run's lr multiplier at each step. */
  original: Schedule;
  /** The original run's length in steps. */
  originalSteps: number;
  /** This retraining's length in steps. */
  steps: number;
  /** Warmup of slr/clr/llr/allr as a fraction of `steps` (default 0.1). */
  warmupFraction?: number;
  /** allr: ||w - w_pruned|| / ||w|| of this cycle's pruning. */
  normDrop?: number;
  /** allr: the fraction of the remaining weights this cycle pruned. */
  prunedFraction?: number;
}

/** The largest and the final value of the original schedule (its lr range). */
export function originalRange(original: Schedule, originalSteps: number) {
  let maxLr = -Infinity;
  let peak = 0;
  for (let t = 0; t < originalSteps; t++) {
    const v = original(t);
    if (v > maxLr) [maxLr, peak] = [v, t];
  }
  return { maxLr, finalLr: original(originalSteps - 1), peak };
}

/** The ALLR initial value (see the file comment). */
export function allrInitial(ctx: RetrainContext, maxLr: number): number {
  const { normDrop, prunedFraction } = ctx;
  if (
    normDrop === undefined ||
    prunedFraction === undefined ||
    !(prunedFraction > 0) ||
    !(normDrop >= 0)
  ) {
    throw new UsageError(
      'ANNEAL_PRUNE_OPTION',
      `allr needs the cycle's normDrop (>= 0) and prunedFraction (> 0), got ${normDrop} and ` +
        `${prunedFraction}.`,
    );
  }
  const floor = Math.min(ctx.steps / ctx.originalSteps, 1) * maxLr;
  return Math.min(maxLr, Math.max(floor, (maxLr * normDrop) / Math.sqrt(prunedFraction)));
}

/** The lr multiplier of each retraining step under `kind` (see the file comment). */
export function retrainSchedule(kind: RetrainSchedule, ctx: RetrainContext): Schedule {
  if (!(RETRAIN_SCHEDULES as readonly string[]).includes(kind)) {
    throw new UsageError(
      'ANNEAL_PRUNE_RETRAIN',
      `unknown retraining schedule ${JSON.stringify(kind)}: expected one of ` +
        `${RETRAIN_SCHEDULES.join(', ')}.`,
    );
  }
  const originalSteps = checkCount('originalSteps', ctx.originalSteps, 1);
  const steps = checkCount('retraining steps', ctx.steps, 1);
  const { original } = ctx;
  const { maxLr, finalLr, peak } = originalRange(original, originalSteps);
  const warmup = Math.floor((ctx.warmupFraction ?? 0.1) * steps);
  const rest = steps - warmup;
  switch (kind) {
    case 'ft':
      return constant({ value: finalLr });
    case 'lrw': {
      const from = Math.max(0, originalSteps - steps);
      return defineSchedule('lrw', (t) => original(from + t));
    }
    case 'slr': {
      const compressed = defineSchedule('slr', (j) => {
        const t = Math.floor((j * originalSteps) / rest);
        return t < peak ? maxLr : original(t);
      });
      return withWarmup(compressed, warmup);
    }
    case 'clr':
      return withWarmup(cosineAnnealing({ base: maxLr, min: finalLr, tMax: rest }), warmup);
    case 'llr':
      return withWarmup(linearToZero({ base: maxLr, steps: rest }), warmup);
    case 'allr':
      return withWarmup(linearToZero({ base: allrInitial(ctx, maxLr), steps: rest }), warmup);
  }
}
