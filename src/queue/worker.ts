/**
 * The worker side of the queue (`anneal worker`): a BullMQ Worker that takes jobs from one queue,
 * checks each payload (src/queue/payload.ts) and runs its task in a pool of worker threads
 * (WorkerPool on task-worker.ts), so TensorFlow.js's synchronous compute never blocks the main
 * thread, which renews the jobs' locks in Redis.
 *
 * - A payload that does not check (wrong types, a path outside the shared directory, an unknown
 *   kind) fails its job at once with one line (UnrecoverableError: not retried); the worker goes on.
 * - A task that throws fails that attempt; BullMQ retries the job up to its attempts.
 * - stop() (SIGTERM, SIGINT in `anneal worker`): every running task stops at its next step,
 *   checkpointed, and its job goes back to the queue (not failed, no attempt spent), where any
 *   worker resumes it; then the worker closes.
 * - A worker that dies (SIGKILL, a lost machine) stops renewing its jobs' locks: after
 *   `lockDurationMs` another worker's stalled check (every `stalledIntervalMs`) puts them back in
 *   the queue, up to `maxStalledCount` times, and they resume from their last checkpoint.
 */
import { hostname } from 'node:os';
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import { UsageError } from '../errors.js';
import {
  isTaskInterrupted,
  WorkerPool,
  workerModule,
  type TaskProgress,
} from '../runs/executor.js';
import { bullConnection, checkRedis, type RedisTarget } from './connection.js';
import { checkQueueName, DEFAULT_QUEUE } from './executor.js';
import { decodeJob, JOB_KINDS, PayloadError, type JobKind, type QueueTask } from './payload.js';

export interface QueueWorkerOptions {
  redis: RedisTarget;
  /** Default 'anneal'. */
  queue?: string;
  /** Jobs run at once, each in its own worker thread (default 1). */
  concurrency?: number;
  /** Where job paths resolve, and the only place they may point (default the current directory). */
  sharedDir?: string;
  /** How long a job's lock lasts without renewal (default 60 s; renewed every half of it). */
  lockDurationMs?: number;
  /** How often this worker looks for other workers' stalled jobs (default 30 s). */
  stalledIntervalMs?: number;
  /** Times a job may stall (its worker died) and be run again before it fails (default 2). */
  maxStalledCount?: number;
  /**
   * anneal-cpu's threads for each job, over the count its recipe carries (a search's coordinator
   * divides its own machine's cores among its workers: this machine may have more or fewer).
   */
  threads?: number;
  /** The kinds of job served (default JOB_KINDS: trial, curve-run). */
  kinds?: Readonly<Record<string, JobKind<unknown, unknown>>>;
  /** The worker-thread module that runs the tasks (default task-worker.ts). */
  entry?: URL;
  /** The worker's name in Redis (default `<host>-<pid>`). */
  name?: string;
  onEvent?: (event: WorkerEvent) => void;
}

interface JobEvent {
  jobId: string;
  kind: string;
}

export type WorkerEvent =
  | (JobEvent & { type: 'start'; what: string; attempt: number; attempts: number })
  | (JobEvent & { type: 'done'; what: string; seconds: number; result: unknown })
  | (JobEvent & {
      type: 'failed';
      what: string;
      error: string;
      attempt: number;
      attempts: number;
    })
  /** The payload did not check: the job failed without running. */
  | (JobEvent & { type: 'refused'; error: string })
  /** Stopped by stop(): back in the queue. */
  | (JobEvent & { type: 'returned'; what: string })
  | { type: 'error'; error: string };

export interface QueueWorker {
  readonly name: string;
  readonly sharedDir: string;
  /** Stops the running tasks (checkpointed), puts their jobs back in the queue and closes. */
  stop(): Promise<void>;
}

/** The worker-thread entry: task-worker.js next to this file, or task-worker.ts from source. */
export function taskWorkerEntry(): URL {
  return workerModule(import.meta.url, 'task-worker');
}

/** A request whose recipe trains anneal-cpu on `threads` threads. */
function withThreads(request: unknown, threads: number): unknown {
  const r = request as { recipe?: unknown };
  if (typeof r !== 'object' || r === null || typeof r.recipe !== 'object' || r.recipe === null) {
    return request;
  }
  return { ...r, recipe: { ...r.recipe, threads } };
}

/** At most one progress report a second per job (each is a Redis write and an event). */
const PROGRESS_EVERY_MS = 1000;

export async function startQueueWorker(opts: QueueWorkerOptions): Promise<QueueWorker> {
  const queueName = checkQueueName(opts.queue ?? DEFAULT_QUEUE);
  const concurrency = opts.concurrency ?? 1;
  const sharedDir = resolve(opts.sharedDir ?? '.');
  let isDir = false;
  try {
    isDir = statSync(sharedDir).isDirectory();
  } catch {
    // reported below
  }
  if (!isDir) {
    throw new UsageError(
      'ANNEAL_BAD_SHARED_DIR',
      `--shared-dir ${opts.sharedDir ?? '.'} is not a directory: give the directory the coordinator's ` +
        '--shared-dir is mounted at on this machine',
    );
  }
  const lockDuration = opts.lockDurationMs ?? 60_000;
  const stalledInterval = opts.stalledIntervalMs ?? 30_000;
  const kinds = opts.kinds ?? JOB_KINDS;
  const emit = opts.onEvent ?? (() => {});
  await checkRedis(opts.redis);

  const pool = new WorkerPool<QueueTask, unknown>(concurrency, opts.entry ?? taskWorkerEntry());
  const running = new Map<string, AbortController>();
  let stopping = false;
  const name = opts.name ?? `${hostname()}-${process.pid}`;

  const processor = async (job: Job, token?: string): Promise<unknown> => {
    const jobId = job.id ?? '?';
    let kind: JobKind<unknown, unknown>;
    let request: unknown;
    try {
      ({ kind, request } = decodeJob(kinds, job.name, job.data, sharedDir));
    } catch (e) {
      const error = e instanceof PayloadError ? e.message : `bad payload: ${String(e)}`;
      emit({ type: 'refused', jobId, kind: job.name, error });
      throw new UnrecoverableError(error);
    }
    if (opts.threads !== undefined) request = withThreads(request, opts.threads);
    const what = kind.describe(request);
    const backToQueue = async (): Promise<never> => {
      await job.moveToWait(token);
      emit({ type: 'returned', jobId, kind: kind.name, what });
      throw new WaitingError();
    };
    if (stopping) return backToQueue();
    const attempts = job.opts.attempts ?? 1;
    const attempt = job.attemptsMade + 1;
    emit({ type: 'start', jobId, kind: kind.name, what, attempt, attempts });
    const controller = new AbortController();
    running.set(jobId, controller);
    const started = performance.now();
    let last = 0;
    const onProgress = (p: TaskProgress) => {
      const now = performance.now();
      if (now - last < PROGRESS_EVERY_MS && p.step < p.steps) return;
      last = now;
      job.updateProgress({ step: p.step, steps: p.steps }).catch(() => {});
    };
    try {
      const result = await pool.run(
        { kind: kind.name, request },
        { signal: controller.signal, onProgress },
      );
      emit({
        type: 'done',
        jobId,
        kind: kind.name,
        what,
        seconds: (performance.now() - started) / 1000,
        result,
      });
      return result;
    } catch (e) {
      if (stopping && isTaskInterrupted(e)) return backToQueue();
      const error = e instanceof Error ? e.message : String(e);
      emit({ type: 'failed', jobId, kind: kind.name, what, error, attempt, attempts });
      throw new Error(error);
    } finally {
      running.delete(jobId);
    }
  };

  const worker = new Worker(queueName, processor, {
    connection: bullConnection(opts.redis),
    concurrency,
    name,
    lockDuration,
    stalledInterval,
    maxStalledCount: opts.maxStalledCount ?? 2,
  });
  worker.on('error', (e) => emit({ type: 'error', error: e.message }));
  await worker.waitUntilReady();

  let stopped: Promise<void> | null = null;
  return {
    name,
    sharedDir,
    stop: () =>
      (stopped ??= (async () => {
        stopping = true;
        // No new jobs; close() waits for the running ones, which stop at their next step.
        const closing = worker.close();
        for (const controller of running.values()) controller.abort();
        await closing;
        await pool.close();
      })()),
  };
}
