/**
 * Augmentation primitives: crops of padded images (zero and reflect padding built by hand in
 * the test) place every pixel where the offsets say; flips and translations match their
 * definitions; Beta draws have the closed-form mean, variance (and Gamma the mean) of their law.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  augmentBatch,
  flipHorizontal,
  randomCrop,
  sampleBeta,
  sampleGamma,
  translate,
  type PadMode,
} from '../../src/data/augment.js';
import { Rng } from '../../src/data/random.js';
import type { ImageShape } from '../../src/data/types.js';

const SHAPE: ImageShape = [5, 6, 2];
const [H, W, C] = SHAPE;

/** n images whose every value is distinct (so a misplaced pixel cannot go unnoticed). */
function distinctImages(n: number): Float32Array {
  return Float32Array.from({ length: n * H * W * C }, (_, i) => i + 1);
}

const at = (images: Float32Array, i: number, y: number, x: number, c: number) =>
  images[((i * H + y) * W + x) * C + c];

/** Image i padded by p, as nested rows [H+2p][W+2p][C], built by slicing and concatenating. */
function padded(images: Float32Array, i: number, p: number, mode: PadMode): number[][][] {
  const rows = Array.from({ length: H }, (_, y) =>
    Array.from({ length: W }, (_, x) =>
      Array.from({ length: C }, (_, c) => at(images, i, y, x, c)),
    ),
  );
  const zeroPixel = () => new Array<number>(C).fill(0);
  const padRow = (row: number[][]) =>
    mode === 'zero'
      ? [...Array.from({ length: p }, zeroPixel), ...row, ...Array.from({ length: p }, zeroPixel)]
      : [...row.slice(1, p + 1).reverse(), ...row, ...row.slice(W - 1 - p, W - 1).reverse()];
  const wide = rows.map(padRow);
  const zeroRow = () => Array.from({ length: W + 2 * p }, zeroPixel);
  return mode === 'zero'
    ? [...Array.from({ length: p }, zeroRow), ...wide, ...Array.from({ length: p }, zeroRow)]
    : [...wide.slice(1, p + 1).reverse(), ...wide, ...wide.slice(H - 1 - p, H - 1).reverse()];
}

for (const mode of ['zero', 'reflect'] as const) {
  test(`randomCrop (${mode} padding) copies padded[y + oy][x + ox] exactly`, () => {
    const n = 12;
    const pad = 2;
    const images = distinctImages(n);
    const { images: out, offsets } = randomCrop(images, SHAPE, pad, new Rng(5), mode);
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) {
      const [oy, ox] = [offsets[2 * i], offsets[2 * i + 1]];
      assert.ok(oy >= 0 && oy <= 2 * pad && ox >= 0 && ox <= 2 * pad);
      seen.add(`${oy},${ox}`);
      const big = padded(images, i, pad, mode);
      for (let y = 0; y < H; y++)
        for (let x = 0; x < W; x++)
          for (let c = 0; c < C; c++) assert.equal(at(out, i, y, x, c), big[y + oy][x + ox][c]);
    }
    assert.ok(seen.size > 3, `offsets vary: ${[...seen]}`);
  });
}

test('flipHorizontal mirrors columns; translate shifts with zero fill', () => {
  const images = distinctImages(2);
  const flipped = flipHorizontal(images, SHAPE);
  const shifted = translate(images, SHAPE, 1, -2);
  for (let i = 0; i < 2; i++)
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++)
        for (let c = 0; c < C; c++) {
          assert.equal(at(flipped, i, y, x, c), at(images, i, y, W - 1 - x, c));
          const [sy, sx] = [y - 1, x + 2];
          const inside = sy >= 0 && sx < W;
          assert.equal(at(shifted, i, y, x, c), inside ? at(images, i, sy, sx, c) : 0);
        }
});

test('augmentBatch: flips about half the images, each exactly; same seed, same result', () => {
  const n = 200;
  const images = distinctImages(n);
  const a = augmentBatch(images, SHAPE, { flip: true }, new Rng(9));
  const b = augmentBatch(images, SHAPE, { flip: true }, new Rng(9));
  assert.deepEqual(a.images, b.images);
  const mirrored = flipHorizontal(images, SHAPE);
  const size = H * W * C;
  let count = 0;
  for (let i = 0; i < n; i++) {
    const expected = (a.flipped[i] ? mirrored : images).subarray(i * size, (i + 1) * size);
    assert.deepEqual(a.images.subarray(i * size, (i + 1) * size), expected);
    count += a.flipped[i];
  }
  // Binomial(200, 1/2): sd ~ 7.1; 5 sd either side.
  assert.ok(Math.abs(count - 100) < 36, `flipped ${count} of 200`);
});

test('augmentBatch refuses bad options with their names', () => {
  const images = distinctImages(1);
  const rng = new Rng(1);
  for (const [opts, word] of [
    [{ pad: -1 }, 'pad'],
    [{ pad: 1.5 }, 'pad'],
    [{ translate: -2 }, 'translate'],
    [{ padMode: 'edge' }, 'padMode'],
  ] as const) {
    assert.throws(
      () => augmentBatch(images, SHAPE, opts as never, rng),
      (e: Error & { code?: string }) =>
        e.code === 'ANNEAL_BAD_AUGMENT_OPTION' && e.message.includes(word),
    );
  }
  // Reflection needs padding smaller than the image side.
  assert.throws(() => randomCrop(images, SHAPE, 5, rng, 'reflect'), /reflect padding of/);
});

test('sampleBeta(a, a) has mean 1/2 and variance 1 / (4 (2a + 1)); Beta(2, 5) mean 2/7', () => {
  const draws = 20000;
  for (const a of [0.2, 1, 2]) {
    const rng = new Rng(100 + a * 10);
    const xs = Float64Array.from({ length: draws }, () => sampleBeta(a, a, rng));
    assert.ok(xs.every((x) => x >= 0 && x <= 1));
    const mean = xs.reduce((s, x) => s + x, 0) / draws;
    const variance = xs.reduce((s, x) => s + (x - 0.5) ** 2, 0) / draws;
    const expectedVar = 1 / (4 * (2 * a + 1));
    // Fourth central moment of Beta(a, a): 3 / (16 (2a + 1)(2a + 3)) (1/80 for the uniform).
    const mu4 = 3 / (16 * (2 * a + 1) * (2 * a + 3));
    const meanSe = Math.sqrt(expectedVar / draws);
    const varSe = Math.sqrt((mu4 - expectedVar ** 2) / draws);
    assert.ok(Math.abs(mean - 0.5) < 5 * meanSe, `a=${a}: mean ${mean}`);
    assert.ok(
      Math.abs(variance - expectedVar) < 5 * varSe,
      `a=${a}: variance ${variance}, expected ${expectedVar}`,
    );
  }
  const rng = new Rng(7);
  const mean =
    Array.from({ length: draws }, () => sampleBeta(2, 5, rng)).reduce((s, x) => s + x) / draws;
  // Var of Beta(2, 5) = 2*5 / (7^2 * 8) = 10/392.
  assert.ok(Math.abs(mean - 2 / 7) < 5 * Math.sqrt(10 / 392 / draws), `Beta(2,5) mean ${mean}`);
});

test('sampleGamma(k) has mean k (shape below and above 1)', () => {
  const draws = 20000;
  for (const k of [0.5, 3]) {
    const rng = new Rng(k * 100);
    const mean =
      Array.from({ length: draws }, () => sampleGamma(k, rng)).reduce((s, x) => s + x) / draws;
    // Var of Gamma(k, 1) = k.
    assert.ok(Math.abs(mean - k) < 5 * Math.sqrt(k / draws), `Gamma(${k}) mean ${mean}`);
  }
  assert.throws(() => sampleGamma(0, new Rng(1)), /gamma shape = 0/);
});
