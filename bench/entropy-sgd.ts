/**
 * Entropy-SGD (Chaudhari, Choromanska, Soatto, LeCun, Baldassi, Borgs, Chayes, Sagun & Zecchina
 * 2017, "Entropy-SGD: Biasing Gradient Descent Into Wide Valleys") and Replicated-SGD (Baldassi,
 * Pittorino & Zecchina 2020; Pittorino et al. 2021) against SGD at EQUAL GRADIENT EVALUATIONS,
 * under the evidence protocol (bench/README.md, "Protocol"; issue 21, experiment 6).
 *
 * The claim, and why it is an equivalence: Entropy-SGD steers training into wide valleys and,
 * counted in effective epochs (epochs x L, one per gradient evaluation), reaches generalisation
 * comparable to SGD's in the same or less training. The paper's own test errors are within about
 * a tenth of a point of SGD's, better on some networks and worse on others: its headline at equal
 * budget is "comparable", not "better", so the primary comparison is an equivalence, stated now:
 * |entropy_sgd - sgd| < 0.5 points of test accuracy, by TOST (alpha 0.05). 0.5 points is about 5%
 * of this MLP's ~11% test error, five times the paper's differences: a larger deficit would not be
 * "comparable", a larger gain would be a finding beyond the claim. (A 'greater' test would ask
 * for more than the paper shows.) The metric: test accuracy (%) at the end of the run, of the
 * weights each optimizer stands for (the Trainer evaluates optimizer.evaluationWeights(): Entropy-
 * SGD's outer x, not the Langevin iterate; Replicated-SGD's centre, not a replica; and settles
 * them into the model at the run's end, which is where the flatness numbers below are taken).
 * Paired by seed: the same initial weights and data order in every arm. Reported without a
 * verdict: replicated_sgd - sgd; each final model's train loss and accuracy (the whole training
 * set), a perturbation sharpness and a local entropy (src/flatness, on the first 2,000 training
 * samples), with paired differences. All of them are in each record's `extra`, with the arm's
 * hyper-parameters, for a later flatness-generalisation correlation (not run here).
 *
 * Gradient evaluations. Every Trainer step is one mini-batch gradient (batch 128), in every arm,
 * so B = 7,500 steps a run is 7,500 gradient evaluations (16 epochs of 60,000 samples):
 * - sgd: 7,500 SGD steps with Nesterov momentum 0.9 (the paper's baseline), lr 0.05.
 * - entropy_sgd: L = 20 inner Langevin steps an outer step (each on its own mini-batch), so
 *   7,500 / 20 = 375 outer steps (the registry's implementation takes no extra gradient at x per
 *   outer step; the paper's code takes one, L + 1 = 21, which would leave 357). Inner loop: the
 *   registry's defaults, taken from the paper's code (gamma 0.03 scoped by (1 + 1e-3) an outer
 *   step, Langevin lr 0.1, noise 1e-4, mu's running-mean weight 0.25; the code also puts its
 *   momentum on the inner steps, the registry's Langevin step has none). Outer step: the
 *   registry's defaults, the code's: x -= lr (x - mu) with lr 1 and Nesterov momentum 0.9 (until
 *   this experiment the registry scaled the step by gamma, as the paper's Algorithm 1 writes it:
 *   3% of the code's step, which on a 2-epoch probe (one seed) reached 70% test accuracy where SGD
 *   and the code's step reached 88%).
 * - replicated_sgd: y = 3 replicas x 2,500 steps each = 7,500; each replica steps as the baseline
 *   (lr 0.05, Nesterov 0.9, its own momentum), coupled to the centre by gamma growing from 1e-3 to
 *   1 over the run (scoping 1000^(1/2500) - 1 = 0.28% a round; the registry's 1% a round would
 *   reach 6e7, far past stability), initial spread 0.01 (the registry's).
 * Every arm: cosine decay of lr to 0 over the run (Entropy-SGD: its outer lr), no weight decay;
 * Langevin noise and replica spread seeded by the run's seed.
 *
 * Scale: Fashion-MNIST 60k/10k, the MLP 784-256-128-10 (the paper's MNIST network is an MLP,
 * mnistfc; this one is smaller, without dropout), 16 epochs a run; 3 arms x 5 seeds x 7,500 steps
 * = 112,500 steps. Cost: an MLP step took 12 ms and a CNN step 104 ms on this machine under
 * load (the CNN's ~75 ms idle), so the training is ~13,000 CNN-step equivalents; the flatness
 * measures and the whole-training-set evaluation add ~1,000 MLP steps' worth a run (local
 * entropy: 50 full-batch gradients on 2,000 samples), ~1,700 CNN steps in all: ~14,700 of the
 * issue's 15,000, about 25 minutes at 12 ms an MLP step. The CNN at this budget would get about
 * 2 epochs a run, ~50 outer Entropy-SGD steps: too few for the claim (the flat minimum of a run
 * that has not converged) and no converged models for the later correlation. Resumable: each
 * finished (arm, seed) is recorded as it ends; run it again to continue. Run it from a worktree
 * at a committed tree (bench/worktree.sh).
 *
 * Usage: npx tsx bench/entropy-sgd.ts [--smoke] [--fresh] [--allow-dirty]
 */
import { localEntropy, ModelObjective, perturbationSharpness } from '../src/flatness/index.js';
import type { OptimizerSpec } from '../src/optim/registry.js';
import { loadRecipeInputs, parseRecipe, recipeTrainerOptions } from '../src/runs/recipe.js';
import { Trainer } from '../src/train/trainer.js';
import { openExperiment, optionsFromArgv, runPending, type Arm } from './lib/experiment.js';

const opts = optionsFromArgv();
const smoke = opts.smoke;

const BATCH = 128;
/** Gradient evaluations (Trainer steps) a run, every arm: 16 epochs of 60,000 at batch 128. */
const STEPS = smoke ? 60 : 7500;
const LR = 0.05;
const MOMENTUM = 0.9;
/** Entropy-SGD: inner Langevin steps per outer step, and the initial coupling. */
const L = 20;
const GAMMA0 = 0.03;
/** Replicated-SGD: replicas, and the coupling's growth from GAMMA_START to GAMMA_END. */
const REPLICAS = 3;
const GAMMA_START = 1e-3;
const GAMMA_END = 1;
const ROUNDS = STEPS / REPLICAS;
if (!Number.isInteger(STEPS / L) || !Number.isInteger(ROUNDS)) {
  throw new Error(`entropy-sgd: STEPS (${STEPS}) must be a multiple of L and of the replicas`);
}
/** Flatness measures of each final model, on the first `samples` training samples. */
const FLATNESS = {
  samples: smoke ? 128 : 2000,
  sharpness: { sigma: 0.1, directions: smoke ? 2 : 5, filterNormalized: true },
  localEntropy: { gamma: 100, steps: smoke ? 10 : 50, eta: 0.01, noise: 1e-2 },
};

const data = smoke ? { name: 'synthetic', limit: 256, testLimit: 128 } : { name: 'fashion-mnist' };
const model = { name: 'mlp', options: { hidden: smoke ? [16] : [256, 128] } };

/** The arm's optimizer; seeded fields (Langevin noise, replica spread) take the run's seed. */
const optimizers: Record<string, OptimizerSpec> = {
  sgd: { name: 'sgd', lr: LR, momentum: MOMENTUM, nesterov: true, weightDecay: 0 },
  entropy_sgd: {
    name: 'entropy_sgd',
    lr: 1,
    momentum: MOMENTUM,
    nesterov: true,
    weightDecay: 0,
    langevinSteps: L,
    gamma: GAMMA0,
    scoping: 1e-3,
    langevinLr: 0.1,
    noise: 1e-4,
    langevinAlpha: 0.25,
  },
  replicated_sgd: {
    name: 'replicated_sgd',
    lr: LR,
    momentum: MOMENTUM,
    nesterov: true,
    weightDecay: 0,
    replicas: REPLICAS,
    gamma: GAMMA_START,
    scoping: Math.pow(GAMMA_END / GAMMA_START, 1 / ROUNDS) - 1,
    initSigma: 0.01,
  },
};

const arms: Arm[] = Object.entries(optimizers).map(([name, optimizer]) => ({
  name,
  steps: STEPS,
  samplesPerStep: BATCH,
  settings: { optimizer, schedule: 'cosine', gradientEvaluations: STEPS },
}));

const exp = openExperiment(
  {
    name: 'entropy-sgd',
    claim: {
      paper: 'Chaudhari et al. (2017)',
      claim:
        'Entropy-SGD generalises comparably to SGD at the same number of gradient evaluations (its L inner steps counted), while biasing training into wide valleys.',
      metric: 'test accuracy (%)',
      primary: { arm: 'entropy_sgd', baseline: 'sgd', direction: 'equivalent', margin: 0.5 },
    },
    config: { data, model, batchSize: BATCH, flatness: FLATNESS },
    arms,
    seeds: smoke ? [0, 1] : [0, 1, 2, 3, 4],
    scale: smoke
      ? 'smoke: 256 synthetic samples, an MLP'
      : `Fashion-MNIST 60k/10k, MLP 256-128, ${STEPS.toLocaleString('en-US')} gradient evaluations (16 epochs) a run in every arm`,
  },
  opts,
);

/** One run of `arm` with seed `seed`; `probe`: only that many steps, no flatness. */
async function train(arm: Arm, seed: number, probe?: number) {
  const steps = probe ?? arm.steps;
  const recipe = parseRecipe(
    {
      data,
      model,
      optimizer: { name: 'sgd' }, // replaced below by the arm's (the recipe lacks replicas)
      schedules: { lr: 'cosine' },
      batchSize: BATCH,
      duration: `${steps}ba`,
      seed,
      logEvery: 100000,
    },
    { source: 'bench/entropy-sgd.ts' },
  );
  const inputs = await loadRecipeInputs(recipe);
  const spec = (arm.settings as { optimizer: OptimizerSpec }).optimizer;
  const optimizer: OptimizerSpec =
    spec.name === 'entropy_sgd'
      ? { ...spec, langevinSeed: seed }
      : spec.name === 'replicated_sgd'
        ? { ...spec, replicaSeed: seed }
        : spec;
  const trainer = new Trainer({
    ...recipeTrainerOptions(recipe, inputs),
    optimizer,
    evalInterval: `${steps}ba`,
  });
  try {
    const result = await trainer.fit();
    // eval/accuracy: the Trainer evaluated the optimizer's evaluationWeights (outer x, centre).
    const metric = 100 * result.eval!.accuracy;
    if (probe) return { metric };
    // The run ended on those weights (settleWeights): the model holds them now.
    const ops = trainer.state.ops;
    const extra: Record<string, unknown> = {
      optimizer,
      gradientEvaluations: steps,
      outerSteps:
        spec.name === 'entropy_sgd'
          ? steps / L
          : spec.name === 'replicated_sgd'
            ? steps / REPLICAS
            : steps,
      testLoss: result.eval!.loss,
      // The Trainer's last-epoch running loss, where the gradients were taken (Entropy-SGD: the
      // Langevin iterates; Replicated-SGD: the replicas), not at the evaluated weights.
      runningTrainLoss: result.metrics['train/loss'],
    };
    const whole = new ModelObjective(inputs.model, inputs.train, ops);
    try {
      const at = whole.evaluate(whole.initial);
      extra.trainLoss = at.loss;
      extra.trainAccuracy = 100 * at.accuracy;
    } finally {
      whole.dispose();
    }
    const obj = new ModelObjective(inputs.model, inputs.train, ops, { limit: FLATNESS.samples });
    try {
      const s = FLATNESS.sharpness;
      const [p] = perturbationSharpness(obj, obj.initial, {
        sigmas: [s.sigma],
        samples: s.directions,
        filterNormalized: s.filterNormalized,
        seed,
      });
      extra.sharpness = p.meanIncrease;
      extra.sharpnessStderr = p.stderr;
      extra.sharpnessAccuracyDrop = 100 * p.meanAccuracyDrop;
      const le = localEntropy(obj, obj.initial, { ...FLATNESS.localEntropy, seed });
      extra.localEntropy = le.lossIncrease;
      extra.localEntropyBaseLoss = le.baseLoss;
      extra.localEntropySqDistance = le.meanSqDistance;
    } finally {
      obj.dispose();
    }
    return { metric, extra };
  } finally {
    trainer.dispose();
    inputs.model.dispose();
  }
}

console.log(
  `gradient evaluations a run: ${STEPS} in every arm (sgd: ${STEPS} steps; entropy_sgd: ${STEPS / L} outer steps x L = ${L}; ` +
    `replicated_sgd: ${REPLICAS} replicas x ${ROUNDS} steps), batch ${BATCH}`,
);
// The plan's estimate: a probe of 20 Entropy-SGD steps (data loading and evaluation included, so
// it errs high; the flatness measures add about a tenth of a run).
const probeStarted = performance.now();
await train(arms[1], 0, 20);
console.log(exp.planText({ msPerStep: (performance.now() - probeStarted) / 20 }));
await runPending(exp, async (arm, seed) => {
  const r = await train(arm, seed);
  const e = r.extra!;
  const f = (k: string, d = 4) => (e[k] as number).toPrecision(d);
  console.log(
    `  ${arm.name} seed ${seed}: test ${r.metric.toFixed(2)}%, train loss ${f('trainLoss')}, ` +
      `train accuracy ${(e.trainAccuracy as number).toFixed(2)}%, sharpness ${f('sharpness')}, local entropy ${f('localEntropy')}`,
  );
  return r;
});
