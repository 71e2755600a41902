import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readCifarBatch } from '../../src/data/cifar.js';
import { loadDataset } from '../../src/data/index.js';
import { assertAnnealError, assertRejectsAnneal, tempDir } from './helpers.js';

const dir = tempDir('cifar');

/** The byte the test puts at record r, channel c, row y, column x. */
function pixel(r: number, c: number, y: number, x: number): number {
  return (r * 31 + c * 85 + y * 7 + x * 3) & 255;
}

/**
 * A batch in the CIFAR-10 binary layout as the dataset page describes it: per record one label
 * byte, then the red plane (32 rows of 32), then green, then blue.
 */
function cifarBytes(labels: number[], firstRecord = 0): Buffer {
  const bytes = Buffer.alloc(labels.length * 3073);
  labels.forEach((label, i) => {
    const r = firstRecord + i;
    let at = i * 3073;
    bytes[at++] = label;
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) bytes[at++] = pixel(r, c, y, x);
    }
  });
  return bytes;
}

/** A cifar-10-batches-bin lookalike: five train batches of 2 images, a test batch of 3. */
function writeCifarDir(root: string): { trainLabels: number[]; testLabels: number[] } {
  mkdirSync(root, { recursive: true });
  const trainLabels = [3, 8, 0, 9, 1, 1, 7, 2, 5, 6];
  for (let b = 0; b < 5; b++) {
    writeFileSync(
      join(root, `data_batch_${b + 1}.bin`),
      cifarBytes(trainLabels.slice(2 * b, 2 * b + 2), 2 * b),
    );
  }
  const testLabels = [4, 0, 9];
  writeFileSync(join(root, 'test_batch.bin'), cifarBytes(testLabels));
  return { trainLabels, testLabels };
}

describe('CIFAR-10 binary reader', () => {
  test('planes become HWC pixels and labels come from the first byte', () => {
    const path = join(dir, 'one.bin');
    writeFileSync(path, cifarBytes([6, 2, 9]));
    const batch = readCifarBatch(path);
    assert.equal(batch.count, 3);
    assert.deepEqual(Array.from(batch.labels), [6, 2, 9]);
    for (let r = 0; r < 3; r++) {
      for (let y = 0; y < 32; y++) {
        for (let x = 0; x < 32; x++) {
          for (let c = 0; c < 3; c++) {
            const at = ((r * 32 + y) * 32 + x) * 3 + c;
            if (batch.pixels[at] !== pixel(r, c, y, x))
              assert.fail(`record ${r} (y ${y}, x ${x}, c ${c}) misplaced`);
          }
        }
      }
    }
    assert.equal(readCifarBatch(path, { limit: 1 }).count, 1);
  });

  test('loadDataset concatenates the five train batches in order; test uses test_batch.bin', async () => {
    const root = join(dir, 'batches');
    const { trainLabels, testLabels } = writeCifarDir(root);
    const train = await loadDataset('cifar10', { dataDir: root, normalize: false });
    assert.equal(train.length, 10);
    assert.deepEqual(train.shape, [32, 32, 3]);
    assert.deepEqual(Array.from(train.labels), trainLabels);
    assert.equal(train.classNames?.[3], 'cat');
    // Record 9 (second of data_batch_5), row 31, column 0, blue: scaled to [0, 1] only.
    assert.equal(
      train.images[((9 * 32 + 31) * 32 + 0) * 3 + 2],
      Math.fround(pixel(9, 2, 31, 0) / 255),
    );

    const test = await loadDataset('cifar10', { dataDir: root, split: 'test' });
    assert.deepEqual(Array.from(test.labels), testLabels);
    // Standardised per channel with the published CIFAR-10 statistics.
    const mean = [0.4914, 0.4822, 0.4465];
    const std = [0.247, 0.2435, 0.2616];
    for (let c = 0; c < 3; c++) {
      const expected = (pixel(1, c, 5, 17) / 255 - mean[c]) / std[c];
      assert.ok(Math.abs(test.images[((1 * 32 + 5) * 32 + 17) * 3 + c] - expected) < 1e-6);
    }

    const limited = await loadDataset('cifar10', { dataDir: root, limit: 3 });
    assert.deepEqual(Array.from(limited.labels), trainLabels.slice(0, 3));
  });

  test('a size that is not a multiple of 3073 names the file and its size', () => {
    const path = join(dir, 'bad.bin');
    writeFileSync(path, Buffer.alloc(3073 * 2 + 5));
    assertAnnealError(() => readCifarBatch(path), 'ANNEAL_CIFAR_BAD_SIZE', [path, '6151', '3073']);
  });

  test('a label outside 0..9 is rejected with the file and the value', () => {
    const path = join(dir, 'badlabel.bin');
    writeFileSync(path, cifarBytes([1, 10]));
    assertAnnealError(() => readCifarBatch(path), 'ANNEAL_DATA_BAD_LABEL', [path, 'label 10']);
  });

  test('missing directory or batch file says what to download', async () => {
    await assertRejectsAnneal(() => loadDataset('cifar10'), 'ANNEAL_DATA_NOT_FOUND', [
      'cifar-10-binary.tar.gz',
      '--data-dir',
    ]);
    const missing = join(dir, 'nowhere');
    await assertRejectsAnneal(
      () => loadDataset('cifar10', { dataDir: missing }),
      'ANNEAL_DATA_NOT_FOUND',
      [missing],
    );
    const partial = join(dir, 'partial');
    mkdirSync(partial);
    writeFileSync(join(partial, 'data_batch_1.bin'), cifarBytes([1]));
    await assertRejectsAnneal(
      () => loadDataset('cifar10', { dataDir: partial }),
      'ANNEAL_DATA_NOT_FOUND',
      [join(partial, 'data_batch_2.bin')],
    );
  });
});
