/**
 * `anneal-cpu`: the host device of anneal's TensorFlow.js backend. Tensors are tfjs-backend-cpu's
 * host buffers (this class is its MathBackendCPU, so data management, reads and every fallback
 * kernel work on the same memory with no copy); the hot kernels (src/backend/kernels) run on
 * oneDNN through anneal_host.node, on those buffers in place.
 *
 * Native kernels write into buffers from a pool: a buffer whose tensor is disposed serves the
 * next output of its size (writing fresh memory costs about 5x writing reused memory, and
 * elementwise kernels are memory-bound). A pooled buffer must never be seen after its tensor is
 * gone, so reads of it (dataSync, data) return a copy, and a fallback kernel's output that is a
 * view into one is copied (fallback.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { hostDevice, type HostDevice } from './device.js';

/** Free buffers kept for reuse, in all (bytes); beyond it, disposed buffers go to the GC. */
export const POOL_BYTES = 256 * 2 ** 20;

export class AnnealCpuBackend extends MathBackendCPU {
  readonly device: HostDevice = hostDevice();
  /** Buffers allocated by allocFloats: the only ones ever reused. */
  private readonly owned = new WeakSet<Float32Array>();
  private readonly free = new Map<number, Float32Array[]>();
  private freeBytes = 0;

  constructor() {
    super();
    // MathBackendCPU prints a banner recommending tfjs-node on its first tensor.
    (this as unknown as { firstUse: boolean }).firstUse = false;
  }

  /** A buffer of `n` values for a native kernel to fill entirely (its old values are garbage). */
  allocFloats(n: number): Float32Array {
    const reused = this.free.get(n)?.pop();
    if (reused) {
      this.freeBytes -= reused.byteLength;
      return reused;
    }
    const fresh = new Float32Array(n);
    this.owned.add(fresh);
    return fresh;
  }

  /** Whether `values` is a pooled buffer (fallback.ts copies views into one). */
  isPooled(values: unknown): values is Float32Array {
    return values instanceof Float32Array && this.owned.has(values);
  }

  override disposeData(dataId: object, force = false): boolean {
    const values = this.data.has(dataId) ? this.data.get(dataId).values : undefined;
    const deleted = super.disposeData(dataId, force);
    if (deleted && this.isPooled(values) && this.freeBytes + values.byteLength <= POOL_BYTES) {
      const list = this.free.get(values.length) ?? [];
      list.push(values);
      this.free.set(values.length, list);
      this.freeBytes += values.byteLength;
    }
    return deleted;
  }

  /** A copy of a pooled buffer (the buffer itself will serve another tensor later). */
  override readSync(dataId: object): tf.backend_util.BackendValues {
    const values = this.data.get(dataId).values;
    return this.isPooled(values) ? values.slice() : super.readSync(dataId);
  }

  /**
   * tfjs-backend-cpu's memory report, plus the bytes of disposed buffers this backend keeps for
   * reuse (at most POOL_BYTES): `tf.memory().numBytesInPool`.
   */
  override memory(): ReturnType<MathBackendCPU['memory']> & { numBytesInPool: number } {
    return { ...super.memory(), numBytesInPool: this.freeBytes };
  }

  /** Drops the buffers kept for reuse, so the garbage collector can return them. */
  emptyPool(): void {
    this.free.clear();
    this.freeBytes = 0;
  }

  /**
   * The values of a float32 tensor, in place. tfjs may hold a float32 tensor's values in another
   * typed array (one made from a Float64Array or an Int32Array); that one is converted once,
   * and kept converted, unless the data is another dtype's.
   */
  floats(t: tf.TensorInfo): Float32Array {
    const data = this.data.get(t.dataId);
    if (data.values instanceof Float32Array) return data.values;
    const converted = Float32Array.from(data.values as ArrayLike<number>);
    // Kept only for float32 data: a float32 tensor cast from int32 shares the int32 tensor's
    // data, which must stay int32 (values above 2^24 would lose their low bits).
    if (data.dtype === 'float32') data.values = converted;
    return converted;
  }
}

/**
 * A float32 tensor's values for reading: on anneal-cpu the tensor's own buffer, no copy (valid
 * while the tensor lives; never write to it); elsewhere dataSync()'s array.
 */
export function hostValues(t: tf.Tensor): Float32Array {
  const backend = tf.engine().backend;
  if (backend instanceof AnnealCpuBackend && t.dtype === 'float32' && backend.data.has(t.dataId)) {
    return backend.floats(t);
  }
  return t.dataSync() as Float32Array;
}
