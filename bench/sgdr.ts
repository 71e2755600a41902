/**
 * SGDR (Loshchilov & Hutter 2017, "SGDR: Stochastic Gradient Descent with Warm Restarts") under
 * the evidence protocol (bench/README.md, "Protocol"; issue 21, experiment 2).
 *
 * The claim: SGDR is an anytime schedule. At each restart its model is as good as a separate
 * cosine run of that length, and at an equal budget it beats the step schedule it replaces. The
 * metric: test accuracy (%) at 1.5 epochs, one number per (arm, seed). The primary comparison,
 * paired by seed (the same initial weights and data order in every arm): sgdr minus step at 1.5
 * epochs; reproduced when the 95% interval lies above 0.
 *
 * Arms (SGD with Nesterov momentum 0.9, peak lr 0.1, L2 5e-4, batch 128; lr 0.1 trained better
 * than 0.05 in a check, 86.8% vs 85.8% after a 0.5-epoch cosine run, seed 0, and held steady for
 * 0.75 epoch at full lr in a step run):
 * - sgdr: one run of 1.5 epochs, cosine to 0 with warm restarts, T0 = 0.5 epoch, T_mult = 2, so
 *   its cycles end at 0.5 and 1.5 epochs;
 * - cosine: two separate runs, cosine to 0 over 0.5 epoch and over 1.5 epochs;
 * - step: one run of 1.5 epochs, the lr times 0.2 at 30%, 60% and 80% of it (the paper's
 *   baseline, the WRN schedule: divided by 5 at epochs 60, 120 and 160 of 200).
 * Every 1.5-epoch run is evaluated every 0.5 epoch (the step run at 0.5 epoch is its anytime
 * accuracy: that run stopped there). Reported without a verdict: each arm's accuracy at each
 * budget, and sgdr - cosine and sgdr - step per budget with their 95% intervals. SGDR's first
 * cycle is the 0.5-epoch cosine run itself (same seed, schedule and data order), so sgdr - cosine
 * at 0.5 epoch is 0 by construction, a check of the pairing; the restart that tests the claim is
 * the second, where SGDR's 1-epoch cycle starts warm from its first.
 *
 * Scale: Fashion-MNIST 60k/10k, the CNN; 2,340 steps a seed (sgdr 702, cosine 234 + 702, step
 * 702), 11,700 for 5 seeds. Resumable: each finished (arm, seed) is recorded as it ends; run it
 * again to continue. Run it from a worktree at a committed tree (bench/worktree.sh).
 *
 * Usage: npm run bench:sgdr [-- --smoke] [--fresh] [--allow-dirty]
 */
import { loadRecipeInputs, parseRecipe, recipeTrainerOptions } from '../src/runs/recipe.js';
import type { ScheduleSpec } from '../src/schedules/index.js';
import { Trainer } from '../src/train/trainer.js';
import { openExperiment, optionsFromArgv, runPending, type Arm } from './lib/experiment.js';

const opts = optionsFromArgv();
const smoke = opts.smoke;

const BATCH = 128;
const TRAIN = smoke ? 256 : 60000;
const STEPS_PER_EPOCH = Math.ceil(TRAIN / BATCH);
/** SGDR's first cycle: half an epoch (234 steps of the 469 in an epoch; 1 of 2 in the smoke run). */
const T0 = Math.floor(STEPS_PER_EPOCH / 2);
const T_MULT = 2;
/** The budgets: the ends of SGDR's cycles, T0 and T0 + 2 T0 (0.5 and 1.5 epochs). */
const BUDGETS = [T0, T0 + T_MULT * T0];
const EPOCHS = BUDGETS.map((b) => Number((b / STEPS_PER_EPOCH).toFixed(2)));
const LONG = BUDGETS[1];
const OPTIMIZER = { name: 'sgd', lr: 0.1, momentum: 0.9, weightDecay: 5e-4 };
const data = smoke ? { name: 'synthetic', limit: 256, testLimit: 128 } : { name: 'fashion-mnist' };

/** The step schedule of the paper's baseline: the lr times 0.2 at 30%, 60% and 80% of the run. */
const stepSchedule = (steps: number): ScheduleSpec => ({
  name: 'multistep',
  milestones: [0.3, 0.6, 0.8].map((f) => `${Math.round(f * steps)}ba`),
  gamma: 0.2,
});
const SCHEDULES: Record<string, { runs: { steps: number; schedule: ScheduleSpec }[] }> = {
  sgdr: { runs: [{ steps: LONG, schedule: { name: 'sgdr', t0: `${T0}ba`, tMult: T_MULT } }] },
  cosine: { runs: BUDGETS.map((steps) => ({ steps, schedule: { name: 'cosine' } })) },
  step: { runs: [{ steps: LONG, schedule: stepSchedule(LONG) }] },
};

const arm = (name: string): Arm => {
  const { runs } = SCHEDULES[name];
  return {
    name,
    steps: runs.reduce((sum, r) => sum + r.steps, 0),
    samplesPerStep: BATCH,
    settings: { runs, evalEvery: T0 },
  };
};

const exp = openExperiment(
  {
    name: 'sgdr',
    claim: {
      paper: 'Loshchilov & Hutter (2017)',
      claim:
        'SGDR is an anytime schedule: at each restart its model is as good as a separate cosine run of that length, and at an equal budget it beats a step schedule.',
      metric: 'test accuracy at 1.5 epochs (%)',
      primary: { arm: 'sgdr', baseline: 'step', direction: 'greater' },
    },
    config: {
      data,
      model: smoke ? 'mlp' : 'cnn',
      batchSize: BATCH,
      optimizer: OPTIMIZER,
      t0: T0,
      tMult: T_MULT,
      budgets: BUDGETS,
    },
    arms: [arm('sgdr'), arm('cosine'), arm('step')],
    seeds: smoke ? [0, 1] : [0, 1, 2, 3, 4],
    scale: smoke
      ? 'smoke: 256 synthetic samples'
      : 'Fashion-MNIST 60k/10k, CNN, SGD Nesterov lr 0.1, budgets 0.5 and 1.5 epochs (SGDR T0 = 0.5 epoch, T_mult = 2)',
  },
  opts,
);

interface Point {
  /** Optimizer steps done when the model was evaluated. */
  steps: number;
  /** Test accuracy (%). */
  accuracy: number;
}

/** One run of `steps` steps under `schedule`, evaluated on the test set every `evalEvery` steps. */
async function train(
  schedule: ScheduleSpec,
  steps: number,
  seed: number,
  evalEvery: number,
): Promise<Point[]> {
  const recipe = parseRecipe(
    {
      data,
      model: smoke ? { name: 'mlp', options: { hidden: [16] } } : 'cnn',
      optimizer: OPTIMIZER,
      schedules: { lr: schedule },
      batchSize: BATCH,
      duration: `${steps}ba`,
      seed,
      logEvery: 100000,
    },
    { source: 'bench/sgdr.ts' },
  );
  const inputs = await loadRecipeInputs(recipe);
  const points: Point[] = [];
  const trainer = new Trainer({
    ...recipeTrainerOptions(recipe, inputs),
    evalInterval: `${evalEvery}ba`,
    callbacks: [
      {
        onEvalEnd: (s) => {
          points.push({ steps: s.timestamp.step, accuracy: 100 * s.metrics['eval/accuracy'] });
        },
      },
    ],
  });
  try {
    await trainer.fit();
    return points;
  } finally {
    trainer.dispose();
    inputs.model.dispose();
  }
}

const at = (points: Point[], steps: number): number => {
  const p = points.find((x) => x.steps === steps);
  if (!p)
    throw new Error(`sgdr: no evaluation at step ${steps} (have ${points.map((x) => x.steps)})`);
  return p.accuracy;
};

// The plan's estimate: a probe of 20 steps (data loading and evaluation included, so it errs high).
const probeStarted = performance.now();
await train(SCHEDULES.sgdr.runs[0].schedule, 20, 0, 20);
console.log(exp.planText({ msPerStep: (performance.now() - probeStarted) / 20 }));
await runPending(exp, async (a, seed) => {
  const started = performance.now();
  const runs: { steps: number; points: Point[] }[] = [];
  for (const { steps, schedule } of SCHEDULES[a.name].runs) {
    const points = await train(schedule, steps, seed, T0);
    runs.push({ steps, points });
    const text = points.map((p) => `${p.steps}: ${p.accuracy.toFixed(2)}%`).join(', ');
    console.log(`  ${a.name} seed ${seed}, a ${steps}-step run: ${text}`);
  }
  // The accuracy at each budget: the separate run of that length where the arm has one (cosine),
  // else the 1.5-epoch run evaluated there (SGDR at its restarts; step stopped there).
  const atBudget = BUDGETS.map((b) => {
    const own = runs.find((r) => r.steps === b);
    return own ? at(own.points, b) : at(runs.find((r) => r.steps === LONG)!.points, b);
  });
  const curve = runs.find((r) => r.steps === LONG)!.points;
  return {
    metric: atBudget[BUDGETS.length - 1],
    extra: {
      budgetSteps: BUDGETS,
      budgetEpochs: EPOCHS,
      atBudget,
      stepsPerEpoch: STEPS_PER_EPOCH,
      curve,
      runs,
      seconds: (performance.now() - started) / 1000,
    },
  };
});
