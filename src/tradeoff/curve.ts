/**
 * Single-run tradeoff curves (Portes et al. 2022): one run under the multiplicative cyclic
 * learning-rate schedule of the schedules module, evaluated at the end of each cycle, gives one
 * (training time, accuracy) point per cycle; each point stands in for a separate run of that
 * length with the standard schedule. The multi-run baseline trains those separate runs (one
 * cycle of the same schedule over the whole budget: decay from the peak to zero) to check it.
 *
 * Time counts training only: the Trainer's `trainSeconds` (forward, backward, step, methods).
 * Evaluation runs between fits and is timed apart, so the time axis excludes it.
 */
import { performance } from 'node:perf_hooks';
import type * as tfl from '@tensorflow/tfjs-layers';
import { DataLoader, type Dataset } from '../data/index.js';
import { UsageError } from '../errors.js';
import type { FlatOps, KernelChoice } from '../kernels/index.js';
import { resolveOptimizer } from '../optim/index.js';
import {
  createSchedule,
  multiplicativeCyclesLength,
  type ScheduleSpec,
} from '../schedules/index.js';
import { evaluate, type Evaluation } from '../train/evaluate.js';
import type { Callback } from '../train/method.js';
import { TaskInterrupted } from '../runs/executor.js';
import { recipeModel, recipeTrainerOptions, type Recipe } from '../runs/recipe.js';
import { parseDuration, Timeline, type DurationLike } from '../time/index.js';
import { Trainer, type StopSignal } from '../train/trainer.js';
import type { ModelLike } from '../train/state.js';

export interface CurveSettings {
  /** Cycles in the single run (points on the curve), >= 1. */
  cycles: number;
  /** Length T of the first cycle: '0.25ep', '100ba', '5000sp'. */
  firstCycle: DurationLike;
  /** Cycle length multiplier m >= 1: cycles of T, mT, m^2 T, ... Default 2. */
  mult?: number;
  /** Decay within a cycle: 'linear' to zero (the paper's) or 'cosine'. Default 'linear'. */
  shape?: 'linear' | 'cosine';
  /** Linear warmup at the start of every cycle (and of each multi-run baseline run). */
  cycleWarmup?: DurationLike;
}

/** One point of a curve: a model evaluated after `steps` optimizer steps. */
export interface CurvePoint {
  recipe: string;
  seed: number;
  /** 'single': the end of a cycle of the single cyclic run; 'multi': a separate run's end. */
  run: 'single' | 'multi';
  /** 1-based index of the budget (= cycle) the point belongs to. */
  cycle: number;
  steps: number;
  samples: number;
  epochs: number;
  /** Cumulative training seconds of the run that produced the point (evaluation excluded). */
  trainSeconds: number;
  /** Seconds this point's evaluation took (kept apart from training time). */
  evalSeconds: number;
  accuracy: number;
  loss: number;
}

/** The budgets of a curve: the steps at which each cycle ends, and the schedule they come from. */
export interface CurvePlan {
  timeline: Timeline;
  firstCycleSteps: number;
  warmupSteps: number;
  mult: number;
  shape: 'linear' | 'cosine';
  /** Steps completed at the end of each cycle: B_1 < B_2 < ... (the curve's budgets). */
  budgets: number[];
}

export interface CurveContext {
  train: Dataset;
  test: Dataset;
  /** Kernels for every run (default: the recipe's). */
  kernels?: KernelChoice | FlatOps;
  /** Observers of every run (progress bars, loggers). */
  callbacks?: readonly Callback[];
  /** How points are evaluated (default: loss and top-1 accuracy over `test`). */
  evaluate?: (model: ModelLike, data: Dataset) => Promise<Evaluation>;
  /** Called as each point is recorded (to save partial results, print progress). */
  onPoint?: (point: CurvePoint) => void | Promise<void>;
  /**
   * Stops the run at its next optimizer step: the promise rejects with TaskInterrupted. A curve
   * run keeps no checkpoint, so running it again starts it from step 0.
   */
  signal?: StopSignal;
}

/** The timeline of `recipe` on `train` (steps per epoch, samples per step), without a length. */
export function recipeTimeline(recipe: Recipe, train: Dataset): Timeline {
  // The loader the Trainer will build for this recipe (its batches per epoch decide the steps).
  return Timeline.ofLoader(new DataLoader(train, { batchSize: recipe.batchSize }));
}

/** Works out the curve's budgets for `recipe` on `train`, checking the settings. */
export function planCurve(recipe: Recipe, train: Dataset, settings: CurveSettings): CurvePlan {
  const { cycles } = settings;
  if (!Number.isInteger(cycles) || cycles < 1) {
    throw new UsageError(
      'ANNEAL_BAD_OPTION',
      `cycles = ${String(cycles)}: expected a whole number >= 1 (points on the curve)`,
    );
  }
  for (const [field, value] of [
    ['firstCycle', settings.firstCycle],
    ['cycleWarmup', settings.cycleWarmup],
  ] as const) {
    if (typeof value === 'string' && parseDuration(value).unit === 'dur') {
      throw new UsageError(
        'ANNEAL_BAD_OPTION',
        `${field} = '${value}': a curve has no fixed length to take a fraction of; give 'ep', 'ba' or 'sp'`,
      );
    }
  }
  const timeline = recipeTimeline(recipe, train);
  const firstCycleSteps = timeline.toSteps(settings.firstCycle);
  if (firstCycleSteps < 1) {
    throw new UsageError(
      'ANNEAL_BAD_OPTION',
      `firstCycle = ${String(settings.firstCycle)} is less than one step (batch size ${recipe.batchSize}); make it longer`,
    );
  }
  const warmupSteps =
    settings.cycleWarmup === undefined ? 0 : timeline.toSteps(settings.cycleWarmup);
  const mult = settings.mult ?? 2;
  const shape = settings.shape ?? 'linear';
  // The schedule's own checks (mult >= 1, warmup shorter than a cycle) name the bad value.
  const opts = { peak: 1, firstCycle: firstCycleSteps, mult, shape, cycleWarmup: warmupSteps };
  const budgets = Array.from({ length: cycles }, (_, i) => multiplicativeCyclesLength(opts, i + 1));
  return { timeline, firstCycleSteps, warmupSteps, mult, shape, budgets };
}

/**
 * The learning-rate multiplier spec of a run: the cyclic schedule of the single run, or (with
 * `budget`) one cycle of the same shape over a separate run's whole budget.
 */
export function curveLrSpec(plan: CurvePlan, budget?: number): ScheduleSpec {
  return {
    name: 'multiplicative_cyclic',
    peak: 1,
    firstCycle: budget ?? plan.firstCycleSteps,
    mult: plan.mult,
    shape: plan.shape,
    cycleWarmup: plan.warmupSteps,
  };
}

/**
 * The learning rate of every step of a run (for charts): the recipe's optimizer lr times the
 * multiplier, sampled at `samples` evenly spaced steps.
 */
export function lrTrace(
  plan: CurvePlan,
  baseLr: number,
  budget?: number,
  samples = 200,
): { step: number; lr: number }[] {
  const total = budget ?? plan.budgets[plan.budgets.length - 1];
  const { schedule } = createSchedule(
    curveLrSpec(plan, budget),
    plan.timeline.withTotal(`${total}ba`),
  );
  const n = Math.min(samples, total);
  return Array.from({ length: n }, (_, i) => {
    const step = Math.round((i * (total - 1)) / Math.max(1, n - 1));
    return { step, lr: baseLr * schedule(step) };
  });
}

/** The single cyclic run of `recipe`: one point at the end of every cycle. */
export function runSingleCurve(
  name: string,
  recipe: Recipe,
  plan: CurvePlan,
  ctx: CurveContext,
): Promise<CurvePoint[]> {
  const total = plan.budgets[plan.budgets.length - 1];
  return trainAndEvaluate(name, recipe, 'single', total, curveLrSpec(plan), plan.budgets, ctx);
}

/** The multi-run baseline: one separate run per budget, each with the standard schedule. */
export async function runMultiCurve(
  name: string,
  recipe: Recipe,
  plan: CurvePlan,
  ctx: CurveContext,
): Promise<CurvePoint[]> {
  const points: CurvePoint[] = [];
  for (const [i, budget] of plan.budgets.entries()) {
    const [point] = await trainAndEvaluate(
      name,
      recipe,
      'multi',
      budget,
      curveLrSpec(plan, budget),
      [budget],
      ctx,
      i + 1,
    );
    points.push(point);
  }
  return points;
}

/**
 * A few untimed steps of `recipe`, thrown away: the first steps in a process pay for compiling
 * kernels and warming the JIT, which would otherwise land on the time axis of whichever run
 * comes first (seen: the first recipe 15% slower than the same work later).
 */
export async function warmUp(
  recipe: Recipe,
  plan: CurvePlan,
  ctx: Pick<CurveContext, 'train' | 'test' | 'kernels'>,
  steps = Math.min(4, plan.firstCycleSteps),
): Promise<void> {
  const skipEvaluation = async () => ({ loss: 0, accuracy: 0, count: 0 });
  const spec = curveLrSpec(plan, steps);
  const warm = { train: ctx.train, test: ctx.test, kernels: ctx.kernels, evaluate: skipEvaluation };
  await trainAndEvaluate('warm-up', recipe, 'single', steps, spec, [steps], warm);
}

async function trainAndEvaluate(
  name: string,
  recipe: Recipe,
  run: CurvePoint['run'],
  totalSteps: number,
  lr: ScheduleSpec,
  stops: readonly number[],
  ctx: CurveContext,
  firstCycle = 1,
): Promise<CurvePoint[]> {
  const initial = recipeModel(recipe, ctx.train);
  const options = recipeTrainerOptions(recipe, {
    train: ctx.train,
    test: ctx.test,
    model: initial,
  });
  const models = new Set<tfl.LayersModel>([initial, options.model as tfl.LayersModel]);
  const measure = ctx.evaluate ?? ((model: ModelLike, data: Dataset) => evaluate(model, data));
  const points: CurvePoint[] = [];
  let trainer: Trainer | undefined;
  try {
    trainer = new Trainer({
      ...options,
      // Points are evaluated between fits, timed apart from training.
      evalData: undefined,
      maxDuration: `${totalSteps}ba`,
      schedules: { ...options.schedules, lr },
      kernels: ctx.kernels ?? options.kernels,
      callbacks: ctx.callbacks,
    });
    for (const [i, stop] of stops.entries()) {
      const result = await trainer.fit({
        duration: `${stop - trainer.state.timestamp.step}ba`,
        signal: ctx.signal,
      });
      if (ctx.signal?.aborted && result.timestamp.step < stop) {
        throw new TaskInterrupted(
          `${name} seed ${recipe.seed} (${run} run) stopped at step ${result.timestamp.step} of ` +
            `${totalSteps}: a curve run keeps no checkpoint; run it again to start it over`,
        );
      }
      const started = performance.now();
      const evaluation = await measure(trainer.state.model, ctx.test);
      const evalSeconds = (performance.now() - started) / 1000;
      const ts = result.timestamp;
      const point: CurvePoint = {
        recipe: name,
        seed: recipe.seed,
        run,
        cycle: firstCycle + i,
        steps: ts.step,
        samples: ts.samples,
        epochs: ts.samples / ctx.train.length,
        trainSeconds: ts.trainSeconds,
        evalSeconds,
        accuracy: evaluation.accuracy,
        loss: evaluation.loss,
      };
      points.push(point);
      await ctx.onPoint?.(point);
      if (result.stopReason) break;
    }
  } finally {
    trainer?.dispose();
    for (const model of models) model.dispose();
  }
  return points;
}

/** The learning rate the recipe's optimizer starts from (the schedules multiply it). */
export function recipeBaseLr(recipe: Recipe): number {
  const lr = recipe.optimizer.lr ?? resolveOptimizer(recipe.optimizer.name).record.defaults.lr;
  if (lr === undefined) throw new Error(`optimizer ${recipe.optimizer.name} has no default lr`);
  return lr;
}
