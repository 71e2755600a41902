/**
 * Sum, Mean, Max and Min over a run of adjacent axes (all axes, the last ones, the first ones,
 * or a block between): x viewed as [outer, reduce, inner]. Other axis sets fall back.
 */
import * as tf from '@tensorflow/tfjs-core';
import { nativeOr } from './fallback.js';

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
    if (axes.length === 0 || axes.some((a, i) => i > 0 && a !== axes[i - 1] + 1)) return null;
    const first = axes[0];
    const last = axes[axes.length - 1];
    const outer = product(x.shape.slice(0, first));
    const reduce = product(x.shape.slice(first, last + 1));
    const inner = product(x.shape.slice(last + 1));
    const y = new Float32Array(outer * inner);
    backend.device.reduce(op, backend.floats(x), y, outer, reduce, inner);
    const shape = keepDims
      ? x.shape.map((d, k) => (axes.includes(k) ? 1 : d))
      : x.shape.filter((_, k) => !axes.includes(k));
    return backend.makeTensorInfo(shape, 'float32', y);
  }),
);
