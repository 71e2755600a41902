/**
 * The Trainer's step: the same losses and weights as tfjs's own Adam on the same batches, a
 * plain-SGD step derived with tf.grads, schedules as multipliers of the base hyper-parameters
 * at every step, intervals, fit() in pieces, no tensor left behind over 200 steps, bad options.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { DataLoader } from '../../src/data/index.js';
import { createOptimizer, type Optimizer } from '../../src/optim/index.js';
import { batchTensors, crossEntropy } from '../../src/train/loss.js';
import type { Callback } from '../../src/train/method.js';
import { Trainer } from '../../src/train/trainer.js';
import { modelWeights, tinyData, tinyEvalData, tinyMlp, useTfCpu } from './helpers.js';

before(useTfCpu);

function lossRecorder(): { losses: number[]; callback: Callback } {
  const losses: number[] = [];
  return { losses, callback: { onBatchEnd: (s) => void losses.push(s.lossValue) } };
}

test('losses and weights follow tfjs Adam on the same batches (PyTorch Adam = tfjs Adam)', async () => {
  const data = tinyData(100);
  const model = tinyMlp();
  const { losses, callback } = lossRecorder();
  const trainer = new Trainer({
    model,
    trainData: data,
    maxDuration: '6ba',
    batchSize: 20,
    seed: 5,
    kernels: 'js',
    optimizer: { name: 'adam', lr: 1e-2 },
    callbacks: [callback],
  });
  await trainer.fit();

  const reference = tinyMlp();
  const variables = reference.trainableWeights.map((w) => w.read() as tf.Variable);
  const adam = tf.train.adam(1e-2, 0.9, 0.999, 1e-8);
  const expected: number[] = [];
  const loader = new DataLoader(data, { batchSize: 20, seed: 5 });
  for (const batch of [...loader.batches(0), ...loader.batches(1)].slice(0, 6)) {
    const { x, y } = batchTensors(batch, 4);
    const loss = adam.minimize(
      () => crossEntropy(y, reference.apply(x, { training: true }) as tf.Tensor),
      true,
      variables,
    )!;
    expected.push(loss.dataSync()[0]);
    tf.dispose([x, y, loss]);
  }
  adam.dispose();
  // Same initial weights and first batch: the first loss is the same computation.
  assert.equal(losses[0], expected[0]);
  losses.forEach((l, i) =>
    assert.ok(Math.abs(l - expected[i]) < 1e-5, `step ${i}: ${l} vs ${expected[i]}`),
  );
  const [ours, theirs] = [modelWeights(model), modelWeights(reference)];
  ours.forEach((w, i) =>
    assert.ok(Math.abs(w - theirs[i]) < 1e-5, `weight ${i}: ${w} vs ${theirs[i]}`),
  );
  trainer.dispose();
});

test('a plain { variables, forward } model takes the SGD step p - lr * tf.grads(loss)(p)', async () => {
  const w = tf.variable(tf.randomNormal([64, 4], 0, 0.1, 'float32', 3), true, 'plain_sgd/w');
  const b = tf.variable(tf.zeros([4]), true, 'plain_sgd/bias');
  const model = {
    variables: [w, b],
    forward: (x: tf.Tensor) => tf.add(tf.matMul(tf.reshape(x, [-1, 64]), w), b),
  };
  const data = tinyData(20);
  const [batch] = new DataLoader(data, { batchSize: 20, seed: 0 }).batches(0);
  const { x, y } = batchTensors(batch, 4);
  const expected = tf.tidy(() => {
    const [gw, gb] = tf.grads((wv: tf.Tensor, bv: tf.Tensor) =>
      crossEntropy(y, tf.add(tf.matMul(tf.reshape(x, [-1, 64]), wv), bv)),
    )([w, b]);
    return [...tf.sub(w, tf.mul(gw, 0.1)).dataSync(), ...tf.sub(b, tf.mul(gb, 0.1)).dataSync()];
  });
  tf.dispose([x, y]);
  const trainer = new Trainer({
    model,
    trainData: data,
    maxDuration: '1ba',
    batchSize: 20,
    kernels: 'js',
    optimizer: { name: 'momentum', lr: 0.1, momentum: 0 },
  });
  assert.deepEqual(
    trainer.state.pv.segments.map((s) => [s.name, s.kind]),
    [
      ['plain_sgd/w', 'kernel'],
      ['plain_sgd/bias', 'bias'],
    ],
  );
  await trainer.fit();
  const got = [...w.dataSync(), ...b.dataSync()];
  got.forEach((v, i) =>
    assert.ok(Math.abs(v - expected[i]) <= 1e-6, `param ${i}: ${v} vs ${expected[i]}`),
  );
  trainer.dispose();
  tf.dispose([w, b]);
});

test('schedules multiply the base hyper-parameters at every step; onecycle sets momentum itself', async () => {
  const seen: { lr: number; weightDecay: number; beta1: number }[] = [];
  const spy = (pv: Parameters<typeof createOptimizer>[1]): Optimizer => {
    const inner = createOptimizer('adamw', pv);
    const step = inner.step.bind(inner);
    inner.step = (p) => {
      const h = inner.hyper;
      seen.push({ lr: h.lr, weightDecay: h.weightDecay, beta1: h.beta1! });
      step(p);
    };
    return inner;
  };
  const trainer = new Trainer({
    model: tinyMlp(),
    trainData: tinyData(100),
    maxDuration: '2ep', // 10 steps of 20
    batchSize: 20,
    kernels: 'js',
    optimizer: spy,
    schedules: {
      lr: { name: 'cosine' },
      weightDecay: (t) => 1 / (1 + t),
      momentum: (t) => (t % 2 === 0 ? 1 : 0.5),
    },
  });
  assert.deepEqual(trainer.baseHyper, {
    lr: 1e-3,
    beta1: 0.9,
    beta2: 0.999,
    eps: 1e-8,
    weightDecay: 1e-2,
  });
  await trainer.fit();
  assert.equal(seen.length, 10);
  seen.forEach((h, t) => {
    const cosine = (1 + Math.cos((Math.PI * t) / 10)) / 2; // cosine over the whole run, min 0
    assert.ok(Math.abs(h.lr - 1e-3 * cosine) < 1e-15, `lr at ${t}: ${h.lr}`);
    assert.ok(Math.abs(h.weightDecay - 1e-2 / (1 + t)) < 1e-15, `weightDecay at ${t}`);
    assert.equal(h.beta1, t % 2 === 0 ? 0.9 : 0.45);
  });
  trainer.dispose();

  const betas: number[] = [];
  const onecycle = new Trainer({
    model: tinyMlp(),
    trainData: tinyData(100),
    maxDuration: '2ep',
    batchSize: 20,
    kernels: 'js',
    schedules: { lr: { name: 'onecycle' } },
    callbacks: [
      { onEvent: (e, s) => void (e === 'before_step' && betas.push(s.optimizer.hyper.beta1!)) },
    ],
  });
  await onecycle.fit();
  // PyTorch OneCycleLR: momentum starts at maxMomentum 0.95 and reaches baseMomentum 0.85 at
  // the lr peak, step pctStart * total - 1 = 0.3 * 10 - 1 = 2; back to 0.95 at the end.
  assert.equal(betas[0], 0.95);
  assert.ok(Math.abs(betas[2] - 0.85) < 1e-12, `${betas[2]}`);
  assert.ok(Math.abs(betas[9] - 0.95) < 1e-12, `${betas[9]}`);
  onecycle.dispose();
});

test('evaluation runs at its interval and at the end; fit() in pieces equals one fit()', async () => {
  const evalSteps: number[] = [];
  const make = (callbacks: Callback[]) =>
    new Trainer({
      model: tinyMlp(),
      trainData: tinyData(100),
      evalData: tinyEvalData(40),
      maxDuration: '23ba',
      evalInterval: '10ba',
      batchSize: 20,
      kernels: 'js',
      callbacks,
    });
  const whole = lossRecorder();
  const one = make([whole.callback, { onEvalEnd: (s) => void evalSteps.push(s.timestamp.step) }]);
  const result = await one.fit();
  assert.deepEqual(evalSteps, [10, 20, 23]);
  assert.equal(result.timestamp.step, 23);
  assert.equal(result.timestamp.epoch, 4);
  assert.equal(result.timestamp.batchInEpoch, 3);
  assert.equal(result.timestamp.samples, 23 * 20);
  assert.equal(result.eval!.count, 40);
  assert.equal(result.metrics['eval/accuracy'], result.eval!.accuracy);
  assert.ok(result.runComplete);
  one.dispose();

  const pieces = lossRecorder();
  const two = make([pieces.callback]);
  const first = await two.fit({ duration: '7ba' });
  assert.equal(first.timestamp.step, 7);
  assert.equal(first.runComplete, false);
  await two.fit({ duration: '1ep' });
  await two.fit();
  assert.deepEqual(pieces.losses, whole.losses);
  two.dispose();
});

test('no tensor is left behind over 200 steps with evaluations', async () => {
  const counts: number[] = [];
  const model = tinyMlp();
  const trainer = new Trainer({
    model,
    trainData: tinyData(400),
    evalData: tinyEvalData(50),
    maxDuration: '200ba',
    evalInterval: '50ba',
    batchSize: 20,
    kernels: 'js',
    callbacks: [
      {
        // Each step's loss and hits count stay unread (one tensor each) until something reads
        // them: here nothing does before the epoch ends (20 steps).
        onBatchEnd: (s) => void counts.push(tf.memory().numTensors - 2 * s.timestamp.batchInEpoch),
      },
    ],
  });
  const before = tf.memory().numTensors;
  await trainer.fit();
  assert.equal(counts.length, 200);
  // At BATCH_END the batch's x, y, outputs and loss are alive, and beyond the unread steps'
  // numbers nothing else is new.
  assert.ok(
    counts.every((c) => c === before + 4),
    `tensors at each batch end: ${[...new Set(counts)]}, before the run ${before}`,
  );
  assert.equal(tf.memory().numTensors, before);
  trainer.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test('bad options are refused with errors that name them', () => {
  const base = { model: tinyMlp(), trainData: tinyData(100), kernels: 'js' as const };
  const code =
    (c: string, ...words: string[]) =>
    (e: Error & { code?: string }) =>
      e.code === c && words.every((w) => e.message.includes(w));
  assert.throws(
    () => new Trainer({ ...base, maxDuration: '0.5dur' }),
    code('ANNEAL_DURATION_UNITS', '0.5dur'),
  );
  assert.throws(
    () => new Trainer({ ...base } as unknown as ConstructorParameters<typeof Trainer>[0]),
    code('ANNEAL_BAD_OPTION', 'maxDuration'),
  );
  assert.throws(
    () => new Trainer({ ...base, maxDuration: '1ep', evalInterval: '0ba' }),
    code('ANNEAL_BAD_OPTION', '0ba'),
  );
  assert.throws(
    () => new Trainer({ ...base, maxDuration: '1ep', optimizer: 'adamz' }),
    code('ANNEAL_UNKNOWN_OPTIMIZER', 'adamz'),
  );
  assert.throws(
    () => new Trainer({ ...base, maxDuration: '1ep', schedules: { lr: { name: 'cosinus' } } }),
    code('ANNEAL_UNKNOWN_SCHEDULE', 'cosinus'),
  );
});
