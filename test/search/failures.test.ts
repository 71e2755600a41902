/**
 * A search that cannot work is refused before anything is queued, and one in which every trial
 * failed is not a success.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isAnnealError, EXIT_CODES } from '../../src/errors.js';
import { parseSpace, runSearch } from '../../src/search/index.js';
import { base } from './helpers.js';
import { anneal } from '../cli/helpers.js';

test('a minimum resource below one step is refused before any trial runs', async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'anneal-search-min-')), 'search');
  const space = parseSpace({ 'optimizer.lr': { type: 'choice', values: [0.01] } }, 'space', base);
  // 240 samples less 10% validation = 216, at batch 32: 7 steps an epoch; 0.05ep = 0.35 steps.
  await assert.rejects(
    runSearch({ space, base, scheduler: 'sha', maxResource: '1ep', minResource: '0.05ep', out }),
    (e: unknown) =>
      isAnnealError(e) &&
      e.message.includes('0.05ep is less than one step') &&
      e.message.includes('7 steps an epoch'),
  );
  assert.ok(!existsSync(out), 'nothing was written');
});

test('anneal search exits with its own code when every trial failed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'anneal-search-failed-'));
  const spaceFile = join(dir, 'space.json');
  // hidden [-1] passes the recipe schema and throws when a worker builds the model.
  writeFileSync(
    spaceFile,
    JSON.stringify({ 'model.options.hidden': { type: 'choice', values: [[-1]] } }),
  );
  const r = anneal([
    ...['search', '--data', 'synthetic', '--limit', '240', '--model', 'mlp', '--space', spaceFile],
    ...['--scheduler', 'sha', '--max-resource', '2ep', '--min-resource', '1ep', '--configs', '2'],
    ...['--workers', '1', '--out', join(dir, 'search'), '--no-live'],
  ]);
  assert.equal(r.code, EXIT_CODES.allTrialsFailed, r.stderr);
  assert.match(
    r.stderr.trim(),
    /^anneal: every one of the 2 trials failed \(the first: .+\); see /,
  );
  assert.equal(r.stderr.trim().split('\n').length, 1);
});
