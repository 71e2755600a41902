/**
 * The worker-thread side of the pool: runs trial jobs one at a time and posts back a result or
 * the error's message. Started by WorkerPool (pool.ts), never imported by anything else.
 */
import { parentPort } from 'node:worker_threads';
import { runTrialJob, type TrialRequest } from './trial.js';

export interface WorkerRequest {
  id: number;
  request: TrialRequest;
}

export type WorkerReply =
  | { id: number; ok: true; result: Awaited<ReturnType<typeof runTrialJob>> }
  | { id: number; ok: false; error: string };

const port = parentPort;
if (port) {
  port.on('message', async ({ id, request }: WorkerRequest) => {
    let reply: WorkerReply;
    try {
      reply = { id, ok: true, result: await runTrialJob(request) };
    } catch (e) {
      reply = { id, ok: false, error: e instanceof Error ? e.message : String(e) };
    }
    port.postMessage(reply);
  });
}
