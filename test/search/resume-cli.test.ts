/**
 * `anneal search --resume` after SIGKILL of the whole search process (coordinator and its worker
 * threads) mid-sweep: no job that had finished runs again, and the final search.json makes the
 * same promotions with the same scores as an uninterrupted Hyperband sweep with the same seed.
 * Real training: an MLP on 240 synthetic samples, tfjs's cpu backend, js kernels, one thread.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { readJsonl } from '../../src/logs/jsonl.js';
import { readJournal, trialDir } from '../../src/search/index.js';
import { anneal, assertUserError, spawnAnneal } from '../cli/helpers.js';
import { reportedJobs, searchDecisions } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'anneal-resume-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const spacePath = join(dir, 'space.json');
writeFileSync(
  spacePath,
  JSON.stringify({ 'optimizer.lr': { type: 'loguniform', low: 1e-3, high: 0.3 } }),
);

const sweep = (out: string) => [
  'search',
  '--space',
  spacePath,
  '--scheduler',
  'hyperband',
  '--max-resource',
  '9ep',
  '--min-resource',
  '1ep',
  '--workers',
  '2',
  '--seed',
  '3',
  '--data',
  'synthetic',
  '--limit',
  '240',
  '--model',
  'mlp',
  '--batch-size',
  '32',
  '--backend',
  'cpu',
  '--kernels',
  'js',
  '--threads',
  '1',
  '--no-live',
  '--out',
  out,
];

describe('anneal search --resume after SIGKILL of the search', () => {
  it('finishes the sweep as if uninterrupted, without running a finished job again', async () => {
    const whole = join(dir, 'whole');
    const r = anneal(sweep(whole));
    assert.equal(r.code, 0, r.stderr);

    const cut = join(dir, 'cut');
    const { child, exited } = spawnAnneal(sweep(cut));
    // Hyperband here runs 22 jobs; kill it after 8 have been reported.
    while (reportedJobs(cut).length < 8) {
      assert.equal(child.exitCode, null, 'the search ended before it could be killed');
      await sleep(50);
    }
    child.kill('SIGKILL');
    await exited;
    const before = readJournal(cut);
    const finished = before.filter((e) => e.type === 'report').map((e) => e.job);
    assert.ok(finished.length >= 8 && finished.length < 22, `${finished.length} jobs finished`);

    const resumed = anneal(['search', '--resume', cut, '--workers', '1', '--no-live']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.deepEqual(searchDecisions(cut), searchDecisions(whole));
    // A finished job wrote its 'rung' record once and never ran again.
    for (const job of finished) {
      const rungs = readJsonl(join(trialDir(cut, job.trial), 'log.jsonl')).filter(
        (x) => x.event === 'rung' && x.rung === job.rung,
      );
      assert.equal(
        rungs.length,
        1,
        `trial ${job.trial} rung ${job.rung} ran ${rungs.length} times`,
      );
    }
  });

  it('refuses flags that would change the search, and a directory that is not a search', () => {
    assertUserError(
      anneal(['search', '--resume', join(dir, 'whole'), '--eta', '2']),
      '--resume continues',
      'drop --eta',
    );
    assertUserError(anneal(['search', '--resume', dir]), 'not a search directory');
    assertUserError(anneal(['search']), '--space <file> is required');
  });
});
