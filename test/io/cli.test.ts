/**
 * Models in and out through the `anneal` command: a model.json written by tfjs's own saver (an
 * MLP ending in softmax, laid out as tfjs-node writes it) trains on an MNIST subset with
 * `anneal train --model`, resumes, and exports; `anneal export` of a CNN trained with ALASCA
 * leaves the heads out (the parameter count of a plain CNN, computed independently) and says what
 * the model expects; export refuses to replace a folder it did not write.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { loadDataset } from '../../src/data/index.js';
import { loadModel } from '../../src/io/index.js';
import { createModel } from '../../src/models/index.js';
import { anneal, assertUserError } from '../cli/helpers.js';
import { tfjsArtifacts, writeTfjsModel } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'anneal-io-cli-'));

before(async () => {
  assert.ok(await tf.setBackend('cpu'));
});

function testAccuracy(stdout: string): number {
  const m = /test accuracy: ([\d.]+)/.exec(stdout);
  assert.ok(m, `no test accuracy in: ${stdout}`);
  return Number(m[1]);
}

/** Accuracy of `model` on `n` MNIST test images, counted here. */
async function mnistAccuracy(model: tfl.LayersModel, n: number): Promise<number> {
  const data = await loadDataset('mnist', { split: 'test', limit: n });
  const x = tf.tensor4d(data.images, [n, 28, 28, 1]);
  const predicted = tf.tidy(() => tf.argMax(model.predict(x) as tf.Tensor, 1).dataSync());
  x.dispose();
  let correct = 0;
  for (let i = 0; i < n; i++) if (predicted[i] === data.labels[i]) correct++;
  return correct / n;
}

test("a model.json from tfjs's own saver trains, resumes and exports", async () => {
  const mlp = tfl.sequential({
    layers: [
      tfl.layers.flatten({ inputShape: [28, 28, 1] }),
      tfl.layers.dense({ units: 64, activation: 'relu' }),
      tfl.layers.dense({ units: 10, activation: 'softmax' }),
    ],
  });
  const path = writeTfjsModel(await tfjsArtifacts(mlp), join(dir, 'user-mlp'));
  const run = join(dir, 'user-run');
  const data = ['--data', 'mnist', '--limit', '512', '--test-limit', '200', '--batch-size', '32'];
  const trained = anneal([
    'train',
    ...data,
    '--model',
    path,
    '--epochs',
    '2',
    '--no-progress',
    '--out',
    run,
  ]);
  assert.equal(trained.code, 0, trained.stderr);
  assert.match(trained.stderr, /took off the softmax activation of the last layer/);
  // 32 steps on 512 samples: far above chance (0.1) if it trained at all.
  assert.ok(testAccuracy(trained.stdout) > 0.5, trained.stdout);
  const config = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8'));
  assert.deepEqual(config.recipe.model, { name: 'user', path });

  const resumed = anneal(['train', '--resume', run, '--epochs', '3', '--no-progress']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stdout, /resuming .* at step 32/);

  const out = join(dir, 'user-export');
  const exported = anneal(['export', run, '--out', out]);
  assert.equal(exported.code, 0, exported.stderr);
  const info = JSON.parse(readFileSync(join(out, 'anneal.json'), 'utf8'));
  assert.equal(info.outputs, 'logits');
  const model = await loadModel(out);
  // The exported model is the trained one, without softmax: its accuracy counted here on the
  // same 200 test images is what the resumed run printed.
  assert.equal(await mnistAccuracy(model, 200), testAccuracy(resumed.stdout));
  assert.notEqual(model.layers.at(-1)!.getConfig().activation, 'softmax');
});

test('export: a CNN trained with ALASCA loses its heads; anneal.json says what the model expects', async () => {
  const run = join(dir, 'alasca-run');
  const trained = anneal([
    'train',
    ...['--data', 'mnist', '--limit', '256', '--test-limit', '200', '--model', 'cnn'],
    ...['--methods', 'alasca', '--epochs', '1', '--no-progress', '--out', run],
  ]);
  assert.equal(trained.code, 0, trained.stderr);
  const out = join(dir, 'alasca-export');
  const exported = anneal(['export', run, '--out', out]);
  assert.equal(exported.code, 0, exported.stderr);
  assert.match(exported.stdout, /exported cnn/);

  const json = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
  assert.doesNotMatch(JSON.stringify(json.modelTopology), /AlascaAuxHeads/);
  const model = await loadModel(out);
  const plain = createModel('cnn', { inputShape: [28, 28, 1], numClasses: 10, seed: 0 });
  assert.equal(model.countParams(), plain.countParams());
  assert.deepEqual(model.outputs[0].shape, [null, 10]);

  const info = JSON.parse(readFileSync(join(out, 'anneal.json'), 'utf8'));
  assert.equal(info.outputs, 'logits');
  assert.deepEqual(info.classes, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  assert.deepEqual(info.input.shape, [28, 28, 1]);
  // MNIST's published normalisation (the constants torchvision users pass to Normalize).
  assert.deepEqual(info.input.normalization, { mean: [0.1307], std: [0.3081] });
  assert.equal(info.recipe.model.name, 'cnn');
  assert.deepEqual(info.recipe.methods.use, ['alasca']);
  assert.equal(info.test.samples, 200);
  assert.equal(info.test.accuracy, await mnistAccuracy(model, 200));
  assert.deepEqual(info.customLayers, []);
  assert.ok(readdirSync(out).includes('anneal-layers.js'));

  // A second export into the same folder needs --overwrite; a folder of someone else's is refused.
  assertUserError(anneal(['export', run, '--out', out]), out, '--overwrite');
  assert.equal(anneal(['export', run, '--out', out, '--overwrite']).code, 0);
  writeFileSync(join(out, 'notes.txt'), 'mine');
  assertUserError(anneal(['export', run, '--out', out, '--overwrite']), 'notes.txt');
  assert.equal(readFileSync(join(out, 'notes.txt'), 'utf8'), 'mine');
});
