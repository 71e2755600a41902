/**
 * What anneal's own kernels (fused batch norm, layer norm, cross-entropy, ReLU's gradient: not
 * tfjs kernels, so no tfjs op checks their inputs first) check before they reach the device:
 * a wrong input is an error naming it, its dtype and shape, and what was expected.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { DeviceArray } from '../device.js';
import type { NativeBackend } from '../native-backend.js';

/**
 * A float32 tensor `name` of rank >= minRank with its values in rows along its last axis (of at
 * least one value, and at least one row unless `emptyRows`): that axis's length, and the rows'
 * shape and count.
 */
export function lastAxis(
  kernel: string,
  name: string,
  x: tf.TensorInfo,
  opts: { minRank: number; emptyRows?: boolean; about: string },
): { n: number; rowShape: number[]; rows: number } {
  const n = x.shape.at(-1) ?? 0;
  const rowShape = x.shape.slice(0, -1);
  const rows = tf.util.sizeFromShape(rowShape);
  if (
    x.dtype !== 'float32' ||
    x.shape.length < opts.minRank ||
    n < 1 ||
    (rows < 1 && !opts.emptyRows)
  ) {
    throw new Error(
      `${kernel}: ${name} is ${x.dtype} [${x.shape}], expected float32 of rank >= ` +
        `${opts.minRank} with at least one value (${opts.about})`,
    );
  }
  return { n, rowShape, rows };
}

/** Throws unless each given tensor (undefined: an optional input left out) is float32 of its shape. */
export function expectFloat32(
  kernel: string,
  expected: [name: string, t: tf.TensorInfo | undefined, shape: readonly number[]][],
  about: string,
): void {
  for (const [name, t, shape] of expected) {
    if (t && (t.dtype !== 'float32' || !tf.util.arraysEqual(t.shape, [...shape]))) {
      throw new Error(
        `${kernel}: ${name} is ${t.dtype} [${t.shape}], expected float32 [${shape}] (${about})`,
      );
    }
  }
}

/** An optional float32 input's values, or null where it is left out. */
export function floatsOrNull(
  backend: NativeBackend,
  t: tf.TensorInfo | undefined,
): DeviceArray | null {
  return t ? backend.floats(t) : null;
}
