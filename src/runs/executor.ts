/**
 * How a sweep's pieces of training get run: one interface for every executor. A coordinator (the
 * search schedulers, the curve planner) hands an executor self-contained requests (a search
 * trial's next rung, one curve run) and gets their results back; where the training happens is
 * the executor's business:
 *
 * - WorkerPool (here): worker threads on this machine, one task at a time each;
 * - the queue executor (src/queue): BullMQ jobs on Redis, run by `anneal worker` on any machine.
 *
 * A task can be stopped: `signal` aborts it at the next optimizer step, after a checkpoint, and its
 * promise rejects with TaskInterrupted, so the same request resumes later from that checkpoint.
 * The task's own code sees a TaskContext: a stop signal it reads between steps, and onProgress.
 */
import { Worker } from 'node:worker_threads';
import { UsageError } from '../errors.js';
import type { StopSignal } from '../train/trainer.js';

/** What a running task reports: optimizer steps done of the steps it will do. */
export interface TaskProgress {
  step: number;
  steps: number;
}

export interface TaskOptions {
  /**
   * A stable name of the task within its sweep (e.g. `trial-007/rung-1`): a queue makes it the
   * job's id, so the same task enqueued twice is one job and its result is recorded once.
   */
  id?: string;
  /** Stops the task at its next step boundary (checkpointed); the promise rejects with TaskInterrupted. */
  signal?: AbortSignal;
  onProgress?: (progress: TaskProgress) => void;
}

/** Where an executor's tasks are, for a progress line. */
export interface ExecutorStatus {
  /** Submitted, not started by a worker yet. */
  queued: number;
  running: number;
  /** Workers that can take tasks: the pool's threads, or the queue workers seen lately. */
  workers: number;
}

/** What a task's code gets: its stop request (read between steps) and where to report progress. */
export interface TaskContext {
  signal?: StopSignal;
  onProgress?: (progress: TaskProgress) => void;
}

export interface Executor<Request, Result> {
  run(request: Request, opts?: TaskOptions): Promise<Result>;
  close(): Promise<void>;
  /** Where its tasks are now (optional: a plain function executor has no queue). */
  status?(): ExecutorStatus;
}

/** A task stopped on request (its checkpoint is written): run the same request again to resume. */
export class TaskInterrupted extends Error {
  readonly interrupted = true;
  constructor(
    message = 'the task was stopped before its end (checkpointed; run it again to resume)',
  ) {
    super(message);
    this.name = 'TaskInterrupted';
  }
}

/** Whether `e` is an interruption, also after crossing a thread (only its fields survive). */
export function isTaskInterrupted(e: unknown): boolean {
  return (
    typeof e === 'object' && e !== null && (e as { interrupted?: unknown }).interrupted === true
  );
}

/**
 * What WorkerPool sends its threads: a task, with a flag (an Int32Array over shared memory) the pool
 * sets to 1 to stop it. A message would arrive only when the thread's event loop turns, and a
 * training loop of synchronous tfjs steps does not let it.
 */
export interface ToWorker<Request> {
  type: 'run';
  id: number;
  request: Request;
  stop: SharedArrayBuffer;
}

export type FromWorker<Result> =
  | { type: 'progress'; id: number; progress: TaskProgress }
  | { type: 'done'; id: number; result: Result }
  | { type: 'failed'; id: number; error: string; interrupted: boolean };

/** A stop signal that reads the shared flag each time it is asked. */
function flagSignal(buffer: SharedArrayBuffer): StopSignal {
  const flag = new Int32Array(buffer);
  return {
    get aborted() {
      return Atomics.load(flag, 0) === 1;
    },
  };
}

/**
 * The thread side of a WorkerPool: runs the tasks it is sent with `handler`, one at a time, and
 * posts their progress and outcome back; a task's signal reads the stop flag the pool sets. A
 * worker entry module calls it once at its top level.
 */
export function serveTasks<Request, Result>(
  handler: (request: Request, context: TaskContext) => Promise<Result>,
  port: import('node:worker_threads').MessagePort | null,
): void {
  if (!port) return;
  port.on('message', async ({ id, request, stop }: ToWorker<Request>) => {
    let reply: FromWorker<Result>;
    try {
      const result = await handler(request, {
        signal: flagSignal(stop),
        onProgress: (progress) => port.postMessage({ type: 'progress', id, progress }),
      });
      reply = { type: 'done', id, result };
    } catch (e) {
      reply = {
        type: 'failed',
        id,
        error: e instanceof Error ? e.message : String(e),
        interrupted: isTaskInterrupted(e),
      };
    }
    port.postMessage(reply);
  });
}

interface Busy<Result> {
  id: number;
  stop: Int32Array;
  resolve: (r: Result) => void;
  reject: (e: Error) => void;
  onProgress?: (p: TaskProgress) => void;
}

interface Slot<Result> {
  worker: Worker;
  busy: Busy<Result> | null;
}

interface Queued<Request, Result> {
  id: number;
  stop: SharedArrayBuffer;
  request: Request;
  opts: TaskOptions;
  resolve: (r: Result) => void;
  reject: (e: Error) => void;
}

/**
 * A worker entry module `name` next to the module at `here` (its import.meta.url): name.js in the
 * built package, name.ts when run from source (WorkerPool loads a .ts entry through tsx).
 */
export function workerModule(here: string, name: string): URL {
  return new URL(`./${name}${here.endsWith('.ts') ? '.ts' : '.js'}`, here);
}

/** A worker thread on `entry`; a .ts entry (run from source) goes through tsx's loader. */
function spawn(entry: URL): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry);
  const tsx = import.meta.resolve('tsx/esm/api');
  const code =
    `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); ` +
    `return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(code, { eval: true });
}

/**
 * A pool of worker threads (node:worker_threads), each with its own TensorFlow.js engine, running
 * one task at a time on `entry` (a module that calls serveTasks). A task that throws is rejected
 * with its message; a worker that dies (out of memory, a crash in native code) is replaced, its
 * task rejected, and the pool goes on.
 */
export class WorkerPool<Request, Result> implements Executor<Request, Result> {
  private readonly slots: Slot<Result>[] = [];
  private readonly queue: Queued<Request, Result>[] = [];
  private serial = 0;
  private closed = false;

  constructor(
    readonly size: number,
    private readonly entry: URL,
  ) {
    if (!(Number.isInteger(size) && size >= 1)) {
      throw new UsageError(
        'ANNEAL_BAD_OPTION',
        `workers = ${size} is not valid: expected an integer >= 1`,
      );
    }
    for (let i = 0; i < size; i++) this.slots.push(this.start());
  }

  private start(): Slot<Result> {
    const slot: Slot<Result> = { worker: spawn(this.entry), busy: null };
    slot.worker.on('message', (reply: FromWorker<Result>) => {
      const busy = slot.busy;
      if (!busy || busy.id !== reply.id) return;
      if (reply.type === 'progress') {
        busy.onProgress?.(reply.progress);
        return;
      }
      slot.busy = null;
      if (reply.type === 'done') busy.resolve(reply.result);
      else
        busy.reject(reply.interrupted ? new TaskInterrupted(reply.error) : new Error(reply.error));
      this.pump();
    });
    const died = (why: string) => {
      const busy = slot.busy;
      slot.busy = null;
      const index = this.slots.indexOf(slot);
      if (index >= 0 && !this.closed) this.slots[index] = this.start();
      busy?.reject(new Error(`worker thread died: ${why}`));
      this.pump();
    };
    slot.worker.on('error', (e) => died(e.message));
    slot.worker.on('exit', (code) => {
      if (!this.closed && this.slots.includes(slot)) died(`exit code ${code}`);
    });
    // An idle worker must not keep the process alive.
    slot.worker.unref();
    return slot;
  }

  /** Runs a task on the next free worker. */
  run(request: Request, opts: TaskOptions = {}): Promise<Result> {
    if (this.closed) return Promise.reject(new Error('the worker pool is closed'));
    if (opts.signal?.aborted) return Promise.reject(new TaskInterrupted());
    return new Promise((resolve, reject) => {
      const id = this.serial++;
      this.queue.push({ id, stop: new SharedArrayBuffer(4), request, opts, resolve, reject });
      opts.signal?.addEventListener('abort', () => this.stop(id), { once: true });
      this.pump();
    });
  }

  /** Stops task `id`: a queued one is dropped at once, a running one at its next step. */
  private stop(id: number): void {
    const queued = this.queue.findIndex((q) => q.id === id);
    if (queued >= 0) {
      this.queue.splice(queued, 1)[0].reject(new TaskInterrupted());
      return;
    }
    const busy = this.slots.find((s) => s.busy?.id === id)?.busy;
    if (busy) Atomics.store(busy.stop, 0, 1);
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (slot.busy || this.queue.length === 0) continue;
      const next = this.queue.shift()!;
      slot.busy = {
        id: next.id,
        stop: new Int32Array(next.stop),
        resolve: next.resolve,
        reject: next.reject,
        onProgress: next.opts.onProgress,
      };
      slot.worker.ref();
      slot.worker.postMessage({
        type: 'run',
        id: next.id,
        request: next.request,
        stop: next.stop,
      } satisfies ToWorker<Request>);
    }
    for (const slot of this.slots) if (!slot.busy) slot.worker.unref();
  }

  status(): ExecutorStatus {
    return {
      queued: this.queue.length,
      running: this.slots.filter((s) => s.busy).length,
      workers: this.slots.length,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const q of this.queue.splice(0)) q.reject(new Error('the worker pool is closed'));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
