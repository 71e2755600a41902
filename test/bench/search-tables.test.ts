/** The search comparison table from a hand-made result. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderers, type SearchBenchResult } from '../../bench/tables/search.js';
import { PROVENANCE } from './helpers.js';

type Row = SearchBenchResult['rows'][number];

const row = (over: Partial<Row>): Row => ({
  scheduler: 'sha',
  seed: 0,
  trials: 27,
  failed: 0,
  totalResource: 63,
  searchSeconds: 60,
  selected: { 'optimizer.lr': 0.01, 'optimizer.weightDecay': 0.001, batchSize: 64 },
  valAccuracy: 0.9,
  selectedAt: 9,
  testAccuracy: 0.91,
  ...over,
});

test('the search table: one row per scheduler (mean ± sd over seeds), every pick, provenance', () => {
  const result: SearchBenchResult = {
    name: 'search',
    ...PROVENANCE,
    config: {
      trainSamples: 2000,
      testSamples: 10000,
      valFraction: 0.2,
      model: 'mlp [64]',
      minResource: 1,
      maxResource: 9,
      unit: 'ep',
      eta: 3,
      configs: 27,
      workers: 2,
      seeds: [0, 1],
    },
    defaultAccuracy: 0.88,
    minutes: 10.5,
    rows: [
      row({ seed: 0, testAccuracy: 0.9 }),
      row({ seed: 1, testAccuracy: 0.92 }),
      row({ scheduler: 'morl', seed: 0, testAccuracy: 0.93 }),
      row({
        scheduler: 'morl',
        seed: 1,
        testAccuracy: 0.95,
        selected: { 'optimizer.lr': 0.003, 'optimizer.weightDecay': 0.1, batchSize: 32 },
      }),
      row({
        scheduler: 'hyperband',
        seed: 0,
        totalResource: 69,
        trials: 30,
        testAccuracy: null,
        selected: null,
        valAccuracy: null,
      }),
      row({ scheduler: 'hyperband', seed: 1, totalResource: 69, trials: 30, testAccuracy: 0.9 }),
    ],
  };
  const md = renderers.search(result);
  // SHA: test 90 and 92 -> mean 91.00, sd sqrt(2) = 1.41.
  assert.match(
    md,
    /\| successive halving \| 63 \| 27 \| 60 \| 90\.00 ± 0\.00 \| 91\.00 ± 1\.41 \|/,
  );
  // MORL: 93 and 95 -> 94.00 ± 1.41.
  assert.match(
    md,
    /\| MORL \(lr cycle per rung\) \| 63 \| 27 \| 60 \| 90\.00 ± 0\.00 \| 94\.00 ± 1\.41 \|/,
  );
  // Hyperband: one seed failed to pick: only the other counts.
  assert.match(md, /\| Hyperband \| 69 \| 30 \| 60 \| 90\.00 \| 90\.00 \|/);
  // Picks: seed 1 of MORL, lr and decay in the grids' notation.
  assert.match(
    md,
    /\| 1 \| MORL \(lr cycle per rung\) \| 3e-3 \| 1e-1 \| 32 \| 9 \| 90\.00 \| 95\.00 \|/,
  );
  assert.match(md, /\| 0 \| Hyperband \| – \| – \| – \| 9 \| – \| – \|/);
  assert.match(md, /different configurations in 1 of 2 seeds/);
  assert.match(md, /reaches 88\.00% at the full budget/);
  assert.match(md, /took 10\.5 minutes/);
  assert.match(md, /20% held out/);
  assert.match(md, /commit 0123456789; 2026-01-02/);
});
