/**
 * SWA, EMA and FGE inside the Trainer and as functions, each checked against values computed
 * here from recorded snapshots (float64 sums), never against the code's own output.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import {
  averageWeights,
  ema,
  emaWeights,
  evaluateEnsemble,
  fge,
  fgeSchedule,
  probabilityMetrics,
  swa,
} from '../../src/averaging/index.js';
import { createFlatOps } from '../../src/kernels/index.js';
import { Trainer } from '../../src/train/index.js';
import { paramsOf, tinyData, tinyEvalData, tinyMlp, useTfCpu } from '../train/helpers.js';

before(useTfCpu);

function assertClose(actual: Float32Array, expected: Float64Array | number[], tol: number) {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(
      Math.abs(actual[i] - expected[i]) <= tol,
      `element ${i}: ${actual[i]} vs ${expected[i]}`,
    );
  }
}

function mean(snapshots: Float32Array[]): Float64Array {
  const out = new Float64Array(snapshots[0].length);
  for (const s of snapshots) for (let i = 0; i < s.length; i++) out[i] += s[i] / snapshots.length;
  return out;
}

test('SWA running mean equals the arithmetic mean of the snapshots; SWALR sets the SWA lr', async () => {
  const method = swa({ start: '2ba', interval: '1ba', lr: 0.004, swapAtEnd: false });
  const snapshots: Float32Array[] = [];
  const lrs: number[] = [];
  const model = tinyMlp([8], 1);
  const trainer = new Trainer({
    model,
    trainData: tinyData(96, 3),
    maxDuration: '6ba',
    batchSize: 16,
    kernels: 'js',
    optimizer: { name: 'momentum', lr: 0.05 },
    methods: [method],
    callbacks: [
      {
        onBatchEnd: (s) => {
          lrs.push(s.optimizer.hyper.lr);
          // A snapshot follows every step after the first two.
          if (s.timestamp.step > 2) snapshots.push(paramsOf(trainer));
        },
      },
    ],
  });
  await trainer.fit();
  assert.equal(snapshots.length, 4);
  assert.equal(method.averaged, 4);
  assertClose(method.average()!, mean(snapshots), 1e-6);
  // Before the start the optimizer's lr; from step 2 on (annealing '0ba') the SWA lr.
  assert.deepEqual(lrs, [0.05, 0.05, 0.004, 0.004, 0.004, 0.004]);
  trainer.dispose();
  model.dispose();
});

test('SWA every epoch, swapped in at the end: the model holds the mean of the epoch-end weights', async () => {
  const snapshots: Float32Array[] = [];
  const model = tinyMlp([8], 2);
  const trainer = new Trainer({
    model,
    trainData: tinyData(64, 4),
    evalData: tinyEvalData(32),
    maxDuration: '4ep',
    batchSize: 32,
    kernels: 'js',
    methods: [swa({ start: '1ep', interval: '1ep' })],
    callbacks: [
      {
        onEpochEnd: (s) => {
          if (s.timestamp.epoch > 1) snapshots.push(paramsOf(trainer));
        },
      },
    ],
  });
  const result = await trainer.fit();
  assert.equal(snapshots.length, 3);
  const weights = Float32Array.from(
    model.trainableWeights.flatMap((w) => [...(w.read().dataSync() as Float32Array)]),
  );
  assertClose(weights, mean(snapshots), 1e-6);
  assert.ok(Number.isFinite(result.metrics['swa/eval/accuracy']));
  trainer.dispose();
  model.dispose();
});

test('averageWeights (functional twin) is the mean of its inputs', () => {
  const ops = createFlatOps('js');
  const xs = [
    [1, 2, 3],
    [4, 0, -3],
    [7, 1, 6],
  ].map((a) => Float32Array.from(a));
  assertClose(averageWeights(ops, xs), [4, 1, 2], 1e-6);
  ops.dispose();
});

test('EMA equals the closed form sum (1-d) d^(T-t) w_t + d^T w_0', async () => {
  const d = 0.7;
  const method = ema({ decay: d });
  const model = tinyMlp([8], 3);
  const w0 = Float32Array.from(
    model.trainableWeights.flatMap((w) => [...(w.read().dataSync() as Float32Array)]),
  );
  const ws: Float32Array[] = [];
  const trainer = new Trainer({
    model,
    trainData: tinyData(80, 5),
    maxDuration: '5ba',
    batchSize: 16,
    kernels: 'js',
    methods: [method],
    callbacks: [{ onBatchEnd: () => void ws.push(paramsOf(trainer)) }],
  });
  await trainer.fit();
  const T = ws.length;
  assert.equal(T, 5);
  const expected = Float64Array.from(w0, (v) => Math.pow(d, T) * v);
  ws.forEach((w, k) => {
    const t = k + 1;
    for (let i = 0; i < w.length; i++) expected[i] += (1 - d) * Math.pow(d, T - t) * w[i];
  });
  assertClose(method.average()!, expected, 1e-6);
  const ops = createFlatOps('js');
  assertClose(emaWeights(ops, w0, ws, d), expected, 1e-6);
  ops.dispose();
  trainer.dispose();
  model.dispose();
});

test('EMA half-life: decay = 0.5^(interval / halfLife)', async () => {
  const method = ema({ halfLife: '8ba', interval: '2ba' });
  const model = tinyMlp([4], 4);
  const trainer = new Trainer({
    model,
    trainData: tinyData(32, 6),
    maxDuration: '2ba',
    batchSize: 16,
    kernels: 'js',
    methods: [method],
  });
  await trainer.fit();
  assert.ok(Math.abs(method.decay! - Math.pow(0.5, 2 / 8)) < 1e-12);
  trainer.dispose();
  model.dispose();
  assert.throws(() => ema({ decay: 1 }), /decay = 1 .*\[0, 1\)/);
  assert.throws(() => ema({ decay: 0.9, halfLife: '1ep' }), /either decay or halfLife/);
});

test('FGE cyclic lr: hand values over one cycle, and one snapshot per cycle minimum', async () => {
  const s = fgeSchedule({ cycleSteps: 4, lr1: 1, lr2: 0 });
  // t = 1/4, 1/2, 3/4, 1: (1-2t) lr1; 0; (2t-1) lr1; lr1
  assert.deepEqual([0, 1, 2, 3, 4, 5].map(s), [0.5, 0, 0.5, 1, 0.5, 0]);
  const method = fge({ start: '2ba', cycle: '4ba', lr1: 0.02, lr2: 0.002 });
  const lrs: number[] = [];
  const model = tinyMlp([8], 5);
  const trainer = new Trainer({
    model,
    trainData: tinyData(160, 7),
    evalData: tinyEvalData(40),
    maxDuration: '10ba',
    evalInterval: '100ba',
    batchSize: 16,
    kernels: 'js',
    optimizer: { name: 'momentum', lr: 0.1 },
    methods: [method],
    callbacks: [{ onBatchEnd: (st) => void lrs.push(st.optimizer.hyper.lr) }],
  });
  const result = await trainer.fit();
  const expected = [0.1, 0.1, 0.011, 0.002, 0.011, 0.02, 0.011, 0.002, 0.011, 0.02];
  lrs.forEach((lr, i) => assert.ok(Math.abs(lr - expected[i]) < 1e-12, `step ${i}: ${lr}`));
  // Snapshots after steps 4 and 8, where the lr was lr2.
  assert.equal(method.members.length, 2);
  const ev = method.evaluation!;
  assert.equal(ev.ensemble.length, 2);
  assert.equal(result.metrics['fge/eval/accuracy'], ev.ensemble[1].accuracy);
  trainer.dispose();
  model.dispose();
});

test('ensembles average softmax outputs: hand-made probabilities, and identical members', () => {
  // Sample 0: p = [0.6, 0.4] (right: 0); sample 1: [0.3, 0.7] (right: 1); sample 2: [0.9, 0.1] (wrong).
  const probs = Float32Array.from([0.6, 0.4, 0.3, 0.7, 0.9, 0.1]);
  const m = probabilityMetrics(probs, Int32Array.from([0, 1, 1]), 2);
  assert.ok(Math.abs(m.accuracy - 2 / 3) < 1e-12);
  const nll = -(Math.log(0.6) + Math.log(0.7) + Math.log(0.1)) / 3;
  assert.ok(Math.abs(m.nll - nll) < 1e-6);
  const model = tinyMlp([8], 6);
  const ops = createFlatOps('js');
  const before = tf.memory().numTensors;
  // Through a ParamVector-free path: two copies of the same weights = the model alone.
  const trainer = new Trainer({
    model,
    trainData: tinyData(16, 1),
    maxDuration: '1ba',
    kernels: ops,
  });
  const w = paramsOf(trainer);
  const ev = evaluateEnsemble(model, trainer.state.pv, [w, w], tinyEvalData(50));
  assert.ok(Math.abs(ev.ensemble[1].accuracy - ev.members[0].accuracy) < 1e-12);
  assert.ok(Math.abs(ev.ensemble[1].nll - ev.members[0].nll) < 1e-5);
  trainer.dispose();
  assert.equal(tf.memory().numTensors, before);
  ops.dispose();
  model.dispose();
});
