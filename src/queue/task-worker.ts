/**
 * The worker-thread entry of `anneal worker`'s pool (src/queue/worker.ts): runs the queue's tasks
 * ({ kind, request }, already checked and resolved under the shared directory) one at a time, so
 * TensorFlow.js's synchronous compute never blocks the main thread, which renews the jobs' locks
 * in Redis. Started by the pool, never imported by anything else.
 */
import { parentPort } from 'node:worker_threads';
import { serveTasks, type TaskOptions } from '../runs/executor.js';
import { runTrialJob, type TrialRequest, type TrialResult } from '../search/trial.js';
import type { QueueTask } from './payload.js';

// runTrialJob stops at `signal` (checkpointed) and reports progress.
const runTrial: (request: TrialRequest, opts: TaskOptions) => Promise<TrialResult> = runTrialJob;

serveTasks(async (task: QueueTask, opts: TaskOptions): Promise<unknown> => {
  switch (task.kind) {
    case 'trial':
      return runTrial(task.request as TrialRequest, opts);
    default:
      throw new Error(`this worker thread cannot run ${task.kind} tasks`);
  }
}, parentPort);
