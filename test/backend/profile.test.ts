/**
 * `anneal train --profile`: where a run's time went, kernel by kernel, from anneal-cpu's tallies;
 * other backends say that they do not tally.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { hostDeviceProblem } from '../../src/backend/index.js';
import { anneal } from '../cli/helpers.js';

const problem = hostDeviceProblem();
if (problem && process.env.ANNEAL_REQUIRE_HOST === '1') {
  throw new Error(`ANNEAL_REQUIRE_HOST=1 but the host device cannot load: ${problem}`);
}

const train = (backend: string) =>
  anneal([
    ...['train', '--data', 'synthetic', '--model', 'cnn', '--limit', '128', '--backend', backend],
    ...[
      '--profile',
      '--no-progress',
      '--out',
      join(mkdtempSync(join(tmpdir(), 'anneal-prof-')), 'run'),
    ],
  ]);

test(
  'anneal-cpu: native kernels and fallbacks, each with ms and calls a step',
  { skip: problem ?? false },
  () => {
    const r = train('anneal-cpu');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^profile, native kernels: [\d.]+ ms a step$/m);
    assert.match(r.stdout, /^ {2}Conv2DBackpropFilter +[\d.]+ ms +[\d.]+ calls$/m);
    assert.match(r.stdout, /^profile, tfjs-backend-cpu fallbacks: [\d.]+ ms a step$/m);
  },
);

test('another backend says it has no tally', () => {
  const r = train('cpu');
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /profile: only anneal's own backends tally their kernels \(this run used cpu\)/,
  );
});
