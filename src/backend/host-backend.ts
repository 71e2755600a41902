/**
 * `anneal-cpu`: the host device of anneal's TensorFlow.js backend. Tensors are tfjs-backend-cpu's
 * host buffers (this class is its MathBackendCPU, so data management, reads and every fallback
 * kernel work on the same memory with no copy); the hot kernels (src/backend/kernels) run on
 * oneDNN through anneal_host.node, on those buffers in place.
 */
import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { hostDevice, type HostDevice } from './device.js';

export class AnnealCpuBackend extends MathBackendCPU {
  readonly device: HostDevice = hostDevice();

  constructor() {
    super();
    // MathBackendCPU prints a banner recommending tfjs-node on its first tensor.
    (this as unknown as { firstUse: boolean }).firstUse = false;
  }

  /**
   * The values of a float32 tensor, in place. tfjs may hold a float32 tensor's values in another
   * typed array (one made from a Float64Array or an Int32Array); that one is converted once,
   * and kept converted.
   */
  floats(t: tf.TensorInfo): Float32Array {
    const data = this.data.get(t.dataId);
    if (!(data.values instanceof Float32Array)) {
      data.values = Float32Array.from(data.values as ArrayLike<number>);
    }
    return data.values;
  }
}
