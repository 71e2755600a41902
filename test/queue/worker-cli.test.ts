/**
 * `anneal worker` as a user runs it: a bad --redis is one line, and SIGTERM stops the trial it
 * runs at its next step, checkpointed, puts its job back in the queue (not failed, no attempt
 * spent) and exits 0; another worker then finishes the trial from the checkpoint.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  parseRedisUrl,
  QueueExecutor,
  startQueueWorker,
  trialKind,
  type QueueWorker,
} from '../../src/queue/index.js';
import type { TrialRequest } from '../../src/search/index.js';
import { anneal, assertUserError, root } from '../cli/helpers.js';
import { redisSkip, startRedis, type TestRedis } from '../redis.js';
import { base } from '../search/helpers.js';

test('anneal worker: a bad --redis, or one that is not there, is one line', () => {
  assertUserError(
    anneal(['worker', '--redis', 'localhost:6379']),
    '--redis "localhost:6379" is not a Redis URL',
    'redis://',
  );
  assertUserError(
    anneal(['worker', '--redis', 'redis://:pw@127.0.0.1:1']),
    'cannot reach Redis at 127.0.0.1:1 (connection refused): start redis-server',
  );
});

describe('anneal worker and SIGTERM', { skip: redisSkip() }, () => {
  let redis: TestRedis;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis?.stop();
  });

  test('SIGTERM puts the running trial back in the queue, and another worker finishes it', async () => {
    const shared = mkdtempSync(join(tmpdir(), 'anneal-worker-cli-'));
    const target = parseRedisUrl(redis.url);
    const exec = await QueueExecutor.open({
      redis: target,
      queue: 'cli',
      kind: trialKind,
      sharedDir: shared,
      runId: 'cli',
    });
    const child = spawn(
      process.execPath,
      [
        ...['--import', 'tsx', join(root, 'src/cli/main.ts'), 'worker'],
        ...['--redis', redis.url, '--queue', 'cli', '--shared-dir', shared],
      ],
      { cwd: root, env: { ...process.env, ANNEAL_KERNELS: 'js' } },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    let second: QueueWorker | undefined;
    try {
      // 216 training samples at batch 32: 7 steps an epoch, 2100 steps in all.
      const request: TrialRequest = {
        job: { trial: 0, bracket: 0, rung: 0, resource: 300, from: 0, fidelity: 'truncated' },
        recipe: { ...base, logEvery: 1000 },
        dir: join(shared, 'trials', 'trial-000'),
        unit: 'ep',
        maxResource: 300,
        valFraction: 0.1,
        splitSeed: 0,
        config: {},
      };
      let steps = 0;
      const result = exec.run(request, {
        id: 'trial-000/rung-0',
        onProgress: (p) => (steps = p.step),
      });
      while (steps === 0) {
        assert.equal(child.exitCode, null, `the worker exited: ${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      child.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
      assert.match(
        stdout,
        /job cli\.trial-000\/rung-0: trial 0, rung 0 \(0ep to 300ep\): started \(attempt 1 of 3\)\n/,
      );
      assert.match(
        stdout,
        /job cli\.trial-000\/rung-0: trial 0, rung 0 \(0ep to 300ep\): stopped, checkpointed and back in the queue\n/,
      );
      assert.match(stdout, /anneal worker: stopped\n$/);
      const job = (await exec.queue.getJob(exec.jobId('trial-000/rung-0')))!;
      assert.equal(await job.getState(), 'waiting', 'back in the queue, not failed');
      assert.equal(job.attemptsMade, 0, 'no attempt spent');

      second = await startQueueWorker({ redis: target, queue: 'cli', sharedDir: shared });
      const done = await result;
      assert.equal(done.steps, 2100);
      const log = readFileSync(join(shared, 'trials', 'trial-000', 'log.jsonl'), 'utf8');
      assert.match(log, /"event":"resume"/, 'the second worker resumed the checkpoint');
      assert.ok(Number.isFinite(done.score));
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await second?.stop();
      await exec.close();
    }
  });
});
