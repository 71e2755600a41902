/**
 * Exit codes are a contract (README's "Exit codes", `anneal --help`): a diverged run is not a
 * success.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { anneal } from './helpers.js';
import { EXIT_CODES } from '../../src/errors.js';
import {
  loadCheckpoint,
  resolveCheckpointPath,
  saveCheckpoint,
} from '../../src/train/checkpoint.js';

test('a run the NaN guard stops exits with the diverged code, one line, its directory kept', () => {
  const out = join(mkdtempSync(join(tmpdir(), 'anneal-diverge-')), 'run');
  // SGD at lr 1e10 overflows float32 within a few steps; the guard's default policy is stop.
  const r = anneal([
    ...['train', '--data', 'synthetic', '--model', 'mlp', '--limit', '256', '--epochs', '3'],
    ...['--optimizer', 'sgd', '--lr', '1e10', '--out', out, '--no-progress'],
  ]);
  assert.equal(r.code, EXIT_CODES.diverged, r.stderr);
  assert.equal(EXIT_CODES.diverged, 3);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^anneal: diverged: NaN guard: non-finite/);
  assert.ok(existsSync(join(out, 'summary.json')));
  assert.doesNotMatch(r.stdout, /test accuracy/);
});

test('anneal --help states the exit codes', () => {
  const r = anneal(['--help']);
  assert.equal(r.code, 0);
  assert.match(
    r.stdout,
    /Exit codes: 0 success, 2 bad input .* 3 the run diverged .* 4 every trial of a search failed/s,
  );
});

test('resuming a checkpoint with non-finite weights is refused, not reported as before', () => {
  const run = join(mkdtempSync(join(tmpdir(), 'anneal-nan-resume-')), 'run');
  const tiny = ['--data', 'synthetic', '--model', 'mlp', '--limit', '64', '--no-progress'];
  assert.equal(anneal(['train', ...tiny, '--epochs', '1', '--out', run]).code, 0);
  // Poison one weight of the latest checkpoint, as a diverged step would have.
  const file = resolveCheckpointPath(run);
  const contents = loadCheckpoint(file);
  const param = contents.tensors.find((t) => t.name.startsWith('param:'))!;
  param.data[0] = NaN;
  saveCheckpoint(file, contents);
  const r = anneal(['train', '--resume', run, '--epochs', '2', '--no-progress']);
  assert.equal(r.code, EXIT_CODES.diverged, r.stderr);
  assert.match(r.stderr.trim(), /^anneal: the checkpoint of .* has non-finite weights/);
  assert.doesNotMatch(r.stdout, /test accuracy/);
});
