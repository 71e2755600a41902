/**
 * `anneal train`: trains a model on a dataset with the Trainer and writes a run directory
 * (config.json, log.jsonl, metrics.csv, checkpoints/, summary.json). The run's settings are a
 * recipe (src/train/recipe.ts): a `--recipe` file, flags, or both (flags win); config.json keeps
 * the full recipe, and `--resume <run-dir>` continues a run from its latest checkpoint with it.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { EXIT_CODES, RunFailure, UsageError } from '../errors.js';
import { isDivergence } from '../methods/nan-guard/index.js';
import { machine } from '../machine.js';
import { CsvLogger } from '../logs/csv.js';
import { JsonlLogger } from '../logs/jsonl.js';
import type { Callback } from '../train/method.js';
import {
  getField,
  loadRecipeInputs,
  parseRecipe,
  recipeTrainerOptions,
  setField,
  type Recipe,
} from '../runs/recipe.js';
import { openRunDir, readRunRecipe, runDirPaths, writeJsonAtomic } from '../runs/run-dir.js';
import type { TrainState } from '../train/state.js';
import { Trainer } from '../train/trainer.js';
import {
  addRecipeOptions,
  DATA_FLAGS,
  flagFields,
  flagForPath,
  recipeFromOptions,
  type RecipeFlagName,
  type RecipeFlagValues,
} from './recipe-flags.js';
import { NATIVE_BACKENDS } from '../backend/index.js';
import { describeEngine } from '../engine/index.js';
import { fallbackTally, nativeTally, resetKernelTally } from '../backend/index.js';
import { checkOutDir } from '../runs/outputs.js';
import { checkPlan, describePlan, FORCE_HELP, recipeDataBytes, trainingBytes } from './plan.js';
import { ProgressCallback } from './progress.js';

export interface TrainCommandOptions extends RecipeFlagValues {
  recipe?: string;
  out: string;
  overwrite: boolean;
  progress: boolean;
  resume?: string;
  force: boolean;
  profile: boolean;
}

const TRAIN_FLAGS: readonly RecipeFlagName[] = [
  ...DATA_FLAGS,
  'model',
  'epochs',
  'duration',
  'batchSize',
  'optimizer',
  'lr',
  'weightDecay',
  'schedule',
  'methods',
  'seed',
  'backend',
  'threads',
  'kernels',
  'limit',
  'testLimit',
  'labelNoise',
  'evalInterval',
  'checkpointInterval',
  'keepCheckpoints',
  'logEvery',
  'nanGuard',
  'nanGuardReadEvery',
];

/** Recipe fields a resumed run may change: how it runs, and how long. */
const DEFAULT_OUT = 'runs/train';
const RESUME_OVERRIDES: readonly string[] = ['duration', 'backend', 'threads', 'kernels'];

/** Adds `anneal train` with its options to the program. */
export function addTrainCommand(program: Command): Command {
  const command = program
    .command('train')
    .description(
      'train a model on a dataset and write a run directory (config.json, log.jsonl, metrics.csv, checkpoints/, summary.json)',
    );
  return addRecipeOptions(command, TRAIN_FLAGS)
    .option('--out <dir>', 'run directory to write', DEFAULT_OUT)
    .option('--overwrite', 'replace an existing run directory', false)
    .option(
      '--resume <run-dir>',
      "continue a run from its latest checkpoint, with the run's recipe",
    )
    .option('--force', FORCE_HELP, false)
    .option(
      '--profile',
      "print where the training time went, kernel by kernel (the anneal-cpu backend's tally)",
      false,
    )
    .option('--no-progress', 'no progress bar')
    .action(trainCommand);
}

export async function trainCommand(opts: TrainCommandOptions): Promise<void> {
  const { recipe, runPath } = opts.resume
    ? resumedRecipe(opts)
    : { recipe: recipeFromOptions(opts), runPath: opts.out };

  // Check everything a user can get wrong before touching the run directory.
  if (!opts.resume) checkOutDir(runPath);
  checkPlan({ bytes: recipeDataBytes(recipe) }, opts.force);
  const { engine, train, test, model } = await loadRecipeInputs(recipe);
  const paths = runDirPaths(runPath);
  const jsonl = new JsonlLogger(paths.logPath, { everySteps: recipe.logEvery });
  const callbacks: Callback[] = [
    new ProgressCallback(opts.progress),
    jsonl,
    new CsvLogger(paths.metricsPath),
    { onEvalEnd: printEvaluation },
  ];
  const trainer = new Trainer({
    ...recipeTrainerOptions(recipe, { train, test, model }),
    callbacks,
    checkpoint: {
      dir: paths.checkpointDir,
      interval: recipe.checkpointInterval,
      keep: recipe.keepCheckpoints,
    },
  });
  try {
    const { timeline } = trainer.state;
    const plan = {
      steps: timeline.totalSteps!,
      samples: timeline.samplesAt(timeline.totalSteps!),
      bytes: recipeDataBytes(recipe) + trainingBytes(model, recipe.batchSize),
    };
    checkPlan(plan, opts.force);
    console.log(`anneal: plan: ${describePlan(plan)}`);
    const params = trainer.state.pv.length;
    const config = {
      recipe,
      engine: {
        backend: engine.backend,
        threads: engine.threads,
        fastGradients: engine.fastGradients,
        kernels: trainer.ops.name,
      },
      params,
      trainSamples: train.length,
      testSamples: test.length,
    };
    if (opts.resume) {
      // Refuses a checkpoint of another model or run before anything is written.
      await trainer.resume(runPath);
      // Training on from non-finite weights would only report the stale result of before.
      if (trainer.ops.countNonFinite(trainer.state.pv.params) > 0) {
        throw new RunFailure(
          'ANNEAL_DIVERGED',
          `the checkpoint of ${runPath} at step ${trainer.state.timestamp.step} has non-finite weights ` +
            '(the run diverged); start it again with --overwrite, at a lower learning rate',
          EXIT_CODES.diverged,
        );
      }
      console.log(`anneal: resuming ${runPath} at step ${trainer.state.timestamp.step}`);
    } else {
      openRunDir(runPath, { command: 'train', overwrite: opts.overwrite });
    }
    // A resume may lengthen the run (--epochs): config.json records the run as it now is, so
    // what reads it later (prune, soup, flatness) sees the new length.
    writeJsonAtomic(paths.configPath, config);
    jsonl.log.write({ event: 'run', ...config, resumed: Boolean(opts.resume) });
    console.log(
      `anneal: training ${recipe.model.path ?? recipe.model.name} (${params.toLocaleString('en')} parameters) on ${recipe.data.name} ` +
        `(${train.length} train / ${test.length} test) with ${trainer.state.optimizer.name}, tfjs backend ` +
        `${describeEngine(engine)}, ${trainer.ops.name} kernels`,
    );

    resetKernelTally();
    const result = await trainer.fit();
    if (opts.profile) console.log(kernelProfile(engine.backend, result.timestamp.step));
    const ts = result.timestamp;
    const summary = {
      model: recipe.model.name,
      data: recipe.data.name,
      optimizer: trainer.state.optimizer.name,
      backend: engine.backend,
      threads: engine.threads,
      kernels: trainer.ops.name,
      params,
      steps: ts.step,
      samples: ts.samples,
      trainSeconds: ts.trainSeconds,
      evalSeconds: ts.evalSeconds,
      samplesPerSecond: ts.samples / ts.trainSeconds,
      metrics: result.metrics,
      test: result.eval,
      stopReason: result.stopReason,
      checkpoint: result.checkpoint,
      machine: machine(),
    };
    writeJsonAtomic(paths.summaryPath, summary);
    console.log(`run directory: ${runPath}`);
    if (isDivergence(result.stopReason)) {
      throw new RunFailure(
        'ANNEAL_DIVERGED',
        `diverged: ${result.stopReason}; ${runPath} keeps the log and the checkpoints before it`,
        EXIT_CODES.diverged,
      );
    }
    if (result.stopReason) console.error(`anneal: stopped early: ${result.stopReason}`);
    if (result.eval) console.log(`test accuracy: ${result.eval.accuracy.toFixed(4)}`);
  } finally {
    trainer.dispose();
  }
}

/** The run's own recipe, with the few fields a resume may change taken from the flags. */
function resumedRecipe(opts: TrainCommandOptions): { recipe: Recipe; runPath: string } {
  const runPath = opts.resume!;
  if (opts.recipe !== undefined) {
    throw new UsageError(
      'ANNEAL_RESUME_SETTING',
      `--recipe ${opts.recipe} cannot be combined with --resume: a resumed run keeps the recipe in ${runPath}/config.json`,
    );
  }
  if (opts.overwrite) {
    throw new UsageError(
      'ANNEAL_RESUME_SETTING',
      `--overwrite cannot be combined with --resume ${runPath}: a resume continues the run, --overwrite would start it again; drop one`,
    );
  }
  if (opts.out !== DEFAULT_OUT && resolve(opts.out) !== resolve(runPath)) {
    throw new UsageError(
      'ANNEAL_RESUME_SETTING',
      `--out ${opts.out} cannot be combined with --resume ${runPath}: a resumed run writes into its own directory; drop --out`,
    );
  }
  openRunDir(runPath, { command: 'train', resume: true });
  let recipe: unknown = readRunRecipe(runPath);
  for (const [path, value] of flagFields(opts)) {
    const field = path.join('.');
    if (RESUME_OVERRIDES.includes(field)) {
      recipe = setField(recipe, path, value);
    } else if (JSON.stringify(value) !== JSON.stringify(getField(recipe, path))) {
      const was = getField(recipe, path);
      throw new UsageError(
        'ANNEAL_RESUME_SETTING',
        `${flagForPath(field) ?? field} ${JSON.stringify(value)} differs from the run's ${was === undefined ? 'default' : JSON.stringify(was)}: ` +
          `a resumed run keeps its recipe (it may change only ${RESUME_OVERRIDES.join(', ')}, e.g. --epochs, --backend, --kernels); ` +
          'drop the flag, or start a new run with --out',
      );
    }
  }
  return { recipe: parseRecipe(recipe, { source: 'options' }), runPath };
}

function printEvaluation(state: TrainState): void {
  const { timestamp: ts, metrics: m } = state;
  const epochs = Math.ceil(state.timeline.epochsAt(state.maxSteps));
  const where =
    ts.batchInEpoch === 0
      ? `epoch ${ts.epoch}/${epochs}`
      : `epoch ${ts.epoch + 1}/${epochs} step ${ts.step}`;
  const f = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(4));
  console.log(
    `${where}: train loss ${f(m['train/loss'])} accuracy ${f(m['train/accuracy'])} | ` +
      `test loss ${f(m['eval/loss'])} accuracy ${f(m['eval/accuracy'])} | ` +
      `${ts.trainSeconds.toFixed(1)} s train (${Math.round(ts.samples / ts.trainSeconds)} samples/s), ` +
      `${ts.evalSeconds.toFixed(1)} s eval`,
  );
}

/**
 * The kernels of a run by time, native and fallback (anneal-cpu tallies them; other backends
 * say so): the top of each list, in ms a step.
 */
function kernelProfile(backend: string, steps: number): string {
  if (!NATIVE_BACKENDS.has(backend)) {
    return `profile: only anneal's own backends tally their kernels (this run used ${backend})`;
  }
  const rows = (title: string, tally: [string, { calls: number; ms: number }][]) => {
    const total = tally.reduce((a, [, c]) => a + c.ms, 0);
    const top = tally
      .slice(0, 10)
      .map(
        ([name, c]) =>
          `  ${name.padEnd(28)} ${(c.ms / steps).toFixed(2).padStart(8)} ms ${(c.calls / steps).toFixed(1).padStart(7)} calls`,
      );
    return [`${title}: ${(total / steps).toFixed(2)} ms a step`, ...top];
  };
  return [
    ...rows('profile, native kernels', nativeTally()),
    ...rows('profile, tfjs-backend-cpu fallbacks', fallbackTally()),
  ].join('\n');
}
