/**
 * Flags that used to be ignored, or errors that used to read badly, now say what happened in
 * one line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { anneal, assertUserError } from './helpers.js';

const tiny = ['--data', 'synthetic', '--model', 'mlp', '--limit', '64', '--no-progress'];

test('a zero duration is refused instead of training nothing', () => {
  const out = join(mkdtempSync(join(tmpdir(), 'anneal-flags-')), 'run');
  assertUserError(
    anneal(['train', ...tiny, '--duration', '0ep', '--out', out]),
    '--duration:',
    '"0ep"',
    'positive duration',
  );
});

test('--resume refuses --overwrite and another --out; a changed flag names the default', () => {
  const run = join(mkdtempSync(join(tmpdir(), 'anneal-flags-')), 'run');
  assert.equal(anneal(['train', ...tiny, '--epochs', '1', '--out', run]).code, 0);
  assertUserError(anneal(['train', '--resume', run, '--overwrite']), '--overwrite', '--resume');
  assertUserError(
    anneal(['train', '--resume', run, '--out', `${run}-other`]),
    '--out',
    'drop --out',
  );
  const r = anneal(['train', '--resume', run, '--lr', '0.5']);
  assertUserError(r, '--lr 0.5');
  assert.doesNotMatch(r.stderr, /undefined/);
});

test('kernels that cannot load are one line that does not repeat "anneal:"', () => {
  const out = join(mkdtempSync(join(tmpdir(), 'anneal-flags-')), 'run');
  const r = anneal(['train', ...tiny, '--kernels', 'cuda', '--out', out]);
  assertUserError(r, 'the cuda kernels could not be loaded', 'Possible solutions');
  assert.doesNotMatch(r.stderr, /anneal: anneal:/);
});

test('wording: no "resume" where there is none; a run without checkpoints says how to restart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'anneal-flags-'));
  const missing = join(dir, 'missing');
  const soup = anneal(['soup', '--checkpoints', missing, missing]);
  assertUserError(soup, `no checkpoint at ${missing}`);
  assert.doesNotMatch(soup.stderr, /resume/);
  const run = join(dir, 'run');
  assert.equal(anneal(['train', ...tiny, '--epochs', '1', '--out', run]).code, 0);
  const pruned = join(dir, 'pruned');
  assert.equal(
    anneal([
      'prune',
      '--checkpoint',
      run,
      '--target',
      '0.5',
      '--budget',
      '1ba',
      '--out',
      pruned,
      '--no-progress',
    ]).code,
    0,
  );
  const again = anneal(['prune', '--checkpoint', run, '--target', '0.5', '--out', pruned]);
  assertUserError(again, '--overwrite');
  assert.doesNotMatch(again.stderr, /--resume/);
  // A run killed before its first checkpoint: config.json but no checkpoints.
  rmSync(join(run, 'checkpoints'), { recursive: true });
  assertUserError(
    anneal(['train', '--resume', run]),
    'no checkpoint in',
    'anneal train --overwrite',
  );
});
