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

/** One call of `name` that began at `started`, in `into`. */
function record(into: Map<string, KernelCount>, name: string, started: number): void {
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

/**
 * tfjs-backend-cpu's kernel `name`, run and tallied as a fallback. Some of its kernels return
 * a view into an input's buffer (a contiguous Slice) under a new data id; when that buffer is
 * pooled (host-backend.ts) it would be reused once the input is disposed, so such an output gets
 * its own copy.
 */
export function cpuFallback(name: string): tf.KernelFunc {
  const cpu = tf.getKernel(name, 'cpu');
  if (!cpu) throw new Error(`tfjs-backend-cpu has no kernel ${name} to fall back to`);
  return (args) => {
    const started = performance.now();
    try {
      const out = cpu.kernelFunc(args);
      ownViews(args.backend as AnnealCpuBackend, args.inputs, out);
      return out;
    } finally {
      record(tally, name, started);
    }
  };
}

/** Copies each output (under its own data id) whose values share a pooled input's buffer. */
function ownViews(
  backend: AnnealCpuBackend,
  inputs: tf.NamedTensorInfoMap,
  out: tf.TensorInfo | tf.TensorInfo[],
): void {
  // Inputs may be arrays of tensors (RaggedGather's splits); only tensors this backend holds.
  const tensors = (Object.values(inputs) as unknown[])
    .flat()
    .filter((t): t is tf.TensorInfo => (t as tf.TensorInfo)?.dataId !== undefined)
    .filter(
      (t) => backend.data.has(t.dataId) && backend.isPooled(backend.data.get(t.dataId).values),
    );
  const pooled = tensors.map((t) => ({
    dataId: t.dataId,
    buffer: (backend.data.get(t.dataId).values as Float32Array).buffer,
  }));
  if (pooled.length === 0) return;
  // A complex output holds its parts under data ids of their own (Complex reuses the inputs'
  // arrays for them): those are checked too.
  const outputs = (Array.isArray(out) ? out : [out]).flatMap((o) => {
    const parts = backend.data.get(o.dataId).complexTensorInfos;
    return parts ? [o, parts.real, parts.imag] : [o];
  });
  for (const o of outputs) {
    if (pooled.some((p) => p.dataId === o.dataId)) continue;
    const data = backend.data.get(o.dataId);
    const values = data.values as ArrayBufferView | undefined;
    if (values && ArrayBuffer.isView(values) && pooled.some((p) => p.buffer === values.buffer)) {
      data.values = (values as Float32Array).slice();
    }
  }
}

type NativeArgs = Omit<Parameters<tf.KernelFunc>[0], 'backend'> & { backend: AnnealCpuBackend };

const natives = new Map<string, KernelCount>();

/** Native kernel calls and their time since the last reset, most time first. */
export function nativeTally(): [string, KernelCount][] {
  return [...natives].sort((x, y) => y[1].ms - x[1].ms);
}

/** Runs a native kernel's body, tallied in nativeTally. */
export function timedNative<T>(kernelName: string, body: () => T): T {
  const started = performance.now();
  const out = body();
  record(natives, kernelName, started);
  return out;
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
      record(natives, kernelName, started);
      return out;
    },
  };
}
