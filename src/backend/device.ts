/**
 * The devices of anneal's TensorFlow.js backend, one interface (native/device/anneal_device.h):
 * - the host device, anneal_host.node (native/binding/backend_addon.cc on oneDNN): a tensor's
 *   values are its typed array (Float32Array, Int32Array, Uint8Array for bool), used in place;
 * - the CUDA device, `device` of the kernels addon (the same binding over DeviceVectors, in
 *   native/cuda/device_*.inc): anneal_cuda.node on the GPU, and its host build anneal_cpu.node,
 *   where "device memory" is host memory, which is how CI tests it.
 * Sizes are checked again on the native side.
 */
import { loadAddon, type LoadedAddon } from '../addons.js';
import { UsageError } from '../errors.js';

/** The dtypes a device stores (bool: one byte a value). */
export type StoredDtype = 'float32' | 'int32' | 'bool';

/** Memory of the kernels addon (DeviceVector, native/binding/device_vector.h). */
export interface DeviceBuffer {
  readonly length: number;
  readonly dtype: StoredDtype;
  readonly alive: boolean;
  free(): void;
  /** `length` values from `offset`, seen as `dtype` (same width), sharing this memory. */
  view(offset: number, length: number, dtype?: StoredDtype): DeviceBuffer;
}

/** A tensor's values as a device's kernels take them. */
export type DeviceArray = Float32Array | Int32Array | Uint8Array | DeviceBuffer;

/** The conv2d shape, in anneal_device.h's `anneal_conv2d` field order (17 numbers). */
export type Conv2dShape = readonly number[];

/**
 * A device's kernels (anneal_device.h). Where an argument is 32-bit words it takes float32 and
 * int32 values alike, and a value is the word of its bits (wordOf in kernels/indexing.ts).
 */
export interface NativeDevice {
  describe(): string;
  /** Sets the kernels' thread count (0: the machine's cores); returns the count now in force. */
  setThreads(threads: number): number;
  matmul(
    a: DeviceArray,
    b: DeviceArray,
    bias: DeviceArray | null,
    c: DeviceArray,
    batchA: number,
    batchB: number,
    m: number,
    k: number,
    n: number,
    transposeA: boolean,
    transposeB: boolean,
    activation: number,
    alpha: number,
  ): void;
  conv2d(
    shape: Conv2dShape,
    x: DeviceArray,
    filter: DeviceArray,
    bias: DeviceArray | null,
    y: DeviceArray,
    activation: number,
    alpha: number,
  ): void;
  conv2dBackpropInput(
    shape: Conv2dShape,
    dy: DeviceArray,
    filter: DeviceArray,
    dx: DeviceArray,
  ): void;
  conv2dBackpropFilter(shape: Conv2dShape, x: DeviceArray, dy: DeviceArray, dw: DeviceArray): void;
  /** Depthwise convs: shape's out channels = in channels * multiplier (anneal_device.h). */
  depthwiseConv2d(shape: Conv2dShape, x: DeviceArray, filter: DeviceArray, y: DeviceArray): void;
  depthwiseConv2dBackpropInput(
    shape: Conv2dShape,
    dy: DeviceArray,
    filter: DeviceArray,
    dx: DeviceArray,
  ): void;
  depthwiseConv2dBackpropFilter(
    shape: Conv2dShape,
    x: DeviceArray,
    dy: DeviceArray,
    dw: DeviceArray,
  ): void;
  binary(
    op: number,
    outDims: readonly number[],
    a: DeviceArray,
    aStrides: readonly number[],
    b: DeviceArray,
    bStrides: readonly number[],
    out: DeviceArray,
  ): void;
  unary(op: number, x: DeviceArray, y: DeviceArray, alpha: number): void;
  reduce(
    op: number,
    x: DeviceArray,
    y: DeviceArray,
    outer: number,
    reduce: number,
    inner: number,
  ): void;
  softmax(x: DeviceArray, y: DeviceArray, rows: number, n: number): void;
  pool(shape: Pool2dShape, x: DeviceArray, y: DeviceArray, max: boolean): void;
  maxPoolGrad(shape: Pool2dShape, x: DeviceArray, dy: DeviceArray, dx: DeviceArray): void;
  avgPoolGrad(shape: Pool2dShape, dy: DeviceArray, dx: DeviceArray): void;
  /** tfjs's FusedBatchNorm: each parameter read cyclically (anneal_device.h). */
  batchNorm(
    x: DeviceArray,
    mean: DeviceArray,
    variance: DeviceArray,
    scale: DeviceArray | null,
    offset: DeviceArray | null,
    epsilon: number,
    out: DeviceArray,
  ): void;
  /** Layer norm over the last axis of x [rows, n]: y, and each row's mean and variance. */
  layerNorm(
    x: DeviceArray,
    n: number,
    scale: DeviceArray | null,
    offset: DeviceArray | null,
    epsilon: number,
    y: DeviceArray,
    mean: DeviceArray,
    variance: DeviceArray,
  ): void;
  /** Layer norm's gradient through x (its statistics included), scale and offset. */
  layerNormGrad(
    x: DeviceArray,
    dy: DeviceArray,
    n: number,
    mean: DeviceArray,
    variance: DeviceArray,
    scale: DeviceArray | null,
    epsilon: number,
    dx: DeviceArray,
    dscale: DeviceArray,
    doffset: DeviceArray,
  ): void;
  /** Each row's softmax cross-entropy of logits against labels [rows, n] (anneal_device.h). */
  crossEntropy(logits: DeviceArray, labels: DeviceArray, n: number, loss: DeviceArray): void;
  /** tfjs's gradient of crossEntropy through the logits: dy[r] (softmax(logits) - labels). */
  crossEntropyGrad(
    logits: DeviceArray,
    labels: DeviceArray,
    dy: DeviceArray,
    n: number,
    dlogits: DeviceArray,
  ): void;
  /**
   * Per-channel mean and biased variance of x [rows, channels], and where the moving ones are
   * given, tfjs-layers' moving averages of them with `decay` (anneal_device.h).
   */
  moments(
    x: DeviceArray,
    channels: number,
    mean: DeviceArray,
    variance: DeviceArray,
    movingMean: DeviceArray | null,
    movingVariance: DeviceArray | null,
    decay: number,
    newMovingMean: DeviceArray | null,
    newMovingVariance: DeviceArray | null,
  ): void;
  /**
   * Batch norm's training gradient through x, the batch's mean and variance included, and its
   * parameters' (anneal_device.h): dmean and dvariance are the gradients of those outputs.
   */
  batchNormGrad(
    x: DeviceArray,
    dy: DeviceArray,
    channels: number,
    mean: DeviceArray,
    variance: DeviceArray,
    scale: DeviceArray | null,
    dmean: DeviceArray | null,
    dvariance: DeviceArray | null,
    epsilon: number,
    dx: DeviceArray,
    dscale: DeviceArray,
    doffset: DeviceArray,
  ): void;
  /** The inputs, viewed as [outer, widths[i]], side by side in out: [outer, sum of widths]. */
  concat(inputs: DeviceArray[], widths: number[], outer: number, out: DeviceArray): void;
  // Indexing kernels (anneal_device.h).
  pad(
    inDims: readonly number[],
    before: readonly number[],
    after: readonly number[],
    x: DeviceArray,
    value: number,
    out: DeviceArray,
  ): void;
  /** GatherV2 over x [batch, outer, dim, slice]; false where an index is outside [0, dim). */
  gather(
    x: DeviceArray,
    batch: number,
    outer: number,
    dim: number,
    slice: number,
    indices: DeviceArray,
    out: DeviceArray,
  ): boolean;
  oneHot(indices: DeviceArray, depth: number, on: number, off: number, out: DeviceArray): void;
  select(condition: DeviceArray, t: DeviceArray, e: DeviceArray, out: DeviceArray): void;
  fill(value: number, out: DeviceArray): void;
  /** ArgMax (op 0) or ArgMin (1) over the middle axis of x [outer, reduce, inner]. */
  argReduce(
    op: number,
    x: DeviceArray,
    y: DeviceArray,
    outer: number,
    reduce: number,
    inner: number,
  ): void;
  /** A comparison (anneal_compare) of a and b (one type), read by strides, into 0 / 1 bytes. */
  compare(
    op: number,
    outDims: readonly number[],
    a: DeviceArray,
    aStrides: readonly number[],
    b: DeviceArray,
    bStrides: readonly number[],
    out: DeviceArray,
  ): void;
  /**
   * tfjs's casts float32 -> int32 | bool and int32 -> bool, and the widenings int32 | bool ->
   * float32 and bool -> int32 (anneal_device_cast); the types the arrays'.
   */
  cast(x: DeviceArray, y: DeviceArray): void;
}

/** The pool2d shape, in anneal_device.h's `anneal_pool2d` field order (14 numbers). */
export type Pool2dShape = readonly number[];

export const HOST_ADDON = 'anneal_host.node';

/** What the CUDA device's backend uses of the kernels addon (native/binding/addon.cc). */
export interface KernelsAddon {
  /**
   * `collectable: false` for a vector its owner frees explicitly and holds until then (the
   * backend's tensors): V8 is then not told of its memory, which no GC could reclaim.
   * `zeroed: false` for one whose every value is written before any is read (a kernel's
   * output): no zeroing (on the GPU a memset launch); the host build fills it with 0xFF bytes.
   */
  DeviceVector: new (
    length: number,
    dtype?: StoredDtype,
    options?: { collectable?: boolean; zeroed?: boolean },
  ) => DeviceBuffer;
  upload(
    vector: DeviceBuffer,
    values: Float32Array | Int32Array | Uint8Array,
    offset: number,
  ): void;
  download(vector: DeviceBuffer, out: Float32Array | Int32Array | Uint8Array): void;
  /** dst = src (same length and dtype), on the device. */
  copy(dst: DeviceBuffer, src: DeviceBuffer): void;
  /**
   * dsts[i] = srcs[i] for every pair (same length and dtype), one launch on the GPU; a
   * destination must not overlap another pair's vectors.
   */
  copyBatch(dsts: readonly DeviceBuffer[], srcs: readonly DeviceBuffer[]): void;
  /** Every value of a float32 vector = value, on the device. */
  fill(vector: DeviceBuffer, value: number): void;
  /** Waits for the calling thread's queued device work. */
  synchronize(): void;
  /** The CUDA device's kernels (absent from an addon built before them). */
  device?: NativeDevice;
}

export type CudaDeviceAddon = KernelsAddon & { device: NativeDevice };

/** The kernels addon's builds that hold the CUDA device: on the GPU, and on the host. */
export const CUDA_DEVICE_ADDONS = { cuda: 'anneal_cuda.node', host: 'anneal_cpu.node' } as const;
export type CudaDeviceBuild = keyof typeof CUDA_DEVICE_ADDONS;

/**
 * The CUDA device's addon of `build`, or a UsageError that says why it cannot be used. The
 * `cuda` build must also find a GPU (probeCuda, which the caller passes in, since it lives in the
 * kernels layer).
 */
export function cudaDeviceAddon(
  build: CudaDeviceBuild,
  gpuProblem: () => string | null,
): CudaDeviceAddon {
  const how =
    build === 'cuda'
      ? 'install the CUDA toolkit (nvcc) and cmake, then run `npm run build:addon`'
      : 'install cmake and a C++17 compiler, then run `npm run build:addon`';
  const loaded = loadAddon<KernelsAddon>(CUDA_DEVICE_ADDONS[build], how);
  const problem =
    'reason' in loaded
      ? loaded.reason
      : !loaded.addon.device
        ? `${loaded.path} has no device kernels; rebuild it with \`npm run build:addon\``
        : build === 'cuda'
          ? gpuProblem()
          : null;
  if (problem !== null || 'reason' in loaded) {
    throw new UsageError(
      'ANNEAL_BACKEND_UNAVAILABLE',
      `the anneal-cuda${build === 'host' ? '-host' : ''} backend cannot start: ${problem}`,
    );
  }
  return loaded.addon as CudaDeviceAddon;
}

/** OMP_WAIT_POLICY is set before the load: see loadAddon. */
function loadHost(): LoadedAddon<NativeDevice> {
  return loadAddon<NativeDevice>(HOST_ADDON, HOW_TO_BUILD);
}

/** Why the host device cannot load here, or null when it can. */
export function hostDeviceProblem(): string | null {
  const loaded = loadHost();
  return 'reason' in loaded ? loaded.reason : null;
}

const HOW_TO_BUILD =
  'install oneDNN (`apt-get install libdnnl-dev`), then run `npm run build:addon`';

/** The host device, or a UsageError that says why it is missing and how to get it. */
export function hostDevice(): NativeDevice {
  const loaded = loadHost();
  if ('reason' in loaded) {
    throw new UsageError(
      'ANNEAL_BACKEND_UNAVAILABLE',
      `the anneal-cpu backend cannot load: ${loaded.reason}`,
    );
  }
  return loaded.addon;
}
