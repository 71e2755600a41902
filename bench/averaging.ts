/**
 * Weight averaging and flatness (issue 7) on MNIST subsets with a small MLP (784-128-10):
 * - SWA vs the final SGD iterate of the same run, and vs SGD with a cosine schedule, at the same
 *   budget; sharpness of the SWA and SGD solutions;
 * - FGE: ensemble accuracy vs number of members, vs one model;
 * - model soups: >= 5 fine-tunings of one pre-trained model with different hyper-parameters;
 *   uniform soup vs greedy soup vs the best single model (chosen on held-out training samples);
 * - flatness vs generalisation: 12 models trained with varied lr, batch size and weight decay;
 *   each flatness measure's Kendall tau with test accuracy.
 * Mean and spread over seeds. Writes bench/results/averaging.json.
 *
 * Budget: sized to about 12 minutes on the shared 2-core machine (the measured minutes are in the
 * JSON and the card). Usage: npm run bench:averaging [-- --smoke]
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { fge, swa, type Fge, type Swa } from '../src/averaging/index.js';
import { withWeights } from '../src/averaging/evaluate.js';
import { evaluateSync } from '../src/train/evaluate.js';
import { greedySoup, uniformSoup, type WeightSet } from '../src/averaging/soups.js';
import { subset, loadDataset, type Dataset } from '../src/data/index.js';
import { initEngine } from '../src/engine/index.js';
import { ParamVector } from '../src/engine/param-vector.js';
import {
  FLATNESS_MEASURES,
  kendallTau,
  measureFlatness,
  ModelObjective,
  type FlatnessMeasure,
} from '../src/flatness/index.js';
import { createFlatOps, type FlatOps } from '../src/kernels/index.js';
import { createModel } from '../src/models/index.js';
import { Trainer, type Method, type TrainerOptions } from '../src/train/index.js';
import { writeResult } from './lib/results.js';

const smoke = process.argv.includes('--smoke');

const config = {
  data: 'mnist' as const,
  model: { name: 'mlp' as const, hidden: smoke ? [32] : [128] },
  trainSamples: smoke ? 256 : 2000,
  heldOutSamples: smoke ? 128 : 1000,
  testSamples: smoke ? 256 : 2000,
  flatnessSamples: smoke ? 128 : 1000,
  batchSize: 64,
  seeds: smoke ? [0] : [0, 1, 2],
  swa: {
    lr: 0.05,
    // Two budgets: a long one in which SGD fits the training subset exactly, and a short one in
    // which it does not; snapshots every epoch and every 8 batches.
    settings: [
      {
        epochs: smoke ? 2 : 12,
        start: smoke ? '1ep' : '6ep',
        interval: '1ep',
        swaLr: 0.02,
      },
      {
        epochs: smoke ? 2 : 4,
        start: smoke ? '1ep' : '2ep',
        interval: '8ba',
        swaLr: 0.05,
      },
    ],
  },
  fge: {
    warmEpochs: smoke ? 1 : 6,
    cycleEpochs: smoke ? 1 : 2,
    cycles: smoke ? 2 : 4,
    lr: 0.05,
    lr1: 0.05,
    lr2: 0.0005,
  },
  soups: {
    pretrainEpochs: smoke ? 1 : 4,
    fineTuneEpochs: smoke ? 1 : 3,
    fineTunes: smoke
      ? [
          { lr: 0.01, weightDecay: 0 },
          { lr: 0.05, weightDecay: 0 },
        ]
      : [
          { lr: 0.005, weightDecay: 0 },
          { lr: 0.01, weightDecay: 0 },
          { lr: 0.02, weightDecay: 0 },
          { lr: 0.05, weightDecay: 0 },
          { lr: 0.01, weightDecay: 5e-3 },
          { lr: 0.05, weightDecay: 5e-3 },
        ],
  },
  correlation: {
    epochs: smoke ? 1 : 6,
    grid: smoke
      ? [
          { lr: 0.01, batchSize: 32, weightDecay: 0 },
          { lr: 0.1, batchSize: 128, weightDecay: 0 },
          { lr: 0.05, batchSize: 16, weightDecay: 1e-3 },
        ]
      : [0.005, 0.02, 0.08].flatMap((lr) =>
          [16, 256].flatMap((batchSize) =>
            [0, 5e-3].map((weightDecay) => ({ lr, batchSize, weightDecay })),
          ),
        ),
    seeds: smoke ? [0] : [0, 1],
  },
  measures: [...FLATNESS_MEASURES] as FlatnessMeasure[],
  measureOptions: { steps: 5, samples: 5, iterations: 20, langevinSteps: 20 },
};

function mlp(seed: number, data: Dataset): tfl.LayersModel {
  return createModel('mlp', {
    inputShape: data.shape,
    numClasses: data.numClasses,
    seed,
    hidden: config.model.hidden,
  });
}

function sgd(lr: number, weightDecay = 0) {
  return { name: 'momentum', lr, momentum: 0.9, weightDecay };
}

async function fit(opts: TrainerOptions): Promise<Trainer> {
  const trainer = new Trainer({ evalInterval: opts.maxDuration, ...opts });
  await trainer.fit();
  return trainer;
}

/** Every flatness measure at weights x (a host vector of the model's layout). */
function flatness(
  model: tfl.LayersModel,
  data: Dataset,
  ops: FlatOps,
  x: Float32Array,
  seed: number,
): Record<string, number> {
  const obj = new ModelObjective(model, data, ops, { limit: config.flatnessSamples });
  const x0 = ops.fromArray(x);
  try {
    const rows = measureFlatness(obj, x0, config.measures, { seed, ...config.measureOptions });
    return Object.fromEntries(rows.map((r) => [r.measure, r.value]));
  } finally {
    ops.free(x0);
    obj.dispose();
  }
}

const engine = await initEngine({ backend: 'wasm' });
const ops = createFlatOps('auto');
const all = await loadDataset(config.data, {
  split: 'train',
  limit: config.trainSamples + config.heldOutSamples,
});
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
const train = subset(all, range(0, config.trainSamples));
const heldOut = subset(all, range(config.trainSamples, all.length));
const test = await loadDataset(config.data, { split: 'test', limit: config.testSamples });
const started = performance.now();
const log = (s: string) =>
  console.log(`[${((performance.now() - started) / 1000).toFixed(0)} s] ${s}`);

// ---- SWA vs SGD ---------------------------------------------------------------------------------

const swaRuns = [];
for (const [setting, c] of config.swa.settings.entries()) {
  for (const seed of config.seeds) {
    const duration = `${c.epochs}ep`;
    const base = {
      trainData: train,
      evalData: test,
      maxDuration: duration,
      batchSize: config.batchSize,
      seed,
      kernels: ops,
    };
    const model = mlp(seed, train);
    const method = swa({ start: c.start, interval: c.interval, lr: c.swaLr, swapAtEnd: false });
    const trainer = await fit({
      ...base,
      model,
      optimizer: sgd(config.swa.lr),
      methods: [method as Method],
    });
    const sgdFinal = trainer.state.metrics['eval/accuracy'];
    const sgdParams = ops.download(trainer.state.pv.params);
    const avg = (method as Swa).average()!;
    const swaAccuracy = withWeights(
      model,
      trainer.state.pv,
      avg,
      () => evaluateSync(model, test).accuracy,
    );
    // How far the average is from the final iterate, relative to the weights' norm.
    let dist = 0;
    let norm = 0;
    for (let i = 0; i < avg.length; i++) {
      dist += (avg[i] - sgdParams[i]) ** 2;
      norm += sgdParams[i] ** 2;
    }
    const relativeDistance = Math.sqrt(dist / norm);
    const sgdTrain = evaluateSync(model, train).accuracy;
    const sharpness = {
      sgd: flatness(model, train, ops, sgdParams, seed),
      swa: flatness(model, train, ops, avg, seed),
    };
    trainer.dispose();
    model.dispose();
    const cosineModel = mlp(seed, train);
    const cosine = await fit({
      ...base,
      model: cosineModel,
      optimizer: sgd(config.swa.lr),
      schedules: { lr: { name: 'cosine' } },
    });
    const cosineAccuracy = cosine.state.metrics['eval/accuracy'];
    cosine.dispose();
    cosineModel.dispose();
    swaRuns.push({
      setting,
      seed,
      sgdFinal,
      swa: swaAccuracy,
      sgdCosine: cosineAccuracy,
      sgdTrain,
      relativeDistance,
      sharpness,
    });
    log(
      `swa setting ${setting} seed ${seed}: sgd ${sgdFinal} swa ${swaAccuracy} cosine ${cosineAccuracy}`,
    );
  }
}

// ---- FGE ----------------------------------------------------------------------------------------

const fgeRuns = [];
for (const seed of config.seeds) {
  const c = config.fge;
  const epochs = c.warmEpochs + c.cycles * c.cycleEpochs;
  const model = mlp(seed, train);
  const method = fge({
    start: `${c.warmEpochs}ep`,
    cycle: `${c.cycleEpochs}ep`,
    lr1: c.lr1,
    lr2: c.lr2,
  });
  const trainer = await fit({
    model,
    trainData: train,
    evalData: test,
    maxDuration: `${epochs}ep`,
    batchSize: config.batchSize,
    seed,
    kernels: ops,
    optimizer: sgd(c.lr),
    methods: [method as Method],
  });
  const ev = (method as Fge).evaluation!;
  fgeRuns.push({
    seed,
    members: ev.members.map((m) => m.accuracy),
    ensemble: ev.ensemble.map((m) => m.accuracy),
    ensembleNll: ev.ensemble.map((m) => m.nll),
    finalIterate: trainer.state.metrics['eval/accuracy'],
  });
  trainer.dispose();
  model.dispose();
  log(`fge seed ${seed}: ensemble ${ev.ensemble.map((m) => m.accuracy.toFixed(4)).join(' ')}`);
}

// ---- model soups --------------------------------------------------------------------------------

const soupRuns = [];
for (const seed of config.seeds) {
  const c = config.soups;
  const pretrained = mlp(seed, train);
  const pre = await fit({
    model: pretrained,
    trainData: train,
    maxDuration: `${c.pretrainEpochs}ep`,
    batchSize: config.batchSize,
    seed,
    kernels: ops,
    optimizer: sgd(0.05),
  });
  const start = pretrained.getWeights().map((w) => w.clone());
  pre.dispose();
  const sets: WeightSet[] = [];
  const fineTunes = [];
  for (const [k, ft] of c.fineTunes.entries()) {
    const model = mlp(seed, train);
    model.setWeights(start);
    const trainer = await fit({
      model,
      trainData: train,
      evalData: test,
      maxDuration: `${c.fineTuneEpochs}ep`,
      batchSize: config.batchSize,
      seed: seed * 100 + k + 1, // its own data order
      kernels: ops,
      optimizer: sgd(ft.lr, ft.weightDecay),
      schedules: { lr: { name: 'cosine' } },
    });
    const params = ops.download(trainer.state.pv.params);
    sets.push({
      source: `lr ${ft.lr} wd ${ft.weightDecay}`,
      segments: trainer.state.pv.segments.map((s) => ({ name: s.name, shape: [...s.shape] })),
      params,
    });
    fineTunes.push({ ...ft, test: trainer.state.metrics['eval/accuracy'] });
    trainer.dispose();
    model.dispose();
  }
  for (const t of start) t.dispose();
  const pv = ParamVector.create(pretrained, ops);
  const score = (data: Dataset) => (params: Float32Array) =>
    withWeights(pretrained, pv, params, () => evaluateSync(pretrained, data).accuracy);
  const greedy = greedySoup(ops, sets, score(heldOut));
  const uniform = uniformSoup(ops, sets);
  const bestIndex = greedy.order[0];
  soupRuns.push({
    seed,
    fineTunes: fineTunes.map((f, i) => ({ ...f, heldOut: greedy.scores[i] })),
    bestSingle: { index: bestIndex, test: fineTunes[bestIndex].test },
    uniform: { test: score(test)(uniform), heldOut: score(heldOut)(uniform) },
    greedy: { test: score(test)(greedy.soup), heldOut: greedy.score, members: greedy.members },
  });
  pv.dispose();
  pretrained.dispose();
  log(
    `soups seed ${seed}: best ${fineTunes[bestIndex].test} uniform/greedy ${JSON.stringify(soupRuns.at(-1)!.greedy)}`,
  );
}

// ---- flatness vs generalisation -----------------------------------------------------------------

const models: {
  seed: number;
  lr: number;
  batchSize: number;
  weightDecay: number;
  trainAccuracy: number;
  testAccuracy: number;
  gap: number;
  measures: Record<string, number>;
}[] = [];
for (const seed of config.correlation.seeds) {
  for (const hp of config.correlation.grid) {
    const model = mlp(seed, train);
    const trainer = await fit({
      model,
      trainData: train,
      evalData: test,
      maxDuration: `${config.correlation.epochs}ep`,
      batchSize: hp.batchSize,
      seed,
      kernels: ops,
      optimizer: sgd(hp.lr, hp.weightDecay),
    });
    const params = ops.download(trainer.state.pv.params);
    const trainAccuracy = evaluateSync(model, train).accuracy;
    const testAccuracy = trainer.state.metrics['eval/accuracy'];
    const measures = flatness(model, train, ops, params, seed);
    models.push({
      seed,
      ...hp,
      trainAccuracy,
      testAccuracy,
      gap: trainAccuracy - testAccuracy,
      measures,
    });
    trainer.dispose();
    model.dispose();
    log(
      `model lr ${hp.lr} bs ${hp.batchSize} wd ${hp.weightDecay}: test ${testAccuracy} ${JSON.stringify(measures)}`,
    );
  }
}
// A diverged model (NaN loss) has no flatness to rank: it is left out of the taus (and counted).
const finite = models.filter(
  (x) =>
    Number.isFinite(x.testAccuracy) && config.measures.every((m) => Number.isFinite(x.measures[m])),
);
const correlation = config.measures.map((m) => ({
  measure: m,
  models: finite.length,
  // Larger = sharper for every measure, so flat-generalises-better shows as a negative tau.
  tauTestAccuracy: kendallTau(
    finite.map((x) => x.measures[m]),
    finite.map((x) => x.testAccuracy),
  ),
  tauGap: kendallTau(
    finite.map((x) => x.measures[m]),
    finite.map((x) => x.gap),
  ),
}));

const totalMinutes = (performance.now() - started) / 60000;
// Two result files: averaging (SWA, FGE, soups; src/averaging/README.md) and flatness (sharpness
// of SWA vs SGD, flatness vs generalisation; src/flatness/README.md), from the same runs.
const shared = { config, engine: { backend: engine.backend, kernels: ops.name }, totalMinutes };
const path = writeResult(
  'averaging',
  {
    ...shared,
    swa: { runs: swaRuns.map(({ sharpness: _, ...r }) => r) },
    fge: { runs: fgeRuns },
    soups: { runs: soupRuns },
  },
  { smoke },
);
const flatnessPath = writeResult(
  'flatness',
  {
    ...shared,
    sharpness: swaRuns.map((r) => ({ setting: r.setting, seed: r.seed, ...r.sharpness })),
    correlation: { models, taus: correlation },
  },
  { smoke },
);
console.log(JSON.stringify({ totalMinutes, swa: swaRuns.length, correlation }));
console.log(`wrote ${path} and ${flatnessPath}`);
ops.dispose();
