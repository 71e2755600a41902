/**
 * The worker-thread entry of the queue tests' fake tasks (kind 'fake', see helpers.ts): counts
 * `steps` steps of `stepMs`, reporting progress, and stops at its signal between steps, writing its
 * step to `<dir>/checkpoint` so that the next run of the same request resumes there.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parentPort } from 'node:worker_threads';
import { serveTasks, TaskInterrupted } from '../../src/runs/executor.js';
import type { QueueTask } from '../../src/queue/index.js';
import type { FakeRequest, FakeResult } from './helpers.js';

serveTasks(async (task: QueueTask, opts): Promise<FakeResult> => {
  const r = task.request as FakeRequest;
  const checkpoint = r.dir === undefined ? undefined : join(r.dir, 'checkpoint');
  const from = checkpoint && existsSync(checkpoint) ? Number(readFileSync(checkpoint, 'utf8')) : 0;
  for (let step = from; step < r.steps; step++) {
    if (opts.signal?.aborted) {
      if (r.dir !== undefined) {
        mkdirSync(r.dir, { recursive: true });
        writeFileSync(checkpoint!, String(step));
      }
      throw new TaskInterrupted();
    }
    await new Promise((done) => setTimeout(done, r.stepMs));
    opts.onProgress?.({ step: step + 1, steps: r.steps });
  }
  if (r.fail !== undefined) throw new Error(r.fail);
  return { y: r.x * 2, from };
}, parentPort);
