/**
 * The worker-thread entry of a search's WorkerPool (src/runs/executor.ts): runs trial jobs one at
 * a time. Started by the pool, never imported by anything else.
 */
import { parentPort } from 'node:worker_threads';
import { serveTasks } from '../runs/executor.js';
import { runTrialJob } from './trial.js';

serveTasks(runTrialJob, parentPort);
