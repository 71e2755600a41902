/** FlatOps: the kernels every hot loop over a model's parameters runs on (see types.ts). */
export * from './types.js';
export { KernelError, type KernelErrorCode } from './errors.js';
export { DEVICE_BACKENDS, KERNEL_CHOICES, createFlatOps, tensorResidence } from './select.js';
export type { FlatOpsOptions, TensorResidence } from './select.js';
export { createJsOps } from './js.js';
export { createWasmOps } from './wasm.js';
export { deviceVectorOf, probeCuda, setHostThreads, type CudaProbe } from './cuda.js';
