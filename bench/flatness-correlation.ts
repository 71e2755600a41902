/**
 * Flatness vs generalisation over a population of converged models (Keskar, Mudigere, Nocedal,
 * Smelyanskiy & Tang 2017, "On Large-Batch Training for Deep Learning: Generalization Gap and
 * Sharp Minima"; Jiang, Neyshabur, Mobahi, Krishnan & Bengio 2020, "Fantastic Generalization
 * Measures and Where to Find Them"), under the evidence protocol (bench/README.md, "Protocol";
 * issue 21, experiment 6, second part).
 *
 * The claim (Jiang et al.): across models trained to the same low training loss with varied
 * hyper-parameters, sharpness-based measures correlate with the generalisation gap, and better
 * than norm-based measures such as the parameter norm. The metric: Kendall's tau (tau-b, src/
 * flatness/kendall.ts) between a measure and the generalisation gap over one population of
 * converged models; the gap is test error - train error (percentage points; Jiang et al.'s gap,
 * in error). The primary comparison, paired by seed (each seed is one population, the same
 * models measured both ways): arm `sharpness` (Keskar's epsilon-sharpness, box, eps 1e-3, 10
 * ascent steps: the library's `sharpness` measure) minus arm `param_norm` (the L2 norm of all
 * weights and biases, Jiang's params.norm); reproduced when the 95% t-interval of the paired
 * difference of taus lies above 0, refuted when below, inconclusive otherwise. Reported without a
 * verdict: the taus of local entropy (Langevin mean loss increase, gamma 100, 20 steps; larger =
 * sharper), the ball epsilon-sharpness and the filter-normalised random-perturbation sharpness
 * (sigma 0.1, 5 directions; close to Jiang's magnitude-aware PAC-Bayes flatness), each with the
 * gap; every measure's tau with test error, the distance from initialisation, and Jiang's
 * granulated tau (Psi: tau within each group of models that differ in one hyper-parameter only,
 * averaged over groups, then over the four hyper-parameters) in each record's `extra`; every
 * model's numbers (hyper-parameters, steps, losses, errors, measures) in the sharpness record.
 *
 * The population, the same grid for every seed (24 models): SGD with momentum 0.9 (the
 * registry's 'momentum', L2 weight decay), cosine decay of lr over the step cap, and
 * lr {0.02, 0.05} x batch {32, 256} x weight decay {0, 1e-3} x MLP hidden {[128], [512],
 * [256, 256]}. The convergence criterion, stated in advance: cross-entropy on the whole training
 * subset below 0.01 (Jiang et al.'s), checked every 20 steps; a model that has not reached it
 * after 1,600 steps (or that diverged) is excluded from the taus and counted. Seed s: the
 * models' initial weights, the data order and the measures' random directions; the training
 * subset (the first 1,000 Fashion-MNIST training images) and the grid are the same for every
 * seed. Flatness measures on the whole training subset, at the converged weights.
 *
 * Scale: Fashion-MNIST 1k/10k (a subset small enough that every MLP of the grid memorises it
 * within the budget), 24 models a seed, at most 1,600 steps each (38,400 steps a population; the
 * models stopped by the criterion take fewer), 5 seeds. Cost: probes of the grid's slowest
 * corners (lr 0.02 at batch 32 and 256, weight decay 1e-3) converged after 1,030-1,150 steps, the
 * fastest (lr 0.05, batch 256) after ~360, so ~120,000 MLP steps in all, plus ~45 full passes over
 * the 1,000 training samples for the measures of each converged model: about 6-8 minutes at the
 * idle MLP step time. (The cosine schedule runs over the cap, so a model that meets the criterion
 * early stops part-way down it.) Resumable per seed: the population is
 * trained once per seed, recorded with the first arm (sharpness), and the other arms read it back
 * from that record; run the script again to continue. Run it from a worktree at a committed tree
 * (bench/worktree.sh).
 *
 * Usage: npx tsx bench/flatness-correlation.ts [--smoke] [--fresh] [--allow-dirty]
 */
import { loadDataset, syntheticDataset, type Dataset } from '../src/data/index.js';
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
/** Steps at most a model (the cosine schedule's length), and the interval of the check. */
const CAP = smoke ? 200 : 1600;
const CHECK = 20;
const MOMENTUM = 0.9;
const TRAIN = smoke ? 256 : 1000;

const GRID = {
  lr: smoke ? [0.02] : [0.02, 0.05],
  batchSize: smoke ? [16, 64] : [32, 256],
  weightDecay: [0, 1e-3],
  hidden: smoke ? [[16], [64]] : [[128], [512], [256, 256]],
};
type Hyper = { lr: number; batchSize: number; weightDecay: number; hidden: number[] };
const AXES = ['lr', 'batchSize', 'weightDecay', 'hidden'] as const;
const POPULATION: Hyper[] = GRID.lr.flatMap((lr) =>
  GRID.batchSize.flatMap((batchSize) =>
    GRID.weightDecay.flatMap((weightDecay) =>
      GRID.hidden.map((hidden) => ({ lr, batchSize, weightDecay, hidden })),
    ),
  ),
);

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
const capSamples = POPULATION.reduce((s, h) => s + CAP * h.batchSize, 0);
const arms: Arm[] = Object.entries(ARM_VALUES).map(([name, value]) =>
  name === POPULATION_ARM
    ? {
        name,
        // The population's cap: every model at its step cap (models that converge stop earlier).
        steps: CAP * POPULATION.length,
        samplesPerStep: Math.round(capSamples / (CAP * POPULATION.length)),
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
      optimizer: { name: 'momentum', momentum: MOMENTUM },
      schedule: 'cosine over the cap',
      threshold: THRESHOLD,
      cap: CAP,
      check: CHECK,
      measures: MEASURES,
      measureOptions: MEASURE_OPTIONS,
    },
    arms,
    seeds: smoke ? [0, 1] : [0, 1, 2, 3, 4],
    scale: smoke
      ? `smoke: ${TRAIN} synthetic samples, ${POPULATION.length} MLPs a seed`
      : `Fashion-MNIST 1k/10k, ${POPULATION.length} MLPs a seed (lr x batch x weight decay x width/depth), each trained to train loss < ${THRESHOLD} or ${CAP.toLocaleString('en-US')} steps`,
  },
  opts,
);

/** One model of a population: its hyper-parameters, training and measures. */
interface ModelRow extends Hyper {
  steps: number;
  converged: boolean;
  diverged: boolean;
  trainLoss: number;
  /** Errors and the gap in percentage points. */
  trainError: number;
  testLoss?: number;
  testError?: number;
  gap?: number;
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
  `engine ${engine.backend}, kernels ${ops.name}; train ${train.length}, test ${test.length}; ` +
    `${POPULATION.length} models a seed, converged when train loss < ${THRESHOLD} (checked every ${CHECK} steps, at most ${CAP})`,
);

const norm = (x: Float32Array) => Math.sqrt(x.reduce((s, v) => s + v * v, 0));

/** Trains one model of the grid with seed `seed`; `probe`: only that many steps, no measures. */
async function trainModel(h: Hyper, seed: number, probe?: number): Promise<ModelRow> {
  const started = performance.now();
  const model = createModel('mlp', {
    inputShape: train.shape,
    numClasses: train.numClasses,
    seed,
    hidden: h.hidden,
  });
  const trainer = new Trainer({
    model,
    trainData: train,
    maxDuration: `${CAP}ba`,
    batchSize: h.batchSize,
    seed,
    kernels: ops,
    optimizer: { name: 'momentum', lr: h.lr, momentum: MOMENTUM, weightDecay: h.weightDecay },
    schedules: { lr: { name: 'cosine' } },
    evalInterval: `${CAP}ba`,
  });
  try {
    const initial = ops.download(trainer.state.pv.params);
    let at = { loss: NaN, accuracy: NaN };
    let steps = 0;
    for (;;) {
      const r = await trainer.fit({ duration: `${Math.min(CHECK, probe ?? CHECK)}ba` });
      steps = trainer.state.timestamp.step;
      at = evaluateSync(model, train);
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
      row.lossGap = t.loss - at.loss;
      row.paramNorm = norm(params);
      row.distanceFromInit = norm(params.map((v, i) => v - initial[i]));
      const obj = new ModelObjective(model, train, ops);
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
      `  seed ${seed} model ${i + 1}/${POPULATION.length} lr ${h.lr} batch ${h.batchSize} wd ${h.weightDecay} hidden [${h.hidden.join(',')}]: ` +
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

// The plan's estimate: a probe of 40 steps of the slowest model (batch 256, the widest MLP),
// check included; it errs high for batch 32 and leaves out the measures (~45 full-batch passes
// over the training subset per converged model).
const probeStarted = performance.now();
const slowest = POPULATION.at(-1)!;
await trainModel({ ...slowest, batchSize: maxOf(GRID.batchSize) }, 0, 40);
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
