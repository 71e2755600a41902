/**
 * QueueExecutor: the Executor (src/runs/executor.ts) that puts each task on a BullMQ queue in
 * Redis as one job, for `anneal worker`s on any machine, and waits for its outcome.
 *
 * - A task's stable name (TaskOptions.id) is its job's id, prefixed with the sweep's run id
 *   (`<runId>.<task id>`), so two sweeps on one Redis never mix, the same task enqueued twice is
 *   one job, and a task already finished in Redis (a resumed sweep) is answered without running.
 * - One promise per job id: a job's result is delivered once, however many completion events or
 *   duplicate runs there are.
 * - A job that fails `attempts` times (default 3, exponential back-off) rejects with its last
 *   failure's message; a worker's refusal (a bad payload) fails it at once.
 * - An aborted signal removes the job while it is still waiting (the promise rejects with
 *   TaskInterrupted). A job a worker has started runs to its end: the abort does nothing to it and
 *   its result still arrives. To stop running jobs, stop their workers (SIGTERM puts the jobs back
 *   in the queue, checkpointed).
 */
import { randomUUID } from 'node:crypto';
import { Queue, QueueEvents, type Job } from 'bullmq';
import {
  TaskInterrupted,
  type Executor,
  type ExecutorStatus,
  type TaskOptions,
  type TaskProgress,
} from '../runs/executor.js';
import { UsageError } from '../errors.js';
import { bullConnection, checkRedis, redisClient, type RedisTarget } from './connection.js';
import { RedisJournal } from './journal.js';
import { encodeJob, type JobKind } from './payload.js';

export const DEFAULT_QUEUE = 'anneal';

export interface QueueExecutorOptions<Request, Result> {
  redis: RedisTarget;
  /** The queue's name (default 'anneal'); workers serve one queue. */
  queue?: string;
  kind: JobKind<Request, Result>;
  /** The directory every worker reaches; request paths are sent relative to it. */
  sharedDir: string;
  /**
   * Names this sweep's jobs. A function is called at the first job (when the run directory has
   * its marker) and its answer kept.
   */
  runId: string | (() => string);
  /** Runs of a job before it is failed (default 3). */
  attempts?: number;
  /** The first retry's delay; each next one doubles it (default 2000 ms). */
  backoffMs?: number;
}

/** What the coordinator's progress line shows: this sweep's jobs, and the queue's workers. */
export interface QueueStats {
  queued: number;
  running: number;
  done: number;
  failed: number;
  /** Workers connected to the queue now. */
  workers: number;
  /** Mean seconds from a job's start to its result, over this sweep's finished jobs. */
  meanSeconds: number | null;
  /** Seconds until the queued and running jobs are done, at the mean job time. */
  etaSeconds: number | null;
}

interface Pending<Result> {
  promise: Promise<Result>;
  resolve: (r: Result) => void;
  reject: (e: Error) => void;
  onProgress?: (p: TaskProgress) => void;
  state: 'adding' | 'queued' | 'running';
  started: number | null;
  /** abort() is removing it: its 'removed' event is the interruption, not a loss. */
  aborting?: boolean;
}

/** Checks a queue name: BullMQ keys are `bull:<name>:...`. */
export function checkQueueName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(name)) {
    throw new UsageError(
      'ANNEAL_BAD_QUEUE',
      `--queue ${JSON.stringify(name)} is not a valid queue name: expected letters, digits, '.', '_' ` +
        "or '-' (at most 100, no ':'), e.g. anneal",
    );
  }
  return name;
}

/** A task id as a BullMQ job id part: ':' is refused there, so ':' and '%' are %-escaped. */
export function escapeJobId(id: string): string {
  return id.replace(/[%:]/g, (c) => (c === '%' ? '%25' : '%3A'));
}

export class QueueExecutor<Request, Result> implements Executor<Request, Result> {
  private readonly pending = new Map<string, Pending<Result>>();
  private readonly durations: number[] = [];
  private done = 0;
  private failed = 0;
  private closed = false;
  private runIdValue: string | null;
  private readonly poll: NodeJS.Timeout;
  private readonly workerPoll: NodeJS.Timeout;
  /** Workers connected to the queue when last asked (every few seconds, and as jobs start). */
  private workersSeen = 0;
  private workersCountedAt = -Infinity;
  private journalClient: ReturnType<typeof redisClient> | null = null;

  private constructor(
    private readonly opts: QueueExecutorOptions<Request, Result>,
    readonly queue: Queue,
    private readonly events: QueueEvents,
  ) {
    this.runIdValue = typeof opts.runId === 'string' ? opts.runId : null;
    events.on('active', ({ jobId }) => {
      const p = this.pending.get(jobId);
      if (p) {
        p.state = 'running';
        p.started = performance.now();
      }
      // A job started, so a worker is there; the last count may predate it (on an idle machine a
      // whole sweep can run between two polls, and every progress line would say 0 workers).
      if (
        this.status().running > this.workersSeen ||
        performance.now() - this.workersCountedAt > 1_000
      )
        void this.countWorkers();
    });
    // Back in the queue: a retry's back-off (delayed), a stopped or stalled job (waiting).
    for (const event of ['waiting', 'delayed'] as const) {
      events.on(event, ({ jobId }: { jobId: string }) => {
        const p = this.pending.get(jobId);
        if (p && p.state !== 'adding') p.state = 'queued';
      });
    }
    events.on('progress', ({ jobId, data }) => {
      const p = this.pending.get(jobId);
      if (p?.onProgress && isProgress(data)) p.onProgress(data);
    });
    events.on('completed', ({ jobId, returnvalue }) => this.complete(jobId, returnvalue));
    events.on('failed', ({ jobId, failedReason }) => this.fail(jobId, failedReason));
    events.on('removed', ({ jobId }) => {
      const p = this.pending.get(jobId);
      if (p)
        this.settle(
          jobId,
          p.aborting ? new TaskInterrupted() : new Error(`job ${jobId} was removed from the queue`),
        );
    });
    // Belt and braces: a job whose events were missed (Redis restarted, the stream trimmed) is
    // looked up now and then.
    this.poll = setInterval(() => void this.reconcileAll(), 15_000).unref();
    this.workerPoll = setInterval(() => void this.countWorkers(), 5_000).unref();
    void this.countWorkers();
  }

  /** Connects (failing with one line when Redis cannot be reached) and starts listening. */
  static async open<Request, Result>(
    opts: QueueExecutorOptions<Request, Result>,
  ): Promise<QueueExecutor<Request, Result>> {
    const name = checkQueueName(opts.queue ?? DEFAULT_QUEUE);
    await checkRedis(opts.redis);
    const connection = bullConnection(opts.redis);
    // Events from now on (the server's clock): none of this sweep's jobs exists yet.
    const probe = redisClient(opts.redis);
    const [seconds, micros] = await probe.time();
    probe.disconnect();
    const lastEventId = `${Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)}-0`;
    const queue = new Queue(name, { connection });
    const events = new QueueEvents(name, { connection, lastEventId });
    queue.on('error', () => {});
    events.on('error', () => {});
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
    return new QueueExecutor(opts, queue, events);
  }

  get runId(): string {
    if (this.runIdValue === null) {
      const id = (this.opts.runId as () => string)();
      this.runIdValue = id;
    }
    return this.runIdValue;
  }

  /** The job id of task `id` in this sweep. */
  jobId(id: string): string {
    return `${escapeJobId(this.runId)}.${escapeJobId(id)}`;
  }

  run(request: Request, opts: TaskOptions = {}): Promise<Result> {
    if (this.closed) return Promise.reject(new Error('the queue executor is closed'));
    if (opts.signal?.aborted) return Promise.reject(new TaskInterrupted());
    let jobId: string;
    let data: unknown;
    try {
      jobId = this.jobId(opts.id ?? `task-${randomUUID()}`);
      data = encodeJob(this.opts.kind, request, this.opts.sharedDir);
    } catch (e) {
      return Promise.reject(e);
    }
    const existing = this.pending.get(jobId);
    if (existing) return existing.promise;
    let resolve!: (r: Result) => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<Result>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.pending.set(jobId, {
      promise,
      resolve,
      reject,
      onProgress: opts.onProgress,
      state: 'adding',
      started: null,
    });
    opts.signal?.addEventListener('abort', () => void this.abort(jobId), { once: true });
    void (async () => {
      try {
        const job = await this.queue.add(this.opts.kind.name, data, {
          jobId,
          attempts: this.opts.attempts ?? 3,
          backoff: { type: 'exponential', delay: this.opts.backoffMs ?? 2000 },
          removeOnComplete: false,
          removeOnFail: false,
        });
        const p = this.pending.get(jobId);
        if (p?.state === 'adding') p.state = 'queued';
        // The id may name a job that already ran (a resumed sweep): it gives no new events.
        await this.reconcile(jobId, job, true);
      } catch (e) {
        this.settle(jobId, e instanceof Error ? e : new Error(String(e)));
      }
    })();
    return promise;
  }

  /**
   * Settles a pending job from its state in Redis (finished ones only). `added`: the job was just
   * added, so a failed one is an earlier sweep's.
   */
  private async reconcile(jobId: string, job?: Job, added = false): Promise<void> {
    if (!this.pending.has(jobId)) return;
    const found = job ?? (await this.queue.getJob(jobId));
    if (!found) {
      if (this.pending.get(jobId)?.state !== 'adding') {
        this.settle(jobId, new Error(`job ${jobId} is no longer in the queue`));
      }
      return;
    }
    const state = await found.getState();
    // queue.add's answer holds the data it was given, not what Redis has: read the job back.
    if (state === 'completed') this.complete(jobId, (await this.queue.getJob(jobId))?.returnvalue);
    else if (state === 'failed') {
      // A task asked for again after it failed for good (a resumed sweep): run it again.
      if (added)
        await found.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      else this.fail(jobId, found.failedReason);
    }
  }

  private async reconcileAll(): Promise<void> {
    for (const [jobId, p] of this.pending) {
      if (p.state === 'adding') continue;
      await this.reconcile(jobId).catch(() => {});
    }
  }

  private complete(jobId: string, value: unknown): void {
    const p = this.pending.get(jobId);
    if (!p) return;
    let result: Result;
    try {
      result = this.opts.kind.result(value);
    } catch (e) {
      this.settle(jobId, e as Error);
      return;
    }
    if (p.started !== null) this.durations.push((performance.now() - p.started) / 1000);
    this.done++;
    this.pending.delete(jobId);
    p.resolve(result);
  }

  private fail(jobId: string, reason: string): void {
    if (!this.pending.has(jobId)) return;
    this.failed++;
    this.settle(jobId, new Error(reason || `job ${jobId} failed`));
  }

  private settle(jobId: string, error: Error): void {
    const p = this.pending.get(jobId);
    if (!p) return;
    this.pending.delete(jobId);
    p.reject(error);
  }

  /** Removes a job that no worker has started; one that runs goes on (see the header). */
  private async abort(jobId: string): Promise<void> {
    const p = this.pending.get(jobId);
    if (!p) return;
    // The 'removed' event may come before remove() answers: it must read as the interruption.
    p.aborting = true;
    const removed = await this.queue.remove(jobId).catch(() => 0);
    if (removed) this.settle(jobId, new TaskInterrupted());
    else p.aborting = false;
  }

  private async countWorkers(): Promise<number> {
    this.workersCountedAt = performance.now();
    const workers = await this.queue.getWorkers().catch(() => null);
    if (workers) this.workersSeen = workers.length;
    return this.workersSeen;
  }

  /** This sweep's jobs waiting and running, and the workers connected to the queue lately. */
  status(): ExecutorStatus {
    let queued = 0;
    let running = 0;
    for (const p of this.pending.values()) {
      if (p.state === 'running') running++;
      else queued++;
    }
    return { queued, running, workers: this.workersSeen };
  }

  /** This sweep's jobs by state, the queue's workers (asked now) and an ETA. */
  async stats(): Promise<QueueStats> {
    const { queued, running } = this.status();
    const workers = await this.countWorkers();
    const meanSeconds =
      this.durations.length === 0
        ? null
        : this.durations.reduce((a, b) => a + b, 0) / this.durations.length;
    const parallel = Math.max(1, running, Math.min(workers, queued + running));
    const etaSeconds = meanSeconds === null ? null : (meanSeconds * (queued + running)) / parallel;
    return {
      queued,
      running,
      done: this.done,
      failed: this.failed,
      workers,
      meanSeconds,
      etaSeconds,
    };
  }

  /** This sweep's journal in Redis (one list per run id). */
  journal(): RedisJournal {
    this.journalClient ??= redisClient(this.opts.redis);
    return new RedisJournal(this.journalClient, journalKey(this.queue.name, this.runId));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.poll);
    clearInterval(this.workerPoll);
    for (const jobId of [...this.pending.keys()]) {
      this.settle(jobId, new Error('the queue executor is closed'));
    }
    await Promise.all([this.events.close(), this.queue.close()]);
    this.journalClient?.disconnect();
  }
}

/** The Redis list of a sweep's journal. */
export function journalKey(queue: string, runId: string): string {
  return `anneal:${queue}:${runId}:journal`;
}

function isProgress(v: unknown): v is TaskProgress {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as TaskProgress).step === 'number' &&
    typeof (v as TaskProgress).steps === 'number'
  );
}

/** `3 queued, 2 running, 10 done, 1 failed; 2 workers; ETA 4m 10s`. */
export function formatQueueStats(s: QueueStats): string {
  const eta = s.etaSeconds === null ? '' : `; ETA ${formatSeconds(s.etaSeconds)}`;
  return (
    `${s.queued} queued, ${s.running} running, ${s.done} done, ${s.failed} failed; ` +
    `${s.workers} worker${s.workers === 1 ? '' : 's'}${eta}`
  );
}

function formatSeconds(total: number): string {
  const s = Math.round(total);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${rest}s`;
  return `${rest}s`;
}
