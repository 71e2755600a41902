/**
 * Builds a user's own data for the image-folder and csv tests: PNG digits written from MNIST
 * with sharp (a torchvision ImageFolder layout), and small CSV tables. Returns what was written,
 * so that tests check what they load against it, not against anneal's own output.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { loadDataset } from '../../src/data/index.js';

export interface WrittenImage {
  path: string;
  label: number;
  split: 'train' | 'test';
  /** The 28x28 grey pixel bytes written. */
  pixels: Uint8Array;
}

/**
 * `perClass` MNIST digits of each class 0..9 as grey PNGs under `root/<digit>/`, or, with
 * `testPerClass`, under `root/train/<digit>/` and `root/test/<digit>/`.
 */
export async function writeDigitFolder(
  root: string,
  perClass: number,
  testPerClass = 0,
): Promise<WrittenImage[]> {
  const need = perClass + testPerClass;
  const mnist = await loadDataset('mnist', { split: 'train', limit: 60 * need, normalize: false });
  const seen = new Array<number>(10).fill(0);
  const written: WrittenImage[] = [];
  const jobs: Promise<unknown>[] = [];
  for (let i = 0; i < mnist.length; i++) {
    const label = mnist.labels[i];
    if (seen[label] >= need) continue;
    const k = seen[label]++;
    const split = k < perClass ? 'train' : 'test';
    const dir = testPerClass > 0 ? join(root, split, String(label)) : join(root, String(label));
    mkdirSync(dir, { recursive: true });
    // normalize: false gives pixel / 255; rounding recovers the bytes of the IDX file.
    const pixels = Uint8Array.from(mnist.images.subarray(i * 784, (i + 1) * 784), (x) =>
      Math.round(x * 255),
    );
    const path = join(dir, `${String(k).padStart(4, '0')}.png`);
    written.push({ path, label, split, pixels });
    jobs.push(greyPng(pixels, 28, 28).then((png) => writeFileSync(path, png)));
  }
  await Promise.all(jobs);
  if (seen.some((n) => n < need)) throw new Error(`too few MNIST digits for ${need} per class`);
  return written;
}

/** A one-channel PNG of `pixels` (h x w bytes). */
export function greyPng(pixels: Uint8Array, h: number, w: number): Promise<Buffer> {
  return sharp(pixels, { raw: { width: w, height: h, channels: 1 } })
    .toColourspace('b-w')
    .png()
    .toBuffer();
}

/** A three-channel PNG of one colour. */
export function rgbPng(h: number, w: number, rgb: [number, number, number]): Promise<Buffer> {
  return sharp({
    create: { width: w, height: h, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } },
  })
    .png()
    .toBuffer();
}
