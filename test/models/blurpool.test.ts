import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { AnnealError } from '../../src/errors.js';
import { BlurPool2D, type BlurPadding } from '../../src/models/index.js';

before(async () => {
  assert.ok(await tf.setBackend('cpu'));
});

// Binomial rows from Pascal's triangle, written out (Zhang 2019, Table 1: "Bin-2", "Bin-3", "Bin-5").
const ROWS: Record<number, number[]> = { 1: [1], 2: [1, 1], 3: [1, 2, 1], 5: [1, 4, 6, 4, 1] };

type Image = number[][];

/**
 * Loop reference: pad (reflect = mirror without repeating the edge, or zeros) by floor/ceil of
 * (size-1)/2 on each side, correlate with the normalised outer product, keep every stride-th pixel.
 */
function blurReference(img: Image, size: number, stride: number, padding: BlurPadding): Image {
  const row = ROWS[size];
  const norm = row.reduce((a, b) => a + b, 0) ** 2;
  const h = img.length;
  const w = img[0].length;
  const before = Math.floor((size - 1) / 2);
  const pixel = (r: number, c: number) => {
    if (padding === 'zero') return r < 0 || c < 0 || r >= h || c >= w ? 0 : img[r][c];
    const mirror = (i: number, n: number) => (i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i);
    return img[mirror(r, h)][mirror(c, w)];
  };
  const out: Image = [];
  for (let oi = 0; oi < Math.ceil(h / stride); oi++) {
    const line: number[] = [];
    for (let oj = 0; oj < Math.ceil(w / stride); oj++) {
      let sum = 0;
      for (let a = 0; a < size; a++) {
        for (let b = 0; b < size; b++) {
          sum +=
            (row[a] * row[b] * pixel(oi * stride - before + a, oj * stride - before + b)) / norm;
        }
      }
      line.push(sum);
    }
    out.push(line);
  }
  return out;
}

/** A deterministic, uneven test image (no RNG involved). */
function pattern(h: number, w: number, phase: number): Image {
  return Array.from({ length: h }, (_, r) =>
    Array.from({ length: w }, (_, c) => Math.sin(1.3 * r + 0.7 * c * c + phase) + 0.1 * r),
  );
}

/** Runs the layer on a [1, h, w, channels] input and returns one image per channel. */
function runLayer(layer: BlurPool2D, channels: Image[]): Image[] {
  const pixels = channels[0].map((line, r) => line.map((_, c) => channels.map((img) => img[r][c])));
  const nhwc = tf.tensor4d([pixels]);
  const out = (layer.apply(nhwc) as tf.Tensor4D).arraySync()[0];
  return channels.map((_, k) => out.map((line) => line.map((px) => px[k])));
}

function assertClose(actual: Image, expected: Image, message: string) {
  assert.equal(actual.length, expected.length, message);
  assert.equal(actual[0].length, expected[0].length, message);
  for (let i = 0; i < expected.length; i++) {
    for (let j = 0; j < expected[0].length; j++) {
      assert.ok(Math.abs(actual[i][j] - expected[i][j]) < 1e-5, `${message} at ${i},${j}`);
    }
  }
}

test('a delta image comes out as the 3x3 binomial filter [1,2,1]^T[1,2,1]/16', () => {
  const delta: Image = pattern(5, 5, 0).map((line) => line.map(() => 0));
  delta[2][2] = 1;
  const [out] = runLayer(new BlurPool2D({ stride: 1 }), [delta]);
  const f = [1, 2, 1];
  const expected = delta.map((line, r) =>
    line.map((_, c) =>
      Math.abs(r - 2) <= 1 && Math.abs(c - 2) <= 1 ? (f[r - 1] * f[c - 1]) / 16 : 0,
    ),
  );
  assertClose(out, expected, 'delta');
  // Stride 2: output (i, j) reads input rows/cols 2i-1..2i+1, so only output (1, 1) sees the
  // delta at (2, 2), through the filter's centre weight 4/16.
  const [strided] = runLayer(new BlurPool2D(), [delta]);
  assertClose(
    strided,
    [
      [0, 0, 0],
      [0, 4 / 16, 0],
      [0, 0, 0],
    ],
    'delta, stride 2',
  );
});

test('matches the loop reference for filter sizes 1/2/3/5, reflect and zero padding, odd and even sizes', () => {
  for (const size of [1, 2, 3, 5]) {
    for (const padding of ['reflect', 'zero'] as const) {
      for (const [h, w] of [
        [7, 7],
        [8, 6],
        [5, 9],
      ]) {
        for (const stride of [1, 2]) {
          const images = [pattern(h, w, 0), pattern(h, w, 2)]; // two channels, blurred apart
          const layer = new BlurPool2D({ stride, filterSize: size, padding });
          const out = runLayer(layer, images);
          const tag = `size ${size} ${padding} ${h}x${w} stride ${stride}`;
          images.forEach((img, k) =>
            assertClose(out[k], blurReference(img, size, stride, padding), tag),
          );
          // 'same' size before the stride: ceil(side / stride).
          assert.deepEqual(layer.computeOutputShape([null, h, w, 2]), [
            null,
            Math.ceil(h / stride),
            Math.ceil(w / stride),
            2,
          ]);
        }
      }
    }
  }
});

test('the input gradient is the adjoint of the blur, border included (reflect and zero padding)', () => {
  // The layer is linear, L(x): the gradient of <L(x), w> is g = L^T(w), so <g, v> = <L(v), w> for
  // every v, with L(v) from the loop reference. tf.mirrorPad's gradient drops what reaches the
  // reflected border copies, which this catches.
  const dot = (a: Image, b: Image) =>
    a.reduce((s, line, i) => s + line.reduce((t, x, j) => t + x * b[i][j], 0), 0);
  for (const size of [2, 3, 5]) {
    for (const padding of ['reflect', 'zero'] as const) {
      for (const [h, w] of [
        [7, 7],
        [8, 6],
      ]) {
        for (const stride of [1, 2]) {
          const layer = new BlurPool2D({ stride, filterSize: size, padding });
          const weights = pattern(Math.ceil(h / stride), Math.ceil(w / stride), 1);
          const wT = tf.tensor4d([weights.map((line) => line.map((x) => [x]))]);
          const x0 = tf.tensor4d([pattern(h, w, 0).map((line) => line.map((x) => [x]))]);
          const g = tf
            .grad((x: tf.Tensor) => tf.sum(tf.mul(layer.apply(x) as tf.Tensor, wT)))(x0)
            .arraySync() as number[][][][];
          const grad: Image = g[0].map((line) => line.map((px) => px[0]));
          const v = pattern(h, w, 3);
          const lhs = dot(grad, v);
          const rhs = dot(blurReference(v, size, stride, padding), weights);
          const tag = `size ${size} ${padding} ${h}x${w} stride ${stride}: ${lhs} vs ${rhs}`;
          assert.ok(Math.abs(lhs - rhs) < 1e-4 * (1 + Math.abs(rhs)), tag);
        }
      }
    }
  }
});

test('a constant image stays constant with reflect padding (the filter sums to 1)', () => {
  const flat = pattern(6, 6, 0).map((line) => line.map(() => 2.5));
  const [out] = runLayer(new BlurPool2D({ filterSize: 5 }), [flat]);
  assertClose(
    out,
    [
      [2.5, 2.5, 2.5],
      [2.5, 2.5, 2.5],
      [2.5, 2.5, 2.5],
    ],
    'constant',
  );
});

test('has no weights, trainable or not, and round-trips its config', () => {
  const layer = new BlurPool2D({ stride: 2, filterSize: 5, padding: 'zero' });
  layer.apply(tf.zeros([1, 8, 8, 3]));
  assert.equal(layer.weights.length, 0);
  const config = layer.getConfig();
  assert.deepEqual([config.stride, config.filterSize, config.padding], [2, 5, 'zero']);
  const copy = new BlurPool2D(config as ConstructorParameters<typeof BlurPool2D>[0]);
  assert.deepEqual([copy.stride, copy.filterSize, copy.padding], [2, 5, 'zero']);
});

test('bad arguments are UsageErrors', () => {
  const bad = (e: unknown) => e instanceof AnnealError && e.code === 'ANNEAL_BAD_LAYER_OPTION';
  assert.throws(() => new BlurPool2D({ filterSize: 8 }), bad);
  assert.throws(() => new BlurPool2D({ stride: 0 }), bad);
  assert.throws(() => new BlurPool2D({ padding: 'wrap' as BlurPadding }), bad);
  // Reflect padding of a 5x5 filter needs at least 3 pixels per side.
  assert.throws(() => new BlurPool2D({ filterSize: 5 }).apply(tf.zeros([1, 2, 2, 1])), bad);
  assert.doesNotThrow(() =>
    new BlurPool2D({ filterSize: 5, padding: 'zero' }).apply(tf.zeros([1, 2, 2, 1])),
  );
});
