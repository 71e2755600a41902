/**
 * `anneal curve --redis`: the runs go to a loopback redis-server as curve-run jobs, an `anneal
 * worker` process trains them (2 at a time), and curve.json is the one of the same command run
 * one after another in-process (tfjs-cpu and the js kernels: the same bits in any process).
 * Skipped with a reason where no redis-server is installed (a failure under CI=true).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { CurvePoint } from '../../src/tradeoff/index.js';
import { anneal, root } from '../cli/helpers.js';
import { redisSkip, startRedis, type TestRedis } from '../redis.js';

const args = [
  ...'curve --data synthetic --limit 200 --test-limit 60 --model mlp --batch-size 20'.split(' '),
  ...'--backend cpu --kernels js --threads 1 --recipes baseline,label-smoothing'.split(' '),
  ...'--cycles 2 --first-cycle 0.5ep --seeds 2 --multi-run --no-progress'.split(' '),
];

const untimed = (points: CurvePoint[]) =>
  points.map(({ trainSeconds: _t, evalSeconds: _e, ...rest }) => rest);

describe('anneal curve on a Redis queue', { skip: redisSkip() }, () => {
  let redis: TestRedis;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis?.stop();
  });

  test('an anneal worker trains the runs, and curve.json is the one run in-process', async () => {
    const shared = mkdtempSync(join(tmpdir(), 'anneal-curve-queue-'));
    const worker = spawn(
      process.execPath,
      [
        ...['--import', 'tsx', join(root, 'src/cli/main.ts'), 'worker', '--redis', redis.url],
        ...['--queue', 'curves', '--concurrency', '2', '--shared-dir', shared],
      ],
      { cwd: root, env: { ...process.env, ANNEAL_KERNELS: 'js' } },
    );
    let log = '';
    worker.stdout.on('data', (d) => (log += d));
    worker.stderr.on('data', (d) => (log += d));
    const exited = new Promise<number | null>((done) => worker.on('exit', (code) => done(code)));
    const out = join(shared, 'curve');
    let queued;
    try {
      queued = anneal([
        ...args,
        ...['--redis', redis.url, '--queue', 'curves', '--shared-dir', shared, '--out', out],
      ]);
    } finally {
      worker.kill('SIGTERM');
    }
    assert.equal(await exited, 0, log);
    assert.equal(queued.code, 0, queued.stderr);
    assert.match(queued.stdout, /runs queued on Redis/);
    // Every run was a job of the worker's.
    assert.equal(log.match(/: done in /g)?.length, 6, log);

    const seqOut = join(mkdtempSync(join(tmpdir(), 'anneal-curve-seq-')), 'curve');
    const sequential = anneal([...args, '--out', seqOut]);
    assert.equal(sequential.code, 0, sequential.stderr);
    const got = JSON.parse(readFileSync(join(out, 'curve.json'), 'utf8'));
    const want = JSON.parse(readFileSync(join(seqOut, 'curve.json'), 'utf8'));
    assert.deepEqual(Object.keys(got), Object.keys(want));
    for (const key of ['settings', 'base', 'schedules', 'complete']) {
      assert.deepEqual(got[key], want[key], key);
    }
    assert.deepEqual(untimed(got.points), untimed(want.points));
    // Each run logged in the shared directory, its points those of curve.json.
    const run = join(out, 'runs', 'curve', 'label-smoothing', 'seed-1', 'single');
    const saved = JSON.parse(readFileSync(join(run, 'points.json'), 'utf8'));
    assert.deepEqual(
      untimed(saved.points),
      untimed(got.points).filter((p) => p.recipe === 'label-smoothing' && p.seed === 1),
    );
    assert.match(readFileSync(join(run, 'log.jsonl'), 'utf8'), /"event":"point"/);
  });
});
