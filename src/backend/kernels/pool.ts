/** MaxPool, AvgPool and their gradients (NHWC) on the host device's loops. */
import * as tf from '@tensorflow/tfjs-core';
import type { Pool2dShape } from '../device.js';
import { nativeOr } from './fallback.js';

type Shape4 = [number, number, number, number];
interface PoolAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** tfjs's shape arithmetic of a pooling as anneal_device.h's `anneal_pool2d` fields. */
export function poolDims(info: tf.backend_util.Conv2DInfo): Pool2dShape {
  return [
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.filterHeight,
    info.filterWidth,
    info.outHeight,
    info.outWidth,
    info.strideHeight,
    info.strideWidth,
    info.dilationHeight,
    info.dilationWidth,
    info.padInfo.top,
    info.padInfo.left,
  ];
}

/** The device's shape of a pooling of an input of `shape`, or null for an empty one. */
function poolShape(
  shape: readonly number[],
  attrs: PoolAttrs,
): { dims: Pool2dShape; out: number[] } | null {
  const info = tf.backend_util.computePool2DInfo(
    shape as Shape4,
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const dims = poolDims(info);
  // tfjs returns a 1x1 pooling whose output has the input's shape unchanged, whatever its
  // stride and padding say (tfjs-core's pool specs test it): that case falls back.
  const identity =
    info.filterHeight === 1 &&
    info.filterWidth === 1 &&
    tf.util.arraysEqual(info.inShape, info.outShape);
  return !identity && dims.slice(0, 12).every((d) => d > 0) ? { dims, out: info.outShape } : null;
}

const pool = (name: string, max: boolean) =>
  nativeOr(name, ({ inputs, attrs, backend }) => {
    const { x } = inputs as unknown as Record<'x', tf.TensorInfo>;
    if (x.dtype !== 'float32') return null;
    const shape = poolShape(x.shape, attrs as unknown as PoolAttrs);
    if (!shape) return null;
    const y = backend.alloc('float32', tf.util.sizeFromShape(shape.out));
    backend.device.pool(shape.dims, backend.floats(x), y, max);
    return backend.tensorInfo(shape.out, 'float32', y);
  });

export const maxPoolConfig = pool(tf.MaxPool, true);
export const avgPoolConfig = pool(tf.AvgPool, false);

export const maxPoolGradConfig = nativeOr(tf.MaxPoolGrad, ({ inputs, attrs, backend }) => {
  const { dy, input } = inputs as unknown as Record<'dy' | 'input', tf.TensorInfo>;
  if (dy.dtype !== 'float32' || input.dtype !== 'float32') return null;
  const shape = poolShape(input.shape, attrs as unknown as PoolAttrs);
  if (!shape) return null;
  const dx = backend.alloc('float32', tf.util.sizeFromShape(input.shape));
  backend.device.maxPoolGrad(shape.dims, backend.floats(input), backend.floats(dy), dx);
  return backend.tensorInfo(input.shape, 'float32', dx);
});

export const avgPoolGradConfig = nativeOr(tf.AvgPoolGrad, ({ inputs, attrs, backend }) => {
  const { dy, input } = inputs as unknown as Record<'dy' | 'input', tf.TensorInfo>;
  if (dy.dtype !== 'float32') return null;
  const shape = poolShape(input.shape, attrs as unknown as PoolAttrs);
  if (!shape) return null;
  const dx = backend.alloc('float32', tf.util.sizeFromShape(input.shape));
  backend.device.avgPoolGrad(shape.dims, backend.floats(dy), dx);
  return backend.tensorInfo(input.shape, 'float32', dx);
});
