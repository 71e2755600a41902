/**
 * Sum, Mean, Max and Min: over a run of adjacent axes (all, the last ones, the first ones, or a
 * block between) x is viewed as [outer, reduce, inner] in place; over other axes it is gathered
 * into [kept..., reduced...] first.
 */
import * as tf from '@tensorflow/tfjs-core';
import { nativeOr } from './fallback.js';
import { gather, stridesOf } from './layout.js';

/** anneal_device.h's anneal_reduce numbers. */
const REDUCE: Record<string, number> = { [tf.Sum]: 0, [tf.Mean]: 1, [tf.Max]: 2, [tf.Min]: 3 };

const product = (dims: readonly number[]) => dims.reduce((p, d) => p * d, 1);

export const reduceConfigs: tf.KernelConfig[] = Object.entries(REDUCE).map(([name, op]) =>
  nativeOr(name, ({ inputs, attrs, backend }) => {
    const { x } = inputs as unknown as Record<'x', tf.TensorInfo>;
    // Max and Min name their axes reductionIndices; Sum and Mean, axis.
    const { axis, reductionIndices, keepDims } = attrs as unknown as {
      axis?: number | number[];
      reductionIndices?: number | number[];
      keepDims: boolean;
    };
    if (x.dtype !== 'float32' || product(x.shape) === 0) return null;
    const given = axis ?? reductionIndices;
    const axes = (given == null ? x.shape.map((_, k) => k) : tf.util.parseAxisParam(given, x.shape))
      .slice()
      .sort((p, q) => p - q);
    if (axes.length === 0) return null;
    let values = backend.floats(x);
    let [outer, reduce, inner] = [1, 1, 1];
    if (axes.every((a, i) => i === 0 || a === axes[i - 1] + 1)) {
      // A run of adjacent axes: x is [outer, reduce, inner] as it is.
      outer = product(x.shape.slice(0, axes[0]));
      reduce = product(x.shape.slice(axes[0], axes.at(-1)! + 1));
      inner = product(x.shape.slice(axes.at(-1)! + 1));
    } else {
      // Other axes: gathered first into [kept..., reduced...], then reduced as [outer, reduce].
      const kept = x.shape.map((_, k) => k).filter((k) => !axes.includes(k));
      const order = [...kept, ...axes];
      const strides = stridesOf(x.shape);
      const moved = gather(
        backend,
        values,
        order.map((k) => x.shape[k]),
        order.map((k) => strides[k]),
      );
      if (!moved) return null;
      values = moved;
      outer = product(kept.map((k) => x.shape[k]));
      reduce = product(axes.map((k) => x.shape[k]));
    }
    const y = backend.alloc('float32', outer * inner);
    backend.device.reduce(op, values, y, outer, reduce, inner);
    const shape = keepDims
      ? x.shape.map((d, k) => (axes.includes(k) ? 1 : d))
      : x.shape.filter((_, k) => !axes.includes(k));
    return backend.tensorInfo(shape, 'float32', y);
  }),
);

/** Softmax over the last axis (the only one tfjs's Softmax kernel takes). */
export const softmaxConfig = nativeOr(tf.Softmax, ({ inputs, attrs, backend }) => {
  const { logits } = inputs as unknown as Record<'logits', tf.TensorInfo>;
  const { dim } = attrs as unknown as { dim: number };
  const n = logits.shape.at(-1) ?? 1;
  if (logits.dtype !== 'float32' || product(logits.shape) === 0) return null;
  if (dim !== -1 && dim !== logits.shape.length - 1) return null;
  const y = backend.alloc('float32', product(logits.shape));
  backend.device.softmax(backend.floats(logits), y, y.length / n, n);
  return backend.tensorInfo(logits.shape, 'float32', y);
});
