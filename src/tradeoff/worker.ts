/**
 * The worker-thread entry of a curve's WorkerPool (src/runs/executor.ts): runs curve runs
 * (runCurveRun) one at a time. Started by the pool (`curveWorkerEntry()`), never imported by
 * anything else.
 */
import { parentPort } from 'node:worker_threads';
import { serveTasks } from '../runs/executor.js';
import { runCurveRun } from './run.js';

serveTasks(runCurveRun, parentPort);
