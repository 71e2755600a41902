/**
 * Training methods I (issue 5) at a fixed budget: MNIST test accuracy of the small CNN trained
 * with and without each method, mean and spread over seeds (the seed sets the initial weights and
 * the data order), plus a Bag-of-Tricks ablation that adds one trick at a time. Every
 * configuration gets the same epochs, batch size, optimizer and samples, so a difference is the
 * method's effect at this budget (or noise: compare it with the baseline's std).
 *
 * Budget: sized (1,500 train samples) to finish in about 10 minutes on the shared 2-core machine; the
 * measured minutes are written to the JSON
 * and the table. Usage: npm run bench:methods [-- --smoke]
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { loadDataset, type Dataset } from '../src/data/index.js';
import { initEngine } from '../src/engine/index.js';
import { createFlatOps, type FlatOps } from '../src/kernels/index.js';
import { bagOfTricks, BAG_OF_TRICKS, type Trick } from '../src/methods/bag-of-tricks/index.js';
import { applyBlurPool } from '../src/methods/blurpool/index.js';
import { createMethod } from '../src/methods/registry.js';
import { createModel } from '../src/models/index.js';
import type { TrainerOptions } from '../src/train/trainer.js';
import { Trainer } from '../src/train/trainer.js';
import { planBatchSizes } from '../src/time/index.js';
import { mean, pairedMeanDifference, std } from '../src/stats.js';
import { writeResult } from './lib/results.js';

const smoke = process.argv.includes('--smoke');

/** A method by its registry name and options, as a recipe file would write it. */
interface MethodSpec {
  name: string;
  options: Record<string, unknown>;
}

interface Configuration {
  label: string;
  /** 'methods': one method against the baseline; 'bag-of-tricks': the cumulative ablation. */
  group: 'methods' | 'bag-of-tricks';
  methods: MethodSpec[];
  /** Bag-of-Tricks pieces switched on (the rest left out). */
  tricks?: Trick[];
  /** A batch size other than config.batchSize (a control run). */
  batchSize?: number;
  /** The method whose card shows this row too: a control for that method's confound. */
  controlFor?: string;
  /** Train with config.moreSeeds too (a comparison whose differences are near the noise). */
  moreSeeds?: boolean;
}

const single = (name: string, options: Record<string, unknown> = {}): Configuration => ({
  label: name,
  group: 'methods',
  methods: [{ name, options }],
});

const METHOD_CONFIGS: Configuration[] = [
  { label: 'baseline', group: 'methods', methods: [], moreSeeds: true },
  single('label-smoothing', { alpha: 0.1 }),
  single('mixup', { alpha: 0.2 }),
  single('cutmix', { alpha: 1 }),
  single('batch-augmentation', { m: 2, pad: 2 }),
  single('blurpool'),
  // Around AdamW's default decay (1e-2): easy 5e-3 at the ends, hard 5e-2 in the middle.
  single('cyclical-weight-decay', { min: 5e-3, max: 5e-2 }),
  single('softmax-temperature', { min: 0.5, max: 2 }),
  single('cyclical-grad-clip', { min: 0.5, max: 100 }),
  single('cyclical-augmentation', { min: 0, max: 2 }),
  single('focal-loss', { gamma: 2 }),
  single('cyclical-focal-loss'),
  // Large 64 (the batch size) at the ends, 16 in the middle; see the equal-steps control below.
  { ...single('cyclical-batch-size', { min: 16 }), moreSeeds: true },
];

/**
 * Smaller batches take more steps in the same epochs, which alone helps at a short budget. The
 * control trains with the one fixed batch size that takes as many steps as cyclical batch size
 * does (its plan's steps, computed the way the Trainer plans them), so the comparison isolates
 * the cycle.
 */
function equalStepsControl(trainSamples: number, epochs: number, batchSize: number): Configuration {
  const method = createMethod('cyclical-batch-size', { min: 16 });
  const run = trainSamples * epochs;
  const steps = planBatchSizes(trainSamples, run, (seen) =>
    method.batchSize!(seen, run, batchSize),
  ).length;
  const fixed = Math.round(run / steps);
  return {
    label: `batch ${fixed} (steps of cyclical-batch-size)`,
    group: 'methods',
    methods: [],
    batchSize: fixed,
    controlFor: 'cyclical-batch-size',
    moreSeeds: true,
  };
}

/**
 * Add one trick at a time, in the paper's order. zero-init-gamma is left out: it acts on the
 * ResNet's residual BatchNorms and the CNN has none.
 */
const CNN_TRICKS = BAG_OF_TRICKS.filter((t) => t !== 'zero-init-gamma');
const BAG_CONFIGS: Configuration[] = CNN_TRICKS.map((_, i) => {
  const tricks = CNN_TRICKS.slice(0, i + 1);
  return { label: `+ ${tricks[i]}`, group: 'bag-of-tricks', methods: [], tricks };
});

const config = {
  data: 'mnist' as const,
  model: 'cnn' as const,
  trainSamples: smoke ? 256 : 1500,
  testSamples: smoke ? 256 : 1000,
  epochs: smoke ? 1 : 2,
  batchSize: 64,
  optimizer: { name: 'adamw', lr: 2e-3 },
  kernels: 'auto' as const,
  seeds: smoke ? [0] : [0, 1, 2],
  /** Added for the rows marked moreSeeds: cyclical batch size, its control and the baseline. */
  moreSeeds: smoke ? [] : [3, 4, 5, 6, 7, 8, 9],
};
const byLabel = (label: string) => METHOD_CONFIGS.find((c) => c.label === label)!;
const configurations = smoke
  ? ['baseline', 'mixup', 'blurpool', 'cyclical-batch-size'].map(byLabel)
  : [
      ...METHOD_CONFIGS,
      equalStepsControl(config.trainSamples, config.epochs, config.batchSize),
      ...BAG_CONFIGS,
    ];

interface Run {
  seed: number;
  testAccuracy: number;
  trainSeconds: number;
  steps: number;
}

interface Row {
  label: string;
  group: Configuration['group'];
  methods: MethodSpec[];
  tricks?: Trick[];
  batchSize: number;
  controlFor?: string;
  runs: Run[];
  meanAccuracy: number;
  stdAccuracy: number;
  meanTrainSeconds: number;
  /** Optimizer steps per run (the same for every seed). */
  meanSteps: number;
  /** Mean accuracy difference from the baseline on the same seeds (paired), a fraction. */
  delta: number | null;
  /** delta / the baseline's std over all its seeds: how many seed-to-seed spreads away. */
  deltaInBaselineStd: number | null;
}

/** The Trainer options a configuration adds to the shared ones, and the model it trains. */
function recipe(c: Configuration, train: Dataset, seed: number) {
  let model: tfl.LayersModel = createModel(config.model, {
    inputShape: train.shape,
    numClasses: train.numClasses,
    seed,
  });
  const methods = c.methods.map((m) => createMethod(m.name, m.options));
  // BlurPool cannot rebuild the model inside the Trainer: transform it first (as the CLI does).
  if (c.methods.some((m) => m.name === 'blurpool')) {
    const blurred = applyBlurPool(model).model;
    model.dispose();
    model = blurred;
  }
  const extra: Partial<TrainerOptions> = {};
  if (c.tricks) {
    const without = BAG_OF_TRICKS.filter((t) => !c.tricks!.includes(t));
    const bag = bagOfTricks({ without });
    methods.push(...bag.methods);
    extra.schedules = bag.schedules;
    extra.paramVector = bag.paramVector;
  }
  return { model, methods, extra };
}

async function trainOnce(
  c: Configuration,
  seed: number,
  train: Dataset,
  test: Dataset,
  ops: FlatOps,
): Promise<Run> {
  const { model, methods, extra } = recipe(c, train, seed);
  const duration = `${config.epochs}ep`;
  const trainer = new Trainer({
    model,
    trainData: train,
    evalData: test,
    maxDuration: duration,
    evalInterval: duration,
    batchSize: c.batchSize ?? config.batchSize,
    seed,
    kernels: ops,
    optimizer: config.optimizer,
    methods,
    ...extra,
  });
  try {
    const t0 = performance.now();
    const { eval: result, timestamp } = await trainer.fit();
    // Includes the one evaluation at the end (the same for every configuration).
    const trainSeconds = (performance.now() - t0) / 1000;
    return { seed, testAccuracy: result?.accuracy ?? NaN, trainSeconds, steps: timestamp.step };
  } finally {
    trainer.dispose();
    model.dispose();
  }
}

const engine = await initEngine({ backend: 'wasm' });
const ops = createFlatOps(config.kernels);
const train = await loadDataset(config.data, { split: 'train', limit: config.trainSamples });
const test = await loadDataset(config.data, { split: 'test', limit: config.testSamples });

const started = performance.now();
const rows: Row[] = [];
for (const c of configurations) {
  const runs: Run[] = [];
  const seeds = c.moreSeeds ? [...config.seeds, ...config.moreSeeds] : config.seeds;
  for (const seed of seeds) runs.push(await trainOnce(c, seed, train, test, ops));
  const accuracies = runs.map((r) => r.testAccuracy);
  rows.push({
    label: c.label,
    group: c.group,
    methods: c.methods,
    ...(c.tricks ? { tricks: c.tricks } : {}),
    batchSize: c.batchSize ?? config.batchSize,
    ...(c.controlFor ? { controlFor: c.controlFor } : {}),
    runs,
    meanAccuracy: mean(accuracies),
    stdAccuracy: std(accuracies),
    meanTrainSeconds: mean(runs.map((r) => r.trainSeconds)),
    meanSteps: mean(runs.map((r) => r.steps)),
    delta: null,
    deltaInBaselineStd: null,
  });
  const row = rows[rows.length - 1];
  console.log(
    `${c.label.padEnd(24)} ${(100 * row.meanAccuracy).toFixed(2)}% ± ${(100 * row.stdAccuracy).toFixed(2)} ` +
      `(${accuracies.map((a) => (100 * a).toFixed(2)).join(', ')}), ${row.meanTrainSeconds.toFixed(1)} s/run`,
  );
}
const totalMinutes = (performance.now() - started) / 60000;
ops.dispose();

const baseline = rows.find((r) => r.label === 'baseline');
const bySeed = (row: Row) => new Map(row.runs.map((r) => [r.seed, r.testAccuracy]));
for (const row of rows) {
  if (!baseline) break;
  // Every row's seeds are among the baseline's (configurations with moreSeeds include it).
  row.delta = pairedMeanDifference(bySeed(row), bySeed(baseline));
  if (baseline.stdAccuracy > 0) {
    row.deltaInBaselineStd = Number((row.delta / baseline.stdAccuracy).toFixed(2));
  }
}

console.log(
  `\nMNIST ${config.trainSamples} train / ${config.testSamples} test, ${config.model}, ` +
    `${config.optimizer.name} lr ${config.optimizer.lr}, ${config.epochs} epochs, batch ${config.batchSize}, ` +
    `${config.seeds.length} seeds; ${totalMinutes.toFixed(1)} min in all`,
);
console.log(
  ['configuration', 'mean acc', 'std', 'Δ / base std', 's/run'].map((h) => h.padStart(16)).join(''),
);
for (const r of rows) {
  console.log(
    [
      r.label,
      `${(100 * r.meanAccuracy).toFixed(2)}%`,
      (100 * r.stdAccuracy).toFixed(2),
      r.deltaInBaselineStd === null ? '–' : r.deltaInBaselineStd.toFixed(2),
      r.meanTrainSeconds.toFixed(1),
    ]
      .map((v) => v.padStart(16))
      .join(''),
  );
}

const result = {
  config: {
    ...config,
    tfjs: tf.version_core,
    tfjsBackend: engine.backend,
    kernelsUsed: ops.name,
  },
  budget: { totalMinutes: Number(totalMinutes.toFixed(2)) },
  rows,
};
console.log(
  JSON.stringify({
    bench: 'methods',
    smoke,
    totalMinutes: result.budget.totalMinutes,
    rows: rows.map((r) => ({ label: r.label, mean: r.meanAccuracy, std: r.stdAccuracy })),
  }),
);
console.log(`wrote ${writeResult('methods', result, { smoke })}`);
