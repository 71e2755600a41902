/**
 * anneal-cpu against tfjs-backend-cpu, kernel by kernel: values and gradients on random shapes
 * (odd sizes, strides 1 and 2, 'same' and 'valid' padding, dilation, batch 1, broadcasting from
 * either side), within a relative error of 1e-5 (oneDNN sums in another order than tfjs's
 * loops); and every call in this file ran natively (the fallback tally names any that did not).
 * Skipped, with the reason, where the host device is not built; CI builds it and sets
 * ANNEAL_REQUIRE_HOST=1, so there a missing device fails instead.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { hostDevice, registerAnnealCpu } from '../../src/backend/index.js';
import { grads, problem, r4, rnd, same, skip, valuesOn } from './helpers.js';

before(() => {
  if (!problem) registerAnnealCpu();
});

test(
  'MatMul and _FusedMatMul: transposes, batch broadcasting, bias and activations',
  { skip },
  () =>
    same(() => [
      tf.matMul(rnd([5, 7], 1), rnd([7, 3], 2)),
      tf.matMul(rnd([7, 5], 1), rnd([3, 7], 2), true, true),
      tf.matMul(rnd([4, 5, 7], 1), rnd([7, 3], 2)),
      tf.matMul(rnd([1, 5], 1), rnd([4, 5, 3], 2)),
      ...(['linear', 'relu', 'relu6', 'elu', 'leakyrelu', 'sigmoid'] as const).map((activation) =>
        tf.fused.matMul({ a: rnd([6, 9], 3), b: rnd([9, 4], 4), bias: rnd([4], 5), activation }),
      ),
      ...grads((a, b) => tf.matMul(a, b, false, true), [rnd([6, 9], 6), rnd([4, 9], 7)]),
    ]),
);

test('Conv2D, FusedConv2D and both backprops: strides, padding, dilation, batch 1', { skip }, () =>
  same(() => [
    tf.conv2d(r4([2, 9, 11, 3], 1), r4([3, 3, 3, 4], 2), 2, 'same'),
    tf.conv2d(r4([1, 9, 8, 2], 1), r4([3, 2, 2, 5], 2), 1, 'valid', 'NHWC', 2),
    tf.fused.conv2d({
      x: r4([2, 7, 7, 3], 3),
      filter: r4([3, 3, 3, 2], 4),
      bias: rnd([2], 5),
      strides: 1,
      pad: 'same',
      activation: 'relu',
    }),
    ...grads(
      (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'same'),
      [r4([2, 7, 9, 3], 6), r4([3, 3, 3, 4], 7)],
    ),
    ...grads(
      (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'valid'),
      [r4([1, 6, 5, 2], 8), r4([5, 3, 2, 3], 9)],
    ),
    ...grads(
      (x, w, b) =>
        tf.fused.conv2d({
          x: x as tf.Tensor4D,
          filter: w as tf.Tensor4D,
          bias: b,
          strides: 2,
          pad: 'valid',
          activation: 'relu',
        }),
      [r4([2, 9, 9, 3], 10), r4([3, 3, 3, 4], 11), rnd([4], 12)],
    ),
  ]),
);

test('MaxPool, AvgPool and their gradients, odd sizes', { skip }, () =>
  same(() => {
    const x = r4([2, 9, 7, 3], 1);
    return [
      tf.maxPool(x, 2, 2, 'valid'),
      tf.maxPool(x, 3, 2, 'same'),
      tf.avgPool(x, 3, 2, 'same'),
      tf.avgPool(x, 2, 1, 'valid'),
      ...grads((a) => tf.maxPool(a as tf.Tensor4D, 3, 2, 'same'), [x]),
      ...grads((a) => tf.avgPool(a as tf.Tensor4D, 3, 2, 'same'), [x]),
      ...grads((a) => tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid'), [r4([1, 5, 5, 1], 2)]),
      // Large enough to run on threads (loops.h's kParallelMin).
      ...grads((a) => tf.maxPool(a as tf.Tensor4D, 3, 2, 'same'), [r4([8, 31, 30, 20], 3)]),
    ];
  }),
);

test('a max pool tie goes to the first maximum, as in tfjs', { skip }, () =>
  same(() => {
    const x = tf.tensor4d([1, 1, 1, 1, 0, 2, 2, 0, 3, 3, 3, 3, 1, 0, 0, 1], [1, 4, 4, 1]);
    return grads((a) => tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid'), [x]);
  }),
);

test('binary ops broadcasting from either side, unary ops, NaN', { skip }, () =>
  same(() => {
    const withNaN = tf.tensor1d([1, NaN, -2, 0, 3]);
    return [
      tf.add(rnd([4, 1, 5], 1), rnd([3, 1], 2)),
      tf.mul(rnd([2, 3], 3), rnd([3], 4)),
      tf.sub(rnd([3], 5), rnd([2, 3], 6)),
      tf.div(rnd([6, 7], 1), rnd([7], 2)),
      tf.maximum(rnd([6, 7], 1), rnd([6, 1], 2)),
      tf.minimum(rnd([6, 7], 1), 0.1),
      tf.squaredDifference(rnd([6, 7], 1), rnd([6, 7], 2)),
      tf.maximum(withNaN, tf.scalar(0.5)),
      tf.add(rnd([2, 3, 4, 5, 6, 7], 8), rnd([3, 1, 5, 1, 7], 9)),
      tf.relu(withNaN),
      tf.step(withNaN, 0.3),
      tf.relu(rnd([50], 1)),
      tf.exp(rnd([50], 1)),
      tf.log(tf.abs(rnd([50], 1))),
      tf.sigmoid(rnd([50], 1)),
      tf.tanh(rnd([50], 1)),
      tf.rsqrt(tf.abs(rnd([50], 3))),
      tf.sqrt(tf.abs(rnd([50], 3))),
      tf.neg(rnd([50], 3)),
      tf.square(rnd([50], 3)),
      tf.erf(tf.concat([withNaN, tf.tensor1d([-0, 1e-4, -6, 6]), rnd([50], 4)])),
    ];
  }),
);

test(
  'FusedBatchNorm: per channel, with and without scale and offset, cyclic, gradients',
  { skip },
  () =>
    same(() => {
      const x = rnd([3, 5, 4, 6], 1);
      const [mean, variance, scale, offset] = [2, 3, 4, 5].map((seed) =>
        seed === 3 ? tf.abs(rnd([6], seed)) : rnd([6], seed),
      );
      // A layer norm's statistics, one per row of x ([60, 1]), broadcast to x's shape as tfjs-layers does.
      const rows = rnd([60, 6], 6);
      const moments = tf.moments(rows, -1, true);
      return [
        tf.batchNorm(x, mean, variance, offset, scale, 1e-3),
        tf.batchNorm(x, mean, variance),
        tf.batchNorm(x, mean, variance, undefined, scale, 0.1),
        tf.batchNorm(rows, tf.tile(moments.mean, [1, 6]), tf.tile(moments.variance, [1, 6])),
        // Large enough to run on threads (loops.h's kParallelMin).
        tf.batchNorm(rnd([64, 30, 30, 3], 7), rnd([3], 8), tf.abs(rnd([3], 9))),
        ...grads(
          (a, m, v, o, sc) => tf.batchNorm(a, m, v, o, sc, 1e-3),
          [x, mean, variance, offset, scale],
        ),
      ];
    }),
);

test('Concat along every axis, empty inputs left out, gradients', { skip }, () =>
  same(() => {
    const a = rnd([2, 3, 4], 1);
    const b = rnd([2, 3, 5], 2);
    return [
      tf.concat([a, rnd([1, 3, 4], 3)], 0),
      tf.concat([a, rnd([2, 2, 4], 4), rnd([2, 1, 4], 5)], 1),
      tf.concat([a, b], -1),
      tf.concat([a, tf.zeros([2, 3, 0]), b], 2),
      tf.concat([rnd([7], 6)], 0),
      // Large enough to run on threads (loops.h's kParallelMin).
      tf.concat([rnd([1200, 100], 7), rnd([1200, 20], 8)], 1),
      ...grads((p, q) => tf.concat([p, q], 2), [a, b]),
    ];
  }),
);

test('Sum, Mean, Max and Min over adjacent axes and over any others', { skip }, async () => {
  await same(() => {
    const x = rnd([3, 4, 5, 6], 1);
    return [
      tf.sum(x),
      tf.sum(x, 0),
      tf.sum(x, [1, 2]),
      tf.mean(x, -1, true),
      tf.max(x, [0, 1]),
      tf.min(x, 3),
    ];
  });
  // Axes that are not adjacent: gathered first, then reduced.
  await same(() => {
    const x = rnd([3, 4, 5, 2], 2);
    return [tf.sum(x, [0, 2]), tf.max(x, [1, 3], true), tf.mean(x, [0, 3]), tf.min(x, [0, 2, 3])];
  });
});

test(
  'reductions large enough to be cut into parts and run on threads, NaN in a late part',
  { skip },
  async () => {
    // loops.cpp cuts a reduction into parts of 16,384 values and runs it on threads from 131,072:
    // narrow rows over many parts (a bias gradient), one long run (lanes), and wide rows.
    const withNaN = (shape: number[], at: number) => {
      const values = rnd(shape, 7).dataSync().slice();
      values[at] = NaN;
      return tf.tensor(values, shape);
    };
    await same(() => {
      const narrow = rnd([2, 40000, 3], 4);
      const run = rnd([140001], 5);
      const wide = rnd([3, 50, 1500], 6);
      return [
        tf.sum(narrow, 1),
        tf.mean(narrow, [0, 1]),
        tf.max(narrow, 1),
        tf.sum(run),
        tf.min(run),
        tf.sum(wide, 1),
        tf.max(wide, 1),
        tf.max(withNaN([140001], 120000)),
        tf.min(withNaN([2, 40000, 3], 200000), 1),
      ];
    });
  },
);

test('a reduction gives the same bits on 1 thread and on 2', { skip }, () => {
  const device = hostDevice();
  // Large enough to run on threads (loops.cpp's kParallelMin) and in several parts.
  const x = Float32Array.from({ length: 3 * 20000 * 7 }, (_, i) => Math.sin(i) * 1e3);
  const sums = [1, 2].map((threads) => {
    device.setThreads(threads);
    const y = new Float32Array(3 * 7);
    device.reduce(0, x, y, 3, 20000, 7);
    return [...y];
  });
  device.setThreads(0);
  assert.deepEqual(sums[0], sums[1]);
});

test('Transpose, Tile and SplitV (strided gathers), -0 kept', { skip }, async () => {
  const [transposed] = await valuesOn('anneal-cpu', () => [
    tf.transpose(tf.tensor2d([-0, 1, 2, -0], [2, 2])),
  ]);
  assert.ok(Object.is(transposed[0], -0) && Object.is(transposed[3], -0), `${transposed}`);
  await same(() => {
    const x = rnd([2, 3, 4, 5], 1);
    return [
      tf.transpose(x, [3, 1, 0, 2]),
      tf.transpose(x),
      tf.transpose(tf.tensor2d([-0, 1, 2, -0], [2, 2])),
      tf.tile(rnd([3], 2), [4]),
      tf.tile(rnd([2, 1, 3], 3), [1, 5, 2]),
      ...tf.split(x, [1, 3, 1], 3),
      ...tf.split(x, 3, 1),
      ...tf.split(rnd([4, 6], 4), [2, 0, 4], 1),
    ];
  });
});

test('Softmax over the last axis', { skip }, () =>
  same(() => [
    tf.softmax(rnd([5, 7], 1)),
    tf.softmax(tf.mul(rnd([2, 3, 9], 2), 30)),
    tf.softmax(tf.tensor1d([1, NaN, 2])),
  ]),
);

test('reused buffers are never seen after their tensor is gone', { skip }, async () => {
  assert.ok(await tf.setBackend('anneal-cpu'));
  const x = tf.tensor1d([-1, 2, -3, 4]);
  const a = tf.relu(x); // a native output: a buffer of the pool
  const read = a.dataSync();
  const slice = tf.slice(a, [0], [4]); // tfjs-backend-cpu's Slice: a view into a's buffer
  a.dispose();
  // The next native output of 4 values takes a's buffer back and overwrites it.
  const b = tf.neg(tf.tensor1d([9, 9, 9, 9]));
  assert.deepEqual([...b.dataSync()], [-9, -9, -9, -9]);
  assert.deepEqual([...read], [0, 2, 0, 4]);
  assert.deepEqual([...slice.dataSync()], [0, 2, 0, 4]);
  tf.dispose([x, b, slice]);
});

test('a float32 tensor cast from int32 leaves the int32 data as it was', { skip }, async () => {
  await tf.setBackend('anneal-cpu');
  // 2^24 + 1 has no float32; the cast shares the int32 tensor's data in tfjs.
  const big = tf.tensor1d([2 ** 24 + 1, -7], 'int32');
  const asFloat = tf.cast(big, 'float32');
  const doubled = tf.add(asFloat, asFloat); // a native kernel reads the shared data as floats
  // As floats, 2^24 + 1 is 2^24.
  assert.deepEqual([...doubled.dataSync()], [2 * Math.fround(2 ** 24 + 1), -14]);
  const ints = big.dataSync();
  assert.ok(ints instanceof Int32Array, `int32 data read back as ${ints.constructor.name}`);
  assert.deepEqual([...ints], [2 ** 24 + 1, -7]);
  tf.dispose([big, asFloat, doubled]);
});
