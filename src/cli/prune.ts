/**
 * `anneal prune`: prunes the model of a training run's checkpoint (one-shot or IMP), retraining
 * between cycles with a chosen schedule over a total budget, and writes <out>/pruned.ck (weights
 * and mask) and <out>/summary.json (every cycle's metrics and the per-layer sparsity). The model,
 * data, optimizer and original schedule are the run's own (its config.json).
 *
 *   anneal prune --checkpoint runs/cnn --criterion global-magnitude --target 0.9 --cycles 3 \
 *     --retrain slr --budget 2ep
 */
import { basename, join } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { ParamVector } from '../engine/param-vector.js';
import { createFlatOps } from '../kernels/index.js';
import type { OptimizerSpec } from '../optim/index.js';
import { PRUNING_CRITERIA, type PruningCriterion } from '../pruning/criteria.js';
import { savePrunedModel } from '../pruning/export.js';
import { prune, type CycleResult } from '../pruning/imp.js';
import { RETRAIN_SCHEDULES, type RetrainSchedule } from '../pruning/schedule.js';
import type { ScheduleSpec } from '../schedules/index.js';
import { resolveCheckpointPath } from '../train/checkpoint.js';
import type { Callback } from '../train/method.js';
import { isLayersModel } from '../train/model.js';
import { loadRecipeInputs, recipeTrainerOptions } from '../runs/recipe.js';
import { readRunRecipe, runDirOfCheckpoint } from '../runs/run-dir.js';
import { openRunDir, writeJsonAtomic } from '../runs/run-dir.js';
import { parseDuration } from '../time/index.js';
import { Trainer } from '../train/trainer.js';
import { checkPlan, FORCE_HELP, recipeDataBytes } from './plan.js';
import { oneOf, positiveInt } from './parse.js';
import { createProgress } from './progress.js';
import { recipeFlagOption } from './recipe-flags.js';
import { maxOf } from '../stats.js';

interface PruneCommandOptions {
  checkpoint: string;
  criterion: PruningCriterion;
  target: number;
  cycles: number;
  retrain: RetrainSchedule;
  budget: string;
  gradientBatches: number;
  includeFirst: boolean;
  includeLast: boolean;
  out?: string;
  overwrite: boolean;
  progress: boolean;
  force: boolean;
  threads?: number;
}

/** A sparsity in (0, 1): the fraction of the prunable weights pruned at the end. */
function fraction(value: string): number {
  const x = Number(value);
  if (value.trim() === '' || !Number.isFinite(x) || x <= 0 || x >= 1) {
    throw new InvalidArgumentError(
      'expected a fraction in (0, 1) of the prunable weights to prune, e.g. 0.9.',
    );
  }
  return x;
}

function duration(value: string): string {
  try {
    if (parseDuration(value).unit === 'dur') throw new Error('dur');
  } catch {
    throw new InvalidArgumentError("expected a duration such as '2ep', '500ba' or '12000sp'.");
  }
  return value;
}

/** Adds `anneal prune` to the program. */
export function addPruneCommand(program: Command): Command {
  return program
    .command('prune')
    .description(
      "prune a run's model (one-shot or iterative magnitude pruning) with retraining between " +
        'cycles; writes <out>/pruned.ck (weights and mask) and <out>/summary.json',
    )
    .requiredOption(
      '--checkpoint <path>',
      'run directory, checkpoint directory or .ck file of an `anneal train` run',
    )
    .addOption(
      new Option('--criterion <name>', 'which weights to prune')
        .argParser(oneOf(PRUNING_CRITERIA))
        .default('global-magnitude'),
    )
    .requiredOption('--target <fraction>', 'final sparsity of the prunable weights', fraction)
    .option('--cycles <n>', 'prune-retrain cycles (1: one-shot)', positiveInt, 1)
    .addOption(
      new Option('--retrain <schedule>', 'retraining learning-rate schedule')
        .argParser(oneOf(RETRAIN_SCHEDULES))
        .default('ft'),
    )
    .option(
      '--budget <duration>',
      'retraining in all, split equally over the cycles (0ba: no retraining)',
      duration,
      '1ep',
    )
    .option('--gradient-batches <n>', 'batches the gradient criteria sum over', positiveInt, 4)
    .option('--include-first', 'prune the first layer too', false)
    .option('--include-last', 'prune the last layer (classifier) too', false)
    .option('--out <dir>', 'directory to write (default: <run>/pruned)')
    .option('--overwrite', 'replace an existing output directory', false)
    .option('--force', FORCE_HELP, false)
    .addOption(recipeFlagOption('threads'))
    .option('--no-progress', 'no progress bars')
    .action(pruneCommand);
}

export async function pruneCommand(opts: PruneCommandOptions): Promise<void> {
  const file = resolveCheckpointPath(opts.checkpoint);
  const runDir = runDirOfCheckpoint(file, opts.checkpoint);
  const run = readRunRecipe(runDir);
  // How this process runs, not what the run was: --threads overrides the run's.
  const recipe = opts.threads === undefined ? run : { ...run, threads: opts.threads };
  checkPlan({ cycles: opts.cycles, bytes: recipeDataBytes(recipe) }, opts.force);
  const inputs = await loadRecipeInputs(recipe);
  const trainerOptions = recipeTrainerOptions(recipe, inputs);
  // The run's Trainer loads the checkpoint into the model (and refuses one of another model).
  const loader = new Trainer(trainerOptions);
  try {
    await loader.resume(file);
  } finally {
    loader.dispose();
  }
  const model = trainerOptions.model;
  const out = opts.out ?? join(runDir, 'pruned');
  openRunDir(out, { command: 'prune', overwrite: opts.overwrite, resumable: false });
  console.log(
    `anneal: pruning ${recipe.model.name} of ${runDir} (${basename(file)}) to ${opts.target} with ` +
      `${opts.criterion} in ${opts.cycles} cycle(s), retraining ${opts.retrain} over ${opts.budget}`,
  );

  const result = await prune({
    model,
    trainData: inputs.train,
    evalData: inputs.test,
    batchSize: recipe.batchSize,
    seed: recipe.seed,
    kernels: recipe.kernels,
    optimizer: recipe.optimizer as OptimizerSpec,
    original: {
      duration: recipe.duration,
      schedule: recipe.schedules.lr as ScheduleSpec | undefined,
    },
    criterion: opts.criterion,
    target: opts.target,
    cycles: opts.cycles,
    retrain: opts.retrain,
    budget: opts.budget,
    gradientBatches: opts.gradientBatches,
    prunable: { includeFirst: opts.includeFirst, includeLast: opts.includeLast },
    callbacks: (cycle, steps) => [cycleProgress(cycle, opts.cycles, steps, opts.progress)],
    onCycle: (c) => console.log(cycleLine(c, opts.cycles)),
  });

  const ops = createFlatOps(recipe.kernels);
  const pv = ParamVector.create(isLayersModel(model) ? model : { variables: model.variables }, ops);
  try {
    savePrunedModel(join(out, 'pruned.ck'), pv, result.mask, { metrics: result.metrics });
  } finally {
    pv.dispose();
    ops.dispose();
  }
  writeJsonAtomic(join(out, 'summary.json'), {
    checkpoint: file,
    criterion: opts.criterion,
    target: opts.target,
    cycles: opts.cycles,
    retrain: opts.retrain,
    budget: opts.budget,
    originalEpochs: result.originalEpochs,
    retrainEpochs: result.retrainEpochs,
    results: result.cycles,
    backend: inputs.engine.backend,
    threads: inputs.engine.threads,
  });
  console.log(resultsTable(result.cycles));
  console.log(layerTable(result.cycles[result.cycles.length - 1]));
  console.log(
    'Masks give no speed-up in tfjs (pruned weights are zeros in dense tensors); FLOPs and the ' +
      'sparse size say what sparse kernels or a sparse format would gain.',
  );
  console.log(`pruned model: ${join(out, 'pruned.ck')}`);
}

function cycleProgress(cycle: number, cycles: number, steps: number, enabled: boolean): Callback {
  const label = `cycle ${cycle}/${cycles}`;
  const bar = createProgress(
    steps,
    label,
    enabled,
    `${label} [{bar}] {value}/{total} | loss {loss} | eta {eta_formatted}`,
  );
  return {
    onBatchEnd: (s) =>
      bar.update(s.timestamp.step, { loss: s.metrics['train/loss']?.toFixed(4) ?? '-' }),
    onFitEnd: () => bar.stop(),
  };
}

const pct = (x: number | undefined) => (x === undefined ? '-' : `${(100 * x).toFixed(2)}%`);

function cycleLine(c: CycleResult, cycles: number): string {
  return (
    `cycle ${c.cycle}/${cycles}: sparsity ${pct(c.sparsity)}, accuracy after pruning ` +
    `${pct(c.afterPrune?.top1)}, after ${c.retrainSteps} retraining steps ${pct(c.afterRetrain?.top1)}`
  );
}

/** A plain-text table with right-aligned columns but the first. */
function textTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, maxOf(rows.map((r) => r[i].length))));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function resultsTable(cycles: CycleResult[]): string {
  return textTable(
    [
      'cycle',
      'sparsity',
      'nonzero params',
      'compression',
      'FLOPs speedup',
      'top-1 pruned',
      'top-1 retrained',
      'top-5 retrained',
    ],
    cycles.map((c) => [
      String(c.cycle),
      pct(c.sparsity),
      c.metrics.nonzeroParams.toLocaleString('en'),
      `${c.metrics.compressionRatio.toFixed(2)}x`,
      `${c.metrics.speedup.toFixed(2)}x`,
      pct(c.afterPrune?.top1),
      pct(c.afterRetrain?.top1),
      pct(c.afterRetrain?.top5),
    ]),
  );
}

function layerTable(c: CycleResult): string {
  const m = c.metrics;
  return (
    textTable(
      ['weight', 'shape', 'params', 'kept', 'sparsity', 'FLOPs', 'pruned FLOPs'],
      m.layers.map((l) => [
        l.name,
        `[${l.shape.join(',')}]`,
        String(l.params),
        String(l.kept),
        pct(l.sparsity),
        String(l.flops),
        String(l.prunedFlops),
      ]),
    ) +
    `\nsize: ${m.denseBytes.toLocaleString('en')} bytes dense, ` +
    `${m.sparseBytes.toLocaleString('en')} bytes with kernels in CSR`
  );
}
