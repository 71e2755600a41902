/**
 * Fallbacks are counted, never silent: a kernel without a native implementation (or a call the
 * native one does not take, such as another dtype) runs tfjs-backend-cpu's kernel on the same
 * host memory, and each such call is tallied with its time.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { AnnealCpuBackend } from '../host-backend.js';

export const BACKEND_NAME = 'anneal-cpu';

export interface KernelCount {
  calls: number;
  ms: number;
}

const tally = new Map<string, KernelCount>();

/** Fallback calls per kernel since the last reset, most time first. */
export function fallbackTally(): [string, KernelCount][] {
  return [...tally].sort((x, y) => y[1].ms - x[1].ms);
}

/** Clears both tallies (fallbacks and native calls). */
export function resetKernelTally(): void {
  tally.clear();
  natives.clear();
}

/** tfjs-backend-cpu's kernel `name`, run and tallied as a fallback. */
export function cpuFallback(name: string): tf.KernelFunc {
  const cpu = tf.getKernel(name, 'cpu');
  if (!cpu) throw new Error(`tfjs-backend-cpu has no kernel ${name} to fall back to`);
  return (args) => {
    const started = performance.now();
    try {
      return cpu.kernelFunc(args);
    } finally {
      const count = tally.get(name) ?? { calls: 0, ms: 0 };
      count.calls++;
      count.ms += performance.now() - started;
      tally.set(name, count);
    }
  };
}

type NativeArgs = Omit<Parameters<tf.KernelFunc>[0], 'backend'> & { backend: AnnealCpuBackend };

const natives = new Map<string, KernelCount>();

/** Native kernel calls and their time since the last reset, most time first. */
export function nativeTally(): [string, KernelCount][] {
  return [...natives].sort((x, y) => y[1].ms - x[1].ms);
}

/** A kernel that runs `native`, or the cpu fallback where `native` returns null. */
export function nativeOr(
  kernelName: string,
  native: (args: NativeArgs) => tf.TensorInfo | tf.TensorInfo[] | null,
): tf.KernelConfig {
  const fallback = cpuFallback(kernelName);
  return {
    kernelName,
    backendName: BACKEND_NAME,
    kernelFunc: (args) => {
      const started = performance.now();
      const out = native(args as NativeArgs);
      if (out === null) return fallback(args);
      const count = natives.get(kernelName) ?? { calls: 0, ms: 0 };
      count.calls++;
      count.ms += performance.now() - started;
      natives.set(kernelName, count);
      return out;
    },
  };
}
