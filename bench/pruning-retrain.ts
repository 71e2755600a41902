/**
 * Retraining after pruning (Zimmer, Spiegel & Pokutta 2023, "How I Learned To Stop Worrying And
 * Love Retraining", ICLR) under the evidence protocol (bench/README.md, "Protocol"; issue 21,
 * experiment 10).
 *
 * The claim: in prune-then-retrain with a small retraining budget, restarting the learning rate
 * at a high value and decaying it within the budget — SLR (Scaled Learning-rate Restarting, Le &
 * Hua 2021: the original schedule compressed into the budget) — beats fine-tuning at the final
 * learning rate (FT) and learning-rate rewinding (LRW); and IMP with short retraining matches or
 * beats gradual pruning at an equal total budget. The metric: test accuracy (%) after retraining.
 * The primary comparison, paired by seed (seed s: the same pre-trained network, the same pruning
 * mask and the same retraining data order in every arm): slr@90 minus ft@90, one-shot global
 * magnitude pruning to 90% sparsity; reproduced when the 95% interval lies above 0. Reported
 * without a verdict (bench/tables/pruning-retrain.ts: method x sparsity, mean ± sd): every
 * schedule at 80, 90 and 95%, CLR (cosine from the peak), IMP in 3 cycles with SLR at 90%, and
 * gradual pruning (Zhu & Gupta 2017) from scratch at the same total budget, at 90 and 95%.
 *
 * Arms (SGD momentum 0.9, lr 0.05, weight decay 5e-4, batch 128; the original run's lr
 * multiplier is the step schedule of Renda et al. and Le & Hua: 1, then 0.1 from 50% and 0.01
 * from 75% of the run):
 * - dense: the pre-training, P steps (3 epochs of the subset), once per seed; its weights are
 *   cached on disk at a clean commit (os.tmpdir()/anneal-pruning-retrain, keyed by the settings,
 *   the commit and the seed) and every other arm of the seed but gradual starts from them. Its
 *   extra holds the accuracy right after one-shot pruning at each sparsity (the same for every
 *   one-shot arm).
 * - <ft|lrw|slr|clr>@<80|90|95>: one-shot global magnitude pruning of the pre-trained network
 *   (conv and dense kernels but the first and last layer), then R = 20% of P steps of retraining
 *   with that schedule (src/pruning/schedule.ts; slr and clr warm up linearly over 10% of R).
 *   With the step schedule and R < 25% of P, LRW replays the flat tail at the final lr: it is FT
 *   by construction here (kept so that the table says so).
 * - imp3-slr@90: IMP in 3 prune-retrain cycles to 90% (54%, 78%, 90%), SLR, the same R in all.
 * - gradual@<90|95>: Zhu & Gupta's gradual pruning during training from scratch (the seed's
 *   initial weights and data order), P + R steps with the original schedule stretched over them,
 *   the sparsity rising along the cubic from 0 to the target until 75% of the run, updated every
 *   5%: the same total budget as pre-training plus retraining.
 *
 * Scale: Fashion-MNIST 20k/10k (the first 20k of the training set, for the budget), the CNN;
 * 5 seeds. The paper's budgets are hundreds of epochs on CIFAR and ImageNet; this one is 3 epochs
 * of 20k and 0.6 epoch of retraining. Resumable: each finished (arm, seed) is recorded as it
 * ends; run it again to continue. Run it from a worktree at a committed tree (bench/worktree.sh).
 *
 * Usage: npx tsx bench/pruning-retrain.ts [--smoke] [--fresh] [--allow-dirty]
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { loadDataset, type Dataset } from '../src/data/index.js';
import { initEngine } from '../src/engine/index.js';
import { gradualPruning } from '../src/methods/gradual-pruning/index.js';
import { createModel } from '../src/models/index.js';
import { prune } from '../src/pruning/imp.js';
import { evaluateTopK } from '../src/pruning/metrics.js';
import type { RetrainSchedule } from '../src/pruning/schedule.js';
import { Trainer } from '../src/train/trainer.js';
import { openExperiment, optionsFromArgv, runPending, type Arm } from './lib/experiment.js';

const opts = optionsFromArgv();
const smoke = opts.smoke;

const BATCH = smoke ? 32 : 128;
const TRAIN = smoke ? 256 : 20000;
const TEST = smoke ? 128 : undefined; // the full 10k test set
const STEPS_PER_EPOCH = Math.ceil(TRAIN / BATCH);
/** P: the pre-training, in steps (3 epochs; smoke 4 epochs of 8 steps). */
const PRETRAIN = (smoke ? 4 : 3) * STEPS_PER_EPOCH;
/** R: the retraining budget, 20% of P. */
const RETRAIN = Math.round(0.2 * PRETRAIN);
const SPARSITIES = [0.8, 0.9, 0.95];
const SCHEDULES: RetrainSchedule[] = ['ft', 'lrw', 'slr', 'clr'];
const IMP_CYCLES = 3;
/** Gradual pruning from scratch at the two highest sparsities only (it costs P + R a run). */
const GRADUAL_SPARSITIES = [0.9, 0.95];
const OPTIMIZER = { name: 'sgd', lr: 0.05, momentum: 0.9, weightDecay: 5e-4 };
const ORIGINAL_SCHEDULE = { name: 'multistep', milestones: ['0.5dur', '0.75dur'], gamma: 0.1 };
const GRADUAL = { end: '0.75dur', frequency: '0.05dur' };
const data = smoke
  ? { name: 'synthetic', limit: TRAIN, testLimit: TEST }
  : { name: 'fashion-mnist', limit: TRAIN };
const modelOptions = smoke ? { filters: [4], denseUnits: 16 } : {};

const pct = (s: number) => Math.round(100 * s);
const arms: Arm[] = [
  { name: 'dense', steps: PRETRAIN, samplesPerStep: BATCH, settings: { kind: 'dense' } },
  ...SPARSITIES.flatMap((sparsity) =>
    SCHEDULES.map((retrain): Arm => ({
      name: `${retrain}@${pct(sparsity)}`,
      steps: RETRAIN,
      samplesPerStep: BATCH,
      settings: { kind: 'prune', retrain, sparsity, cycles: 1 },
    })),
  ),
  {
    name: 'imp3-slr@90',
    steps: RETRAIN,
    samplesPerStep: BATCH,
    settings: { kind: 'prune', retrain: 'slr', sparsity: 0.9, cycles: IMP_CYCLES },
  },
  ...GRADUAL_SPARSITIES.map((sparsity): Arm => ({
    name: `gradual@${pct(sparsity)}`,
    steps: PRETRAIN + RETRAIN,
    samplesPerStep: BATCH,
    settings: { kind: 'gradual', sparsity, ...GRADUAL },
  })),
];

const config = {
  data,
  model: { name: 'cnn', ...modelOptions },
  batchSize: BATCH,
  optimizer: OPTIMIZER,
  originalSchedule: ORIGINAL_SCHEDULE,
  pretrainSteps: PRETRAIN,
  retrainSteps: RETRAIN,
  criterion: 'global-magnitude',
  warmupFraction: 0.1,
};

const exp = openExperiment(
  {
    name: 'pruning-retrain',
    claim: {
      paper: 'Zimmer et al. (2023)',
      claim:
        'With a small retraining budget after pruning, restarting the learning rate and decaying it within the budget (SLR) beats fine-tuning at the final learning rate (FT).',
      metric: 'test accuracy after retraining (%)',
      primary: { arm: 'slr@90', baseline: 'ft@90', direction: 'greater' },
    },
    config,
    arms,
    seeds: smoke ? [0, 1] : [0, 1, 2, 3, 4],
    scale: smoke
      ? 'smoke: 256 synthetic samples, a small CNN'
      : `Fashion-MNIST 20k/10k, CNN, SGD momentum; pre-training ${PRETRAIN} steps (3 epochs), one-shot global magnitude pruning, retraining ${RETRAIN} steps (20%)`,
  },
  opts,
);

await initEngine();
const train: Dataset = await loadDataset(data.name, {
  split: 'train',
  limit: TRAIN,
  seed: 0,
});
const test: Dataset = await loadDataset(data.name, { split: 'test', limit: TEST, seed: 1 });

function buildModel(seed: number): tfl.LayersModel {
  return createModel('cnn', {
    ...modelOptions,
    inputShape: train.shape,
    numClasses: train.numClasses,
    seed,
  });
}

const accuracy = async (model: tfl.LayersModel) => 100 * (await evaluateTopK(model, test)).top1;

// The pre-trained weights of each seed, in memory and on disk (a resumed run reuses them).
const pretrained = exp.perSeed(
  async (seed) => {
    const model = buildModel(seed);
    const trainer = new Trainer({
      model,
      trainData: train,
      maxDuration: `${PRETRAIN}ba`,
      batchSize: BATCH,
      seed,
      optimizer: OPTIMIZER,
      schedules: { lr: ORIGINAL_SCHEDULE },
    });
    try {
      await trainer.fit();
    } finally {
      trainer.dispose();
    }
    const weights = model.getWeights().map((w) => w.dataSync() as Float32Array);
    model.dispose();
    return weights;
  },
  {
    encode: (weights) => JSON.stringify(weights.map((w) => Array.from(w))),
    decode: (text) => (JSON.parse(text) as number[][]).map((w) => Float32Array.from(w)),
  },
);

/** A model holding seed `seed`'s pre-trained weights. */
async function pretrainedModel(seed: number): Promise<tfl.LayersModel> {
  const weights = await pretrained.get(seed);
  const model = buildModel(seed);
  const tensors = model.getWeights().map((w, i) => tf.tensor(weights[i], w.shape));
  model.setWeights(tensors);
  tf.dispose(tensors);
  return model;
}

interface Settings {
  kind: 'dense' | 'prune' | 'gradual';
  retrain?: RetrainSchedule;
  sparsity?: number;
  cycles?: number;
}

async function runOne(arm: Arm, seed: number, probe?: number, evaluate = true) {
  const s = arm.settings as Settings;
  const started = performance.now();
  const seconds = () => Number(((performance.now() - started) / 1000).toFixed(1));
  if (s.kind === 'dense') {
    const model = await pretrainedModel(seed);
    const metric = await accuracy(model);
    model.dispose();
    // The accuracy right after one-shot pruning (no retraining): the same mask in every arm.
    const afterPrune: number[] = [];
    for (const sparsity of SPARSITIES) {
      const m = await pretrainedModel(seed);
      const r = await prune({
        model: m,
        trainData: train,
        evalData: test,
        batchSize: BATCH,
        seed,
        optimizer: OPTIMIZER,
        original: { duration: `${PRETRAIN}ba`, schedule: ORIGINAL_SCHEDULE },
        criterion: 'global-magnitude',
        target: sparsity,
        retrainDuration: '0ba',
      });
      afterPrune.push(100 * r.cycles[0].afterPrune!.top1);
      m.dispose();
    }
    return { metric, extra: { sparsities: SPARSITIES, afterPrune, seconds: seconds() } };
  }
  if (s.kind === 'prune') {
    const model = await pretrainedModel(seed);
    const r = await prune({
      model,
      trainData: train,
      batchSize: BATCH,
      seed,
      optimizer: OPTIMIZER,
      original: { duration: `${PRETRAIN}ba`, schedule: ORIGINAL_SCHEDULE },
      criterion: 'global-magnitude',
      target: s.sparsity!,
      cycles: s.cycles,
      retrain: s.retrain,
      budget: `${probe ?? arm.steps}ba`,
      warmupFraction: config.warmupFraction,
    });
    const metric = await accuracy(model);
    model.dispose();
    return {
      metric,
      extra: {
        sparsity: r.cycles.at(-1)!.sparsity,
        cycleSparsities: r.cycles.map((c) => c.sparsity),
        retrainLr: r.cycles.map((c) => c.retrainLr),
        compression: r.metrics.compressionRatio,
        flopsSpeedup: r.metrics.speedup,
        seconds: seconds(),
      },
    };
  }
  const model = buildModel(seed);
  const method = gradualPruning({
    target: s.sparsity!,
    criterion: 'global-magnitude',
    end: GRADUAL.end,
    frequency: GRADUAL.frequency,
  });
  const trainer = new Trainer({
    model,
    trainData: train,
    maxDuration: `${probe ?? arm.steps}ba`,
    batchSize: BATCH,
    seed,
    optimizer: OPTIMIZER,
    schedules: { lr: ORIGINAL_SCHEDULE },
    methods: [method],
  });
  try {
    await trainer.fit();
  } finally {
    trainer.dispose();
  }
  const metric = evaluate ? await accuracy(model) : NaN;
  model.dispose();
  return { metric, extra: { sparsity: s.sparsity, seconds: seconds() } };
}

// The plan's estimate: 20 training steps of a gradual run, and one evaluation on the test set
// (about 20 evaluations a seed, printed beside it).
let probeStarted = performance.now();
await runOne(arms.at(-1)!, 0, 20, false);
const msPerStep = (performance.now() - probeStarted) / 20;
probeStarted = performance.now();
const probeModel = buildModel(0);
await accuracy(probeModel);
probeModel.dispose();
const evalSeconds = (performance.now() - probeStarted) / 1000;
console.log(exp.planText({ msPerStep }));
const evals = (arms.length + SPARSITIES.length) * exp.plan.seeds.length;
console.log(
  `  evaluations: ${evals} on ${test.length} test samples, ${evalSeconds.toFixed(1)} s each = ${((evals * evalSeconds) / 60).toFixed(1)} min more`,
);
await runPending(exp, (arm, seed) => runOne(arm, seed));
