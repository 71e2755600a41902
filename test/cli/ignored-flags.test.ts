/**
 * Flags that used to be ignored, or errors that used to read badly, now say what happened in
 * one line.
 */
import { mkdtempSync } from 'node:fs';
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
