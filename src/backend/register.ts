/**
 * Registers `anneal-cpu` with TensorFlow.js: the backend, every tfjs-backend-cpu kernel as a
 * counted fallback (src/backend/kernels/fallback.ts), and over them the native kernels, one
 * config per kernel collected in NATIVE_KERNELS (tfjs-backend-wasm's register_all_kernels).
 */
import * as tf from '@tensorflow/tfjs-core';
// Registers the cpu backend's kernels, which anneal-cpu falls back to.
import '@tensorflow/tfjs-backend-cpu';
import { UsageError } from '../errors.js';
import { hostDevice } from './device.js';
import { AnnealCpuBackend } from './host-backend.js';
import {
  conv2dBackpropFilterConfig,
  conv2dBackpropInputConfig,
  conv2dConfig,
  fusedConv2dConfig,
} from './kernels/conv2d.js';
import { binaryConfigs, unaryConfigs } from './kernels/elementwise.js';
import { BACKEND_NAME, cpuFallback } from './kernels/fallback.js';
import { splitVConfig, tileConfig, transposeConfig } from './kernels/layout.js';
import { batchMatMulConfig, fusedMatMulConfig } from './kernels/matmul.js';
import {
  avgPoolConfig,
  avgPoolGradConfig,
  maxPoolConfig,
  maxPoolGradConfig,
} from './kernels/pool.js';
import { reduceConfigs, softmaxConfig } from './kernels/reduce.js';

export const NATIVE_KERNELS: readonly tf.KernelConfig[] = [
  batchMatMulConfig,
  fusedMatMulConfig,
  conv2dConfig,
  fusedConv2dConfig,
  conv2dBackpropInputConfig,
  conv2dBackpropFilterConfig,
  maxPoolConfig,
  maxPoolGradConfig,
  avgPoolConfig,
  avgPoolGradConfig,
  transposeConfig,
  tileConfig,
  splitVConfig,
  ...binaryConfigs,
  ...unaryConfigs,
  ...reduceConfigs,
  softmaxConfig,
];

let registered = false;

/**
 * Registers anneal-cpu once (after which tf.setBackend('anneal-cpu') starts it); throws the
 * host device's UsageError, which says how to build it, where it cannot load. ANNEAL_THREADS
 * sets the device's thread count (default: every core).
 */
export function registerAnnealCpu(): void {
  if (registered) return;
  const device = hostDevice();
  const threads = process.env.ANNEAL_THREADS;
  if (threads !== undefined) {
    if (!/^[1-9]\d*$/.test(threads)) {
      throw new UsageError(
        'ANNEAL_BAD_THREADS',
        `ANNEAL_THREADS is '${threads}', expected a whole number >= 1 (the host device's threads; unset: every core)`,
      );
    }
    device.setThreads(Number(threads));
  }
  tf.registerBackend(BACKEND_NAME, () => new AnnealCpuBackend());
  const native = new Set(NATIVE_KERNELS.map((k) => k.kernelName));
  for (const kernel of tf.getKernelsForBackend('cpu')) {
    if (native.has(kernel.kernelName)) continue;
    tf.registerKernel({
      ...kernel,
      backendName: BACKEND_NAME,
      kernelFunc: cpuFallback(kernel.kernelName),
    });
  }
  for (const kernel of NATIVE_KERNELS) tf.registerKernel(kernel);
  registered = true;
}
