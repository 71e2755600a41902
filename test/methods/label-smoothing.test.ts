/**
 * Label smoothing: the smoothed targets and the closed form of the smoothed cross-entropy,
 * (1 - a) CE + a mean_k(-log p_k), worked out in plain JS; a 2-step Trainer run.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { labelSmoothing, smoothLabels } from '../../src/methods/label-smoothing/index.js';
import { crossEntropy } from '../../src/train/loss.js';
import { Trainer } from '../../src/train/trainer.js';
import { tinyData, tinyMlp, useTfCpu } from '../train/helpers.js';
import { LABELS, LOGITS, logSoftmax } from './helpers.js';

before(useTfCpu);

test('smoothLabels moves alpha of the mass to the uniform distribution', () => {
  const y = tf.oneHot(tf.tensor1d([1, 0], 'int32'), 4);
  const smooth = smoothLabels(y, 0.2);
  // 0.8 * 1 + 0.2 / 4 = 0.85 on the label, 0.2 / 4 = 0.05 elsewhere.
  const expected = [0.05, 0.85, 0.05, 0.05, 0.85, 0.05, 0.05, 0.05];
  (smooth.arraySync() as number[][])
    .flat()
    .forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-7));
  tf.dispose([y, smooth]);
});

test('cross-entropy on smoothed labels is (1 - a) CE + a mean_k(-log p_k)', () => {
  const logits = tf.tensor2d(LOGITS);
  const y = tf.oneHot(tf.tensor1d(LABELS, 'int32'), 4);
  for (const alpha of [0, 0.1, 0.3]) {
    const logP = LOGITS.map(logSoftmax);
    const ce = logP.map((row, i) => -row[LABELS[i]]);
    const uniform = logP.map((row) => -row.reduce((s, v) => s + v, 0) / row.length);
    const expected =
      ce.reduce((s, v, i) => s + (1 - alpha) * v + alpha * uniform[i], 0) / LABELS.length;
    const loss = tf.tidy(() => crossEntropy(smoothLabels(y, alpha), logits).dataSync()[0]);
    assert.ok(Math.abs(loss - expected) < 1e-5, `alpha ${alpha}: ${loss} vs ${expected}`);
  }
  tf.dispose([logits, y]);
});

test('bad alpha is refused with the option named', () => {
  for (const alpha of [-0.1, 1, NaN]) {
    assert.throws(
      () => labelSmoothing({ alpha }),
      (e: Error & { code?: string }) =>
        e.code === 'ANNEAL_BAD_METHOD_OPTION' && /label-smoothing: alpha = /.test(e.message),
    );
  }
  assert.throws(() => smoothLabels(tf.zeros([1, 2]), 1.5), /alpha = 1.5/);
});

test('a 2-step Trainer run with label smoothing: finite loss, no tensors left', async () => {
  const trainer = new Trainer({
    model: tinyMlp(),
    trainData: tinyData(64),
    maxDuration: '2ba',
    batchSize: 32,
    kernels: 'js',
    methods: [labelSmoothing({ alpha: 0.1 })],
  });
  await trainer.fit({ duration: '1ba' });
  const before = tf.memory().numTensors;
  const result = await trainer.fit();
  assert.equal(tf.memory().numTensors, before);
  assert.equal(result.timestamp.step, 2);
  assert.ok(Number.isFinite(result.metrics['train/loss']));
  trainer.dispose();
});
