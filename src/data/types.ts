/** The in-memory shapes every data set and loader in anneal uses. */

export type ImageShape = [height: number, width: number, channels: number];

export interface Normalization {
  /** Per channel, on the [0, 1] scale: stored value = (pixel / 255 - mean[c]) / std[c]. */
  mean: number[];
  std: number[];
}

export interface Dataset {
  name: string;
  /** length * H * W * C values, NHWC, normalised as `normalization` says. */
  images: Float32Array;
  labels: Int32Array;
  shape: ImageShape;
  numClasses: number;
  length: number;
  classNames?: string[];
  /** How pixels were mapped to floats; null: scaled to [0, 1] only; absent: synthetic values. */
  normalization?: Normalization | null;
  /** Where the data were read from (a directory), or how they were made. */
  source?: string;
}

export interface Batch {
  /** size * H * W * C values (a copy: safe to change in place). */
  images: Float32Array;
  labels: Int32Array;
  size: number;
  shape: ImageShape;
  /** Which samples of the loader's data set these are, in order. */
  indices: Int32Array;
}
