/**
 * rebuildModel: a plain rebuild predicts what the original does with weights of its own; a
 * rewrite's copies get the original weights (a linear Dense made ReLU gives relu of the original's
 * outputs); shared layers and nested models are refused through the caller's error.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import { rebuildModel } from '../../src/models/rebuild.js';

before(async () => {
  assert.ok(await tf.setBackend('cpu'));
});

function tinyModel(): tfl.LayersModel {
  const input = tfl.input({ shape: [3] });
  const hidden = tfl.layers
    .dense({ units: 4, name: 'hidden', kernelInitializer: 'glorotNormal' })
    .apply(input) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 2, name: 'out' }).apply(hidden) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out });
}

const x = () =>
  tf.tensor2d([
    [1, -2, 0.5],
    [0.3, 0.1, -1],
  ]);
const values = (m: tfl.LayersModel, input: tf.Tensor) =>
  tf.tidy(() => (m.predict(input) as tf.Tensor).arraySync() as number[][]);
const noError = () => new Error('unexpected');

test('a plain rebuild predicts the same with weights of its own', () => {
  const model = tinyModel();
  const copy = rebuildModel(model, {
    unsupported: noError,
    build: ({ inputs, tensorFor }) => tfl.model({ inputs, outputs: model.outputs.map(tensorFor) }),
  });
  const input = x();
  assert.deepEqual(values(copy, input), values(model, input));
  copy.getLayer('out').setWeights([tf.zeros([4, 2]), tf.zeros([2])]);
  assert.deepEqual(values(copy, input), [
    [0, 0],
    [0, 0],
  ]);
  assert.notDeepEqual(
    values(model, input),
    [
      [0, 0],
      [0, 0],
    ],
    'the original keeps its weights',
  );
  tf.dispose(input);
});

test("a rewrite's copies get the original weights; outputOf names the rebuilt layers", () => {
  const model = tinyModel();
  let hiddenOut: tfl.SymbolicTensor | undefined;
  const relu = rebuildModel(model, {
    unsupported: noError,
    rewrite: (layer, args, copy) =>
      layer.name === 'out'
        ? (copy({ ...layer.getConfig(), activation: 'relu' }).apply(args[0]) as tfl.SymbolicTensor)
        : null,
    build: ({ inputs, tensorFor, outputOf }) => {
      hiddenOut = outputOf('hidden');
      return tfl.model({ inputs, outputs: model.outputs.map(tensorFor) });
    },
  });
  assert.deepEqual(hiddenOut?.shape, [null, 4]);
  const input = x();
  const expected = values(model, input).map((row) => row.map((v) => Math.max(0, v)));
  assert.deepEqual(values(relu, input), expected);
  tf.dispose(input);
});

test("shared layers and nested models are refused with the caller's error", () => {
  const input = tfl.input({ shape: [3] });
  const shared = tfl.layers.dense({ units: 3, name: 'shared' });
  const twice = shared.apply(shared.apply(input)) as tfl.SymbolicTensor;
  const sharedModel = tfl.model({ inputs: input, outputs: twice });
  const nestedInput = tfl.input({ shape: [3] });
  const nested = tfl.model({
    inputs: nestedInput,
    outputs: tinyModel().apply(nestedInput) as tfl.SymbolicTensor,
  });
  for (const [model, why] of [
    [sharedModel, 'shared'],
    [nested, 'a nested model'],
  ] as const) {
    assert.throws(
      () =>
        rebuildModel(model, {
          unsupported: (layer, reason) => new Error(`${layer.name} is ${reason}`),
          build: () => model,
        }),
      new RegExp(`is ${why}$`),
    );
  }
});
