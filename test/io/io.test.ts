/**
 * The file-system model handler against tfjs's own serialization: what it writes is read back
 * by hand (JSON.parse and the raw shard bytes) and compared with the artifacts tfjs's saver
 * produces (tf.io.withSaveHandler); save -> load gives the same weights and predictions for the
 * CNN and the ViT; a model.json written by hand in tf.io's format from tfjs's artifacts loads;
 * the final-softmax strip and the shape checks; overwrite rules.
 */
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  writeFileSync,
} from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { AnnealError } from '../../src/errors.js';
import {
  checkModelFitsData,
  loadLogitsModel,
  loadModel,
  MODEL_MARKER,
  saveModel,
  shardNames,
} from '../../src/io/index.js';
import { createModel } from '../../src/models/index.js';
import { joined, tfjsArtifacts, writeTfjsModel } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'anneal-io-'));

before(async () => {
  assert.ok(await tf.setBackend('cpu'));
});

function sampleBatch(shape: number[], n = 8, seed = 3): tf.Tensor {
  return tf.randomNormal([n, ...shape], 0, 1, 'float32', seed);
}

async function assertSameModel(a: tfl.LayersModel, b: tfl.LayersModel, x: tf.Tensor) {
  const wa = a.getWeights();
  const wb = b.getWeights();
  assert.equal(wa.length, wb.length);
  for (let i = 0; i < wa.length; i++) {
    assert.deepEqual(wb[i].shape, wa[i].shape);
    assert.deepEqual(wb[i].dataSync(), wa[i].dataSync(), `weight ${i} differs`);
  }
  const pa = a.predict(x) as tf.Tensor;
  const pb = b.predict(x) as tf.Tensor;
  assert.deepEqual(pb.dataSync(), pa.dataSync());
  tf.dispose([pa, pb]);
}

for (const name of ['cnn', 'vit'] as const) {
  test(`${name}: the files hold tfjs's own artifacts; save -> load gives the same weights and predictions`, async () => {
    const model = createModel(name, { inputShape: [28, 28, 1], numClasses: 10, seed: 5 });
    const out = join(dir, `saved-${name}`);
    await saveModel(model, out);

    const expected = await tfjsArtifacts(model);
    const json = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
    assert.deepEqual(Object.keys(json).sort(), [
      'convertedBy',
      'format',
      'generatedBy',
      'modelTopology',
      'weightsManifest',
    ]);
    assert.equal(json.format, 'layers-model');
    assert.deepEqual(json.modelTopology, expected.modelTopology);
    assert.deepEqual(json.weightsManifest[0].weights, expected.weightSpecs);
    const bytes = joined(expected.weightData);
    // tfjs-converter's naming and 4 MiB shards: group1-shard1of1.bin for these small models.
    assert.deepEqual(json.weightsManifest[0].paths, ['group1-shard1of1.bin']);
    assert.deepEqual(new Uint8Array(readFileSync(join(out, 'group1-shard1of1.bin'))), bytes);
    assert.deepEqual(readdirSync(out).sort(), [MODEL_MARKER, 'group1-shard1of1.bin', 'model.json']);

    const loaded = await loadModel(join(out, 'model.json'));
    await assertSameModel(model, loaded, sampleBatch([28, 28, 1]));
    // tfjs's own loader through the file:// router.
    const viaUrl = await tfl.loadLayersModel(`file://${join(out, 'model.json')}`);
    await assertSameModel(model, viaUrl, sampleBatch([28, 28, 1]));
  });
}

test('shard names and sizes follow tfjs-converter (4 MiB shards)', () => {
  assert.deepEqual(shardNames(0), ['group1-shard1of1.bin']);
  assert.deepEqual(shardNames(4 * 1024 * 1024), ['group1-shard1of1.bin']);
  assert.deepEqual(shardNames(4 * 1024 * 1024 + 1), [
    'group1-shard1of2.bin',
    'group1-shard2of2.bin',
  ]);
});

test('a model over 4 MiB is split into shards that concatenate to the weights', async () => {
  const model = tfl.sequential({
    layers: [tfl.layers.dense({ inputShape: [1100], units: 1000 })],
  });
  const out = join(dir, 'big');
  await model.save(`file://${out}`);
  const json = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
  assert.deepEqual(json.weightsManifest[0].paths, ['group1-shard1of2.bin', 'group1-shard2of2.bin']);
  const parts = json.weightsManifest[0].paths.map((p: string) => readFileSync(join(out, p)));
  assert.equal(parts[0].length, 4 * 1024 * 1024);
  const expected = joined((await tfjsArtifacts(model)).weightData);
  assert.deepEqual(new Uint8Array(Buffer.concat(parts)), expected);
  const loaded = await loadModel(out);
  await assertSameModel(model, loaded, sampleBatch([1100], 2));
});

test('a model.json laid out by tfjs-node (weights.bin) from tfjs artifacts loads', async () => {
  const model = createModel('mlp', { inputShape: [28, 28, 1], numClasses: 10, seed: 2 });
  const path = writeTfjsModel(await tfjsArtifacts(model), join(dir, 'tfjs-node-layout'));
  const loaded = await loadModel(path);
  await assertSameModel(model, loaded, sampleBatch([28, 28, 1]));
});

test('model.save(file://) replaces its own model; saveModel and a foreign folder are refused', async () => {
  const model = createModel('mlp', { inputShape: [4, 4, 1], numClasses: 3, seed: 1 });
  const out = join(dir, 'again');
  await model.save(`file://${out}`);
  await model.save(`file://${out}`); // tfjs's semantics: a second save replaces the first
  await assert.rejects(saveModel(model, out), (e: AnnealError) => {
    assert.equal(e.code, 'ANNEAL_OUTPUT_EXISTS');
    return true;
  });
  await saveModel(model, out, { overwrite: true });

  const foreign = join(dir, 'foreign');
  mkdirSync(foreign);
  writeFileSync(join(foreign, 'notes.txt'), 'mine');
  await assert.rejects(saveModel(model, foreign, { overwrite: true }), (e: AnnealError) => {
    assert.equal(e.code, 'ANNEAL_NOT_A_MODEL_DIR');
    assert.match(e.message, /notes\.txt/);
    return true;
  });
  assert.deepEqual(readdirSync(foreign), ['notes.txt']);
  // A folder with an extra file beside an anneal model is foreign too.
  writeFileSync(join(out, 'notes.txt'), 'mine');
  await assert.rejects(model.save(`file://${out}`), /notes\.txt/);
  assert.ok(existsSync(join(out, 'notes.txt')));
  // No temp directories are left beside the targets.
  assert.deepEqual(
    readdirSync(dir).filter((n) => n.endsWith('.tmp') || n.endsWith('.old')),
    [],
  );
});

test("a killed save's temp folder is removed by the next save; a live writer's is kept", async () => {
  const dead = spawnSync(process.execPath, ['-e', '']).pid!;
  const stale = join(dir, `.stale-model.${dead}.tmp`);
  const live = join(dir, `.stale-model.${process.ppid}.tmp`);
  for (const d of [stale, live]) {
    mkdirSync(d);
    writeFileSync(join(d, 'model.json'), '{}');
  }
  const model = createModel('mlp', { inputShape: [4, 4, 1], numClasses: 3, seed: 1 });
  await saveModel(model, join(dir, 'stale-model'));
  assert.ok(!existsSync(stale), "the dead writer's temp folder is still there");
  assert.ok(existsSync(live), "a live process's temp folder was removed");
});

test('a final softmax is taken off: Dense(softmax), a Softmax layer, Activation(softmax)', async () => {
  const input = tfl.input({ shape: [6] });
  const hidden = tfl.layers
    .dense({ units: 5, activation: 'relu' })
    .apply(input) as tfl.SymbolicTensor;
  const cases: [string, tfl.LayersModel][] = [
    [
      'dense',
      tfl.sequential({
        layers: [
          tfl.layers.dense({ inputShape: [6], units: 4, activation: 'relu' }),
          tfl.layers.dense({ units: 3, activation: 'softmax', name: 'probs' }),
        ],
      }),
    ],
    [
      'softmax-layer',
      tfl.sequential({
        layers: [
          tfl.layers.dense({ inputShape: [6], units: 3 }),
          tfl.layers.softmax({ name: 'sm' }),
        ],
      }),
    ],
    [
      'functional-activation',
      tfl.model({
        inputs: input,
        outputs: tfl.layers
          .activation({ activation: 'softmax', name: 'act' })
          .apply(tfl.layers.dense({ units: 3 }).apply(hidden)) as tfl.SymbolicTensor,
      }),
    ],
  ];
  const x = sampleBatch([6], 4);
  for (const [name, model] of cases) {
    const path = writeTfjsModel(await tfjsArtifacts(model), join(dir, `softmax-${name}`));
    const { model: logits, stripped } = await loadLogitsModel(path);
    assert.ok(stripped, `${name}: nothing stripped`);
    // Independent check: softmax of the stripped model's outputs is the original's output.
    const probs = model.predict(x) as tf.Tensor;
    const z = logits.predict(x) as tf.Tensor;
    const again = tf.softmax(z);
    const diff = tf.max(tf.abs(tf.sub(again, probs))).dataSync()[0];
    assert.ok(diff < 1e-6, `${name}: softmax(logits) differs from the model by ${diff}`);
    assert.ok(tf.max(tf.abs(tf.sub(z, again))).dataSync()[0] > 1e-3, `${name}: still softmax`);
  }
  // A model of logits is left as it is.
  const plain = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [6], units: 3 })] });
  const path = writeTfjsModel(await tfjsArtifacts(plain), join(dir, 'softmax-none'));
  assert.equal((await loadLogitsModel(path)).stripped, undefined);
});

test('bad models: a missing file, not JSON, a graph model, shape and class mismatches', async () => {
  const code = (c: string) => (e: AnnealError) => e.code === c;
  await assert.rejects(loadModel(join(dir, 'nope', 'model.json')), code('ANNEAL_MODEL_NOT_FOUND'));
  writeFileSync(join(dir, 'bad.json'), '{"a":');
  await assert.rejects(loadModel(join(dir, 'bad.json')), code('ANNEAL_BAD_MODEL'));
  writeFileSync(
    join(dir, 'graph.json'),
    JSON.stringify({ format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [] }),
  );
  await assert.rejects(loadModel(join(dir, 'graph.json')), code('ANNEAL_NOT_A_LAYERS_MODEL'));

  const model = createModel('mlp', { inputShape: [28, 28, 1], numClasses: 10, seed: 2 });
  const data = { name: 'mnist', shape: [28, 28, 1], numClasses: 10 };
  checkModelFitsData(model, 'm.json', data);
  assert.throws(
    () => checkModelFitsData(model, 'm.json', { ...data, shape: [32, 32, 3] }),
    /takes inputs of shape \[28, 28, 1\], but mnist's samples have shape \[32, 32, 3\]/,
  );
  assert.throws(
    () => checkModelFitsData(model, 'm.json', { ...data, numClasses: 5 }),
    /\(10 classes\), but mnist has 5 classes/,
  );
});

/**
 * model.json as tensorflowjs_converter writes a Keras model (Keras 2 format: the topology under
 * model_config, keras_version, training_config; weights named by Keras), written here by hand
 * with weights of known values. The softmax is taken off and the logits are x W + b, worked out
 * here.
 */
test("a Keras model.json in tensorflowjs_converter's layout loads as logits", async () => {
  const W = Array.from({ length: 4 * 3 }, (_, i) => (i - 5) / 10); // [4, 3], row-major
  const b = [0.5, -0.25, 0];
  const dense = (name: string, activation: string) => ({
    class_name: 'Dense',
    config: {
      name,
      trainable: true,
      dtype: 'float32',
      units: 3,
      activation,
      use_bias: true,
      kernel_initializer: { class_name: 'GlorotUniform', config: { seed: null } },
      bias_initializer: { class_name: 'Zeros', config: {} },
      kernel_regularizer: null,
      bias_regularizer: null,
      activity_regularizer: null,
      kernel_constraint: null,
      bias_constraint: null,
    },
  });
  const flatten = {
    class_name: 'Flatten',
    config: { name: 'flatten', trainable: true, dtype: 'float32', data_format: 'channels_last' },
  };
  const input = {
    class_name: 'InputLayer',
    config: {
      batch_input_shape: [null, 2, 2, 1],
      dtype: 'float32',
      sparse: false,
      ragged: false,
      name: 'input_1',
    },
  };
  const sequential = {
    class_name: 'Sequential',
    config: { name: 'sequential', layers: [input, flatten, dense('dense', 'softmax')] },
  };
  const functional = {
    class_name: 'Functional',
    config: {
      name: 'model',
      layers: [
        { ...input, name: 'input_1', inbound_nodes: [] },
        { ...flatten, name: 'flatten', inbound_nodes: [[['input_1', 0, 0, {}]]] },
        { ...dense('dense', 'linear'), name: 'dense', inbound_nodes: [[['flatten', 0, 0, {}]]] },
        {
          class_name: 'Activation',
          config: { name: 'probs', trainable: true, dtype: 'float32', activation: 'softmax' },
          name: 'probs',
          inbound_nodes: [[['dense', 0, 0, {}]]],
        },
      ],
      input_layers: [['input_1', 0, 0]],
      output_layers: [['probs', 0, 0]],
    },
  };
  const x = [
    [1, 2, 3, 4],
    [-1, 0.5, 0, 2],
  ];
  // Logits by hand: z[n][j] = sum_i x[n][i] W[i][j] + b[j].
  const expected = x.flatMap((row) =>
    [0, 1, 2].map((j) => row.reduce((s, v, i) => s + v * W[i * 3 + j], b[j])),
  );
  for (const [name, config] of [
    ['sequential', sequential],
    ['functional', functional],
  ] as const) {
    const out = join(dir, `keras-${name}`);
    mkdirSync(out, { recursive: true });
    writeFileSync(
      join(out, 'group1-shard1of1.bin'),
      new Uint8Array(new Float32Array([...W, ...b]).buffer),
    );
    const json = {
      format: 'layers-model',
      generatedBy: 'keras v2.15.0',
      convertedBy: 'TensorFlow.js Converter v4.22.0',
      modelTopology: {
        keras_version: '2.15.0',
        backend: 'tensorflow',
        model_config: config,
        training_config: {
          loss: 'categorical_crossentropy',
          metrics: ['accuracy'],
          optimizer_config: { class_name: 'Adam', config: { learning_rate: 0.001 } },
        },
      },
      weightsManifest: [
        {
          paths: ['group1-shard1of1.bin'],
          weights: [
            { name: 'dense/kernel', shape: [4, 3], dtype: 'float32' },
            { name: 'dense/bias', shape: [3], dtype: 'float32' },
          ],
        },
      ],
    };
    writeFileSync(join(out, 'model.json'), JSON.stringify(json));
    const { model, stripped } = await loadLogitsModel(join(out, 'model.json'));
    assert.match(
      stripped ?? '',
      name === 'sequential'
        ? /softmax activation of the last layer 'dense'/
        : /Activation layer 'probs'/,
    );
    const z = model.predict(tf.tensor4d(x.flat(), [2, 2, 2, 1])) as tf.Tensor;
    const got = Array.from(z.dataSync());
    got.forEach((v, i) =>
      assert.ok(Math.abs(v - expected[i]) < 1e-5, `${name}: ${got} vs ${expected}`),
    );
    // As saved (loadModel), the model outputs probabilities that sum to 1.
    const probs = (await loadModel(out)).predict(tf.tensor4d(x.flat(), [2, 2, 2, 1])) as tf.Tensor;
    const sums = tf.sum(probs, 1).dataSync();
    sums.forEach((s) => assert.ok(Math.abs(s - 1) < 1e-5));
  }
});
