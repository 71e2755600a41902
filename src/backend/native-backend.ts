/**
 * What the native kernels (src/backend/kernels) need of a backend, so that one set of kernels
 * serves both devices: `anneal-cpu` (host-backend.ts: values are typed arrays in host memory) and
 * `anneal-cuda` (device-backend.ts: values are DeviceVectors in the device's memory). A kernel
 * reads its inputs with floats/typed, allocates its outputs with alloc, calls the device, and
 * wraps the output with tensorInfo; where it returns null, the backend's fallback runs
 * tfjs-backend-cpu's kernel instead (counted).
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { DeviceArray, NativeDevice, StoredDtype } from './device.js';

export interface NativeBackend {
  readonly device: NativeDevice;
  /** A float32 tensor's values, in place (never written to). */
  floats(t: tf.TensorInfo): DeviceArray;
  /** A float32, int32 or bool tensor's values as its dtype stores them; null for other dtypes. */
  typed(t: tf.TensorInfo): DeviceArray | null;
  /** Room for `n` values of `dtype` that a kernel fills entirely (old values are garbage). */
  alloc(dtype: StoredDtype, n: number): DeviceArray;
  /** `length` values of `array` from `offset` as `dtype` words (same width), no copy. */
  view(array: DeviceArray, offset: number, length: number, dtype: 'float32' | 'int32'): DeviceArray;
  /** Host values (an index table) where this backend's kernels can read them. */
  fromHost(values: Int32Array): DeviceArray;
  /** Gives back scratch from alloc or fromHost that no tensor holds. */
  release(array: DeviceArray): void;
  /** A new tensor of these values (from alloc), owned by the backend from now on. */
  tensorInfo(shape: readonly number[], dtype: tf.DataType, values: DeviceArray): tf.TensorInfo;
  /** Another tensor on the same data (Reshape, a cast that changes nothing). */
  incRef(dataId: tf.DataId): void;
  /** tfjs-backend-cpu's kernel `name` on this backend's tensors, tallied as a fallback. */
  fallback(name: string): tf.KernelFunc;
}
