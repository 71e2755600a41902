/**
 * Softmax temperature: T = 1 is the identity; in a Trainer run the loss at step t is computed on
 * logits / T(t) (composed with label smoothing), the default preset cycles 0.5 -> 2 -> 0.5, and
 * evaluation sees the raw logits.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { labelSmoothing } from '../../src/methods/label-smoothing/index.js';
import { softmaxTemperature, temperedLogits } from '../../src/methods/softmax-temperature/index.js';
import { evaluate } from '../../src/train/evaluate.js';
import type { Method } from '../../src/train/method.js';
import { Trainer } from '../../src/train/trainer.js';
import { tinyData, tinyMlp, useTfCpu } from '../train/helpers.js';
import { logSoftmax, lossSpy } from './helpers.js';

before(useTfCpu);

function close(actual: number, expected: number, tol = 1e-5) {
  assert.ok(
    Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)),
    `${actual} vs ${expected}`,
  );
}

test('temperedLogits: T = 1 is the identity, T divides the logits', () => {
  const logits = tf.tensor2d([
    [2, -1, 0.5],
    [0, 3, -4],
  ]);
  const same = temperedLogits(logits, 1);
  assert.deepEqual(same.arraySync(), logits.arraySync());
  const hot = temperedLogits(logits, 4);
  assert.deepEqual((hot.arraySync() as number[][]).flat(), [0.5, -0.25, 0.125, 0, 0.75, -1]);
  assert.throws(() => temperedLogits(logits, 0), /T = 0 is not valid/);
  tf.dispose([logits, same, hot]);
});

test('bad options are refused with the option named', () => {
  const cases: [() => unknown, RegExp][] = [
    [() => softmaxTemperature({ min: 0 }), /softmax-temperature: min = 0/],
    [() => softmaxTemperature({ max: -2 }), /softmax-temperature: max = -2/],
    [() => softmaxTemperature({ factor: 1 }), /softmax-temperature: factor = 1/],
    [
      () => softmaxTemperature({ schedule: () => 1, min: 0.5 }),
      /min = 0.5 .* no value when a schedule/,
    ],
  ];
  for (const [make, message] of cases) {
    assert.throws(make, (e: Error & { code?: string }) => {
      return e.code === 'ANNEAL_BAD_METHOD_OPTION' && message.test(e.message);
    });
  }
});

function run(methods: Method[], maxDuration: string) {
  return new Trainer({
    model: tinyMlp(),
    trainData: tinyData(64),
    evalData: tinyData(40, 9),
    maxDuration,
    batchSize: 16,
    kernels: 'js',
    methods,
  });
}

test('the loss at step t is smoothed cross-entropy on logits / T(t); eval sees raw logits', async () => {
  const temperatures = [2, 0.5, 4];
  const alpha = 0.1;
  const spy = lossSpy();
  const trainer = run(
    [
      labelSmoothing({ alpha }),
      softmaxTemperature({ schedule: (t) => temperatures[t] }),
      spy.method,
    ],
    '3ba',
  );
  await trainer.fit({ duration: '1ba' });
  const before = tf.memory().numTensors;
  await trainer.fit();
  assert.equal(tf.memory().numTensors, before);
  assert.equal(spy.seen.length, 3);
  spy.seen.forEach(({ logits, labels, loss }, step) => {
    // Soft target (1 - a) onehot + a / K against log softmax(logits / T(step)).
    const perSample = logits.map((row, i) => {
      const logP = logSoftmax(row.map((v) => v / temperatures[step]));
      const uniform = logP.reduce((s, v) => s + v, 0) / logP.length;
      return -((1 - alpha) * logP[labels[i]] + alpha * uniform);
    });
    close(loss, perSample.reduce((s, v) => s + v, 0) / perSample.length);
  });
  const plain = await evaluate(trainer.state.model, trainer.state.evalData!, { batchSize: 40 });
  close(trainer.state.metrics['eval/loss'], plain.loss, 1e-6);
  trainer.dispose();
});

test('the default preset cycles T 0.5 -> 2 -> 0.5 over the run', async () => {
  const spy = lossSpy();
  const trainer = run([softmaxTemperature(), spy.method], '4ba');
  await trainer.fit();
  // One V over 4 steps, hardest at step 2: 0.5 + 1.5 * [0, 1/2, 1, 1/2].
  assert.deepEqual(
    spy.seen.map((s) => s.metrics['softmax-temperature/T']),
    [0.5, 1.25, 2, 1.25],
  );
  for (const s of spy.seen) assert.ok(Number.isFinite(s.loss));
  trainer.dispose();
});
