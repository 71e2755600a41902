/**
 * Kernels that index, select, compare and convert (native/host/indexing.cpp, and slices as
 * layout.ts's strided gather): Slice, StridedSlice, PadV2, MirrorPad, GatherV2, OneHot, Select, ArgMax,
 * ArgMin, the six comparisons, Cast and Fill. Each gives what tfjs-backend-cpu's kernel gives;
 * the kernels that only move values take float32 and int32 tensors alike (as 32-bit words),
 * the comparisons bool too; other dtypes, empty tensors and calls tfjs rejects fall back (where
 * tfjs then throws its own error).
 *
 * Not native: Range. tfjs builds each value from the previous one as stored (values[i] =
 * values[i - 1] + step, rounded to float32 or truncated to int32 each time), so no parallel
 * loop gives its values, and a serial one is what tfjs already runs.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { DeviceArray } from '../device.js';
import type { NativeBackend } from '../native-backend.js';
import { broadcastStrides } from './elementwise.js';
import { nativeOr } from './fallback.js';
import { alias, gather, stridesOf } from './layout.js';

const MAX_RANK = 6;

/** anneal_device.h's anneal_compare numbers. */
const COMPARE: Record<string, number> = {
  [tf.Equal]: 0,
  [tf.NotEqual]: 1,
  [tf.Greater]: 2,
  [tf.GreaterEqual]: 3,
  [tf.Less]: 4,
  [tf.LessEqual]: 5,
};

/** anneal_device.h's anneal_arg_reduce numbers. */
const ARG_REDUCE: Record<string, number> = { [tf.ArgMax]: 0, [tf.ArgMin]: 1 };

const size = (t: tf.TensorInfo | readonly number[]) =>
  tf.util.sizeFromShape([...('shape' in t ? t.shape : t)]);

/** A float32 or int32 tensor's values as 32-bit words, or null for another dtype. */
function words(backend: NativeBackend, t: tf.TensorInfo): DeviceArray | null {
  return t.dtype === 'float32' || t.dtype === 'int32' ? backend.typed(t) : null;
}

const bits = new Uint32Array(1);

/** The 32-bit word that holds `value` in an array of `dtype` (int32: JavaScript's ToInt32). */
export function wordOf(value: number, dtype: 'float32' | 'int32'): number {
  (dtype === 'int32' ? new Int32Array(bits.buffer) : new Float32Array(bits.buffer))[0] = value;
  return bits[0];
}

/** The words of `w` from `offset` seen as float32, for layout.ts's gather (a copy moves bits). */
const asFloats = (backend: NativeBackend, w: DeviceArray, offset = 0) =>
  backend.view(w, offset, w.length - offset, 'float32');

/** x's values from `offset`, read with `strides` over `dims`, as a tensor of `shape`. */
function stridedCopy(
  backend: NativeBackend,
  x: tf.TensorInfo,
  offset: number,
  dims: number[],
  strides: number[],
  shape: number[],
): tf.TensorInfo | null {
  const source = words(backend, x);
  if (!source || size(dims) === 0) return null;
  const out = backend.alloc(x.dtype as 'float32' | 'int32', size(dims));
  const done = gather(
    backend,
    asFloats(backend, source, offset),
    dims,
    strides,
    asFloats(backend, out),
  );
  if (!done) backend.release(out);
  return done && backend.tensorInfo(shape, x.dtype, out);
}

export const sliceConfig = nativeOr(tf.Slice, ({ inputs, attrs, backend }) => {
  const { x } = inputs as unknown as Record<'x', tf.TensorInfo>;
  const { begin, size: sizes } = attrs as unknown as tf.SliceAttrs;
  if (x.shape.length === 0) return null;
  const [b, s] = tf.slice_util.parseSliceParams(x, begin, sizes);
  tf.slice_util.assertParamsValid(x, b, s);
  const strides = stridesOf(x.shape);
  const offset = b.reduce((sum, at, k) => sum + at * strides[k], 0);
  return stridedCopy(backend, x, offset, s, strides, s);
});

export const stridedSliceConfig = nativeOr(tf.StridedSlice, ({ inputs, attrs, backend }) => {
  const { x } = inputs as unknown as Record<'x', tf.TensorInfo>;
  const a = attrs as unknown as tf.StridedSliceAttrs;
  if (x.dtype !== 'float32' && x.dtype !== 'int32') return null;
  const info = tf.slice_util.sliceInfo(
    x.shape,
    a.begin,
    a.end,
    a.strides,
    a.beginMask,
    a.endMask,
    a.ellipsisMask,
    a.newAxisMask,
    a.shrinkAxisMask,
  );
  if (info.isIdentity) return alias(backend, x, info.finalShape, x.dtype);
  const xStrides = stridesOf(x.shape);
  const offset = info.begin.reduce((sum, at, k) => sum + at * xStrides[k], 0);
  if (info.sliceDim0 || info.isSimpleSlice) {
    // A slice with strides 1, as tfjs's kernel takes it.
    const dims = tf.slice_util.computeOutShape(info.begin, info.end, info.strides);
    if (dims.some((d) => d <= 0)) return null;
    return stridedCopy(backend, x, offset, dims, xStrides, info.finalShape);
  }
  // out[i...] = x[begin + i * strides...] over finalShapeSparse, as tfjs's loop, where that has
  // x's rank (with shrunk axes it has fewer, which tfjs's loop reads as it does).
  const dims = info.finalShapeSparse;
  if (dims.length !== x.shape.length) return null;
  const strides = dims.map((d, k) => (d === 1 ? 0 : info.strides[k] * xStrides[k]));
  // Backwards strides: the device's gather reads forwards only.
  if (strides.some((s) => s < 0)) return null;
  return stridedCopy(backend, x, offset, dims, strides, info.finalShape);
});

export const padConfig = nativeOr(tf.PadV2, ({ inputs, attrs, backend }) => {
  const { x } = inputs as unknown as Record<'x', tf.TensorInfo>;
  const { paddings, constantValue } = attrs as unknown as tf.PadV2Attrs;
  const source = words(backend, x);
  if (!source || x.shape.length === 0 || size(x) === 0) return null;
  // Each dim with no padding is merged into the dim outside it: longer rows to copy.
  const dims: number[] = [];
  const before: number[] = [];
  const after: number[] = [];
  for (let k = x.shape.length - 1; k >= 0; k--) {
    const [b, e] = paddings[k];
    if (dims.length > 0 && before[0] === 0 && after[0] === 0) {
      const inner = dims[0];
      dims[0] *= x.shape[k];
      before[0] = b * inner;
      after[0] = e * inner;
    } else {
      dims.unshift(x.shape[k]);
      before.unshift(b);
      after.unshift(e);
    }
  }
  if (dims.length > MAX_RANK) return null;
  const shape = x.shape.map((d, k) => paddings[k][0] + d + paddings[k][1]);
  const dtype = x.dtype as 'float32' | 'int32';
  const out = backend.alloc(dtype, size(shape));
  backend.device.pad(dims, before, after, source, wordOf(constantValue, dtype), out);
  return backend.tensorInfo(shape, dtype, out);
});

/**
 * Where each position of an axis padded by `before` and `after` reads from (MirrorPad): the
 * mirror image of the edge, without it ('reflect': [1 2 3] by 2 and 1 -> [3 2 1 2 3 2]) or with
 * it ('symmetric': -> [2 1 1 2 3 3]). The MirrorPad gradient (src/engine/gradients.ts) sums dy
 * back along the same map.
 */
export function mirrorPadIndex(
  n: number,
  before: number,
  after: number,
  mode: 'reflect' | 'symmetric',
): Int32Array {
  const edge = mode === 'reflect' ? 1 : 0;
  const index = new Int32Array(before + n + after);
  for (let t = 0; t < index.length; t++) {
    const i = t - before;
    index[t] = i < 0 ? -i - 1 + edge : i >= n ? 2 * n - 1 - i - edge : i;
  }
  return index;
}

/**
 * MirrorPad as one gather per padded axis along mirrorPadIndex (tfjs-backend-cpu's kernel maps
 * every value's coordinates one at a time: 2.4 s for a 128x26x26x32 activation, BlurPool's pad).
 */
export const mirrorPadConfig = nativeOr(tf.MirrorPad, ({ inputs, attrs, backend }) => {
  const { x } = inputs as unknown as Record<'x', tf.TensorInfo>;
  const { paddings, mode } = attrs as unknown as tf.MirrorPadAttrs;
  let source = words(backend, x);
  if (!source || size(x) === 0) return null;
  const dtype = x.dtype as 'float32' | 'int32';
  const shape = [...x.shape];
  const padded = paddings.flatMap(([b, e], k) => (b > 0 || e > 0 ? [k] : []));
  if (padded.length === 0) return null;
  for (const [j, k] of padded.entries()) {
    const table = mirrorPadIndex(shape[k], paddings[k][0], paddings[k][1], mode);
    const index = backend.fromHost(table);
    const outer = size(shape.slice(0, k));
    const inner = size(shape.slice(k + 1));
    // Each gather but the last writes scratch that the next one reads.
    const out = backend.alloc(dtype, outer * table.length * inner);
    const done = backend.device.gather(source, 1, outer, shape[k], inner, index, out);
    backend.release(index);
    if (j > 0) backend.release(source);
    // Paddings tfjs would refuse (a kernel called directly): its kernel throws its error.
    if (!done) {
      backend.release(out);
      return null;
    }
    shape[k] = table.length;
    source = out;
  }
  return backend.tensorInfo(shape, dtype, source);
});

export const gatherConfig = nativeOr(tf.GatherV2, ({ inputs, attrs, backend }) => {
  const { x, indices } = inputs as unknown as Record<'x' | 'indices', tf.TensorInfo>;
  const { axis, batchDims } = attrs as unknown as tf.GatherV2Attrs;
  const source = words(backend, x);
  if (!source || indices.dtype !== 'int32' || size(x) === 0 || size(indices) === 0) return null;
  const a = tf.util.parseAxisParam(axis, x.shape)[0];
  const info = tf.backend_util.segment_util.collectGatherOpShapeInfo(x, indices, a, batchDims ?? 0);
  const dtype = x.dtype as 'float32' | 'int32';
  const out = backend.alloc(dtype, size(info.outputShape));
  const { batchSize, outerSize, dimSize, sliceSize } = info;
  const index = backend.typed(indices)!;
  // An index out of range: tfjs's kernel throws its error.
  if (!backend.device.gather(source, batchSize, outerSize, dimSize, sliceSize, index, out)) {
    return null;
  }
  return backend.tensorInfo(info.outputShape, dtype, out);
});

export const oneHotConfig = nativeOr(tf.OneHot, ({ inputs, attrs, backend }) => {
  const { indices } = inputs as unknown as Record<'indices', tf.TensorInfo>;
  const { dtype, depth, onValue, offValue } = attrs as unknown as tf.OneHotAttrs;
  if (indices.dtype !== 'int32' || size(indices) * depth === 0) return null;
  if (dtype !== 'float32' && dtype !== 'int32') return null;
  // tfjs writes float32 values whatever the dtype; an int32 one's reads truncate them (0.5 is
  // read as 0), which is what the int32 words here hold.
  const out = backend.alloc(dtype, size(indices) * depth);
  const [on, off] = [wordOf(onValue, dtype), wordOf(offValue, dtype)];
  backend.device.oneHot(backend.typed(indices)!, depth, on, off, out);
  return backend.tensorInfo([...indices.shape, depth], dtype, out);
});

export const selectConfig = nativeOr(tf.Select, ({ inputs, backend }) => {
  const { condition, t, e } = inputs as unknown as Record<'condition' | 't' | 'e', tf.TensorInfo>;
  // tf.where broadcasts all three to one shape; other shapes (a kernel called directly) and
  // mixed dtypes fall back.
  const tw = words(backend, t);
  const ew = words(backend, e);
  if (!tw || !ew || condition.dtype !== 'bool' || t.dtype !== e.dtype || size(t) === 0) {
    return null;
  }
  if (![condition, e].every((u) => tf.util.arraysEqual(u.shape, t.shape))) return null;
  const out = backend.alloc(t.dtype as 'float32' | 'int32', size(t));
  backend.device.select(backend.typed(condition)!, tw, ew, out);
  return backend.tensorInfo(t.shape, t.dtype, out);
});

export const fillConfig = nativeOr(tf.Fill, ({ attrs, backend }) => {
  const { shape, value, dtype } = attrs as unknown as tf.FillAttrs;
  const type = dtype ?? tf.util.inferDtype(value);
  if ((type !== 'float32' && type !== 'int32') || typeof value !== 'number') return null;
  if (size(shape) === 0) return null;
  const out = backend.alloc(type, size(shape));
  backend.device.fill(wordOf(value, type), out);
  return backend.tensorInfo(shape, type, out);
});

export const argReduceConfigs: tf.KernelConfig[] = Object.entries(ARG_REDUCE).map(([name, op]) =>
  nativeOr(name, ({ inputs, attrs, backend }) => {
    const { x } = inputs as unknown as Record<'x', tf.TensorInfo>;
    const { axis } = attrs as unknown as tf.ArgMaxAttrs;
    const source = words(backend, x);
    if (!source || x.shape.length === 0) return null;
    // tfjs's kernels reduce the first axis given (the op gives one).
    const a = tf.util.parseAxisParam(axis, x.shape)[0];
    const [outer, reduce, inner] = [
      size(x.shape.slice(0, a)),
      x.shape[a],
      size(x.shape.slice(a + 1)),
    ];
    if (outer * reduce * inner === 0) return null;
    const y = backend.alloc('int32', outer * inner);
    backend.device.argReduce(op, source, y, outer, reduce, inner);
    return backend.tensorInfo(
      x.shape.filter((_, k) => k !== a),
      'int32',
      y,
    );
  }),
);

export const compareConfigs: tf.KernelConfig[] = Object.entries(COMPARE).map(([name, op]) =>
  nativeOr(name, ({ inputs, backend }) => {
    const { a, b } = inputs as unknown as Record<'a' | 'b', tf.TensorInfo>;
    if (a.dtype !== b.dtype || size(a) === 0 || size(b) === 0) return null;
    const av = backend.typed(a);
    const bv = backend.typed(b);
    if (!av || !bv) return null;
    const { dims, a: sa, b: sb } = broadcastStrides(a.shape, b.shape);
    if (dims.length > MAX_RANK) return null;
    const shape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const out = backend.alloc('bool', size(shape));
    backend.device.compare(op, dims, av, sa, bv, sb, out);
    return backend.tensorInfo(shape, 'bool', out);
  }),
);

export const castConfig = nativeOr(tf.Cast, ({ inputs, attrs, backend }) => {
  const { x } = inputs as unknown as Record<'x', tf.TensorInfo>;
  const { dtype } = attrs as unknown as tf.CastAttrs;
  if (x.dtype === 'complex64' || dtype === 'complex64' || x.dtype === 'string') return null;
  // A cast that loses nothing keeps the values as they are, as tfjs's does.
  if (!tf.util.hasEncodingLoss(x.dtype, dtype)) return alias(backend, x, x.shape, dtype);
  const source = words(backend, x);
  if (!source || (dtype !== 'int32' && dtype !== 'bool')) return null;
  const n = size(x);
  const out = backend.alloc(dtype, n);
  if (n > 0) backend.device.cast(source, out);
  return backend.tensorInfo(x.shape, dtype, out);
});
