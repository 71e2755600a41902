/**
 * Kernels that only move values: Transpose, Tile and SplitV, each one strided gather on the
 * device (anneal_device.h's ANNEAL_BIN_COPY: out = a, read by strides over the output's dims),
 * and Concat, rows side by side (float32 only; other dtypes fall back); Reshape and Identity,
 * which move nothing (any stored dtype; on anneal-cuda a fallback would copy to the host and back).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { DeviceArray } from '../device.js';
import type { NativeBackend } from '../native-backend.js';
import { nativeOr } from './fallback.js';

const COPY = 7;
const MAX_RANK = 6;

/** The same data under another shape or dtype, no copy (Reshape, Identity, some casts). */
export function alias(
  backend: NativeBackend,
  x: tf.TensorInfo,
  shape: number[],
  dtype: tf.DataType,
): tf.TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape, dtype };
}

/** Complex tensors' parts carry shapes too: those fall back to tfjs's kernels. */
const aliasable = (x: tf.TensorInfo) => x.dtype !== 'complex64' && x.dtype !== 'string';

export const reshapeConfig = nativeOr(tf.Reshape, ({ inputs, attrs, backend }) => {
  const { x } = inputs as unknown as Record<'x', tf.TensorInfo>;
  const { shape } = attrs as unknown as tf.ReshapeAttrs;
  if (!aliasable(x)) return null;
  const size = tf.util.sizeFromShape(x.shape);
  const target = tf.util.inferFromImplicitShape(shape, size);
  // A wrong size: tfjs's kernel throws its error.
  if (tf.util.sizeFromShape(target) !== size) return null;
  return alias(backend, x, target, x.dtype);
});

export const identityConfig = nativeOr(tf.Identity, ({ inputs, backend }) => {
  const { x } = inputs as unknown as Record<'x', tf.TensorInfo>;
  return aliasable(x) ? alias(backend, x, [...x.shape], x.dtype) : null;
});

/** Row-major strides of `shape`. */
export function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let step = 1;
  for (let k = shape.length - 1; k >= 0; k--) {
    strides[k] = step;
    step *= shape[k];
  }
  return strides;
}

/** Adjacent dims merged wherever the source reads them as one run; size-1 dims dropped. */
function merge(dims: readonly number[], strides: readonly number[]) {
  const out = { dims: [] as number[], strides: [] as number[] };
  for (let k = dims.length - 1; k >= 0; k--) {
    if (dims[k] === 1) continue;
    const inner = out.strides[0];
    if (inner !== undefined && strides[k] === inner * out.dims[0]) out.dims[0] *= dims[k];
    else {
      out.dims.unshift(dims[k]);
      out.strides.unshift(strides[k]);
    }
  }
  return out.dims.length === 0 ? { dims: [1], strides: [1] } : out;
}

/**
 * The values of `source` read with `strides` over `dims`, into `out` (by default a pooled
 * buffer of their size): the output, or null where the gather needs more than MAX_RANK dims.
 */
export function gather(
  backend: NativeBackend,
  source: DeviceArray,
  dims: readonly number[],
  strides: readonly number[],
  out?: DeviceArray,
): DeviceArray | null {
  const m = merge(dims, strides);
  if (m.dims.length > MAX_RANK) return null;
  out ??= backend.alloc('float32', tf.util.sizeFromShape([...dims]));
  if (out.length === 0) return out;
  const none = m.dims.map(() => 0);
  backend.device.binary(COPY, m.dims, source, m.strides, source, none, out);
  return out;
}

export const transposeConfig = nativeOr(tf.Transpose, ({ inputs, attrs, backend }) => {
  const { x } = inputs as unknown as Record<'x', tf.TensorInfo>;
  const { perm } = attrs as unknown as { perm: number[] };
  if (x.dtype !== 'float32' || tf.util.sizeFromShape(x.shape) === 0) return null;
  const strides = stridesOf(x.shape);
  const out = gather(
    backend,
    backend.floats(x),
    perm.map((p) => x.shape[p]),
    perm.map((p) => strides[p]),
  );
  return (
    out &&
    backend.tensorInfo(
      perm.map((p) => x.shape[p]),
      'float32',
      out,
    )
  );
});

/** Tile as a gather: the output [r0, d0, r1, d1, ...] reads x with stride 0 along each r. */
export const tileConfig = nativeOr(tf.Tile, ({ inputs, attrs, backend }) => {
  const { x } = inputs as unknown as Record<'x', tf.TensorInfo>;
  const { reps } = attrs as unknown as { reps: number[] };
  if (x.dtype !== 'float32' || tf.util.sizeFromShape(x.shape) === 0) return null;
  const strides = stridesOf(x.shape);
  const out = gather(
    backend,
    backend.floats(x),
    x.shape.flatMap((d, k) => [reps[k], d]),
    strides.flatMap((s) => [0, s]),
  );
  return (
    out &&
    backend.tensorInfo(
      x.shape.map((d, k) => d * reps[k]),
      'float32',
      out,
    )
  );
});

export const splitVConfig: tf.KernelConfig = nativeOr(tf.SplitV, ({ inputs, attrs, backend }) => {
  const { x } = inputs as unknown as Record<'x', tf.TensorInfo>;
  const { numOrSizeSplits, axis } = attrs as unknown as {
    numOrSizeSplits: number | number[];
    axis: number;
  };
  if (x.dtype !== 'float32' || tf.util.sizeFromShape(x.shape) === 0) return null;
  const a = tf.util.parseAxisParam(axis, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, a);
  const outer = tf.util.sizeFromShape(x.shape.slice(0, a));
  const inner = tf.util.sizeFromShape(x.shape.slice(a + 1));
  const values = backend.floats(x);
  const parts: tf.TensorInfo[] = [];
  let start = 0;
  for (const size of sizes) {
    const shape = x.shape.map((d, k) => (k === a ? size : d));
    // Each part: `outer` rows of size * inner values, one axis-length apart, from its start.
    const out =
      size === 0
        ? backend.alloc('float32', 0)
        : gather(
            backend,
            backend.view(values, start * inner, values.length - start * inner, 'float32'),
            [outer, size * inner],
            [x.shape[a] * inner, 1],
          );
    parts.push(backend.tensorInfo(shape, 'float32', out!));
    start += size;
  }
  return parts;
});

/** Concat: the inputs viewed as [outer, width] along the axis, their rows side by side. */
export const concatConfig: tf.KernelConfig = nativeOr(tf.Concat, ({ inputs, attrs, backend }) => {
  const tensors = inputs as unknown as tf.TensorInfo[];
  const { axis } = attrs as unknown as { axis: number };
  if (tensors.length === 0 || tensors.some((t) => t.dtype !== 'float32')) return null;
  const a = tf.util.parseAxisParam(axis, tensors[0].shape)[0];
  // Shapes that differ off the axis throw tfjs's error, empty inputs included.
  tf.backend_util.assertParamsConsistent(
    tensors.map((t) => t.shape),
    a,
  );
  const shape = tf.backend_util.computeOutShape(
    tensors.map((t) => t.shape),
    a,
  );
  // Empty inputs add nothing; an empty output falls back (tfjs's edge cases, as they are).
  const parts = tensors.filter((t) => tf.util.sizeFromShape(t.shape) > 0);
  if (parts.length === 0 || tf.util.sizeFromShape(shape) === 0) return null;
  const outer = tf.util.sizeFromShape(shape.slice(0, a));
  const out = backend.alloc('float32', tf.util.sizeFromShape(shape));
  backend.device.concat(
    parts.map((t) => backend.floats(t)),
    parts.map((t) => tf.util.sizeFromShape(t.shape.slice(a))),
    outer,
    out,
  );
  return backend.tensorInfo(shape, 'float32', out);
});
