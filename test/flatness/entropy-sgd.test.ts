/**
 * Entropy-SGD against updates worked out by hand on fixed gradients (no noise), and as a
 * registered optimizer that trains.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { ParamVector } from '../../src/engine/param-vector.js';
import { createFlatOps } from '../../src/kernels/index.js';
import { createOptimizer, optimizerNames } from '../../src/optim/index.js';
import { Trainer } from '../../src/train/index.js';
import { tinyData, tinyMlp, useTfCpu } from '../train/helpers.js';

before(useTfCpu);

test('entropy_sgd: L = 2 inner steps and the outer step, by hand', () => {
  const ops = createFlatOps('js');
  const v = tf.variable(tf.tensor1d([1, -2]), true, 'w');
  const pv = ParamVector.fromVariables([v], ops);
  const [eta, gamma, lr] = [0.1, 0.5, 2];
  const opt = createOptimizer(
    {
      name: 'entropy_sgd',
      lr,
      gamma,
      langevinLr: eta,
      langevinSteps: 2,
      noise: 0,
      langevinAlpha: 1,
      scoping: 0,
    },
    pv,
  );
  const x = [1, -2];
  const g1 = [0.4, 1];
  const g2 = [-1, 0.5];
  // Inner 1: x' = x - eta (g1 + gamma (x - x)) = x - eta g1.
  const xp1 = x.map((xi, i) => xi - eta * g1[i]);
  pv.setGrads([tf.tensor1d(g1)]);
  opt.step(pv);
  assert.deepEqual(
    [...ops.download(pv.params)].map((p) => +p.toFixed(6)),
    xp1.map((p) => +p.toFixed(6)),
  );
  // Inner 2: x' -= eta (g2 + gamma (x' - x)); mu = x' (alpha 1); outer: x -= lr gamma (x - mu).
  const xp2 = xp1.map((p, i) => p - eta * (g2[i] + gamma * (p - x[i])));
  const next = x.map((xi, i) => xi - lr * gamma * (xi - xp2[i]));
  pv.setGrads([tf.tensor1d(g2)]);
  opt.step(pv);
  const got = ops.download(pv.params);
  next.forEach((e, i) => assert.ok(Math.abs(got[i] - e) < 1e-6, `${got[i]} vs ${e}`));
  assert.equal(opt.stepCount, 2);
  opt.dispose();
  pv.dispose();
  v.dispose();
  ops.dispose();
});

test('entropy_sgd is registered and trains a model (loss goes down, state resumes)', async () => {
  assert.ok(optimizerNames().includes('entropy_sgd'));
  const model = tinyMlp([8], 2);
  const losses: number[] = [];
  const trainer = new Trainer({
    model,
    trainData: tinyData(128, 1),
    maxDuration: '40ba',
    batchSize: 32,
    kernels: 'js',
    optimizer: { name: 'entropy_sgd', langevinSteps: 5, langevinLr: 0.1, gamma: 0.03, lr: 1 },
    callbacks: [{ onBatchEnd: (s) => void losses.push(s.lossValue) }],
  });
  await trainer.fit();
  const first = losses.slice(0, 5).reduce((a, b) => a + b) / 5;
  const last = losses.slice(-5).reduce((a, b) => a + b) / 5;
  assert.ok(last < first, `${first} -> ${last}`);
  const state = trainer.state.optimizer.stateDict();
  assert.deepEqual(Object.keys(state.buffers).sort(), ['entropy_sgd/mu', 'entropy_sgd/x']);
  trainer.dispose();
  model.dispose();
});
