/** The methods-II renderer on a hand-made result: three sections, numbers as mean ± sd in %. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderers, type MethodsIiResult } from '../../bench/tables/methods-ii.js';
import { PROVENANCE } from './helpers.js';

const epoch = (e: number, valRobust: number, testRobust: number) => ({
  epoch: e,
  trainRobust: valRobust + 0.1,
  valRobust,
  testRobust,
  testClean: 0.9,
  gap: 0.1,
});

const result: MethodsIiResult = {
  name: 'methods-ii',
  ...PROVENANCE,
  config: {
    model: { name: 'mlp', hidden: [8, 4] },
    batchSize: 32,
    optimizer: { name: 'adamw', lr: 0.001 },
    seeds: [0, 1],
    adversarial: {
      trainSamples: 100,
      valSamples: 50,
      testSamples: 50,
      epochs: 2,
      trainAttack: { epsilon: 0.1, norm: 'linf', steps: 3 },
      evalAttack: { epsilon: 0.1, norm: 'linf', steps: 5 },
      patience: 1,
    },
    noise: { trainSamples: 100, valSamples: 20, testSamples: 40, epochs: 3 },
  },
  engine: { backend: 'wasm', kernels: 'wasm' },
  minutes: { adversarial: 1.25, noise: 2.5, total: 3.75, cpu: 3.5 },
  adversarial: [
    {
      seed: 0,
      epochs: [epoch(1, 0.5, 0.4), epoch(2, 0.4, 0.3)],
      lastTestRobust: 0.3,
      restoredTestRobust: 0.4,
      bestEpoch: 1,
      patienceStopEpoch: 2,
      seconds: 60,
    },
    {
      seed: 1,
      epochs: [epoch(1, 0.3, 0.2), epoch(2, 0.6, 0.5)],
      lastTestRobust: 0.5,
      restoredTestRobust: 0.5,
      bestEpoch: 2,
      patienceStopEpoch: null,
      seconds: 60,
    },
  ],
  noise: [
    { method: 'baseline', rate: 0, runs: [{ seed: 0, finalTest: 0.9, bestTest: 0.92 }] },
    {
      method: 'baseline',
      rate: 0.4,
      runs: [
        { seed: 0, finalTest: 0.6, bestTest: 0.8 },
        { seed: 1, finalTest: 0.7, bestTest: 0.8 },
      ],
    },
    { method: 'alasca', rate: 0.4, runs: [{ seed: 0, finalTest: 0.75, bestTest: 0.85 }] },
    { method: 'reinit last layer', rate: 0, runs: [{ seed: 0, finalTest: 0.88, bestTest: 0.9 }] },
  ],
};

test('the methods-ii result renders its adversarial, noise and reinit sections', () => {
  const sections = renderers['methods-ii'](result) as Record<string, string>;
  assert.deepEqual(Object.keys(sections).sort(), [
    'methods-ii-adversarial',
    'methods-ii-noise',
    'methods-ii-reinit',
  ]);
  const adv = sections['methods-ii-adversarial'];
  // Epoch 2: val robust (40 + 60) / 2 = 50.0 with sd 14.1; test robust (30, 50): 40.0 ± 14.1.
  assert.match(
    adv,
    /\| 2 \| 60\.0 ± 14\.1 \| 50\.0 ± 14\.1 \| 40\.0 ± 14\.1 \| 90\.0 ± 0\.0 \| 10\.0 ± 0\.0 \|/,
  );
  assert.match(adv, /\| no early stopping \(last epoch\) \| 40\.0 ± 14\.1 \| 2 \|/);
  assert.match(
    adv,
    /\| early stopping, best-robust weights restored \| 45\.0 ± 7\.1 \| best at 1, 2 \|/,
  );
  assert.match(adv, /\| patience 1 would have stopped at \| \(same weights\) \| 2, never \|/);
  assert.match(
    adv,
    /Full run: 3\.8 min wall clock .*, 3\.5 min of CPU; tfjs wasm, wasm kernels, seeds 0, 1\./,
  );
  assert.match(adv, /Generated from bench\/results\/methods-ii\.json/);

  const noise = sections['methods-ii-noise'];
  assert.match(
    noise,
    /\| method \| 0% noise: final \| 0%: best epoch \| 40% noise: final \| 40%: best epoch \|/,
  );
  assert.match(noise, /\| baseline \| 90\.0 \| 92\.0 \| 65\.0 ± 7\.1 \| 80\.0 ± 0\.0 \|/);
  assert.match(noise, /\| alasca \| – \| – \| 75\.0 \| 85\.0 \|/);
  assert.doesNotMatch(noise, /reinit/);
  const reinit = sections['methods-ii-reinit'];
  assert.match(reinit, /\| reinit last layer \| 88\.0 \| 90\.0 \| – \| – \|/);
  assert.doesNotMatch(reinit, /alasca/);
});
