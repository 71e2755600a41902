/** The averaging and flatness results tables from hand-made result objects. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  renderers,
  type AveragingResult,
  type FlatnessResult,
} from '../../bench/tables/averaging.js';
import { PROVENANCE } from './helpers.js';

const shared = {
  ...PROVENANCE,
  config: {
    trainSamples: 2000,
    heldOutSamples: 1000,
    testSamples: 2000,
    flatnessSamples: 1000,
    model: { name: 'mlp', hidden: [128] },
    seeds: [0, 1],
    swa: {
      lr: 0.05,
      settings: [
        { epochs: 12, start: '6ep', interval: '1ep', swaLr: 0.02 },
        { epochs: 4, start: '2ep', interval: '8ba', swaLr: 0.05 },
      ],
    },
    fge: { warmEpochs: 6, cycleEpochs: 2, cycles: 2, lr1: 0.05, lr2: 0.0005 },
    soups: { pretrainEpochs: 4, fineTuneEpochs: 3, fineTunes: [{}, {}] },
    correlation: { epochs: 6, grid: [{}, {}, {}], seeds: [0] },
  },
  engine: { backend: 'wasm', kernels: 'wasm' },
  totalMinutes: 9.04,
};

test('the averaging tables: SWA, FGE by members, soups; mean ± sd over seeds and provenance', () => {
  const result: AveragingResult = {
    ...shared,
    name: 'averaging',
    swa: {
      runs: [
        {
          setting: 0,
          seed: 0,
          sgdFinal: 0.9,
          swa: 0.92,
          sgdCosine: 0.91,
          sgdTrain: 1,
          relativeDistance: 0.01,
        },
        {
          setting: 0,
          seed: 1,
          sgdFinal: 0.92,
          swa: 0.94,
          sgdCosine: 0.91,
          sgdTrain: 1,
          relativeDistance: 0.03,
        },
        {
          setting: 1,
          seed: 0,
          sgdFinal: 0.8,
          swa: 0.8,
          sgdCosine: 0.8,
          sgdTrain: 0.9,
          relativeDistance: 0.1,
        },
      ],
    },
    fge: {
      runs: [
        { seed: 0, members: [0.9, 0.91], ensemble: [0.9, 0.93], finalIterate: 0.89 },
        { seed: 1, members: [0.9, 0.89], ensemble: [0.9, 0.91], finalIterate: 0.91 },
      ],
    },
    soups: {
      runs: [0, 1].map((seed) => ({
        seed,
        fineTunes: [
          { lr: 0.01, weightDecay: 0, test: 0.9, heldOut: 0.8 },
          { lr: 0.05, weightDecay: 0, test: 0.85, heldOut: 0.9 },
        ],
        bestSingle: { index: 1, test: 0.85 },
        uniform: { test: 0.88, heldOut: 0.86 },
        greedy: { test: 0.87, heldOut: 0.9, members: seed === 0 ? [1] : [1, 0] },
      })),
    },
  };
  const md = renderers.averaging(result);
  // Setting 0: SGD 90, 92 -> 91.00 ± 1.41; SWA 92, 94 -> 93.00 ± 1.41; cosine 91, 91; train
  // 100, 100; distance 0.01, 0.03 -> 0.0200 ± 0.0141. Setting 1: one seed, plain values.
  assert.match(
    md,
    /\| 12 ep; from 6ep, SWA lr 0\.02, snapshot every 1ep \| 91\.00 ± 1\.41 \| 93\.00 ± 1\.41 \| 91\.00 ± 0\.00 \| 100\.00 ± 0\.00 \| 0\.0200 ± 0\.0141 \|/,
  );
  assert.match(
    md,
    /\| 4 ep; from 2ep, SWA lr 0\.05, snapshot every 8ba \| 80\.00 \| 80\.00 \| 80\.00 \| 90\.00 \| 0\.1000 \|/,
  );
  // FGE: 2 members -> 93, 91 = 92.00 ± 1.41; member 2 alone 91, 89 -> 90.00 ± 1.41.
  assert.match(md, /\| 2 \| 92\.00 ± 1\.41 \| 90\.00 ± 1\.41 \|/);
  assert.match(md, /\| 1 \| 90\.00 ± 0\.00 \| 90\.00 ± 0\.00 \|/);
  // Soups: best single 85 (held-out 90), uniform 88 / 86, greedy 87 / 90 with 1 and 2 members.
  assert.match(
    md,
    /best single fine-tuned model \(by held-out accuracy\) \| 85\.00 ± 0\.00 \| 90\.00 ± 0\.00 \|/,
  );
  assert.match(md, /uniform soup \(all 2\) \| 88\.00 ± 0\.00 \| 86\.00 ± 0\.00 \|/);
  assert.match(md, /greedy soup \(1, 2 members\) \| 87\.00 ± 0\.00 \| 90\.00 ± 0\.00 \|/);
  assert.match(md, /9\.0 min for the whole bench/);
  assert.match(md, /Generated from bench\/results\/averaging\.json/);
});

test('the flatness tables: SWA vs SGD sharpness, Kendall taus', () => {
  const result: FlatnessResult = {
    ...shared,
    name: 'flatness',
    sharpness: [
      {
        setting: 0,
        seed: 0,
        sgd: { 'hessian-top': 10, sharpness: 2 },
        swa: { 'hessian-top': 6, sharpness: 1 },
      },
      {
        setting: 0,
        seed: 1,
        sgd: { 'hessian-top': 12, sharpness: 2 },
        swa: { 'hessian-top': 8, sharpness: 1 },
      },
      {
        setting: 1,
        seed: 0,
        sgd: { 'hessian-top': 0.00123, sharpness: 3 },
        swa: { 'hessian-top': 0.5, sharpness: 4 },
      },
    ],
    correlation: {
      models: [{ testAccuracy: 0.9 }, { testAccuracy: 0.8 }, { testAccuracy: 0.85 }],
      taus: [
        { measure: 'sharpness', models: 3, tauTestAccuracy: -0.333333, tauGap: 0.5 },
        { measure: 'hessian-top', models: 3, tauTestAccuracy: 1, tauGap: -1 },
      ],
    },
  };
  const md = renderers.flatness(result);
  // 3 significant digits: 10, 12 -> 11.0 ± 1.4; the second setting has one run.
  assert.match(
    md,
    /\| measure \(larger = sharper\) \| SGD, 12 ep \| SWA, 12 ep \| SGD, 4 ep \| SWA, 4 ep \|/,
  );
  assert.match(md, /\| hessian-top \| 11\.0 ± 1\.4 \| 7\.00 ± 1\.4 \| 0\.00123 \| 0\.500 \|/);
  assert.match(md, /\| sharpness \| 2\.00 ± 0\.0 \| 1\.00 ± 0\.0 \| 3\.00 \| 4\.00 \|/);
  assert.match(md, /\| sharpness \| -0\.33 \| 0\.50 \|/);
  assert.match(md, /\| hessian-top \| 1\.00 \| -1\.00 \|/);
  assert.match(md, /3 of 3 models ranked, diverged ones left out \(3 settings/);
  assert.match(md, /Generated from bench\/results\/flatness\.json/);
});
