/**
 * `anneal-cuda`: the CUDA device of anneal's TensorFlow.js backend. A tensor's values live in a
 * DeviceVector of the kernels addon (device memory on anneal_cuda.node), keyed by its data id,
 * and the native kernels (src/backend/kernels, the same configs as anneal-cpu's) run on them in
 * place, on the calling thread's stream; values cross to the host only when read (dataSync,
 * data) or for a fallback kernel. The same class over anneal_cpu.node, the host build of the
 * CUDA device, is `anneal-cuda-host`: every launch a loop over the same functors, which is how CI
 * tests this backend without a GPU.
 *
 * Dtypes float32, int32 and bool live on the device; string and complex64 tensors stay in a
 * private tfjs-backend-cpu (`host`), where the fallbacks also run: a kernel with no native
 * version gets host copies of its inputs, runs tfjs-backend-cpu's kernel, and its outputs are
 * uploaded (each such call counted in fallbackTally, with its time).
 */
import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import {
  CUDA_DEVICE_ADDONS,
  type CudaDeviceAddon,
  type CudaDeviceBuild,
  type DeviceArray,
  type DeviceBuffer,
  type NativeDevice,
  type StoredDtype,
} from './device.js';
import { inputTensors, timedFallback } from './kernels/fallback.js';
import type { NativeBackend } from './native-backend.js';

interface Entry {
  dtype: tf.DataType;
  refCount: number;
  /** The values on the device; absent for a tensor kept on the host (string, complex64). */
  vector?: DeviceBuffer;
  /**
   * The values as another stored dtype, made once when a kernel asks for them: a Cast that
   * changes nothing (int32 -> float32) shares the data id, whose vector keeps its dtype.
   */
  converted?: Map<StoredDtype, DeviceBuffer>;
}

const STORED: ReadonlySet<tf.DataType> = new Set(['float32', 'int32', 'bool']);

const isStored = (dtype: tf.DataType): dtype is StoredDtype => STORED.has(dtype);

/** The typed array of a stored dtype's values (bool: one byte each). */
const ARRAY_OF = { float32: Float32Array, int32: Int32Array, bool: Uint8Array } as const;

/** `values` as `dtype`'s typed array (tfjs may hand float32 values over in a Float64Array). */
function asStored(dtype: StoredDtype, values: tf.backend_util.BackendValues) {
  const Type = ARRAY_OF[dtype];
  return values instanceof Type ? values : Type.from(values as ArrayLike<number>);
}

/**
 * tfjs-backend-cpu as this backend's host side. Its makeOutput (Abs, ComplexAbs) would register
 * the output with the engine as the cpu backend's tensor; here it is a plain TensorInfo, which
 * the fallback then moves to the device like every other output.
 */
class HostSide extends MathBackendCPU {
  override makeOutput<T extends tf.Tensor>(
    values: tf.backend_util.BackendValues,
    shape: number[],
    dtype: tf.DataType,
  ): T {
    return this.makeTensorInfo(shape, dtype, values) as unknown as T;
  }
}

export class AnnealDeviceBackend extends tf.KernelBackend implements NativeBackend {
  readonly device: NativeDevice;
  private readonly data: tf.DataStorage<Entry>;
  /** Where string and complex64 tensors live, and fallback kernels run. */
  private readonly host = new HostSide();
  private readonly fallbacks = new Map<string, tf.KernelFunc>();
  /** Entries with a vector (host ones are counted by `host`). */
  private onDevice = 0;
  private deviceBytes = 0;

  /** The kernels addon this backend's vectors belong to (its file name). */
  readonly addonFile: string;

  constructor(
    private readonly addon: CudaDeviceAddon,
    build: CudaDeviceBuild,
  ) {
    super();
    this.addonFile = CUDA_DEVICE_ADDONS[build];
    this.device = addon.device;
    this.data = new tf.DataStorage(this, tf.engine());
    // MathBackendCPU prints a banner recommending tfjs-node on its first tensor.
    (this.host as unknown as { firstUse: boolean }).firstUse = false;
  }

  // ---- data ----------------------------------------------------------------------------------

  /** A vector of `values` (of a stored dtype) on the device. */
  private upload(dtype: StoredDtype, values: tf.backend_util.BackendValues): DeviceBuffer {
    const typed = asStored(dtype, values);
    const vector = this.alloc(dtype, typed.length);
    if (typed.length > 0) this.addon.upload(vector, typed, 0);
    return vector;
  }

  private adopt(dataId: tf.DataId, dtype: tf.DataType, refCount: number, vector?: DeviceBuffer) {
    this.data.set(dataId, { dtype, refCount, vector });
    if (vector) {
      this.onDevice++;
      this.deviceBytes += bytesOf(vector);
    }
  }

  override write(values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType) {
    const dataId = {};
    this.move(dataId, values, shape, dtype, 1);
    return dataId;
  }

  override move(
    dataId: tf.DataId,
    values: tf.backend_util.BackendValues,
    shape: number[],
    dtype: tf.DataType,
    refCount: number,
  ): void {
    if (isStored(dtype) && values !== null && values !== undefined) {
      this.adopt(dataId, dtype, refCount, this.upload(dtype, values));
    } else {
      this.host.move(dataId, values, shape, dtype, 1);
      this.adopt(dataId, dtype, refCount);
    }
  }

  override readSync(dataId: tf.DataId): tf.backend_util.BackendValues {
    const { vector } = this.data.get(dataId);
    if (!vector) return this.host.readSync(dataId);
    const out = new ARRAY_OF[vector.dtype](vector.length);
    if (out.length > 0) this.addon.download(vector, out);
    return out;
  }

  override async read(dataId: tf.DataId): Promise<tf.backend_util.BackendValues> {
    return this.readSync(dataId);
  }

  override refCount(dataId: tf.DataId): number {
    return this.data.has(dataId) ? this.data.get(dataId).refCount : 0;
  }

  override incRef(dataId: tf.DataId): void {
    this.data.get(dataId).refCount++;
  }

  override disposeData(dataId: tf.DataId, force = false): boolean {
    if (!this.data.has(dataId)) return true;
    const entry = this.data.get(dataId);
    entry.refCount--;
    if (!force && entry.refCount > 0) return false;
    if (entry.vector) {
      this.onDevice--;
      this.deviceBytes -= bytesOf(entry.vector);
      entry.vector.free();
      for (const converted of entry.converted?.values() ?? []) converted.free();
    } else {
      this.host.disposeData(dataId, true);
    }
    this.data.delete(dataId);
    return true;
  }

  override numDataIds(): number {
    return this.onDevice + this.host.numDataIds();
  }

  override memory(): { unreliable: boolean; numBytesInDevice: number } {
    return { unreliable: false, numBytesInDevice: this.deviceBytes };
  }

  /** Waits until the work queued on this thread's stream is done. */
  synchronize(): void {
    this.addon.synchronize();
  }

  override async time(f: () => void): Promise<tf.BackendTimingInfo> {
    const started = performance.now();
    f();
    this.synchronize();
    return { kernelMs: performance.now() - started };
  }

  override timerAvailable(): boolean {
    return true;
  }

  override floatPrecision(): 32 {
    return 32;
  }

  override epsilon(): number {
    return 1e-7;
  }

  override dispose(): void {
    this.host.dispose();
  }

  // ---- tensors to and from the kernels addon's vectors (ParamVector, on the device) ----------

  /** dsts[i] = the values of float32 tensor tensors[i] (of its length): one native call. */
  copyInto(dsts: readonly DeviceBuffer[], tensors: readonly tf.TensorInfo[]): void {
    this.addon.copyBatch(
      dsts,
      tensors.map((t) => this.floats(t)),
    );
  }

  /** dst = 0, on the device (a weight without a gradient). */
  zero(dst: DeviceBuffer): void {
    this.addon.fill(dst, 0);
  }

  /**
   * Each float32 variable's values = srcs[i] (of its size), all copies in one native call. Into
   * the variable's own buffer where no other tensor holds its data (no tensor made, nothing for
   * tfjs to track); else into a new buffer it is assigned, so that a tensor sharing the old data
   * (a clone, a reshape, the value it was made from) keeps its values.
   */
  overwrite(variables: readonly tf.Variable[], srcs: readonly DeviceBuffer[]): void {
    const fresh: { variable: tf.Variable; vector: DeviceBuffer }[] = [];
    const dsts = variables.map((variable, i) => {
      const entry = this.data.get(variable.dataId);
      // (A conversion made from the old values would go stale: such data gets a new buffer.)
      if (entry.refCount === 1 && entry.vector?.dtype === 'float32' && !entry.converted) {
        return entry.vector;
      }
      const vector = this.alloc('float32', srcs[i].length);
      fresh.push({ variable, vector });
      return vector;
    });
    this.addon.copyBatch(dsts, srcs);
    for (const { variable, vector } of fresh) {
      const value = tf
        .engine()
        .makeTensorFromTensorInfo(this.tensorInfo(variable.shape, 'float32', vector));
      variable.assign(value);
      value.dispose();
    }
  }

  // ---- what the native kernels use (native-backend.ts) ---------------------------------------

  floats(t: tf.TensorInfo): DeviceBuffer {
    return this.stored(t, 'float32');
  }

  typed(t: tf.TensorInfo): DeviceBuffer | null {
    return isStored(t.dtype) ? this.stored(t, t.dtype) : null;
  }

  /** t's values as `dtype` stores them: its vector, or a conversion of it made once. */
  private stored(t: tf.TensorInfo, dtype: StoredDtype): DeviceBuffer {
    const entry = this.data.get(t.dataId);
    const { vector } = entry;
    if (!vector) throw new Error(`a ${t.dtype} tensor has no ${dtype} values on the device`);
    if (vector.dtype === dtype) return vector;
    entry.converted ??= new Map();
    let converted = entry.converted.get(dtype);
    if (!converted) {
      // tfjs's casts that keep values (int32 or bool -> float32, bool -> int32), widened on the
      // device once per data id: a training step's accuracy counts hits this way.
      converted = this.alloc(dtype, vector.length);
      if (vector.length > 0) this.device.cast(vector, converted);
      entry.converted.set(dtype, converted);
    }
    return converted;
  }

  /**
   * Not collectable: disposeData frees it, and this.data holds it until then. Not zeroed: every
   * kernel writes each value of its output (the host build's 0xFF fill shows one that does not).
   */
  alloc(dtype: StoredDtype, n: number): DeviceBuffer {
    return new this.addon.DeviceVector(n, dtype, { collectable: false, zeroed: false });
  }

  view(array: DeviceArray, offset: number, length: number, dtype: 'float32' | 'int32') {
    return (array as DeviceBuffer).view(offset, length, dtype);
  }

  fromHost(values: Int32Array): DeviceBuffer {
    return this.upload('int32', values);
  }

  release(array: DeviceArray): void {
    const vector = array as DeviceBuffer;
    if (vector.alive) vector.free();
  }

  tensorInfo(shape: readonly number[], dtype: tf.DataType, values: DeviceArray): tf.TensorInfo {
    const dataId = {};
    this.adopt(dataId, dtype, 1, values as DeviceBuffer);
    return { dataId, shape: [...shape], dtype };
  }

  /**
   * tfjs-backend-cpu's kernel `name` on host copies of the inputs; its outputs uploaded (an
   * output that is an input again, as Reshape returns, keeps the input's data, one ref more).
   */
  fallback(name: string): tf.KernelFunc {
    const cached = this.fallbacks.get(name);
    if (cached) return cached;
    const cpu = tf.getKernel(name, 'cpu');
    if (!cpu) throw new Error(`tfjs-backend-cpu has no kernel ${name} to fall back to`);
    const run: tf.KernelFunc = (args) =>
      timedFallback(name, () => {
        const copied: tf.DataId[] = [];
        const hostData = this.host.data;
        try {
          for (const t of inputTensors(args.inputs)) {
            if (hostData.has(t.dataId) || !this.data.get(t.dataId).vector) continue;
            hostData.set(t.dataId, {
              values: this.readSync(t.dataId),
              dtype: t.dtype,
              refCount: 1,
            });
            copied.push(t.dataId);
          }
          const out = cpu.kernelFunc({ ...args, backend: this.host });
          const outs = (Array.isArray(out) ? out : [out]).map((o) => this.fromFallback(o));
          return Array.isArray(out) ? outs : outs[0];
        } finally {
          for (const dataId of copied) hostData.delete(dataId);
        }
      });
    this.fallbacks.set(name, run);
    return run;
  }

  /** A fallback kernel's output as this backend's tensor. */
  private fromFallback(o: tf.TensorInfo): tf.TensorInfo {
    if (this.data.has(o.dataId)) {
      this.incRef(o.dataId);
      return o;
    }
    const made = this.host.data.get(o.dataId);
    // Complex takes its parts as they are (tfjs's identity): where a part is one of this
    // backend's tensors, whose host copy goes when the kernel ends, it gets a host copy of its own.
    for (const part of Object.values(made.complexTensorInfos ?? {}) as tf.TensorInfo[]) {
      if (!this.data.has(part.dataId)) continue;
      const values = (this.readSync(part.dataId) as Float32Array).slice();
      part.dataId = this.host.write(values, part.shape, part.dtype);
    }
    if (!isStored(o.dtype) || made.complexTensorInfos) {
      this.adopt(o.dataId, o.dtype, 1);
      return o;
    }
    const vector = this.upload(o.dtype, made.values as tf.backend_util.BackendValues);
    // A part of a complex tensor (Real, Imag return it as it is) stays the complex's on the
    // host; the output gets a data id of its own.
    const dataId = this.host.refCount(o.dataId) > 1 ? {} : o.dataId;
    this.host.disposeData(o.dataId);
    this.adopt(dataId, o.dtype, 1, vector);
    return { ...o, dataId };
  }
}

/** Bytes a vector holds (bool: one a value). */
function bytesOf(vector: DeviceBuffer): number {
  return vector.length * (vector.dtype === 'bool' ? 1 : 4);
}
