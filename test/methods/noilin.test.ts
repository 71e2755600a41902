import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { UsageError } from '../../src/errors.js';
import {
  advanceNoiseRate,
  initialNoiseRate,
  injectNoisyLabels,
  noilin,
} from '../../src/methods/noilin/index.js';
import { Event } from '../../src/train/events.js';
import type { Method } from '../../src/train/method.js';
import { Trainer } from '../../src/train/index.js';
import { tinyData, tinyEvalData, tinyMlp, useTfCpu } from '../train/helpers.js';

before(useTfCpu);

test('injectNoisyLabels flips exactly round(p n) labels, never to the true class', () => {
  const labels = Int32Array.from({ length: 101 }, (_, i) => i % 10);
  for (const p of [0, 0.05, 0.2, 0.37, 1]) {
    const { labels: noisy } = injectNoisyLabels(labels, 10, p, 3, 2);
    let changed = 0;
    for (let i = 0; i < labels.length; i++) if (noisy[i] !== labels[i]) changed++;
    assert.equal(changed, Math.round(p * 101), `p = ${p}`);
    assert.ok(noisy.every((l) => l >= 0 && l < 10));
  }
  // Another epoch draws other samples.
  const a = injectNoisyLabels(labels, 10, 0.3, 3, 0).flipped;
  const b = injectNoisyLabels(labels, 10, 0.3, 3, 1).flipped;
  assert.notDeepEqual(a, b);
});

test('the rate rises by (1 + gamma) exactly when a value is below the one tau evaluations ago', () => {
  const rule = { gamma: 0.5, pMax: 0.3, tau: 2 };
  // Worked out by hand: window [0, 0] (the paper's start), each value replaces the one two
  // evaluations ago; p rises when it is smaller.
  //   0.5 (vs 0)    -> 0.1;  0.6 (vs 0)   -> 0.1;  0.55 (vs 0.5) -> 0.1;
  //   0.4 (vs 0.6)  -> 0.15; 0.7 (vs 0.55) -> 0.15; 0.3 (vs 0.4) -> 0.225;
  //   0.2 (vs 0.7)  -> 0.3 (0.3375 capped at pMax); 0.1 (vs 0.3) -> 0.3.
  const values = [0.5, 0.6, 0.55, 0.4, 0.7, 0.3, 0.2, 0.1];
  const expected = [0.1, 0.1, 0.1, 0.15, 0.15, 0.225, 0.3, 0.3];
  let s = initialNoiseRate(0.1, 2);
  values.forEach((v, i) => {
    s = advanceNoiseRate(s, v, rule);
    assert.ok(Math.abs(s.p - expected[i]) < 1e-12, `after ${v}: ${s.p} vs ${expected[i]}`);
  });
  // While capped, p stays at or under pMax / 2.
  const capped = advanceNoiseRate({ p: 0.14, window: [0.9, 0.9], count: 0 }, 0.1, rule, true);
  assert.equal(capped.p, 0.15);
});

test('out-of-range rates are UsageErrors naming them', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ pInit: -0.1 }, /noilin: pInit = -0.1 is not valid: expected a number in \[0, 1\]/],
    [{ pMax: 1.5 }, /noilin: pMax = 1.5 is not valid/],
    [{ pInit: 0.5, pMax: 0.4 }, /pInit = 0.5 .*pMax/],
    [{ tau: 0 }, /tau = 0/],
    [{ gamma: -1 }, /gamma = -1/],
  ];
  for (const [opts, message] of cases) {
    assert.throws(
      () => noilin(opts),
      (e: unknown) => e instanceof UsageError && message.test(e.message),
      JSON.stringify(opts),
    );
  }
});

test('in training: round(p n) labels per epoch differ from the data set, p follows the schedule', async () => {
  const trainData = tinyData(50, 4);
  const epochs: Map<number, Map<number, number>> = new Map();
  // Runs after noilin at BATCH_START: records the labels each sample was trained with.
  const spy: Method = {
    name: 'label-spy',
    match: (e) => e === Event.BATCH_START,
    apply: (_e, s) => {
      const seen = epochs.get(s.timestamp.epoch) ?? new Map<number, number>();
      const onehot = s.batch!.y.arraySync() as number[][];
      s.batch!.data.indices.forEach((index, r) => {
        const label = onehot[r].indexOf(1);
        assert.equal(label, s.batch!.data.labels[r]);
        seen.set(index, label);
      });
      epochs.set(s.timestamp.epoch, seen);
    },
  };
  const accuracies: number[] = [];
  const ps: number[] = [];
  const method = noilin({ pInit: 0.1, pMax: 0.8, gamma: 1, tau: 1, capUntil: '0dur' });
  const model = tinyMlp([8], 2);
  const trainer = new Trainer({
    model,
    trainData,
    evalData: tinyEvalData(40),
    maxDuration: '5ep',
    batchSize: 16,
    seed: 6,
    kernels: 'js',
    optimizer: { name: 'adamw', lr: 0.05 },
    methods: [method, spy],
    callbacks: [
      { onEpochEnd: (s) => void ps.push(s.metrics['noilin/p']) },
      { onEvalEnd: (s) => void accuracies.push(s.metrics['eval/accuracy']) },
    ],
  });
  await trainer.fit();
  // The schedule replayed by hand (tau = 1: p doubles when accuracy falls, capped at 0.8).
  let p = 0.1;
  let previous = 0;
  const expected = [p];
  for (const a of accuracies.slice(0, -1)) {
    if (a < previous) p = Math.min(0.8, 2 * p);
    previous = a;
    expected.push(p);
  }
  assert.deepEqual(ps, expected);
  assert.ok(new Set(ps).size > 1, `the rate never moved: ${ps}`);
  for (const [epoch, seen] of epochs) {
    assert.equal(seen.size, 50);
    let changed = 0;
    for (const [index, label] of seen) if (label !== trainData.labels[index]) changed++;
    assert.equal(changed, Math.round(ps[epoch] * 50), `epoch ${epoch}`);
  }
  trainer.dispose();
  model.dispose();
});
