/**
 * Registers `anneal-cpu` with TensorFlow.js: the backend, every tfjs-backend-cpu kernel as a
 * counted fallback (src/backend/kernels/fallback.ts), and over them the native kernels, one
 * config per kernel collected in NATIVE_KERNELS (tfjs-backend-wasm's register_all_kernels).
 */
import * as tf from '@tensorflow/tfjs-core';
// Registers the cpu backend's kernels, which anneal-cpu falls back to.
import '@tensorflow/tfjs-backend-cpu';
import { resolveThreads } from '../machine.js';
import { hostDevice } from './device.js';
import { AnnealCpuBackend } from './host-backend.js';
import {
  conv2dBackpropFilterConfig,
  conv2dBackpropInputConfig,
  conv2dConfig,
  depthwiseConv2dBackpropFilterConfig,
  depthwiseConv2dBackpropInputConfig,
  depthwiseConv2dConfig,
  fusedConv2dConfig,
} from './kernels/conv2d.js';
import {
  batchNormConfig,
  binaryConfigs,
  reluGradConfig,
  unaryConfigs,
} from './kernels/elementwise.js';
import { BACKEND_NAME, cpuFallback } from './kernels/fallback.js';
import {
  argReduceConfigs,
  castConfig,
  compareConfigs,
  fillConfig,
  gatherConfig,
  mirrorPadConfig,
  oneHotConfig,
  padConfig,
  selectConfig,
  sliceConfig,
  stridedSliceConfig,
} from './kernels/indexing.js';
import { concatConfig, splitVConfig, tileConfig, transposeConfig } from './kernels/layout.js';
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
  depthwiseConv2dConfig,
  depthwiseConv2dBackpropInputConfig,
  depthwiseConv2dBackpropFilterConfig,
  maxPoolConfig,
  maxPoolGradConfig,
  avgPoolConfig,
  avgPoolGradConfig,
  transposeConfig,
  tileConfig,
  splitVConfig,
  concatConfig,
  ...binaryConfigs,
  ...unaryConfigs,
  ...reduceConfigs,
  softmaxConfig,
  batchNormConfig,
  reluGradConfig,
  sliceConfig,
  stridedSliceConfig,
  padConfig,
  mirrorPadConfig,
  gatherConfig,
  oneHotConfig,
  selectConfig,
  fillConfig,
  ...argReduceConfigs,
  ...compareConfigs,
  castConfig,
];

let registered = false;

/**
 * Registers anneal-cpu once (after which tf.setBackend('anneal-cpu') starts it); throws the
 * host device's UsageError, which says how to build it, where it cannot load. Threads are set
 * apart (setAnnealCpuThreads), on each start, since OpenMP keeps the count per calling thread.
 */
export function registerAnnealCpu(): void {
  if (registered) return;
  hostDevice();
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

/**
 * Sets the host device's thread count for the calling thread (OpenMP keeps one per thread, so
 * each search worker thread sets its own) and returns the count now in force.
 */
export function setAnnealCpuThreads(threads?: number): number {
  return hostDevice().setThreads(resolveThreads(threads));
}
