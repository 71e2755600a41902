/**
 * The queue with a real redis-server on loopback (test/redis.ts): a QueueExecutor and in-process
 * workers run fake tasks (helpers.ts) that count steps in worker threads, so what is tested is
 * the queue's behaviour: results, progress, refusals, retries, idempotence, stopping, the journal.
 */
import assert from 'node:assert/strict';
import type { EventEmitter } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import {
  bullConnection,
  checkRedis,
  parseRedisUrl,
  QueueExecutor,
  startQueueWorker,
  type QueueWorker,
  type RedisTarget,
  type WorkerEvent,
} from '../../src/queue/index.js';
import { isTaskInterrupted } from '../../src/runs/executor.js';
import { isAnnealError } from '../../src/errors.js';
import { redisSkip, startRedis, type TestRedis } from '../redis.js';
import { fakeEntry, fakeKind, fakeKinds, type FakeRequest } from './helpers.js';

const skip = redisSkip();

describe('queue on a loopback redis-server', { skip }, () => {
  let redis: TestRedis;
  let target: RedisTarget;
  let shared: string;
  let serial = 0;

  before(async () => {
    redis = await startRedis();
    target = parseRedisUrl(redis.url);
    shared = mkdtempSync(join(tmpdir(), 'anneal-queue-'));
  });
  after(async () => {
    await redis?.stop();
  });

  /** A queue of its own per test, so no test sees another's jobs. */
  const fresh = () => `q${serial++}`;

  const executor = (queue: string, extra: { attempts?: number; runId?: string } = {}) =>
    QueueExecutor.open({
      redis: target,
      queue,
      kind: fakeKind,
      sharedDir: shared,
      runId: extra.runId ?? 'run',
      attempts: extra.attempts,
      backoffMs: 10,
    });

  const worker = (queue: string, events: WorkerEvent[] = [], concurrency = 1) =>
    startQueueWorker({
      redis: target,
      queue,
      concurrency,
      sharedDir: shared,
      kinds: fakeKinds,
      entry: fakeEntry,
      onEvent: (e) => events.push(e),
    });

  const request = (x: number, extra: Partial<FakeRequest> = {}): FakeRequest => ({
    x,
    steps: 3,
    stepMs: 1,
    ...extra,
  });

  test('jobs run on a worker and their results and progress come back', async () => {
    const queue = fresh();
    const exec = await executor(queue);
    const w = await worker(queue, [], 2);
    try {
      const progress: number[] = [];
      const results = await Promise.all(
        [1, 2, 3].map((x) =>
          exec.run(request(x), {
            id: `task-${x}`,
            onProgress: (p) => x === 1 && progress.push(p.step),
          }),
        ),
      );
      assert.deepEqual(
        results.map((r) => r.y),
        [2, 4, 6],
      );
      // Progress is reported at most once a second, and always at the last step.
      assert.ok(progress.includes(3), `progress ${progress}`);
      // The progress lines' worker count (status()) saw the worker that started after the
      // executor: a job starting asks again, well before the next poll (every 5 s).
      const deadline = performance.now() + 2_000;
      while (exec.status().workers !== 1 && performance.now() < deadline) await sleep(10);
      assert.equal(exec.status().workers, 1, 'workers seen by the progress lines');
      const stats = await exec.stats();
      assert.deepEqual(
        { queued: stats.queued, running: stats.running, done: stats.done, failed: stats.failed },
        { queued: 0, running: 0, done: 3, failed: 0 },
      );
      assert.equal(stats.workers, 1);
      assert.equal(exec.jobId('trial-007/rung:1'), 'run.trial-007/rung%3A1');
    } finally {
      await w.stop();
      await exec.close();
    }
  });

  test('a malformed job pushed into the queue is refused, not retried, and the worker goes on', async () => {
    const queue = fresh();
    const events: WorkerEvent[] = [];
    const w = await worker(queue, events);
    const exec = await executor(queue);
    const raw = new Queue(queue, { connection: bullConnection(target) });
    try {
      const bad = [
        { name: 'fake', data: { version: 1, request: { x: 'one', steps: 3, stepMs: 1 } } },
        { name: 'fake', data: { version: 1, request: { ...request(1), dir: '../../etc' } } },
        { name: 'fake', data: { version: 1, request: { ...request(1), dir: '/etc' } } },
        { name: 'fake', data: { version: 2, request: request(1) } },
        { name: 'rm-rf', data: { version: 1, request: {} } },
      ];
      const jobs = [];
      for (const b of bad) jobs.push(await raw.add(b.name, b.data, { attempts: 3 }));
      const ok = await exec.run(request(5), { id: 'after' });
      assert.equal(ok.y, 10, 'the worker kept serving');
      const reasons = [];
      for (const job of jobs) {
        const j = (await raw.getJob(job.id!))!;
        assert.equal(await j.getState(), 'failed');
        assert.equal(j.attemptsMade, 1, 'refused once, not retried');
        reasons.push(j.failedReason);
      }
      assert.match(reasons[0], /^fake payload: x: expected number, received string$/);
      assert.match(
        reasons[1],
        /^fake payload: dir: "\.\.\/\.\.\/etc" is not a path inside the shared directory .*; refused$/,
      );
      assert.match(
        reasons[2],
        /^fake payload: dir: "\/etc" is not a path inside the shared directory/,
      );
      assert.match(reasons[3], /^fake payload: version: expected 1$/i);
      assert.match(reasons[4], /^unknown job kind "rm-rf": this worker runs fake$/);
      assert.equal(events.filter((e) => e.type === 'refused').length, 5);
      assert.equal(events.filter((e) => e.type === 'start').length, 1);
    } finally {
      await raw.close();
      await w.stop();
      await exec.close();
    }
  });

  test('one task id is one job: its result is recorded once, and a finished one is not run again', async () => {
    const queue = fresh();
    const events: WorkerEvent[] = [];
    const exec = await executor(queue);
    const w = await worker(queue, events);
    try {
      const [a, b] = await Promise.all([
        exec.run(request(4), { id: 'same' }),
        exec.run(request(4), { id: 'same' }),
      ]);
      assert.deepEqual(a, b);
      // A second coordinator (a resumed sweep) asking for the finished task gets its result.
      const again = await executor(queue);
      try {
        assert.deepEqual(await again.run(request(4), { id: 'same' }), a);
      } finally {
        await again.close();
      }
      assert.equal(events.filter((e) => e.type === 'start').length, 1, 'ran once');
      // A second completion event of the same job (a stalled job's duplicate run) changes nothing.
      const emitter = (exec as unknown as { events: EventEmitter }).events;
      emitter.emit('completed', { jobId: exec.jobId('same'), returnvalue: { y: -1, from: 0 } });
      assert.equal((await exec.stats()).done, 1, 'recorded once');
      const counts = await exec.queue.getJobCounts('completed', 'waiting', 'active');
      assert.deepEqual(counts, { completed: 1, waiting: 0, active: 0 });
    } finally {
      await w.stop();
      await exec.close();
    }
  });

  test('a task that throws is retried, then fails with its message', async () => {
    const queue = fresh();
    const events: WorkerEvent[] = [];
    const exec = await executor(queue, { attempts: 2 });
    const w = await worker(queue, events);
    try {
      await assert.rejects(exec.run(request(1, { fail: 'loss is NaN' }), { id: 'nan' }), {
        message: 'loss is NaN',
      });
      const failed = events.filter((e) => e.type === 'failed');
      assert.deepEqual(
        failed.map((e) => e.type === 'failed' && `${e.attempt}/${e.attempts}`),
        ['1/2', '2/2'],
      );
      assert.equal((await exec.stats()).failed, 1);
    } finally {
      await w.stop();
      await exec.close();
    }
  });

  test('an abort removes a job no worker has started', async () => {
    const queue = fresh();
    const exec = await executor(queue);
    try {
      const controller = new AbortController();
      const run = exec.run(request(1), { id: 'waiting', signal: controller.signal });
      // Until the job is in Redis there is nothing to remove.
      while ((await exec.queue.getJobCounts('waiting')).waiting === 0) await tick();
      controller.abort();
      await assert.rejects(run, (e: unknown) => isTaskInterrupted(e));
      assert.equal(await exec.queue.getJob(exec.jobId('waiting')), undefined);
    } finally {
      await exec.close();
    }
  });

  test('a stopped worker puts its running job back in the queue, and another resumes it', async () => {
    const queue = fresh();
    const first: WorkerEvent[] = [];
    const exec = await executor(queue);
    const w1 = await worker(queue, first);
    let w2: QueueWorker | undefined;
    try {
      const dir = join(shared, 'resumed');
      const steps: number[] = [];
      const run = exec.run(request(21, { steps: 200, stepMs: 5, dir }), {
        id: 'long',
        onProgress: (p) => steps.push(p.step),
      });
      while (steps.length === 0) await tick();
      await w1.stop();
      const job = (await exec.queue.getJob(exec.jobId('long')))!;
      assert.equal(await job.getState(), 'waiting', 'back in the queue, not failed');
      assert.equal(job.attemptsMade, 0, 'no attempt spent');
      assert.deepEqual(
        first.map((e) => e.type),
        ['start', 'returned'],
      );
      w2 = await worker(queue);
      const result = await run;
      assert.equal(result.y, 42);
      assert.ok(result.from > 0, `resumed from its checkpoint (from ${result.from})`);
    } finally {
      await w2?.stop();
      await exec.close();
    }
  });

  test('the journal keeps entries in order per run', async () => {
    const queue = fresh();
    const a = await executor(queue, { runId: 'a' });
    const b = await executor(queue, { runId: 'b' });
    try {
      await a.journal().append({ job: 1, score: 0.5 });
      await b.journal().append({ job: 1, error: 'x' });
      await a.journal().append({ job: 2, score: 0.7 });
      assert.deepEqual(await a.journal().read(), [
        { job: 1, score: 0.5 },
        { job: 2, score: 0.7 },
      ]);
      assert.deepEqual(await b.journal().read(), [{ job: 1, error: 'x' }]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('a wrong password is one line naming the server', async () => {
    const wrong = parseRedisUrl(`redis://:nope@127.0.0.1:${redis.port}`);
    await assert.rejects(checkRedis(wrong), (e: unknown) => {
      assert.ok(isAnnealError(e));
      assert.match(
        e.message,
        new RegExp(
          `^Redis at 127\\.0\\.0\\.1:${redis.port} refused the credentials \\(.+\\): give the password in the URL`,
        ),
      );
      assert.doesNotMatch(e.message, /\n/);
      return true;
    });
  });
});

function tick(): Promise<void> {
  return new Promise((r) => setTimeout(r, 20));
}
