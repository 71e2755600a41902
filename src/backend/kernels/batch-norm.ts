/**
 * Batch norm in training as two native kernels (not tfjs kernels: anneal's BatchNormalization
 * patch, src/engine/batch-norm.ts, calls them on its own backends). tfjs-layers computes
 * tf.moments (Mean, Sub, Square, Mean) and tf.batchNorm, and tfjs differentiates each op, about
 * 40 kernels a layer and step; here the forward is moments + FusedBatchNorm and the backward one
 * kernel (two passes over x and dy), on both devices (anneal_device.h).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NativeBackend } from '../native-backend.js';
import { BACKEND_NAME, timedNative } from './fallback.js';

/**
 * Inputs x [..., C], scale [C], offset [C], and optionally movingMean and movingVariance [C];
 * attrs varianceEpsilon and (with the moving ones) momentum; outputs y, mean, variance, and with
 * the moving ones their updates, tfjs-layers' moving - (moving - batch value) * (1 - momentum).
 */
export const BATCH_NORM_TRAINING = 'AnnealBatchNormTraining';
/**
 * Inputs dy, x, mean, variance, scale (and dmean, dvariance: the gradients of the statistics
 * outputs); attr varianceEpsilon; outputs dx, dscale, doffset.
 */
export const BATCH_NORM_TRAINING_GRAD = 'AnnealBatchNormTrainingGrad';

/** x's channel count (its last dim), after checking every per-channel tensor has that shape. */
function channelsOf(
  kernel: string,
  x: tf.TensorInfo,
  perChannel: Record<string, tf.TensorInfo | undefined>,
  same: Record<string, tf.TensorInfo> = {},
): number {
  const channels = x.shape.at(-1) ?? 0;
  const bad = (what: string, t: tf.TensorInfo, expected: string) =>
    new Error(
      `${kernel}: ${what} is ${t.dtype} [${t.shape}], expected float32 ${expected} ` +
        `(x is [${x.shape}]: channels last, at least one value)`,
    );
  if (x.dtype !== 'float32' || x.shape.length < 1 || tf.util.sizeFromShape(x.shape) === 0) {
    throw bad('x', x, 'with at least one value');
  }
  for (const [name, t] of Object.entries(perChannel)) {
    if (t && (t.dtype !== 'float32' || t.shape.length !== 1 || t.shape[0] !== channels)) {
      throw bad(name, t, `[${channels}]`);
    }
  }
  for (const [name, t] of Object.entries(same)) {
    if (t.dtype !== 'float32' || !tf.util.arraysEqual(t.shape, x.shape)) {
      throw bad(name, t, `[${x.shape}]`);
    }
  }
  return channels;
}

export const batchNormTrainingConfig: tf.KernelConfig = {
  kernelName: BATCH_NORM_TRAINING,
  backendName: BACKEND_NAME,
  kernelFunc: ({ inputs, attrs, backend: b }) => {
    const { x, scale, offset, movingMean, movingVariance } = inputs as unknown as Record<
      'x' | 'scale' | 'offset',
      tf.TensorInfo
    > &
      Partial<Record<'movingMean' | 'movingVariance', tf.TensorInfo>>;
    const { varianceEpsilon, momentum } = attrs as unknown as {
      varianceEpsilon: number;
      momentum?: number;
    };
    const backend = b as NativeBackend;
    const moving = { movingMean, movingVariance };
    const channels = channelsOf(BATCH_NORM_TRAINING, x, { scale, offset, ...moving });
    const given = [movingMean, movingVariance, momentum].filter((v) => v !== undefined).length;
    if (given !== 0 && given !== 3) {
      throw new Error(
        `${BATCH_NORM_TRAINING}: movingMean, movingVariance and the momentum attr go together ` +
          '(give all three or none)',
      );
    }
    return timedNative(BATCH_NORM_TRAINING, () => {
      const mean = backend.alloc('float32', channels);
      const variance = backend.alloc('float32', channels);
      const y = backend.alloc('float32', tf.util.sizeFromShape(x.shape));
      const updated = given ? [0, 1].map(() => backend.alloc('float32', channels)) : [];
      const values = backend.floats(x);
      const floatsOf = (t: tf.TensorInfo | undefined) => (t ? backend.floats(t) : null);
      backend.device.moments(
        values,
        channels,
        mean,
        variance,
        floatsOf(movingMean),
        floatsOf(movingVariance),
        1 - (momentum ?? 0),
        updated[0] ?? null,
        updated[1] ?? null,
      );
      backend.device.batchNorm(
        values,
        mean,
        variance,
        floatsOf(scale),
        floatsOf(offset),
        varianceEpsilon,
        y,
      );
      return [y, mean, variance, ...updated].map((out, k) =>
        backend.tensorInfo(k === 0 ? x.shape : [channels], 'float32', out),
      );
    });
  },
};

export const batchNormTrainingGradConfig: tf.KernelConfig = {
  kernelName: BATCH_NORM_TRAINING_GRAD,
  backendName: BACKEND_NAME,
  kernelFunc: ({ inputs, attrs, backend: b }) => {
    const { dy, x, mean, variance, scale, dmean, dvariance } = inputs as unknown as Record<
      'dy' | 'x' | 'mean' | 'variance' | 'scale' | 'dmean' | 'dvariance',
      tf.TensorInfo
    >;
    const { varianceEpsilon } = attrs as unknown as { varianceEpsilon: number };
    const backend = b as NativeBackend;
    const channels = channelsOf(
      BATCH_NORM_TRAINING_GRAD,
      x,
      { mean, variance, scale, dmean, dvariance },
      { dy },
    );
    return timedNative(BATCH_NORM_TRAINING_GRAD, () => {
      const dx = backend.alloc('float32', tf.util.sizeFromShape(x.shape));
      const dscale = backend.alloc('float32', channels);
      const doffset = backend.alloc('float32', channels);
      const floatsOf = (t: tf.TensorInfo | undefined) => (t ? backend.floats(t) : null);
      backend.device.batchNormGrad(
        backend.floats(x),
        backend.floats(dy),
        channels,
        backend.floats(mean),
        backend.floats(variance),
        floatsOf(scale),
        floatsOf(dmean),
        floatsOf(dvariance),
        varianceEpsilon,
        dx,
        dscale,
        doffset,
      );
      return [
        backend.tensorInfo(x.shape, 'float32', dx),
        backend.tensorInfo([channels], 'float32', dscale),
        backend.tensorInfo([channels], 'float32', doffset),
      ];
    });
  },
};
