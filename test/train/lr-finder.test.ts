/**
 * The LR range test: the LR grid and fastai's smoothing against their closed forms, the
 * suggestion rules on a hand-built curve, the run itself against tfjs's own SGD stepped with the
 * same learning rates, early stopping on divergence, and the model left as it was.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { DataLoader } from '../../src/data/index.js';
import {
  findLr,
  lrRangeSchedule,
  smoothLosses,
  suggestLrs,
  type LrCurvePoint,
} from '../../src/train/lr-finder.js';
import { batchTensors, crossEntropy } from '../../src/train/loss.js';
import { modelWeights, tensorsLeft, tinyData, tinyMlp, useTfCpu } from './helpers.js';
import { minOf } from '../../src/stats.js';

before(useTfCpu);

const close = (a: number, b: number, rel = 1e-12) =>
  assert.ok(Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b)), `${a} vs ${b}`);

test('the LR grid runs from minLr to maxLr, both included, exponentially or linearly', () => {
  const exp = lrRangeSchedule({ minLr: 1e-4, maxLr: 1, steps: 5 });
  [1e-4, 1e-3, 1e-2, 1e-1, 1].forEach((lr, t) => close(exp(t), lr));
  const lin = lrRangeSchedule({ minLr: 0.1, maxLr: 0.5, steps: 5, mode: 'linear' });
  [0.1, 0.2, 0.3, 0.4, 0.5].forEach((lr, t) => close(lin(t), lr));
  assert.throws(() => lrRangeSchedule({ minLr: 0 }), /minLr 0 .*> 0/);
  assert.throws(() => lrRangeSchedule({ minLr: 1, maxLr: 0.5 }), /maxLr 0.5/);
  assert.throws(() => lrRangeSchedule({ steps: 1 }), /steps 1/);
});

test('smoothing is an exponential average with bias correction (fastai)', () => {
  // beta 0.5: avg = 0.5, 1.25, 2.125; divided by 1 - 0.5^i = 0.5, 0.75, 0.875.
  const s = smoothLosses([1, 2, 3], 0.5);
  close(s[0], 1);
  close(s[1], 1.25 / 0.75);
  close(s[2], 2.125 / 0.875);
  // A constant loss is its own smoothed value from the first step: the correction is exact.
  smoothLosses([2, 2, 2, 2]).forEach((x) => close(x, 2));
});

test('suggestions follow the documented rules on a hand-built curve', () => {
  // 50 points, lr = 10^(-5 + 5i/49); smoothed loss: flat at 2 up to i = 14, then falls 0.05 a
  // step to 1.5 (i = 24), 0.2 a step to 0.5 (i = 29), 0.01 a step to 0.4 (i = 39), then rises.
  const lr = (i: number) => 10 ** (-5 + (5 * i) / 49);
  const loss = (i: number) =>
    i <= 14
      ? 2
      : i <= 24
        ? 2 - 0.05 * (i - 14)
        : i <= 29
          ? 1.5 - 0.2 * (i - 24)
          : i <= 39
            ? 0.5 - 0.01 * (i - 29)
            : 0.4 + 0.3 * (i - 39);
  const curve: LrCurvePoint[] = Array.from({ length: 50 }, (_, i) => ({
    step: i,
    lr: lr(i),
    loss: loss(i),
    smoothedLoss: loss(i),
  }));
  const s = suggestLrs(curve, { skipStart: 5, skipEnd: 5 });
  // Equal log-LR spacing: the steepest slope is the first 0.2 drop, from i = 24 to 25.
  close(s.steepest!, lr(24));
  close(s.minimum!, lr(39));
  close(s.minimumOver10!, lr(39) / 10);
  // Fall from the first kept point (i = 5, loss 2) to 0.4 is 1.6; 10% of it (0.16) is first
  // covered at i = 18 (loss 1.8; i = 17 has 1.85).
  close(s.bounds!.min, lr(18));
  close(s.bounds!.max, lr(39));
  // A loss that never falls suggests nothing.
  const flat = curve.map((p) => ({ ...p, smoothedLoss: 1 + p.step }));
  assert.deepEqual(suggestLrs(flat, { skipStart: 0, skipEnd: 0 }), {
    steepest: null,
    minimum: null,
    minimumOver10: null,
    bounds: null,
  });
});

test('the test steps like tfjs SGD with the same LRs, and puts the weights back', async () => {
  const data = tinyData(100);
  const model = tinyMlp();
  const initial = modelWeights(model);
  const range = { minLr: 1e-3, maxLr: 1, steps: 8 };
  let result: Awaited<ReturnType<typeof findLr>> | undefined;
  const leaked = await tensorsLeft(async () => {
    result = await findLr({
      model,
      trainData: data,
      ...range,
      batchSize: 20,
      seed: 5,
      kernels: 'js',
      optimizer: { name: 'momentum', momentum: 0 },
      divergeThreshold: 1e9,
    });
  });
  assert.equal(leaked, 0);
  assert.deepEqual(modelWeights(model), initial);
  const { curve, stopReason } = result!;
  assert.equal(stopReason, 'completed');
  assert.equal(curve.length, 8);

  // The reference: tfjs's SGD, its LR set before each step to minLr * 1000^(t/7).
  const reference = tinyMlp();
  const variables = reference.trainableWeights.map((w) => w.read() as tf.Variable);
  const sgd = tf.train.sgd(range.minLr);
  const loader = new DataLoader(data, { batchSize: 20, seed: 5 });
  const batches = [...loader.batches(0), ...loader.batches(1)].slice(0, 8);
  batches.forEach((batch, t) => {
    const lr = range.minLr * (range.maxLr / range.minLr) ** (t / 7);
    close(curve[t].lr, lr);
    sgd.setLearningRate(lr);
    const { x, y } = batchTensors(batch, 4);
    const loss = sgd.minimize(
      () => crossEntropy(y, reference.apply(x, { training: true }) as tf.Tensor),
      true,
      variables,
    )!;
    const expected = loss.dataSync()[0];
    assert.ok(
      Math.abs(curve[t].loss - expected) < 1e-5,
      `step ${t}: ${curve[t].loss} vs ${expected}`,
    );
    tf.dispose([x, y, loss]);
  });
  sgd.dispose();
  reference.dispose();
  const smoothed = smoothLosses(curve.map((p) => p.loss));
  curve.forEach((p, i) => close(p.smoothedLoss, smoothed[i]));
});

test('the test stops when the loss diverges, before that step, and restores the weights', async () => {
  const model = tinyMlp();
  const initial = modelWeights(model);
  const steps = 60;
  const { curve, stopReason, suggestions } = await findLr({
    model,
    trainData: tinyData(200),
    minLr: 1e-3,
    maxLr: 1e4,
    steps,
    batchSize: 20,
    kernels: 'js',
    // Momentum 0.9 blows up at large LRs on this easy data; plain SGD only stalls.
    optimizer: 'momentum',
  });
  assert.deepEqual(modelWeights(model), initial);
  assert.ok(curve.length < steps, `ran all ${steps} steps`);
  assert.ok(stopReason === 'diverged' || stopReason === 'non-finite loss', stopReason);
  const last = curve[curve.length - 1];
  const bestBefore = minOf(curve.slice(0, -1).map((p) => p.smoothedLoss));
  if (stopReason === 'diverged') assert.ok(last.smoothedLoss > 4 * bestBefore);
  else assert.ok(!Number.isFinite(last.loss));
  // Every earlier point was below the threshold, or the run would have stopped there.
  curve.slice(0, -1).forEach((p, i) => {
    const best = minOf(curve.slice(0, i + 1).map((q) => q.smoothedLoss));
    assert.ok(Number.isFinite(p.loss) && p.smoothedLoss <= 4 * best);
  });
  assert.ok(suggestions.minimum === null || suggestions.minimum < last.lr);
});
