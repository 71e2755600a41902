/**
 * Focal loss and cyclical focal loss: gamma = 0 is cross-entropy, hand-computed values, the
 * paper's xi schedule, and the loss a Trainer run sees at each step (worked out in plain JS).
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import {
  cyclicalFocalLoss,
  cyclicalFocalLossValue,
  cyclicalFocalXi,
  focalLoss,
  focalLossValue,
} from '../../src/methods/focal-loss/index.js';
import { Trainer } from '../../src/train/trainer.js';
import { tinyData, tinyMlp, useTfCpu } from '../train/helpers.js';
import { LABELS, LOGITS, logSoftmax, lossSpy } from './helpers.js';

before(useTfCpu);

/** Batch mean of -w(p_t) log p_t in plain JS. */
function jsLoss(logits: number[][], labels: number[], w: (p: number, label: number) => number) {
  const terms = logits.map((row, i) => {
    const logPt = logSoftmax(row)[labels[i]];
    return -w(Math.exp(logPt), labels[i]) * logPt;
  });
  return terms.reduce((s, v) => s + v, 0) / terms.length;
}

function close(actual: number, expected: number, tol = 1e-5) {
  assert.ok(
    Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)),
    `${actual} vs ${expected}`,
  );
}

const valueOf = (f: () => tf.Scalar) => tf.tidy(() => f().dataSync()[0]);

test('gamma = 0 is softmax cross-entropy (tfjs)', () => {
  const logits = tf.tensor2d(LOGITS);
  const y = tf.oneHot(tf.tensor1d(LABELS, 'int32'), 4);
  close(
    valueOf(() => focalLossValue(y, logits, 0)),
    valueOf(() => tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar),
  );
  tf.dispose([logits, y]);
});

test('focal loss values: a hand-computed example and class weights', () => {
  // Two classes, logits [0, ln 3]: p_t = 3/4, so -(1/4)^2 ln(3/4) = 0.0179801...
  const two = tf.tensor2d([[0, Math.log(3)]]);
  const label = tf.tensor2d([[0, 1]]);
  close(
    valueOf(() => focalLossValue(label, two, 2)),
    0.0625 * -Math.log(0.75),
  );
  close(
    valueOf(() => focalLossValue(label, two, 2)),
    0.017980122,
  );

  const logits = tf.tensor2d(LOGITS);
  const y = tf.oneHot(tf.tensor1d(LABELS, 'int32'), 4);
  const alpha = [0.25, 1, 2, 0.5];
  for (const gamma of [0.5, 2, 5]) {
    close(
      valueOf(() => focalLossValue(y, logits, gamma)),
      jsLoss(LOGITS, LABELS, (p) => (1 - p) ** gamma),
    );
    close(
      valueOf(() => focalLossValue(y, logits, gamma, alpha)),
      jsLoss(LOGITS, LABELS, (p, k) => alpha[k] * (1 - p) ** gamma),
    );
  }
  tf.dispose([two, label, logits, y]);
});

test('cyclical focal loss: the mix of the high-confidence and focal terms', () => {
  const two = tf.tensor2d([[0, Math.log(3)]]);
  const label = tf.tensor2d([[0, 1]]);
  // -[xi (1 + 3/4)^3 + (1 - xi) (1/4)^2] ln(3/4) with xi = 1/3.
  close(
    valueOf(() => cyclicalFocalLossValue(label, two, { gammaHigh: 3, gammaLow: 2, xi: 1 / 3 })),
    -((1 / 3) * 1.75 ** 3 + (2 / 3) * 0.0625) * Math.log(0.75),
  );
  close(
    valueOf(() => cyclicalFocalLossValue(label, two, { gammaHigh: 3, gammaLow: 2, xi: 0 })),
    valueOf(() => focalLossValue(label, two, 2)),
  );
  tf.dispose([two, label]);
});

test("xi follows the paper's schedule: 1 -> 0 at 1/f of the run -> 1", () => {
  // Smith 2022: xi = 1 - f e/E for f e <= E, else (f e/E - 1)/(f - 1), e = step, E = run length.
  const paper = (e: number, total: number, f: number) =>
    f * e <= total ? 1 - (f * e) / total : ((f * e) / total - 1) / (f - 1);
  for (const [total, f] of [
    [100, 4],
    [40, 2],
  ]) {
    const xi = cyclicalFocalXi(total, f);
    for (let e = 0; e < total; e++) close(xi(e), paper(e, total, f), 1e-12);
  }
});

test('bad options are refused with the option named', () => {
  const cases: [() => unknown, RegExp][] = [
    [() => focalLoss({ gamma: -1 }), /focal-loss: gamma = -1/],
    [() => focalLoss({ gamma: 2, alpha: 0 }), /focal-loss: alpha = 0/],
    [() => focalLoss({ gamma: 2, alpha: [1, -1] }), /alpha = \[1, -1\]/],
    [() => cyclicalFocalLoss({ gammaHigh: NaN }), /cyclical-focal-loss: gammaHigh = NaN/],
    [() => cyclicalFocalLoss({ factor: 1 }), /cyclical-focal-loss: factor = 1/],
  ];
  for (const [make, message] of cases) {
    assert.throws(make, (e: Error & { code?: string }) => {
      return e.code === 'ANNEAL_BAD_METHOD_OPTION' && message.test(e.message);
    });
  }
});

test('a 2-step Trainer run: each step trains on the cyclical focal loss at its xi', async () => {
  const spy = lossSpy();
  const trainer = new Trainer({
    model: tinyMlp(),
    trainData: tinyData(64),
    maxDuration: '2ba',
    batchSize: 32,
    kernels: 'js',
    methods: [cyclicalFocalLoss({ gammaHigh: 3, gammaLow: 2, factor: 4 }), spy.method],
  });
  await trainer.fit({ duration: '1ba' });
  const before = tf.memory().numTensors;
  await trainer.fit();
  assert.equal(tf.memory().numTensors, before);
  // Run of 2 steps, f = 4: xi(0) = 1; xi(1) = (4 * 1/2 - 1) / 3 = 1/3.
  spy.seen.forEach(({ logits, labels, loss }, step) => {
    const xi = [1, 1 / 3][step];
    close(
      loss,
      jsLoss(logits, labels, (p) => xi * (1 + p) ** 3 + (1 - xi) * (1 - p) ** 2),
    );
  });
  assert.equal(spy.seen.length, 2);
  trainer.dispose();

  const focal = new Trainer({
    model: tinyMlp(),
    trainData: tinyData(64),
    maxDuration: '2ba',
    batchSize: 32,
    kernels: 'js',
    methods: [focalLoss({ gamma: 2 })],
  });
  const result = await focal.fit();
  assert.ok(Number.isFinite(result.metrics['train/loss']));
  focal.dispose();
});
