/**
 * A stand-in for src/search/worker.ts in the pool test: trial 1 ends its thread, trial 2 throws
 * outside any handler (the thread dies), trial 3 fails with an error, trial 5 waits for its stop
 * and is interrupted, others score trial / 10.
 */
import { parentPort } from 'node:worker_threads';
import { serveTasks, TaskInterrupted } from '../../src/runs/executor.js';
import type { TrialRequest, TrialResult } from '../../src/search/trial.js';

serveTasks<TrialRequest, TrialResult>(async (request, { signal, onProgress }) => {
  const trial = request.job.trial;
  if (trial === 1) process.exit(3);
  if (trial === 2) {
    setImmediate(() => {
      throw new Error('native crash stand-in');
    });
    return new Promise(() => {});
  }
  if (trial === 3) throw new Error('bad trial');
  if (trial === 5) {
    onProgress?.({ step: 1, steps: 10 });
    // The pool's stop is a shared flag: poll it, as a training loop reads it between steps.
    while (!signal!.aborted) await new Promise((resolve) => setTimeout(resolve, 5));
    throw new TaskInterrupted();
  }
  return { score: trial / 10, loss: 0, steps: 1, trainSeconds: 0, stopReason: null };
}, parentPort);
