/**
 * The worker-thread entry of `anneal worker`'s pool (src/queue/worker.ts): runs the queue's tasks
 * ({ kind, request }, already checked and resolved under the shared directory) one at a time, so
 * TensorFlow.js's synchronous compute never blocks the main thread, which renews the jobs' locks
 * in Redis. Started by the pool, never imported by anything else.
 */
import { parentPort } from 'node:worker_threads';
import { serveTasks, type TaskOptions } from '../runs/executor.js';
import { runTrialJob, type TrialRequest } from '../search/trial.js';
import { runCurveRun, type CurveRunRequest } from '../tradeoff/index.js';
import type { QueueTask } from './payload.js';

/**
 * `outer` (the pool's stop, a message: it arrives only when the thread's event loop turns, and a
 * training loop of synchronous tfjs steps may not let it) or the shared stop flag, which this
 * signal's `aborted` reads each time it is asked.
 */
function stopSignal(flag: SharedArrayBuffer | undefined, outer?: AbortSignal): AbortSignal {
  const controller = new AbortController();
  const signal = controller.signal;
  if (outer?.aborted) controller.abort();
  outer?.addEventListener('abort', () => controller.abort(), { once: true });
  if (flag === undefined) return signal;
  const stop = new Int32Array(flag);
  const aborted = () => Reflect.get(AbortSignal.prototype, 'aborted', signal) as boolean;
  Object.defineProperty(signal, 'aborted', {
    get: () => {
      if (!aborted() && Atomics.load(stop, 0) === 1) controller.abort();
      return aborted();
    },
  });
  return signal;
}

serveTasks(async (task: QueueTask, taskOpts: TaskOptions): Promise<unknown> => {
  const opts = { ...taskOpts, signal: stopSignal(task.stop, taskOpts.signal) };
  switch (task.kind) {
    case 'trial':
      return runTrialJob(task.request as TrialRequest, opts);
    case 'curve-run':
      return runCurveRun(task.request as CurveRunRequest, opts);
    default:
      throw new Error(`this worker thread cannot run ${task.kind} tasks`);
  }
}, parentPort);
