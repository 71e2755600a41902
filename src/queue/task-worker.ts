/**
 * The worker-thread entry of `anneal worker`'s pool (src/queue/worker.ts): runs the queue's tasks
 * ({ kind, request }, already checked and resolved under the shared directory) one at a time, so
 * TensorFlow.js's synchronous compute never blocks the main thread, which renews the jobs' locks
 * in Redis. Started by the pool, never imported by anything else.
 */
import { parentPort } from 'node:worker_threads';
import { serveTasks, type TaskContext } from '../runs/executor.js';
import { runTrialJob, type TrialRequest } from '../search/trial.js';
import { runCurveRun, type CurveRunRequest } from '../tradeoff/index.js';
import type { QueueTask } from './payload.js';

serveTasks(async (task: QueueTask, context: TaskContext): Promise<unknown> => {
  switch (task.kind) {
    case 'trial':
      return runTrialJob(task.request as TrialRequest, context);
    case 'curve-run':
      return runCurveRun(task.request as CurveRunRequest, context);
    default:
      throw new Error(`this worker thread cannot run ${task.kind} tasks`);
  }
}, parentPort);
