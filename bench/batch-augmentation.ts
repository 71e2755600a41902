/**
 * Batch augmentation (Hoffer, Ben-Nun, Hubara, Giladi, Hoefler & Soudry 2020, "Augment Your
 * Batch: Improving Generalization Through Instance Repetition", CVPR) under the evidence protocol
 * (bench/README.md, "Protocol"; issue 21, experiment 11, part 1).
 *
 * The claim: at a fixed number of optimizer steps, putting each sample of the batch M times in it,
 * each copy with its own random augmentation (batch augmentation, BA), improves test accuracy over
 * M = 1, the gain growing with M. The metric: test accuracy (%) on the 10k test set at the end of
 * the run. The primary comparison, paired by seed (the same initial weights and data order in
 * every arm): ba_m4 minus m1; reproduced when the 95% interval lies above 0. Reported without a
 * verdict: ba_m2 minus m1 (does the gain grow with M?), and ba_m4 minus m1_long, where m1_long
 * is M = 1 trained 4x the steps, so that it sees as many augmented samples as ba_m4 (the paper's
 * own caveat: is BA better than training longer?).
 *
 * Arms: every arm runs batch-augmentation with the SAME augmentation (random crop from 2-pixel
 * zero padding, no flips: digits and garments are not mirrored in this data), so M is the only
 * difference; m1 is M = 1 (the augmentation alone). The loader's batch is 64 samples in every arm
 * (so its data order is the same), a step trains on 64 x M views; SGD with classical momentum 0.9,
 * lr 0.05, L2 weight decay 5e-4, cosine to 0 over the run (the baseline's usual; BA keeps the
 * baseline's lr and schedule, as the paper does).
 * - m1: M = 1, S steps (64 views a step).
 * - ba_m2: M = 2, S steps (128 views a step).
 * - ba_m4: M = 4, S steps (256 views a step).
 * - m1_long: M = 1, 4 S steps (as many views as ba_m4; its cosine spans its 4 S steps).
 *
 * Scale: Fashion-MNIST 60k/10k, the CNN, S = 400 steps (0.43 epoch of 60k; m1_long 1.7 epochs);
 * 4 arms x 5 seeds. The paper trains for hundreds of epochs with M up to 32 on CIFAR/ImageNet;
 * this is the budget's short-horizon version. Resumable: each finished (arm, seed) is recorded as
 * it ends; run it again to continue. Run it from a worktree at a committed tree (bench/worktree.sh).
 *
 * Usage: npx tsx bench/batch-augmentation.ts [--smoke] [--fresh] [--allow-dirty]
 */
import { loadRecipeInputs, parseRecipe, recipeTrainerOptions } from '../src/runs/recipe.js';
import { Trainer } from '../src/train/trainer.js';
import { openExperiment, optionsFromArgv, runPending, type Arm } from './lib/experiment.js';

const opts = optionsFromArgv();
const smoke = opts.smoke;

/** The loader's batch (samples per step before BA's copies). */
const BATCH = 64;
/** Steps of the fixed-step arms (m1, ba_m2, ba_m4); m1_long runs LONG x as many. */
const STEPS = smoke ? 24 : 400;
const LONG = 4;
const PAD = 2;
const OPTIMIZER = { name: 'momentum', lr: 0.05, momentum: 0.9, weightDecay: 5e-4 };

const data = smoke ? { name: 'synthetic', limit: 256, testLimit: 128 } : { name: 'fashion-mnist' };
const model = smoke ? { name: 'cnn', options: { filters: [4], denseUnits: 16 } } : 'cnn';

interface Settings {
  /** Copies of each sample in the batch. */
  m: number;
  pad: number;
}

const arm = (name: string, m: number, steps: number): Arm => ({
  name,
  steps,
  samplesPerStep: BATCH * m,
  settings: { m, pad: PAD } satisfies Settings,
});

const exp = openExperiment(
  {
    name: 'batch-augmentation',
    claim: {
      paper: 'Hoffer et al. (2020)',
      claim:
        'At a fixed number of optimizer steps, replicating each sample M times in the batch with different augmentations (batch augmentation) improves test accuracy over M = 1, the gain growing with M.',
      metric: 'test accuracy (%)',
      primary: { arm: 'ba_m4', baseline: 'm1', direction: 'greater' },
    },
    config: {
      data,
      model,
      batchSize: BATCH,
      optimizer: OPTIMIZER,
      schedule: 'cosine',
      augmentation: { pad: PAD, flip: false },
    },
    arms: [
      arm('m1', 1, STEPS),
      arm('ba_m2', 2, STEPS),
      arm('ba_m4', 4, STEPS),
      arm('m1_long', 1, LONG * STEPS),
    ],
    seeds: smoke ? [0, 1] : [0, 1, 2, 3, 4],
    scale: smoke
      ? `smoke: 256 synthetic samples, a small CNN, ${STEPS} steps`
      : `Fashion-MNIST 60k/10k, CNN, SGD momentum, batch 64 x M views, ${STEPS} steps (${((STEPS * BATCH) / 60000).toFixed(2)} epoch) a run, m1_long ${LONG * STEPS}; crops from 2-pixel padding in every arm`,
  },
  opts,
);

interface Run {
  accuracy: number;
  testLoss: number;
  trainLoss: number;
  seconds: number;
}

/** One run: M copies per sample, `steps` steps, seed `seed`; `evaluate: false` for the probe. */
async function train(m: number, steps: number, seed: number, evaluate = true): Promise<Run> {
  const recipe = parseRecipe(
    {
      data,
      model,
      optimizer: OPTIMIZER,
      schedules: { lr: 'cosine' },
      methods: { use: [{ name: 'batch-augmentation', m, pad: PAD }] },
      batchSize: BATCH,
      duration: `${steps}ba`,
      seed,
      logEvery: 100000,
    },
    { source: 'bench/batch-augmentation.ts' },
  );
  const inputs = await loadRecipeInputs(recipe);
  const trainer = new Trainer({
    ...recipeTrainerOptions(recipe, inputs),
    ...(evaluate ? {} : { evalData: undefined }),
    evalInterval: `${steps}ba`,
  });
  const started = performance.now();
  try {
    const result = await trainer.fit();
    return {
      accuracy: evaluate ? 100 * result.eval!.accuracy : NaN,
      testLoss: evaluate ? result.eval!.loss : NaN,
      trainLoss: result.metrics['train/loss'] ?? NaN,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    trainer.dispose();
    inputs.model.dispose();
  }
}

// The plan's estimate: a short probe of each M (its training time, data loading and evaluation
// left out), weighted by each arm's steps into one time per step.
const PROBE = smoke ? 4 : 20;
const msPerStep = new Map<number, number>();
for (const m of [1, 2, 4]) {
  msPerStep.set(m, ((await train(m, PROBE, 0, false)).seconds * 1000) / PROBE);
}
const weighted = exp.plan.arms.reduce(
  (acc, a) => {
    const ms = msPerStep.get((a.settings as Settings).m)!;
    return { ms: acc.ms + a.steps * ms, steps: acc.steps + a.steps };
  },
  { ms: 0, steps: 0 },
);
console.log(
  `probe: ${[...msPerStep].map(([m, ms]) => `M=${m} ${ms.toFixed(1)} ms`).join(', ')} a step`,
);
console.log(exp.planText({ msPerStep: weighted.ms / weighted.steps }));

await runPending(exp, async (a, seed) => {
  const { m } = a.settings as Settings;
  const run = await train(m, a.steps, seed);
  console.log(
    `  ${a.name} seed ${seed}: ${run.accuracy.toFixed(2)}% (test loss ${run.testLoss.toFixed(4)}, train loss ${run.trainLoss.toFixed(4)}, ${run.seconds.toFixed(0)} s)`,
  );
  return {
    metric: run.accuracy,
    extra: {
      m,
      steps: a.steps,
      loaderSamples: a.steps * BATCH,
      views: a.steps * BATCH * m,
      testLoss: run.testLoss,
      trainLoss: run.trainLoss,
      seconds: run.seconds,
    },
  };
});
