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
import { tinyData, tinyEvalData, tinyMlp, useTfCpu } from '../train/helpers.js';
import { withWeights } from '../../src/averaging/evaluate.js';
import { evaluateSync, type Evaluation } from '../../src/train/evaluate.js';

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
      // The derivation below has no momentum (the defaults are the code's Nesterov 0.9).
      momentum: 0,
      nesterov: false,
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
  // Inner 2: x' -= eta (g2 + gamma (x' - x)); mu = x' (alpha 1); outer (the authors' code, no
  // gamma factor): x -= lr (x - mu).
  const xp2 = xp1.map((p, i) => p - eta * (g2[i] + gamma * (p - x[i])));
  const next = x.map((xi, i) => xi - lr * (xi - xp2[i]));
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
  // The defaults' Nesterov momentum on x keeps its buffer beside x and mu.
  assert.deepEqual(Object.keys(state.buffers).sort(), [
    'entropy_sgd/momentum',
    'entropy_sgd/mu',
    'entropy_sgd/x',
  ]);
  trainer.dispose();
  model.dispose();
});

test("entropy_sgd: an evaluation mid-cycle measures the outer weights x, not the Langevin x'; a run ending mid-cycle leaves x in the model", async () => {
  const model = tinyMlp([8], 3);
  const evalData = tinyEvalData(64);
  // Evaluated after step 4 of cycles of 3: one step into the second cycle (the model holds x').
  const seen: { x: Evaluation; xPrime: Evaluation }[] = [];
  let lastX: Float32Array | null = null;
  const trainerLosses: number[] = [];
  const trainer = new Trainer({
    model,
    trainData: tinyData(128, 1),
    evalData,
    evalInterval: '4ba',
    maxDuration: '5ba',
    batchSize: 32,
    kernels: 'js',
    optimizer: { name: 'entropy_sgd', langevinSteps: 3, langevinLr: 0.5, gamma: 0.03, lr: 1 },
    callbacks: [
      {
        onEvalStart: (s) => {
          const x = s.optimizer.evaluationWeights!()!;
          assert.ok(x, 'mid-cycle: the optimizer names its outer weights');
          seen.push({
            x: withWeights(s.model, s.pv, s.ops.download(x), () => evaluateSync(s.model, evalData)),
            xPrime: evaluateSync(s.model, evalData),
          });
        },
        onEvalEnd: (s) => void trainerLosses.push(s.metrics['eval/loss']),
        onBatchEnd: (s) => {
          const x = s.optimizer.evaluationWeights?.();
          lastX = x ? s.ops.download(x) : null;
        },
      },
    ],
  });
  const result = await trainer.fit();
  // Step 4's evaluation, then the run's end at step 5 (also mid-cycle: 5 = 3 + 2).
  assert.equal(seen.length, 2);
  const atStep4 = seen[0];
  assert.notEqual(atStep4.x.loss, atStep4.xPrime.loss, "x and x' differ mid-cycle");
  assert.deepEqual(trainerLosses, [atStep4.x.loss, seen[1].x.loss]);
  // The Trainer's own evaluation at step 5 is of x, and x is what the model holds after it.
  assert.equal(result.eval!.loss, seen[1].x.loss);
  assert.ok(lastX !== null);
  assert.deepEqual(trainer.ops.download(trainer.state.pv.params), lastX);
  trainer.dispose();
  model.dispose();
});

test('replicated_sgd: one round of 2 replicas by hand (no momentum, no perturbation)', () => {
  const ops = createFlatOps('js');
  const v = tf.variable(tf.tensor1d([1, -2]), true, 'w');
  const pv = ParamVector.fromVariables([v], ops);
  const [lr, gamma] = [0.5, 0.2];
  const opt = createOptimizer(
    { name: 'replicated_sgd', lr, gamma, replicas: 2, momentum: 0, initSigma: 0, scoping: 0 },
    pv,
  );
  // Both replicas start at x = (1, -2); the centre c is x. Step 0: replica 0 takes
  // x0 -= lr (g + gamma (x0 - c)) = x - lr g (x0 = c); the model moves to replica 1 (still x).
  const x = [1, -2];
  const g1 = [0.4, 1];
  const x0 = x.map((xi, i) => xi - lr * g1[i]);
  pv.setGrads([tf.tensor1d(g1)]);
  opt.step(pv);
  assert.deepEqual([...ops.download(pv.params)], x);
  // Step 1: replica 1 with the round's centre (still x): x1 = x - lr g2; then c = (x0 + x1) / 2.
  const g2 = [-1, 0.5];
  const x1 = x.map((xi, i) => xi - lr * g2[i]);
  pv.setGrads([tf.tensor1d(g2)]);
  opt.step(pv);
  const near = (a: ArrayLike<number>, b: number[]) =>
    b.forEach((e, i) => assert.ok(Math.abs(a[i] - e) < 1e-6, `${a[i]} vs ${e}`));
  near(ops.download(pv.params), x0); // round 2 starts at replica 0
  const c = x0.map((p, i) => (p + x1[i]) / 2);
  near(ops.download(opt.evaluationWeights!()!), c);
  // Step 2: replica 0 again, coupled to c: x0' = x0 - lr (g3 + gamma (x0 - c)).
  const g3 = [0.3, -0.2];
  const x0b = x0.map((p, i) => p - lr * (g3[i] + gamma * (p - c[i])));
  pv.setGrads([tf.tensor1d(g3)]);
  opt.step(pv);
  near(ops.download(pv.params), x1); // the model moved on to replica 1
  near(opt.stateDict().buffers['replicated_sgd/replica-0'], x0b);
  opt.dispose();
  pv.dispose();
  v.dispose();
  ops.dispose();
});

test('replicated_sgd caps the coupling at 1 / lr: a replica far from the centre steps onto c - lr g', () => {
  const ops = createFlatOps('js');
  const v = tf.variable(tf.tensor1d([1, -2]), true, 'w');
  const pv = ParamVector.fromVariables([v], ops);
  // gamma 10 at lr 0.5 would be lr gamma = 5 (past the centre and out: |1 - 5| > 1); capped at
  // gamma = 1 / lr = 2, the coupling term moves the replica exactly onto the centre.
  const lr = 0.5;
  const opt = createOptimizer(
    { name: 'replicated_sgd', lr, gamma: 10, replicas: 2, momentum: 0, initSigma: 0, scoping: 0 },
    pv,
  );
  const x = [1, -2];
  const [g1, g2, g3] = [
    [0.4, 1],
    [-1, 0.5],
    [0.3, -0.2],
  ];
  pv.setGrads([tf.tensor1d(g1)]);
  opt.step(pv);
  pv.setGrads([tf.tensor1d(g2)]);
  opt.step(pv);
  // Round 1 had x0 = c = x: x0 = x - lr g1, x1 = x - lr g2, c = their mean.
  const c = x.map((xi, i) => xi - (lr * (g1[i] + g2[i])) / 2);
  pv.setGrads([tf.tensor1d(g3)]);
  opt.step(pv);
  // x0' = x0 - lr (g3 + (1 / lr)(x0 - c)) = c - lr g3.
  const expected = c.map((ci, i) => ci - lr * g3[i]);
  const x0b = opt.stateDict().buffers['replicated_sgd/replica-0'];
  expected.forEach((e, i) => assert.ok(Math.abs(x0b[i] - e) < 1e-6, `${x0b[i]} vs ${e}`));
  opt.dispose();
  pv.dispose();
  v.dispose();
  ops.dispose();
});

test('replicated_sgd is registered, trains a model, and the run ends on the centre', async () => {
  assert.ok(optimizerNames().includes('replicated_sgd'));
  assert.throws(
    () => createOptimizer({ name: 'replicated_sgd', replicas: 1 }, {} as ParamVector),
    /replicas is 1, expected an integer >= 2/,
  );
  const model = tinyMlp([8], 2);
  const losses: number[] = [];
  const trainer = new Trainer({
    model,
    trainData: tinyData(128, 1),
    maxDuration: '61ba',
    batchSize: 32,
    kernels: 'js',
    optimizer: { name: 'replicated_sgd', lr: 0.1, replicas: 3, gamma: 0.01 },
    callbacks: [{ onBatchEnd: (s) => void losses.push(s.lossValue) }],
  });
  await trainer.fit();
  const first = losses.slice(0, 6).reduce((a, b) => a + b) / 6;
  const last = losses.slice(-6).reduce((a, b) => a + b) / 6;
  assert.ok(last < first, `${first} -> ${last}`);
  // 61 steps end inside a round: the model holds the centre, not a replica.
  const s = trainer.state;
  assert.deepEqual(s.ops.download(s.pv.params), s.ops.download(s.optimizer.evaluationWeights!()!));
  trainer.dispose();
  model.dispose();
});
