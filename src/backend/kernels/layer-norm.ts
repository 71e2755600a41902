/**
 * Layer norm over the last axis as two native kernels (not tfjs kernels: anneal's
 * LayerNormalization patch, src/engine/layer-norm.ts, calls them on its own backends).
 * tfjs-layers computes tf.moments, tiles the mean, variance, scale and offset to x's shape and
 * runs tf.batchNorm, and tfjs differentiates each op (FusedBatchNorm's full-shape gradient
 * included): about 45 kernel calls a layer and step; here one forward (each row's moments and
 * values) and one backward (dx row by row; the parameters' gradients as column sums).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NativeBackend } from '../native-backend.js';
import { BACKEND_NAME, timedNative } from './fallback.js';
import { expectFloat32, floatsOrNull, lastAxis } from './inputs.js';

/**
 * Inputs x [..., n], scale [n] and offset [n] (each optional: 1, 0); attr varianceEpsilon;
 * outputs y, mean, variance.
 */
export const LAYER_NORM = 'AnnealLayerNorm';
/** Inputs dy, x, mean, variance [...], scale; attr varianceEpsilon; outputs dx, dscale, doffset. */
export const LAYER_NORM_GRAD = 'AnnealLayerNormGrad';

const ABOUT = 'x [rows..., features] of rank >= 2';

export const layerNormConfig: tf.KernelConfig = {
  kernelName: LAYER_NORM,
  backendName: BACKEND_NAME,
  kernelFunc: ({ inputs, attrs, backend: b }) => {
    const { x, scale, offset } = inputs as unknown as Record<
      'x' | 'scale' | 'offset',
      tf.TensorInfo
    >;
    const { varianceEpsilon } = attrs as unknown as { varianceEpsilon: number };
    const backend = b as NativeBackend;
    const { n, rowShape, rows } = lastAxis(LAYER_NORM, 'x', x, { minRank: 2, about: ABOUT });
    expectFloat32(
      LAYER_NORM,
      [
        ['scale', scale, [n]],
        ['offset', offset, [n]],
      ],
      ABOUT,
    );
    return timedNative(LAYER_NORM, () => {
      const y = backend.alloc('float32', rows * n);
      const mean = backend.alloc('float32', rows);
      const variance = backend.alloc('float32', rows);
      backend.device.layerNorm(
        backend.floats(x),
        n,
        floatsOrNull(backend, scale),
        floatsOrNull(backend, offset),
        varianceEpsilon,
        y,
        mean,
        variance,
      );
      return [
        backend.tensorInfo(x.shape, 'float32', y),
        backend.tensorInfo(rowShape, 'float32', mean),
        backend.tensorInfo(rowShape, 'float32', variance),
      ];
    });
  },
};

export const layerNormGradConfig: tf.KernelConfig = {
  kernelName: LAYER_NORM_GRAD,
  backendName: BACKEND_NAME,
  kernelFunc: ({ inputs, attrs, backend: b }) => {
    const { dy, x, mean, variance, scale } = inputs as unknown as Record<
      'dy' | 'x' | 'mean' | 'variance' | 'scale',
      tf.TensorInfo
    >;
    const { varianceEpsilon } = attrs as unknown as { varianceEpsilon: number };
    const backend = b as NativeBackend;
    const { n, rowShape, rows } = lastAxis(LAYER_NORM_GRAD, 'x', x, { minRank: 2, about: ABOUT });
    expectFloat32(
      LAYER_NORM_GRAD,
      [
        ['dy', dy, x.shape],
        ['mean', mean, rowShape],
        ['variance', variance, rowShape],
        ['scale', scale, [n]],
      ],
      ABOUT,
    );
    return timedNative(LAYER_NORM_GRAD, () => {
      const dx = backend.alloc('float32', rows * n);
      const dscale = backend.alloc('float32', n);
      const doffset = backend.alloc('float32', n);
      backend.device.layerNormGrad(
        backend.floats(x),
        backend.floats(dy),
        n,
        backend.floats(mean),
        backend.floats(variance),
        floatsOrNull(backend, scale),
        varianceEpsilon,
        dx,
        dscale,
        doffset,
      );
      return [
        backend.tensorInfo(x.shape, 'float32', dx),
        backend.tensorInfo([n], 'float32', dscale),
        backend.tensorInfo([n], 'float32', doffset),
      ];
    });
  },
};
