/**
 * ParamVector: flat order and segment kinds of real tfl models, the model <-> flat round trip,
 * gradient gathering (array and tf.variableGrads map), decay masks, pruning masks, and no tensor
 * left behind over 200 training steps, on js and wasm kernels.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { UsageError } from '../../src/errors.js';
import { ParamVector, inferKind } from '../../src/engine/param-vector.js';
import type { FlatOps } from '../../src/kernels/index.js';
import { PositionEmbedding } from '../../src/models/attention.js';
import { createOptimizer } from '../../src/optim/index.js';
import { KERNEL_BACKENDS, params, useTfCpu } from '../optim/helpers.js';

before(useTfCpu);

/** Conv2D -> BatchNormalization -> Flatten -> Dense, with seeded initialisers. */
function convBnDense(): tfl.LayersModel {
  const input = tfl.input({ shape: [4, 4, 1] });
  let x = tfl.layers
    .conv2d({
      filters: 2,
      kernelSize: 3,
      kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }),
    })
    .apply(input) as tfl.SymbolicTensor;
  x = tfl.layers.batchNormalization().apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.flatten().apply(x) as tfl.SymbolicTensor;
  x = tfl.layers
    .dense({ units: 3, kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) })
    .apply(x) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: x });
}

function usage(code: string, ...words: string[]) {
  return (e: unknown) =>
    e instanceof UsageError && e.code === code && words.every((w) => e.message.includes(w));
}

test('kinds are inferred from weight names, layer classes and ranks', () => {
  const cases: [string, string | undefined, number[], string][] = [
    ['conv2d_transpose_Conv2DTranspose1/kernel', 'Conv2DTranspose', [3, 3, 2, 2], 'kernel'],
    ['post_dense/kernel', 'Dense', [4, 4], 'kernel'],
    ['block1/qkv/bias', 'MultiHeadSelfAttention', [12], 'bias'],
    ['layer_normalization_LayerNormalization1/gamma', 'LayerNormalization', [4], 'norm'],
    ['position_embedding_PositionEmbedding1/embedding', 'PositionEmbedding', [5, 4], 'embedding'],
    ['embedding_Embedding1/embeddings', 'Embedding', [10, 4], 'embedding'],
    ['pos_embed', undefined, [1, 5, 4], 'embedding'],
    ['cls_token', undefined, [1, 1, 4], 'embedding'],
    ['w', undefined, [3, 2], 'kernel'],
    ['scale', undefined, [3], 'other'],
    ['transposed_scale', 'Custom', [3], 'other'],
  ];
  for (const [name, layerClass, shape, kind] of cases) {
    assert.equal(inferKind(name, layerClass, shape), kind, name);
  }
});

for (const backend of KERNEL_BACKENDS) {
  describe(`ParamVector on ${backend.name} kernels`, { skip: backend.skip }, () => {
    let ops: FlatOps;
    before(() => {
      ops = backend.create();
    });
    after(() => ops.dispose());

    test('flat order, segments and kinds of Conv2D + BatchNormalization + Dense', () => {
      const model = convBnDense();
      const pv = ParamVector.fromModel(model, ops);
      const weights = model.trainableWeights;
      assert.deepEqual(
        pv.segments.map((s) => [s.name, s.kind, s.shape]),
        weights.map((w, i) => [
          w.name,
          ['kernel', 'bias', 'norm', 'norm', 'kernel', 'bias'][i],
          w.shape,
        ]),
      );
      assert.deepEqual(
        pv.segments.map((s) => s.layer),
        [0, 0, 1, 1, 2, 2].map(
          (i) => model.layers.filter((l) => l.trainableWeights.length)[i].name,
        ),
      );
      // 3*3*1*2 + 2 | 2 + 2 (moving statistics are not trainable) | 8*3 + 3
      assert.deepEqual(
        pv.segments.map((s) => [s.offset, s.length]),
        [
          [0, 18],
          [18, 2],
          [20, 2],
          [22, 2],
          [24, 24],
          [48, 3],
        ],
      );
      assert.equal(pv.length, 51);
      const concatenated = weights.flatMap((w) => [...w.read().dataSync()]);
      assert.deepEqual(params(pv), concatenated);
      assert.deepEqual(
        pv.segmentsWhere((s) => s.kind === 'kernel').map((s) => s.offset),
        [0, 24],
      );
      pv.dispose();
      model.dispose();
    });

    test('writeBack and readFromModel round trip', () => {
      const model = convBnDense();
      const pv = ParamVector.fromModel(model, ops);
      const values = Float32Array.from({ length: pv.length }, (_, i) => (i - 20) / 8);
      ops.upload(pv.params, values);
      pv.writeBack();
      for (const s of pv.segments) {
        const w = model.trainableWeights.find((x) => x.name === s.name)!;
        assert.deepEqual(
          [...w.read().dataSync()],
          [...values.subarray(s.offset, s.offset + s.length)],
        );
      }
      // The model changes behind the vector's back; readFromModel picks it up.
      const dense = model.layers[model.layers.length - 1];
      dense.setWeights(dense.getWeights().map((w) => tf.onesLike(w)));
      pv.readFromModel();
      const after = params(pv);
      assert.deepEqual(after.slice(24), new Array(27).fill(1));
      assert.deepEqual(after.slice(0, 24), [...values.subarray(0, 24)]);
      pv.dispose();
      model.dispose();
    });

    test('a custom PositionEmbedding layer gives an embedding segment', () => {
      const input = tfl.input({ shape: [5, 4] });
      const out = tfl.layers
        .dense({ units: 2 })
        .apply(new PositionEmbedding({ seed: 3 }).apply(input)) as tfl.SymbolicTensor;
      const model = tfl.model({ inputs: input, outputs: out });
      const pv = ParamVector.fromModel(model, ops);
      assert.deepEqual(
        pv.segments.map((s) => s.kind),
        ['embedding', 'kernel', 'bias'],
      );
      pv.dispose();
      model.dispose();
    });

    test('decay masks: default no decay on bias and norm, per kind and per name', () => {
      const model = convBnDense();
      const pv = ParamVector.fromModel(model, ops);
      const perSegment = () => {
        const mask = pv.decay ? ops.download(pv.decay) : new Float32Array(pv.length).fill(1);
        return pv.segments.map((s) => {
          const values = new Set(mask.subarray(s.offset, s.offset + s.length));
          assert.equal(values.size, 1, `one factor per segment (${s.name})`);
          return [...values][0];
        });
      };
      assert.deepEqual(perSegment(), [1, 0, 0, 0, 1, 0]);
      pv.decayMask({ kinds: { norm: true, kernel: 0.5 } });
      assert.deepEqual(perSegment(), [0.5, 0, 1, 1, 0.5, 0]);
      const denseKernel = pv.segments[4].name;
      pv.decayMask({
        rules: [
          { pattern: denseKernel, decay: false },
          { pattern: /bias$/, decay: 2 },
        ],
      });
      assert.deepEqual(perSegment(), [1, 2, 0, 0, 0, 2]);
      assert.throws(
        () => pv.decayMask({ kinds: { bias: -1 } }),
        usage('ANNEAL_BAD_DECAY_OPTION', 'decay.kinds.bias', '-1'),
      );
      assert.throws(
        () => pv.decayMask({ kinds: { weights: 0 } as never }),
        usage('ANNEAL_BAD_DECAY_OPTION', "'weights'", 'kernel, bias, norm, embedding, other'),
      );
      pv.dispose();
      model.dispose();
    });

    test('setGrads: an array or tf.variableGrads map gives the concatenated gradient', () => {
      const model = convBnDense();
      const pv = ParamVector.fromModel(model, ops);
      const x = tf.randomNormal([2, 4, 4, 1], 0, 1, 'float32', 7);
      const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
      const { value, grads } = tf.variableGrads(
        () => tf.sum(tf.square(model.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar,
        variables,
      );
      const expected = variables.flatMap((v) => [...grads[v.name].dataSync()]);
      pv.setGrads(grads);
      assert.deepEqual([...ops.download(pv.grads)], expected);
      ops.fill(pv.grads, 0);
      pv.setGrads(variables.map((v) => grads[v.name]));
      assert.deepEqual([...ops.download(pv.grads)], expected);
      // A weight missing from the map (not connected to the loss) gets a zero gradient.
      const { [variables[5].name]: _bias, ...withoutBias } = grads;
      pv.setGrads(withoutBias);
      assert.deepEqual([...ops.download(pv.grads)], [...expected.slice(0, 48), 0, 0, 0]);
      assert.throws(
        () => pv.setGrads([grads[variables[0].name]]),
        usage('ANNEAL_PARAM_GRADS', '1 gradients for 6'),
      );
      assert.throws(
        () => pv.setGrads(variables.map(() => grads[variables[0].name])),
        usage('ANNEAL_PARAM_GRADS', 'shape [3,3,1,2]', `'${variables[1].name}'`),
      );
      assert.throws(() => pv.setGrads({ other: value }), usage('ANNEAL_PARAM_GRADS', '(other)'));
      tf.dispose([x, value, ...Object.values(grads)]);
      pv.dispose();
      model.dispose();
    });

    test('setMask zeroes pruned weights; a mask of another length is refused', () => {
      const model = convBnDense();
      const pv = ParamVector.fromModel(model, ops);
      const before = params(pv);
      const mask = Float32Array.from({ length: pv.length }, (_, i) => (i % 3 === 0 ? 0 : 1));
      pv.setMask(ops.fromArray(mask));
      assert.deepEqual(
        params(pv),
        before.map((p, i) => (i % 3 === 0 ? p * 0 : p)),
      );
      assert.throws(
        () => pv.setMask(new Float32Array(3)),
        usage('ANNEAL_PARAM_MASK', '3 elements', '51'),
      );
      pv.setMask(null);
      assert.equal(pv.mask, null);
      pv.dispose();
      assert.equal(pv.params.alive, false);
      assert.throws(() => pv.writeBack(), usage('ANNEAL_PARAM_DISPOSED'));
      pv.dispose(); // twice is fine
      model.dispose();
    });

    test('tf.memory().numTensors does not grow over 200 training steps', () => {
      const model = tfl.sequential({
        layers: [
          tfl.layers.dense({
            units: 8,
            inputShape: [4],
            activation: 'relu',
            kernelInitializer: tfl.initializers.glorotUniform({ seed: 4 }),
          }),
          tfl.layers.dense({
            units: 2,
            kernelInitializer: tfl.initializers.glorotUniform({ seed: 5 }),
          }),
        ],
      });
      const x = tf.randomNormal([16, 4], 0, 1, 'float32', 8);
      const y = tf.matMul(
        x,
        tf.tensor2d([
          [1, 0],
          [0, 1],
          [1, 1],
          [-1, 0.5],
        ]),
      );
      const pv = ParamVector.fromModel(model, ops);
      const opt = createOptimizer('adamw', pv, ops, { lr: 0.01 });
      const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
      const trainStep = () => {
        const { value, grads } = tf.variableGrads(
          () => tf.mean(tf.square(tf.sub(model.apply(x) as tf.Tensor, y))) as tf.Scalar,
          variables,
        );
        pv.setGrads(grads);
        opt.step(pv);
        pv.writeBack();
        const loss = value.dataSync()[0];
        tf.dispose([value, ...Object.values(grads)]);
        return loss;
      };
      const first = trainStep();
      const tensors = tf.memory().numTensors;
      let last = first;
      for (let t = 1; t < 200; t++) last = trainStep();
      assert.equal(tf.memory().numTensors, tensors);
      assert.ok(last < first / 4, `loss went from ${first} to ${last}`);
      opt.dispose();
      pv.dispose();
      tf.dispose([x, y]);
      model.dispose();
    });
  });
}
