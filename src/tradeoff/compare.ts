/**
 * A recipe comparison: the single-run curve of every recipe for every seed (and, if asked, the
 * multi-run baseline), written to an output directory as it goes: curve.json (settings, every
 * point, the summary) and points.csv, both rewritten atomically after each point, so a killed
 * comparison keeps every point it finished.
 *
 * The runs (a recipe, a seed, single or multi) go one after another in this process, or, given an
 * executor (src/runs/executor.ts), all at once to it as self-contained requests (run.ts): worker
 * threads or a job queue train them, and the points are recorded as each run finishes, in the
 * same order as one after another, so curve.json has the same layout either way.
 */
import { join } from 'node:path';
import type { Dataset } from '../data/index.js';
import { UsageError } from '../errors.js';
import { isTaskInterrupted, type Executor, type TaskProgress } from '../runs/executor.js';
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
import {
  curveRunId,
  datasetFingerprint,
  type CurveRunRequest,
  type CurveRunResult,
} from './run.js';
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

/** Which run of a comparison: its recipe, seed and kind, and its place among all runs. */
export interface CompareRun {
  recipe: string;
  seed: number;
  run: CurvePoint['run'];
  index: number;
  of: number;
}

export interface CompareContext extends Omit<
  CurveContext,
  'train' | 'test' | 'onPoint' | 'signal'
> {
  /** Stops the comparison's runs at their next step (an executor's runs too). */
  signal?: AbortSignal;
  /**
   * The data. With an executor, each run loads its own from `base` (its data section and seed),
   * so these must be what loadRecipeInputs(base) gives: their sizes and fingerprints are checked.
   */
  train: Dataset;
  test: Dataset;
  /**
   * Trains the runs elsewhere (worker threads, a job queue): every run is submitted at once,
   * with a stable id `curve/<recipe>/seed-<s>/<single|multi>`. Without one, the runs go one after
   * another in this process. With one, `callbacks`, `evaluate` and FlatOps `kernels` cannot
   * cross to the runs and are refused; follow a run with `onRunProgress` instead.
   */
  executor?: Executor<CurveRunRequest, CurveRunResult>;
  /** With an executor: each run writes log.jsonl and points.json under `<runsDir>/<id>`. */
  runsDir?: string;
  /** Called as each run starts (with an executor: as it first reports progress). */
  onRunStart?: (run: CompareRun) => void;
  /** With an executor: a run's steps done of its steps, as it reports them. */
  onRunProgress?: (run: CompareRun, progress: TaskProgress) => void;
  /** Called as each point is recorded (with an executor: each point of a run as it finishes). */
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
  if (ctx.executor) checkExecutorContext(ctx);
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
  if (ctx.executor) {
    const fingerprint = `${datasetFingerprint(ctx.train)}/${datasetFingerprint(ctx.test)}`;
    const requests = runs.map(({ name, recipe, run }): CurveRunRequest => ({
      name,
      recipe,
      run,
      settings: {
        cycles: opts.cycles,
        firstCycle: opts.firstCycle,
        mult: opts.mult,
        shape: opts.shape,
        cycleWarmup: opts.cycleWarmup,
      },
      budgets: plan.budgets,
      data: {
        seed: opts.base.seed,
        trainSamples: ctx.train.length,
        testSamples: ctx.test.length,
        fingerprint,
      },
      kernels: typeof ctx.kernels === 'string' ? ctx.kernels : undefined,
      warmUp: opts.warmUp ?? true,
    }));
    const finished: (CurvePoint[] | undefined)[] = runs.map(() => undefined);
    await runOnExecutor(ctx.executor, requests, ctx, async (index, points) => {
      finished[index] = points;
      // The order of a run one after another, whatever order the runs finish in.
      result.points = finished.flatMap((p) => p ?? []);
      result.summary = summarizeCurves(result.points);
      save();
      for (const point of points) await ctx.onPoint?.(point, result);
    });
    result.complete = true;
    save();
    return result;
  }
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

/** What cannot cross to a run trained elsewhere: refused, so no run silently goes without it. */
function checkExecutorContext(ctx: CompareContext): void {
  const refused = [
    ctx.callbacks?.length ? 'callbacks (follow the runs with onRunProgress)' : undefined,
    ctx.evaluate ? 'evaluate' : undefined,
    ctx.kernels !== undefined && typeof ctx.kernels !== 'string'
      ? 'a FlatOps object as kernels (give a kernel choice such as "js")'
      : undefined,
  ].filter((x) => x !== undefined);
  if (refused.length > 0) {
    throw new UsageError(
      'ANNEAL_BAD_OPTION',
      `a comparison on an executor cannot pass ${refused.join(', ')} to its runs: each run is a ` +
        'self-contained request; drop them or run without the executor',
    );
  }
}

/**
 * Submits every run to `executor` at once and records each as it finishes (one at a time). A run
 * that fails does not stop the others (their work is kept in curve.json); when all are over, the
 * first failure is thrown, an error before an interruption.
 */
async function runOnExecutor(
  executor: Executor<CurveRunRequest, CurveRunResult>,
  requests: readonly CurveRunRequest[],
  ctx: CompareContext,
  record: (index: number, points: CurvePoint[]) => Promise<void>,
): Promise<void> {
  let recording = Promise.resolve();
  let failure: { error: unknown } | undefined;
  await Promise.all(
    requests.map(async (request, index) => {
      const id = curveRunId(request);
      const run: CompareRun = {
        recipe: request.name,
        seed: request.recipe.seed,
        run: request.run,
        index,
        of: requests.length,
      };
      let started = false;
      try {
        const { points } = await executor.run(
          { ...request, dir: ctx.runsDir === undefined ? undefined : join(ctx.runsDir, id) },
          {
            id,
            signal: ctx.signal,
            onProgress: (progress) => {
              if (!started) ctx.onRunStart?.(run);
              started = true;
              ctx.onRunProgress?.(run, progress);
            },
          },
        );
        const recorded = recording.then(() => record(index, points));
        recording = recorded.catch(() => undefined);
        await recorded;
      } catch (error) {
        if (
          failure === undefined ||
          (isTaskInterrupted(failure.error) && !isTaskInterrupted(error))
        )
          failure = { error };
      }
    }),
  );
  if (failure) throw failure.error;
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
