/**
 * The queued mode of the search bench (issue 20): what a Redis queue costs a sweep against the
 * worker-thread pool a user would otherwise run, on one machine, in the same run.
 *
 * 1. Queue overhead per trial: `jobs` one-step trials one after another (one in flight), through
 *    the pool (one thread) and through the queue (one `anneal worker` process). The trials are the
 *    same work, so the difference of the mean times per trial is the queue's cost; the coordinator's
 *    round trip minus the worker's processing time (BullMQ's processedOn/finishedOn) says the same
 *    from the queue's side. Compared with a 10-second trial (the goal: < 2%).
 * 2. Scaling: one successive-halving sweep (9 configurations, 1 -> 3 -> 9 epochs, 13 jobs) run by
 *    the pool with 1 and 2 threads and by 1, 2 and 4 worker processes. anneal-cpu's threads are
 *    divided as the pool divides them (floor(cores / workers), at least 1), so on a 2-core machine
 *    4 workers oversubscribe. Worker start-up is outside the timed part.
 *
 * Needs redis-server (Debian's `redis-server`): it starts one of its own on loopback, no
 * persistence, and stops it. Usage: npm run bench:search-queue [-- --smoke]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRedisUrl, QueueExecutor, trialKind } from '../src/queue/index.js';
import { WorkerPool, type Executor } from '../src/runs/executor.js';
import { parseRecipe, type Recipe } from '../src/runs/recipe.js';
import {
  parseSpace,
  runSearch,
  workerEntry,
  type SearchResult,
  type TrialRequest,
  type TrialResult,
} from '../src/search/index.js';
import { mean } from '../src/stats.js';
import { startRedis, type TestRedis } from '../test/redis.js';
import { repoRoot, writeResult } from './lib/results.js';

export interface QueueOverheadRow {
  executor: 'threads' | 'queue';
  jobs: number;
  /** Mean milliseconds per one-step trial, submitted to result (one in flight). */
  msPerTrial: number;
  /** Queue only: the coordinator's round trip minus the worker's processing time, mean ms. */
  roundTripMinusProcessingMs: number | null;
}

export interface QueueScalingRow {
  executor: 'threads' | 'queue';
  workers: number;
  threadsPerWorker: number;
  wallSeconds: number;
  jobs: number;
  /** The sweep's pick: the same in every row when the executors agree. */
  bestTrial: number | null;
  bestScore: number | null;
}

const SPACE = { 'optimizer.lr': { type: 'loguniform', low: 1e-4, high: 0.3 } };

function settings(smoke: boolean) {
  return smoke
    ? {
        recipe: {
          data: { name: 'synthetic', limit: 240 },
          model: { name: 'mlp', options: { hidden: [8] } },
          batchSize: 32,
        },
        jobs: 5,
        configs: 3,
        resources: { min: 1, max: 3, eta: 3 },
        modes: [
          ['threads', 1],
          ['queue', 1],
          ['queue', 2],
        ] as const,
      }
    : {
        recipe: {
          data: { name: 'mnist', limit: 12000 },
          model: { name: 'mlp', options: { hidden: [128] } },
          batchSize: 64,
        },
        jobs: 40,
        configs: 9,
        resources: { min: 1, max: 9, eta: 3 },
        modes: [
          ['threads', 1],
          ['threads', 2],
          ['queue', 1],
          ['queue', 2],
          ['queue', 4],
        ] as const,
      };
}

interface Worker {
  child: ChildProcess;
  ready: Promise<void>;
}

/** `anneal worker` as a user starts it; ready once it says it is serving. */
function startWorker(redis: TestRedis, queue: string, shared: string, threads: number): Worker {
  const child = spawn(
    process.execPath,
    [
      ...['--import', 'tsx', join(repoRoot, 'src/cli/main.ts'), 'worker'],
      ...['--redis', redis.url, '--queue', queue, '--shared-dir', shared],
      ...['--threads', String(threads)],
    ],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const ready = new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('serving queue')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`anneal worker exited with ${code}: ${out}`)));
  });
  return { child, ready };
}

async function stopWorkers(workers: Worker[]): Promise<void> {
  await Promise.all(
    workers.map(
      (w) =>
        new Promise<void>((resolve) => {
          if (w.child.exitCode !== null) return resolve();
          w.child.once('exit', () => resolve());
          w.child.kill('SIGTERM');
        }),
    ),
  );
}

/** A one-step trial: the same small work through either executor. */
function oneStepTrial(base: Recipe, shared: string, i: number): TrialRequest {
  return {
    job: { trial: i, bracket: 0, rung: 0, from: 0, resource: 1, fidelity: 'truncated' },
    recipe: base,
    dir: join(shared, 'overhead', `trial-${i}`),
    unit: 'ba',
    maxResource: 1,
    valFraction: 0.1,
    splitSeed: 0,
    config: {},
  };
}

export async function queuedBench(smoke: boolean): Promise<void> {
  const s = settings(smoke);
  const cores = availableParallelism();
  const shared = mkdtempSync(join(tmpdir(), 'anneal-bench-queue-'));
  const redis = await startRedis();
  const target = parseRedisUrl(redis.url);
  const started = performance.now();
  const threadsFor = (workers: number) => Math.max(1, Math.floor(cores / workers));
  const recipeFor = (threads?: number) =>
    parseRecipe({ ...s.recipe, ...(threads ? { threads } : {}) }, { source: 'bench queue' });
  try {
    // ---- 1. overhead per trial ---------------------------------------------------------------
    const overhead: QueueOverheadRow[] = [];
    const oneStep = recipeFor(cores);
    {
      const pool = new WorkerPool<TrialRequest, TrialResult>(1, workerEntry());
      await pool.run(oneStepTrial(oneStep, shared, -1)); // the thread's first load, untimed
      const t0 = performance.now();
      for (let i = 0; i < s.jobs; i++) await pool.run(oneStepTrial(oneStep, shared, i));
      overhead.push({
        executor: 'threads',
        jobs: s.jobs,
        msPerTrial: (performance.now() - t0) / s.jobs,
        roundTripMinusProcessingMs: null,
      });
      await pool.close();
    }
    {
      const worker = startWorker(redis, 'overhead', shared, cores);
      await worker.ready;
      const queue = await QueueExecutor.open({
        redis: target,
        queue: 'overhead',
        kind: trialKind,
        sharedDir: shared,
        runId: 'overhead',
      });
      await queue.run(oneStepTrial(oneStep, shared, 1000), { id: 'warm' });
      const rounds: number[] = [];
      const t0 = performance.now();
      for (let i = 0; i < s.jobs; i++) {
        const submitted = Date.now();
        await queue.run(oneStepTrial(oneStep, shared, 1001 + i), { id: `t${i}` });
        const answered = Date.now();
        const job = (await queue.queue.getJob(queue.jobId(`t${i}`)))!;
        rounds.push(answered - submitted - (job.finishedOn! - job.processedOn!));
      }
      overhead.push({
        executor: 'queue',
        jobs: s.jobs,
        msPerTrial: (performance.now() - t0) / s.jobs,
        roundTripMinusProcessingMs: mean(rounds),
      });
      await queue.close();
      await stopWorkers([worker]);
    }
    for (const o of overhead) console.log(`overhead: ${JSON.stringify(o)}`);

    // ---- 2. scaling ---------------------------------------------------------------------------
    const scaling: QueueScalingRow[] = [];
    for (const [kind, workers] of s.modes) {
      const threads = threadsFor(workers);
      // The pool divides anneal-cpu's threads itself; the queue's recipe carries the same share.
      const base = recipeFor(kind === 'queue' ? threads : undefined);
      const space = parseSpace(SPACE, 'bench space', base);
      const queueName = `scaling-${workers}`;
      const procs =
        kind === 'queue'
          ? [...Array(workers)].map(() => startWorker(redis, queueName, shared, threads))
          : [];
      await Promise.all(procs.map((p) => p.ready));
      const executor: Executor<TrialRequest, TrialResult> =
        kind === 'queue'
          ? await QueueExecutor.open({
              redis: target,
              queue: queueName,
              kind: trialKind,
              sharedDir: shared,
              runId: queueName,
            })
          : new WorkerPool<TrialRequest, TrialResult>(workers, workerEntry());
      const t0 = performance.now();
      let result: SearchResult;
      try {
        result = await runSearch({
          space,
          base,
          scheduler: 'sha',
          maxResource: `${s.resources.max}ep`,
          minResource: `${s.resources.min}ep`,
          eta: s.resources.eta,
          configs: s.configs,
          workers,
          seed: 0,
          out: join(shared, `${kind}-${workers}`),
          executor,
        });
      } finally {
        await executor.close();
        await stopWorkers(procs);
      }
      const row: QueueScalingRow = {
        executor: kind,
        workers,
        threadsPerWorker: threads,
        wallSeconds: (performance.now() - t0) / 1000,
        jobs: result.trials.reduce((n, t) => n + t.results.length, 0),
        bestTrial: result.best?.trial ?? null,
        bestScore: result.best?.score ?? null,
      };
      scaling.push(row);
      console.log(`scaling: ${JSON.stringify(row)}`);
    }

    const minutes = (performance.now() - started) / 60000;
    const path = writeResult(
      'search-queue',
      {
        config: {
          recipe: s.recipe,
          space: SPACE,
          scheduler: 'sha',
          configs: s.configs,
          resources: { ...s.resources, unit: 'ep' },
          cores,
          overheadJobs: s.jobs,
          redis: 'redis-server on loopback, no persistence (started by the bench)',
        },
        overhead,
        scaling,
        minutes,
      },
      { smoke },
    );
    console.log(`${minutes.toFixed(1)} minutes; wrote ${path}`);
  } finally {
    await redis.stop();
    rmSync(shared, { recursive: true, force: true });
  }
}
