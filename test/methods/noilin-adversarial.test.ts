// NoiLIn inside adversarial training (the composition bench/robust-overfitting.ts runs): with
// `noilin` before `adversarial` in the methods list, the attack targets the injected labels, the
// step trains on them, and NoiLIn's schedule watches the robust validation accuracy.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { adversarial, fgsmAttack } from '../../src/methods/adversarial/index.js';
import { noilin } from '../../src/methods/noilin/index.js';
import { Event } from '../../src/train/events.js';
import type { Method } from '../../src/train/method.js';
import { Trainer } from '../../src/train/index.js';
import { tinyData, tinyEvalData, tinyMlp, useTfCpu } from '../train/helpers.js';

before(useTfCpu);

test('noilin before adversarial: the attack targets the injected labels and p follows robust accuracy', async () => {
  const trainData = tinyData(48, 7);
  const attack = { epsilon: 0.3, clip: null };
  let clean: tf.Tensor | null = null;
  let batches = 0;
  let flippedBatches = 0;
  // Before noilin: keeps the batch's clean inputs.
  const before: Method = {
    name: 'clean-spy',
    match: (e) => e === Event.BATCH_START,
    apply: (_e, s) => {
      clean?.dispose();
      clean = tf.clone(s.batch!.x);
    },
  };
  // After adversarial: the inputs are FGSM against the batch's (injected) labels, not the true ones.
  const after: Method = {
    name: 'attack-spy',
    match: (e) => e === Event.BATCH_START,
    apply: (_e, s) => {
      const batch = s.batch!;
      const labels = (batch.y.arraySync() as number[][]).map((row) => row.indexOf(1));
      assert.deepEqual(labels, Array.from(batch.data.labels));
      const expected = fgsmAttack(s.model, clean!, batch.y, attack);
      const trueY = tf.oneHot(
        tf.tensor1d(
          Array.from(batch.data.indices, (i) => trainData.labels[i]),
          'int32',
        ),
        trainData.numClasses,
      );
      const onTrue = fgsmAttack(s.model, clean!, trueY, attack);
      const got = batch.x.arraySync();
      assert.deepEqual(got, expected.arraySync());
      const flipped = batch.data.indices.some((i, r) => trainData.labels[i] !== labels[r]);
      if (flipped) {
        flippedBatches++;
        assert.notDeepEqual(got, onTrue.arraySync());
      }
      batches++;
      tf.dispose([expected, trueY, onTrue]);
    },
  };
  const method = noilin({ pInit: 0.25, pMax: 0.8, gamma: 1, tau: 1, capUntil: '0dur' });
  const robust: number[] = [];
  const clean_: number[] = [];
  const ps: number[] = [];
  const model = tinyMlp([8], 3);
  const trainer = new Trainer({
    model,
    trainData,
    evalData: tinyEvalData(40),
    maxDuration: '8ep',
    batchSize: 16,
    seed: 2,
    kernels: 'js',
    optimizer: { name: 'adamw', lr: 0.05 },
    methods: [
      before,
      method,
      adversarial({ ...attack, attack: 'fgsm', evalSteps: 2, evalLimit: 40, trainEvalLimit: 0 }),
      after,
    ],
    callbacks: [
      { onEpochEnd: (s) => void ps.push(s.metrics['noilin/p']) },
      {
        onEvalEnd: (s) => {
          robust.push(s.metrics['eval/robust_accuracy']);
          clean_.push(s.metrics['eval/accuracy']);
        },
      },
    ],
  });
  await trainer.fit();
  assert.equal(batches, 24);
  assert.ok(flippedBatches > 0, 'no batch had an injected label');
  // The schedule replayed on the robust accuracies (tau = 1: p doubles when it falls).
  // Robust and clean accuracy differ, so the replay tells which one the schedule watched.
  assert.ok(
    robust.some((r, i) => r !== clean_[i]),
    `robust ${robust} = clean ${clean_}`,
  );
  let p = 0.25;
  let previous = 0;
  const expected = [p];
  for (const a of robust.slice(0, -1)) {
    if (a < previous) p = Math.min(0.8, 2 * p);
    previous = a;
    expected.push(p);
  }
  assert.deepEqual(ps, expected);
  assert.ok(new Set(ps).size > 1, `the rate never moved: ${ps}`);
  assert.deepEqual(method.stateDict().window, [robust.at(-1)]);
  (clean as tf.Tensor | null)?.dispose();
  trainer.dispose();
  model.dispose();
});
