/**
 * anneal-cpu against tfjs-backend-cpu for the kernels added after parity.test.ts's: depthwise
 * convolutions and their gradients, and the indexing loops (slices, Pad, GatherV2, OneHot,
 * Select, ArgMax/ArgMin, comparisons, Cast, Fill, Range), on odd shapes, both dtypes where tfjs
 * takes them, and the edge cases tfjs defines (ties, NaN, out-of-range indices). Every call in
 * a `same` ran natively.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { registerAnnealCpu } from '../../src/backend/index.js';
import { grads, problem, r4, rnd, same, skip } from './helpers.js';

before(() => {
  if (!problem) registerAnnealCpu();
});

const depthwise =
  (strides: 1 | 2, pad: 'same' | 'valid') =>
  (x: tf.Tensor, w: tf.Tensor): tf.Tensor =>
    tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, strides, pad);

test(
  'DepthwiseConv2dNative and both backprops: strides, padding, dilation, multipliers, batch 1',
  { skip },
  () =>
    same(() => [
      depthwise(1, 'same')(r4([2, 9, 11, 3], 1), r4([3, 3, 3, 1], 2)),
      depthwise(2, 'valid')(r4([1, 8, 7, 4], 3), r4([3, 2, 4, 2], 4)),
      tf.depthwiseConv2d(r4([2, 9, 8, 2], 5), r4([3, 3, 2, 2], 6), 1, 'valid', 'NHWC', 2),
      tf.depthwiseConv2d(r4([1, 7, 7, 3], 7), r4([2, 3, 3, 1], 8), 1, 'same', 'NHWC', [2, 1]),
      // Large enough to run on threads (loops.h's kParallelMin).
      depthwise(1, 'same')(r4([4, 20, 20, 16], 9), r4([3, 3, 16, 1], 10)),
      ...grads(depthwise(1, 'same'), [r4([2, 9, 7, 3], 11), r4([3, 3, 3, 1], 12)]),
      ...grads(depthwise(2, 'same'), [r4([1, 9, 9, 2], 13), r4([3, 3, 2, 2], 14)]),
      ...grads(depthwise(2, 'valid'), [r4([2, 8, 11, 3], 15), r4([3, 2, 3, 2], 16)]),
      ...grads(depthwise(1, 'valid'), [r4([3, 6, 5, 5], 17), r4([1, 1, 5, 3], 18)]),
    ]),
);

const ints = (shape: number[], seed: number, max = 10) =>
  tf.cast(tf.mul(tf.randomUniform(shape, 0, 1, 'float32', seed), max), 'int32');

test('Slice and StridedSlice: float32 and int32, strides, masks, gradients', { skip }, () =>
  same(() => {
    const x = rnd([4, 5, 6, 3], 1);
    const i = ints([5, 7], 2, 100);
    return [
      tf.slice(x, [1, 0, 2, 0], [2, -1, 3, 3]),
      tf.slice(x, [2, 1, 0, 1], [1, 3, 6, 1]),
      tf.slice(x, [1], [2]), // contiguous rows
      tf.slice(i, [1, 2], [3, 4]),
      tf.slice(rnd([7], 3), 4),
      tf.stridedSlice(x, [0, 1, 0, 0], [4, 5, 6, 3], [2, 2, 3, 1]),
      tf.stridedSlice(x, [1, 0, 1], [3, 4, 5], [1, 1, 2]),
      tf.stridedSlice(x, [0, 2], [0, 3], [1, 1], 1, 1, 0, 0, 2), // masks, shrink
      tf.stridedSlice(x, [0, 0], [1, 2], [1, 1], 0, 0, 0, 1), // new axis
      tf.stridedSlice(i, [1, 0], [5, 7], [3, 2]),
      tf.stridedSlice(x, [0, 0, 0, 0], [4, 5, 6, 3], [1, 1, 1, 1]), // identity
      // Large enough to run on threads (loops.h's kParallelMin).
      tf.slice(rnd([80, 100, 30], 4), [3, 5, 0], [70, 90, 29]),
      ...grads((a) => tf.slice(a, [1, 1, 2, 0], [2, 3, 3, 2]), [x]),
    ];
  }),
);

test(
  'MirrorPad: reflect and symmetric, one axis or several, int32, a BlurPool-sized pad',
  { skip },
  () =>
    same(() => {
      const x = rnd([2, 5, 4, 3], 1);
      const hw = (b: number, e: number): [number, number][] => [
        [0, 0],
        [b, e],
        [e, b],
        [0, 0],
      ];
      return [
        tf.mirrorPad(x, hw(1, 1), 'reflect'),
        tf.mirrorPad(x, hw(2, 3), 'symmetric'),
        tf.mirrorPad(
          x,
          [
            [1, 0],
            [0, 0],
            [0, 0],
            [2, 1],
          ],
          'reflect',
        ),
        tf.mirrorPad(rnd([7], 2), [[3, 6]], 'reflect'),
        tf.mirrorPad(
          ints([3, 4], 3),
          [
            [2, 1],
            [0, 3],
          ],
          'symmetric',
        ),
        // BlurPool's: large enough to run on threads (loops.h's kParallelMin).
        tf.mirrorPad(rnd([16, 26, 26, 32], 4), hw(1, 1), 'reflect'),
      ];
    }),
);

test('PadV2: constant values, int32, every axis or some, gradients', { skip }, () =>
  same(() => {
    const x = rnd([2, 5, 4, 3], 1);
    return [
      tf.pad(x, [
        [0, 0],
        [1, 2],
        [2, 1],
        [0, 0],
      ]),
      tf.pad(
        x,
        [
          [1, 0],
          [0, 0],
          [0, 0],
          [2, 3],
        ],
        -1.5,
      ),
      tf.pad(rnd([7], 2), [[3, 0]], Number.NaN),
      tf.pad(
        ints([3, 4], 3),
        [
          [1, 1],
          [0, 2],
        ],
        7,
      ),
      tf.pad(
        ints([3, 4], 3),
        [
          [0, 0],
          [1, 0],
        ],
        2.7,
      ), // the int32 padding is 2, as tfjs writes it
      // Large enough to run on threads (loops.h's kParallelMin).
      tf.pad(rnd([32, 30, 30, 8], 4), [
        [0, 0],
        [1, 1],
        [1, 1],
        [0, 0],
      ]),
      ...grads(
        (a) =>
          tf.pad(a, [
            [0, 1],
            [2, 0],
            [1, 1],
            [0, 0],
          ]),
        [x],
      ),
    ];
  }),
);

test('GatherV2: axes, batch dims, int32 values, gradients', { skip }, async () => {
  await same(
    () => {
      const x = rnd([4, 5, 6], 1);
      return [
        tf.gather(x, tf.tensor1d([3, 0, 3, 1], 'int32')),
        tf.gather(x, tf.tensor2d([4, 0, 2, 2], [2, 2], 'int32'), 1),
        tf.gather(x, tf.tensor1d([5, 0], 'int32'), -1),
        tf.gather(x, tf.tensor2d([1, 2, 0, 4, 4, 4, 3, 3], [4, 2], 'int32'), 1, 1),
        tf.gather(ints([6, 3], 2, 50), tf.tensor1d([5, 5, 0], 'int32')),
        // Large enough to run on threads (loops.h's kParallelMin).
        tf.gather(rnd([1000, 64], 3), ints([2500], 4, 1000)),
        ...grads((a) => tf.gather(a, tf.tensor1d([3, 0, 3], 'int32'), 1), [x]),
      ];
    },
    // Gather's gradient sums rows with UnsortedSegmentSum, which is not native.
    ['UnsortedSegmentSum'],
  );
  // An index out of range: tfjs's error, from the cpu kernel the call falls back to.
  assert.ok(await tf.setBackend('anneal-cpu'));
  assert.throws(
    () => tf.gather(tf.ones([3, 2]), tf.tensor1d([0, 3], 'int32')),
    /GatherV2: the index value 3 is not in \[0, 2\]/,
  );
});

test('OneHot: indices out of range, on and off values, int32', { skip }, () =>
  same(() => [
    tf.oneHot(tf.tensor1d([0, 3, -1, 2, 4, 1], 'int32'), 4),
    tf.oneHot(tf.tensor2d([1, 0, 2, 2], [2, 2], 'int32'), 3, 0.5, -2),
    tf.oneHot(tf.tensor1d([1, 0], 'int32'), 3, 2.5, 0, 'int32'),
    // Large enough to run on threads (loops.h's kParallelMin).
    tf.oneHot(ints([15000], 1, 12), 10),
  ]),
);

test('Select: float32 and int32, NaN, broadcast condition', { skip }, async () => {
  await same(
    () => {
      const c = tf.greater(rnd([3, 4], 1), 0);
      return [
        tf.where(c, rnd([3, 4], 2), tf.tensor2d([NaN, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], [3, 4])),
        tf.where(c, ints([3, 4], 3), ints([3, 4], 4)),
        // Large enough to run on threads (loops.h's kParallelMin).
        tf.where(tf.less(rnd([400, 400], 5), 0.3), rnd([400, 400], 6), rnd([400, 400], 7)),
        ...grads((a, b) => tf.where(c, a, b), [rnd([3, 4], 8), rnd([3, 4], 9)]),
      ];
    },
    // Select's gradient takes a LogicalNot, not native.
    ['LogicalNot'],
  );
  // A condition broadcast by tf.where: a Tile of bools first, not native.
  await same(
    () => [tf.where(tf.tensor1d([1, 0, 1], 'bool'), rnd([2, 3], 1), rnd([2, 3], 2))],
    ['Tile'],
  );
});

test('ArgMax and ArgMin: every axis, the first of ties, NaN, int32', { skip }, () =>
  same(() => {
    const x = rnd([4, 5, 6], 1);
    const ties = tf.tensor2d([1, 3, 3, 0, 2, 2, -1, -1, 5, 5, 5, 5], [3, 4]);
    const nan = tf.tensor2d([NaN, 1, 2, 0, 5, NaN, 7, 1, 1, 2, NaN, -3], [3, 4]);
    return [
      ...[0, 1, 2, -1].flatMap((axis) => [tf.argMax(x, axis), tf.argMin(x, axis)]),
      tf.argMax(ties, 1),
      tf.argMin(ties, 1),
      tf.argMax(ties, 0),
      tf.argMin(ties, 0),
      tf.argMax(nan, 1),
      tf.argMin(nan, 1),
      tf.argMax(nan, 0),
      tf.argMin(nan, 0),
      tf.argMax(ints([6, 7], 2), 1),
      tf.argMin(ints([6, 7], 2), 0),
      // Large enough to run on threads: rows, and columns over a middle axis.
      tf.argMax(rnd([9000, 20], 3), 1),
      tf.argMin(rnd([90, 50, 40], 4), 1),
    ];
  }),
);

test('comparisons: broadcasting, NaN, -0, int32 and bool', { skip }, () =>
  same(() => {
    const a = tf.tensor2d([1, NaN, -0, 2, 3, -1], [2, 3]);
    const b = tf.tensor1d([1, NaN, 0]);
    const fs = [tf.equal, tf.notEqual, tf.greater, tf.greaterEqual, tf.less, tf.lessEqual];
    const p = ints([3, 1, 4], 1, 4);
    const q = ints([5, 1], 2, 4);
    return [
      ...fs.flatMap((f) => [f(a, b), f(b, a), f(a, 2), f(p, q)]),
      tf.equal(tf.tensor1d([1, 0, 1], 'bool'), tf.tensor1d([1, 1, 1], 'bool')),
      tf.greater(tf.tensor1d([1, 0, 1], 'bool'), tf.tensor1d([0, 0, 1], 'bool')),
      // Large enough to run on threads (loops.h's kParallelMin).
      tf.less(rnd([500, 300], 3), rnd([300], 4)),
    ];
  }),
);

test('Cast: tfjs rounding and truncation, NaN and infinities, bool', { skip }, async () => {
  const edge = [0.5, -0.5, 1.9, -1.9, NaN, Infinity, -Infinity, -0, 3e9, -3e9, 2 ** 31, 1e20];
  await same(() => [
    tf.cast(tf.tensor1d(edge), 'int32'),
    tf.cast(tf.tensor1d(edge), 'bool'),
    tf.cast(tf.tensor1d([3, 0, -2], 'int32'), 'bool'),
    tf.cast(tf.tensor1d([3, 0, -2], 'int32'), 'float32'),
    tf.cast(tf.tensor1d([1, 0, 1], 'bool'), 'int32'),
    tf.cast(tf.tensor1d([1, 0, 1], 'bool'), 'float32'),
    tf.cast(rnd([5], 1), 'float32'),
    // Large enough to run on threads (loops.h's kParallelMin).
    tf.cast(tf.mul(rnd([400, 400], 2), 100), 'int32'),
  ]);
});

test('Fill: float32 and int32 values', { skip }, () =>
  same(() => [
    tf.fill([3, 4], 2.5),
    tf.fill([5], -2.7, 'int32'),
    tf.fill([2, 2], NaN),
    // Large enough to run on threads (loops.h's kParallelMin).
    tf.fill([800, 200], 0.1),
  ]),
);
