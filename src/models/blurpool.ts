/**
 * BlurPool2D: anti-aliased downsampling (Zhang, "Making Convolutional Networks Shift-Invariant
 * Again", ICML 2019). Low-pass filter each channel with a fixed binomial kernel, then subsample.
 *
 * The kernel is the outer product of a binomial row ([1, 2, 1] for size 3, i.e. [1,2,1]^T[1,2,1]/16)
 * normalised to sum 1. The input is padded to 'same' size before the stride (reflect by default,
 * as Zhang does, so borders are not darkened), so the output is ceil(H / stride) x ceil(W / stride).
 * The filter is rebuilt from the config, not stored: the layer has no weights, trainable or not.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { UsageError } from '../errors.js';

export type BlurPadding = 'reflect' | 'zero';

/**
 * Reflect padding (a mirror that does not repeat the edge) of an NHWC tensor's height and width,
 * by `before` and `after` on each, built from one-row slices and a concat. Not tf.mirrorPad: its
 * gradient in tfjs slices dy and drops what reaches the reflected copies (d/dx of
 * sum(mirrorPad([a, b, c], [[1, 1]])) comes out [1, 1, 1], not [1, 3, 1]); the engine's fast
 * gradients correct it (src/engine/gradients.ts), but a model must train right without them.
 * Slice and concat have exact gradients and native kernels (so has MirrorPad on anneal-cpu now;
 * before it, tfjs-backend-cpu's per-element loop took about 1.2 s a call at [128, 28, 28, 32] on
 * one thread, 82% of a BlurPool CNN's step). Each padding must be smaller than its dimension.
 */
function reflectPad2d(x: tf.Tensor4D, before: number, after: number): tf.Tensor4D {
  const padAxis = (t: tf.Tensor4D, axis: 1 | 2): tf.Tensor4D => {
    const n = t.shape[axis];
    const row = (i: number) => {
      const begin = [0, 0, 0, 0];
      const size = [-1, -1, -1, -1];
      begin[axis] = i;
      size[axis] = 1;
      return tf.slice(t, begin, size);
    };
    const parts: tf.Tensor4D[] = [];
    for (let i = before; i >= 1; i--) parts.push(row(i));
    parts.push(t);
    for (let i = 1; i <= after; i++) parts.push(row(n - 1 - i));
    return parts.length === 1 ? t : tf.concat(parts, axis);
  };
  return padAxis(padAxis(x, 1), 2);
}

export interface BlurPool2DArgs {
  /** Subsampling stride (default 2; 1 blurs without downsampling). */
  stride?: number;
  /** Binomial filter size, 1 to 7 (default 3; Zhang uses 2, 3 or 5). */
  filterSize?: number;
  /** How the border is padded (default 'reflect'). */
  padding?: BlurPadding;
  name?: string;
}

type LayerArgs = ConstructorParameters<typeof tfl.layers.Layer>[0];

export const MAX_BLUR_FILTER_SIZE = 7;

/** Row `size - 1` of Pascal's triangle, e.g. 3 -> [1, 2, 1]. */
export function binomialRow(size: number): number[] {
  const row = [1];
  for (let i = 1; i < size; i++) row.push((row[i - 1] * (size - i)) / i);
  return row;
}

/** The normalised 2-D binomial filter, row-major [size * size], summing to 1. */
export function binomialFilter2D(size: number): Float32Array {
  const row = binomialRow(size);
  const total = row.reduce((a, b) => a + b, 0) ** 2;
  const out = new Float32Array(size * size);
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) out[i * size + j] = (row[i] * row[j]) / total;
  }
  return out;
}

/** Padding before and after along one axis: floor and ceil of (size-1)/2, as Zhang pads. */
function padAmounts(filterSize: number): [number, number] {
  return [Math.floor((filterSize - 1) / 2), Math.ceil((filterSize - 1) / 2)];
}

export class BlurPool2D extends tfl.layers.Layer {
  static readonly className = 'BlurPool2D';
  readonly stride: number;
  readonly filterSize: number;
  readonly padding: BlurPadding;

  constructor(args: BlurPool2DArgs = {}) {
    super(args as LayerArgs);
    this.stride = args.stride ?? 2;
    this.filterSize = args.filterSize ?? 3;
    this.padding = args.padding ?? 'reflect';
    if (!Number.isInteger(this.stride) || this.stride < 1) {
      throw new UsageError(
        'ANNEAL_BAD_LAYER_OPTION',
        `BlurPool2D: stride = ${this.stride} is not valid; expected a positive integer (usually 2).`,
      );
    }
    if (
      !Number.isInteger(this.filterSize) ||
      this.filterSize < 1 ||
      this.filterSize > MAX_BLUR_FILTER_SIZE
    ) {
      throw new UsageError(
        'ANNEAL_BAD_LAYER_OPTION',
        `BlurPool2D: filterSize = ${this.filterSize} is not valid; expected an integer from 1 to ` +
          `${MAX_BLUR_FILTER_SIZE} (2, 3 or 5 are the usual choices).`,
      );
    }
    if (this.padding !== 'reflect' && this.padding !== 'zero') {
      throw new UsageError(
        'ANNEAL_BAD_LAYER_OPTION',
        `BlurPool2D: padding = ${JSON.stringify(this.padding)} is not valid; expected 'reflect' or 'zero'.`,
      );
    }
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = inputShape as tfl.Shape;
    const [before, after] = padAmounts(this.filterSize);
    // Reflect padding needs each padding to be smaller than the padded dimension.
    const smallest = Math.min(shape[1] ?? Infinity, shape[2] ?? Infinity);
    if (this.padding === 'reflect' && Math.max(before, after) >= smallest) {
      throw new UsageError(
        'ANNEAL_BAD_LAYER_OPTION',
        `BlurPool2D: a ${shape[1]}x${shape[2]} input is too small for reflect padding of a ` +
          `${this.filterSize}x${this.filterSize} filter; use padding: 'zero' or a smaller filterSize.`,
      );
    }
    super.build(inputShape);
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const [batch, h, w, c] = inputShape as tfl.Shape;
    const down = (d: number | null) => (d === null ? null : Math.ceil(d / this.stride));
    return [batch, down(h), down(w), c];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      const channels = x.shape[3];
      const size = this.filterSize;
      const padded = this.pad(x);
      // One copy of the filter per channel: [size, size, channels, multiplier 1].
      const single = binomialFilter2D(size);
      const tiled = new Float32Array(size * size * channels);
      for (let k = 0; k < size * size; k++) tiled.fill(single[k], k * channels, (k + 1) * channels);
      const filter = tf.tensor4d(tiled, [size, size, channels, 1]);
      return tf.depthwiseConv2d(padded, filter, this.stride, 'valid');
    });
  }

  private pad(x: tf.Tensor4D): tf.Tensor4D {
    const [before, after] = padAmounts(this.filterSize);
    if (before === 0 && after === 0) return x;
    const paddings: Array<[number, number]> = [
      [0, 0],
      [before, after],
      [before, after],
      [0, 0],
    ];
    return this.padding === 'reflect' ? reflectPad2d(x, before, after) : tf.pad(x, paddings);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      stride: this.stride,
      filterSize: this.filterSize,
      padding: this.padding,
    };
  }
}
tf.serialization.registerClass(BlurPool2D);

export function blurPool2d(args: BlurPool2DArgs = {}): BlurPool2D {
  return new BlurPool2D(args);
}
