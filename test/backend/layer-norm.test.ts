/**
 * Layer norm on fused kernels (src/backend/kernels/layer-norm.ts, src/engine/layer-norm.ts), on
 * each native backend: the values and every gradient (through x, the row statistics included,
 * scale and offset) against tfjs's own ops on tfjs-backend-cpu (tf.moments over the last axis,
 * tf.batchNorm, and tfjs's stock gradients through them); and a tfjs-layers
 * LayerNormalization layer, whose output and gradients are those of its own call.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {
  LAYER_NORM,
  LAYER_NORM_GRAD,
  nativeTally,
  resetKernelTally,
} from '../../src/backend/index.js';
import { useFastGradients } from '../../src/engine/gradients.js';
import { useFusedLayerNorm } from '../../src/engine/layer-norm.js';
import { NATIVE, closeValues, rnd, skip, valuesOn } from './helpers.js';

const EPSILON = 1e-5;

/** tfjs's own: y and the gradients of sum(y w) through x, scale and offset. */
function layerNorm(shape: number[], seed: number): tf.Tensor[] {
  const n = shape.at(-1)!;
  const x = tf.add(tf.mul(rnd(shape, seed), 2), 0.5);
  const [scale, offset, w] = [rnd([n], seed + 1), rnd([n], seed + 2), rnd(shape, seed + 3)];
  // As tfjs-layers' LayerNormalization computes it: its gradient needs every parameter tiled
  // to x's shape.
  const forward = (xs: tf.Tensor, s: tf.Tensor, o: tf.Tensor) => {
    const { mean, variance } = tf.moments(xs, -1, true);
    const rows = [...shape.slice(0, -1), 1];
    const perRow = [...shape.slice(0, -1).map(() => 1), n];
    const [m, v] = [mean, variance].map((t) => tf.tile(t, perRow));
    const [sc, of] = [s, o].map((t) =>
      tf.tile(
        tf.reshape(
          t,
          perRow.map((d, k) => (k === shape.length - 1 ? n : 1)),
        ),
        rows,
      ),
    );
    return tf.batchNorm(xs, m, v, of, sc, EPSILON);
  };
  const loss = (xs: tf.Tensor, s: tf.Tensor, o: tf.Tensor) => tf.sum(tf.mul(forward(xs, s, o), w));
  return [forward(x, scale, offset), ...tf.grads(loss)([x, scale, offset])];
}

/** The kernels: y, then the gradient kernel with dy = w (d sum(y w) / dy). */
function fusedLayerNorm(shape: number[], seed: number): tf.Tensor[] {
  const n = shape.at(-1)!;
  const x = tf.add(tf.mul(rnd(shape, seed), 2), 0.5);
  const [scale, offset, w] = [rnd([n], seed + 1), rnd([n], seed + 2), rnd(shape, seed + 3)];
  const attrs = { varianceEpsilon: EPSILON };
  const [y, mean, variance] = tf
    .engine()
    .runKernel(LAYER_NORM, { x, scale, offset }, attrs) as tf.Tensor[];
  const grads = tf
    .engine()
    .runKernel(LAYER_NORM_GRAD, { dy: w, x, mean, variance, scale }, attrs) as tf.Tensor[];
  return [y, ...grads];
}

for (const shape of [
  [5, 3],
  [2, 17, 64],
  // More rows than one part of the parameters' column sums on either device.
  [3000, 7],
]) {
  test(
    `LAYER_NORM [${shape}]: values and gradients as tfjs's ops give them`,
    { skip },
    async () => {
      useFastGradients(false);
      const expected = await valuesOn('cpu', () => layerNorm(shape, 5));
      for (const backend of NATIVE) {
        closeValues(
          await valuesOn(backend, () => fusedLayerNorm(shape, 5)),
          expected,
          2e-4,
          `${backend} [${shape}]`,
        );
      }
    },
  );
}

test(
  "a LayerNormalization layer: the fused path gives tfjs-layers' output and gradients in fewer kernels",
  { skip },
  async () => {
    useFastGradients(false);
    const model = () =>
      tfl.sequential({
        layers: [
          tfl.layers.dense({
            inputShape: [6, 5],
            units: 8,
            kernelInitializer: tfl.initializers.glorotNormal({ seed: 1 }),
          }),
          tfl.layers.layerNormalization({ epsilon: 1e-5 }),
          tfl.layers.flatten(),
          tfl.layers.dense({
            units: 3,
            kernelInitializer: tfl.initializers.glorotNormal({ seed: 2 }),
          }),
        ],
      });
    for (const backend of NATIVE) {
      await tf.setBackend(backend);
      const run = (fused: boolean) => {
        useFusedLayerNorm(fused);
        const net = model();
        resetKernelTally();
        const values = tf.tidy(() => {
          const x = rnd([4, 6, 5], 21);
          const { value, grads } = tf.variableGrads(
            () => tf.sum(tf.square(net.apply(x) as tf.Tensor)) as tf.Scalar,
            net.trainableWeights.map((w) => w.read() as tf.Variable),
          );
          return [value, ...Object.values(grads), net.apply(x) as tf.Tensor].map((t) => [
            ...t.dataSync(),
          ]);
        });
        const calls = Object.fromEntries(nativeTally().map(([k, c]) => [k, c.calls]));
        net.dispose();
        return { values, calls };
      };
      const stock = run(false);
      const fused = run(true);
      useFusedLayerNorm(false);
      closeValues(fused.values, stock.values, 2e-4, backend);
      assert.equal(fused.calls[LAYER_NORM], 2, `${backend}: ${JSON.stringify(fused.calls)}`);
      const total = (c: Record<string, number>) => Object.values(c).reduce((a, b) => a + b, 0);
      assert.ok(
        total(fused.calls) < total(stock.calls) - 30,
        `${total(fused.calls)} vs ${total(stock.calls)} kernels`,
      );
    }
  },
);
