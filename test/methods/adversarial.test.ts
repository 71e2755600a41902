import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { UsageError } from '../../src/errors.js';
import {
  adversarial,
  fgsmAttack,
  pgdAttack,
  robustEvaluate,
} from '../../src/methods/adversarial/index.js';
import { createModel } from '../../src/models/index.js';
import { Trainer } from '../../src/train/index.js';
import { paramsOf, tinyData, tinyEvalData, tinyMlp, useTfCpu } from '../train/helpers.js';
import { maxOf } from '../../src/stats.js';

before(useTfCpu);

const data = tinyData(12, 5);
const x = tf.tensor4d(data.images, [12, 8, 8, 1]);
const y = tf.oneHot(tf.tensor1d(data.labels, 'int32'), 4);

function meanCe(model: tfl.LayersModel, input: tf.Tensor): number {
  return tf.tidy(
    () => tf.losses.softmaxCrossEntropy(y, model.apply(input) as tf.Tensor).dataSync()[0],
  );
}

/** Per-sample max |d| and L2 norm of d = a - b, computed on the host. */
function distances(a: tf.Tensor, b: tf.Tensor): { linf: number[]; l2: number[] } {
  const av = a.dataSync();
  const bv = b.dataSync();
  const size = av.length / a.shape[0];
  const linf: number[] = [];
  const l2: number[] = [];
  for (let i = 0; i < a.shape[0]; i++) {
    let m = 0;
    let s = 0;
    for (let j = i * size; j < (i + 1) * size; j++) {
      const d = av[j] - bv[j];
      m = Math.max(m, Math.abs(d));
      s += d * d;
    }
    linf.push(m);
    l2.push(Math.sqrt(s));
  }
  return { linf, l2 };
}

for (const norm of ['linf', 'l2'] as const) {
  test(`PGD (${norm}): every iterate stays in the epsilon ball and the loss rises`, () => {
    const model = tinyMlp([16], 1);
    const epsilon = norm === 'linf' ? 0.3 : 1.5;
    const clean = meanCe(model, x);
    const losses: number[] = [];
    // With the same seed, `steps: k` is the k-th iterate of one run.
    for (const steps of [1, 2, 3, 5]) {
      const adv = pgdAttack(model, x, y, { epsilon, norm, steps, stepSize: epsilon / 2 }, 7);
      const { linf, l2 } = distances(adv, x);
      const radius = norm === 'linf' ? linf : l2;
      for (const r of radius) assert.ok(r <= epsilon * (1 + 1e-5), `${r} > ${epsilon}`);
      // The steps reach the boundary: the attack is not a no-op.
      assert.ok(maxOf(radius) > 0.5 * epsilon);
      losses.push(meanCe(model, adv));
      adv.dispose();
    }
    assert.ok(
      losses.every((l) => l > clean),
      `${losses} vs clean ${clean}`,
    );
    assert.ok(losses[3] > losses[0], `more steps, higher loss: ${losses}`);
    model.dispose();
  });
}

test('PGD clips to the valid range and stays in the ball', () => {
  const model = tinyMlp([16], 2);
  const adv = pgdAttack(model, x, y, { epsilon: 0.5, steps: 3, clip: [-1, 1] }, 3);
  const v = adv.dataSync();
  const xv = x.dataSync();
  for (let i = 0; i < v.length; i++) {
    assert.ok(v[i] >= -1 && v[i] <= 1);
    // Clipping moves towards x only when x is inside the range.
    if (xv[i] >= -1 && xv[i] <= 1) assert.ok(Math.abs(v[i] - xv[i]) <= 0.5 + 1e-6);
  }
  adv.dispose();
  model.dispose();
});

test('FGSM equals x + eps * sign(grad) worked out by hand, and one PGD step of size eps', () => {
  // A linear model z = x W + b: d CE / d x = (softmax(z) - y) W^T, per sample (the batch mean
  // only scales it).
  const model = createModel('mlp', { inputShape: [8, 8, 1], numClasses: 4, seed: 9, hidden: [] });
  const [w, b] = model.getWeights().map((t) => Array.from(t.dataSync()));
  const xs = x.dataSync();
  const labels = data.labels;
  const eps = 0.25;
  const expected = new Float32Array(xs.length);
  for (let i = 0; i < 12; i++) {
    const row = Array.from(xs.subarray(i * 64, (i + 1) * 64));
    const z = [0, 1, 2, 3].map((k) => b[k] + row.reduce((s, v, j) => s + v * w[j * 4 + k], 0));
    const max = maxOf(z);
    const e = z.map((v) => Math.exp(v - max));
    const p = e.map((v) => v / e.reduce((s, t) => s + t, 0));
    for (let j = 0; j < 64; j++) {
      const g = [0, 1, 2, 3].reduce(
        (s, k) => s + (p[k] - (labels[i] === k ? 1 : 0)) * w[j * 4 + k],
        0,
      );
      expected[i * 64 + j] = row[j] + eps * Math.sign(g);
    }
  }
  const fgsm = fgsmAttack(model, x, y, { epsilon: eps });
  const pgd1 = pgdAttack(model, x, y, {
    epsilon: eps,
    steps: 1,
    stepSize: eps,
    randomStart: false,
  });
  for (const adv of [fgsm, pgd1]) {
    const v = adv.dataSync();
    for (let i = 0; i < v.length; i++) assert.ok(Math.abs(v[i] - expected[i]) < 1e-5, `${i}`);
  }
  tf.dispose([fgsm, pgd1]);
  model.dispose();
});

test('out-of-range attack options are UsageErrors naming them', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ epsilon: -0.1 }, /adversarial: epsilon = -0.1 is not valid/],
    [{ epsilon: 0.1, steps: 0 }, /steps = 0/],
    [{ epsilon: 0.1, norm: 'l1' }, /norm = "l1"/],
    [{ epsilon: 0.1, stepSize: -1 }, /stepSize = -1/],
    [{ epsilon: 0.1, clip: [1, 0] }, /clip = \[1, 0\]/],
    [{ epsilon: 0.1, attack: 'cw' }, /attack = "cw"/],
    [{ epsilon: 0.1, evalLimit: -5 }, /evalLimit = -5/],
  ];
  for (const [opts, message] of cases) {
    assert.throws(
      () => adversarial(opts as never),
      (e: unknown) => e instanceof UsageError && message.test(e.message),
      JSON.stringify(opts),
    );
  }
});

test('robustEvaluate: epsilon 0 gives the clean accuracy; the attack only lowers it', () => {
  const model = tinyMlp([16], 4);
  const evalData = tinyEvalData(40);
  const zero = robustEvaluate(model, evalData, { epsilon: 0, steps: 2 });
  assert.equal(zero.accuracy, zero.cleanAccuracy);
  const attacked = robustEvaluate(model, evalData, { epsilon: 1, steps: 3, randomStart: false });
  assert.ok(attacked.accuracy < attacked.cleanAccuracy, JSON.stringify(attacked));
  model.dispose();
});

test('adversarial training logs the robust gap each evaluation and ends on the best-robust weights', async () => {
  const model = tinyMlp([16], 5);
  const seen: { robust: number; gap: number; train: number; params: Float32Array }[] = [];
  const logged: Record<string, unknown>[] = [];
  const trainer: Trainer = new Trainer({
    model,
    trainData: tinyData(96, 3),
    evalData: tinyEvalData(48),
    maxDuration: '5ep',
    batchSize: 32,
    seed: 1,
    kernels: 'js',
    optimizer: { name: 'adamw', lr: 0.05 },
    methods: [
      adversarial({
        epsilon: 0.5,
        steps: 2,
        evalLimit: 48,
        trainEvalLimit: 40,
        earlyStopping: { patience: 100 },
      }),
    ],
    callbacks: [
      {
        onEvalEnd: (s) => {
          seen.push({
            robust: s.metrics['eval/robust_accuracy'],
            train: s.metrics['train/robust_accuracy'],
            gap: s.metrics['adversarial/robust_gap'],
            params: paramsOf(trainer),
          });
        },
        onLog: (r) => void (r.event === 'adversarial' && logged.push(r)),
      },
    ],
  });
  await trainer.fit();
  assert.equal(seen.length, 5);
  assert.equal(logged.length, 5);
  for (const s of seen) {
    assert.ok(s.robust >= 0 && s.robust <= 1);
    assert.ok(Math.abs(s.gap - (s.train - s.robust)) < 1e-12);
  }
  // Best = first evaluation with the highest robust accuracy (ties keep the earliest).
  const best = seen.reduce((bi, s, i) => (s.robust > seen[bi].robust ? i : bi), 0);
  // With these seeds the best is not the last evaluation, so the restore is visible.
  assert.ok(best < seen.length - 1, `best ${best}`);
  assert.deepEqual(paramsOf(trainer), seen[best].params);
  trainer.dispose();
  model.dispose();
});
