/**
 * `anneal worker` as a user runs it: a bad --redis is one line; SIGTERM stops the trial it runs
 * at its next step, checkpointed, puts its job back in the queue (not failed, no attempt spent)
 * and exits 0; SIGKILL leaves the job locked until its lock expires, when another worker's
 * stalled check takes it. Either way another worker finishes the trial from its checkpoint.
 */
import assert from 'node:assert/strict';
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
import type { TrialRequest, TrialResult } from '../../src/search/index.js';
import { anneal, assertUserError, spawnAnneal } from '../cli/helpers.js';
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

const spawnWorker = (args: string[]) => spawnAnneal(['worker', ...args]);

/**
 * Trial 0's first rung: 216 training samples at batch 32, 7 steps an epoch, 8,400 steps: long
 * enough that an idle machine is still training it after the worker's first progress report
 * (once a second), which is when the tests below stop the worker (2,100 steps finished before
 * the first report there, and the SIGKILL found the job completed).
 */
function trial(shared: string): TrialRequest {
  return {
    job: { trial: 0, bracket: 0, rung: 0, resource: 1200, from: 0, fidelity: 'truncated' },
    recipe: { ...base, logEvery: 1000 },
    dir: join(shared, 'trials', 'trial-000'),
    unit: 'ep',
    maxResource: 1200,
    valFraction: 0.1,
    splitSeed: 0,
    config: {},
  };
}

describe('anneal worker stopped mid-trial', { skip: redisSkip() }, () => {
  let redis: TestRedis;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis?.stop();
  });

  /** Queues the trial on `queue`, starts `anneal worker`, waits until the trial passes `step`. */
  async function started(queue: string, step: number, args: string[] = []) {
    const shared = mkdtempSync(join(tmpdir(), 'anneal-worker-cli-'));
    const target = parseRedisUrl(redis.url);
    const exec = await QueueExecutor.open({
      redis: target,
      queue,
      kind: trialKind,
      sharedDir: shared,
      runId: queue,
    });
    const worker = spawnWorker([
      ...['--redis', redis.url, '--queue', queue, '--shared-dir', shared],
      ...args,
    ]);
    let steps = 0;
    const result: Promise<TrialResult> = exec.run(trial(shared), {
      id: 'trial-000/rung-0',
      onProgress: (p) => (steps = p.step),
    });
    while (steps <= step) {
      assert.equal(worker.child.exitCode, null, `the worker exited: ${worker.stderr()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return { shared, target, exec, worker, result };
  }

  test('SIGTERM puts the running trial back in the queue, and another worker finishes it', async () => {
    const { shared, target, exec, worker, result } = await started('term', 0);
    let second: QueueWorker | undefined;
    try {
      worker.child.kill('SIGTERM');
      assert.equal(await worker.exited, 0, worker.stderr());
      const what = 'job term.trial-000/rung-0: trial 0, rung 0 (0ep to 1200ep)';
      assert.ok(worker.stdout().includes(`${what}: started (attempt 1 of 3)\n`), worker.stdout());
      assert.ok(
        worker.stdout().includes(`${what}: stopped, checkpointed and back in the queue\n`),
        worker.stdout(),
      );
      assert.match(worker.stdout(), /anneal worker: stopped\n$/);
      const job = (await exec.queue.getJob(exec.jobId('trial-000/rung-0')))!;
      assert.equal(await job.getState(), 'waiting', 'back in the queue, not failed');
      assert.equal(job.attemptsMade, 0, 'no attempt spent');

      second = await startQueueWorker({ redis: target, queue: 'term', sharedDir: shared });
      const done = await result;
      assert.equal(done.steps, 8400);
      assert.ok(Number.isFinite(done.score));
      const log = readFileSync(join(shared, 'trials', 'trial-000', 'log.jsonl'), 'utf8');
      assert.match(log, /"event":"resume"/, 'the second worker resumed the checkpoint');
    } finally {
      if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
      await second?.stop();
      await exec.close();
    }
  });

  test("SIGKILL: the job stalls, and another worker's stalled check resumes it", async () => {
    // Past the first quarter of the rung (2,100 steps), where the trial checkpoints.
    const { shared, target, exec, worker, result } = await started('kill', 2200, [
      ...['--lock-duration', '2'],
    ]);
    let second: QueueWorker | undefined;
    try {
      worker.child.kill('SIGKILL');
      await worker.exited;
      const id = exec.jobId('trial-000/rung-0');
      assert.equal(await (await exec.queue.getJob(id))!.getState(), 'active', 'still locked');
      second = await startQueueWorker({
        redis: target,
        queue: 'kill',
        sharedDir: shared,
        stalledIntervalMs: 500,
      });
      const done = await result;
      assert.equal(done.steps, 8400);
      const job = (await exec.queue.getJob(id))!;
      assert.equal(
        job.attemptsMade,
        1,
        'one completed attempt: the stalled run is not counted as a failure',
      );
      assert.equal(job.attemptsStarted, 2);
      const log = readFileSync(join(shared, 'trials', 'trial-000', 'log.jsonl'), 'utf8');
      assert.match(log, /"event":"resume"/, 'the second worker resumed the checkpoint');
    } finally {
      await second?.stop();
      await exec.close();
    }
  });
});
