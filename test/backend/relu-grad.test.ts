/**
 * The Relu gradient with fast gradients on: on anneal-cpu one fused kernel (RELU_GRAD) whose values
 * are tfjs's dy * step(x) to the bit (NaN, -0, 0 * Infinity, ties at 0), with a second derivative;
 * with fast gradients off, tfjs's own Cast, Step and Multiply run again.
 * Skipped where the host device is not built (CI sets ANNEAL_REQUIRE_HOST=1: there it fails).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import {
  hostDeviceProblem,
  nativeTally,
  RELU_GRAD,
  resetKernelTally,
} from '../../src/backend/index.js';
import { initEngine } from '../../src/engine/index.js';

const problem = hostDeviceProblem();
if (problem && process.env.ANNEAL_REQUIRE_HOST === '1') {
  throw new Error(`ANNEAL_REQUIRE_HOST=1 but the host device cannot load: ${problem}`);
}
const skip = problem ?? false;

const xs = [-2, -0, 0, 1e-30, 3, NaN, 5, -1, Infinity, -Infinity];
const dys = [1, -3, 2, Infinity, -4, 7, NaN, Infinity, -0, 5];

/** d/dx of sum(dy * relu(x)): dy * step(x), on `backend`, with the kernels that ran. */
async function reluGrad(backend: 'cpu' | 'anneal-cpu', fast: boolean) {
  await initEngine({ backend, fastGradients: fast });
  resetKernelTally();
  const x = tf.tensor1d(xs);
  const dy = tf.tensor1d(dys);
  const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.relu(a), dy)))(x);
  // The gradient of relu's gradient in dy: step(x), through a second tf.grad.
  const second = tf.grad((d: tf.Tensor) =>
    tf.sum(tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.relu(a), d)))(x)),
  )(dy);
  const out = { values: [...g.dataSync()], second: [...second.dataSync()] };
  tf.dispose([x, dy, g, second]);
  return { ...out, natives: nativeTally().map(([name]) => name) };
}

/** Object.is per value: NaN equals NaN, -0 differs from 0. */
function sameBits(actual: number[], expected: number[], label: string) {
  expected.forEach((e, i) =>
    assert.ok(
      Object.is(actual[i], e),
      `${label}[${i}]: ${actual[i]} vs ${e} (x ${xs[i]}, dy ${dys[i]})`,
    ),
  );
}

test(
  'on anneal-cpu the Relu gradient is one fused kernel, tfjs stock to the bit',
  { skip },
  async () => {
    const stock = await reluGrad('cpu', false);
    const fused = await reluGrad('anneal-cpu', true);
    assert.ok(fused.natives.includes(RELU_GRAD), `native kernels: ${fused.natives}`);
    assert.ok(!fused.natives.includes('Step'), 'no Step: the gradient is fused');
    sameBits(fused.values, stock.values, 'dx');
    sameBits(fused.second, stock.second, 'second derivative');
    // The stock formula by hand, for the values that the comparison alone would hide.
    sameBits(stock.values.slice(0, 4), [0, -0, 0, Infinity], 'stock dx');
  },
);

test('fast gradients off: tfjs own Relu gradient again', { skip }, async () => {
  const off = await reluGrad('anneal-cpu', false);
  assert.ok(off.natives.includes('Step'), `native kernels: ${off.natives}`);
  assert.ok(!off.natives.includes(RELU_GRAD));
  await initEngine({ backend: 'anneal-cpu', fastGradients: true });
});
