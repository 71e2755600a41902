/** The machine a run or benchmark ran on, recorded next to its results. */
import os from 'node:os';
import { UsageError } from './errors.js';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  platform: string;
  node: string;
}

export function machine(): Machine {
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    platform: `${os.platform()} ${os.release()}`,
    node: process.version,
  };
}

/**
 * A thread count given as `source` (--threads, ANNEAL_THREADS, the threads option): a whole
 * number >= 1, or a one-line UsageError naming the value.
 */
export function parseThreads(text: string, source: string): number {
  if (!/^[1-9]\d*$/.test(text)) {
    throw new UsageError(
      'ANNEAL_BAD_THREADS',
      `${source} is '${text}', expected a whole number >= 1, the thread count of anneal's native ` +
        'host code (the anneal-cpu backend and the host kernels; default: every core): give one ' +
        'such as 2',
    );
  }
  return Number(text);
}

/** The count initEngine was given (--threads), for native code this thread loads later. */
let chosenThreads: number | undefined;

/**
 * Makes `threads` (checked) this thread's count for anneal's native host code loaded from now on:
 * initEngine calls it, so that --threads reaches the host kernels as well as anneal-cpu.
 */
export function chooseThreads(threads: number | undefined, source = 'threads'): void {
  chosenThreads = threads === undefined ? undefined : parseThreads(String(threads), source);
}

/**
 * The thread count of anneal's native host code: `threads` (the --threads flag, a recipe's
 * `threads`, else the count chooseThreads was given) wins over ANNEAL_THREADS; with neither,
 * every core this process may use.
 */
export function resolveThreads(threads = chosenThreads): number {
  if (threads !== undefined) return parseThreads(String(threads), 'threads');
  const fromEnv = process.env.ANNEAL_THREADS;
  if (fromEnv !== undefined) return parseThreads(fromEnv, 'ANNEAL_THREADS');
  return os.availableParallelism();
}
