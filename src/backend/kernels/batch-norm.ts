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
import { expectFloat32, floatsOrNull, lastAxis } from './inputs.js';

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

const ABOUT = 'x [..., channels]: channels last';

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
    const { n: channels } = lastAxis(BATCH_NORM_TRAINING, 'x', x, { minRank: 1, about: ABOUT });
    expectFloat32(
      BATCH_NORM_TRAINING,
      [
        ['scale', scale, [channels]],
        ['offset', offset, [channels]],
        ['movingMean', movingMean, [channels]],
        ['movingVariance', movingVariance, [channels]],
      ],
      ABOUT,
    );
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
      backend.device.moments(
        values,
        channels,
        mean,
        variance,
        floatsOrNull(backend, movingMean),
        floatsOrNull(backend, movingVariance),
        1 - (momentum ?? 0),
        updated[0] ?? null,
        updated[1] ?? null,
      );
      backend.device.batchNorm(
        values,
        mean,
        variance,
        floatsOrNull(backend, scale),
        floatsOrNull(backend, offset),
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
    const { n: channels } = lastAxis(BATCH_NORM_TRAINING_GRAD, 'x', x, {
      minRank: 1,
      about: ABOUT,
    });
    expectFloat32(
      BATCH_NORM_TRAINING_GRAD,
      [
        ['dy', dy, x.shape],
        ['mean', mean, [channels]],
        ['variance', variance, [channels]],
        ['scale', scale, [channels]],
        ['dmean', dmean, [channels]],
        ['dvariance', dvariance, [channels]],
      ],
      ABOUT,
    );
    return timedNative(BATCH_NORM_TRAINING_GRAD, () => {
      const dx = backend.alloc('float32', tf.util.sizeFromShape(x.shape));
      const dscale = backend.alloc('float32', channels);
      const doffset = backend.alloc('float32', channels);
      backend.device.batchNormGrad(
        backend.floats(x),
        backend.floats(dy),
        channels,
        backend.floats(mean),
        backend.floats(variance),
        floatsOrNull(backend, scale),
        floatsOrNull(backend, dmean),
        floatsOrNull(backend, dvariance),
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
