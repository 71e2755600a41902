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
import { hostDevice, type DeviceArray, type NativeDevice, type StoredDtype } from './device.js';
import { inputTensors, timedFallback } from './kernels/fallback.js';
import type { NativeBackend } from './native-backend.js';

/** Free buffers kept for reuse, in all (bytes); beyond it, disposed buffers go to the GC. */
export const POOL_BYTES = 256 * 2 ** 20;

export class AnnealCpuBackend extends MathBackendCPU implements NativeBackend {
  readonly device: NativeDevice = hostDevice();
  /** Buffers allocated by alloc('float32'): the only ones ever reused. */
  private readonly owned = new WeakSet<Float32Array>();
  private readonly free = new Map<number, Float32Array[]>();
  private freeBytes = 0;

  constructor() {
    super();
    // MathBackendCPU prints a banner recommending tfjs-node on its first tensor.
    (this as unknown as { firstUse: boolean }).firstUse = false;
  }

  /**
   * A buffer of `n` values for a native kernel to fill entirely: float32 from the pool (its old
   * values are garbage), int32 and bool fresh, as tfjs makes them.
   */
  alloc(dtype: StoredDtype, n: number): Float32Array | Int32Array | Uint8Array {
    if (dtype === 'int32') return new Int32Array(n);
    if (dtype === 'bool') return new Uint8Array(n);
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

  /**
   * A float32, int32 or bool tensor's values as its dtype's typed array. tfjs may keep an int32
   * or bool tensor's values in another array (a Cast that kept them as they were): those are
   * converted into a copy, never in place, since the data id may be shared with a tensor of
   * another dtype.
   */
  typed(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array | null {
    if (t.dtype === 'float32') return this.floats(t);
    const values = this.data.get(t.dataId).values as ArrayLike<number>;
    if (t.dtype === 'int32') return values instanceof Int32Array ? values : Int32Array.from(values);
    if (t.dtype === 'bool') return values instanceof Uint8Array ? values : Uint8Array.from(values);
    return null;
  }

  view(
    array: DeviceArray,
    offset: number,
    length: number,
    dtype: 'float32' | 'int32',
  ): DeviceArray {
    const { buffer, byteOffset } = array as Float32Array | Int32Array;
    const at = byteOffset + 4 * offset;
    return dtype === 'float32'
      ? new Float32Array(buffer as ArrayBuffer, at, length)
      : new Int32Array(buffer as ArrayBuffer, at, length);
  }

  fromHost(values: Int32Array): Int32Array {
    return values;
  }

  /** Scratch goes back to the pool (when it came from it). */
  release(array: DeviceArray): void {
    if (this.isPooled(array)) this.keep(array);
  }

  tensorInfo(shape: readonly number[], dtype: tf.DataType, values: DeviceArray): tf.TensorInfo {
    return this.makeTensorInfo([...shape], dtype, values as Float32Array | Int32Array | Uint8Array);
  }

  fallback(name: string): tf.KernelFunc {
    let kernel = this.fallbacks.get(name);
    if (!kernel) this.fallbacks.set(name, (kernel = cpuFallback(name)));
    return kernel;
  }

  private readonly fallbacks = new Map<string, tf.KernelFunc>();

  /** Keeps a free pooled buffer for reuse, within POOL_BYTES. */
  private keep(values: Float32Array): void {
    if (this.freeBytes + values.byteLength > POOL_BYTES) return;
    const list = this.free.get(values.length) ?? [];
    list.push(values);
    this.free.set(values.length, list);
    this.freeBytes += values.byteLength;
  }

  override disposeData(dataId: object, force = false): boolean {
    const values = this.data.has(dataId) ? this.data.get(dataId).values : undefined;
    const deleted = super.disposeData(dataId, force);
    if (deleted && this.isPooled(values)) this.keep(values);
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

/**
 * tfjs-backend-cpu's kernel `name`, run and tallied as a fallback. Some of its kernels return
 * a view into an input's buffer (a contiguous Slice) under a new data id; when that buffer is
 * pooled (host-backend.ts) it would be reused once the input is disposed, so such an output gets
 * its own copy.
 */
function cpuFallback(name: string): tf.KernelFunc {
  const cpu = tf.getKernel(name, 'cpu');
  if (!cpu) throw new Error(`tfjs-backend-cpu has no kernel ${name} to fall back to`);
  return (args) =>
    timedFallback(name, () => {
      const out = cpu.kernelFunc(args);
      ownViews(args.backend as AnnealCpuBackend, args.inputs, out);
      return out;
    });
}

/** Copies each output (under its own data id) whose values share a pooled input's buffer. */
function ownViews(
  backend: AnnealCpuBackend,
  inputs: tf.NamedTensorInfoMap,
  out: tf.TensorInfo | tf.TensorInfo[],
): void {
  // Only tensors this backend holds.
  const tensors = inputTensors(inputs).filter(
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
