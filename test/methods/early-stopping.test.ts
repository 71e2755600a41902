/**
 * Early stopping: the rule worked out by hand on short histories (min/max, minDelta, NaN), and
 * in the Trainer: it stops after `patience` evaluations without improvement and puts back the
 * weights saved at the best evaluation.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { earlyStopping, isImprovement, shouldStop } from '../../src/methods/index.js';
import { Event } from '../../src/train/events.js';
import type { Method } from '../../src/train/method.js';
import { Trainer } from '../../src/train/trainer.js';
import {
  FAST_KERNELS,
  paramsOf,
  tinyData,
  tinyEvalData,
  tinyMlp,
  useTfCpu,
} from '../train/helpers.js';

before(useTfCpu);

test('shouldStop: patience counts evaluations since the best, minDelta is a margin', () => {
  // min: best 3 at index 1; 4 and 4.5 do not beat it: wait 2 = patience at index 3.
  assert.deepEqual(shouldStop([5, 3, 4, 4.5, 1], { patience: 2 }), {
    best: 3,
    bestIndex: 1,
    wait: 2,
    stop: true,
  });
  // 0.95 and 0.9 do not beat 1 by more than 0.1: stop at index 2 with best index 0.
  assert.deepEqual(shouldStop([1, 0.95, 0.9, 0.5], { patience: 2, minDelta: 0.1 }), {
    best: 1,
    bestIndex: 0,
    wait: 2,
    stop: true,
  });
  // max: 0.6 at index 1; an equal 0.6 is no improvement.
  assert.deepEqual(shouldStop([0.5, 0.6, 0.6, 0.59], { mode: 'max', patience: 2 }), {
    best: 0.6,
    bestIndex: 1,
    wait: 2,
    stop: true,
  });
  assert.deepEqual(shouldStop([3, 2, 1], { patience: 1 }), {
    best: 1,
    bestIndex: 2,
    wait: 0,
    stop: false,
  });
  assert.equal(isImprovement(NaN, null, 'min'), false);
  assert.equal(isImprovement(NaN, 1, 'max'), false);
  assert.equal(isImprovement(-Infinity, 1, 'min'), true);
  assert.deepEqual(shouldStop([NaN, NaN], { patience: 2 }).stop, true);
  assert.throws(() => shouldStop([], { patience: 0 }), /patience = 0/);
  assert.throws(() => earlyStopping({ mode: 'up' as 'min' }), /mode = up/);
  assert.equal(earlyStopping({ monitor: 'eval/accuracy' }).rule.mode, 'max');
});

/** Sets metric 'toy' at each EVAL_END from a list (it must run before early stopping). */
function toyMetric(values: number[]): Method {
  let i = 0;
  return {
    name: 'toy_metric',
    match: (event) => event === Event.EVAL_END,
    apply: (_e, state) => void (state.metrics.toy = values[i++]),
  };
}

test('in the Trainer it stops after patience and restores the weights of the best evaluation', async () => {
  const saved: Float32Array[] = [];
  const stopping = earlyStopping({ monitor: 'toy', patience: 2 });
  const trainer = new Trainer({
    model: tinyMlp(),
    trainData: tinyData(100),
    evalData: tinyEvalData(20),
    maxDuration: '10ep',
    batchSize: 20,
    kernels: FAST_KERNELS,
    // EVAL_END runs methods in reverse order: toy_metric first, then early-stopping.
    methods: [stopping, toyMetric([5, 3, 4, 4.5, 1, 1, 1])],
    callbacks: [{ onEvalEnd: (s) => void saved.push(s.ops.download(s.pv.params)) }],
  });
  const result = await trainer.fit();
  // Best at the 2nd evaluation (step 10); the 3rd and 4th do not improve: stop after the 4th.
  assert.equal(saved.length, 4);
  assert.equal(result.timestamp.step, 20);
  assert.ok(result.runComplete);
  assert.match(result.stopReason!, /toy did not improve for 2 evaluations \(best 3 at step 10\)/);
  assert.deepEqual(stopping.best, { value: 3, step: 10 });
  const final = paramsOf(trainer);
  assert.deepEqual(final, saved[1]);
  assert.notDeepEqual(final, saved[3]);
  // The model's variables hold the restored weights too.
  const fromModel = (trainer.state.model as ReturnType<typeof tinyMlp>).trainableWeights.flatMap(
    (w) => [...(w.read().dataSync() as Float32Array)],
  );
  assert.deepEqual(fromModel, [...saved[1]]);
  trainer.dispose();
});

test('a monitor that is not a metric is named with the metrics that exist', async () => {
  const trainer = new Trainer({
    model: tinyMlp(),
    trainData: tinyData(40),
    evalData: tinyEvalData(20),
    maxDuration: '1ep',
    batchSize: 20,
    kernels: 'js',
    methods: [earlyStopping({ monitor: 'val_loss' })],
  });
  await assert.rejects(trainer.fit(), /'val_loss' does not exist .* eval\/loss/);
  trainer.dispose();
});
