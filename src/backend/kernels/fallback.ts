/**
 * Fallbacks are counted, never silent: a kernel without a native implementation (or a call the
 * native one does not take, such as another dtype) runs tfjs-backend-cpu's kernel instead (on
 * anneal-cpu on the same host memory; on anneal-cuda on copies, see device-backend.ts), and each
 * such call is tallied with its time.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NativeBackend } from '../native-backend.js';

export const BACKEND_NAME = 'anneal-cpu';
export const CUDA_BACKEND_NAME = 'anneal-cuda';

export interface KernelCount {
  calls: number;
  ms: number;
}

const tally = new Map<string, KernelCount>();

/** Fallback calls per kernel since the last reset, most time first. */
export function fallbackTally(): [string, KernelCount][] {
  return [...tally].sort((x, y) => y[1].ms - x[1].ms);
}

/** Waits for the device's queued work; set while profiling (profileKernels). */
let settle: (() => void) | null = null;

/**
 * Profiling on (`synchronize`, the backend's wait for its queued device work) or off (null). On,
 * every kernel call waits for its device work before its time is tallied, so the tallies hold
 * device time per kernel instead of launch time; it serialises the stream, so profile apart from
 * timing.
 */
export function profileKernels(synchronize: (() => void) | null): void {
  settle = synchronize;
}

/** One call of `name` that began at `started`, in `into`. */
function record(into: Map<string, KernelCount>, name: string, started: number): void {
  settle?.();
  const count = into.get(name) ?? { calls: 0, ms: 0 };
  count.calls++;
  count.ms += performance.now() - started;
  into.set(name, count);
}

/** Clears both tallies (fallbacks and native calls). */
export function resetKernelTally(): void {
  tally.clear();
  natives.clear();
}

/** Every tensor among a kernel's inputs (some kernels take arrays of tensors: RaggedGather). */
export function inputTensors(inputs: tf.NamedTensorInfoMap): tf.TensorInfo[] {
  return (Object.values(inputs) as unknown[])
    .flat()
    .filter((t): t is tf.TensorInfo => (t as tf.TensorInfo)?.dataId !== undefined);
}

type NativeArgs = Omit<Parameters<tf.KernelFunc>[0], 'backend'> & { backend: NativeBackend };

const natives = new Map<string, KernelCount>();

/** Native kernel calls and their time since the last reset, most time first. */
export function nativeTally(): [string, KernelCount][] {
  return [...natives].sort((x, y) => y[1].ms - x[1].ms);
}

/** Runs a fallback's body, tallied in fallbackTally. */
export function timedFallback<T>(kernelName: string, body: () => T): T {
  const started = performance.now();
  try {
    return body();
  } finally {
    record(tally, kernelName, started);
  }
}

/** Runs a native kernel's body, tallied in nativeTally. */
export function timedNative<T>(kernelName: string, body: () => T): T {
  const started = performance.now();
  const out = body();
  record(natives, kernelName, started);
  return out;
}

/**
 * A kernel that runs `native`, or the backend's fallback where `native` returns null. Registered
 * for anneal-cpu here; register.ts registers the same configs for anneal-cuda.
 */
export function nativeOr(
  kernelName: string,
  native: (args: NativeArgs) => tf.TensorInfo | tf.TensorInfo[] | null,
): tf.KernelConfig {
  return {
    kernelName,
    backendName: BACKEND_NAME,
    kernelFunc: (args) => {
      const started = performance.now();
      const backend = args.backend as unknown as NativeBackend;
      const out = native(args as NativeArgs);
      if (out === null) return backend.fallback(kernelName)(args);
      record(natives, kernelName, started);
      return out;
    },
  };
}
