/**
 * Softmax cross-entropy as two native kernels (not tfjs kernels: src/engine/cross-entropy.ts
 * calls them on anneal's backends). tf.losses.softmaxCrossEntropy runs about 37 kernel calls
 * forward and backward (logSumExp, its pieces and their gradients); these compute the same
 * per-row values with the same float steps (native/device/element_rules.h), one launch each way.
 * One output each: a second one (the rows' log-sum-exp, for the gradient) would get a dy of
 * zeros made on the host whenever the gradient runs, so the gradient computes it again.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NativeBackend } from '../native-backend.js';
import { BACKEND_NAME, timedNative } from './fallback.js';
import { expectFloat32, lastAxis } from './inputs.js';

/** Inputs labels, logits (float32, one shape [..., n]); output each row's loss [...]. */
export const CROSS_ENTROPY = 'AnnealSoftmaxCrossEntropy';
/** Inputs logits, labels, dy [...]; output dlogits. */
export const CROSS_ENTROPY_GRAD = 'AnnealSoftmaxCrossEntropyGrad';

const ABOUT = 'logits [..., classes] with at least one class';

export const crossEntropyConfig: tf.KernelConfig = {
  kernelName: CROSS_ENTROPY,
  backendName: BACKEND_NAME,
  kernelFunc: ({ inputs, backend: b }) => {
    const { labels, logits } = inputs as unknown as Record<'labels' | 'logits', tf.TensorInfo>;
    const backend = b as NativeBackend;
    const { rowShape, n, rows } = lastAxis(CROSS_ENTROPY, 'logits', logits, {
      minRank: 1,
      emptyRows: true,
      about: ABOUT,
    });
    expectFloat32(CROSS_ENTROPY, [['labels', labels, logits.shape]], ABOUT);
    return timedNative(CROSS_ENTROPY, () => {
      const loss = backend.alloc('float32', rows);
      if (rows > 0) {
        backend.device.crossEntropy(backend.floats(logits), backend.floats(labels), n, loss);
      }
      return backend.tensorInfo(rowShape, 'float32', loss);
    });
  },
};

export const crossEntropyGradConfig: tf.KernelConfig = {
  kernelName: CROSS_ENTROPY_GRAD,
  backendName: BACKEND_NAME,
  kernelFunc: ({ inputs, backend: b }) => {
    const { logits, labels, dy } = inputs as unknown as Record<
      'logits' | 'labels' | 'dy',
      tf.TensorInfo
    >;
    const backend = b as NativeBackend;
    const { rowShape, n, rows } = lastAxis(CROSS_ENTROPY_GRAD, 'logits', logits, {
      minRank: 1,
      emptyRows: true,
      about: ABOUT,
    });
    expectFloat32(
      CROSS_ENTROPY_GRAD,
      [
        ['labels', labels, logits.shape],
        ['dy', dy, rowShape],
      ],
      ABOUT,
    );
    return timedNative(CROSS_ENTROPY_GRAD, () => {
      const dlogits = backend.alloc('float32', rows * n);
      if (rows > 0) {
        backend.device.crossEntropyGrad(
          backend.floats(logits),
          backend.floats(labels),
          backend.floats(dy),
          n,
          dlogits,
        );
      }
      return backend.tensorInfo(logits.shape, 'float32', dlogits);
    });
  },
};
