/**
 * Pruning on MNIST (issue 8): accuracy against sparsity of a small CNN for
 * - one-shot global vs layer-wise magnitude pruning at 50/75/90/95% with 1 epoch of fine-tuning
 *   (ShrinkBench's experiment; random pruning at 90% as a reference),
 * - IMP to 95% in 3 cycles at the same retraining budget (3 epochs) with each retraining schedule
 *   (FT, LRW, SLR, CLR, LLR, ALLR) and one-shot SLR at that budget,
 * - gradual pruning during training (Zhu & Gupta) to 95% in the original run's length and in
 *   IMP's total length, and a dense run of that total length as the control,
 * each with its total training cost in epochs (the dense pretraining included), mean over seeds;
 * and the per-step cost of a mask in force on the default CNN (the only per-step work pruning
 * adds: masking the gradient, and the fused step reading the mask).
 *
 * Budget: about 10 CPU minutes on the shared 2-core machine (wall and CPU minutes measured and
 * written to the JSON; wall time grows with the machine's load).
 * Usage: npm run bench:pruning [-- --smoke]
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { loadDataset } from '../src/data/index.js';
import { initEngine } from '../src/engine/index.js';
import { createFlatOps } from '../src/kernels/index.js';
import { gradualPruning } from '../src/methods/gradual-pruning/index.js';
import { createModel } from '../src/models/index.js';
import { installMask } from '../src/pruning/apply.js';
import { computeMask, type PruningCriterion } from '../src/pruning/criteria.js';
import { prune } from '../src/pruning/imp.js';
import { evaluateTopK, pruningMetrics } from '../src/pruning/metrics.js';
import type { RetrainSchedule } from '../src/pruning/schedule.js';
import { Trainer } from '../src/train/trainer.js';
import { mean, minOf, std } from '../src/stats.js';
import { writeResult } from './lib/results.js';

const smoke = process.argv.includes('--smoke');

const config = {
  data: 'mnist' as const,
  trainSamples: smoke ? 256 : 2000,
  testSamples: smoke ? 256 : 1000,
  model: { name: 'cnn', filters: [16, 32], denseUnits: 64 },
  batchSize: 64,
  optimizer: { name: 'sgd', lr: 0.05, momentum: 0.9, weightDecay: 5e-4 },
  /** The original (dense) run: step decay by 10x at 50% and 75%. */
  originalEpochs: smoke ? 2 : 4,
  originalSchedule: { name: 'multistep', milestones: ['0.5dur', '0.75dur'], gamma: 0.1 },
  seeds: smoke ? [0] : [0, 1, 2],
  oneShot: {
    sparsities: smoke ? [0.9] : [0.5, 0.75, 0.9, 0.95],
    criteria: ['global-magnitude', 'layer-magnitude'] as PruningCriterion[],
    fineTuneEpochs: 1,
  },
  imp: {
    target: 0.95,
    cycles: 3,
    budgetEpochs: smoke ? 1 : 3,
    schedules: (smoke
      ? ['ft', 'slr']
      : ['ft', 'lrw', 'slr', 'clr', 'llr', 'allr']) as RetrainSchedule[],
  },
  overhead: { model: { name: 'cnn' }, steps: smoke ? 3 : 10, reps: smoke ? 1 : 3, sparsity: 0.9 },
  kernels: 'auto' as const,
};

export interface PruningRun {
  seed: number;
  /** Top-1 right after the (last) pruning, before retraining. */
  prunedTop1: number | null;
  top1: number;
  top5: number;
  sparsity: number;
  speedup: number;
  compression: number;
}

export interface PruningRow {
  group: 'dense' | 'one-shot' | 'imp' | 'gradual';
  label: string;
  criterion: string;
  retrain: string | null;
  cycles: number;
  sparsity: number;
  /** Dense pretraining + retraining (or the gradual run's length), in epochs. */
  costEpochs: number;
  runs: PruningRun[];
  meanTop1: number;
  stdTop1: number;
  meanPrunedTop1: number | null;
  meanTop5: number;
  speedup: number;
  compression: number;
}

const engine = await initEngine({ backend: 'wasm' });
const ops = createFlatOps(config.kernels);
const train = await loadDataset(config.data, { split: 'train', limit: config.trainSamples });
const test = await loadDataset(config.data, { split: 'test', limit: config.testSamples });
const originalDuration = `${config.originalEpochs}ep`;

function buildModel(seed: number, opts: Record<string, unknown> = config.model): tfl.LayersModel {
  const { name, ...rest } = opts as { name: string };
  return createModel(name, {
    ...rest,
    inputShape: train.shape,
    numClasses: train.numClasses,
    seed,
  });
}

function trainer(model: tfl.LayersModel, seed: number, epochs: number, extra = {}): Trainer {
  return new Trainer({
    model,
    trainData: train,
    maxDuration: `${epochs}ep`,
    batchSize: config.batchSize,
    seed,
    kernels: ops,
    optimizer: config.optimizer,
    schedules: { lr: config.originalSchedule },
    ...extra,
  });
}

async function pretrain(seed: number): Promise<{ model: tfl.LayersModel; weights: tf.Tensor[] }> {
  const model = buildModel(seed);
  const t = trainer(model, seed, config.originalEpochs);
  await t.fit();
  t.dispose();
  return { model, weights: model.getWeights().map((w) => tf.clone(w)) };
}

function summarize(
  row: Omit<
    PruningRow,
    'meanTop1' | 'stdTop1' | 'meanPrunedTop1' | 'meanTop5' | 'speedup' | 'compression'
  >,
): PruningRow {
  const r = row.runs;
  const pruned = r.map((x) => x.prunedTop1).filter((x): x is number => x !== null);
  const full: PruningRow = {
    ...row,
    meanTop1: mean(r.map((x) => x.top1)),
    stdTop1: std(r.map((x) => x.top1)),
    meanPrunedTop1: pruned.length ? mean(pruned) : null,
    meanTop5: mean(r.map((x) => x.top5)),
    speedup: mean(r.map((x) => x.speedup)),
    compression: mean(r.map((x) => x.compression)),
  };
  console.log(
    `${row.group.padEnd(9)} ${row.label.padEnd(34)} sparsity ${(100 * row.sparsity).toFixed(0)}% ` +
      `top-1 ${(100 * full.meanTop1).toFixed(2)}% ± ${(100 * full.stdTop1).toFixed(2)} ` +
      `(pruned ${full.meanPrunedTop1 === null ? '-' : (100 * full.meanPrunedTop1).toFixed(2) + '%'}) ` +
      `cost ${row.costEpochs} ep`,
  );
  return full;
}

const started = performance.now();
const cpuStart = process.cpuUsage();
const rows: PruningRow[] = [];
const pretrained = new Map<number, { model: tfl.LayersModel; weights: tf.Tensor[] }>();
/** A dense model's run: its test accuracy, nothing pruned. */
async function denseRun(seed: number, model: tfl.LayersModel): Promise<PruningRun> {
  const { top1, top5 } = await evaluateTopK(model, test);
  return { seed, prunedTop1: null, top1, top5, sparsity: 0, speedup: 1, compression: 1 };
}

const denseRuns: PruningRun[] = [];
for (const seed of config.seeds) {
  const p = await pretrain(seed);
  pretrained.set(seed, p);
  denseRuns.push(await denseRun(seed, p.model));
}
rows.push(
  summarize({
    group: 'dense',
    label: `dense, ${config.originalEpochs} ep (pruned below)`,
    criterion: '-',
    retrain: null,
    cycles: 0,
    sparsity: 0,
    costEpochs: config.originalEpochs,
    runs: denseRuns,
  }),
);

// The control for the retrained rows: a dense run as long as dense + retraining, so a pruned
// model that beats the dense one above is not credited with what extra training gives.
if (!smoke) {
  const epochs = config.originalEpochs + config.imp.budgetEpochs;
  const runs: PruningRun[] = [];
  for (const seed of config.seeds) {
    const model = buildModel(seed);
    const t = trainer(model, seed, epochs);
    await t.fit();
    t.dispose();
    runs.push(await denseRun(seed, model));
    model.dispose();
  }
  rows.push(
    summarize({
      group: 'dense',
      label: `dense, ${epochs} ep`,
      criterion: '-',
      retrain: null,
      cycles: 0,
      sparsity: 0,
      costEpochs: epochs,
      runs,
    }),
  );
}

async function pruneRuns(
  group: PruningRow['group'],
  label: string,
  criterion: PruningCriterion,
  sparsity: number,
  cycles: number,
  retrain: RetrainSchedule,
  budgetEpochs: number,
): Promise<void> {
  const runs: PruningRun[] = [];
  for (const seed of config.seeds) {
    const { model, weights } = pretrained.get(seed)!;
    model.setWeights(weights);
    const result = await prune({
      model,
      trainData: train,
      evalData: test,
      batchSize: config.batchSize,
      seed,
      kernels: ops,
      optimizer: config.optimizer,
      original: { duration: originalDuration, schedule: config.originalSchedule },
      criterion,
      target: sparsity,
      cycles,
      retrain,
      budget: `${budgetEpochs}ep`,
    });
    const last = result.cycles[result.cycles.length - 1];
    runs.push({
      seed,
      prunedTop1: last.afterPrune?.top1 ?? null,
      top1: last.afterRetrain!.top1,
      top5: last.afterRetrain!.top5,
      sparsity: last.sparsity,
      speedup: result.metrics.speedup,
      compression: result.metrics.compressionRatio,
    });
  }
  rows.push(
    summarize({
      group,
      label,
      criterion,
      retrain,
      cycles,
      sparsity,
      costEpochs: config.originalEpochs + budgetEpochs,
      runs,
    }),
  );
}

for (const sparsity of config.oneShot.sparsities) {
  for (const criterion of config.oneShot.criteria) {
    await pruneRuns(
      'one-shot',
      `${criterion}, FT`,
      criterion,
      sparsity,
      1,
      'ft',
      config.oneShot.fineTuneEpochs,
    );
  }
}
if (!smoke) await pruneRuns('one-shot', 'random, FT', 'random', 0.9, 1, 'ft', 1);

const { target, cycles, budgetEpochs } = config.imp;
for (const schedule of config.imp.schedules) {
  await pruneRuns(
    'imp',
    `IMP ${cycles} cycles, ${schedule.toUpperCase()}`,
    'global-magnitude',
    target,
    cycles,
    schedule,
    budgetEpochs,
  );
}
await pruneRuns('imp', 'one-shot, SLR', 'global-magnitude', target, 1, 'slr', budgetEpochs);

async function gradualRuns(epochs: number): Promise<void> {
  const runs: PruningRun[] = [];
  for (const seed of config.seeds) {
    const model = buildModel(seed);
    const t = trainer(model, seed, epochs, {
      methods: [gradualPruning({ target, start: 0, end: '0.75dur', frequency: '0.05dur' })],
    });
    await t.fit();
    const metrics = pruningMetrics(model, t.state.pv);
    t.dispose();
    const e = await evaluateTopK(model, test);
    const prunable = metrics.layers.filter((l) => l.sparsity > 0);
    const sparsity =
      prunable.reduce((n, l) => n + l.params - l.kept, 0) /
      prunable.reduce((n, l) => n + l.params, 0);
    runs.push({
      seed,
      prunedTop1: null,
      top1: e.top1,
      top5: e.top5,
      sparsity,
      speedup: metrics.speedup,
      compression: metrics.compressionRatio,
    });
    model.dispose();
  }
  rows.push(
    summarize({
      group: 'gradual',
      label: `gradual (Zhu & Gupta), ${epochs} ep`,
      criterion: 'global-magnitude',
      retrain: null,
      cycles: 0,
      sparsity: target,
      costEpochs: epochs,
      runs,
    }),
  );
}
await gradualRuns(config.originalEpochs);
if (!smoke) await gradualRuns(config.originalEpochs + budgetEpochs);
for (const { model, weights } of pretrained.values()) {
  tf.dispose(weights);
  model.dispose();
}
const accuracyMinutes = (performance.now() - started) / 60000;

// ---- per-step cost of a mask in force -----------------------------------------------------------
async function overhead() {
  const model = buildModel(0, config.overhead.model);
  const steps = config.overhead.steps;
  const reps = config.overhead.reps;
  const t = trainer(
    model,
    0,
    (2 * (steps * (2 * reps + 1))) / Math.ceil(train.length / config.batchSize) + 1,
  );
  const { pv } = t.state;
  const stepSeconds = async () => {
    const before = t.state.timestamp;
    await t.fit({ duration: `${steps}ba` });
    return (t.state.timestamp.trainSeconds - before.trainSeconds) / steps;
  };
  await stepSeconds(); // warm-up
  const mask = computeMask(pv, {
    criterion: 'global-magnitude',
    sparsity: config.overhead.sparsity,
  });
  const dense: number[] = [];
  const masked: number[] = [];
  for (let r = 0; r < reps; r++) {
    pv.setMask(null);
    dense.push(await stepSeconds());
    installMask(pv, mask, t.state.optimizer);
    masked.push(await stepSeconds());
  }
  // The mask's own work per step, timed alone (the whole-step difference above is at the mercy of
  // the machine's load): masking the gradient (one pass over N floats), and the fused optimizer
  // step reading the mask as its lrMask, against the same step without a mask.
  const micro = 200;
  const timeMs = (fn: () => void) => {
    const t0 = performance.now();
    for (let i = 0; i < micro; i++) fn();
    ops.synchronize();
    return (performance.now() - t0) / micro;
  };
  const maskVector = ops.fromArray(mask);
  const applyMaskMs = minOf([0, 1, 2].map(() => timeMs(() => ops.applyMask(pv.grads, maskVector))));
  ops.free(maskVector);
  const optimizer = t.state.optimizer;
  const plain: number[] = [];
  const withMask: number[] = [];
  for (let r = 0; r < 3; r++) {
    pv.setMask(null);
    plain.push(timeMs(() => optimizer.step(pv)));
    pv.setMask(mask);
    withMask.push(timeMs(() => optimizer.step(pv)));
  }
  const optimizerStepMs = minOf(plain);
  const maskedOptimizerStepMs = minOf(withMask);
  const params = pv.length;
  t.dispose();
  model.dispose();
  const denseMs = 1000 * minOf(dense);
  const maskedMs = 1000 * minOf(masked);
  const maskMs = applyMaskMs + Math.max(0, maskedOptimizerStepMs - optimizerStepMs);
  return {
    model: 'cnn (32, 64 filters; 128 units)',
    params,
    batchSize: config.batchSize,
    optimizer: config.optimizer.name,
    denseStepMs: denseMs,
    maskedStepMs: maskedMs,
    stepDifference: (maskedMs - denseMs) / denseMs,
    applyMaskMs,
    optimizerStepMs,
    maskedOptimizerStepMs,
    /** Gradient masking + the fused step's extra read of the mask, per step. */
    maskMs,
    maskFraction: maskMs / denseMs,
  };
}
const cost = await overhead();
console.log(
  `\nmask in force, ${cost.model}, ${cost.params} params, batch ${cost.batchSize}: step ` +
    `${cost.denseStepMs.toFixed(1)} ms dense, ${cost.maskedStepMs.toFixed(1)} ms masked ` +
    `(${(100 * cost.stepDifference).toFixed(1)}%); timed alone: gradient masking ` +
    `${cost.applyMaskMs.toFixed(3)} ms, fused step ${cost.optimizerStepMs.toFixed(3)} ms -> ` +
    `${cost.maskedOptimizerStepMs.toFixed(3)} ms with the mask; the mask's work ` +
    `${cost.maskMs.toFixed(3)} ms = ${(100 * cost.maskFraction).toFixed(2)}% of a step`,
);
const totalMinutes = (performance.now() - started) / 60000;
const cpu = process.cpuUsage(cpuStart);
const cpuMinutes = (cpu.user + cpu.system) / 6e7;
ops.dispose();

const result = {
  config: { ...config, tfjs: tf.version_core, tfjsBackend: engine.backend, kernelsUsed: ops.name },
  budget: {
    totalMinutes: Number(totalMinutes.toFixed(2)),
    /** CPU time of this process (wall time grows with the shared machine's load). */
    cpuMinutes: Number(cpuMinutes.toFixed(2)),
    accuracyMinutes: Number(accuracyMinutes.toFixed(2)),
  },
  rows,
  overhead: cost,
};
console.log(
  JSON.stringify({
    bench: 'pruning',
    smoke,
    totalMinutes: result.budget.totalMinutes,
    rows: rows.map((r) => ({
      label: r.label,
      sparsity: r.sparsity,
      top1: r.meanTop1,
      cost: r.costEpochs,
    })),
    maskFraction: cost.maskFraction,
  }),
);
console.log(`wrote ${writeResult('pruning', result, { smoke })}`);
