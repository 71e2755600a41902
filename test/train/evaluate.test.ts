/**
 * Evaluation (src/train/evaluate.ts): the mean cross-entropy and top-1 accuracy over a data set
 * in batches equal the same computed here sample by sample from the logits (log-softmax in
 * float64), with a last batch shorter than the rest; and the whole evaluation reads the backend
 * once, not twice a batch.
 */
import assert from 'node:assert/strict';
import { before, mock, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { maxOf } from '../../src/stats.js';
import { evaluate, evaluateSync } from '../../src/train/evaluate.js';
import { tinyEvalData, tinyMlp, useTfCpu } from './helpers.js';

before(useTfCpu);

test('loss and accuracy match a per-sample derivation; one read for all batches', async () => {
  const model = tinyMlp([16], 3);
  const data = tinyEvalData(230); // batches of 50: four full and one of 30
  const logits = tf.tidy(() =>
    (model.predict(tf.tensor(data.images, [data.length, ...data.shape])) as tf.Tensor).dataSync(),
  );
  let loss = 0;
  let hits = 0;
  const k = data.numClasses;
  for (let i = 0; i < data.length; i++) {
    const row = Array.from(logits.subarray(i * k, (i + 1) * k));
    const max = maxOf(row);
    const logSum = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
    loss += logSum - row[data.labels[i]];
    if (row.indexOf(max) === data.labels[i]) hits++;
  }
  assert.ok(hits > 0 && hits < data.length, 'the accuracy is neither 0 nor 1');

  const before = tf.memory().numTensors;
  const reads = mock.method(tf.engine().backend, 'readSync');
  const sync = evaluateSync(model, data, { batchSize: 50 });
  assert.equal(reads.mock.callCount(), 1, 'five batches, one read');
  const asynchronous = await evaluate(model, data, { batchSize: 50 });
  assert.equal(reads.mock.callCount(), 2);
  reads.mock.restore();
  assert.equal(tf.memory().numTensors, before, 'nothing left behind');

  assert.deepEqual(asynchronous, sync);
  assert.equal(sync.count, 230);
  assert.equal(sync.accuracy, hits / data.length);
  assert.ok(Math.abs(sync.loss - loss / data.length) < 1e-6 * (loss / data.length), `${sync.loss}`);
  model.dispose();
});
