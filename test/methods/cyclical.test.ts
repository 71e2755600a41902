/**
 * General cyclical training: the weight decay the optimizer sees at each step and the cyclical
 * clip threshold follow the triangle min -> max -> min (derived here); gradients are clipped to
 * the threshold by global norm; the tensor twin matches a hand-computed 3-4-12 example.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import {
  clipByGlobalNorm,
  cyclicalGradClip,
  cyclicalGradClipAt,
  gradClip,
} from '../../src/methods/cyclical-grad-clip/index.js';
import {
  cyclicalWeightDecay,
  cyclicalWeightDecayAt,
} from '../../src/methods/cyclical-weight-decay/index.js';
import { Event } from '../../src/train/events.js';
import type { Method } from '../../src/train/method.js';
import type { TrainState } from '../../src/train/state.js';
import { Trainer } from '../../src/train/trainer.js';
import { FAST_KERNELS, tinyData, tinyMlp, useTfCpu } from '../train/helpers.js';

before(useTfCpu);

/** One symmetric cycle over T steps: min at 0 and T, max at T/2, linear between. */
function triangle(t: number, T: number, min: number, max: number): number {
  const half = T / 2;
  return min + (max - min) * (t < half ? t / half : (T - t) / half);
}

function close(a: number, b: number, tol = 1e-9): void {
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} != ${b}`);
}

function l2(v: Float32Array): number {
  return Math.sqrt(v.reduce((s, x) => s + x * x, 0));
}

test('twins: values at step t of one min -> max -> min cycle', () => {
  for (const t of [0, 1, 3, 5, 7, 9]) {
    close(
      cyclicalWeightDecayAt(t, { min: 1e-5, max: 8e-5, totalSteps: 10 }),
      triangle(t, 10, 1e-5, 8e-5),
    );
    close(cyclicalGradClipAt(t, { min: 0.5, max: 100, totalSteps: 10 }), triangle(t, 10, 0.5, 100));
  }
});

test('clipByGlobalNorm (tensors): [3, 4] and [12] have norm 13 and are scaled to 6.5', () => {
  const grads = [tf.tensor1d([3, 4]), tf.tensor1d([12])];
  const { grads: clipped, norm } = clipByGlobalNorm(grads, 6.5);
  assert.equal(norm, 13);
  const scale = 6.5 / (13 + 1e-6);
  const values = clipped.flatMap((g) => [...g.dataSync()]);
  [3, 4, 12].forEach((v, i) => close(values[i], v * scale, 1e-6));
  const { grads: untouched } = clipByGlobalNorm(grads, 20);
  assert.deepEqual([...untouched[0].dataSync()], [3, 4]);
  tf.dispose([...grads, ...clipped, ...untouched]);
});

test('cyclical weight decay: the optimizer steps with the cycle value at each step', async () => {
  const seen: number[] = [];
  const trainer = new Trainer({
    model: tinyMlp(),
    trainData: tinyData(64),
    maxDuration: '8ba',
    batchSize: 16,
    kernels: FAST_KERNELS,
    optimizer: { name: 'adamw', lr: 1e-2, weightDecay: 0.5 },
    // A weightDecay schedule too: the method's value must win (it writes after the Trainer).
    schedules: { weightDecay: () => 3 },
    methods: [cyclicalWeightDecay({ min: 0.01, max: 0.09 })],
    callbacks: [{ onBatchEnd: (s) => void seen.push(s.optimizer.hyper.weightDecay) }],
  });
  const tensors = tf.memory().numTensors;
  const result = await trainer.fit();
  assert.ok(Number.isFinite(result.metrics['train/loss']));
  assert.ok(tf.memory().numTensors <= tensors);
  seen.forEach((wd, t) => close(wd, triangle(t, 8, 0.01, 0.09), 1e-12));
  trainer.dispose();
});

/** At AFTER_BACKWARD, records the flat gradient's L2 norm (reverse order: place it before the clip to see the result). */
function gradNormRecorder(into: number[]): Method {
  return {
    name: 'grad-norm',
    match: (event) => event === Event.AFTER_BACKWARD,
    apply: (_e, s: TrainState) => void into.push(l2(s.ops.download(s.pv.grads))),
  };
}

test('grad clip and cyclical grad clip: the gradient stepped with has norm min(norm, threshold)', async () => {
  for (const make of [
    () => ({ method: gradClip({ maxNorm: 0.05 }), threshold: () => 0.05 }),
    () => ({
      method: cyclicalGradClip({ min: 0.01, max: 0.1 }),
      threshold: (t: number) => triangle(t, 6, 0.01, 0.1),
    }),
  ]) {
    const { method, threshold } = make();
    const beforeClip: number[] = [];
    const afterClip: number[] = [];
    const trainer = new Trainer({
      model: tinyMlp(),
      trainData: tinyData(48),
      maxDuration: '6ba',
      batchSize: 8,
      kernels: FAST_KERNELS,
      // AFTER_BACKWARD runs in reverse order: the last recorder sees the raw gradient.
      methods: [
        { ...gradNormRecorder(afterClip), name: 'after' },
        method,
        { ...gradNormRecorder(beforeClip), name: 'before' },
      ],
    });
    const result = await trainer.fit();
    assert.equal(afterClip.length, 6);
    // The norm metric, read when fit() returns: the last step's norm before clipping.
    close(result.metrics[`${method.name}/norm`], beforeClip[5], 1e-6);
    beforeClip.forEach((norm, t) => {
      const cap = threshold(t);
      const expected = norm * Math.min(1, cap / (norm + 1e-6));
      close(afterClip[t], expected, 1e-4);
    });
    assert.ok(
      beforeClip.some((n, t) => n > threshold(t)),
      'some step was clipped',
    );
    trainer.dispose();
  }
});

test('bad options name the option', () => {
  assert.throws(() => cyclicalWeightDecay({ min: -1, max: 1 }), /cyclical-weight-decay: min = -1/);
  assert.throws(() => cyclicalWeightDecay({ min: 2, max: 1 }), /cyclical-weight-decay: min = 2/);
  assert.throws(() => cyclicalGradClip({ min: 0, max: 1 }), /cyclical-grad-clip: min = 0/);
  assert.throws(() => gradClip({ maxNorm: 0 }), /grad-clip: maxNorm = 0/);
});
