/**
 * Elementwise kernels on float32: binary ops with tfjs's broadcasting (both sides may broadcast,
 * which oneDNN's binary primitive does not take), unary ops, and FusedBatchNorm; the native
 * loops follow tfjs-backend-cpu's arithmetic, NaN rules included (native/host/loops.cpp).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NativeBackend } from '../native-backend.js';
import { BACKEND_NAME, nativeOr, timedNative } from './fallback.js';
import { expectFloat32, floatsOrNull } from './inputs.js';

/** anneal_device.h's anneal_binary numbers. */
const BINARY: Record<string, number> = {
  [tf.Add]: 0,
  [tf.Sub]: 1,
  [tf.Multiply]: 2,
  [tf.RealDiv]: 3,
  [tf.Maximum]: 4,
  [tf.Minimum]: 5,
  [tf.SquaredDifference]: 6,
};

/** anneal_device.h's anneal_unary numbers. */
const UNARY: Record<string, number> = {
  [tf.Relu]: 0,
  [tf.Step]: 1,
  [tf.Square]: 2,
  [tf.Neg]: 3,
  [tf.Exp]: 4,
  [tf.Log]: 5,
  [tf.Sqrt]: 6,
  [tf.Rsqrt]: 7,
  [tf.Sigmoid]: 8,
  [tf.Tanh]: 9,
  [tf.Abs]: 10,
  [tf.Erf]: 11,
};

const MAX_RANK = 6;

/**
 * The output dims and each input's strides over them (0 where it broadcasts), with adjacent
 * dims merged wherever both inputs read them as one run, so rows are as long as they can be.
 */
export function broadcastStrides(
  aShape: readonly number[],
  bShape: readonly number[],
): { dims: number[]; a: number[]; b: number[] } {
  const out = tf.backend_util.assertAndGetBroadcastShape([...aShape], [...bShape]);
  const dims = out.length === 0 ? [1] : out;
  const stridesOf = (shape: readonly number[]) => {
    const padded = [...Array(dims.length - shape.length).fill(1), ...shape];
    const strides = new Array<number>(dims.length);
    let step = 1;
    for (let k = dims.length - 1; k >= 0; k--) {
      strides[k] = padded[k] === 1 && dims[k] !== 1 ? 0 : step;
      step *= padded[k];
    }
    return strides;
  };
  const sa = stridesOf(aShape);
  const sb = stridesOf(bShape);
  const merged = { dims: [dims.at(-1)!], a: [sa.at(-1)!], b: [sb.at(-1)!] };
  for (let k = dims.length - 2; k >= 0; k--) {
    const joins = (s: number[], inner: number) =>
      s[k] === s[k + 1] * dims[k + 1] || (s[k] === 0 && inner === 0);
    if (joins(sa, merged.a[0]) && joins(sb, merged.b[0])) {
      merged.dims[0] *= dims[k];
    } else {
      merged.dims.unshift(dims[k]);
      merged.a.unshift(sa[k]);
      merged.b.unshift(sb[k]);
    }
  }
  return merged;
}

/**
 * ReLU's gradient in one pass: dy * step(x), which tfjs's stock gradient computes as a Cast, a Step
 * and a Multiply (two passes over activations more). Not a tfjs kernel: anneal's Relu gradient
 * (src/engine/gradients.ts) calls it on anneal-cpu, for float32 dy and x of one shape.
 */
export const RELU_GRAD = 'AnnealReluGrad';
const RELU_GRAD_OP = 8;

export const reluGradConfig: tf.KernelConfig = {
  kernelName: RELU_GRAD,
  backendName: BACKEND_NAME,
  kernelFunc: ({ inputs, backend: b }) => {
    const { dy, x } = inputs as unknown as Record<'dy' | 'x', tf.TensorInfo>;
    const backend = b as NativeBackend;
    expectFloat32(
      RELU_GRAD,
      [
        ['x', x, x.shape],
        ['dy', dy, x.shape],
      ],
      'dy and x of one shape',
    );
    return timedNative(RELU_GRAD, () => {
      const n = tf.util.sizeFromShape(x.shape);
      const out = backend.alloc('float32', n);
      if (n > 0)
        backend.device.binary(
          RELU_GRAD_OP,
          [n],
          backend.floats(dy),
          [1],
          backend.floats(x),
          [1],
          out,
        );
      return backend.tensorInfo(x.shape, 'float32', out);
    });
  },
};

export const binaryConfigs: tf.KernelConfig[] = Object.entries(BINARY).map(([name, op]) =>
  nativeOr(name, ({ inputs, backend }) => {
    const { a, b } = inputs as unknown as Record<'a' | 'b', tf.TensorInfo>;
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return null;
    const size = (t: tf.TensorInfo) => tf.util.sizeFromShape(t.shape);
    if (size(a) === 0 || size(b) === 0) return null;
    const { dims, a: sa, b: sb } = broadcastStrides(a.shape, b.shape);
    if (dims.length > MAX_RANK) return null;
    const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const out = backend.alloc('float32', tf.util.sizeFromShape(outShape));
    backend.device.binary(op, dims, backend.floats(a), sa, backend.floats(b), sb, out);
    return backend.tensorInfo(outShape, 'float32', out);
  }),
);

export const unaryConfigs: tf.KernelConfig[] = Object.entries(UNARY).map(([name, op]) =>
  nativeOr(name, ({ inputs, attrs, backend }) => {
    const { x } = inputs as unknown as Record<'x', tf.TensorInfo>;
    if (x.dtype !== 'float32') return null;
    const alpha = name === tf.Step ? ((attrs as { alpha?: number }).alpha ?? 0) : 0;
    const y = backend.alloc('float32', tf.util.sizeFromShape(x.shape));
    backend.device.unary(op, backend.floats(x), y, alpha);
    return backend.tensorInfo(x.shape, 'float32', y);
  }),
);

/** FusedBatchNorm, each parameter read cyclically over x as tfjs-backend-cpu reads it. */
export const batchNormConfig = nativeOr(tf.FusedBatchNorm, ({ inputs, attrs, backend }) => {
  const { x, mean, variance, scale, offset } = inputs as unknown as Record<
    'x' | 'mean' | 'variance',
    tf.TensorInfo
  > &
    Partial<Record<'scale' | 'offset', tf.TensorInfo>>;
  const given = [x, mean, variance, scale, offset].filter((t) => t !== undefined);
  if (given.some((t) => t.dtype !== 'float32' || tf.util.sizeFromShape(t.shape) === 0)) {
    return null;
  }
  // Parameters of unequal ranks: tfjs's kernel says what is wrong.
  if (given.slice(1).some((t) => t.shape.length !== mean.shape.length)) return null;
  const { varianceEpsilon } = attrs as unknown as { varianceEpsilon?: number };
  const out = backend.alloc('float32', tf.util.sizeFromShape(x.shape));
  backend.device.batchNorm(
    backend.floats(x),
    backend.floats(mean),
    backend.floats(variance),
    floatsOrNull(backend, scale),
    floatsOrNull(backend, offset),
    varianceEpsilon ?? 0.001,
    out,
  );
  return backend.tensorInfo(x.shape, 'float32', out);
});
