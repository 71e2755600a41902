/**
 * Mode connectivity (Garipov, Izmailov, Podoprikhin, Vetrov & Wilson 2018, "Loss Surfaces, Mode
 * Connectivity, and Fast Ensembling of DNNs"; Draxler et al. 2018, "Essentially No Barriers in
 * Neural Network Energy Landscape") under the evidence protocol (bench/README.md, "Protocol";
 * issue 21, experiment 9, its second half: SWA and FGE are bench/swa.ts).
 *
 * The claim: two independently trained networks are joined by a simple curve (a quadratic Bezier
 * curve, its bend trained) along which the loss stays nearly as low as at the ends, while the
 * straight line between them crosses a high barrier. The metric: the train-loss barrier of a path
 * (nats), B = max over t of [L(t) - ((1 - t) L(0) + t L(1))], the loss above the linear
 * interpolation of the two ends' losses (Garipov et al.'s and Draxler et al.'s), over the 11 points
 * t = 0, 0.1, ..., 1, L the mean cross-entropy on the first 5,000 training samples (so B >= 0).
 * The primary comparison, paired by seed (the same two trained networks in both arms): bezier
 * minus line; reproduced when the 95% interval lies below 0. Reported without a verdict: the
 * Bezier barrier against an equivalence margin stated here, before the run, |B| < 0.05 nats
 * (TOST on the bezier values themselves, alpha 0.05: "the barrier is about 0"); the line's
 * barrier with its interval; the same barrier in test error (points, on the first 5,000 test
 * samples); and each path's train loss and test error at each t, mean over pairs (the chart
 * mode-connectivity-paths).
 *
 * Pairs: pair seed s in 0..4 trains two CNNs with recipe seeds 2s + 100 and 2s + 101: different
 * initial weights and data orders, the same data (loaded once; the seeds do not choose it). Each
 * is 1 epoch (469 steps at batch 128) of SGD with Nesterov momentum 0.9, peak lr 0.1, L2 5e-4,
 * cosine to 0 (bench/sgdr.ts's setting, 86.8% after a 0.5-epoch cosine run). Arms:
 * - line: the straight path a + t (b - a) (lineSlice's path; the kernels' lerp);
 * - bezier: phi(t) = (1-t)^2 a + 2t(1-t) theta + t^2 b, its bend theta trained by trainBezierCurve
 *   from the midpoint for 469 steps (one epoch-equivalent) of batch 128 drawn from all 60k
 *   training samples, t ~ U(0, 1) a step, SGD momentum 0.9 at a constant lr 0.05 (the library's
 *   default; it has no lr schedule and no weight decay, Garipov et al. anneal theirs), seed s.
 * Both arms are evaluated by the same code at the same t; t = 0 and 1 are the two networks
 * themselves, evaluated once per pair. The CNN has no BatchNorm: every point runs in inference
 * mode with nothing to refresh.
 *
 * A run is one (arm, seed): the line arm trains the pair and keeps it in memory, the bezier arm
 * of the same seed (the runner runs a seed's arms in order) reuses it; after a kill between the
 * two, the bezier arm retrains the pair from its seeds, which gives the same networks (the Trainer
 * is deterministic for a seed on one machine and backend). So the plan counts the pair's 938
 * steps under line and the curve's 469 under bezier.
 *
 * Budget: 5 pairs x (938 + 469) = 7,035 optimizer steps at batch 128, plus 5 x 20 points of
 * evaluation on 10,000 samples each (about 2,600 step-equivalents if a forward pass costs a
 * third of a training step): about 9,600 CNN step-equivalents, some 12 minutes at 75 ms a step
 * on a quiet machine. Resumable: each finished (arm, seed) is recorded as it ends; run it again to
 * continue. Run it from a worktree at a committed tree (bench/worktree.sh).
 *
 * Usage: npx tsx bench/mode-connectivity.ts [--smoke] [--fresh] [--allow-dirty]
 */
import { ModelObjective, trainBezierCurve } from '../src/flatness/index.js';
import { createFlatOps, type FlatVector } from '../src/kernels/index.js';
import {
  loadRecipeInputs,
  parseRecipe,
  recipeModel,
  recipeTrainerOptions,
} from '../src/runs/recipe.js';
import { mean } from '../src/stats.js';
import { Trainer } from '../src/train/trainer.js';
import { openExperiment, optionsFromArgv, runPending, type Arm } from './lib/experiment.js';

const opts = optionsFromArgv();
const smoke = opts.smoke;

const BATCH = smoke ? 32 : 128;
const TRAIN = smoke ? 256 : 60000;
/** One epoch per network (469 steps of 128 on 60k). */
const ENDPOINT_STEPS = Math.ceil(TRAIN / BATCH) * (smoke ? 2 : 1);
const OPTIMIZER = { name: 'sgd', lr: 0.1, momentum: 0.9, weightDecay: 5e-4 };
/** The Bezier bend's training: one epoch-equivalent of steps at the same batch size. */
const CURVE = { steps: smoke ? 16 : 469, lr: 0.05, momentum: 0.9, batchSize: BATCH };
/** The points of t where each path is evaluated: 0, 0.1, ..., 1. */
const POINTS = smoke ? 5 : 11;
const TS = Array.from({ length: POINTS }, (_, i) => i / (POINTS - 1));
/** The train loss is measured on the first TRAIN_EVAL training samples, the error on TEST_EVAL. */
const TRAIN_EVAL = smoke ? 128 : 5000;
const TEST_EVAL = smoke ? 128 : 5000;
/** Stated before the run: the Bezier barrier is "about 0" when |B| < this (train loss, nats). */
const EQUIVALENCE_MARGIN = 0.05;
/** Endpoint seeds of pair s. */
const endpointSeeds = (s: number): [number, number] => [2 * s + 100, 2 * s + 101];

const data = smoke
  ? { name: 'synthetic', limit: TRAIN, testLimit: 128 }
  : { name: 'fashion-mnist' };
const model = smoke ? { name: 'mlp', options: { hidden: [16] } } : 'cnn';

const arms: Arm[] = [
  { name: 'line', steps: 2 * ENDPOINT_STEPS, samplesPerStep: BATCH, settings: { path: 'line' } },
  { name: 'bezier', steps: CURVE.steps, samplesPerStep: BATCH, settings: { path: 'bezier' } },
];

const exp = openExperiment(
  {
    name: 'mode-connectivity',
    claim: {
      paper: 'Garipov et al. (2018)',
      claim:
        'A quadratic Bezier curve trained between two independently trained networks has a lower loss barrier than the straight line between them.',
      metric: 'train-loss barrier above the line between the ends (nats)',
      primary: { arm: 'bezier', baseline: 'line', direction: 'less' },
    },
    config: {
      data,
      model,
      batchSize: BATCH,
      endpoints: {
        steps: ENDPOINT_STEPS,
        optimizer: OPTIMIZER,
        schedule: 'cosine',
        seeds: '2s + 100, 2s + 101',
      },
      curve: CURVE,
      evaluation: { ts: TS, trainSamples: TRAIN_EVAL, testSamples: TEST_EVAL },
      barrier: 'max_t [L(t) - ((1 - t) L(0) + t L(1))]',
      equivalenceMargin: EQUIVALENCE_MARGIN,
    },
    arms,
    seeds: smoke ? [0, 1] : [0, 1, 2, 3, 4],
    scale: smoke
      ? 'smoke: 256 synthetic samples, an MLP'
      : `Fashion-MNIST 60k/10k, CNN, two 1-epoch networks a pair, Bezier ${CURVE.steps} steps; loss on ${TRAIN_EVAL.toLocaleString('en-US')} train samples, ${POINTS} points of t`,
  },
  opts,
);

function endpointRecipe(seed: number, steps = ENDPOINT_STEPS) {
  return parseRecipe(
    {
      data,
      model,
      optimizer: OPTIMIZER,
      schedules: { lr: 'cosine' },
      batchSize: BATCH,
      duration: `${steps}ba`,
      seed,
      logEvery: 100000,
    },
    { source: 'bench/mode-connectivity.ts' },
  );
}

// The data, loaded once with a fixed seed (the synthetic smoke data depends on it; Fashion-MNIST
// does not), so that both networks of a pair, and every pair, see the same samples. Its model is
// the evaluation model: the objectives below write each point's weights into it.
const inputs = await loadRecipeInputs(endpointRecipe(0));
const ops = createFlatOps();
const trainObj = new ModelObjective(inputs.model, inputs.train, ops, { limit: TRAIN_EVAL });
const testObj = new ModelObjective(inputs.model, inputs.test, ops, { limit: TEST_EVAL });
const curveObj = new ModelObjective(inputs.model, inputs.train, ops);

/** Trains one network (`steps`: a probe's length) and returns its weights, ParamVector order. */
async function trainEndpoint(seed: number, steps?: number): Promise<Float32Array> {
  const recipe = endpointRecipe(seed, steps);
  const net = recipeModel(recipe, inputs.train);
  const trainer = new Trainer({
    ...recipeTrainerOptions(recipe, { train: inputs.train, test: inputs.test, model: net }),
    // No evaluation during training: the paths evaluate the networks at t = 0 and 1.
    evalData: undefined,
  });
  try {
    await trainer.fit();
    return trainer.state.ops.download(trainer.state.pv.params);
  } finally {
    trainer.dispose();
    net.dispose();
  }
}

interface PointEval {
  trainLoss: number;
  trainAccuracy: number;
  testLoss: number;
  testAccuracy: number;
}

function evaluateAt(x: FlatVector): PointEval {
  const train = trainObj.evaluate(x);
  const test = testObj.evaluate(x);
  return {
    trainLoss: train.loss,
    trainAccuracy: train.accuracy,
    testLoss: test.loss,
    testAccuracy: test.accuracy,
  };
}

interface Pair {
  seed: number;
  a: Float32Array;
  b: Float32Array;
  /** The two networks evaluated (t = 0 and t = 1 of both paths). */
  ends: [PointEval, PointEval];
  seconds: number;
}

/** The last pair trained: the bezier arm of a seed reuses its line arm's networks. */
let cached: Pair | undefined;

async function pairOf(seed: number): Promise<Pair> {
  if (cached?.seed === seed) return cached;
  cached = undefined;
  const started = performance.now();
  const [sa, sb] = endpointSeeds(seed);
  const a = await trainEndpoint(sa);
  const b = await trainEndpoint(sb);
  const ends = [a, b].map((w) => {
    const v = ops.fromArray(w);
    try {
      return evaluateAt(v);
    } finally {
      ops.free(v);
    }
  }) as [PointEval, PointEval];
  cached = { seed, a, b, ends, seconds: (performance.now() - started) / 1000 };
  console.log(
    `  pair ${seed} (seeds ${sa}, ${sb}): test accuracy ${(100 * ends[0].testAccuracy).toFixed(2)}%, ` +
      `${(100 * ends[1].testAccuracy).toFixed(2)}%; train loss ${ends[0].trainLoss.toFixed(4)}, ` +
      `${ends[1].trainLoss.toFixed(4)} (${cached.seconds.toFixed(0)} s)`,
  );
  return cached;
}

/** B = max over t of v(t) - ((1 - t) v(0) + t v(1)), and the t where it is reached. */
function barrier(values: readonly number[]): { value: number; at: number } {
  const [v0, v1] = [values[0], values[values.length - 1]];
  let best = { value: -Infinity, at: 0 };
  TS.forEach((t, i) => {
    const above = values[i] - ((1 - t) * v0 + t * v1);
    if (above > best.value) best = { value: above, at: t };
  });
  return best;
}

/** One path's run: its profile over TS, its barriers. */
async function runPath(arm: Arm, seed: number) {
  const pair = await pairOf(seed);
  const started = performance.now();
  const a = ops.fromArray(pair.a);
  const b = ops.fromArray(pair.b);
  const x = ops.alloc(a.length);
  let bend: FlatVector | undefined;
  const extra: Record<string, unknown> = {};
  try {
    let point: (t: number) => void;
    if (arm.name === 'bezier') {
      const fit = trainBezierCurve(curveObj, a, b, { ...CURVE, seed });
      const curveBend = fit.bend;
      bend = curveBend;
      // The curve's training loss (mini-batches at random t), averaged over tenths of the run.
      const tenth = Math.max(1, Math.ceil(fit.losses.length / 10));
      extra.curveLosses = Array.from({ length: Math.ceil(fit.losses.length / tenth) }, (_, k) =>
        mean(fit.losses.slice(k * tenth, (k + 1) * tenth)),
      );
      point = (t) => ops.bezier(x, a, curveBend, b, t);
    } else {
      point = (t) => ops.lerp(x, a, b, t);
    }
    const profile = TS.map((t, i) => {
      if (i === 0) return pair.ends[0];
      if (i === TS.length - 1) return pair.ends[1];
      point(t);
      return evaluateAt(x);
    });
    const trainLoss = profile.map((p) => p.trainLoss);
    const testError = profile.map((p) => 100 * (1 - p.testAccuracy));
    const B = barrier(trainLoss);
    const E = barrier(testError);
    console.log(
      `  ${arm.name} seed ${seed}: barrier ${B.value.toFixed(4)} nats at t = ${B.at.toFixed(2)}, ` +
        `${E.value.toFixed(2)} points of test error; train loss ${trainLoss.map((l) => l.toFixed(3)).join(' ')}`,
    );
    return {
      metric: B.value,
      extra: {
        ...extra,
        barrierAt: B.at,
        barrierTestError: E.value,
        barrierTestErrorAt: E.at,
        ts: TS,
        trainLoss,
        trainError: profile.map((p) => 100 * (1 - p.trainAccuracy)),
        testLoss: profile.map((p) => p.testLoss),
        testError,
        endpointSeeds: endpointSeeds(seed),
        endpointTestAccuracy: pair.ends.map((p) => 100 * p.testAccuracy),
        pairSeconds: pair.seconds,
        seconds: (performance.now() - started) / 1000,
      },
    };
  } finally {
    for (const v of [a, b, x, bend]) if (v?.alive) ops.free(v);
  }
}

// The plan's estimate: a probe of 20 training steps and of one point's evaluation.
const PROBE = smoke ? 4 : 20;
let started = performance.now();
const probe = await trainEndpoint(endpointSeeds(0)[0], PROBE);
const msPerStep = (performance.now() - started) / PROBE;
started = performance.now();
const probeVector = ops.fromArray(probe);
evaluateAt(probeVector);
ops.free(probeVector);
const msPerPoint = performance.now() - started;
console.log(exp.planText({ msPerStep }));
{
  // Interior points of both paths, and the two networks once per pair.
  const points = exp.plan.seeds.length * (2 * (POINTS - 2) + 2);
  const samples = points * (TRAIN_EVAL + TEST_EVAL);
  const optimizerSteps = exp.plan.seeds.length * (2 * ENDPOINT_STEPS + CURVE.steps);
  const minutes = (optimizerSteps * msPerStep + points * msPerPoint) / 60000;
  console.log(
    `  evaluation: ${points} points x ${(TRAIN_EVAL + TEST_EVAL).toLocaleString('en-US')} samples = ` +
      `${samples.toLocaleString('en-US')} samples forward, ${(msPerPoint / 1000).toFixed(2)} s a point measured now ` +
      `(${Math.round((points * msPerPoint) / msPerStep).toLocaleString('en-US')} step-equivalents); ` +
      `the whole plan: ${optimizerSteps.toLocaleString('en-US')} steps + evaluation = ${minutes.toFixed(1)} min`,
  );
}
try {
  await runPending(exp, runPath);
} finally {
  for (const obj of [trainObj, testObj, curveObj]) obj.dispose();
  inputs.model.dispose();
  ops.dispose();
}
