/**
 * Outputs are checked before any work: a --out that is a directory where a file belongs (or the
 * reverse), an existing file without --overwrite, a port out of range, each give one line and
 * exit 2, and leave what was there as it was.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { anneal, assertUserError } from './helpers.js';

const cosine = ['schedule', '--spec', '{"name":"cosine"}', '--steps', '10'];

test('schedule --out: an existing file needs --overwrite, a directory is refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'anneal-out-'));
  const file = join(dir, 'lr.json');
  writeFileSync(file, 'mine');
  assertUserError(anneal([...cosine, '--out', file]), file, '--overwrite');
  assert.equal(readFileSync(file, 'utf8'), 'mine');
  assert.equal(anneal([...cosine, '--out', file, '--overwrite']).code, 0);
  // Cosine from 1 to 0 over 10 steps: step 0 is 1.
  assert.equal(JSON.parse(readFileSync(file, 'utf8')).value[0], 1);
  assertUserError(anneal([...cosine, '--out', dir]), dir, 'is a directory');
});

test('soup and landscape refuse an existing --out before reading any checkpoint', () => {
  const dir = mkdtempSync(join(tmpdir(), 'anneal-out-'));
  const file = join(dir, 'soup.ck');
  writeFileSync(file, 'mine');
  const missing = join(dir, 'no-such-run');
  assertUserError(anneal(['soup', '--checkpoints', missing, missing, '--out', file]), file);
  assertUserError(
    anneal(['landscape', '--checkpoints', missing, '--kind', 'slice', '--out', file]),
    file,
  );
  assertUserError(anneal(['soup', '--checkpoints', missing, missing, '--out', dir]), dir);
  assert.equal(readFileSync(file, 'utf8'), 'mine');
});

test('a file where an output directory belongs is refused at once', () => {
  const dir = mkdtempSync(join(tmpdir(), 'anneal-out-'));
  const file = join(dir, 'f');
  writeFileSync(file, 'mine');
  assertUserError(anneal(['lr-find', '--data', 'synthetic', '--out', file]), file, 'is a file');
  assertUserError(
    anneal(['train', '--data', 'synthetic', '--limit', '64', '--out', file]),
    file,
    'is a file',
  );
  mkdirSync(join(dir, 'runs'));
  assertUserError(anneal(['view', join(dir, 'runs'), '--port', '70000']), '70000', '65535');
  assert.equal(readFileSync(file, 'utf8'), 'mine');
});
