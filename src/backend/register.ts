/**
 * Registers anneal's backends with TensorFlow.js: `anneal-cpu` (the host device) and
 * `anneal-cuda` (the CUDA device; `anneal-cuda-host` is its host build, for tests). Each gets
 * every tfjs-backend-cpu kernel as a counted fallback (src/backend/kernels/fallback.ts) and over
 * them the same native kernels, one config per kernel collected in NATIVE_KERNELS
 * (tfjs-backend-wasm's register_all_kernels), so both devices register the same set.
 */
import * as tf from '@tensorflow/tfjs-core';
// Registers the cpu backend's kernels, which anneal-cpu falls back to.
import '@tensorflow/tfjs-backend-cpu';
import { resolveThreads } from '../machine.js';
import { cudaDeviceAddon, hostDevice } from './device.js';
import { AnnealDeviceBackend } from './device-backend.js';
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
import { batchNormTrainingConfig, batchNormTrainingGradConfig } from './kernels/batch-norm.js';
import { layerNormConfig, layerNormGradConfig } from './kernels/layer-norm.js';
import { crossEntropyConfig, crossEntropyGradConfig } from './kernels/loss.js';
import {
  batchNormConfig,
  binaryConfigs,
  reluGradConfig,
  unaryConfigs,
} from './kernels/elementwise.js';
import { BACKEND_NAME, CUDA_BACKEND_NAME } from './kernels/fallback.js';
import type { NativeBackend } from './native-backend.js';
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
import {
  concatConfig,
  identityConfig,
  reshapeConfig,
  splitVConfig,
  tileConfig,
  transposeConfig,
} from './kernels/layout.js';
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
  reshapeConfig,
  identityConfig,
  transposeConfig,
  tileConfig,
  splitVConfig,
  concatConfig,
  ...binaryConfigs,
  ...unaryConfigs,
  ...reduceConfigs,
  softmaxConfig,
  batchNormConfig,
  batchNormTrainingConfig,
  batchNormTrainingGradConfig,
  layerNormConfig,
  layerNormGradConfig,
  crossEntropyConfig,
  crossEntropyGradConfig,
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

/** The CUDA device's backend on its host build (anneal_cpu.node): how CI tests anneal-cuda. */
const CUDA_HOST_BACKEND_NAME = `${CUDA_BACKEND_NAME}-host`;

/** anneal's own backends: the native kernels and their tallies are theirs. */
export const NATIVE_BACKENDS: ReadonlySet<string> = new Set([
  BACKEND_NAME,
  CUDA_BACKEND_NAME,
  CUDA_HOST_BACKEND_NAME,
]);

/** The backend names registered so far. */
const registered = new Set<string>();

/**
 * Registers `name` with `make` as its factory, every tfjs-backend-cpu kernel as the backend's
 * fallback, and over them NATIVE_KERNELS.
 */
function registerNative(name: string, make: () => tf.KernelBackend & NativeBackend): void {
  tf.registerBackend(name, make);
  const native = new Set(NATIVE_KERNELS.map((k) => k.kernelName));
  for (const kernel of tf.getKernelsForBackend('cpu')) {
    if (native.has(kernel.kernelName)) continue;
    const { kernelName } = kernel;
    tf.registerKernel({
      ...kernel,
      backendName: name,
      kernelFunc: (args) => (args.backend as unknown as NativeBackend).fallback(kernelName)(args),
    });
  }
  for (const kernel of NATIVE_KERNELS) tf.registerKernel({ ...kernel, backendName: name });
  registered.add(name);
}

/** The kernels registered for backend `name`, sorted (a test checks both devices agree). */
export function registeredKernels(name: string): string[] {
  return tf
    .getKernelsForBackend(name)
    .map((k) => k.kernelName)
    .sort();
}

/**
 * Registers anneal-cpu once (after which tf.setBackend('anneal-cpu') starts it); throws the
 * host device's UsageError, which says how to build it, where it cannot load. Threads are set
 * apart (setAnnealCpuThreads), on each start, since OpenMP keeps the count per calling thread.
 */
export function registerAnnealCpu(): void {
  if (registered.has(BACKEND_NAME)) return;
  hostDevice();
  registerNative(BACKEND_NAME, () => new AnnealCpuBackend());
}

/**
 * Registers the CUDA device's backend once: `anneal-cuda` on the GPU (anneal_cuda.node), or with
 * `build: 'host'` `anneal-cuda-host`, the same backend on anneal_cpu.node's host build of the
 * CUDA device (what CI tests). Returns its name; throws a UsageError that says why it cannot
 * start (no addon, no GPU).
 */
export function registerAnnealCuda(
  build: 'cuda' | 'host',
  gpuProblem: () => string | null = () => null,
): string {
  const name = build === 'cuda' ? CUDA_BACKEND_NAME : CUDA_HOST_BACKEND_NAME;
  if (registered.has(name)) return name;
  const addon = cudaDeviceAddon(build, gpuProblem);
  registerNative(name, () => new AnnealDeviceBackend(addon, build));
  return name;
}

/**
 * Sets the host device's thread count for the calling thread (OpenMP keeps one per thread, so
 * each search worker thread sets its own) and returns the count now in force.
 */
export function setAnnealCpuThreads(threads?: number): number {
  return hostDevice().setThreads(resolveThreads(threads));
}
