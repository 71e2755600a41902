/**
 * Softmax cross-entropy on two native kernels (src/backend/kernels/loss.ts,
 * src/engine/cross-entropy.ts), on each native backend: the mean loss and its gradients through
 * the logits and the labels against tfjs's own tf.losses.softmaxCrossEntropy with tfjs's stock
 * gradients on tfjs-backend-cpu: one-hot and soft labels (rows not summing to 1), int32 one-hot
 * labels, logits far from 0, a row with NaN, and rank 1 and 3; and the kernel calls it saves.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { CROSS_ENTROPY, nativeTally, resetKernelTally } from '../../src/backend/index.js';
import { softmaxCrossEntropy } from '../../src/engine/cross-entropy.js';
import { useFastGradients } from '../../src/engine/gradients.js';
import { NATIVE, closeValues, rnd, skip, valuesOn } from './helpers.js';

type Labels = 'one-hot' | 'int32' | 'soft';

/** The loss and its gradients through logits and labels; `fused`: anneal's, else tfjs's. */
function lossAndGradients(shape: number[], labels: Labels, seed: number, fused: boolean) {
  const classes = shape.at(-1)!;
  const logits = tf.mul(rnd(shape, seed), 20);
  const hot = tf.oneHot(
    tf.reshape(tf.randomUniform(shape.slice(0, -1), 0, classes, 'int32', seed + 1), [-1]),
    classes,
  );
  const y =
    labels === 'soft'
      ? tf.abs(rnd(shape, seed + 2))
      : tf.reshape(labels === 'int32' ? hot : tf.cast(hot, 'float32'), shape);
  const f = (l: tf.Tensor, z: tf.Tensor) =>
    fused ? softmaxCrossEntropy(l, z) : (tf.losses.softmaxCrossEntropy(l, z) as tf.Scalar);
  const loss = f(y, logits);
  if (labels === 'int32') return [loss, tf.grad((z: tf.Tensor) => f(y, z))(logits)];
  return [loss, ...tf.grads(f)([y, logits])];
}

const CASES: [number[], Labels][] = [
  [[5, 3], 'one-hot'],
  [[64, 10], 'int32'],
  [[7, 4], 'soft'],
  [[2, 3, 4], 'one-hot'],
  [[6], 'soft'],
];

for (const [shape, labels] of CASES) {
  test(
    `cross-entropy [${shape}], ${labels} labels: tfjs's loss and gradients`,
    { skip },
    async () => {
      useFastGradients(false);
      const expected = await valuesOn('cpu', () => lossAndGradients(shape, labels, 3, false));
      useFastGradients(true);
      for (const backend of NATIVE) {
        resetKernelTally();
        const actual = await valuesOn(backend, () => lossAndGradients(shape, labels, 3, true));
        // Once for the loss, once more inside tf.grad(s).
        assert.equal(nativeTally().find(([k]) => k === CROSS_ENTROPY)?.[1].calls, 2, backend);
        closeValues(actual, expected, 1e-6, `${backend} [${shape}] ${labels}`);
      }
      useFastGradients(false);
    },
  );
}

test(
  'cross-entropy: a row with NaN is NaN, as tfjs gives it; the others are untouched',
  { skip },
  async () => {
    const f = (fused: boolean) => {
      const logits = tf.tensor2d([1, NaN, 2, 0.5, -1, 3], [2, 3]);
      const labels = tf.tensor2d([0, 1, 0, 0, 0, 1], [2, 3]);
      const loss = (z: tf.Tensor) =>
        fused
          ? softmaxCrossEntropy(labels, z)
          : (tf.losses.softmaxCrossEntropy(labels, z) as tf.Scalar);
      return [loss(logits), tf.grad(loss)(logits)];
    };
    useFastGradients(false);
    const expected = await valuesOn('cpu', () => f(false));
    assert.ok(Number.isNaN(expected[0][0]) && Number.isFinite(expected[1][4]), 'the reference');
    useFastGradients(true);
    for (const backend of NATIVE)
      closeValues(await valuesOn(backend, () => f(true)), expected, 1e-6, backend);
    useFastGradients(false);
  },
);

test(
  "cross-entropy: tfjs's 37 kernel calls become 11 (5 launches), forward and backward",
  { skip },
  async () => {
    const logits = tf.randomNormal([64, 10]);
    const labels = tf.oneHot(tf.randomUniform([64], 0, 10, 'int32'), 10);
    const calls = async (fused: boolean) => {
      useFastGradients(fused);
      await tf.setBackend(NATIVE[0]);
      resetKernelTally();
      tf.tidy(() => tf.grad((z: tf.Tensor) => softmaxCrossEntropy(labels, z))(logits));
      return nativeTally().reduce((n, [, c]) => n + c.calls, 0);
    };
    const stock = await calls(false);
    const fused = await calls(true);
    useFastGradients(false);
    assert.ok(stock >= 30, `tfjs's: ${stock} calls`);
    assert.ok(fused <= 11, `fused: ${fused} calls`);
    tf.dispose([logits, labels]);
  },
);
