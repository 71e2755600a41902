/** The pruning results table from a hand-made result. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderers, type PruningResult } from '../../bench/tables/pruning.js';
import { PROVENANCE } from './helpers.js';

const row = (over: Partial<PruningResult['rows'][number]>): PruningResult['rows'][number] => ({
  group: 'one-shot',
  label: 'global-magnitude, FT',
  criterion: 'global-magnitude',
  retrain: 'ft',
  cycles: 1,
  sparsity: 0.9,
  costEpochs: 5,
  runs: [],
  meanTop1: 0.9512,
  stdTop1: 0.0031,
  meanPrunedTop1: 0.5,
  meanTop5: 0.99,
  speedup: 7.5,
  compression: 6.25,
  ...over,
});

test('the pruning table: one row per experiment, the per-step cost and provenance', () => {
  const result: PruningResult = {
    name: 'pruning',
    ...PROVENANCE,
    config: {
      trainSamples: 2000,
      testSamples: 1000,
      model: { name: 'cnn', filters: [16, 32], denseUnits: 64 },
      batchSize: 64,
      optimizer: { name: 'sgd', lr: 0.05, momentum: 0.9 },
      originalEpochs: 4,
      seeds: [0, 1, 2],
      imp: { target: 0.9, cycles: 3, budgetEpochs: 3 },
      oneShot: { fineTuneEpochs: 1 },
      tfjsBackend: 'wasm',
      kernelsUsed: 'wasm',
    },
    budget: { totalMinutes: 9.04, cpuMinutes: 7.5 },
    rows: [
      row({ group: 'dense', label: 'dense', sparsity: 0, meanPrunedTop1: null, costEpochs: 4 }),
      row({}),
      row({ group: 'gradual', label: 'gradual', meanPrunedTop1: null, costEpochs: 4 }),
    ],
    overhead: {
      model: 'cnn',
      params: 421642,
      batchSize: 64,
      denseStepMs: 100,
      maskedStepMs: 101,
      stepDifference: 0.01,
      applyMaskMs: 0.2,
      optimizerStepMs: 0.5,
      maskedOptimizerStepMs: 0.6,
      maskMs: 0.3,
      maskFraction: 0.003,
    },
  };
  const md = renderers.pruning(result);
  assert.match(
    md,
    /\| one-shot \+ FT \| global-magnitude, FT \| 90% \| 50\.00% \| 95\.12% ± 0\.31 \| 99\.00% \| 7\.50x \| 6\.25x \| 5 \|/,
  );
  assert.match(md, /\| dense \| dense \| 0% \| – \| 95\.12% ± 0\.31 \|/);
  assert.match(md, /\| during training \| gradual \|/);
  assert.match(md, /\| the mask's work per step \| 0\.300 ms = 0\.30% of a step \|/);
  assert.match(md, /\| fused optimizer step, without \/ with the mask \| 0\.500 \/ 0\.600 ms \|/);
  assert.match(md, /9\.0 min in all \(7\.5 CPU min\)/);
  assert.match(md, /Generated from bench\/results\/pruning\.json/);
});
