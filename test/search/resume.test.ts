/**
 * Resuming a killed search (src/search/journal.ts): a search whose executor stops answering
 * after k jobs stands for a killed coordinator (its journal has k reports and the jobs that were
 * running); resumeSearch then finishes it, and the trials, promotions and scores must equal an
 * uninterrupted search with the same seed. The objective is a fake, so every scheduler runs in
 * milliseconds; test/queue covers real training, worker kills and the queue.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import type { Executor } from '../../src/runs/executor.js';
import {
  parseSpace,
  resumeSearch,
  runSearch,
  type SearchResult,
  type TrialRequest,
  type TrialResult,
} from '../../src/search/index.js';
import { readJournal } from '../../src/search/journal.js';
import { base } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'anneal-resume-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const space = parseSpace(
  { 'optimizer.lr': { type: 'loguniform', low: 1e-4, high: 1 } },
  'space',
  base,
);

/** Best near lr = 1e-2, better with more resource: a deterministic stand-in for training. */
function fakeScore(req: TrialRequest): number {
  const lr = req.config['optimizer.lr'] as number;
  return 1 - Math.abs(Math.log10(lr) + 2) / 10 + req.job.resource / 1000;
}

/** Answers every job; from job `hangAfter` on, never answers (the coordinator was killed). */
function fakeExecutor(hangAfter = Infinity): Executor<TrialRequest, TrialResult> & {
  calls: TrialRequest[];
  /** Resolves once `hangAfter` jobs were answered and a later one hangs. */
  killed: () => Promise<void>;
} {
  const calls: TrialRequest[] = [];
  let answered = 0;
  return {
    calls,
    run: async (req) => {
      calls.push(req);
      if (calls.length > hangAfter) return new Promise<TrialResult>(() => {});
      await sleep(0);
      answered++;
      return { score: fakeScore(req), loss: 0, steps: 1, trainSeconds: 0, stopReason: null };
    },
    close: async () => {},
    killed: async () => {
      while (!(answered === hangAfter && calls.length > hangAfter)) await sleep(5);
      // The last answer's report is written in the same turn; let it land.
      await sleep(5);
    },
  };
}

/** What must not depend on the interruption: trials, their statuses, scores and promotions. */
function decisions(r: SearchResult) {
  return {
    trials: r.trials.map((t) => ({
      trial: t.trial,
      bracket: t.bracket,
      status: t.status,
      config: t.config,
      results: t.results.map((x) => [x.rung, x.resource, x.score]),
    })),
    rungs: r.rungs,
    best: r.best,
    totalResource: r.totalResource,
  };
}

const settings = (scheduler: string, out: string, workers: number) => ({
  space,
  base,
  scheduler,
  maxResource: '9ep',
  minResource: '1ep',
  eta: 3,
  workers,
  seed: 4,
  out: join(dir, out),
  ...(scheduler === 'hyperband' ? {} : { configs: 9 }),
});

describe('resuming a killed search replays its journal', () => {
  for (const [scheduler, workers] of [
    ['sha', 3],
    ['hyperband', 3],
    ['morl', 2],
    ['asha', 1],
    ['median', 1],
  ] as const) {
    it(`${scheduler} with ${workers} worker(s): the same trials, promotions and scores as uninterrupted`, async () => {
      const uninterrupted = fakeExecutor();
      const whole = await runSearch({
        ...settings(scheduler, `${scheduler}-whole`, workers),
        executor: uninterrupted,
      });
      const killed = fakeExecutor(7);
      void runSearch({ ...settings(scheduler, `${scheduler}-cut`, workers), executor: killed });
      await killed.killed();
      const out = join(dir, `${scheduler}-cut`);
      const events = readJournal(out);
      const reports = events.filter((e) => e.type === 'report').length;
      const running = events.filter((e) => e.type === 'start').length - reports;
      assert.equal(reports, 7);
      assert.ok(running >= 1, `jobs running when killed: ${running}`);

      const finisher = fakeExecutor();
      const resumed = await resumeSearch(out, { executor: finisher });
      assert.equal(resumed.status, 'finished');
      assert.deepEqual(decisions(resumed), decisions(whole));
      // Only the jobs not finished before the kill ran again: the running ones first.
      const finished = new Set(
        events.filter((e) => e.type === 'report').map((e) => `${e.job.trial}/${e.job.rung}`),
      );
      assert.equal(
        finisher.calls.filter((c) => finished.has(`${c.job.trial}/${c.job.rung}`)).length,
        0,
      );
      assert.equal(finisher.calls.length, uninterrupted.calls.length - 7);
      const saved = JSON.parse(readFileSync(join(out, 'search.json'), 'utf8')) as SearchResult;
      assert.deepEqual(decisions(saved), decisions(whole));
    });
  }

  it('a finished search resumes to the same record, running nothing', async () => {
    const out = join(dir, 'sha-whole');
    const before = JSON.parse(readFileSync(join(out, 'search.json'), 'utf8')) as SearchResult;
    const idle = fakeExecutor();
    const again = await resumeSearch(out, { executor: idle });
    assert.equal(idle.calls.length, 0);
    assert.deepEqual(decisions(again), decisions(before));
  });

  it('refuses a directory that is not a search, and a journal of other settings', async () => {
    await assert.rejects(resumeSearch(dir), /cannot resume .*not a search directory/);
    // The journal of a sha search replayed with asha's settings.
    const out = join(dir, 'sha-whole');
    const saved = JSON.parse(readFileSync(join(out, 'search.json'), 'utf8')) as SearchResult;
    writeFileSync(join(out, 'search.json'), JSON.stringify({ ...saved, scheduler: 'asha' }));
    await assert.rejects(
      resumeSearch(out, { executor: fakeExecutor() }),
      /does not belong to these search settings; start again with --overwrite/,
    );
  });
});
