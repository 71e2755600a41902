/**
 * The registration module that `anneal export` ships (anneal-layers.js): plain JavaScript that
 * defines anneal's custom layers on a `tf` object. Here it replaces anneal's own registered
 * classes (this file runs in a process of its own), and models saved with anneal's classes load
 * through it and predict what they predicted before: the ViT (both stems) and a BlurPool ResNet.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { LAYERS_MODULE_FILE, LAYERS_MODULE_SOURCE, saveModel } from '../../src/io/index.js';
import {
  BlurPool2D,
  createModel,
  MultiHeadSelfAttention,
  PositionEmbedding,
} from '../../src/models/index.js';

const dir = mkdtempSync(join(tmpdir(), 'anneal-layers-module-'));

before(async () => {
  assert.ok(await tf.setBackend('cpu'));
});

test("models load through anneal-layers.js's classes and predict as with anneal's", async () => {
  const cases = [
    ['vit-patchify', createModel('vit', { inputShape: [28, 28, 1], numClasses: 10, seed: 1 })],
    [
      'vit-conv',
      createModel('vit', { inputShape: [28, 28, 1], numClasses: 10, seed: 2, stem: 'conv' }),
    ],
    [
      'resnet-blurpool',
      createModel('resnet', { inputShape: [16, 16, 3], numClasses: 4, seed: 3, blurPool: true }),
    ],
  ] as const;
  const expected = new Map<string, Float32Array>();
  const inputs = new Map<string, tf.Tensor>();
  for (const [name, model] of cases) {
    const shape = model.inputs[0].shape.slice(1) as number[];
    const x = tf.randomNormal([4, ...shape], 0, 1, 'float32', 7);
    inputs.set(name, x);
    expected.set(name, (model.predict(x) as tf.Tensor).dataSync() as Float32Array);
    await saveModel(model, join(dir, name));
  }

  const file = join(dir, LAYERS_MODULE_FILE);
  writeFileSync(file, LAYERS_MODULE_SOURCE);
  const { registerAnnealLayers } = (await import(pathToFileURL(file).href)) as {
    registerAnnealLayers(tf: unknown): Record<string, unknown>;
  };
  const classes = registerAnnealLayers({ ...tf, ...tfl });
  assert.deepEqual(Object.keys(classes).sort(), [
    'BlurPool2D',
    'MultiHeadSelfAttention',
    'PositionEmbedding',
  ]);

  for (const [name] of cases) {
    const loaded = await tfl.loadLayersModel(`file://${join(dir, name, 'model.json')}`);
    const custom = loaded.layers.filter((l) =>
      ['MultiHeadSelfAttention', 'PositionEmbedding', 'BlurPool2D'].includes(l.getClassName()),
    );
    assert.ok(custom.length > 0, `${name}: no custom layers`);
    for (const layer of custom) {
      // The module's classes, not anneal's.
      assert.ok(
        !(layer instanceof MultiHeadSelfAttention) &&
          !(layer instanceof PositionEmbedding) &&
          !(layer instanceof BlurPool2D),
        `${name}: ${layer.name} is anneal's own class`,
      );
    }
    const got = (loaded.predict(inputs.get(name)!) as tf.Tensor).dataSync();
    const want = expected.get(name)!;
    assert.equal(got.length, want.length);
    let worst = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
    assert.ok(worst < 1e-5, `${name}: outputs differ by up to ${worst}`);
  }
});
