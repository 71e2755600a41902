/**
 * mixup: inputs and targets are lambda * v + (1 - lambda) * v[perm] (worked out in float64 in
 * the test), per batch or per sample; targets sum to 1; options are validated; in the Trainer
 * the batch the model sees is mixed, the loss is finite, tensors do not leak and the draws
 * replay from the seed.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { drawMixup, mixup, mixupBatch } from '../../src/methods/mixup/index.js';
import { Rng } from '../../src/data/random.js';
import { Event } from '../../src/train/events.js';
import type { Method } from '../../src/train/method.js';
import { Trainer } from '../../src/train/trainer.js';
import { tinyData, tinyMlp, useTfCpu } from '../train/helpers.js';

before(useTfCpu);

const N = 6;
const CLASSES = 3;
const LABELS = [0, 2, 1, 1, 0, 2];
const PERM = Int32Array.from([3, 0, 5, 1, 2, 4]);
const X = Array.from({ length: N * 4 }, (_, i) => Math.sin(i + 1));

function expected(lambdas: number[], rowSize: number, rows: (i: number) => number[]) {
  return Array.from({ length: N }, (_, i) => {
    const l = lambdas.length === 1 ? lambdas[0] : lambdas[i];
    const a = rows(i);
    const b = rows(PERM[i]);
    return Array.from({ length: rowSize }, (_, k) => l * a[k] + (1 - l) * b[k]);
  }).flat();
}

function checkMix(lambda: number | number[]) {
  const x = tf.tensor4d(X, [N, 2, 2, 1]);
  const y = tf.oneHot(tf.tensor1d(LABELS, 'int32'), CLASSES);
  const mixed = mixupBatch(x, y, lambda, PERM);
  const lambdas = typeof lambda === 'number' ? [lambda] : lambda;
  const xRow = (i: number) => X.slice(i * 4, i * 4 + 4);
  const yRow = (i: number) => Array.from({ length: CLASSES }, (_, k) => (LABELS[i] === k ? 1 : 0));
  const gotX = [...mixed.x.dataSync()];
  const gotY = [...mixed.y.dataSync()];
  expected(lambdas, 4, xRow).forEach((v, i) => assert.ok(Math.abs(gotX[i] - v) < 1e-6));
  expected(lambdas, CLASSES, yRow).forEach((v, i) => assert.ok(Math.abs(gotY[i] - v) < 1e-6));
  for (let i = 0; i < N; i++) {
    const sum = gotY.slice(i * CLASSES, (i + 1) * CLASSES).reduce((s, v) => s + v);
    assert.ok(Math.abs(sum - 1) < 1e-6, `row ${i} sums to ${sum}`);
  }
  assert.deepEqual(mixed.x.shape, [N, 2, 2, 1]);
  tf.dispose([x, y, mixed.x, mixed.y]);
}

test('mixupBatch with one lambda: lambda * v + (1 - lambda) * v[perm], targets sum to 1', () => {
  checkMix(0.3);
  checkMix(1); // lambda = 1 leaves the batch unchanged
});

test('mixupBatch with one lambda per sample', () => {
  checkMix([0.1, 0.9, 0.5, 0, 1, 0.25]);
});

test('drawMixup: one lambda per batch or per sample, in [0, 1], and a permutation', () => {
  const batch = drawMixup(N, 0.4, false, new Rng(3));
  const each = drawMixup(N, 0.4, true, new Rng(3));
  assert.equal(batch.lambda.length, 1);
  assert.equal(each.lambda.length, N);
  for (const l of [...batch.lambda, ...each.lambda]) assert.ok(l >= 0 && l <= 1);
  assert.deepEqual([...each.perm].sort(), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(drawMixup(N, 0.4, true, new Rng(3)), each);
});

test('bad options and arguments are refused with their names', () => {
  const code = (word: string) => (e: Error & { code?: string }) =>
    e.code === 'ANNEAL_BAD_METHOD_OPTION' && e.message.includes(word);
  for (const alpha of [0, -1, NaN, Infinity]) assert.throws(() => mixup({ alpha }), code('alpha'));
  assert.throws(() => mixup({ alpha: 1, perSample: 'yes' as never }), code('perSample'));
  const x = tf.zeros([3, 1, 1, 1]);
  const y = tf.zeros([3, 2]);
  assert.throws(() => mixupBatch(x, y, 1.5, Int32Array.from([0, 1, 2])), code('lambda = 1.5'));
  assert.throws(() => mixupBatch(x, y, [0.5, 0.5], Int32Array.from([0, 1, 2])), code('2 values'));
  assert.throws(() => mixupBatch(x, y, 0.5, Int32Array.from([0, 0, 2])), code('perm'));
  tf.dispose([x, y]);
});

/** Records the targets the loss sees at BEFORE_LOSS. */
function targetProbe(seen: number[][]): Method {
  return {
    name: 'probe',
    match: (event) => event === Event.BEFORE_LOSS,
    apply: (_e, state) => void seen.push([...state.batch!.y.dataSync()]),
  };
}

test('in the Trainer: soft targets reach the loss, loss finite, no leak, draws replay', async () => {
  const run = async () => {
    const seen: number[][] = [];
    const trainer = new Trainer({
      model: tinyMlp(),
      trainData: tinyData(64),
      maxDuration: '2ba',
      batchSize: 16,
      seed: 4,
      kernels: 'js',
      methods: [mixup({ alpha: 1 }), targetProbe(seen)],
    });
    const before = tf.memory().numTensors;
    await trainer.fit();
    assert.equal(tf.memory().numTensors, before);
    assert.ok(Number.isFinite(trainer.state.lossValue));
    trainer.dispose();
    return seen;
  };
  const first = await run();
  assert.equal(first.length, 2);
  for (const targets of first) {
    assert.ok(
      targets.some((v) => v > 0 && v < 1),
      'targets are soft',
    );
    for (let i = 0; i < 16; i++) {
      const sum = targets.slice(i * 4, i * 4 + 4).reduce((s, v) => s + v);
      assert.ok(Math.abs(sum - 1) < 1e-6);
    }
  }
  assert.deepEqual(await run(), first);
});
