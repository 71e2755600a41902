// Every factory trains on the WASM backend (with the engine's gradient kernels) without a
// missing-kernel error, and the steps move the weights and keep them finite.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../../src/engine/index.js';
import { createModel } from '../../src/models/index.js';

type Shape = [number, number, number];

before(async () => {
  const engine = await initEngine({ backend: 'wasm' });
  assert.equal(engine.backend, 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
});

const CASES: Array<[string, Shape, Record<string, unknown>]> = [
  ['mlp', [28, 28, 1], {}],
  ['cnn', [28, 28, 1], {}],
  ['resnet', [32, 32, 3], {}],
  ['resnet', [28, 28, 1], { blurPool: true, zeroInitLastBnGamma: true }],
  ['vit', [28, 28, 1], { stem: 'patchify' }],
  ['vit', [32, 32, 3], { stem: 'conv' }],
];

for (const [name, shape, extra] of CASES) {
  test(`${name} ${JSON.stringify(extra)} on ${shape.join('x')} trains 2 steps on wasm`, () => {
    const numClasses = 10;
    const model = createModel(name, { inputShape: shape, numClasses, seed: 0, ...extra });
    const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const initial = variables.map((v) => v.dataSync().slice());
    const x = tf.randomNormal([4, ...shape], 0, 1, 'float32', 1);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3], 'int32'), numClasses);
    const optimizer = tf.train.adam(1e-3);
    for (let step = 0; step < 2; step++) {
      const loss = optimizer.minimize(
        () =>
          tf.losses.softmaxCrossEntropy(
            y,
            model.apply(x, { training: true }) as tf.Tensor,
          ) as tf.Scalar,
        true,
        variables,
      );
      assert.ok(Number.isFinite(loss!.dataSync()[0]), `step ${step} loss`);
      loss!.dispose();
    }
    const moved = variables.filter((v, i) =>
      v.dataSync().some((value, j) => value !== initial[i][j]),
    );
    // Adam moves every weight that has a non-zero gradient; all of them here do.
    assert.equal(moved.length, variables.length, 'every trainable weight changed');
    assert.ok(variables.every((v) => v.dataSync().every(Number.isFinite)));
    optimizer.dispose();
    tf.dispose([x, y]);
    model.dispose();
  });
}
