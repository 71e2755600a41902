/**
 * `anneal prune`: one-line errors for bad input, and a run pruned end to end (train a tiny MLP,
 * prune it in two cycles, read the pruned file back).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadPrunedModel } from '../../src/pruning/export.js';
import { anneal, assertUserError } from '../cli/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'anneal-prune-cli-'));

test('a target outside (0, 1) is one line naming the flag', () => {
  for (const target of ['1', '-0.5']) {
    const r = anneal(['prune', '--checkpoint', dir, '--target', target]);
    assertUserError(r, '--target', target, 'expected a fraction in (0, 1)');
  }
});

test('an unknown criterion or retraining schedule is one line listing the known ones', () => {
  assertUserError(
    anneal(['prune', '--checkpoint', dir, '--target', '0.5', '--criterion', 'largest']),
    '--criterion',
    'largest',
    'global-magnitude, layer-magnitude',
  );
  assertUserError(
    anneal(['prune', '--checkpoint', dir, '--target', '0.5', '--retrain', 'sgdr']),
    '--retrain',
    'ft, lrw, slr, clr, llr, allr',
  );
});

test('anneal prune a trained run: cycles, table, pruned.ck with its mask', () => {
  const recipe = join(dir, 'tiny.yaml');
  writeFileSync(
    recipe,
    [
      'data: { name: mnist, limit: 128, testLimit: 100 }',
      'model: { name: mlp, options: { hidden: [16, 8] } }',
      'optimizer: { name: sgd, lr: 0.05, momentum: 0.9 }',
      'schedules: { lr: { name: cosine } }',
      'duration: 2ep',
      'batchSize: 32',
      'kernels: js',
      '',
    ].join('\n'),
  );
  const run = join(dir, 'run');
  const trained = anneal(['train', '--recipe', recipe, '--out', run, '--no-progress']);
  assert.equal(trained.code, 0, trained.stderr);
  const r = anneal([
    'prune',
    '--checkpoint',
    run,
    '--target',
    '0.75',
    '--cycles',
    '2',
    '--retrain',
    'slr',
    '--budget',
    '4ba',
    '--no-progress',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /cycle 1\/2: sparsity 50\.00%/);
  assert.match(r.stdout, /cycle 2\/2: sparsity 75\.00%/);
  assert.match(r.stdout, /FLOPs speedup/);
  const out = join(run, 'pruned');
  assert.ok(existsSync(join(out, 'pruned.ck')));
  const file = loadPrunedModel(join(out, 'pruned.ck'));
  // The middle kernel (16 x 8 = 128 weights) is the prunable one: 96 pruned, and 0.
  assert.equal(file.mask.filter((m) => m === 0).length, 96);
  for (let i = 0; i < file.mask.length; i++)
    if (file.mask[i] === 0) assert.ok(file.params[i] === 0);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.deepEqual(
    summary.results.map((c: { retrainSteps: number }) => c.retrainSteps),
    [2, 2],
  );
  // A second prune into the same directory needs --overwrite.
  const again = anneal(['prune', '--checkpoint', run, '--target', '0.5', '--budget', '0ba']);
  assertUserError(again, 'already exists');
});

test('anneal prune takes a run that a resume lengthened (config.json follows the resume)', () => {
  const run = join(dir, 'extended');
  const tiny = ['--data', 'synthetic', '--model', 'mlp', '--limit', '128', '--no-progress'];
  assert.equal(anneal(['train', ...tiny, '--epochs', '1', '--out', run]).code, 0);
  const resumed = anneal(['train', '--resume', run, '--epochs', '2', '--no-progress']);
  assert.equal(resumed.code, 0, resumed.stderr);
  const config = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8'));
  assert.equal(config.recipe.duration, '2ep');
  // 128 samples at batch 64: the checkpoint is at step 4, inside the 2-epoch run's 4 steps.
  const r = anneal([
    ...['prune', '--checkpoint', run, '--target', '0.5', '--budget', '1ba'],
    ...['--out', join(dir, 'extended-pruned'), '--no-progress'],
  ]);
  assert.equal(r.code, 0, r.stderr);
});
