/**
 * A stand-in for src/search/worker.ts in the pool test: trial 1 ends its thread, trial 2 throws
 * outside any handler (the thread dies), trial 3 replies with an error, others score trial / 10.
 */
import { parentPort } from 'node:worker_threads';
import type { WorkerRequest } from '../../src/search/worker.js';

parentPort!.on('message', ({ id, request }: WorkerRequest) => {
  const trial = request.job.trial;
  if (trial === 1) process.exit(3);
  if (trial === 2)
    setImmediate(() => {
      throw new Error('native crash stand-in');
    });
  else if (trial === 3) parentPort!.postMessage({ id, ok: false, error: 'bad trial' });
  else
    parentPort!.postMessage({
      id,
      ok: true,
      result: { score: trial / 10, loss: 0, steps: 1, trainSeconds: 0, stopReason: null },
    });
});
