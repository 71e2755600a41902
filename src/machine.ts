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
 * ANNEAL_THREADS: the threads of anneal's native host loops (the host kernels and the
 * anneal-cpu backend); undefined when unset (every core). Throws UsageError
 * 'ANNEAL_BAD_THREADS' for anything but a whole number >= 1.
 */
export function threadsFromEnv(): number | undefined {
  const threads = process.env.ANNEAL_THREADS;
  if (threads === undefined) return undefined;
  if (!/^[1-9]\d*$/.test(threads)) {
    throw new UsageError(
      'ANNEAL_BAD_THREADS',
      `ANNEAL_THREADS is '${threads}', expected a whole number >= 1 (threads of the host kernels and the anneal-cpu backend); unset it to use every core`,
    );
  }
  return Number(threads);
}
