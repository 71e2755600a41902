/**
 * Bag of Tricks recipe: the lr multiplier is a linear warmup then a cosine to 0 (values at the
 * warmup boundary and the end derived here), the methods and decay mask of each trick, the
 * ablation switch, and a 2-step run of a zero-gamma ResNet with the recipe.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { bagOfTricks } from '../../src/methods/bag-of-tricks/index.js';
import { createModel } from '../../src/models/index.js';
import { createSchedule, type ScheduleSpec } from '../../src/schedules/index.js';
import { Timeline } from '../../src/time/index.js';
import { Trainer } from '../../src/train/trainer.js';
import { FAST_KERNELS, tinyData, useTfCpu } from '../train/helpers.js';

before(useTfCpu);

test('lr: linear warmup to 1 over the warmup, then cosine to 0 at the end of the run', () => {
  const recipe = bagOfTricks({ warmup: '2ba' });
  const timeline = new Timeline({
    stepsPerEpoch: 10,
    samplesPerStep: 8,
    samplesPerEpoch: 80,
    maxDuration: '10ba',
  });
  const lr = createSchedule(recipe.schedules.lr as ScheduleSpec, timeline).schedule;
  const warmup = 2;
  const cosineSteps = 10 - warmup;
  const expected = (t: number) =>
    t < warmup ? t / warmup : 0.5 * (1 + Math.cos((Math.PI * (t - warmup)) / cosineSteps));
  assert.equal(lr(0), 0);
  assert.equal(lr(1), 0.5);
  assert.equal(lr(2), 1); // the warmup boundary: the top of the cosine
  for (const t of [3, 6, 9]) assert.ok(Math.abs(lr(t) - expected(t)) < 1e-12);
  assert.ok(Math.abs(lr(9) - 0.5 * (1 + Math.cos((Math.PI * 7) / 8))) < 1e-12);
});

test('each trick is present by default and can be left out', () => {
  const all = bagOfTricks();
  assert.deepEqual(
    all.methods.map((m) => m.name),
    ['mixup', 'label-smoothing'],
  );
  assert.deepEqual(all.paramVector.decay, { kinds: { bias: 0, norm: 0 } });
  assert.equal(all.modelOptions.zeroInitLastBnGamma, true);
  const none = bagOfTricks({
    without: ['warmup', 'cosine', 'label-smoothing', 'mixup', 'no-bias-decay', 'zero-init-gamma'],
  });
  assert.deepEqual(none.tricks, []);
  assert.deepEqual(none.methods, []);
  assert.deepEqual(none.schedules.lr, { name: 'constant', value: 1 });
  assert.deepEqual(none.paramVector.decay, { kinds: { bias: 1, norm: 1 } });
  assert.equal(none.modelOptions.zeroInitLastBnGamma, false);
  assert.throws(
    () => bagOfTricks({ without: ['dropout' as never] }),
    /bag-of-tricks: without = "dropout"/,
  );
  assert.throws(() => bagOfTricks({ mixupAlpha: -1 }), /mixup: alpha = -1/);
});

test('a zero-gamma ResNet trains two steps with the recipe', async () => {
  const recipe = bagOfTricks({ warmup: '1ba' });
  const model = createModel('resnet', {
    inputShape: [8, 8, 1],
    numClasses: 4,
    seed: 0,
    width: 4,
    ...recipe.modelOptions,
  });
  const trainer = new Trainer({
    model,
    trainData: tinyData(64),
    maxDuration: '2ba',
    batchSize: 16,
    kernels: FAST_KERNELS,
    optimizer: { name: 'sgd', lr: 0.1, momentum: 0.9, weightDecay: 5e-4 },
    schedules: recipe.schedules,
    methods: recipe.methods,
    paramVector: recipe.paramVector,
  });
  const tensors = tf.memory().numTensors;
  const result = await trainer.fit();
  assert.ok(Number.isFinite(result.metrics['train/loss']));
  assert.ok(tf.memory().numTensors <= tensors);
  trainer.dispose();
  model.dispose();
});
