import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { UsageError } from '../../src/errors.js';
import {
  addAuxHeads,
  alasca,
  alascaAlpha,
  alascaLoss,
  defaultHeadLayers,
  findAuxHeads,
  stripAuxHeads,
} from '../../src/methods/alasca/index.js';
import { createModel } from '../../src/models/index.js';
import { Event } from '../../src/train/events.js';
import type { Method } from '../../src/train/method.js';
import { Trainer } from '../../src/train/index.js';
import { tinyData, tinyMlp, useTfCpu } from '../train/helpers.js';
import { LABELS, LOGITS, logSoftmax } from './helpers.js';

before(useTfCpu);

function softmax(row: number[]): number[] {
  return logSoftmax(row).map(Math.exp);
}

/** The paper's weight on the label: r * softmax(ema / T)[y] + (1 - r). */
function alphaByHand(ema: number[], label: number, t: number, r: number): number {
  return r * softmax(ema.map((v) => v / t))[label] + (1 - r);
}

/** -sum_k target_k log softmax(h)_k with alpha on the label, (1 - alpha) / (K - 1) elsewhere. */
function smoothedCe(h: number[], label: number, alpha: number): number {
  const ls = logSoftmax(h);
  return -ls.reduce((s, l, k) => s + (k === label ? alpha : (1 - alpha) / (h.length - 1)) * l, 0);
}

const oneHot = (labels: number[]) => tf.oneHot(tf.tensor1d(labels, 'int32'), 4);

test('the per-sample label weight is the paper formula (smoothing 1 - alpha)', () => {
  const y = oneHot(LABELS);
  for (const [t, r] of [
    [0.33, 1],
    [1, 0.4],
    [0.5, 0],
  ]) {
    const alpha = alascaAlpha(tf.tensor2d(LOGITS), y, t, r).arraySync();
    LOGITS.forEach((row, i) => {
      assert.ok(Math.abs(alpha[i] - alphaByHand(row, LABELS[i], t, r)) < 1e-6, `${t} ${r} ${i}`);
    });
  }
  // A sample the model is sure of keeps its label; a doubted one is smoothed hard. Row 0's
  // label is its largest logit (2 vs 1, 0.1, -1): softmax([2,1,0.1,-1] / 0.33)[0] = 0.951...
  const a = alascaAlpha(tf.tensor2d(LOGITS), y, 0.33, 1).arraySync();
  assert.ok(Math.abs(a[0] - 0.951) < 1e-3, `${a[0]}`);
  // Row 2's label 3 has logit 1 against 4: softmax(...)[3] ~ exp(-3 / 0.33) ~ 1e-4.
  assert.ok(a[2] < 1e-3, `${a[2]}`);
});

test("alascaLoss equals CE(main) + lam * sum of the heads' smoothed cross-entropies", () => {
  const heads = [
    [
      [0.3, -0.2, 1.1, 0],
      [2, 0.1, -1, 0.5],
      [0, 0, 0, 1],
    ],
    [
      [-1, 0.5, 0.5, 2],
      [0.2, 0.2, 0.3, -0.4],
      [1.5, -2, 0.7, 0.1],
    ],
  ];
  const alpha = [0.9, 0.35, 0.6];
  const lam = 1.7;
  const main = LOGITS.reduce((s, row, i) => s - logSoftmax(row)[LABELS[i]], 0) / 3;
  const aux = heads.map(
    (h) => h.reduce((s, row, i) => s + smoothedCe(row, LABELS[i], alpha[i]), 0) / 3,
  );
  const expected = main + lam * (aux[0] + aux[1]);
  const loss = alascaLoss(
    tf.tensor2d(LOGITS),
    heads.map((h) => tf.tensor2d(h)),
    oneHot(LABELS),
    tf.tensor1d(alpha),
    lam,
  ).dataSync()[0];
  assert.ok(Math.abs(loss - expected) < 1e-5, `${loss} vs ${expected}`);
});

test('heads exist in the training model and not in the exported one, which predicts the same', () => {
  const base = createModel('mlp', {
    inputShape: [8, 8, 1],
    numClasses: 4,
    seed: 1,
    hidden: [16, 8],
  });
  assert.deepEqual(defaultHeadLayers(base), [base.layers[2].name]); // the 16-unit layer only
  const training = addAuxHeads(base, { seed: 2 });
  const heads = findAuxHeads(training)!;
  assert.equal(heads.headCount, 1);
  assert.equal(training.trainableWeights.length, base.trainableWeights.length + 2);
  const exported = stripAuxHeads(training);
  assert.equal(findAuxHeads(exported), null);
  assert.equal(exported.trainableWeights.length, base.trainableWeights.length);
  assert.ok(exported.trainableWeights.every((w) => !w.name.includes('head')));
  const x = tf.tensor4d(tinyData(5, 1).images, [5, 8, 8, 1]);
  const want = (base.apply(x) as tf.Tensor).arraySync();
  assert.deepEqual((exported.apply(x) as tf.Tensor).arraySync(), want);
  assert.deepEqual((training.apply(x, { training: false }) as tf.Tensor).arraySync(), want);
  assert.equal(heads.headLogits, null, 'inference computes no heads');
  (training.apply(x, { training: true }) as tf.Tensor).dispose();
  assert.deepEqual(
    heads.headLogits!.map((h) => h.shape),
    [[5, 4]],
  );
  heads.releaseHeads();
  // The CNN gets a head after each pooling stage.
  const cnn = createModel('cnn', {
    inputShape: [8, 8, 1],
    numClasses: 4,
    seed: 1,
    filters: [4, 4],
    denseUnits: 8,
  });
  assert.deepEqual(
    defaultHeadLayers(cnn),
    cnn.layers.filter((l) => l.getClassName() === 'MaxPooling2D').map((l) => l.name),
  );
  tf.dispose(x);
  [base, training, cnn].forEach((m) => m.dispose());
});

test('bad options and a model without heads are UsageErrors naming them', () => {
  assert.throws(() => alasca({ lam: -1 }), /alasca: lam = -1 is not valid/);
  assert.throws(() => alasca({ wEma: 1 }), /alasca: wEma = 1 is not valid/);
  assert.throws(() => alasca({ temperature: 0 }), /temperature = 0/);
  const shallow = tinyMlp([8], 1);
  assert.throws(
    () => addAuxHeads(shallow),
    (e: unknown) => e instanceof UsageError && /no intermediate layer/.test(e.message),
  );
  assert.throws(() => addAuxHeads(shallow, { layers: ['nope'] }), /layers = "nope"/);
  const trainer = new Trainer({
    model: shallow,
    trainData: tinyData(16),
    maxDuration: '1ba',
    kernels: 'js',
    methods: [alasca()],
  });
  return assert
    .rejects(() => trainer.fit(), /alasca: the model has no auxiliary heads/)
    .finally(() => {
      trainer.dispose();
      shallow.dispose();
    });
});

test("in training, the first step's loss is the closed form, and the EMA holds (1 - w) z", async () => {
  const method = alasca({ lam: 0.5, temperature: 0.5, wEma: 0.7, warmup: '0dur' });
  const base = tinyMlp([16, 8], 3);
  const { model } = method.transformModel(base);
  base.dispose();
  const heads = findAuxHeads(model)!;
  const seen: {
    z: number[][];
    h: number[][];
    labels: number[];
    indices: number[];
    loss: number;
  }[] = [];
  const spy: Method = {
    name: 'spy',
    match: (e) => e === Event.AFTER_FORWARD || e === Event.BEFORE_BACKWARD,
    apply: (e, s) => {
      if (e === Event.AFTER_FORWARD) {
        seen.push({
          z: s.outputs!.arraySync() as number[][],
          h: heads.headLogits![0].arraySync() as number[][],
          labels: [...s.batch!.data.labels],
          indices: [...s.batch!.data.indices],
          loss: NaN,
        });
      } else seen[seen.length - 1].loss = s.loss!.dataSync()[0];
    },
  };
  const trainer = new Trainer({
    model,
    trainData: tinyData(24, 2),
    maxDuration: '1ba',
    batchSize: 8,
    seed: 2,
    kernels: 'js',
    methods: [method, spy],
  });
  await trainer.fit();
  const { z, h, labels, indices, loss } = seen[0];
  let expected = 0;
  z.forEach((row, i) => {
    // First visit: ema = 0.7 * 0 + 0.3 z; warm-up off (r = 1).
    const alpha = alphaByHand(
      row.map((v) => 0.3 * v),
      labels[i],
      0.5,
      1,
    );
    expected += (-logSoftmax(row)[labels[i]] + 0.5 * smoothedCe(h[i], labels[i], alpha)) / z.length;
  });
  assert.ok(Math.abs(loss - expected) < 1e-5, `${loss} vs ${expected}`);
  const ema = method.stateDict().ema as Float32Array;
  indices.forEach((index, i) =>
    z[i].forEach((v, k) => assert.ok(Math.abs(ema[index * 4 + k] - 0.3 * v) < 1e-6)),
  );
  trainer.dispose();
  model.dispose();
});
