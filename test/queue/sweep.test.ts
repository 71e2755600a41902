/**
 * Whole sweeps on a queue, as a user runs them: `anneal search --redis` as the coordinator and
 * `anneal worker` processes on a loopback redis-server, training a tiny MLP on synthetic data
 * (tfjs's cpu backend, js kernels, one thread: the same numbers in every process).
 *
 * - a Hyperband sweep with 2 workers gives the search.json of the same sweep run locally, and
 *   neither the coordinator nor a worker listens on any socket;
 * - SIGKILL of a worker mid-trial: the sweep completes, each job is recorded once, and the
 *   killed trial resumed from its checkpoint (another worker took the stalled job);
 * - SIGKILL of the coordinator mid-sweep, then `--resume`: no finished job runs again and the
 *   result equals the uninterrupted sweep.
 */
import assert from 'node:assert/strict';
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { readJsonl } from '../../src/logs/jsonl.js';
import { CheckpointStore } from '../../src/train/checkpoint.js';
import { readJournal, trialDir, type SearchResult } from '../../src/search/index.js';
import { anneal, spawnAnneal, type Spawned } from '../cli/helpers.js';
import { reportedJobs, searchDecisions } from '../search/helpers.js';
import { redisSkip, startRedis, type TestRedis } from '../redis.js';

const dir = mkdtempSync(join(tmpdir(), 'anneal-sweep-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const spacePath = join(dir, 'space.json');
writeFileSync(
  spacePath,
  JSON.stringify({ 'optimizer.lr': { type: 'loguniform', low: 1e-3, high: 0.3 } }),
);

/** The recipe and engine every process uses: the same bits everywhere. */
const RECIPE = [
  ...['--data', 'synthetic', '--limit', '240', '--model', 'mlp', '--batch-size', '32'],
  ...['--backend', 'cpu', '--kernels', 'js', '--threads', '1'],
];

/**
 * Hyperband over 1..9 epochs, eta 3: 22 jobs. Every process's --shared-dir is `dir` (the
 * coordinator's paths are relative to its shared directory, the workers' resolve under theirs).
 */
const hyperband = (out: string) => [
  ...['search', '--space', spacePath, '--scheduler', 'hyperband'],
  ...['--max-resource', '9ep', '--min-resource', '1ep', '--seed', '3', '--no-live'],
  ...RECIPE,
  ...['--out', out],
];

/**
 * The TCP sockets process `pid` listens on (Linux: its socket fds matched against /proc/net/tcp*
 * in LISTEN state), as 'address:port' in hex as the kernel writes them.
 */
function listening(pid: number): string[] {
  const inodes = new Set(
    readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        return m ? [m[1]] : [];
      } catch {
        return []; // closed meanwhile
      }
    }),
  );
  return ['/proc/net/tcp', '/proc/net/tcp6'].flatMap((table) =>
    readFileSync(table, 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(/\s+/))
      // Fields: sl local_address rem_address st ... inode (the 10th).
      .filter((f) => f[3] === '0A' && inodes.has(f[9]))
      .map((f) => f[1]),
  );
}

describe('sweeps on a queue', { skip: redisSkip() }, () => {
  let redis: TestRedis;
  const workers: Spawned[] = [];
  const startWorker = (queue: string, shared: string, extra: string[] = []) => {
    const w = spawnAnneal([
      ...['worker', '--redis', redis.url, '--queue', queue, '--shared-dir', shared],
      ...extra,
    ]);
    workers.push(w);
    return w;
  };
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    await redis?.stop();
  });

  const local = join(dir, 'local');
  test('a Hyperband sweep on 2 worker processes gives the local sweep', async () => {
    const r = anneal([...hyperband(local), '--workers', '2']);
    assert.equal(r.code, 0, r.stderr);

    const queued = join(dir, 'queued');
    for (let i = 0; i < 2; i++) startWorker('equal', dir);
    const c = spawnAnneal([
      ...hyperband(queued),
      ...['--redis', redis.url, '--queue', 'equal', '--shared-dir', dir],
    ]);
    // Nothing anneal starts listens: the coordinator and the workers only connect out to Redis.
    while (reportedJobs(queued).length < 1) await sleep(20);
    for (const p of [c, ...workers]) assert.deepEqual(listening(p.child.pid!), [], 'listens');
    assert.equal(await c.exited, 0, c.stderr());
    assert.deepEqual(searchDecisions(queued), searchDecisions(local));
    assert.match(c.stdout(), /jobs: 22 done, 0 running, 0 failed · 2 workers/);
    // Both workers trained.
    for (const w of workers) assert.match(w.stdout(), /: done in /);
  });

  test('SIGKILL of a worker mid-trial: the sweep completes, each job once, the trial resumed', async () => {
    const out = join(dir, 'worker-kill');
    // Successive halving, 2 configurations of 120 then 240 epochs: jobs of 840 steps. (At 30 and
    // 60 epochs, 210 steps, an idle machine once finished the rung, checkpoint 210 included,
    // between the test's look at a mid-rung checkpoint and the SIGKILL.)
    const args = [
      ...['search', '--space', spacePath, '--scheduler', 'sha', '--configs', '2', '--eta', '2'],
      ...['--max-resource', '240ep', '--min-resource', '120ep', '--no-live'],
      ...RECIPE,
      ...['--out', out, '--redis', redis.url, '--queue', 'kill', '--workers', '2'],
      ...['--shared-dir', dir],
    ];
    const fast = ['--lock-duration', '2', '--stalled-interval', '1'];
    const victim = startWorker('kill', dir, fast);
    const c = spawnAnneal(args);
    // Wait until the victim's trial has checkpointed inside its first rung (step 210 of 840).
    let trial = -1;
    for (;;) {
      assert.equal(c.child.exitCode, null, `the sweep ended first: ${victim.stdout()}`);
      const m = /trial (\d+), rung 0 \(0ep to 120ep\): started/.exec(victim.stdout());
      if (m) {
        trial = Number(m[1]);
        const saved = new CheckpointStore(join(trialDir(out, trial), 'checkpoints')).list();
        if (saved.some((s) => s.step > 0 && s.step < 840)) break;
      }
      await sleep(20);
    }
    victim.child.kill('SIGKILL');
    await victim.exited;
    startWorker('kill', dir, fast);
    assert.equal(await c.exited, 0, c.stderr());

    const jobs = reportedJobs(out).map((j) => `${j.trial}/${j.rung}`);
    assert.equal(jobs.length, 3, 'two rung-0 jobs and one promotion');
    assert.equal(new Set(jobs).size, jobs.length, `each job recorded once: ${jobs}`);
    const log = readJsonl(join(trialDir(out, trial), 'log.jsonl'));
    const resumed = log.filter((r) => r.event === 'resume').map((r) => r.step as number);
    assert.ok(
      resumed.some((step) => step > 0 && step < 840),
      `trial ${trial} resumed mid-rung: ${resumed}`,
    );
    const result = JSON.parse(readFileSync(join(out, 'search.json'), 'utf8')) as SearchResult;
    assert.equal(result.status, 'finished');
    assert.equal(result.trials.filter((t) => t.status === 'failed').length, 0);
  });

  test('SIGKILL of the coordinator, then --resume: no finished job again, the same result', async () => {
    const out = join(dir, 'coordinator-kill');
    const queue = ['--redis', redis.url, '--queue', 'resume', '--shared-dir', dir];
    for (let i = 0; i < 2; i++) startWorker('resume', dir);
    const c = spawnAnneal([...hyperband(out), ...queue]);
    while (reportedJobs(out).length < 8) {
      assert.equal(
        c.child.exitCode,
        null,
        `the sweep ended before it could be killed: ${c.stderr()}`,
      );
      await sleep(20);
    }
    c.child.kill('SIGKILL');
    await c.exited;
    const finished = reportedJobs(out);
    assert.ok(finished.length < 22, `${finished.length} of 22 jobs finished before the kill`);

    const resumed = spawnAnneal(['search', '--resume', out, '--no-live', ...queue]);
    assert.equal(await resumed.exited, 0, resumed.stderr());
    assert.deepEqual(searchDecisions(out), searchDecisions(local));
    for (const job of finished) {
      const rungs = readJsonl(join(trialDir(out, job.trial), 'log.jsonl')).filter(
        (x) => x.event === 'rung' && x.rung === job.rung,
      );
      assert.equal(
        rungs.length,
        1,
        `trial ${job.trial} rung ${job.rung} ran ${rungs.length} times`,
      );
    }
    // The queue's copy of the journal is the run directory's.
    const ids = readJournal(out).length;
    assert.ok(ids >= 44, `${ids} journal events for 22 jobs`);
  });
});
