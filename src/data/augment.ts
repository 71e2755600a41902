/**
 * Seeded image augmentation on host NHWC batches (Float32Array, n * H * W * C values) and the
 * random draws the mixing methods need (Gamma and Beta variates from an `Rng`).
 *
 * Every geometric transform here is one primitive, `shiftImage`: out[y][x] = in[y - dy][x - dx]
 * (optionally mirrored left-right), with pixels from outside the image filled with zeros or by
 * reflection. A random crop of an image padded by `pad` at offset (oy, ox) is the shift
 * (pad - oy, pad - ox) of the unpadded image, so the padded image is never built.
 */
import { UsageError } from '../errors.js';
import type { Rng } from './random.js';
import type { ImageShape } from './types.js';

/** How pixels outside the image are filled: zeros, or mirrored without repeating the edge (numpy 'reflect'). */
export type PadMode = 'zero' | 'reflect';

export interface AugmentOptions {
  /** Random crop of the image padded by this many pixels on each side (default 0: no crop). */
  pad?: number;
  /** Fill of the padding (default 'zero'). */
  padMode?: PadMode;
  /** Mirror left-right with probability 1/2 (default false: digits and text must not flip). */
  flip?: boolean;
  /** Random shift of up to this many pixels in each direction, zero-filled (default 0). */
  translate?: number;
}

/** What `augmentBatch` drew for each image (for tests and logs). */
export interface AugmentDraws {
  /** Crop offsets into the padded image, [oy, ox] per image (0..2*pad). */
  cropOffsets: Int32Array;
  /** Translation [dy, dx] per image (-translate..translate). */
  shifts: Int32Array;
  /** 1 where the image was mirrored. */
  flipped: Uint8Array;
}

/** Number of images in `images` of shape `shape`; throws when the length does not divide. */
export function imageCount(images: Float32Array, shape: ImageShape): number {
  const size = shape[0] * shape[1] * shape[2];
  if (size <= 0 || images.length % size !== 0) {
    throw new UsageError(
      'ANNEAL_BAD_IMAGES',
      `images.length = ${images.length} is not a multiple of H*W*C = ${size} for shape [${shape}]: pass NHWC data matching the shape`,
    );
  }
  return images.length / size;
}

/** Index of `i` mirrored into [0, n) (…2 1 | 0 1 … n-1 | n-2 …), valid for -n < i < 2n - 1. */
function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  if (i < 0) return -i;
  if (i >= n) return 2 * n - 2 - i;
  return i;
}

/**
 * Writes image `index` of `src` shifted by (dy, dx) into image `index` of `dst`:
 * dst[y][x] = src[y - dy][x'] with x' = x - dx, or (W - 1 - x) - dx mirrored when `flip` (the
 * flip is applied after the shift). Out-of-image pixels are zeros or reflected.
 */
export function shiftImage(
  src: Float32Array,
  dst: Float32Array,
  shape: ImageShape,
  index: number,
  dy: number,
  dx: number,
  mode: PadMode = 'zero',
  flip = false,
): void {
  const [h, w, c] = shape;
  if (mode === 'reflect') checkReflectable(Math.max(Math.abs(dy), Math.abs(dx)), shape);
  const base = index * h * w * c;
  for (let y = 0; y < h; y++) {
    let sy = y - dy;
    if (sy < 0 || sy >= h) {
      if (mode === 'zero') {
        dst.fill(0, base + y * w * c, base + (y + 1) * w * c);
        continue;
      }
      sy = reflectIndex(sy, h);
    }
    for (let x = 0; x < w; x++) {
      let sx = (flip ? w - 1 - x : x) - dx;
      const out = base + (y * w + x) * c;
      if (sx < 0 || sx >= w) {
        if (mode === 'zero') {
          dst.fill(0, out, out + c);
          continue;
        }
        sx = reflectIndex(sx, w);
      }
      const from = base + (sy * w + sx) * c;
      for (let ch = 0; ch < c; ch++) dst[out + ch] = src[from + ch];
    }
  }
}

/** One reflection covers a shift shorter than the image side; longer ones would index outside. */
function checkReflectable(pixels: number, [h, w]: ImageShape): void {
  if (pixels >= Math.min(h, w)) {
    throw new UsageError(
      'ANNEAL_BAD_AUGMENT_OPTION',
      `reflect padding of ${pixels} pixels is not valid for a ${h}x${w} image: expected less than the image side; use smaller padding or 'zero'`,
    );
  }
}

/** Every image mirrored left-right (a new array). */
export function flipHorizontal(images: Float32Array, shape: ImageShape): Float32Array {
  const out = new Float32Array(images.length);
  const n = imageCount(images, shape);
  for (let i = 0; i < n; i++) shiftImage(images, out, shape, i, 0, 0, 'zero', true);
  return out;
}

/** Every image shifted by (dy, dx), zero-filled (a new array). */
export function translate(
  images: Float32Array,
  shape: ImageShape,
  dy: number,
  dx: number,
): Float32Array {
  const out = new Float32Array(images.length);
  const n = imageCount(images, shape);
  for (let i = 0; i < n; i++) shiftImage(images, out, shape, i, dy, dx);
  return out;
}

/**
 * Each image padded by `pad` on every side and cropped back to H x W at its own random offset
 * (oy, ox) in [0, 2*pad]^2: out[y][x] = padded[y + oy][x + ox].
 */
export function randomCrop(
  images: Float32Array,
  shape: ImageShape,
  pad: number,
  rng: Rng,
  mode: PadMode = 'zero',
): { images: Float32Array; offsets: Int32Array } {
  const draws = augmentBatch(images, shape, { pad, padMode: mode }, rng);
  return { images: draws.images, offsets: draws.cropOffsets };
}

/**
 * Independent random augmentation of each image: crop with padding, then translation, then a
 * left-right flip, as `opts` asks. Draws, per image and in this order: oy, ox (when pad > 0),
 * dy, dx (when translate > 0), flip (when flip). Returns a new array.
 */
export function augmentBatch(
  images: Float32Array,
  shape: ImageShape,
  opts: AugmentOptions,
  rng: Rng,
): AugmentDraws & { images: Float32Array } {
  const { pad, padMode, flip, translate: maxShift } = checkAugmentOptions(opts);
  const n = imageCount(images, shape);
  if (padMode === 'reflect') checkReflectable(pad, shape);
  const cropOffsets = new Int32Array(2 * n).fill(pad);
  const shifts = new Int32Array(2 * n);
  const flipped = new Uint8Array(n);
  const cropped = new Float32Array(images.length);
  const out = maxShift > 0 ? new Float32Array(images.length) : cropped;
  for (let i = 0; i < n; i++) {
    if (pad > 0) {
      cropOffsets[2 * i] = rng.int(2 * pad + 1);
      cropOffsets[2 * i + 1] = rng.int(2 * pad + 1);
    }
    if (maxShift > 0) {
      shifts[2 * i] = rng.int(2 * maxShift + 1) - maxShift;
      shifts[2 * i + 1] = rng.int(2 * maxShift + 1) - maxShift;
    }
    if (flip) flipped[i] = rng.next() < 0.5 ? 1 : 0;
    // Crop (with its own fill), then the zero-filled translation; the flip rides on the last pass.
    const mirror = flipped[i] === 1;
    const lastIsCrop = maxShift === 0;
    shiftImage(
      images,
      cropped,
      shape,
      i,
      pad - cropOffsets[2 * i],
      pad - cropOffsets[2 * i + 1],
      padMode,
      lastIsCrop && mirror,
    );
    if (!lastIsCrop)
      shiftImage(cropped, out, shape, i, shifts[2 * i], shifts[2 * i + 1], 'zero', mirror);
  }
  return { images: out, cropOffsets, shifts, flipped };
}

/** Options with defaults filled in; throws UsageError('ANNEAL_BAD_AUGMENT_OPTION') on bad values. */
export function checkAugmentOptions(opts: AugmentOptions): Required<AugmentOptions> {
  const pad = opts.pad ?? 0;
  const translateBy = opts.translate ?? 0;
  const padMode = opts.padMode ?? 'zero';
  const flip = opts.flip ?? false;
  const bad = (option: string, value: unknown, expected: string): never => {
    throw new UsageError(
      'ANNEAL_BAD_AUGMENT_OPTION',
      `augment: ${option} = ${JSON.stringify(value)} is not valid: expected ${expected}`,
    );
  };
  if (!Number.isInteger(pad) || pad < 0) bad('pad', opts.pad, 'an integer >= 0');
  if (!Number.isInteger(translateBy) || translateBy < 0)
    bad('translate', opts.translate, 'an integer >= 0');
  if (padMode !== 'zero' && padMode !== 'reflect')
    bad('padMode', opts.padMode, "'zero' or 'reflect'");
  if (typeof flip !== 'boolean') bad('flip', opts.flip, 'true or false');
  return { pad, padMode, flip, translate: translateBy };
}

/**
 * A Gamma(shape, 1) variate by Marsaglia and Tsang (2000), "A simple method for generating gamma
 * variables"; for shape < 1 it boosts: Gamma(a) = Gamma(a + 1) * U^(1/a).
 */
export function sampleGamma(shape: number, rng: Rng): number {
  if (!(shape > 0) || !Number.isFinite(shape)) {
    throw new UsageError(
      'ANNEAL_BAD_AUGMENT_OPTION',
      `gamma shape = ${shape} is not valid: expected a finite number > 0`,
    );
  }
  if (shape < 1) return sampleGamma(shape + 1, rng) * Math.pow(1 - rng.next(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = rng.normal();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - rng.next(); // (0, 1], so log(u) is finite
    if (u < 1 - 0.0331 * x * x * x * x) return d * v;
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** A Beta(a, b) variate as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b). */
export function sampleBeta(a: number, b: number, rng: Rng): number {
  const x = sampleGamma(a, rng);
  const y = sampleGamma(b, rng);
  // Both can underflow to 0 for tiny shapes; the limit then puts the mass at 0 or 1 evenly.
  if (x + y === 0) return rng.next() < a / (a + b) ? 1 : 0;
  return x / (x + y);
}
