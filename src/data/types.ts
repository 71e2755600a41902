/** The in-memory shapes every data set and loader in anneal uses. */

export type ImageShape = [height: number, width: number, channels: number];
/** One sample's shape: an image (HWC), or a row of features (the csv dataset). */
export type SampleShape = ImageShape | [features: number];

/** Whether a sample shape is an image's. */
export function isImageShape(shape: SampleShape): shape is ImageShape {
  return shape.length === 3;
}

/** Values in one sample. */
export function sampleSize(shape: SampleShape): number {
  return shape.reduce((a, b) => a * b, 1);
}

export interface Normalization {
  /** Per channel, on the [0, 1] scale: stored value = (pixel / 255 - mean[c]) / std[c]. */
  mean: number[];
  std: number[];
  /** What raw values are divided by before the mean is taken away: 255 (pixels) when absent, 1 for csv features. */
  scale?: number;
}

/** `S`: the sample shape, when it is known to be an image's (synthetic data) or features'. */
export interface Dataset<S extends SampleShape = SampleShape> {
  name: string;
  /** length * H * W * C values, NHWC (or length * features), normalised as `normalization` says. */
  images: Float32Array;
  labels: Int32Array;
  shape: S;
  numClasses: number;
  length: number;
  classNames?: string[];
  /** How pixels were mapped to floats; null: scaled to [0, 1] only; absent: synthetic values. */
  normalization?: Normalization | null;
  /** Where the data were read from (a directory), or how they were made. */
  source?: string;
}

export interface Batch {
  /** size * H * W * C values, or size * features (a copy: safe to change in place). */
  images: Float32Array;
  labels: Int32Array;
  size: number;
  shape: SampleShape;
  /** Which samples of the loader's data set these are, in order. */
  indices: Int32Array;
}
