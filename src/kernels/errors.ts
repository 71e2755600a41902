import { AnnealError } from '../errors.js';

/**
 * Every error a kernel backend throws on purpose. Codes:
 * - ANNEAL_KERNEL_FREED: a freed vector (or one of a disposed backend) was used, or freed twice.
 * - ANNEAL_KERNEL_BACKEND: a vector of another backend (or another instance) was passed.
 * - ANNEAL_KERNEL_LENGTH: the vectors of one call, or a host array, differ in length.
 * - ANNEAL_KERNEL_ARGUMENT: a count, step, seed, segment or hyper-parameter is out of range.
 * - ANNEAL_KERNEL_MEMORY: the backend could not allocate the memory asked for.
 * - ANNEAL_KERNEL_UNAVAILABLE: a backend could not be loaded (see createFlatOps).
 * - ANNEAL_KERNEL_CHOICE: the kernels choice is not one of KERNEL_CHOICES (src/kernels/select.ts).
 */
export type KernelErrorCode =
  | 'ANNEAL_KERNEL_FREED'
  | 'ANNEAL_KERNEL_BACKEND'
  | 'ANNEAL_KERNEL_LENGTH'
  | 'ANNEAL_KERNEL_ARGUMENT'
  | 'ANNEAL_KERNEL_MEMORY'
  | 'ANNEAL_KERNEL_UNAVAILABLE'
  | 'ANNEAL_KERNEL_CHOICE';

export class KernelError extends AnnealError {
  constructor(code: KernelErrorCode, message: string) {
    super(code, message);
    this.name = 'KernelError';
  }
}
