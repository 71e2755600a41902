/**
 * Pixel bytes -> float32 images: scaled to [0, 1], then standardised per channel with the data
 * set's published mean and std (the constants torchvision users pass to `Normalize`).
 */
import type { Normalization } from './types.js';

export const NORMALIZATION = {
  mnist: { mean: [0.1307], std: [0.3081] },
  'fashion-mnist': { mean: [0.286], std: [0.353] },
  cifar10: { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] },
} as const satisfies Record<string, Normalization>;

/**
 * Converts HWC pixel bytes (channel = index % channels) to floats. With `normalization` null the
 * values are pixel / 255. One 256-entry lookup table per channel keeps this one load per pixel.
 */
export function pixelsToFloat(
  pixels: Uint8Array,
  channels: number,
  normalization: Normalization | null,
): Float32Array {
  const table = new Float32Array(256 * channels);
  for (let c = 0; c < channels; c++) {
    const mean = normalization ? normalization.mean[c] : 0;
    const std = normalization ? normalization.std[c] : 1;
    for (let v = 0; v < 256; v++) table[c * 256 + v] = (v / 255 - mean) / std;
  }
  const out = new Float32Array(pixels.length);
  if (channels === 1) {
    for (let i = 0; i < pixels.length; i++) out[i] = table[pixels[i]];
  } else {
    for (let i = 0, c = 0; i < pixels.length; i++, c = c + 1 === channels ? 0 : c + 1) {
      out[i] = table[c * 256 + pixels[i]];
    }
  }
  return out;
}
