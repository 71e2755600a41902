/**
 * Cyclical learning rates (Smith 2017, "Cyclical Learning Rates for Training Neural Networks")
 * under the evidence protocol (bench/README.md, "Protocol"; issue 21, experiment 3).
 *
 * The claim: a triangular cyclical learning rate whose bounds are read off an LR range test
 * reaches a given accuracy in fewer iterations than a fixed learning rate, and improves on its
 * final accuracy (and on step decay's), without tuning. The metric: test accuracy (%) at the end
 * of the budget. The primary comparison, paired by seed (the same initial weights and data
 * order in every arm): clr minus fixed; reproduced when the 95% interval lies above 0.
 *
 * Arms, all SGD with classical momentum 0.9 (the registry's 'momentum'), no weight decay:
 * - clr: per seed, an LR range test on the freshly initialised model (src/train/lr-finder.ts,
 *   one epoch, 469 steps, exponential from 1e-4 to 1, the run's own seed and data order; its
 *   weights are put back after), then the triangular policy between its Smith bounds
 *   (`bounds.min`, where the smoothed loss starts falling, and `bounds.max`, its minimum),
 *   momentum held at 0.9 (the 2017 paper's policy; cycling momentum came later), stepsize a
 *   quarter epoch (116 steps): two full cycles, so the run ends at the end of a cycle, at the
 *   lower bound, as Smith advises. Its cost counts the range test's 469 steps (an upper bound:
 *   the test stops where the loss diverges). Smith ran his range tests for several epochs; a
 *   test of fastai's 100 steps read its upper bound at the edge of divergence in a pilot (0.33
 *   and 0.48 on seeds 0 and 1, against 0.18 from one epoch on seed 0): over 4 decades in 100
 *   steps, the smoothed loss (beta 0.98, a window of ~50 steps) lags the lr by ~2 decades. (The
 *   same pilot trained clr once on seed 0 with the one-epoch bounds: 87.60% at the end; no fixed
 *   or step run was piloted.)
 * - fixed: a constant lr from the grid 0.01, 0.03, 0.1, all three trained on every seed; the
 *   arm's metric is the seed's BEST cell, chosen by its final test accuracy. This is the
 *   baseline tuned on the test set, seed by seed (an oracle, and the maximum of three noisy
 *   values): it favours the baseline, so it makes the CLR claim harder to pass, not easier.
 *   Smith's fixed baseline was the tuned learning rate of each network's published setting.
 * - step: the seed's best fixed lr, times 0.1 at 50% and 75% of the run (MultiStepLR), reported
 *   without a verdict.
 *
 * Reported without a verdict: the iterations each arm takes to reach 80% and 85% test accuracy
 * (Smith's "fewer iterations"; the test set evaluated every 58 steps, an eighth of the run: the
 * first evaluation at or above the target), every cell of the fixed grid, and the range test's
 * bounds and curve per seed (in the records).
 *
 * Scale: Fashion-MNIST 60k/10k, the CNN, batch 128, 464 steps (0.99 epoch) per run; 10 seeds (at
 * 5 the interval, -3.25 [-12.91, 6.40], was wider than the effect: the protocol's rule for 10);
 * per seed clr 933 steps (range test 469 + run 464), fixed 1,392 (3 runs), step 464: 13,945
 * steps in all. Smith's stepsize is 2-10 epochs; at this budget it is a quarter epoch, which is
 * the main way this differs from the paper. Resumable: each finished (arm, seed) is recorded as
 * it ends; run it again to continue. Run it from a worktree at a committed tree
 * (bench/worktree.sh).
 *
 * Usage: npm run bench:clr [-- --smoke] [--fresh] [--allow-dirty]
 */
import { loadRecipeInputs, parseRecipe, recipeTrainerOptions } from '../src/runs/recipe.js';
import type { ScheduleSpec } from '../src/schedules/index.js';
import { findLr, type LrFinderResult } from '../src/train/lr-finder.js';
import { Trainer } from '../src/train/trainer.js';
import { openExperiment, optionsFromArgv, runPending, type Arm } from './lib/experiment.js';

const opts = optionsFromArgv();
const smoke = opts.smoke;

const BATCH = 128;
/** Steps from the lower bound to the upper (Smith's stepsize): a quarter epoch of 60k at 128. */
const STEPSIZE = smoke ? 4 : 116;
/** Two full cycles. */
const RUN_STEPS = 4 * STEPSIZE;
/** Test accuracy every half stepsize: 8 points a run, on both cycle ends. */
const EVAL_EVERY = STEPSIZE / 2;
const FIXED_LRS = [0.01, 0.03, 0.1];
const STEP_MILESTONES = ['0.5dur', '0.75dur'];
const STEP_GAMMA = 0.1;
const TARGETS = [80, 85];
/** The range test: one epoch of 60k at 128 (smoke: 20 steps). */
const RANGE = { minLr: 1e-4, maxLr: 1, steps: smoke ? 20 : 469, mode: 'exponential' as const };
const data = smoke ? { name: 'synthetic', limit: 256, testLimit: 128 } : { name: 'fashion-mnist' };
const model = smoke ? { name: 'mlp', options: { hidden: [16] } } : 'cnn';
const optimizer = { name: 'momentum', momentum: 0.9, weightDecay: 0 };

const arms: Arm[] = [
  {
    name: 'clr',
    steps: RANGE.steps + RUN_STEPS,
    samplesPerStep: BATCH,
    settings: {
      rangeTest: RANGE,
      bounds: "the range test's Smith bounds",
      policy: 'triangular',
      stepSizeUp: STEPSIZE,
      cycleMomentum: false,
    },
  },
  {
    name: 'fixed',
    steps: FIXED_LRS.length * RUN_STEPS,
    samplesPerStep: BATCH,
    settings: { lrs: FIXED_LRS, metric: "the seed's best cell" },
  },
  {
    name: 'step',
    steps: RUN_STEPS,
    samplesPerStep: BATCH,
    settings: {
      lr: "the seed's best fixed lr",
      milestones: STEP_MILESTONES,
      gamma: STEP_GAMMA,
    },
  },
];

const exp = openExperiment(
  {
    name: 'clr',
    claim: {
      paper: 'Smith (2017)',
      claim:
        'A triangular cyclical learning rate with bounds from the LR range test reaches a given accuracy in fewer iterations than a fixed learning rate and improves on its final accuracy, without tuning.',
      metric: `test accuracy after ${RUN_STEPS} steps (%)`,
      primary: { arm: 'clr', baseline: 'fixed', direction: 'greater' },
    },
    config: {
      data,
      model,
      optimizer,
      batchSize: BATCH,
      runSteps: RUN_STEPS,
      evalEvery: EVAL_EVERY,
      targets: TARGETS,
    },
    arms,
    seeds: smoke ? [0, 1] : [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    scale: smoke
      ? 'smoke: 256 synthetic samples'
      : `Fashion-MNIST 60k/10k, CNN, SGD momentum 0.9, batch ${BATCH}, ${RUN_STEPS} steps (0.99 epoch) a run; clr after a 1-epoch range test, fixed the best of 3 lrs per seed`,
  },
  opts,
);

/** One run's test accuracy (%) at each evaluation, and at its end. */
interface Trained {
  accuracy: number;
  curve: { step: number; accuracy: number }[];
  seconds: number;
}

/** Trains one run from the seed's initial weights: `lr` with the lr schedule `schedule`. */
async function train(
  lr: number,
  seed: number,
  schedule?: ScheduleSpec,
  opts: { steps?: number; rangeTest?: boolean } = {},
): Promise<Trained & { range?: LrFinderResult }> {
  const steps = opts.steps ?? RUN_STEPS;
  const recipe = parseRecipe(
    {
      data,
      model,
      optimizer: { ...optimizer, lr },
      ...(schedule && { schedules: { lr: schedule } }),
      batchSize: BATCH,
      duration: `${steps}ba`,
      evalInterval: `${Math.min(EVAL_EVERY, steps)}ba`,
      seed,
      logEvery: 100000,
    },
    { source: 'bench/clr.ts' },
  );
  const inputs = await loadRecipeInputs(recipe);
  const curve: Trained['curve'] = [];
  try {
    // The range test on the freshly initialised model; findLr puts its weights back.
    const range = opts.rangeTest
      ? await findLr({
          model: inputs.model,
          trainData: inputs.train,
          ...RANGE,
          batchSize: BATCH,
          seed,
          kernels: recipe.kernels,
          optimizer,
        })
      : undefined;
    const trainer = new Trainer({
      ...recipeTrainerOptions(recipe, inputs),
      ...(range && { schedules: { lr: clrSchedule(range) } }),
      callbacks: [
        {
          onEvalEnd: (s) => {
            const accuracy = 100 * s.metrics['eval/accuracy'];
            curve.push({ step: s.timestamp.step, accuracy });
          },
        },
      ],
    });
    const started = performance.now();
    try {
      const result = await trainer.fit();
      return {
        accuracy: 100 * result.eval!.accuracy,
        curve,
        seconds: (performance.now() - started) / 1000,
        ...(range && { range }),
      };
    } finally {
      trainer.dispose();
    }
  } finally {
    inputs.model.dispose();
  }
}

/** The triangular policy between the range test's bounds: absolute lrs, the run's lr is 1. */
function clrSchedule(range: LrFinderResult): ScheduleSpec {
  const bounds = range.suggestions.bounds;
  if (!bounds || !(bounds.max > bounds.min)) {
    throw new Error(
      `clr: the range test gave no bounds (${JSON.stringify(range.suggestions)}, ${range.stopReason}): the arm cannot run as planned`,
    );
  }
  return {
    name: 'cyclic',
    baseLr: bounds.min,
    maxLr: bounds.max,
    stepSizeUp: STEPSIZE,
    mode: 'triangular',
    cycleMomentum: false,
  };
}

/** The first evaluated step at which the test accuracy reached each target (null: never). */
function stepsToTargets(curve: Trained['curve']): Record<string, number | null> {
  return Object.fromEntries(
    TARGETS.map((t) => [String(t), curve.find((p) => p.accuracy >= t)?.step ?? null]),
  );
}

const log = (arm: string, seed: number, what: string, t: Trained) =>
  console.log(
    `  ${arm} seed ${seed}${what}: ${t.accuracy.toFixed(2)}% (${t.seconds.toFixed(0)} s; ` +
      `to ${TARGETS.map((x) => `${x}%`).join('/')}: ${Object.values(stepsToTargets(t.curve)).join('/')} steps)`,
  );

// The plan's estimate: a probe of 20 steps (data loading and evaluation included, so it errs high).
const probeStarted = performance.now();
await train(0.03, 0, undefined, { steps: 20 });
console.log(exp.planText({ msPerStep: (performance.now() - probeStarted) / 20 }));
await runPending(exp, async (a, seed) => {
  if (a.name === 'clr') {
    const t = await train(1, seed, undefined, { rangeTest: true });
    const { suggestions, stopReason, curve, config } = t.range!;
    log(
      a.name,
      seed,
      ` (bounds ${suggestions.bounds!.min.toPrecision(2)}..${suggestions.bounds!.max.toPrecision(2)})`,
      t,
    );
    return {
      metric: t.accuracy,
      extra: {
        curve: t.curve,
        stepsToTarget: stepsToTargets(t.curve),
        seconds: t.seconds,
        rangeTest: {
          config,
          stopReason,
          steps: curve.length,
          suggestions,
          curve: curve.map((p) => ({ lr: p.lr, loss: p.loss, smoothedLoss: p.smoothedLoss })),
        },
      },
    };
  }
  if (a.name === 'fixed') {
    const cells: Trained[] = [];
    for (const lr of FIXED_LRS) {
      cells.push(await train(lr, seed));
      log(a.name, seed, ` lr ${lr}`, cells.at(-1)!);
    }
    const best = cells.reduce((b, c, i) => (c.accuracy > cells[b].accuracy ? i : b), 0);
    return {
      metric: cells[best].accuracy,
      extra: {
        bestLr: FIXED_LRS[best],
        curve: cells[best].curve,
        stepsToTarget: stepsToTargets(cells[best].curve),
        seconds: cells.reduce((s, c) => s + c.seconds, 0),
        cells: FIXED_LRS.map((lr, i) => ({
          lr,
          accuracy: cells[i].accuracy,
          curve: cells[i].curve,
          stepsToTarget: stepsToTargets(cells[i].curve),
        })),
      },
    };
  }
  // step: the seed's best fixed lr, from the fixed arm's record (the plan runs it first).
  const fixed = exp.get('fixed', seed);
  if (!fixed)
    throw new Error(`clr: step seed ${seed} needs the fixed arm's record of seed ${seed}`);
  const lr = fixed.extra!.bestLr as number;
  const t = await train(lr, seed, {
    name: 'multistep',
    milestones: STEP_MILESTONES,
    gamma: STEP_GAMMA,
  });
  log(a.name, seed, ` lr ${lr}`, t);
  return {
    metric: t.accuracy,
    extra: { lr, curve: t.curve, stepsToTarget: stepsToTargets(t.curve), seconds: t.seconds },
  };
});
