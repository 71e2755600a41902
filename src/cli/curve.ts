/**
 * `anneal curve`: the accuracy-vs-training-time tradeoff curve of each recipe from one cyclic
 * run (src/tradeoff), optionally checked against separate runs per budget, over several seeds;
 * writes curve.json, points.csv and report.html to the output directory and prints the tables.
 * The runs go one after another in this process, with `--workers N` to N worker threads, or with
 * `--redis URL` to a job queue for `anneal worker`s.
 */
import { formatPercent, formatPoints, formatSeconds } from '../report/format.js';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { join } from 'node:path';
import { describeEngine, type EngineState } from '../engine/index.js';
import { machine } from '../machine.js';
import type { Callback } from '../train/method.js';
import { WorkerPool, type Executor } from '../runs/executor.js';
import { loadRecipeInputs, type Recipe, type RecipeInputs } from '../runs/recipe.js';
import { UsageError } from '../errors.js';
import { refuseUserModel } from '../runs/user-model.js';
import { openRunDir, writeJsonAtomic } from '../runs/run-dir.js';
import {
  checkMultiRun,
  compareRecipes,
  comparisonSteps,
  curveWorkerEntry,
  parseRecipeList,
  planCurve,
  type CompareContext,
  type CurvePlan,
  type CurvePoint,
  type CurveSettings,
  type CurveResult,
  type CurveRunRequest,
  type CurveRunResult,
} from '../tradeoff/index.js';
import { workerThreads } from '../search/index.js';
import { writeCurveReport } from '../report/curve-report.js';
import { checkOutDir } from '../runs/outputs.js';
import { checkPlan, FORCE_HELP, recipeDataBytes, trainingBytes } from './plan.js';
import { positiveInt, positiveNumber } from './parse.js';
import { createProgress } from './progress.js';
import { addQueueOptions, openQueueExecutor, type QueueFlagValues } from './queue-flags.js';
import {
  addRecipeOptions,
  DATA_FLAGS,
  recipeFromOptions,
  type RecipeFlagValues,
} from './recipe-flags.js';

export interface CurveCommandOptions extends RecipeFlagValues, QueueFlagValues {
  recipe?: string;
  recipes: string;
  cycles: number;
  firstCycle: string;
  mult: number;
  shape: 'linear' | 'cosine';
  cycleWarmup?: string;
  seeds: number[];
  multiRun?: string | true;
  /** Runs trained at once, each in its own worker thread (1: one after another, in-process). */
  workers: number;
  out: string;
  overwrite: boolean;
  progress: boolean;
  force: boolean;
}

/** `--seeds 3` is three seeds from --seed on; `--seeds 0,4,7` lists them. */
function parseSeeds(text: string): number[] | number {
  if (/^\d+$/.test(text.trim())) return positiveInt(text);
  const seeds = text.split(',').map((s) => Number(s.trim()));
  if (seeds.some((s) => !Number.isInteger(s) || s < 0) || new Set(seeds).size !== seeds.length) {
    throw new InvalidArgumentError(
      `expected a count (3) or distinct whole numbers >= 0 (0,4,7), received '${text}'`,
    );
  }
  return seeds;
}

export function addCurveCommand(program: Command): Command {
  const command = program
    .command('curve')
    .description(
      'accuracy vs. training time of each recipe from one cyclic-schedule run (curve.json, points.csv, report.html)',
    );
  addQueueOptions(command);
  return addRecipeOptions(command, [
    ...DATA_FLAGS,
    'limit',
    'testLimit',
    'model',
    'batchSize',
    'optimizer',
    'lr',
    'weightDecay',
    'seed',
    'backend',
    'threads',
    'kernels',
  ])
    .option(
      '--recipes <names>',
      "recipes to compare: 'baseline', methods and an optimizer joined by '+' (label-smoothing+mixup, momentum)",
      'baseline',
    )
    .option('--cycles <n>', 'cycles of the single run (points on each curve)', positiveInt, 4)
    .option('--first-cycle <time>', "length of the first cycle: '0.25ep', '100ba'", '0.25ep')
    .option('--mult <m>', 'each cycle is m times longer than the one before', positiveNumber, 2)
    .addOption(
      new Option('--shape <shape>', 'decay within each cycle')
        .choices(['linear', 'cosine'])
        .default('linear'),
    )
    .option('--cycle-warmup <time>', "linear warmup at the start of every cycle, e.g. '10ba'")
    .option(
      '--seeds <n|list>',
      'seeds per recipe: a count from --seed on, or a list',
      parseSeeds,
      1,
    )
    .option(
      '--multi-run [recipes]',
      'also train one separate run per budget (default: the first recipe) to check the curve',
    )
    .option(
      '--workers <n>',
      'runs trained at once, each in its own worker thread (1: one after another)',
      positiveInt,
      1,
    )
    .option('--out <dir>', 'output directory', 'runs/curve')
    .option('--overwrite', 'replace an existing output directory', false)
    .option('--force', FORCE_HELP, false)
    .option('--no-progress', 'no progress bar')
    .action((opts: Omit<CurveCommandOptions, 'seeds'> & { seeds: number[] | number }) =>
      curveCommand({ ...opts, seeds: seedList(opts.seeds, opts.seed) }),
    );
}

function seedList(parsed: number[] | number, first: unknown): number[] {
  const start = typeof first === 'number' ? first : 0;
  return typeof parsed === 'number' ? Array.from({ length: parsed }, (_, i) => start + i) : parsed;
}

export async function curveCommand(opts: CurveCommandOptions): Promise<void> {
  const recipes = parseRecipeList(opts.recipes);
  const multiRun =
    opts.multiRun === undefined
      ? []
      : opts.multiRun === true
        ? [recipes[0]]
        : parseRecipeList(opts.multiRun);
  // Checked before anything is loaded or written.
  checkMultiRun(recipes, multiRun);
  const flagged = recipeFromOptions(opts);
  refuseUserModel(flagged.model.path, 'curve');
  if (opts.redis !== undefined && opts.workers > 1) {
    throw new UsageError(
      'ANNEAL_BAD_OPTION',
      `--workers ${opts.workers} goes without --redis: a queue's runs are trained by the ` +
        '`anneal worker`s that serve it (their --concurrency); drop --workers',
    );
  }
  // No more worker threads than runs.
  const workers = Math.min(opts.workers, opts.seeds.length * (recipes.length + multiRun.length));
  // Each worker thread runs its own kernels: anneal-cpu's threads are shared out among them.
  const base =
    workers > 1 ? { ...flagged, threads: workerThreads(flagged.threads, workers) } : flagged;
  const settings = {
    cycles: opts.cycles,
    firstCycle: opts.firstCycle,
    mult: opts.mult,
    shape: opts.shape,
    cycleWarmup: opts.cycleWarmup,
  };
  // Check everything a user can get wrong before touching the output directory.
  checkOutDir(opts.out);
  checkPlan({ bytes: recipeDataBytes(base) }, opts.force);
  const { engine, train, test, model } = await loadRecipeInputs(base);
  // Every worker thread loads the data again and trains a model of its own.
  const perRun = recipeDataBytes(base) + trainingBytes(model, base.batchSize);
  const bytes = workers > 1 ? recipeDataBytes(base) + workers * perRun : perRun;
  model.dispose();
  const plan = planCurve(base, train, settings);
  const total = comparisonSteps(plan, { base, recipes, seeds: opts.seeds, multiRun });
  checkPlan({ steps: total, cycles: plan.budgets.length, bytes }, opts.force);
  // Before the output directory: a Redis that cannot be reached is one line, nothing written.
  const executor = await curveExecutor(opts, workers);
  try {
    openRunDir(opts.out, { command: 'curve', overwrite: opts.overwrite, resumable: false });
    await curveRuns(opts, { base, recipes, multiRun, settings, plan, total, workers }, executor, {
      engine,
      train,
      test,
    });
  } finally {
    await executor?.executor.close();
  }
}

interface CurvePlanned {
  base: Recipe;
  recipes: string[];
  multiRun: string[];
  settings: CurveSettings;
  plan: CurvePlan;
  total: number;
  workers: number;
}

/** The comparison itself, once everything is checked and the output directory is open. */
async function curveRuns(
  opts: CurveCommandOptions,
  { base, recipes, multiRun, settings, plan, total, workers }: CurvePlanned,
  executor: CurveExecutor | null,
  { engine, train, test }: Pick<RecipeInputs, 'engine' | 'train' | 'test'>,
): Promise<void> {
  // The base recipe's own length plays no part: each run's is set by the cycles.
  const longest = plan.budgets[plan.budgets.length - 1];
  const compare = {
    ...settings,
    base: { ...base, duration: `${longest}ba` },
    recipes,
    seeds: opts.seeds,
    multiRun,
    out: opts.out,
  };
  writeJsonAtomic(join(opts.out, 'config.json'), {
    ...compare,
    engine: {
      backend: engine.backend,
      threads: engine.threads,
      fastGradients: engine.fastGradients,
    },
    machine: machine(),
  });

  console.log(
    `anneal: ${recipes.length} recipe(s) x ${opts.seeds.length} seed(s), ${plan.budgets.length} cycles ` +
      `(budgets ${plan.budgets.join(', ')} steps of ${base.batchSize})` +
      (multiRun.length ? `, separate runs for ${multiRun.join(', ')}` : '') +
      `: ${total} steps of ${base.model.name} on ${base.data.name} (${train.length} train / ${test.length} test), ` +
      `tfjs backend ${describeEngine(engine)}` +
      (opts.redis !== undefined
        ? '; runs queued on Redis for `anneal worker`s'
        : workers > 1
          ? `; ${workers} runs at once in worker threads (${base.threads ?? 'all'} thread(s) each)`
          : ''),
  );
  const bar = createProgress(
    total,
    'curve',
    opts.progress,
    'curve [{bar}] {percentage}% | {value}/{total} steps | {run} | eta {eta_formatted}',
  );
  let offset = 0;
  let label = '';
  const onPoint = (point: CurvePoint) => {
    if (!process.stderr.isTTY || !opts.progress) console.log(describePoint(point));
  };
  let ctx: CompareContext;
  if (executor) {
    // Runs at once: the bar counts every run's steps done so far.
    const runs = opts.seeds.length * (recipes.length + multiRun.length);
    const done = new Map<number, { step: number; steps: number }>();
    ctx = {
      train,
      test,
      executor: executor.executor,
      runsDir: executor.runsDir,
      onRunProgress: ({ index }, progress) => {
        done.set(index, progress);
        const all = [...done.values()];
        const finished = all.filter((p) => p.step >= p.steps).length;
        bar.update(
          all.reduce((a, p) => a + p.step, 0),
          { run: `${finished} of ${runs} runs done, ${all.length - finished} running` },
        );
      },
      onPoint,
    };
  } else {
    const progress: Callback = {
      onBatchEnd: (state) => bar.update(offset + state.timestamp.step, { run: label }),
    };
    ctx = {
      train,
      test,
      callbacks: [progress],
      onRunStart: ({ recipe, seed, run }) => {
        label = `${recipe} seed ${seed}${run === 'multi' ? ' (separate runs)' : ''}`;
      },
      onPoint: (point) => {
        offset += point.run === 'multi' ? point.steps : 0;
        if (point.run === 'single' && point.cycle === plan.budgets.length) offset += point.steps;
        onPoint(point);
      },
    };
  }
  let result: CurveResult;
  try {
    result = await compareRecipes(compare, ctx);
  } finally {
    bar.stop();
  }
  printSummary(result);
  writeJsonAtomic(join(opts.out, 'summary.json'), curveRunSummary(result, engine));
  const report = await writeCurveReport(result, opts.out, engine);
  console.log(`curve data: ${join(opts.out, 'curve.json')}, ${join(opts.out, 'points.csv')}`);
  console.log(`report: ${report}`);
}

interface CurveExecutor {
  executor: Executor<CurveRunRequest, CurveRunResult>;
  /** Where each run writes log.jsonl and points.json (queued runs: under the shared directory). */
  runsDir?: string;
}

/**
 * Where the runs are trained: null for one after another in this process, else a job queue
 * (--redis; its runs log under <out>/runs, which its workers reach through --shared-dir) or a
 * pool of `workers` threads.
 */
async function curveExecutor(
  opts: CurveCommandOptions,
  workers: number,
): Promise<CurveExecutor | null> {
  const queued = await openQueueExecutor<CurveRunRequest, CurveRunResult>(
    opts,
    'curve-run',
    opts.out,
  );
  if (queued) return { executor: queued, runsDir: join(opts.out, 'runs') };
  if (workers <= 1) return null;
  return { executor: new WorkerPool<CurveRunRequest, CurveRunResult>(workers, curveWorkerEntry()) };
}

/**
 * summary.json of a comparison, in the fields run reports read: all training it did, and the
 * first recipe's accuracy at the longest budget.
 */
function curveRunSummary(result: CurveResult, engine: Pick<EngineState, 'backend' | 'threads'>) {
  // Each run's last point holds that run's totals (a single run's time and steps accumulate).
  const runEnds = new Map<string, CurvePoint>();
  for (const p of result.points) {
    const key =
      p.run === 'single' ? `${p.recipe}|${p.seed}|single` : `${p.recipe}|${p.seed}|${p.cycle}`;
    const seen = runEnds.get(key);
    if (!seen || p.steps > seen.steps) runEnds.set(key, p);
  }
  const ends = [...runEnds.values()];
  const sum = (f: (p: CurvePoint) => number) => ends.reduce((a, p) => a + f(p), 0);
  const first = result.summary.rows.find(
    (r) =>
      r.recipe === result.settings.recipes[0] &&
      r.run === 'single' &&
      r.cycle === result.settings.cycles,
  );
  return {
    kind: 'curve',
    steps: sum((p) => p.steps),
    samples: sum((p) => p.samples),
    trainSeconds: sum((p) => p.trainSeconds),
    evalSeconds: result.points.reduce((a, p) => a + p.evalSeconds, 0),
    samplesPerSecond: sum((p) => p.samples) / sum((p) => p.trainSeconds),
    test: first ? { accuracy: first.accuracyMean, recipe: first.recipe } : undefined,
    backend: engine.backend,
    threads: engine.threads,
    kernels: result.base.kernels ?? 'auto',
    machine: result.machine,
    stopReason: null,
  };
}

function describePoint(p: CurvePoint): string {
  const kind = p.run === 'multi' ? 'separate run' : 'cycle';
  return (
    `  ${p.recipe} seed ${p.seed} ${kind} ${p.cycle}: ${p.epochs.toFixed(2)} ep, ` +
    `${formatSeconds(p.trainSeconds)} s, test accuracy ${formatPercent(p.accuracy)}`
  );
}

function printSummary(result: CurveResult): void {
  const { rows, singleVsMulti, cost, vsBaseline } = result.summary;
  const seeds = result.settings.seeds.length;
  const spread = (mean: number, sd: number) =>
    seeds > 1 ? `${formatPercent(mean)} ± ${formatPoints(sd, false)} points` : formatPercent(mean);
  console.log('\nrecipe                         cycle   epochs   train time (s)   accuracy');
  for (const r of rows.filter((row) => row.run === 'single')) {
    console.log(
      `${r.recipe.padEnd(30)} ${String(r.cycle).padStart(5)} ${r.epochs.toFixed(2).padStart(8)} ` +
        `${formatSeconds(r.trainSecondsMean).padStart(16)}   ${spread(r.accuracyMean, r.accuracySd)}` +
        (r.frontier ? '  (frontier)' : r.diverged ? '  (diverged)' : ''),
    );
  }
  const diverged = rows.filter((r) => r.diverged);
  if (diverged.length > 0) {
    console.error(
      `anneal: warning: ${diverged.length} budget${diverged.length > 1 ? 's' : ''} diverged (a non-finite test loss: ` +
        `${diverged.map((r) => `${r.recipe} cycle ${r.cycle}${r.run === 'multi' ? ' (separate run)' : ''}`).join(', ')}); ` +
        'they are kept off the frontier: lower the learning rate',
    );
  }
  if (singleVsMulti.length > 0) {
    console.log('\nsingle run vs. separate runs (accuracy)');
    for (const r of singleVsMulti) {
      console.log(
        `  ${r.recipe} budget ${r.cycle}: ${formatPercent(r.single)} vs ${formatPercent(r.multi)} ` +
          `(difference ${formatPoints(r.difference)} points` +
          (seeds > 1 ? `, ${r.withinTwoSd ? 'within' : 'outside'} 2 sd` : '') +
          ')',
      );
    }
    for (const c of cost) {
      console.log(
        `  ${c.recipe} cost: single run ${formatSeconds(c.singleSeconds)} s, separate runs ` +
          `${formatSeconds(c.multiSeconds)} s (${c.ratio.toFixed(2)}x; ${c.singleSteps} vs ${c.multiSteps} steps)`,
      );
    }
  }
  for (const v of vsBaseline) {
    console.log(
      `${v.recipe}: above the baseline at ${v.helpsAt} of ${v.of} budgets compared at equal time`,
    );
  }
}
