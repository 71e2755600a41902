/**
 * A recipe comparison: the single-run curve of every recipe for every seed (and, if asked, the
 * multi-run baseline), written to an output directory as it goes: curve.json (settings, every
 * point, the summary) and points.csv, both rewritten atomically after each point, so a killed
 * comparison keeps every point it finished.
 */
import { join } from 'node:path';
import type { Dataset } from '../data/index.js';
import { machine, type Machine } from '../machine.js';
import { csvField } from '../logs/csv.js';
import { writeFileAtomic } from '../train/atomic.js';
import type { Recipe } from '../runs/recipe.js';
import { writeJsonAtomic } from '../runs/run-dir.js';
import {
  lrTrace,
  planCurve,
  recipeBaseLr,
  runMultiCurve,
  runSingleCurve,
  warmUp,
  type CurveContext,
  type CurvePlan,
  type CurvePoint,
  type CurveSettings,
} from './curve.js';
import { applyRecipeName, checkMultiRun } from './recipes.js';
import { summarizeCurves, type CurveSummary } from './summary.js';

export interface CompareOptions extends CurveSettings {
  /** The recipe every named recipe starts from (data, model, optimizer, batch size, ...). */
  base: Recipe;
  /** Recipe names: 'baseline', 'label-smoothing+mixup', 'momentum', ... (recipes.ts). */
  recipes: readonly string[];
  /** Seeds to repeat each recipe with (default: the base recipe's). */
  seeds?: readonly number[];
  /** Also train the multi-run baseline for these recipes (default: none). */
  multiRun?: readonly string[];
  /** Where curve.json and points.csv go (written atomically after every point). */
  out?: string;
  /** A few untimed steps of each recipe first, so no run pays the process's warm-up (default true). */
  warmUp?: boolean;
}

/** Everything a comparison produced: what curve.json holds. */
export interface CurveResult {
  settings: {
    recipes: string[];
    seeds: number[];
    multiRun: string[];
    cycles: number;
    firstCycleSteps: number;
    mult: number;
    shape: 'linear' | 'cosine';
    warmupSteps: number;
    budgets: number[];
    batchSize: number;
    trainSamples: number;
    testSamples: number;
  };
  base: Recipe;
  /** Each recipe's learning rate over its single run (and over the multi-run budgets). */
  schedules: {
    recipe: string;
    run: CurvePoint['run'];
    budget: number;
    points: { step: number; lr: number }[];
  }[];
  points: CurvePoint[];
  summary: CurveSummary;
  complete: boolean;
  /** Where it ran (the time axis depends on it). */
  machine?: Machine;
}

export interface CompareContext extends Omit<CurveContext, 'train' | 'test' | 'onPoint'> {
  train: Dataset;
  test: Dataset;
  /** Called before each run starts: which recipe, seed and kind. */
  onRunStart?: (run: {
    recipe: string;
    seed: number;
    run: CurvePoint['run'];
    index: number;
    of: number;
  }) => void;
  onPoint?: (point: CurvePoint, result: CurveResult) => void | Promise<void>;
}

/** Steps each run of the comparison trains (for progress bars): single run, then multi. */
export function comparisonSteps(
  plan: CurvePlan,
  opts: Pick<CompareOptions, 'base' | 'recipes' | 'seeds' | 'multiRun'>,
): number {
  const seeds = (opts.seeds ?? [opts.base.seed]).length;
  const single = plan.budgets[plan.budgets.length - 1] * opts.recipes.length;
  const multi = plan.budgets.reduce((a, b) => a + b, 0) * (opts.multiRun ?? []).length;
  return seeds * (single + multi);
}

/** Runs every recipe's curve for every seed; the result is also in `out` if given. */
export async function compareRecipes(
  opts: CompareOptions,
  ctx: CompareContext,
): Promise<CurveResult> {
  const seeds = [...(opts.seeds ?? [opts.base.seed])];
  const multiRun = [...(opts.multiRun ?? [])];
  const recipes = opts.recipes.map((name) => ({ name, recipe: applyRecipeName(opts.base, name) }));
  checkMultiRun(opts.recipes, multiRun);
  const plan = planCurve(opts.base, ctx.train, opts);
  const result: CurveResult = {
    settings: {
      recipes: recipes.map((r) => r.name),
      seeds,
      multiRun,
      cycles: opts.cycles,
      firstCycleSteps: plan.firstCycleSteps,
      mult: plan.mult,
      shape: plan.shape,
      warmupSteps: plan.warmupSteps,
      budgets: plan.budgets,
      batchSize: opts.base.batchSize,
      trainSamples: ctx.train.length,
      testSamples: ctx.test.length,
    },
    base: opts.base,
    schedules: recipes.flatMap(({ name, recipe }) => [
      {
        recipe: name,
        run: 'single' as const,
        budget: plan.budgets[plan.budgets.length - 1],
        points: lrTrace(plan, recipeBaseLr(recipe)),
      },
      ...(multiRun.includes(name)
        ? plan.budgets.map((budget) => ({
            recipe: name,
            run: 'multi' as const,
            budget,
            points: lrTrace(plan, recipeBaseLr(recipe), budget),
          }))
        : []),
    ]),
    points: [],
    summary: summarizeCurves([]),
    complete: false,
    machine: machine(),
  };
  const save = () => {
    if (!opts.out) return;
    writeJsonAtomic(join(opts.out, 'curve.json'), result);
    writeFileAtomic(join(opts.out, 'points.csv'), pointsCsv(result.points));
  };
  const runs = seeds.flatMap((seed) =>
    recipes.flatMap(({ name, recipe }) => [
      { name, recipe: { ...recipe, seed }, run: 'single' as const },
      ...(multiRun.includes(name)
        ? [{ name, recipe: { ...recipe, seed }, run: 'multi' as const }]
        : []),
    ]),
  );
  const curveCtx: CurveContext = {
    ...ctx,
    onPoint: async (point) => {
      result.points.push(point);
      result.summary = summarizeCurves(result.points);
      save();
      await ctx.onPoint?.(point, result);
    },
  };
  if (opts.warmUp ?? true) for (const { recipe } of recipes) await warmUp(recipe, plan, ctx);
  for (const [index, { name, recipe, run }] of runs.entries()) {
    ctx.onRunStart?.({ recipe: name, seed: recipe.seed, run, index, of: runs.length });
    if (run === 'single') await runSingleCurve(name, recipe, plan, curveCtx);
    else await runMultiCurve(name, recipe, plan, curveCtx);
  }
  result.complete = true;
  save();
  return result;
}

const CSV_COLUMNS = [
  'recipe',
  'seed',
  'run',
  'cycle',
  'steps',
  'samples',
  'epochs',
  'trainSeconds',
  'evalSeconds',
  'accuracy',
  'loss',
] as const satisfies readonly (keyof CurvePoint)[];

/** The points as CSV, one row each, in the order they were recorded. */
export function pointsCsv(points: readonly CurvePoint[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const p of points) lines.push(CSV_COLUMNS.map((c) => csvField(p[c])).join(','));
  return lines.join('\n') + '\n';
}
