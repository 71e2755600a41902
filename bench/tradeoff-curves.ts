/**
 * Single-run tradeoff curves (Portes, Blalock, Stephenson & Frankle 2022, "Fast Benchmarking of
 * Accuracy vs. Training Time with Cyclic Learning Rates") under the evidence protocol
 * (bench/README.md, "Protocol"; issue 21, experiment 1).
 *
 * The claim: ONE training run under a multiplicative cyclic learning-rate schedule (cycles of T,
 * 2T, 4T, 8T steps, each decaying linearly from the peak to zero), evaluated at the end of each
 * cycle, gives the accuracy-vs-training-time curve about as well as separate runs, one per budget
 * with the usual schedule (one decay to zero over the whole budget), at a fraction of the cost;
 * and it ranks recipes the same. The metric: test accuracy (%) averaged over the budgets 2..4 (the
 * ends of cycles 2, 3 and 4), one number per (arm, seed). Budget 1 is left out of the metric: the
 * separate run of budget 1 IS the single run's first cycle (same seed, schedule and data order;
 * src/tradeoff tests it bit for bit), so its difference is 0 by construction and would only shrink
 * the primary difference by a quarter; it is recorded and reported as a check of the pairing.
 *
 * The primary comparison, paired by seed (the same initial weights and data order in every arm):
 * single:baseline minus separate:baseline, an equivalence claim with a margin of ±1.0 point
 * stated before the run: reproduced when TOST (alpha 0.05, the 90% interval) lies within ±1.0,
 * refuted when the 95% interval lies wholly beyond it, inconclusive otherwise.
 *
 * Arms: for each recipe of src/tradeoff/recipes.ts (baseline, label-smoothing, mixup and
 * blurpool, each with the library's default options), `single:<recipe>` (src/tradeoff
 * runSingleCurve: one run of 15T steps, evaluated at the end of each cycle) and `separate:<recipe>` (runMultiCurve: separate
 * runs of T, 3T, 7T and 15T steps). Reported without a verdict: the per-budget difference and the
 * mean absolute per-budget difference of each recipe with their intervals, the cost ratio in steps
 * (separate total / single = 26T / 15T), and whether the recipes' order at each budget (mean over
 * seeds) is the same under single runs as under separate runs.
 *
 * BlurPool was left out of the first run (at e9f6c80: its 240-step single run had not finished
 * after 10 minutes on one anneal-cpu thread while the baseline's took 69 s, because
 * tfjs-backend-cpu's MirrorPad loop took seconds a call). BlurPool2D now pads with slices and
 * concat, and anneal-cpu has a native MirrorPad with a corrected gradient. The probe before this
 * run (one thread, a quiet machine, 20-40 steps after a warm-up, no evaluation): baseline 46-49
 * ms a step, mixup 60, BlurPool 108-115 (2.3-2.5x the baseline: a little above the ~2x set as
 * the bar for bringing it back, but within the run's time), one evaluation of the 10k test set
 * 1.8 s. So BlurPool is back as the fourth recipe.
 *
 * Scale: Fashion-MNIST 60k/10k, the CNN, AdamW (the library's defaults), batch 128; T = 48 steps,
 * budgets 48, 144, 336, 720 steps (0.10 to 1.54 epochs). The first run had T = 16 (budgets 16 to
 * 240 steps, 0.03 to 0.51 epoch), all of it early training; these budgets reach past an epoch, as
 * far as the time allowed. 1,968 steps a (recipe, seed) in both arms, 39,360 for 4 recipes and 5
 * seeds, plus 160 evaluations of the 10k test set: about 50 minutes on one quiet thread by the
 * probe above (the plan prints its own estimate from a probe of every recipe). Resumable: each
 * finished (arm, seed) is recorded as it ends; run it again to continue. Run it from a worktree
 * at a committed tree (bench/worktree.sh).
 *
 * Usage: npx tsx bench/tradeoff-curves.ts [--smoke] [--fresh] [--allow-dirty]
 */
import { evaluate } from '../src/train/evaluate.js';
import { loadRecipeInputs, parseRecipe, type Recipe } from '../src/runs/recipe.js';
import {
  applyRecipeName,
  planCurve,
  runMultiCurve,
  runSingleCurve,
  type CurvePoint,
  type CurveSettings,
} from '../src/tradeoff/index.js';
import { openExperiment, optionsFromArgv, runPending, type Arm } from './lib/experiment.js';

const opts = optionsFromArgv();
const smoke = opts.smoke;

const BATCH = smoke ? 32 : 128;
const RECIPES = ['baseline', 'label-smoothing', 'mixup', 'blurpool'];
const SETTINGS: CurveSettings = {
  cycles: smoke ? 3 : 4,
  firstCycle: smoke ? '2ba' : '48ba',
  mult: 2,
  shape: 'linear',
};
const data = smoke
  ? { name: 'synthetic', limit: 256, testLimit: 128 }
  : { name: 'fashion-mnist', testLimit: 10000 };
const model = smoke ? { name: 'cnn', options: { filters: [4], denseUnits: 16 } } : 'cnn';
const OPTIMIZER = { name: 'adamw' };
const MARGIN = 1.0;

const recipeOf = (name: string, seed: number): Recipe =>
  applyRecipeName(
    parseRecipe(
      { data, model, optimizer: OPTIMIZER, batchSize: BATCH, seed, logEvery: 100000 },
      { source: 'bench/tradeoff-curves.ts' },
    ),
    name,
  );

// The data every run shares (the base recipe's seed 0, as compareRecipes loads it once).
const inputs = await loadRecipeInputs(recipeOf('baseline', 0));
const { train, test } = inputs;
const plan = planCurve(recipeOf('baseline', 0), train, SETTINGS);
const BUDGETS = plan.budgets;
const STEPS_PER_EPOCH = Math.ceil(train.length / BATCH);
const EPOCHS = BUDGETS.map((b) => Number((b / STEPS_PER_EPOCH).toFixed(3)));
const SINGLE_STEPS = BUDGETS[BUDGETS.length - 1];
const SEPARATE_STEPS = BUDGETS.reduce((a, b) => a + b, 0);

const arm = (kind: 'single' | 'separate', recipe: string): Arm => ({
  name: `${kind}:${recipe}`,
  steps: kind === 'single' ? SINGLE_STEPS : SEPARATE_STEPS,
  samplesPerStep: BATCH,
  settings: { kind, recipe, budgets: BUDGETS },
});

const exp = openExperiment(
  {
    name: 'tradeoff-curves',
    claim: {
      paper: 'Portes et al. (2022)',
      claim:
        'One run under a multiplicative cyclic learning rate, evaluated at the end of each cycle, gives the accuracy-vs-training-time curve about as well as separate runs, one per budget, at a fraction of the cost, and ranks recipes the same.',
      metric: `test accuracy averaged over the budgets ${EPOCHS.slice(1).join(', ')} epoch (%)`,
      primary: {
        arm: 'single:baseline',
        baseline: 'separate:baseline',
        direction: 'equivalent',
        margin: MARGIN,
      },
    },
    config: {
      data,
      model,
      batchSize: BATCH,
      optimizer: OPTIMIZER,
      curve: SETTINGS,
      budgets: BUDGETS,
      metricBudgets: 'budgets 2..n (budget 1 is the same run in both arms)',
    },
    arms: RECIPES.flatMap((r) => [arm('single', r), arm('separate', r)]),
    seeds: smoke ? [0, 1] : [0, 1, 2, 3, 4],
    scale: smoke
      ? 'smoke: 256 synthetic samples, a tiny CNN'
      : `Fashion-MNIST 60k/10k, CNN, AdamW, batch 128; cycles of 48, 96, 192, 384 steps (budgets ${BUDGETS.join(', ')} steps = ${EPOCHS.join(', ')} epoch); ${RECIPES.length} recipes`,
  },
  opts,
);

// The plan's estimate: for each recipe a warm-up, then a timed probe of the first budget's steps
// (model built, no evaluation; BlurPool's step costs about 2.4x the baseline's, so each recipe is
// timed), and one timed evaluation of the test set, spread over the plan's steps. Every recipe
// trains the same steps, so the plan's time a step is the recipes' mean.
const skip = async () => ({ loss: 0, accuracy: 0, count: 0 });
const probe = (recipe: string, steps: number) =>
  runSingleCurve(
    'probe',
    recipeOf(recipe, 0),
    { ...plan, budgets: [steps] },
    {
      train,
      test,
      evaluate: skip,
    },
  );
const msPerStepOf: Record<string, number> = {};
for (const recipe of RECIPES) {
  await probe(recipe, 4);
  const started = performance.now();
  await probe(recipe, BUDGETS[0]);
  msPerStepOf[recipe] = (performance.now() - started) / BUDGETS[0];
}
const msPerStep = RECIPES.reduce((s, r) => s + msPerStepOf[r], 0) / RECIPES.length;
const evalStarted = performance.now();
await evaluate(inputs.model, test);
const msPerEval = performance.now() - evalStarted;
inputs.model.dispose();
const evalsPerStep = (2 * BUDGETS.length) / (SINGLE_STEPS + SEPARATE_STEPS);
console.log(exp.planText({ msPerStep: msPerStep + evalsPerStep * msPerEval }));
console.log(
  `  (ms a training step: ${RECIPES.map((r) => `${r} ${msPerStepOf[r].toFixed(1)}`).join(', ')}; ` +
    `${(msPerEval / 1000).toFixed(1)} s an evaluation of ${test.length} test samples, ${2 * BUDGETS.length} evaluations a recipe and seed)`,
);

await runPending(exp, async (a, seed) => {
  const { kind, recipe } = a.settings as { kind: 'single' | 'separate'; recipe: string };
  const started = performance.now();
  const r = recipeOf(recipe, seed);
  const ctx = { train, test };
  const points: CurvePoint[] =
    kind === 'single'
      ? await runSingleCurve(recipe, r, plan, ctx)
      : await runMultiCurve(recipe, r, plan, ctx);
  if (points.length !== BUDGETS.length || points.some((p, i) => p.steps !== BUDGETS[i])) {
    throw new Error(
      `tradeoff-curves: ${a.name} seed ${seed} stopped early (points at ${points.map((p) => p.steps).join(', ')} steps)`,
    );
  }
  const atBudget = points.map((p) => 100 * p.accuracy);
  const later = atBudget.slice(1);
  console.log(
    `  ${a.name} seed ${seed}: ${atBudget.map((x, i) => `${BUDGETS[i]} steps ${x.toFixed(2)}%`).join(', ')}`,
  );
  return {
    metric: later.reduce((s, x) => s + x, 0) / later.length,
    extra: {
      recipe,
      kind,
      budgetSteps: BUDGETS,
      budgetEpochs: EPOCHS,
      atBudget,
      lossAtBudget: points.map((p) => p.loss),
      trainSeconds: points.map((p) => p.trainSeconds),
      seconds: (performance.now() - started) / 1000,
    },
  };
});
