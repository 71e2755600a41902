/**
 * anneal's own TensorFlow.js backend over the addon: `anneal-cpu`, the host device (oneDNN,
 * threads). See DESIGN.md's "Native backend".
 */
export {
  registerAnnealCpu,
  registerAnnealCuda,
  registeredKernels,
  NATIVE_BACKENDS,
  setAnnealCpuThreads,
  NATIVE_KERNELS,
} from './register.js';
export { AnnealCpuBackend } from './host-backend.js';
export { AnnealDeviceBackend } from './device-backend.js';
export {
  fallbackTally,
  nativeTally,
  profileKernels,
  resetKernelTally,
  BACKEND_NAME,
  CUDA_BACKEND_NAME,
  type KernelCount,
} from './kernels/fallback.js';
export { hostDevice, hostDeviceProblem, type NativeDevice } from './device.js';
export { RELU_GRAD } from './kernels/elementwise.js';
export { BATCH_NORM_TRAINING, BATCH_NORM_TRAINING_GRAD } from './kernels/batch-norm.js';
export { CROSS_ENTROPY, CROSS_ENTROPY_GRAD } from './kernels/loss.js';
export { LAYER_NORM, LAYER_NORM_GRAD } from './kernels/layer-norm.js';
export { mirrorPadIndex } from './kernels/indexing.js';
