/**
 * Batch norm in training on fused kernels (src/backend/kernels/batch-norm.ts,
 * src/engine/batch-norm.ts), on each native backend: the forward values and every gradient
 * against tfjs's own op-by-op computation on tfjs-backend-cpu (tf.moments, tf.batchNorm and
 * tfjs's stock gradients through them), including gradients that reach the batch statistics
 * directly; and a tfjs-layers BatchNormalization layer, whose training step, moving averages
 * and gradients are those of tfjs-layers' own call, in far fewer kernels.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { BATCH_NORM_TRAINING, nativeTally, resetKernelTally } from '../../src/backend/index.js';
import { useFusedBatchNorm } from '../../src/engine/batch-norm.js';
import { useFastGradients } from '../../src/engine/gradients.js';
import { NATIVE, closeValues, rnd, skip, valuesOn } from './helpers.js';

const EPSILON = 1e-3;

/** Asserts every value within `tolerance` relative (to 1 + |expected|). */

/**
 * y, mean, variance, the moving averages' updates (momentum 0.9) and the gradients of
 * sum(y w) + sum(mean u) + sum(variance v) with respect to x, scale and offset; `fused` runs the
 * kernel, else tfjs's ops (tf.moments, tf.batchNorm, and tfjs-layers' moving-average step).
 */
function training(shape: number[], seed: number, fused: boolean): tf.Tensor[] {
  const channels = shape.at(-1)!;
  const x = tf.add(tf.mul(rnd(shape, seed), 3), 1.5);
  const scale = rnd([channels], seed + 1);
  const offset = rnd([channels], seed + 2);
  const [w, u, v] = [rnd(shape, seed + 3), rnd([channels], seed + 4), rnd([channels], seed + 5)];
  const movingMean = rnd([channels], seed + 6);
  const movingVariance = tf.abs(rnd([channels], seed + 7));
  const momentum = 0.9;
  const forward = (xs: tf.Tensor, s: tf.Tensor, o: tf.Tensor) => {
    if (fused) {
      return tf
        .engine()
        .runKernel(
          BATCH_NORM_TRAINING,
          { x: xs, scale: s, offset: o, movingMean, movingVariance },
          { varianceEpsilon: EPSILON, momentum },
        ) as tf.Tensor[];
    }
    const { mean, variance } = tf.moments(
      xs,
      shape.slice(0, -1).map((_, k) => k),
    );
    const step = (m: tf.Tensor, value: tf.Tensor) =>
      tf.sub(m, tf.mul(tf.sub(m, value), 1 - momentum));
    return [
      tf.batchNorm(xs, mean, variance, o, s, EPSILON),
      mean,
      variance,
      step(movingMean, mean),
      step(movingVariance, variance),
    ];
  };
  const outputs = forward(x, scale, offset);
  const loss = (xs: tf.Tensor, s: tf.Tensor, o: tf.Tensor) => {
    const [y, mean, variance] = forward(xs, s, o);
    return tf.addN([tf.sum(tf.mul(y, w)), tf.sum(tf.mul(mean, u)), tf.sum(tf.mul(variance, v))]);
  };
  return [...outputs, ...tf.grads(loss)([x, scale, offset])];
}

for (const shape of [
  [5, 3],
  [2, 7, 5, 3],
  // More rows than one part of the sums holds, on either device (parts of 1,024 rows on the
  // CUDA device's, 16,384 values on the host's): the parts' sums are added in order.
  [9000, 3],
  [4, 33, 33, 17],
]) {
  test(
    `BATCH_NORM_TRAINING [${shape}]: values and gradients as tfjs's ops give them`,
    { skip },
    async () => {
      // The reference: tfjs's own gradients (fast gradients off), on tfjs-backend-cpu.
      useFastGradients(false);
      const expected = await valuesOn('cpu', () => training(shape, 7, false));
      for (const backend of NATIVE) {
        const actual = await valuesOn(backend, () => training(shape, 7, true));
        // float32 throughout in tfjs's ops; the kernels sum in double: they differ by rounding.
        closeValues(actual, expected, 2e-4, `${backend} [${shape}]`);
      }
    },
  );
}

test(
  'BATCH_NORM_TRAINING refuses what is not channels-last float32, naming the tensor',
  { skip },
  async () => {
    await tf.setBackend(NATIVE[0]);
    const x = tf.ones([4, 3]);
    assert.throws(
      () =>
        tf
          .engine()
          .runKernel(
            BATCH_NORM_TRAINING,
            { x, scale: tf.ones([2]), offset: tf.zeros([3]) },
            { varianceEpsilon: EPSILON },
          ),
      /AnnealBatchNormTraining: scale is float32 \[2\], expected float32 \[3\]/,
    );
    assert.throws(
      () =>
        tf
          .engine()
          .runKernel(
            BATCH_NORM_TRAINING,
            { x, scale: tf.ones([3]), offset: tf.zeros([3]), movingMean: tf.zeros([3]) },
            { varianceEpsilon: EPSILON },
          ),
      /movingMean, movingVariance and the momentum attr go together/,
    );
    x.dispose();
  },
);

/** A small conv net with two BatchNormalization layers (one after a dense layer: rank 2). */
function model(): tfl.LayersModel {
  return tfl.sequential({
    layers: [
      tfl.layers.conv2d({
        inputShape: [9, 9, 2],
        filters: 4,
        kernelSize: 3,
        kernelInitializer: tfl.initializers.glorotNormal({ seed: 1 }),
      }),
      tfl.layers.batchNormalization({ momentum: 0.9 }),
      tfl.layers.reLU(),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 6, kernelInitializer: tfl.initializers.glorotNormal({ seed: 2 }) }),
      tfl.layers.batchNormalization({ epsilon: 1e-5 }),
      tfl.layers.dense({ units: 3, kernelInitializer: tfl.initializers.glorotNormal({ seed: 3 }) }),
    ],
  });
}

/** One training-mode pass: the loss's gradients, the output, and each layer's weights after. */
function trainingStep(net: tfl.LayersModel): tf.Tensor[] {
  const x = rnd([5, 9, 9, 2], 11);
  const target = rnd([5, 3], 12);
  const { value, grads } = tf.variableGrads(
    () =>
      tf.mean(
        tf.square(tf.sub(net.apply(x, { training: true }) as tf.Tensor, target)),
      ) as tf.Scalar,
    net.trainableWeights.map((w) => w.read() as tf.Variable),
  );
  const inference = net.apply(x, { training: false }) as tf.Tensor;
  return [value, ...Object.values(grads), inference, ...net.getWeights()];
}

test(
  "a BatchNormalization layer in training: the fused path gives tfjs-layers' step, moving averages and gradients",
  { skip },
  async () => {
    useFastGradients(false);
    for (const backend of NATIVE) {
      await tf.setBackend(backend);
      const run = (fused: boolean) => {
        useFusedBatchNorm(fused);
        const net = model();
        resetKernelTally();
        const values = tf.tidy(() => trainingStep(net).map((t) => [...t.dataSync()]));
        const calls = Object.fromEntries(nativeTally().map(([k, c]) => [k, c.calls]));
        net.dispose();
        return { values, calls };
      };
      const stock = run(false);
      const fused = run(true);
      useFusedBatchNorm(false);
      closeValues(fused.values, stock.values, 2e-4, backend);
      // Each layer in training took the kernel once; inference is tfjs-layers' own call
      // (FusedBatchNorm on the moving averages), and tf.moments' Means are gone.
      assert.equal(
        fused.calls[BATCH_NORM_TRAINING],
        2,
        `${backend}: ${JSON.stringify(fused.calls)}`,
      );
      assert.equal(stock.calls[BATCH_NORM_TRAINING], undefined);
      assert.ok(stock.calls.Mean >= 4, `${backend}: tf.moments' Means ${stock.calls.Mean}`);
      assert.equal(fused.calls.Mean, 1, `${backend}: only the loss's Mean`);
      const total = (c: Record<string, number>) => Object.values(c).reduce((a, b) => a + b, 0);
      assert.ok(
        total(fused.calls) < total(stock.calls) - 40,
        `${total(fused.calls)} vs ${total(stock.calls)} kernels`,
      );
    }
  },
);
