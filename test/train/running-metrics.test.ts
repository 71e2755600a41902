/**
 * The epoch's running train loss and accuracy (src/train/running-metrics.ts): the means are the
 * float64 sums of each step's numbers in order, whenever they are read; many steps are read back
 * in one transfer; the tensors held stay bounded; an epoch's means show until the next counts a
 * step; a step that failed before it was counted is dropped.
 */
import assert from 'node:assert/strict';
import { before, mock, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { MAX_UNREAD_STEPS, RunningMetrics } from '../../src/train/running-metrics.js';
import { useTfCpu } from './helpers.js';

before(useTfCpu);

/** Counts the backend's reads while `f` runs. */
function readsDuring(f: () => void): number {
  const reads = mock.method(tf.engine().backend, 'readSync');
  try {
    f();
    return reads.mock.callCount();
  } finally {
    reads.mock.restore();
  }
}

/** One step of `loss` over `size` samples with `hits` of `rows`, as the Trainer counts it. */
function step(
  m: RunningMetrics,
  metrics: Record<string, number>,
  loss: number,
  size: number,
  hits?: [number, number],
) {
  m.beginStep();
  const lossTensor = tf.scalar(loss);
  m.setLoss(lossTensor);
  lossTensor.dispose();
  const hitsTensor = hits ? tf.scalar(hits[0]) : null;
  m.count(metrics, size, hitsTensor, hits ? hits[1] : 0);
  hitsTensor?.dispose();
}

test('the means are the in-order float64 sums, read for many steps at once', () => {
  const m = new RunningMetrics();
  const metrics: Record<string, number> = {};
  const before = tf.memory().numTensors;
  const losses = [2.5, 0.1, 1e-3, 3.75, 0.3];
  const sizes = [32, 32, 17, 32, 5];
  const hits = [3, 10, 9, 30, 2];
  const reads = readsDuring(() =>
    losses.forEach((l, i) => step(m, metrics, l, sizes[i], [hits[i], 2 * sizes[i]])),
  );
  assert.equal(reads, 0, 'counting a step reads nothing');
  assert.equal(
    tf.memory().numTensors,
    before + 2 * losses.length,
    'each step holds its loss and hits',
  );

  // The losses as float32 holds them, weighted by size, summed in order in float64.
  let loss = 0;
  losses.forEach((l, i) => (loss += Math.fround(l) * sizes[i]));
  const samples = sizes.reduce((a, b) => a + b);
  let got = NaN;
  assert.equal(
    readsDuring(() => (got = metrics['train/loss'])),
    1,
    'one read for five steps',
  );
  assert.equal(got, loss / samples);
  assert.equal(metrics['train/accuracy'], hits.reduce((a, b) => a + b) / (2 * samples));
  assert.equal(tf.memory().numTensors, before, 'read steps hold nothing');
  assert.deepEqual(m.settled(), { loss, hits: 54, rows: 2 * samples, samples });
  m.dispose();
});

test("lossValue is the current step's loss, before and after it is counted", () => {
  const m = new RunningMetrics();
  const metrics: Record<string, number> = {};
  step(m, metrics, 1.5, 4);
  m.beginStep();
  assert.ok(Number.isNaN(m.lossValue), 'NaN before setLoss');
  const loss = tf.scalar(0.25);
  m.setLoss(loss);
  loss.dispose();
  assert.equal(m.lossValue, 0.25);
  m.count(metrics, 4, null, 0);
  assert.equal(m.lossValue, 0.25);
  assert.equal(metrics['train/loss'], (1.5 + 0.25) / 2);
  assert.equal(metrics['train/accuracy'], undefined, 'no hits counted, no accuracy');
  m.dispose();
});

test('the unread steps stay bounded; a new epoch shows the last means until it counts a step', () => {
  const m = new RunningMetrics();
  const metrics: Record<string, number> = {};
  const before = tf.memory().numTensors;
  for (let i = 0; i < MAX_UNREAD_STEPS + 50; i++) {
    step(m, metrics, i % 2, 1, [i % 3 === 0 ? 1 : 0, 1]);
    assert.ok(tf.memory().numTensors - before <= 2 * MAX_UNREAD_STEPS, `step ${i}`);
  }
  const n = MAX_UNREAD_STEPS + 50;
  const meanLoss = Math.floor(n / 2) / n;
  const accuracy = Math.ceil(n / 3) / n;
  assert.equal(metrics['train/loss'], meanLoss);
  m.newEpoch();
  assert.equal(metrics['train/loss'], meanLoss, "the ended epoch's mean");
  assert.equal(metrics['train/accuracy'], accuracy);
  step(m, metrics, 4, 1, [1, 1]);
  assert.equal(metrics['train/loss'], 4);
  assert.equal(metrics['train/accuracy'], 1);
  m.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test('a step that failed before it was counted is dropped; restored sums go on', () => {
  const m = new RunningMetrics();
  const metrics: Record<string, number> = {};
  const before = tf.memory().numTensors;
  m.restore({ loss: 10, hits: 3, rows: 8, samples: 8 });
  m.beginStep();
  const loss = tf.scalar(99);
  m.setLoss(loss);
  loss.dispose();
  step(m, metrics, 2, 2, [1, 2]); // its beginStep drops the uncounted step
  assert.equal(tf.memory().numTensors, before + 2);
  assert.deepEqual(m.settled(), { loss: 14, hits: 4, rows: 10, samples: 10 });
  assert.equal(metrics['train/loss'], 14 / 10);
  assert.throws(() => m.count(metrics, 1, null, 0), /count before setLoss/);
  m.dispose();
  assert.equal(tf.memory().numTensors, before);
});
