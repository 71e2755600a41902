/**
 * A pool of worker threads (node:worker_threads) that run trial jobs in parallel on one machine.
 * Each worker holds its own TensorFlow.js engine and runs one job at a time; a job that throws is
 * rejected with its message, and a worker that dies (out of memory, a crash in native code) is
 * replaced, its job rejected, and the pool goes on.
 */
import { Worker } from 'node:worker_threads';
import { UsageError } from '../errors.js';
import type { TrialRequest, TrialResult } from './trial.js';
import type { WorkerReply, WorkerRequest } from './worker.js';

interface Slot {
  worker: Worker;
  busy: { id: number; resolve: (r: TrialResult) => void; reject: (e: Error) => void } | null;
}

/** The worker entry: worker.js next to this file, or worker.ts when run from source. */
function defaultEntry(): URL {
  const here = import.meta.url;
  return new URL(here.endsWith('.ts') ? './worker.ts' : './worker.js', here);
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

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly queue: {
    request: TrialRequest;
    resolve: (r: TrialResult) => void;
    reject: (e: Error) => void;
  }[] = [];
  private serial = 0;
  private closed = false;

  /** `entry`: the worker module (default worker.ts/js; tests give their own). */
  constructor(
    readonly size: number,
    private readonly entry: URL = defaultEntry(),
  ) {
    if (!(Number.isInteger(size) && size >= 1)) {
      throw new UsageError(
        'ANNEAL_BAD_OPTION',
        `workers = ${size} is not valid: expected an integer >= 1`,
      );
    }
    for (let i = 0; i < size; i++) this.slots.push(this.start());
  }

  private start(): Slot {
    const slot: Slot = { worker: spawn(this.entry), busy: null };
    slot.worker.on('message', (reply: WorkerReply) => {
      const busy = slot.busy;
      if (!busy || busy.id !== reply.id) return;
      slot.busy = null;
      if (reply.ok) busy.resolve(reply.result);
      else busy.reject(new Error(reply.error));
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

  /** Runs a trial job on the next free worker. */
  run(request: TrialRequest): Promise<TrialResult> {
    if (this.closed) return Promise.reject(new Error('the worker pool is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (slot.busy || this.queue.length === 0) continue;
      const next = this.queue.shift()!;
      const id = this.serial++;
      slot.busy = { id, resolve: next.resolve, reject: next.reject };
      slot.worker.ref();
      const message: WorkerRequest = { id, request: next.request };
      slot.worker.postMessage(message);
    }
    for (const slot of this.slots) if (!slot.busy) slot.worker.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
