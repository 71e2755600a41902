/**
 * The learning-rate range test (Smith 2017, "Cyclical Learning Rates", section 3.3; fastai's
 * `lr_find`): train for a short run while the learning rate grows from minLr to maxLr, record
 * the loss of every batch, and read good learning rates off the curve. The model's weights are
 * put back afterwards: the test measures the model, it does not train it.
 *
 * - LR of step t of n: exponential minLr * (maxLr / minLr)^(t / (n - 1)), or linear
 *   minLr + (maxLr - minLr) * t / (n - 1); both ends are included (fastai stops one step short
 *   of maxLr). The loss recorded at step t is the batch's loss before step t's update, as fastai.
 * - Smoothing (fastai): avg_i = beta * avg_{i-1} + (1 - beta) * loss_i, smoothed_i =
 *   avg_i / (1 - beta^i) (bias correction), i = 1, 2, ...; beta = 0.98.
 * - The run stops early, before that step's update, when the smoothed loss exceeds
 *   divergeThreshold (4) times the best smoothed loss so far, or a loss is NaN/Inf.
 *
 * Suggestions (all from the smoothed loss, over the curve without the first 10% of the
 * planned steps and the last 5 points, as fastai; the whole finite curve when that leaves
 * fewer than 3 points):
 * - `steepest` (fastai 'steep'): the LR at the start of the steepest fall of the smoothed loss
 *   per unit of log LR, argmin_i (s_{i+1} - s_i) / (ln lr_{i+1} - ln lr_i).
 * - `minimum` and `minimumOver10` (fastai 'minimum'): the LR of the lowest smoothed loss, and
 *   a tenth of it (the minimum itself is already at the edge of divergence).
 * - `bounds` (Smith's CLR bounds, read off the loss instead of the accuracy): `min` is where
 *   the loss starts falling, taken as the first LR at which the smoothed loss has covered 10% of
 *   its fall from the first point to its minimum; `max` is where it stops falling, the LR of
 *   the minimum.
 * A suggestion is null when the loss never falls.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Dataset } from '../data/index.js';
import type { ParamVectorOptions } from '../engine/param-vector.js';
import { UsageError } from '../errors.js';
import type { FlatOps, KernelChoice } from '../kernels/index.js';
import type { OptimizerSpec } from '../optim/index.js';
import { Event } from './events.js';
import type { Method } from './method.js';
import { isLayersModel } from './model.js';
import type { LossFn, ModelLike, TrainState } from './state.js';
import { Trainer } from './trainer.js';

export type LrRangeMode = 'exponential' | 'linear';

export interface LrRange {
  /** Default 1e-7 (fastai). */
  minLr?: number;
  /** Default 10 (fastai). */
  maxLr?: number;
  /** Steps of the test (default 100). */
  steps?: number;
  /** Default 'exponential'. */
  mode?: LrRangeMode;
}

export interface LrFinderOptions extends LrRange {
  model: ModelLike;
  trainData: Dataset;
  /** Default 64. */
  batchSize?: number;
  /** Data order (default 0). */
  seed?: number;
  kernels?: KernelChoice | FlatOps;
  /** Registry name or spec (default 'adamw'); its lr is replaced by the range. */
  optimizer?: string | OptimizerSpec;
  lossFn?: LossFn;
  paramVector?: ParamVectorOptions;
  /** Smoothing factor beta (default 0.98). */
  smoothing?: number;
  /** Stop when the smoothed loss exceeds this many times the best (default 4). */
  divergeThreshold?: number;
}

export interface LrCurvePoint {
  step: number;
  lr: number;
  loss: number;
  smoothedLoss: number;
}

export interface LrSuggestions {
  steepest: number | null;
  minimum: number | null;
  minimumOver10: number | null;
  /** Smith's CLR bounds: where the loss starts falling and where it stops. */
  bounds: { min: number; max: number } | null;
}

export type LrFinderStop = 'completed' | 'diverged' | 'non-finite loss';

export interface LrFinderResult {
  config: Required<LrRange> & {
    optimizer: string;
    batchSize: number;
    seed: number;
    smoothing: number;
    divergeThreshold: number;
  };
  curve: LrCurvePoint[];
  stopReason: LrFinderStop;
  suggestions: LrSuggestions;
}

/** What suggestLrs leaves out of the curve (fastai: the first tenth and the last five). */
export interface SuggestionTrim {
  skipStart: number;
  skipEnd: number;
}

const DEFAULT_RANGE: Required<LrRange> = {
  minLr: 1e-7,
  maxLr: 10,
  steps: 100,
  mode: 'exponential',
};

function badOption(name: string, value: unknown, expected: string): UsageError {
  return new UsageError(
    'ANNEAL_BAD_OPTION',
    `lr-find: ${name} ${JSON.stringify(value)} is not valid: expected ${expected}.`,
  );
}

function resolveRange(range: LrRange): Required<LrRange> {
  const r: Required<LrRange> = {
    minLr: range.minLr ?? DEFAULT_RANGE.minLr,
    maxLr: range.maxLr ?? DEFAULT_RANGE.maxLr,
    steps: range.steps ?? DEFAULT_RANGE.steps,
    mode: range.mode ?? DEFAULT_RANGE.mode,
  };
  if (!(Number.isFinite(r.minLr) && r.minLr > 0)) {
    throw badOption('minLr', r.minLr, 'a number > 0');
  }
  if (!(Number.isFinite(r.maxLr) && r.maxLr > r.minLr)) {
    throw badOption('maxLr', r.maxLr, `a number > minLr (${r.minLr})`);
  }
  if (!(Number.isInteger(r.steps) && r.steps >= 2)) {
    throw badOption('steps', r.steps, 'an integer >= 2');
  }
  if (r.mode !== 'exponential' && r.mode !== 'linear') {
    throw badOption('mode', r.mode, "'exponential' or 'linear'");
  }
  return r;
}

/** The learning rate of each step of the test (see the file comment). */
export function lrRangeSchedule(range: LrRange = {}): (step: number) => number {
  const { minLr, maxLr, steps, mode } = resolveRange(range);
  return (t) => {
    const frac = t / (steps - 1);
    return mode === 'exponential'
      ? minLr * (maxLr / minLr) ** frac
      : minLr + (maxLr - minLr) * frac;
  };
}

/** fastai's smoothing of the loss, one loss at a time: an exponential average, bias-corrected. */
export function lossSmoother(beta = 0.98): (loss: number) => number {
  let avg = 0;
  let count = 0;
  return (loss) => {
    avg = beta * avg + (1 - beta) * loss;
    count += 1;
    return avg / (1 - beta ** count);
  };
}

/** The smoothed values of a whole loss sequence (see lossSmoother). */
export function smoothLosses(losses: readonly number[], beta = 0.98): number[] {
  const smooth = lossSmoother(beta);
  return losses.map((loss) => smooth(loss));
}

/** The suggested learning rates of a curve (rules in the file comment). */
export function suggestLrs(curve: readonly LrCurvePoint[], trim: SuggestionTrim): LrSuggestions {
  const finite = curve.filter((p) => Number.isFinite(p.smoothedLoss) && p.lr > 0);
  const trimmed = finite.slice(trim.skipStart, Math.max(0, finite.length - trim.skipEnd));
  const points = trimmed.length >= 3 ? trimmed : finite;
  const none: LrSuggestions = { steepest: null, minimum: null, minimumOver10: null, bounds: null };
  if (points.length < 2) return none;
  const s = points.map((p) => p.smoothedLoss);
  const best = argmin(s);
  const fall = s[0] - s[best];
  if (!(fall > 0)) return none;

  const slopes = points
    .slice(0, -1)
    .map((p, i) => (s[i + 1] - s[i]) / (Math.log(points[i + 1].lr) - Math.log(p.lr)));
  const starts = s.findIndex((x) => s[0] - x >= 0.1 * fall);
  const minimum = points[best].lr;
  return {
    steepest: points[argmin(slopes)].lr,
    minimum,
    minimumOver10: minimum / 10,
    bounds: { min: points[starts].lr, max: minimum },
  };
}

function argmin(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] < values[best]) best = i;
  return best;
}

/**
 * The method that records each batch's (lr, loss) at AFTER_BACKWARD, smooths the loss, and
 * stops the run (skipping that step's update) once the loss diverges.
 */
class LrRangeRecorder implements Method {
  readonly name = 'lr_range_recorder';
  readonly curve: LrCurvePoint[] = [];
  stopReason: LrFinderStop = 'completed';
  private readonly smooth: (loss: number) => number;
  private best = Infinity;

  constructor(
    private readonly lrAt: (step: number) => number,
    beta: number,
    private readonly divergeThreshold: number,
  ) {
    this.smooth = lossSmoother(beta);
  }

  match(event: Event): boolean {
    return event === Event.AFTER_BACKWARD;
  }

  apply(_event: Event, state: TrainState): void {
    const loss = state.lossValue;
    const smoothedLoss = this.smooth(loss);
    const step = state.timestamp.step;
    this.curve.push({ step, lr: this.lrAt(step), loss, smoothedLoss });
    if (!Number.isFinite(loss)) this.stop(state, 'non-finite loss');
    else if (smoothedLoss > this.divergeThreshold * this.best) this.stop(state, 'diverged');
    this.best = Math.min(this.best, smoothedLoss);
  }

  private stop(state: TrainState, reason: LrFinderStop): void {
    this.stopReason = reason;
    state.skipStep = true;
    state.stopRequested = true;
    state.stopReason = `lr-find: ${reason} at lr ${this.lrAt(state.timestamp.step).toPrecision(3)}`;
  }
}

/** Copies of every weight of the model (trainable or not: BatchNorm statistics change too). */
function snapshotWeights(model: ModelLike): { restore(): void } {
  if (isLayersModel(model)) {
    const saved = model.getWeights().map((w) => tf.clone(w));
    return {
      restore() {
        model.setWeights(saved);
        tf.dispose(saved);
      },
    };
  }
  const saved = model.variables.map((v) => tf.clone(v));
  return {
    restore() {
      model.variables.forEach((v, i) => v.assign(saved[i]));
      tf.dispose(saved);
    },
  };
}

/** Runs the LR range test on `model` and puts its weights back (see the file comment). */
export async function findLr(opts: LrFinderOptions): Promise<LrFinderResult> {
  const range = resolveRange(opts);
  const smoothing = opts.smoothing ?? 0.98;
  const divergeThreshold = opts.divergeThreshold ?? 4;
  if (!(smoothing >= 0 && smoothing < 1)) {
    throw badOption('smoothing', smoothing, 'a number in [0, 1)');
  }
  if (!(divergeThreshold > 1)) {
    throw badOption('divergeThreshold', divergeThreshold, 'a number > 1');
  }
  const lrAt = lrRangeSchedule(range);
  const recorder = new LrRangeRecorder(lrAt, smoothing, divergeThreshold);
  const spec: OptimizerSpec =
    typeof opts.optimizer === 'object'
      ? { ...opts.optimizer }
      : { name: opts.optimizer ?? 'adamw' };
  const batchSize = opts.batchSize ?? 64;
  const seed = opts.seed ?? 0;

  const weights = snapshotWeights(opts.model);
  try {
    // The schedule multiplies the base lr: base maxLr, multiplier lr(t) / maxLr.
    const trainer = new Trainer({
      model: opts.model,
      trainData: opts.trainData,
      maxDuration: `${range.steps}ba`,
      batchSize,
      seed,
      kernels: opts.kernels,
      optimizer: { ...spec, lr: range.maxLr },
      schedules: { lr: (t) => lrAt(t) / range.maxLr },
      lossFn: opts.lossFn,
      methods: [recorder],
      paramVector: opts.paramVector,
    });
    try {
      await trainer.fit();
    } finally {
      trainer.dispose();
    }
  } finally {
    weights.restore();
  }
  return {
    config: {
      ...range,
      optimizer: spec.name,
      batchSize,
      seed,
      smoothing,
      divergeThreshold,
    },
    curve: recorder.curve,
    stopReason: recorder.stopReason,
    suggestions: suggestLrs(recorder.curve, {
      skipStart: Math.floor(range.steps / 10),
      skipEnd: 5,
    }),
  };
}
