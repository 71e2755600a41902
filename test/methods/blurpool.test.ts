/**
 * BlurPool transform: the binomial filter sums to 1 and a constant image passes the transformed
 * model's blur layer unchanged; output shapes and weights survive the transform; with a 1x1
 * filter (pure subsampling) the transformed 'valid' conv equals tfjs's own strided conv; FLOPs
 * of a tiny model derived by hand; the method refuses an untransformed model and trains one.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { applyBlurPool, blurPool, modelCost } from '../../src/methods/blurpool/index.js';
import { BlurPool2D, binomialFilter2D } from '../../src/models/blurpool.js';
import { createModel } from '../../src/models/index.js';
import { Trainer } from '../../src/train/trainer.js';
import { FAST_KERNELS, tinyData, useTfCpu } from '../train/helpers.js';

before(useTfCpu);

/** 8x8x1 -> conv 4 filters 3x3 stride 2 -> flatten -> dense 2. */
function tinyStridedModel(padding: 'same' | 'valid'): tfl.LayersModel {
  const input = tfl.input({ shape: [8, 8, 1] });
  let x = tfl.layers
    .conv2d({ filters: 4, kernelSize: 3, strides: 2, padding, kernelInitializer: 'glorotUniform' })
    .apply(input) as tfl.SymbolicTensor;
  x = tfl.layers.flatten().apply(x) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 2 }).apply(x) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out });
}

test('the 3x3 binomial filter is [1,2,1]^T[1,2,1]/16 and sums to 1', () => {
  const expected = [1, 2, 1].flatMap((a) => [1, 2, 1].map((b) => (a * b) / 16));
  const filter = binomialFilter2D(3);
  assert.deepEqual([...filter], expected);
  assert.equal(
    filter.reduce((a, b) => a + b, 0),
    1,
  );
});

test('the transformed cnn keeps its output shape, and its blur layer leaves a constant image unchanged', () => {
  const model = createModel('cnn', { inputShape: [8, 8, 1], numClasses: 4, seed: 1 });
  const { model: blurred, replaced } = applyBlurPool(model);
  assert.equal(replaced.length, 2);
  assert.deepEqual(blurred.outputs[0].shape, model.outputs[0].shape);
  // Every layer's output shape is unchanged except the inserted ones.
  const shapes = (m: tfl.LayersModel) =>
    m.layers.filter((l) => !(l instanceof BlurPool2D)).map((l) => `${l.outputShape}`);
  const before = shapes(model);
  const after = shapes(blurred);
  // The stride-1 pools are wider than the stride-2 ones; their blur restores the shape.
  const blurs = blurred.layers.filter((l): l is BlurPool2D => l instanceof BlurPool2D);
  assert.deepEqual(
    blurs.map((b) => `${b.outputShape}`),
    model.layers.filter((l) => l.getClassName() === 'MaxPooling2D').map((l) => `${l.outputShape}`),
  );
  assert.equal(after.length, before.length);
  const constant = tf.fill([1, 6, 6, 3], 2.5);
  const out = blurs[0].apply(constant) as tf.Tensor;
  assert.deepEqual(out.shape, [1, 3, 3, 3]);
  for (const v of out.dataSync()) assert.ok(Math.abs(v - 2.5) < 1e-6);
  tf.dispose([constant, out]);
  model.dispose();
  blurred.dispose();
});

test("with a 1x1 blur (subsampling) a 'valid' strided conv is reproduced exactly", () => {
  const model = tinyStridedModel('valid');
  const { model: blurred } = applyBlurPool(model, { filterSize: 1 });
  const x = tf.randomNormal([3, 8, 8, 1], 0, 1, 'float32', 5);
  const a = model.predict(x) as tf.Tensor;
  const b = blurred.predict(x) as tf.Tensor;
  const diff = tf.max(tf.abs(tf.sub(a, b))).dataSync()[0];
  assert.ok(diff < 1e-5, `max difference ${diff}`);
  tf.dispose([x, a, b]);
  model.dispose();
  blurred.dispose();
});

test('parameters and FLOPs of a tiny model, derived by hand', () => {
  const model = tinyStridedModel('same');
  const { before: b, after: a, replaced } = applyBlurPool(model);
  assert.equal(replaced.length, 1);
  // conv: 3*3*1*4 + 4 = 40; dense: (4*4*4)*2 + 2 = 130; the blur adds none.
  assert.equal(b.params, 170);
  assert.equal(a.params, 170);
  // Before: conv out 4x4x4, 9 MACs each = 576 MACs; dense 64*2 = 128 MACs. FLOPs = 2 * MACs.
  assert.equal(b.flops, 2 * (4 * 4 * 4 * 9 + 64 * 2));
  // After: conv at stride 1 gives 8x8x4 outputs (2304 MACs), the blur 4x4x4 x 9 (576 MACs).
  assert.equal(a.flops, 2 * (8 * 8 * 4 * 9 + 4 * 4 * 4 * 9 + 64 * 2));
  assert.equal(modelCost(model).flops, b.flops);
  model.dispose();
});

test('resnet: the transform keeps output shape and parameters; method checks at INIT and trains', async () => {
  const resnet = createModel('resnet', { inputShape: [8, 8, 1], numClasses: 4, seed: 0, width: 4 });
  const refused = new Trainer({
    model: resnet,
    trainData: tinyData(40),
    maxDuration: '1ba',
    kernels: FAST_KERNELS,
    methods: [blurPool()],
  });
  await assert.rejects(refused.fit(), /blurpool: the model still downsamples with strides/);
  refused.dispose();
  const { model, before: b, after: a, replaced } = applyBlurPool(resnet);
  assert.equal(replaced.length, 4); // two 3x3 convs and two 1x1 shortcuts
  assert.equal(a.params, b.params);
  assert.ok(a.flops > b.flops);
  assert.deepEqual(model.outputs[0].shape, resnet.outputs[0].shape);
  const trainer = new Trainer({
    model,
    trainData: tinyData(64),
    maxDuration: '2ba',
    batchSize: 16,
    kernels: FAST_KERNELS,
    methods: [blurPool()],
  });
  const tensors = tf.memory().numTensors;
  const result = await trainer.fit();
  assert.ok(Number.isFinite(result.metrics['train/loss']));
  assert.ok(tf.memory().numTensors <= tensors);
  trainer.dispose();
  resnet.dispose();
  model.dispose();
});

test('bad options are refused with their name', () => {
  assert.throws(() => blurPool({ filterSize: 0 }), /blurpool: filterSize = 0/);
  assert.throws(() => blurPool({ padding: 'edge' as never }), /blurpool: padding = "edge"/);
});

test('a model with nothing to blur (an MLP) is refused instead of trained unchanged', () => {
  const mlp = createModel('mlp', { inputShape: [8, 8, 1], numClasses: 4, seed: 0 });
  assert.throws(
    () => blurPool().transformModel(mlp),
    (e: unknown) =>
      (e as { code?: string }).code === 'ANNEAL_BLURPOOL_NOTHING' &&
      /no strided convolution or pooling/.test((e as Error).message),
  );
  mlp.dispose();
});
