/**
 * CutMix: the box follows the reference code's rand_bbox (worked cases by hand), lambda is
 * 1 - pasted area fraction after clipping, pixels inside the box come exactly from the paired
 * sample and all others stay; targets mix by that lambda; in the Trainer the loss is finite,
 * tensors do not leak and a box is pasted.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { cutmix, cutmixBatch, cutmixBox } from '../../src/methods/cutmix/index.js';
import { Event } from '../../src/train/events.js';
import type { Method } from '../../src/train/method.js';
import { Trainer } from '../../src/train/trainer.js';
import { tinyData, tinyMlp, useTfCpu } from '../train/helpers.js';

before(useTfCpu);

test('cutmixBox: worked cases of the reference rand_bbox, lambda from the clipped area', () => {
  // 8x8, lambda 0.75: sqrt(0.25) = 0.5, cut 4x4, half 2; centred at (4, 4): rows/cols 2..5.
  assert.deepEqual(cutmixBox(8, 8, 0.75, 4, 4), {
    y0: 2,
    y1: 6,
    x0: 2,
    x1: 6,
    lambda: 1 - 16 / 64,
  });
  // Same box at the corner (0, 7): rows 0..1 (clipped from -2), cols 5..7 (clipped from 9).
  assert.deepEqual(cutmixBox(8, 8, 0.75, 0, 7), { y0: 0, y1: 2, x0: 5, x1: 8, lambda: 1 - 6 / 64 });
  // 10x6, lambda 0.36: sqrt(0.64) = 0.8, cut 8 x 4 (floor 4.8), halves 4 and 2; at (5, 1).
  assert.deepEqual(cutmixBox(10, 6, 0.36, 5, 1), {
    y0: 1,
    y1: 9,
    x0: 0,
    x1: 3,
    lambda: 1 - (8 * 3) / 60,
  });
  // Odd cut 5 (floor(7 * sqrt(0.52)) = floor(5.05)): the reference's halves are 2, so 4 wide.
  const odd = cutmixBox(7, 7, 0.48, 3, 3);
  assert.deepEqual([odd.y0, odd.y1, odd.x0, odd.x1], [1, 5, 1, 5]);
  // lambda 1 pastes nothing.
  assert.equal(cutmixBox(8, 8, 1, 3, 3).lambda, 1);
  assert.throws(() => cutmixBox(8, 8, 1.2, 3, 3), /lambda = 1.2/);
});

test('cutmixBatch: box pixels come from perm[i], others stay, targets mix by lambda', () => {
  const [n, h, w, c] = [4, 6, 5, 2];
  const values = Float32Array.from({ length: n * h * w * c }, (_, i) => i * 0.37 - 11);
  const labels = [0, 1, 2, 1];
  const perm = Int32Array.from([2, 3, 0, 1]);
  const box = cutmixBox(h, w, 0.6, 5, 1);
  const pasted = (box.y1 - box.y0) * (box.x1 - box.x0);
  assert.ok(pasted > 0);
  assert.ok(Math.abs(box.lambda - (1 - pasted / (h * w))) < 1e-12);
  const x = tf.tensor4d(values, [n, h, w, c]);
  const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 3);
  const mixed = cutmixBatch(x, y, box, perm);
  const out = mixed.x.dataSync();
  const idx = (i: number, yy: number, xx: number, ch: number) => ((i * h + yy) * w + xx) * c + ch;
  for (let i = 0; i < n; i++)
    for (let yy = 0; yy < h; yy++)
      for (let xx = 0; xx < w; xx++)
        for (let ch = 0; ch < c; ch++) {
          const inside = yy >= box.y0 && yy < box.y1 && xx >= box.x0 && xx < box.x1;
          const from = inside ? perm[i] : i;
          assert.equal(out[idx(i, yy, xx, ch)], values[idx(from, yy, xx, ch)]);
        }
  const soft = mixed.y.dataSync();
  for (let i = 0; i < n; i++)
    for (let k = 0; k < 3; k++) {
      const want =
        box.lambda * (labels[i] === k ? 1 : 0) + (1 - box.lambda) * (labels[perm[i]] === k ? 1 : 0);
      assert.ok(Math.abs(soft[i * 3 + k] - want) < 1e-6);
    }
  tf.dispose([x, y, mixed.x, mixed.y]);
});

test('bad options are refused with their names', () => {
  for (const alpha of [0, -0.5, NaN]) {
    assert.throws(
      () => cutmix({ alpha }),
      (e: Error & { code?: string }) =>
        e.code === 'ANNEAL_BAD_METHOD_OPTION' && e.message.includes('cutmix: alpha'),
    );
  }
  const x = tf.zeros([2, 4]);
  assert.throws(
    () => cutmixBatch(x, x, cutmixBox(4, 4, 0.5, 1, 1), Int32Array.from([1, 0])),
    /rank 4/,
  );
  x.dispose();
});

test('in the Trainer: a box is pasted, the loss is finite and no tensor leaks', async () => {
  const lambdas: number[] = [];
  const changed: boolean[] = [];
  const probe: Method = {
    name: 'probe',
    match: (event) => event === Event.BEFORE_FORWARD,
    apply: (_e, state) => {
      const batch = state.batch!;
      const original = batch.data.images;
      const now = batch.x.dataSync();
      changed.push(now.some((v, i) => v !== original[i]));
      lambdas.push(state.metrics['cutmix/lambda']);
    },
  };
  const trainer = new Trainer({
    model: tinyMlp(),
    trainData: tinyData(64),
    maxDuration: '2ba',
    batchSize: 16,
    seed: 2,
    kernels: 'js',
    methods: [cutmix({ alpha: 1 }), probe],
  });
  const before = tf.memory().numTensors;
  await trainer.fit();
  assert.equal(tf.memory().numTensors, before);
  assert.ok(Number.isFinite(trainer.state.lossValue));
  assert.equal(lambdas.length, 2);
  lambdas.forEach((l, i) => assert.equal(changed[i], l < 1, `step ${i}: lambda ${l}`));
  trainer.dispose();
});
