/**
 * Training methods II (issue 6) on MNIST subsets with an MLP (784-256-128-64-10), pixels in
 * [0, 1] (no mean/std normalisation, so epsilon is in pixel units):
 *
 * A. Adversarial training (PGD-3 L-inf, eps 0.1) for many epochs on a small subset: validation,
 *    test and training robust accuracy (PGD-5) after every epoch, the robust train/test gap, and
 *    the test robust accuracy without early stopping (last epoch) and with it (the best-robust
 *    validation epoch, the weights the method restores; and where patience 5 would have stopped).
 * B. NoiLIn and ALASCA against the baseline under 20% and 40% symmetric label noise.
 * C. Reinitialisation (shrink-and-perturb, last-layer re-init, layer-wise re-init) against the
 *    baseline without label noise and with 40% symmetric noise.
 *
 * B and C share their baseline runs; every run of B and C has the same data, epochs, batch size
 * and optimizer, so a difference is the method's (or seed noise: compare with the spread).
 * Budget: sized to about 12 minutes on the shared 2-core machine; the measured minutes go into
 * the JSON and the tables. Usage: npm run bench:methods-ii [-- --smoke]
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { addLabelNoise, loadDataset, splitValidation, type Dataset } from '../src/data/index.js';
import { initEngine } from '../src/engine/index.js';
import { createFlatOps, type FlatOps } from '../src/kernels/index.js';
import { robustEvaluate, type AttackOptions } from '../src/methods/adversarial/index.js';
import { shouldStop } from '../src/methods/early-stopping/index.js';
import { createMethod } from '../src/methods/registry.js';
import { createModel } from '../src/models/index.js';
import type { ScheduleSpec } from '../src/schedules/index.js';
import { evaluate } from '../src/train/evaluate.js';
import type { Method } from '../src/train/method.js';
import { Trainer } from '../src/train/trainer.js';
import { maxOf, mean, std } from '../src/stats.js';
import { writeResult } from './lib/results.js';

const smoke = process.argv.includes('--smoke');

interface MethodSpec {
  name: string;
  options: Record<string, unknown>;
}

const attack: AttackOptions = { epsilon: 0.1, norm: 'linf', clip: [0, 1] };

const config = {
  data: 'mnist',
  model: { name: 'mlp', hidden: smoke ? [64, 32, 16] : [256, 128, 64] },
  optimizer: { name: 'adamw', lr: 1e-3 },
  batchSize: 128,
  kernels: 'auto' as const,
  seeds: smoke ? [0] : [0, 1, 2],
  adversarial: {
    trainSamples: smoke ? 200 : 1000,
    valSamples: smoke ? 100 : 500,
    testSamples: smoke ? 100 : 500,
    epochs: smoke ? 2 : 40,
    /** The lr is divided by 10 at half and three quarters of the run (Rice et al.'s setting). */
    lrSchedule: { name: 'multistep', milestones: ['0.5dur', '0.75dur'], gamma: 0.1 },
    trainAttack: { ...attack, steps: 3 },
    evalAttack: { ...attack, steps: 5 },
    patience: 5,
  },
  noise: {
    trainSamples: smoke ? 300 : 2000,
    valSamples: smoke ? 100 : 500,
    testSamples: smoke ? 200 : 1000,
    epochs: smoke ? 2 : 20,
    rates: smoke ? [0.4] : [0, 0.2, 0.4],
  },
  methods: {
    noilin: { name: 'noilin', options: { pInit: 0.05, pMax: 0.6, gamma: 0.5, tau: 2 } },
    alasca: {
      name: 'alasca',
      options: { lam: 2, wEma: 0.7, temperature: 0.33, warmup: '0.25dur' },
    },
    'shrink-perturb': {
      name: 'shrink-perturb',
      options: { lambda: 0.4, sigma: 0.01, every: '5ep', until: '0.75dur' },
    },
    'reinit last layer': {
      name: 'reinit',
      options: { mode: 'last-k', k: 1, every: '5ep', until: '0.75dur' },
    },
    'reinit layer-wise': {
      name: 'reinit',
      options: { mode: 'layerwise', every: '5ep', until: '0.75dur' },
    },
  } as Record<string, MethodSpec>,
  /** Which methods run at which label-noise rates (the baseline runs at every rate). */
  plan: {
    noilin: [0.2, 0.4],
    alasca: [0.2, 0.4],
    'shrink-perturb': [0, 0.4],
    'reinit last layer': [0, 0.4],
    'reinit layer-wise': [0, 0.4],
  } as Record<string, number[]>,
};

function newModel(data: Dataset, seed: number): tfl.LayersModel {
  return createModel(config.model.name, {
    inputShape: data.shape,
    numClasses: data.numClasses,
    seed,
    hidden: config.model.hidden,
  });
}

/** train / validation / test subsets of MNIST (pixels in [0, 1]); the split depends on the seed. */
async function splits(trainSamples: number, valSamples: number, testSamples: number, seed: number) {
  const all = await loadDataset(config.data, {
    split: 'train',
    limit: trainSamples + valSamples,
    normalize: false,
  });
  const { train, val } = splitValidation(all, valSamples / (trainSamples + valSamples), seed);
  const test = await loadDataset(config.data, {
    split: 'test',
    limit: testSamples,
    normalize: false,
  });
  return { train, val, test };
}

// ---- A: adversarial training -----------------------------------------------------------

export interface AdversarialEpoch {
  epoch: number;
  trainRobust: number;
  valRobust: number;
  testRobust: number;
  testClean: number;
  gap: number;
}

export interface AdversarialRun {
  seed: number;
  epochs: AdversarialEpoch[];
  /** Test robust accuracy at the last epoch (no early stopping). */
  lastTestRobust: number;
  /** Of the weights early stopping restored (best validation robust accuracy). */
  restoredTestRobust: number;
  bestEpoch: number;
  /** Where patience `config.adversarial.patience` would have stopped (epoch), or null. */
  patienceStopEpoch: number | null;
  seconds: number;
}

async function adversarialRun(seed: number, ops: FlatOps): Promise<AdversarialRun> {
  const c = config.adversarial;
  const { train, val, test } = await splits(c.trainSamples, c.valSamples, c.testSamples, seed);
  const model = newModel(train, seed);
  const epochs: AdversarialEpoch[] = [];
  const method = createMethod('adversarial', {
    ...c.trainAttack,
    evalSteps: c.evalAttack.steps,
    evalLimit: c.valSamples,
    trainEvalLimit: c.valSamples,
    // Patience of the whole run: train to the end, then restore the best-robust weights.
    earlyStopping: { patience: c.epochs + 1, restoreBest: true },
  });
  const testRobust = () => robustEvaluate(model, test, c.evalAttack, { seed: 99 });
  const trainer = new Trainer({
    model,
    trainData: train,
    evalData: val,
    maxDuration: `${c.epochs}ep`,
    batchSize: config.batchSize,
    seed,
    kernels: ops,
    optimizer: config.optimizer,
    schedules: { lr: c.lrSchedule as ScheduleSpec },
    methods: [method],
    callbacks: [
      {
        onEvalEnd: (s) => {
          const r = testRobust();
          epochs.push({
            epoch: s.timestamp.epoch,
            trainRobust: s.metrics['train/robust_accuracy'],
            valRobust: s.metrics['eval/robust_accuracy'],
            testRobust: r.accuracy,
            testClean: r.cleanAccuracy,
            gap: s.metrics['adversarial/robust_gap'],
          });
        },
      },
    ],
  });
  const t0 = performance.now();
  await trainer.fit();
  const seconds = (performance.now() - t0) / 1000;
  const restoredTestRobust = testRobust().accuracy;
  const history = epochs.map((e) => e.valRobust);
  const best = shouldStop(history, { mode: 'max', patience: history.length + 1 });
  const byPatience = shouldStop(history, { mode: 'max', patience: c.patience });
  trainer.dispose();
  model.dispose();
  return {
    seed,
    epochs,
    lastTestRobust: epochs[epochs.length - 1].testRobust,
    restoredTestRobust,
    bestEpoch: epochs[best.bestIndex].epoch,
    patienceStopEpoch: byPatience.stop ? epochs[byPatience.bestIndex + c.patience].epoch : null,
    seconds,
  };
}

// ---- B and C: label noise -------------------------------------------------------------

interface NoiseRun {
  seed: number;
  /** Clean test accuracy after each epoch. */
  curve: number[];
  finalTest: number;
  bestTest: number;
  seconds: number;
}

interface NoiseRow {
  method: string;
  rate: number;
  spec: MethodSpec | null;
  runs: NoiseRun[];
  meanFinal: number;
  stdFinal: number;
  meanBest: number;
  stdBest: number;
}

async function noiseRun(
  spec: MethodSpec | null,
  rate: number,
  seed: number,
  ops: FlatOps,
): Promise<NoiseRun> {
  const c = config.noise;
  const {
    train: clean,
    val,
    test,
  } = await splits(c.trainSamples, c.valSamples, c.testSamples, seed);
  const train = rate > 0 ? addLabelNoise(clean, { rate, kind: 'symmetric', seed }).dataset : clean;
  let model = newModel(train, seed);
  const methods: Method[] = [];
  if (spec) {
    const method = createMethod(spec.name, spec.options);
    const transform = (
      method as { transformModel?: (m: tfl.LayersModel) => { model: tfl.LayersModel } }
    ).transformModel;
    if (transform) {
      const transformed = transform.call(method, model).model;
      model.dispose();
      model = transformed;
    }
    methods.push(method);
  }
  const curve: number[] = [];
  const trainer = new Trainer({
    model,
    trainData: train,
    // NoiLIn's schedule watches accuracy on a small clean validation set.
    evalData: val,
    maxDuration: `${c.epochs}ep`,
    batchSize: config.batchSize,
    seed,
    kernels: ops,
    optimizer: config.optimizer,
    methods,
    callbacks: [
      { onEpochEnd: async (s) => void curve.push((await evaluate(s.model, test)).accuracy) },
    ],
  });
  const t0 = performance.now();
  await trainer.fit();
  const seconds = (performance.now() - t0) / 1000;
  trainer.dispose();
  model.dispose();
  return { seed, curve, finalTest: curve[curve.length - 1], bestTest: maxOf(curve), seconds };
}

// ---- main ---------------------------------------------------------------------------------

const engine = await initEngine({ backend: 'wasm' });
const ops = createFlatOps(config.kernels);
const started = performance.now();
/** CPU seconds of this process: the compute, whatever else shares the machine. */
const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const cpuStart = cpuSeconds();

const adversarialRuns: AdversarialRun[] = [];
for (const seed of config.seeds) {
  const run = await adversarialRun(seed, ops);
  adversarialRuns.push(run);
  console.log(
    `adversarial seed ${seed}: test robust last ${(100 * run.lastTestRobust).toFixed(1)}%, ` +
      `restored (best val epoch ${run.bestEpoch}) ${(100 * run.restoredTestRobust).toFixed(1)}%, ` +
      `${run.seconds.toFixed(0)} s`,
  );
}
const adversarialMinutes = (performance.now() - started) / 60000;

const noiseStarted = performance.now();
const rows: NoiseRow[] = [];
const jobs: [string, MethodSpec | null, number][] = [
  ...config.noise.rates.map((r): [string, null, number] => ['baseline', null, r]),
  ...Object.entries(config.plan).flatMap(([label, rates]) =>
    rates
      .filter((r) => config.noise.rates.includes(r))
      .map((r): [string, MethodSpec, number] => [label, config.methods[label], r]),
  ),
];
for (const [label, spec, rate] of jobs) {
  const runs: NoiseRun[] = [];
  for (const seed of config.seeds) runs.push(await noiseRun(spec, rate, seed, ops));
  const finals = runs.map((r) => r.finalTest);
  const bests = runs.map((r) => r.bestTest);
  rows.push({
    method: label,
    rate,
    spec,
    runs,
    meanFinal: mean(finals),
    stdFinal: std(finals),
    meanBest: mean(bests),
    stdBest: std(bests),
  });
  console.log(
    `${label.padEnd(20)} noise ${(100 * rate).toFixed(0).padStart(2)}%: final ${(100 * mean(finals)).toFixed(2)}% ` +
      `± ${(100 * std(finals)).toFixed(2)}, best ${(100 * mean(bests)).toFixed(2)}%, ` +
      `${mean(runs.map((r) => r.seconds)).toFixed(1)} s/run`,
  );
}
const noiseMinutes = (performance.now() - noiseStarted) / 60000;
const totalMinutes = (performance.now() - started) / 60000;
const cpuMinutes = (cpuSeconds() - cpuStart) / 60;

const path = writeResult(
  'methods-ii',
  {
    config,
    engine: { backend: engine.backend, kernels: ops.name },
    minutes: {
      adversarial: adversarialMinutes,
      noise: noiseMinutes,
      total: totalMinutes,
      cpu: cpuMinutes,
    },
    adversarial: adversarialRuns,
    noise: rows,
  },
  { smoke },
);
ops.dispose();
console.log(`${totalMinutes.toFixed(1)} min wall, ${cpuMinutes.toFixed(1)} min CPU; wrote ${path}`);
console.log(JSON.stringify({ name: 'methods-ii', minutes: totalMinutes }));
