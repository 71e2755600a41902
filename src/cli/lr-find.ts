/**
 * `anneal lr-find`: the LR range test (src/train/lr-finder.ts) on a model and data set given by
 * flags or a recipe. Writes <out>/lr-find.json (settings, the curve and the suggestions) and
 * prints the suggestions and a text chart of the smoothed loss against the learning rate.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { formatChart, sampleSteps } from '../schedules/index.js';
import { findLr, type LrFinderResult, type LrRangeMode } from '../train/lr-finder.js';
import { loadRecipeInputs } from '../runs/recipe.js';
import { writeJsonAtomic } from '../runs/run-dir.js';
import { checkPlan, FORCE_HELP, recipeDataBytes } from './plan.js';
import { checkOutDir } from '../runs/outputs.js';
import { oneOf, positiveInt, positiveNumber } from './parse.js';
import {
  addRecipeOptions,
  DATA_FLAGS,
  recipeFromOptions,
  type RecipeFlagValues,
} from './recipe-flags.js';

const CHART_COLUMNS = 72;

interface LrFindOptions extends RecipeFlagValues {
  recipe?: string;
  minLr: number;
  maxLr: number;
  steps: number;
  mode: LrRangeMode;
  smoothing: number;
  divergeThreshold: number;
  out: string;
  force: boolean;
}

/** Adds `anneal lr-find` to the program. */
export function addLrFindCommand(program: Command): Command {
  const command = program
    .command('lr-find')
    .description(
      "LR range test (Smith's CLR bounds, fastai's lr_find): train briefly with a growing learning " +
        'rate, then suggest learning rates; the model is not left trained. Writes <out>/lr-find.json',
    );
  return addRecipeOptions(command, [
    ...DATA_FLAGS,
    'limit',
    'model',
    'optimizer',
    'weightDecay',
    'batchSize',
    'seed',
    'backend',
    'threads',
    'kernels',
  ])
    .option('--min-lr <x>', 'learning rate of the first step', positiveNumber, 1e-7)
    .option('--max-lr <x>', 'learning rate of the last step', positiveNumber, 10)
    .option(
      '--steps <n>',
      'steps of the test (at most: it stops when the loss diverges)',
      positiveInt,
      100,
    )
    .addOption(
      new Option('--mode <mode>', 'how the learning rate grows')
        .argParser(oneOf(['exponential', 'linear'] as const))
        .default('exponential'),
    )
    .option('--smoothing <beta>', 'loss smoothing factor', unitInterval, 0.98)
    .option(
      '--diverge-threshold <x>',
      'stop when the smoothed loss exceeds x times its best',
      positiveNumber,
      4,
    )
    .option(
      '--out <dir>',
      'directory to write lr-find.json to (an existing one is replaced)',
      'runs/lr-find',
    )
    .option('--force', FORCE_HELP, false)
    .action(lrFindCommand);
}

function unitInterval(value: string): number {
  const n = Number(value);
  if (!(n >= 0 && n < 1)) throw new InvalidArgumentError('expected a number in [0, 1), e.g. 0.98.');
  return n;
}

async function lrFindCommand(opts: LrFindOptions): Promise<void> {
  checkOutDir(opts.out);
  const recipe = recipeFromOptions(opts);
  checkPlan({ steps: opts.steps, bytes: recipeDataBytes(recipe) }, opts.force);
  const { engine, train, model } = await loadRecipeInputs(recipe);
  // The range test sets the learning rate itself.
  const { lr: _ignored, ...optimizer } = recipe.optimizer;
  const result = await findLr({
    model,
    trainData: train,
    minLr: opts.minLr,
    maxLr: opts.maxLr,
    steps: opts.steps,
    mode: opts.mode,
    batchSize: recipe.batchSize,
    seed: recipe.seed,
    kernels: recipe.kernels,
    optimizer,
    smoothing: opts.smoothing,
    divergeThreshold: opts.divergeThreshold,
  });
  model.dispose();
  mkdirSync(opts.out, { recursive: true });
  const path = join(opts.out, 'lr-find.json');
  writeJsonAtomic(path, {
    data: recipe.data,
    model: recipe.model,
    backend: engine.backend,
    threads: engine.threads,
    trainSamples: train.length,
    ...result,
  });
  console.log(
    `anneal: LR range test of ${recipe.model.name} on ${recipe.data.name} (${train.length} train) with ` +
      `${optimizer.name}, batch ${recipe.batchSize}, ${opts.steps} steps from ${opts.minLr} to ${opts.maxLr} (${opts.mode})`,
  );
  console.log(formatLrFind(result));
  console.log(`wrote ${path}`);
}

/** 0.0022, 0.33, 8.7e-5: two significant digits, exponent form outside [1e-3, 1e4). */
function lrText(lr: number | null): string {
  if (lr === null) return '-';
  return lr >= 1e-3 && lr < 1e4 ? lr.toPrecision(2) : lr.toExponential(1);
}

/** The outcome, a chart of the smoothed loss against the learning rate, and the suggestions. */
export function formatLrFind(result: LrFinderResult): string {
  const { curve, suggestions: s, stopReason } = result;
  const last = curve[curve.length - 1];
  const stopped =
    stopReason === 'completed'
      ? `ran all ${curve.length} steps`
      : `stopped at step ${last.step} (lr ${lrText(last.lr)}): ${stopReason}`;
  const picked = sampleSteps(curve.length, CHART_COLUMNS).map((i) => curve[i]);
  const chart = formatChart(
    picked.map((p) => p.smoothedLoss),
    { xStart: lrText(curve[0].lr), xEnd: lrText(last.lr) },
  );
  const scale = result.config.mode === 'exponential' ? 'log' : 'linear';
  return [
    stopped,
    `smoothed loss against learning rate (${scale} scale):`,
    ...chart,
    'suggested learning rates:',
    `  steepest fall of the loss (fastai 'steep')         ${lrText(s.steepest)}`,
    `  minimum of the loss / 10 (fastai 'minimum')        ${lrText(s.minimumOver10)}`,
    `  CLR bounds, loss starts / stops falling (Smith)    ${s.bounds ? `${lrText(s.bounds.min)} .. ${lrText(s.bounds.max)}` : '-'}`,
  ].join('\n');
}
