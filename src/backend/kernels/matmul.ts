/** BatchMatMul and _FusedMatMul (bias and activation fused) on the host device's oneDNN matmul. */
import * as tf from '@tensorflow/tfjs-core';
import type { NativeBackend } from '../native-backend.js';
import { nativeActivation } from './activation.js';
import { nativeOr } from './fallback.js';

const product = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

/**
 * c = act(op(a) op(b) + bias) natively, or null when the op is outside what the device takes
 * (another dtype, an empty tensor, batch dims that broadcast partly, a bias of another shape).
 */
function matmul(
  backend: NativeBackend,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  bias: tf.TensorInfo | undefined,
  activation: string | undefined,
  alpha: number,
): tf.TensorInfo | null {
  const act = nativeActivation(activation);
  if (act === null || a.dtype !== 'float32' || b.dtype !== 'float32') return null;
  const ra = a.shape.length;
  const rb = b.shape.length;
  const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  const outer = tf.backend_util.assertAndGetBroadcastShape(
    a.shape.slice(0, -2),
    b.shape.slice(0, -2),
  );
  const [batch, batchA, batchB] = [outer, a.shape.slice(0, -2), b.shape.slice(0, -2)].map(product);
  // Only a whole batch or a single matrix broadcasts natively.
  if ((batchA !== batch && batchA !== 1) || (batchB !== batch && batchB !== 1)) return null;
  if (m * k * n * batch === 0) return null;
  if (bias && (bias.dtype !== 'float32' || product(bias.shape) !== n || bias.shape.at(-1) !== n))
    return null;
  const out = backend.alloc('float32', batch * m * n);
  backend.device.matmul(
    backend.floats(a),
    backend.floats(b),
    bias ? backend.floats(bias) : null,
    out,
    batchA,
    batchB,
    m,
    k,
    n,
    transposeA,
    transposeB,
    act,
    alpha,
  );
  return backend.tensorInfo([...outer, m, n], 'float32', out);
}

export const batchMatMulConfig = nativeOr(tf.BatchMatMul, (args) => {
  const { a, b } = args.inputs as unknown as Record<'a' | 'b', tf.TensorInfo>;
  const { transposeA, transposeB } = args.attrs as unknown as tf.BatchMatMulAttrs;
  return matmul(args.backend, a, b, transposeA, transposeB, undefined, 'linear', 0);
});

export const fusedMatMulConfig = nativeOr(tf._FusedMatMul, (args) => {
  const { a, b, bias, preluActivationWeights } = args.inputs as unknown as Record<
    'a' | 'b',
    tf.TensorInfo
  > &
    Partial<Record<'bias' | 'preluActivationWeights', tf.TensorInfo>>;
  const { transposeA, transposeB, activation, leakyreluAlpha } =
    args.attrs as unknown as tf._FusedMatMulAttrs;
  if (preluActivationWeights) return null;
  return matmul(args.backend, a, b, transposeA, transposeB, bias, activation, leakyreluAlpha ?? 0);
});
