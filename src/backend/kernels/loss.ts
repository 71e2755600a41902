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

/** Inputs labels, logits (float32, one shape [..., n]); output each row's loss [...]. */
export const CROSS_ENTROPY = 'AnnealSoftmaxCrossEntropy';
/** Inputs logits, labels, dy [...]; output dlogits. */
export const CROSS_ENTROPY_GRAD = 'AnnealSoftmaxCrossEntropyGrad';

/** The rows' shape and the class count, after checking the tensors (a clear error if not). */
function rowsOf(kernel: string, logits: tf.TensorInfo, others: Record<string, tf.TensorInfo>) {
  const n = logits.shape.at(-1) ?? 0;
  const rowShape = logits.shape.slice(0, -1);
  const expected: Record<string, number[]> = { labels: logits.shape, dy: rowShape };
  const wrong = (name: string, t: tf.TensorInfo, shape: number[]) =>
    t.dtype !== 'float32' || !tf.util.arraysEqual(t.shape, shape)
      ? new Error(
          `${kernel}: ${name} is ${t.dtype} [${t.shape}], expected float32 [${shape}] ` +
            '(logits [..., classes] with at least one class)',
        )
      : null;
  const problem =
    (n < 1 ? wrong('logits', logits, [...rowShape, 1]) : null) ??
    wrong('logits', logits, logits.shape) ??
    Object.entries(others)
      .map(([name, t]) => wrong(name, t, expected[name]))
      .find((e) => e !== null);
  if (problem) throw problem;
  return { rowShape, n, rows: tf.util.sizeFromShape(rowShape) };
}

export const crossEntropyConfig: tf.KernelConfig = {
  kernelName: CROSS_ENTROPY,
  backendName: BACKEND_NAME,
  kernelFunc: ({ inputs, backend: b }) => {
    const { labels, logits } = inputs as unknown as Record<'labels' | 'logits', tf.TensorInfo>;
    const backend = b as NativeBackend;
    const { rowShape, n, rows } = rowsOf(CROSS_ENTROPY, logits, { labels });
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
    const { n, rows } = rowsOf(CROSS_ENTROPY_GRAD, logits, { labels, dy });
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
