/**
 * The LR range test's suggestions against the best constant learning rate of a small sweep, on
 * MNIST (MLP with AdamW and with SGD + momentum, CNN with AdamW). For each setting: the range
 * test on the freshly initialised model (src/train/lr-finder.ts: fastai's 'steep' and
 * 'minimum / 10', Smith's CLR bounds), then the same model trained from the same initial weights
 * for the same budget at each sweep LR and at the two point suggestions, test accuracy each.
 * Reported: the best sweep LR, whether it lies inside Smith's bounds, how many decades each
 * suggestion is from it, and the accuracy a suggestion reaches against the best.
 *
 * Usage: npm run bench:lr-range [-- --smoke]
 */
import { loadDataset, type Dataset } from '../src/data/index.js';
import { initEngine } from '../src/engine/index.js';
import { createFlatOps, type FlatOps } from '../src/kernels/index.js';
import { createModel, type ModelName } from '../src/models/index.js';
import { findLr, type LrFinderResult } from '../src/train/lr-finder.js';
import { Trainer } from '../src/train/trainer.js';
import { writeResult } from './lib/results.js';

const smoke = process.argv.includes('--smoke');

interface Setting {
  model: ModelName;
  optimizer: string;
  trainSamples: number;
  sweep: number[];
}

const ADAM_SWEEP = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2];
const SGD_SWEEP = [1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1];
const SETTINGS: Setting[] = smoke
  ? [{ model: 'mlp', optimizer: 'adamw', trainSamples: 512, sweep: [1e-4, 1e-3, 1e-2] }]
  : [
      { model: 'mlp', optimizer: 'adamw', trainSamples: 8000, sweep: ADAM_SWEEP },
      { model: 'mlp', optimizer: 'momentum', trainSamples: 8000, sweep: SGD_SWEEP },
      { model: 'cnn', optimizer: 'adamw', trainSamples: 4000, sweep: ADAM_SWEEP },
    ];

const config = {
  data: 'mnist',
  testSamples: smoke ? 500 : 10000,
  epochs: smoke ? 1 : 2,
  batchSize: 64,
  seed: 0,
  kernels: 'wasm' as const,
  range: { minLr: 1e-6, maxLr: 10, steps: smoke ? 30 : 100, mode: 'exponential' as const },
  settings: SETTINGS,
};

interface Trained {
  lr: number;
  testAccuracy: number;
  testLoss: number;
}

function buildModel(setting: Setting, data: Dataset) {
  return createModel(setting.model, {
    inputShape: data.shape,
    numClasses: data.numClasses,
    seed: config.seed,
  });
}

async function trainAt(
  setting: Setting,
  lr: number,
  train: Dataset,
  test: Dataset,
  ops: FlatOps,
): Promise<Trained> {
  const model = buildModel(setting, train);
  const duration = `${config.epochs}ep`;
  const trainer = new Trainer({
    model,
    trainData: train,
    evalData: test,
    maxDuration: duration,
    evalInterval: duration,
    batchSize: config.batchSize,
    seed: config.seed,
    kernels: ops,
    optimizer: { name: setting.optimizer, lr },
  });
  try {
    const { eval: result } = await trainer.fit();
    return { lr, testAccuracy: result?.accuracy ?? NaN, testLoss: result?.loss ?? NaN };
  } finally {
    trainer.dispose();
    model.dispose();
  }
}

const decades = (lr: number | null, best: number) =>
  lr === null ? null : Number(Math.log10(lr / best).toFixed(3));

async function measure(setting: Setting, test: Dataset, ops: FlatOps) {
  const train = await loadDataset(config.data, { split: 'train', limit: setting.trainSamples });
  const model = buildModel(setting, train);
  const range: LrFinderResult = await findLr({
    model,
    trainData: train,
    ...config.range,
    batchSize: config.batchSize,
    seed: config.seed,
    kernels: ops,
    optimizer: setting.optimizer,
  });
  model.dispose();
  const s = range.suggestions;
  const sweep: Trained[] = [];
  for (const lr of setting.sweep) sweep.push(await trainAt(setting, lr, train, test, ops));
  const best = sweep.reduce((a, b) => (b.testAccuracy > a.testAccuracy ? b : a));
  const atSuggestion = async (lr: number | null) =>
    lr === null ? null : await trainAt(setting, lr, train, test, ops);
  const steepest = await atSuggestion(s.steepest);
  const minimumOver10 = await atSuggestion(s.minimumOver10);
  return {
    ...setting,
    rangeTest: {
      stopReason: range.stopReason,
      steps: range.curve.length,
      suggestions: s,
      curve: range.curve,
    },
    sweep,
    bestLr: best.lr,
    bestAccuracy: best.testAccuracy,
    bestInsideBounds: s.bounds !== null && best.lr >= s.bounds.min && best.lr <= s.bounds.max,
    decadesFromBest: {
      steepest: decades(s.steepest, best.lr),
      minimumOver10: decades(s.minimumOver10, best.lr),
      boundsMin: decades(s.bounds?.min ?? null, best.lr),
      boundsMax: decades(s.bounds?.max ?? null, best.lr),
    },
    suggestionAccuracy: {
      steepest: steepest?.testAccuracy ?? null,
      minimumOver10: minimumOver10?.testAccuracy ?? null,
    },
  };
}

await initEngine({ backend: 'wasm' });
const test = await loadDataset(config.data, { split: 'test', limit: config.testSamples });
const ops = createFlatOps(config.kernels);
const started = performance.now();
const rows = [];
for (const setting of SETTINGS) rows.push(await measure(setting, test, ops));
ops.dispose();

const lr = (x: number | null) => (x === null ? '-' : x.toExponential(1));
const acc = (x: number | null) => (x === null ? '-' : `${(100 * x).toFixed(1)}%`);
console.log(
  `LR range test (${config.range.steps} steps, ${config.range.minLr}..${config.range.maxLr}) vs a ` +
    `constant-LR sweep (${config.epochs} epochs, batch ${config.batchSize}), MNIST test accuracy`,
);
for (const r of rows) {
  const s = r.rangeTest.suggestions;
  console.log(
    `${r.model}/${r.optimizer}: best sweep lr ${lr(r.bestLr)} (${acc(r.bestAccuracy)}); ` +
      `steep ${lr(s.steepest)} (${acc(r.suggestionAccuracy.steepest)}), ` +
      `min/10 ${lr(s.minimumOver10)} (${acc(r.suggestionAccuracy.minimumOver10)}), ` +
      `Smith bounds ${lr(s.bounds?.min ?? null)}..${lr(s.bounds?.max ?? null)} ` +
      `(${r.bestInsideBounds ? 'contain' : 'miss'} the best); sweep: ` +
      r.sweep.map((t) => `${lr(t.lr)} ${acc(t.testAccuracy)}`).join(', '),
  );
}
const totalSeconds = (performance.now() - started) / 1000;
const summary = rows.map((r) => ({
  setting: `${r.model}/${r.optimizer}`,
  bestLr: r.bestLr,
  suggestions: r.rangeTest.suggestions,
  bestInsideBounds: r.bestInsideBounds,
}));
console.log(JSON.stringify({ bench: 'lr-range', smoke, summary }));
const path = writeResult('lr-range', { config, totalSeconds, rows }, { smoke });
console.log(`wrote ${path} (${totalSeconds.toFixed(0)} s)`);
