/**
 * The generated results tables: hand-made result objects rendered to the markdown written out
 * here, and the README sections replaced between their markers only.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  markdownTable,
  renderResult,
  replaceSection,
  type DecouplingResult,
  type MethodsResult,
  type TrainResult,
} from '../../bench/tables.js';
import { PROVENANCE } from './helpers.js';

const base = { ...PROVENANCE, commit: `${PROVENANCE.commit}+dirty` };
const footer = (name: string) =>
  `_Test CPU, 2 cores, node v20.0.0; commit 0123456789+dirty; 2026-01-02. ` +
  `Generated from bench/results/${name}.json by \`npm run bench:tables\`._`;

test('a markdown table aligns the first column left and the others right', () => {
  assert.equal(markdownTable(['a', 'b'], [['x', '1']]), '| a | b |\n| :-- | --: |\n| x | 1 |');
});

test('the train result renders its table, goals and provenance', () => {
  // One CNN row's timings; the backends differ in samples/s only.
  const cnnRow = {
    model: 'cnn',
    params: 421642,
    ratio: 1.234,
    trainerStepMs: 124.96,
    forwardBackwardMs: 110.04,
    gatherMs: 0.726,
    fusedStepMs: 0.5,
    writeBackMs: 1.234,
    overheadFraction: 0.0612,
    restFraction: 0.05,
  };
  const result: TrainResult = {
    ...base,
    name: 'train',
    config: { batchSize: 64, reps: 3, kernels: 'wasm', threads: 2 },
    targets: {
      cnnRatio: { value: 1.234, target: 1, met: true },
      cnnOverhead: { value: 0.0612, target: 0.05, met: false },
      cnnAnnealCpuSpeedup: { value: 4.5, target: 4, met: true },
    },
    skipped: [],
    rows: [
      { ...cnnRow, backend: 'wasm', trainerSamplesPerSec: 512.4, fitSamplesPerSec: 415.2 },
      { ...cnnRow, backend: 'anneal-cpu', trainerSamplesPerSec: 2305.8, fitSamplesPerSec: 2000 },
    ],
  };
  assert.equal(
    renderResult(result)?.train,
    [
      'Trainer (AdamW, wasm kernels) vs tfjs `model.fit` with `tf.train.adam`, on each tfjs backend ' +
        '(wasm: one thread; anneal-cpu: 2), batch 64, median of 3 epochs. "vs wasm": the Trainer\'s ' +
        'samples/s over its samples/s on wasm. Overhead = gradient gather + fused step + write-back, ' +
        'as a fraction of a step; rest = what is left of a step besides those and the forward/backward.',
      '',
      '| backend | model | params | Trainer samples/s | vs wasm | model.fit samples/s | ratio | step ms | ' +
        'fwd+bwd ms | gather ms | fused step ms | write-back ms | overhead | rest |',
      '| :-- | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: |',
      '| wasm | cnn | 421,642 | 512 | 1.00x | 415 | 1.23 | 125.0 | 110.0 | 0.73 | 0.50 | 1.23 | 6.1% | 5.0% |',
      '| anneal-cpu | cnn | 421,642 | 2306 | 4.50x | 2000 | 1.23 | 125.0 | 110.0 | 0.73 | 0.50 | 1.23 | 6.1% | 5.0% |',
      '',
      'Goals for the CNN on wasm: ratio >= 1 (measured 1.23, met); overhead < 5% of a step (measured ' +
        '6.1%, not met); the Trainer on anneal-cpu >= 4x its samples/s on wasm (measured 4.50x, met).',
      '',
      footer('train'),
    ].join('\n'),
  );
});

test('the decoupling grid bolds the best decay of each usable learning rate', () => {
  const result: DecouplingResult = {
    ...base,
    name: 'adamw-decoupling',
    config: {
      trainSamples: 8000,
      testSamples: 10000,
      epochs: 3,
      batchSize: 128,
      model: 'mlp',
      hidden: [256, 128],
      seeds: [0, 1],
    },
    grids: [
      {
        optimizer: 'adamw',
        label: 'AdamW',
        decoupled: true,
        lrs: [1e-3, 3e-3],
        decays: [1e-4, 3e-4],
        cells: [
          { lr: 1e-3, decay: 1e-4, testAccuracy: 0.9412 },
          { lr: 1e-3, decay: 3e-4, testAccuracy: 0.95 },
          { lr: 3e-3, decay: 1e-4, testAccuracy: 0.1 },
          { lr: 3e-3, decay: 3e-4, testAccuracy: 0.09 },
        ],
        analysis: { argmax: { perLr: [{ lr: 1e-3, decay: 3e-4 }] } },
      },
    ],
    findings: ['a finding.'],
  };
  const text = renderResult(result)!['adamw-decoupling'];
  const table = text.slice(text.indexOf('**AdamW**'), text.indexOf('- a finding.'));
  assert.equal(
    table,
    [
      '**AdamW** (`adamw`): rows learning rate, columns λ (per-step decay)',
      '',
      '| lr \\ λ | 1e-4 | 3e-4 |',
      '| :-- | --: | --: |',
      '| 1e-3 | 94.1% | **95.0%** |',
      '| 3e-3 | 10.0% | 9.0% |',
      '',
      '',
    ].join('\n'),
  );
  assert.ok(text.endsWith(`- a finding.\n\n${footer('adamw-decoupling')}`));
});

test('the methods result renders the single methods and the ablation, each with the baseline', () => {
  const row = (
    label: string,
    group: 'methods' | 'bag-of-tricks',
    methods: MethodsResult['rows'][number]['methods'],
    meanAccuracy: number,
    stdAccuracy: number,
    delta: number | null,
    deltaInBaselineStd: number | null,
  ) => ({
    label,
    group,
    methods,
    batchSize: 64,
    meanAccuracy,
    stdAccuracy,
    meanTrainSeconds: 10.04,
    meanSteps: 48,
    delta,
    deltaInBaselineStd,
    runs: [{ seed: 0 }, { seed: 1 }, { seed: 2 }],
  });
  const result: MethodsResult = {
    ...base,
    name: 'methods',
    config: {
      trainSamples: 1500,
      testSamples: 1000,
      epochs: 2,
      batchSize: 64,
      model: 'cnn',
      optimizer: { name: 'adamw', lr: 2e-3 },
      seeds: [0, 1, 2],
      kernelsUsed: 'wasm',
    },
    budget: { totalMinutes: 8.04 },
    rows: [
      row('baseline', 'methods', [], 0.925, 0.002, 0, 0),
      row(
        'mixup',
        'methods',
        [{ name: 'mixup', options: { alpha: 0.2 } }],
        0.921,
        0.004,
        -0.004,
        -2,
      ),
      {
        ...row('batch 16 (control)', 'methods', [], 0.94, 0.003, 0.015, 7.5),
        controlFor: 'mixup',
        runs: [0, 1, 2, 3, 4].map((seed) => ({ seed })),
      },
      row('+ warmup', 'bag-of-tricks', [], 0.93, 0.001, 0.005, 2.5),
    ],
  };
  const sections = renderResult(result)!;
  const text = sections.methods;
  // mixup: Δ = 92.1 - 92.5 = -0.40 points, / 0.2 = -2.0 baseline stds; std 0.004 -> 0.40 points.
  const header =
    '| method | options | seeds | test accuracy | std | Δ points | Δ / baseline std | steps | s / run |';
  const align = '| :-- | :-- | --: | --: | --: | --: | --: | --: | --: |';
  const baseline = '| baseline |  | 3 | 92.50% | 0.20 | 0.00 | 0.0 | 48 | 10.0 |';
  const control = '| batch 16 (control) |  | 5 | 94.00% | 0.30 | 1.50 | 7.5 | 48 | 10.0 |';
  assert.ok(
    text.includes(
      [
        header,
        align,
        baseline,
        '| mixup | `{"alpha":0.2}` | 3 | 92.10% | 0.40 | -0.40 | -2.0 | 48 | 10.0 |',
        control,
      ].join('\n'),
    ),
  );
  assert.ok(
    text.includes(
      [
        header.replace('method', 'tricks'),
        align,
        baseline,
        '| + warmup |  | 3 | 93.00% | 0.10 | 0.50 | 2.5 | 48 | 10.0 |',
      ].join('\n'),
    ),
  );
  assert.ok(text.includes('after 2 epochs on 1500 training samples'));
  assert.ok(text.includes('Compute budget: 8.0 minutes'));
  assert.ok(text.endsWith(footer('methods')));
  // The mixup card gets the baseline, its own row and its control; a control has no card; the
  // Bag-of-Tricks card gets the ablation.
  assert.deepEqual(Object.keys(sections), ['methods', 'methods/mixup', 'methods/bag-of-tricks']);
  assert.ok(sections['methods/mixup'].includes([header, align, baseline].join('\n')));
  assert.ok(sections['methods/mixup'].includes(control));
  assert.ok(!sections['methods/mixup'].includes('+ warmup'));
  assert.ok(sections['methods/bag-of-tricks'].includes('| + warmup |'));
});

test('sections are replaced between their markers only, and again the same way', () => {
  const readme = 'intro\n<!-- table:train -->\nold\n<!-- /table:train -->\noutro\n';
  const once = replaceSection(readme, 'train', '| new |');
  assert.equal(once, 'intro\n<!-- table:train -->\n| new |\n<!-- /table:train -->\noutro\n');
  assert.equal(replaceSection(once!, 'train', '| new |'), once);
  assert.equal(replaceSection(readme, 'kernels', 'x'), null);
  assert.equal(renderResult({ ...base, name: 'unknown' }), undefined);
});
