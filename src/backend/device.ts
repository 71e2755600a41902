/**
 * The host device: anneal_host.node (native/binding/backend_addon.cc over
 * native/device/anneal_device.h, on oneDNN). Tensors are passed as their Float32Arrays, used in
 * place; sizes are checked again on the native side.
 */
import { loadAddon, type LoadedAddon } from '../addons.js';
import { UsageError } from '../errors.js';

/** The conv2d shape, in anneal_device.h's `anneal_conv2d` field order (17 numbers). */
export type Conv2dShape = readonly number[];

export interface HostDevice {
  describe(): string;
  /** Sets the kernels' thread count (0: the machine's cores); returns the count now in force. */
  setThreads(threads: number): number;
  matmul(
    a: Float32Array,
    b: Float32Array,
    bias: Float32Array | null,
    c: Float32Array,
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
    x: Float32Array,
    filter: Float32Array,
    bias: Float32Array | null,
    y: Float32Array,
    activation: number,
    alpha: number,
  ): void;
  conv2dBackpropInput(
    shape: Conv2dShape,
    dy: Float32Array,
    filter: Float32Array,
    dx: Float32Array,
  ): void;
  conv2dBackpropFilter(
    shape: Conv2dShape,
    x: Float32Array,
    dy: Float32Array,
    dw: Float32Array,
  ): void;
  /** Depthwise convs: shape's out channels = in channels * multiplier (anneal_device.h). */
  depthwiseConv2d(shape: Conv2dShape, x: Float32Array, filter: Float32Array, y: Float32Array): void;
  depthwiseConv2dBackpropInput(
    shape: Conv2dShape,
    dy: Float32Array,
    filter: Float32Array,
    dx: Float32Array,
  ): void;
  depthwiseConv2dBackpropFilter(
    shape: Conv2dShape,
    x: Float32Array,
    dy: Float32Array,
    dw: Float32Array,
  ): void;
  binary(
    op: number,
    outDims: readonly number[],
    a: Float32Array,
    aStrides: readonly number[],
    b: Float32Array,
    bStrides: readonly number[],
    out: Float32Array,
  ): void;
  unary(op: number, x: Float32Array, y: Float32Array, alpha: number): void;
  reduce(
    op: number,
    x: Float32Array,
    y: Float32Array,
    outer: number,
    reduce: number,
    inner: number,
  ): void;
  softmax(x: Float32Array, y: Float32Array, rows: number, n: number): void;
  pool(shape: Pool2dShape, x: Float32Array, y: Float32Array, max: boolean): void;
  maxPoolGrad(shape: Pool2dShape, x: Float32Array, dy: Float32Array, dx: Float32Array): void;
  avgPoolGrad(shape: Pool2dShape, dy: Float32Array, dx: Float32Array): void;
  /** tfjs's FusedBatchNorm: each parameter read cyclically (anneal_device.h). */
  batchNorm(
    x: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    scale: Float32Array | null,
    offset: Float32Array | null,
    epsilon: number,
    out: Float32Array,
  ): void;
  /** The inputs, viewed as [outer, widths[i]], side by side in out: [outer, sum of widths]. */
  concat(inputs: Float32Array[], widths: number[], outer: number, out: Float32Array): void;
  // Indexing kernels (anneal_device.h). Words: a float32 or int32 tensor's values, and a value
  // as the 32-bit word of its bits (wordOf in kernels/indexing.ts).
  pad(
    inDims: readonly number[],
    before: readonly number[],
    after: readonly number[],
    x: Words,
    value: number,
    out: Words,
  ): void;
  /** GatherV2 over x [batch, outer, dim, slice]; false where an index is outside [0, dim). */
  gather(
    x: Words,
    batch: number,
    outer: number,
    dim: number,
    slice: number,
    indices: Int32Array,
    out: Words,
  ): boolean;
  oneHot(indices: Int32Array, depth: number, on: number, off: number, out: Words): void;
  select(condition: Uint8Array, t: Words, e: Words, out: Words): void;
  fill(value: number, out: Words): void;
  /** ArgMax (op 0) or ArgMin (1) over the middle axis of x [outer, reduce, inner]. */
  argReduce(
    op: number,
    x: Words,
    y: Int32Array,
    outer: number,
    reduce: number,
    inner: number,
  ): void;
  /** A comparison (anneal_compare) of a and b (one type), read by strides, into 0 / 1 bytes. */
  compare(
    op: number,
    outDims: readonly number[],
    a: Words | Uint8Array,
    aStrides: readonly number[],
    b: Words | Uint8Array,
    bStrides: readonly number[],
    out: Uint8Array,
  ): void;
  /** tfjs's casts float32 -> int32 | bool and int32 -> bool, the types the arrays'. */
  cast(x: Words, y: Int32Array | Uint8Array): void;
}

/** A float32 or int32 tensor's values: 32-bit words for the kernels that only move them. */
export type Words = Float32Array | Int32Array;

/** The pool2d shape, in anneal_device.h's `anneal_pool2d` field order (14 numbers). */
export type Pool2dShape = readonly number[];

export const HOST_ADDON = 'anneal_host.node';

/** OMP_WAIT_POLICY is set before the load: see loadAddon. */
function loadHost(): LoadedAddon<HostDevice> {
  return loadAddon<HostDevice>(HOST_ADDON, HOW_TO_BUILD);
}

/** Why the host device cannot load here, or null when it can. */
export function hostDeviceProblem(): string | null {
  const loaded = loadHost();
  return 'reason' in loaded ? loaded.reason : null;
}

const HOW_TO_BUILD =
  'install oneDNN (`apt-get install libdnnl-dev`), then run `npm run build:addon`';

/** The host device, or a UsageError that says why it is missing and how to get it. */
export function hostDevice(): HostDevice {
  const loaded = loadHost();
  if ('reason' in loaded) {
    throw new UsageError(
      'ANNEAL_BACKEND_UNAVAILABLE',
      `the anneal-cpu backend cannot load: ${loaded.reason}`,
    );
  }
  return loaded.addon;
}
