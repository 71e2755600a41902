import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { AnnealError } from '../../src/errors.js';
import {
  BlurPool2D,
  createModel,
  MODEL_NAMES,
  MultiHeadSelfAttention,
  type ModelOptions,
} from '../../src/models/index.js';
import {
  normalizeTable,
  paramCountTable,
  readmePath,
  tableIn,
} from '../../src/models/param-counts.js';

type Shape = [number, number, number];
const MNIST: Shape = [28, 28, 1];
const CIFAR: Shape = [32, 32, 3];
const K = 10;

before(async () => {
  assert.ok(await tf.setBackend('cpu'));
});

function build(name: string, inputShape: Shape, extra: Record<string, unknown> = {}, seed = 1) {
  const opts: ModelOptions & Record<string, unknown> = {
    inputShape,
    numClasses: K,
    seed,
    ...extra,
  };
  return createModel(name, opts);
}

function countTrainable(model: tfl.LayersModel): number {
  return model.trainableWeights.reduce((sum, w) => sum + w.read().size, 0);
}

// Parameter counts worked out by hand from the architecture, layer by layer.
const dense = (inputs: number, units: number) => inputs * units + units;
const conv = (k: number, cin: number, cout: number, bias = true) =>
  k * k * cin * cout + (bias ? cout : 0);
/** BatchNorm: gamma + beta are trainable, moving mean + variance are not. */
const bnTrainable = (channels: number) => 2 * channels;

describe('parameter counts match the formulas', () => {
  test('mlp 784-256-128-10 and 3072-256-128-10', () => {
    assert.equal(
      build('mlp', MNIST).countParams(),
      784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10,
    );
    assert.equal(
      build('mlp', CIFAR).countParams(),
      dense(3072, 256) + dense(256, 128) + dense(128, K),
    );
    assert.equal(
      build('mlp', MNIST, { hidden: [32] }).countParams(),
      dense(784, 32) + dense(32, K),
    );
  });

  test('cnn: two conv/pool stages, dense 128, dense 10', () => {
    // 28 -> 14 -> 7 and 32 -> 16 -> 8 after the two 2x2 pools.
    const expected = (c: number, side: number) =>
      conv(3, c, 32) + conv(3, 32, 64) + dense(side * side * 64, 128) + dense(128, K);
    assert.equal(build('cnn', MNIST).countParams(), 3 * 3 * 1 * 32 + 32 + 18496 + 401536 + 1290);
    assert.equal(build('cnn', MNIST).countParams(), expected(1, 7));
    assert.equal(build('cnn', CIFAR).countParams(), expected(3, 8));
  });

  test('resnet-8 on 28x28x1: every conv, BN and the head', () => {
    const convs =
      conv(3, 1, 16, false) + // stem
      2 * conv(3, 16, 16, false) + // stage 1 block
      conv(3, 16, 32, false) +
      conv(3, 32, 32, false) +
      conv(1, 16, 32, false) + // stage 2 + projection
      conv(3, 32, 64, false) +
      conv(3, 64, 64, false) +
      conv(1, 32, 64, false); // stage 3 + projection
    const bnChannels = 16 + 2 * 16 + 3 * 32 + 3 * 64;
    const model = build('resnet', MNIST);
    assert.equal(countTrainable(model), convs + bnTrainable(bnChannels) + dense(64, K));
    assert.equal(model.countParams(), convs + 4 * bnChannels + dense(64, K));
  });

  test('resnet-20 on CIFAR has the 0.27M parameters of He et al. 2016 (Table 6)', () => {
    const trainable = countTrainable(build('resnet', CIFAR, { depth: 20 }));
    assert.equal(Math.round(trainable / 1e4) / 100, 0.27);
    // blocksPerStage = 3 is the same network; BlurPool adds no parameters.
    assert.equal(
      countTrainable(build('resnet', CIFAR, { blocksPerStage: 3, blurPool: true })),
      trainable,
    );
  });

  test('vit, patchify and conv stems', () => {
    const d = 64;
    const block =
      2 * bnTrainable(d) + dense(d, 3 * d) + dense(d, d) + dense(d, 2 * d) + dense(2 * d, d);
    const tail = (tokens: number) => tokens * d + 2 * block + 2 * d + dense(d, K);
    // patch 7 on 28x28: 16 tokens; patch 4 on 32x32: 64 tokens.
    assert.equal(build('vit', MNIST).countParams(), conv(7, 1, d) + tail(16));
    assert.equal(build('vit', CIFAR).countParams(), conv(4, 3, d) + tail(64));
    // conv stem on 28x28x1, patch 7: three stride-2 convs (16, 32, 64 channels, 28->14->7->4) + 1x1.
    const stem =
      conv(3, 1, 16, false) + conv(3, 16, 32, false) + conv(3, 32, 64, false) + conv(1, d, d);
    const model = build('vit', MNIST, { stem: 'conv' });
    assert.equal(countTrainable(model), stem + bnTrainable(16 + 32 + 64) + tail(16));
  });
});

const VARIANTS: Array<[string, Record<string, unknown>]> = [
  ['mlp', {}],
  ['cnn', {}],
  ['resnet', {}],
  ['resnet', { blurPool: true, zeroInitLastBnGamma: true }],
  ['vit', { stem: 'patchify' }],
  ['vit', { stem: 'conv' }],
];

test('every model and stem outputs [batch, numClasses] logits on both input shapes', () => {
  for (const shape of [MNIST, CIFAR]) {
    for (const [name, extra] of VARIANTS) {
      const model = build(name, shape, extra);
      const before = tf.memory().numTensors;
      const shapeOut = tf.tidy(() => (model.predict(tf.ones([3, ...shape])) as tf.Tensor).shape);
      assert.deepEqual(shapeOut, [3, K], `${name} ${JSON.stringify(extra)} on ${shape}`);
      assert.equal(tf.memory().numTensors, before, `${name} leaked tensors`);
      model.dispose();
    }
  }
  assert.deepEqual(build('mlp', [5, 5, 2], {}).outputs[0].shape, [null, K]);
  const threeClasses = createModel('cnn', { inputShape: [12, 12, 1], numClasses: 3 });
  assert.deepEqual(threeClasses.outputs[0].shape, [null, 3]);
});

test('the same seed gives the same initial weights, another seed different ones', () => {
  const weights = (m: tfl.LayersModel) => m.getWeights().map((w) => Array.from(w.dataSync()));
  for (const [name, extra] of VARIANTS) {
    const a = weights(build(name, MNIST, extra, 7));
    assert.deepEqual(weights(build(name, MNIST, extra, 7)), a, `${name} seed 7 twice`);
    const c = weights(build(name, MNIST, extra, 8));
    assert.notDeepEqual(c, a, `${name} seeds 7 and 8`);
  }
  // Two layers of the same shape in one model are not copies of one random stream.
  const [, , k2, , k3] = build('resnet', MNIST, {}, 7).getWeights(); // stage-1 block convs
  assert.deepEqual(k2.shape, k3.shape);
  assert.notDeepEqual(Array.from(k2.dataSync()), Array.from(k3.dataSync()));
});

test('zeroInitLastBnGamma zeroes the last BN gamma of every residual branch, and only that', () => {
  const model = build('resnet', MNIST, { depth: 14, zeroInitLastBnGamma: true });
  const isBn = (l: tfl.layers.Layer) => l.getClassName() === 'BatchNormalization';
  const gammaOf = (l: tfl.layers.Layer) => Array.from(l.getWeights()[0].dataSync());
  const adds = model.layers.filter((l) => l.getClassName() === 'Add');
  assert.equal(adds.length, 3 * 2); // depth 14: 2 blocks per stage
  const zeroed = new Set<tfl.layers.Layer>();
  for (const add of adds) {
    const branchEnd = add.inboundNodes[0].inboundLayers[0]; // add([branch, shortcut])
    assert.ok(isBn(branchEnd));
    assert.ok(gammaOf(branchEnd).every((g) => g === 0));
    zeroed.add(branchEnd);
  }
  for (const bn of model.layers.filter((l) => isBn(l) && !zeroed.has(l))) {
    assert.ok(
      gammaOf(bn).every((g) => g === 1),
      `${bn.name} should keep gamma = 1`,
    );
  }
  const plain = build('resnet', MNIST, { depth: 14 });
  assert.ok(plain.layers.filter(isBn).every((l) => gammaOf(l).every((g) => g === 1)));
});

test('an unknown model name is a UsageError listing the models', () => {
  assert.throws(
    () => createModel('resnet50', { inputShape: MNIST, numClasses: K }),
    (e: unknown) => {
      assert.ok(e instanceof AnnealError);
      assert.equal(e.name, 'UsageError');
      assert.equal(e.code, 'ANNEAL_UNKNOWN_MODEL');
      assert.match(e.message, /resnet50/);
      for (const name of ['mlp', 'cnn', 'resnet', 'vit']) assert.match(e.message, new RegExp(name));
      return true;
    },
  );
  assert.deepEqual([...MODEL_NAMES].sort(), ['cnn', 'mlp', 'resnet', 'vit']);
});

test('bad options are UsageErrors naming the option', () => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['resnet', { depth: 10 }, /depth/],
    ['vit', { dim: 30, heads: 4 }, /heads/],
    ['vit', { stem: 'hybrid' }, /stem/],
    ['mlp', { hidden: [0] }, /hidden/],
    ['resnet', { blurPool: 'yes' }, /blurPool/],
  ];
  for (const [name, extra, pattern] of cases) {
    assert.throws(
      () => build(name, MNIST, extra),
      (e: unknown) =>
        e instanceof AnnealError && e.code === 'ANNEAL_BAD_MODEL_OPTION' && pattern.test(e.message),
      `${name} ${JSON.stringify(extra)}`,
    );
  }
  assert.throws(
    () => createModel('cnn', { inputShape: [28, 28] as unknown as Shape, numClasses: K }),
    /inputShape/,
  );
});

test('models with custom layers save and load through tf.io handlers', async () => {
  for (const [name, extra] of [
    ['resnet', { blurPool: true, blurFilterSize: 5 }],
    ['vit', { stem: 'patchify' }],
    ['vit', { stem: 'conv' }],
  ] as const) {
    const model = build(name, CIFAR, extra);
    let saved: tf.io.ModelArtifacts | undefined;
    await model.save(
      tf.io.withSaveHandler(async (artifacts) => {
        saved = artifacts;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    // Through JSON, as a file would be: no live objects survive.
    const topology = JSON.parse(JSON.stringify(saved!.modelTopology));
    const loaded = await tfl.loadLayersModel(
      tf.io.fromMemory({ ...saved!, modelTopology: topology }),
    );
    const x = tf.randomNormal([2, ...CIFAR], 0, 1, 'float32', 3);
    const expected = (model.predict(x) as tf.Tensor).arraySync();
    assert.deepEqual(
      (loaded.predict(x) as tf.Tensor).arraySync(),
      expected,
      `${name} ${JSON.stringify(extra)}`,
    );
    const custom = name === 'resnet' ? BlurPool2D : MultiHeadSelfAttention;
    assert.ok(loaded.layers.some((l) => l instanceof custom));
    if (name === 'resnet') {
      const blur = loaded.layers.find((l) => l instanceof BlurPool2D) as BlurPool2D;
      assert.equal(blur.filterSize, 5);
    }
  }
});

test('the parameter table in src/models/README.md is the generated one', () => {
  const readme = readFileSync(readmePath(), 'utf8');
  assert.equal(normalizeTable(tableIn(readme)), normalizeTable(paramCountTable()));
});
