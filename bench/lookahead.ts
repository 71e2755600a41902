/**
 * Lookahead (Zhang, Lucas, Hinton & Ba 2019, "Lookahead Optimizer: k steps forward, 1 step back")
 * under the evidence protocol (bench/README.md, "Protocol"; issue 21, experiment 5).
 *
 * The claim: Lookahead around an inner optimizer improves on it and makes it less sensitive to
 * its hyper-parameters, the learning rate first of all. The metric: the mean test accuracy over
 * an lr grid three decades wide (1e-4, 1e-3, 1e-2) — a robustness claim is about the whole grid,
 * not its best cell. The primary comparison, paired by seed (the same initial weights and data
 * order in both arms): lookahead_adam (k = 6, alpha = 0.5, the registry's timm defaults) minus
 * adam; reproduced when the 95% interval lies above 0. Reported without a verdict: each arm's
 * best cell and its worst, per seed (in the records).
 *
 * Scale: Fashion-MNIST 60k/10k, the CNN, 3 epochs at batch 128 (1,407 steps a cell, 4,221 a run of
 * 3 lrs), cosine to 0; 5 seeds. The first run was 2 epochs (refuted, -1.41 [-1.59, -1.24]); the
 * issue asks for 10-20 epochs, where a slower start has time to pay off. 3 epochs is the most that
 * fits ~70 minutes on one thread shared with other runs: 81-87 ms a step measured there (two
 * probes' difference, ANNEAL_THREADS=1, nice 5, another experiment and a test suite on the other
 * core), so 2 arms x 5 seeds x 3 lrs x 3 epochs = 42,210 steps is ~60 min and evaluation ~1.5 min
 * more; 4 epochs would be ~80 min. That is 3-7x short of the issue's 10-20 epochs. Resumable: each
 * finished (arm, seed) is recorded as it ends; run it again to continue. Run it from a worktree at
 * a committed tree (bench/worktree.sh).
 *
 * Usage: npm run bench:lookahead [-- --smoke] [--fresh] [--allow-dirty]
 */
import { loadRecipeInputs, parseRecipe, recipeTrainerOptions } from '../src/runs/recipe.js';
import { Trainer } from '../src/train/trainer.js';
import { mean, maxOf, minOf } from '../src/stats.js';
import { openExperiment, optionsFromArgv, runPending, type Arm } from './lib/experiment.js';

const opts = optionsFromArgv();
const smoke = opts.smoke;

const LRS = [1e-4, 1e-3, 1e-2];
const EPOCHS = smoke ? 4 : 3;
const BATCH = 128;
const data = smoke ? { name: 'synthetic', limit: 256, testLimit: 128 } : { name: 'fashion-mnist' };
const TRAIN = smoke ? 256 : 60000;
const stepsPerRun = LRS.length * EPOCHS * Math.ceil(TRAIN / BATCH);

const arm = (name: string, optimizer: string): Arm => ({
  name,
  steps: stepsPerRun,
  samplesPerStep: BATCH,
  settings: { optimizer, lrs: LRS },
});

const exp = openExperiment(
  {
    name: 'lookahead',
    claim: {
      paper: 'Zhang et al. (2019)',
      claim:
        'Lookahead improves the inner optimizer and makes it less sensitive to the learning rate.',
      metric: 'mean test accuracy over the lr grid 1e-4, 1e-3, 1e-2 (%)',
      primary: { arm: 'lookahead_adam', baseline: 'adam', direction: 'greater' },
    },
    config: {
      data,
      model: smoke ? 'mlp' : 'cnn',
      epochs: EPOCHS,
      batchSize: BATCH,
      schedule: 'cosine',
    },
    arms: [arm('adam', 'adam'), arm('lookahead_adam', 'lookahead_adam')],
    seeds: smoke ? [0, 1] : [0, 1, 2, 3, 4],
    scale: smoke
      ? 'smoke: 256 synthetic samples'
      : `Fashion-MNIST 60k/10k, CNN, ${EPOCHS} epochs x 3 learning rates`,
  },
  opts,
);

/** Test accuracy (%) of one run: `optimizer` at `lr`, seed `seed` (`steps`: a probe's length). */
async function accuracy(
  optimizer: string,
  lr: number,
  seed: number,
  steps?: number,
): Promise<number> {
  const recipe = parseRecipe(
    {
      data,
      model: smoke ? { name: 'mlp', options: { hidden: [16] } } : 'cnn',
      optimizer: { name: optimizer, lr, weightDecay: 0 },
      schedules: { lr: 'cosine' },
      batchSize: BATCH,
      duration: steps === undefined ? `${EPOCHS}ep` : `${steps}ba`,
      seed,
      logEvery: 100000,
    },
    { source: 'bench/lookahead.ts' },
  );
  const inputs = await loadRecipeInputs(recipe);
  const trainer = new Trainer({
    ...recipeTrainerOptions(recipe, inputs),
    evalInterval: steps === undefined ? `${EPOCHS}ep` : `${steps}ba`,
  });
  try {
    const result = await trainer.fit();
    return 100 * result.eval!.accuracy;
  } finally {
    trainer.dispose();
    inputs.model.dispose();
  }
}

// The plan's estimate: the time of a short probe subtracted from a longer one's, so that data
// loading and evaluation cancel (the estimate leaves out each cell's loading and evaluation, about
// 3 s a cell, 1.5 min for the plan).
const PROBES = smoke ? [4, 12] : [20, 120];
const probeMs: number[] = [];
for (const n of PROBES) {
  const started = performance.now();
  await accuracy('lookahead_adam', 1e-3, 0, n);
  probeMs.push(performance.now() - started);
}
const msPerStep = Math.max(0, probeMs[1] - probeMs[0]) / (PROBES[1] - PROBES[0]);
console.log(exp.planText({ msPerStep }));
await runPending(exp, async (a, seed) => {
  const { optimizer } = a.settings as { optimizer: string };
  const cells: number[] = [];
  for (const lr of LRS) {
    cells.push(await accuracy(optimizer, lr, seed));
    console.log(`  ${a.name} seed ${seed} lr ${lr}: ${cells.at(-1)!.toFixed(2)}%`);
  }
  return {
    metric: mean(cells),
    extra: { lrs: LRS, accuracies: cells, best: maxOf(cells), worst: minOf(cells) },
  };
});
