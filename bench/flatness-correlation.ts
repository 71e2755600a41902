/**
 * Flatness vs generalisation over a population of converged models whose generalisation varies
 * (Keskar, Mudigere, Nocedal, Smelyanskiy & Tang 2017, "On Large-Batch Training for Deep
 * Learning: Generalization Gap and Sharp Minima"; Jiang, Neyshabur, Mobahi, Krishnan & Bengio
 * 2020, "Fantastic Generalization Measures and Where to Find Them"), under the evidence protocol
 * (bench/README.md, "Protocol"; issue 21, experiment 6, second part).
 *
 * The claim (Jiang et al.): across models trained to the same low training loss with varied
 * hyper-parameters, sharpness-based measures correlate with the generalisation gap, and better
 * than norm-based measures such as the parameter norm. The metric: Kendall's tau (tau-b, src/
 * flatness/kendall.ts) between a measure and the generalisation gap over one population of
 * converged models. The primary comparison, paired by seed (each seed is one population, the same
 * models measured both ways): arm `sharpness` (Keskar's epsilon-sharpness, box, eps 1e-3, 10
 * ascent steps: the library's `sharpness` measure) minus arm `param_norm` (the L2 norm of all
 * weights and biases, Jiang's params.norm); reproduced when the 95% t-interval of the paired
 * difference of taus lies above 0, refuted when below, inconclusive otherwise. Reported without a
 * verdict: the taus of local entropy (Langevin mean loss increase, gamma 100, 20 steps; larger =
 * sharper), the ball epsilon-sharpness and the filter-normalised random-perturbation sharpness
 * (sigma 0.1, 5 directions; close to Jiang's magnitude-aware PAC-Bayes flatness), each with the
 * gap; every measure's tau with test error, with the gap to the clean-label train error, the
 * distance from initialisation, and Jiang's granulated tau (Psi: tau within each group of models
 * that differ in one factor only, averaged over groups, then over the four factors) in each
 * record's `extra`; every model's numbers (factors, steps, losses, errors, measures) in the
 * sharpness record.
 *
 * The gap: test error (the clean 10k test set) - train error on the training subset the model
 * saw, WITH ITS NOISY LABELS where the model was trained with label noise (percentage points).
 * Jiang et al. define the gap as the error on the data distribution minus the error on the
 * training set S it was trained on; their CIFAR-10/SVHN training sets carry no injected noise, so
 * their train error is on the labels the model fitted. That is the error the convergence
 * criterion, and every flatness measure (each a function of the loss on S), refer to, so it is
 * the train error here too; the clean-label train error (about the noise rate for a model that
 * memorised the flipped labels) gives a second gap, whose taus are kept as `tauCleanGap`. Both
 * use the same test error, and at the criterion the noisy-label train error is near 0, so the gap
 * is close to the test error itself.
 *
 * The population, the same grid for every seed (32 models): the first n Fashion-MNIST training
 * images, n {250, 500, 1000, 2000} (nested subsets) x symmetric label noise {0, 0.2} (exactly
 * 20% of the subset's labels flipped to another class, src/data/label-noise.ts, noise seed 0:
 * the same flips for every model seed) x batch {32, 256} (at n 250, batch 256 is the whole
 * subset: full-batch steps) x MLP hidden {[512], [256, 256]}. Training-set size and label noise
 * are the factors that move generalisation (the first population, lr x batch x weight decay x
 * width at n 1000, memorised the same 1k samples and its gaps spanned only 19.2-20.7 points);
 * batch is Keskar's factor for sharpness; depth changes how fast the MLP memorises. Every model:
 * SGD with momentum 0.9 (the registry's 'momentum'), lr 0.02 (lr 0.05 at batch 32 did not
 * memorise 4,000 noisy labels in 6,400 steps in a probe), no weight decay, cosine decay of lr
 * over the step cap. The convergence criterion, stated in advance: cross-entropy on the whole
 * training subset (its noisy labels) below 0.01 (Jiang et al.'s), checked every 20 steps; a
 * model that has not reached it by its cap (or that diverged) is excluded from the taus and
 * counted. The cap grows with the subset, 2.4 steps a sample and at least 1,600 (1,600, 1,600,
 * 2,400, 4,800 steps): a probe of n 2,000 with noise at batch 32 had train error 0 but
 * cross-entropy 0.018 at the end of a 3,200-step cosine. Seed s: the models' initial weights, the
 * data order and the measures' random directions; the subsets, the flips and the grid are the
 * same for every seed. Flatness measures on the whole training subset (its noisy labels), at the
 * converged weights.
 *
 * Scale: Fashion-MNIST 250-2k/10k, 32 models a seed, 5 seeds; at most 83,200 steps a
 * population (the caps), fewer as the models stop at the criterion. Cost, from probes on the
 * loaded 2-core machine: n 2,000 with noise at batch 32 ([512]) ran its 3,200-step cap in 31 s
 * (the loss checks included), the same set at batch 256 ([256, 256]) met the criterion after 800
 * steps in 15 s, and the measures take 3-8 s a converged model (they scale with n): about 5-8
 * minutes a seed, 30-40 minutes in all. Resumable per seed: the population is trained once per
 * seed, recorded with the first arm (sharpness), and the other arms read it back from that
 * record; run the script again to continue. Run it from a worktree at a committed tree
 * (bench/worktree.sh).
 *
 * Usage: npx tsx bench/flatness-correlation.ts [--smoke] [--fresh] [--allow-dirty]
 */
import {
  addLabelNoise,
  loadDataset,
  subset,
  syntheticDataset,
  type Dataset,
} from '../src/data/index.js';
import { initEngine } from '../src/engine/index.js';
import {
  kendallTau,
  measureFlatness,
  ModelObjective,
  type FlatnessMeasure,
} from '../src/flatness/index.js';
import { createFlatOps } from '../src/kernels/index.js';
import { createModel } from '../src/models/index.js';
import { maxOf, mean } from '../src/stats.js';
import { evaluateSync } from '../src/train/evaluate.js';
import { Trainer } from '../src/train/index.js';
import {
  openExperiment,
  optionsFromArgv,
  runPending,
  type Arm,
  type RunRecord,
} from './lib/experiment.js';

const opts = optionsFromArgv();
const smoke = opts.smoke;

/** Cross-entropy on the whole training subset below which a model counts as converged. */
const THRESHOLD = smoke ? 0.05 : 0.01;
/** The interval of the convergence check, in steps. */
const CHECK = 20;
const MOMENTUM = 0.9;
const LR = 0.02;
const WEIGHT_DECAY = 0;
/** Which labels the noise flips (the same for every model seed: part of the data). */
const NOISE_SEED = 0;

const GRID = {
  trainSize: smoke ? [128, 256] : [250, 500, 1000, 2000],
  labelNoise: [0, 0.2],
  batchSize: smoke ? [16, 64] : [32, 256],
  hidden: smoke ? [[16]] : [[512], [256, 256]],
};
type Hyper = { trainSize: number; labelNoise: number; batchSize: number; hidden: number[] };
const AXES = ['trainSize', 'labelNoise', 'batchSize', 'hidden'] as const;
const POPULATION: Hyper[] = GRID.trainSize.flatMap((trainSize) =>
  GRID.labelNoise.flatMap((labelNoise) =>
    GRID.batchSize.flatMap((batchSize) =>
      GRID.hidden.map((hidden) => ({ trainSize, labelNoise, batchSize, hidden })),
    ),
  ),
);
/**
 * Steps at most a model (the cosine schedule's length): 2.4 a training sample, at least 1,600,
 * so that the larger noisy subsets have the time to memorise (a probe of n 2,000 with noise at
 * batch 32 ended a 3,200-step cosine at cross-entropy 0.018).
 */
const capOf = (h: Hyper) => (smoke ? 200 : Math.max(1600, Math.round(2.4 * h.trainSize)));
const TRAIN = maxOf(GRID.trainSize);

/** The measures (src/flatness/measures.ts), each larger = sharper, with their options. */
const MEASURES: FlatnessMeasure[] = [
  'sharpness',
  'sharpness-ball',
  'perturbation-filter',
  'local-entropy',
];
const MEASURE_OPTIONS = {
  epsilon: 1e-3,
  steps: smoke ? 3 : 10,
  sigma: 0.1,
  samples: smoke ? 2 : 5,
  gamma: 100,
  langevinSteps: smoke ? 5 : 20,
};

/** Each arm: the per-model number whose Kendall tau with the gap it reports. */
const ARM_VALUES: Record<string, keyof ModelRow> = {
  sharpness: 'sharpness',
  param_norm: 'paramNorm',
  local_entropy: 'localEntropy',
  sharpness_ball: 'sharpnessBall',
  perturbation_filter: 'perturbationFilter',
  distance_from_init: 'distanceFromInit',
};
const POPULATION_ARM = 'sharpness';

const SMOKE_NOISE = 4;
const data = smoke
  ? { name: 'synthetic', noise: SMOKE_NOISE, train: TRAIN, test: 256 }
  : { name: 'fashion-mnist', train: TRAIN, test: 10000 };
const capSteps = POPULATION.reduce((s, h) => s + capOf(h), 0);
const capSamples = POPULATION.reduce((s, h) => s + capOf(h) * h.batchSize, 0);
const arms: Arm[] = Object.entries(ARM_VALUES).map(([name, value]) =>
  name === POPULATION_ARM
    ? {
        name,
        // The population's cap: every model at its step cap (models that converge stop earlier).
        steps: capSteps,
        samplesPerStep: Math.round(capSamples / capSteps),
        settings: { value, trains: 'the population' },
      }
    : // Measured on the population recorded with the sharpness arm: no training of its own.
      { name, steps: 0, samplesPerStep: 0, settings: { value, population: POPULATION_ARM } },
);

const exp = openExperiment(
  {
    name: 'flatness-correlation',
    claim: {
      paper: 'Jiang et al. (2020); Keskar et al. (2017)',
      claim:
        'Across models trained to the same low training loss with varied hyper-parameters, sharpness correlates with the generalisation gap, and better than the parameter norm.',
      metric: "Kendall's tau with the generalisation gap (test error - train error)",
      primary: { arm: 'sharpness', baseline: 'param_norm', direction: 'greater' },
    },
    config: {
      data,
      model: 'mlp',
      grid: GRID,
      optimizer: { name: 'momentum', lr: LR, momentum: MOMENTUM, weightDecay: WEIGHT_DECAY },
      labelNoise: { kind: 'symmetric', seed: NOISE_SEED },
      gap: 'test error - train error on the labels trained on (noisy where noisy)',
      schedule: 'cosine over the cap',
      threshold: THRESHOLD,
      cap: smoke ? 200 : '2.4 steps a training sample, at least 1,600',
      check: CHECK,
      measures: MEASURES,
      measureOptions: MEASURE_OPTIONS,
    },
    arms,
    seeds: smoke ? [0, 1] : [0, 1, 2, 3, 4],
    scale: smoke
      ? `smoke: ${TRAIN} synthetic samples, ${POPULATION.length} MLPs a seed`
      : `Fashion-MNIST 250-2k/10k, ${POPULATION.length} MLPs a seed (training-set size x label noise 0/20% x batch x width/depth), each trained to train loss < ${THRESHOLD} or 2.4 steps a sample (at least 1,600)`,
  },
  opts,
);

/** One model of a population: its hyper-parameters, training and measures. */
interface ModelRow extends Hyper {
  steps: number;
  converged: boolean;
  diverged: boolean;
  /** Cross-entropy and error on the training subset's labels (noisy where noisy). */
  trainLoss: number;
  /** Errors and the gaps in percentage points. */
  trainError: number;
  /** Error on the training subset's clean labels (= trainError without noise). */
  trainErrorClean?: number;
  testLoss?: number;
  testError?: number;
  /** The metric's gap: testError - trainError. */
  gap?: number;
  /** testError - trainErrorClean. */
  cleanGap?: number;
  lossGap?: number;
  sharpness?: number;
  sharpnessBall?: number;
  perturbationFilter?: number;
  localEntropy?: number;
  paramNorm?: number;
  distanceFromInit?: number;
  seconds: number;
}

const engine = await initEngine();
const ops = createFlatOps('auto');
// Smoke: synthetic patterns under heavy pixel noise, so that the MLPs overfit and have a gap.
const load = (split: 'train' | 'test', n: number): Promise<Dataset> | Dataset =>
  smoke
    ? syntheticDataset({ n, split, noise: SMOKE_NOISE })
    : loadDataset(data.name, { split, limit: n });
const train = await load('train', data.train);
const test = await load('test', data.test);
console.log(
  `engine ${engine.backend}, kernels ${ops.name}; train ${GRID.trainSize.join('/')} of ${train.length}, test ${test.length}; ` +
    `${POPULATION.length} models a seed, converged when train loss < ${THRESHOLD} (checked every ${CHECK} steps, at most ${POPULATION.map(capOf).join('/')})`,
);

/** The first n training samples, clean and with the labels the model trains on. */
const subsets = new Map<string, { clean: Dataset; trained: Dataset }>();
function trainingSet(h: Hyper): { clean: Dataset; trained: Dataset } {
  const key = `${h.trainSize}/${h.labelNoise}`;
  let sets = subsets.get(key);
  if (!sets) {
    const clean = subset(
      train,
      Array.from({ length: h.trainSize }, (_, i) => i),
    );
    const trained =
      h.labelNoise > 0
        ? addLabelNoise(clean, { rate: h.labelNoise, seed: NOISE_SEED }).dataset
        : clean;
    sets = { clean, trained };
    subsets.set(key, sets);
  }
  return sets;
}

const norm = (x: Float32Array) => Math.sqrt(x.reduce((s, v) => s + v * v, 0));

/** Trains one model of the grid with seed `seed`; `probe`: only that many steps, no measures. */
async function trainModel(h: Hyper, seed: number, probe?: number): Promise<ModelRow> {
  const started = performance.now();
  const { clean, trained } = trainingSet(h);
  const model = createModel('mlp', {
    inputShape: trained.shape,
    numClasses: trained.numClasses,
    seed,
    hidden: h.hidden,
  });
  const cap = capOf(h);
  const trainer = new Trainer({
    model,
    trainData: trained,
    maxDuration: `${cap}ba`,
    batchSize: h.batchSize,
    seed,
    kernels: ops,
    optimizer: { name: 'momentum', lr: LR, momentum: MOMENTUM, weightDecay: WEIGHT_DECAY },
    schedules: { lr: { name: 'cosine' } },
    evalInterval: `${cap}ba`,
  });
  try {
    const initial = ops.download(trainer.state.pv.params);
    let at = { loss: NaN, accuracy: NaN };
    let steps = 0;
    for (;;) {
      const r = await trainer.fit({ duration: `${Math.min(CHECK, probe ?? CHECK)}ba` });
      steps = trainer.state.timestamp.step;
      at = evaluateSync(model, trained);
      if (probe || at.loss < THRESHOLD || !Number.isFinite(at.loss) || r.runComplete) break;
    }
    const row: ModelRow = {
      ...h,
      steps,
      converged: at.loss < THRESHOLD,
      diverged: !Number.isFinite(at.loss),
      trainLoss: at.loss,
      trainError: 100 * (1 - at.accuracy),
      seconds: 0,
    };
    if (row.converged && !probe) {
      const params = ops.download(trainer.state.pv.params);
      const t = evaluateSync(model, test);
      row.testLoss = t.loss;
      row.testError = 100 * (1 - t.accuracy);
      row.gap = row.testError - row.trainError;
      row.trainErrorClean =
        clean === trained ? row.trainError : 100 * (1 - evaluateSync(model, clean).accuracy);
      row.cleanGap = row.testError - row.trainErrorClean;
      row.lossGap = t.loss - at.loss;
      row.paramNorm = norm(params);
      row.distanceFromInit = norm(params.map((v, i) => v - initial[i]));
      const obj = new ModelObjective(model, trained, ops);
      try {
        const rows = measureFlatness(obj, obj.initial, MEASURES, { seed, ...MEASURE_OPTIONS });
        const value = (m: FlatnessMeasure) => rows.find((x) => x.measure === m)!.value;
        row.sharpness = value('sharpness');
        row.sharpnessBall = value('sharpness-ball');
        row.perturbationFilter = value('perturbation-filter');
        row.localEntropy = value('local-entropy');
      } finally {
        obj.dispose();
      }
    }
    row.seconds = (performance.now() - started) / 1000;
    return row;
  } finally {
    trainer.dispose();
    model.dispose();
  }
}

/** Kendall's tau of `value` with `target` over the converged models (NaN with fewer than 2). */
function tau(rows: readonly ModelRow[], value: keyof ModelRow, target: keyof ModelRow): number {
  const ok = rows.filter(
    (r) => r.converged && Number.isFinite(r[value]) && Number.isFinite(r[target]),
  );
  if (ok.length < 2) return NaN;
  return kendallTau(
    ok.map((r) => r[value] as number),
    ok.map((r) => r[target] as number),
  );
}

/**
 * Jiang et al.'s granulated tau (Psi): for each hyper-parameter, the mean tau over the groups of
 * converged models that share every other hyper-parameter (groups of >= 2), then the mean over
 * the hyper-parameters that have any such group. Undefined taus (ties everywhere) are left out.
 */
function granulated(rows: readonly ModelRow[], value: keyof ModelRow, target: keyof ModelRow) {
  const perAxis: Record<string, number> = {};
  for (const axis of AXES) {
    const groups = new Map<string, ModelRow[]>();
    for (const r of rows.filter((x) => x.converged)) {
      const key = JSON.stringify(AXES.filter((a) => a !== axis).map((a) => r[a]));
      groups.set(key, [...(groups.get(key) ?? []), r]);
    }
    const taus = [...groups.values()]
      .filter((g) => g.length >= 2)
      .map((g) => tau(g, value, target))
      .filter((t) => Number.isFinite(t));
    if (taus.length > 0) perAxis[axis] = mean(taus);
  }
  const values = Object.values(perAxis);
  return { psi: values.length > 0 ? mean(values) : NaN, perAxis };
}

/** Trains the population of seed `seed` (the sharpness arm's run). */
async function population(seed: number): Promise<ModelRow[]> {
  const rows: ModelRow[] = [];
  for (const [i, h] of POPULATION.entries()) {
    const row = await trainModel(h, seed);
    rows.push(row);
    const f = (x: number | undefined, d = 3) => (x === undefined ? '–' : x.toPrecision(d));
    console.log(
      `  seed ${seed} model ${i + 1}/${POPULATION.length} n ${h.trainSize} noise ${h.labelNoise} batch ${h.batchSize} hidden [${h.hidden.join(',')}]: ` +
        `${row.steps} steps, train loss ${row.trainLoss.toPrecision(3)}` +
        (row.converged
          ? `, gap ${f(row.gap)} points, sharpness ${f(row.sharpness)}, norm ${f(row.paramNorm)}, local entropy ${f(row.localEntropy)}`
          : ' (not converged: excluded)') +
        ` (${row.seconds.toFixed(1)} s)`,
    );
  }
  return rows;
}

const populations = new Map<number, ModelRow[]>();
function recordedPopulation(seed: number): ModelRow[] | undefined {
  const r: RunRecord | undefined = exp.get(POPULATION_ARM, seed);
  return (r?.extra as { models?: ModelRow[] } | undefined)?.models;
}

// The plan's estimate: a probe of 40 steps of the slowest model (the largest subset, batch 256,
// the widest first layer), check included, over every model's cap; it errs high for batch 32 and
// for the models that stop at the criterion, and leaves out the measures (~45 full passes over
// the training subset per converged model).
const probeStarted = performance.now();
const widest = GRID.hidden.reduce((a, b) => (b[0] > a[0] ? b : a));
await trainModel(
  { ...POPULATION.at(-1)!, batchSize: maxOf(GRID.batchSize), hidden: widest },
  0,
  40,
);
console.log(exp.planText({ msPerStep: (performance.now() - probeStarted) / 40 }));

await runPending(exp, async (arm, seed) => {
  const value = ARM_VALUES[arm.name];
  let rows = populations.get(seed) ?? recordedPopulation(seed);
  const trained = !rows;
  if (!rows) {
    if (arm.name !== POPULATION_ARM) {
      throw new Error(`flatness-correlation: ${arm.name} seed ${seed} before its population`);
    }
    rows = await population(seed);
  }
  populations.set(seed, rows);
  const converged = rows.filter((r) => r.converged).length;
  const metric = tau(rows, value, 'gap');
  const extra: Record<string, unknown> = {
    value,
    converged,
    excluded: rows.length - converged,
    diverged: rows.filter((r) => r.diverged).length,
    steps: rows.reduce((s, r) => s + r.steps, 0),
    tauTestError: tau(rows, value, 'testError'),
    tauLossGap: tau(rows, value, 'lossGap'),
    tauCleanGap: tau(rows, value, 'cleanGap'),
    granulated: granulated(rows, value, 'gap'),
  };
  // The population itself is kept once, in the record of the arm that trained it.
  if (trained) {
    extra.models = rows;
    extra.seconds = rows.reduce((s, r) => s + r.seconds, 0);
  }
  console.log(
    `  ${arm.name} seed ${seed}: tau with the gap ${metric.toFixed(3)} over ${converged} of ${rows.length} models` +
      ` (granulated ${(extra.granulated as { psi: number }).psi.toFixed(3)})`,
  );
  return { metric, extra };
});
