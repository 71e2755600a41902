import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DataLoader, splitValidation, type Dataset } from '../../src/data/index.js';
import { assertAnnealError } from './helpers.js';

/** n samples of shape [1, 2, 1] whose pixels are (i, -i) and whose label is i % 3: every value names its sample. */
function indexDataset(n: number): Dataset {
  const images = new Float32Array(2 * n);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    images[2 * i] = i;
    images[2 * i + 1] = -i;
    labels[i] = i % 3;
  }
  return { name: 'index', images, labels, shape: [1, 2, 1], numClasses: 3, length: n };
}

function epochSamples(loader: DataLoader, epoch: number): number[] {
  const seen: number[] = [];
  for (const batch of loader.batches(epoch)) {
    assert.equal(batch.images.length, 2 * batch.size);
    assert.deepEqual(batch.shape, [1, 2, 1]);
    for (let i = 0; i < batch.size; i++) {
      const sample = batch.images[2 * i];
      assert.equal(batch.images[2 * i + 1], -sample);
      assert.equal(batch.labels[i], sample % 3);
      assert.equal(batch.indices[i], sample);
      seen.push(sample);
    }
  }
  return seen;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('DataLoader', () => {
  test('every sample exactly once per epoch, batch sizes ceil(n / b) with a short last batch', () => {
    const loader = new DataLoader(indexDataset(10), { batchSize: 3, seed: 1 });
    assert.equal(loader.batchesPerEpoch, 4);
    assert.deepEqual(
      [...loader.batches(0)].map((b) => b.size),
      [3, 3, 3, 1],
    );
    for (const epoch of [0, 1, 7]) {
      const seen = epochSamples(loader, epoch);
      assert.deepEqual(
        [...seen].sort((a, b) => a - b),
        range(10),
      );
    }
  });

  test('the order depends only on (seed, epoch)', () => {
    const ds = indexDataset(50);
    const a = new DataLoader(ds, { batchSize: 8, seed: 3 });
    const b = new DataLoader(ds, { batchSize: 8, seed: 3 });
    assert.deepEqual(epochSamples(a, 2), epochSamples(b, 2));
    assert.deepEqual(epochSamples(a, 2), epochSamples(a, 2));
    assert.notDeepEqual(epochSamples(a, 0), epochSamples(a, 1));
    assert.notDeepEqual(
      epochSamples(a, 0),
      epochSamples(new DataLoader(ds, { batchSize: 8, seed: 4 }), 0),
    );
    assert.notDeepEqual(epochSamples(a, 0), range(50));
    // The batch size does not change the order, only how it is cut.
    assert.deepEqual(
      epochSamples(new DataLoader(ds, { batchSize: 5, seed: 3 }), 2),
      epochSamples(a, 2),
    );
  });

  test('shuffle: false keeps data set order', () => {
    const loader = new DataLoader(indexDataset(7), { batchSize: 2, shuffle: false });
    assert.deepEqual(epochSamples(loader, 0), range(7));
    assert.deepEqual(epochSamples(loader, 5), range(7));
  });

  test('dropLast drops the short batch; resuming from a batch gives the rest of the epoch', () => {
    const ds = indexDataset(10);
    const loader = new DataLoader(ds, { batchSize: 3, seed: 9, dropLast: true });
    assert.equal(loader.batchesPerEpoch, 3);
    assert.equal(loader.samplesPerEpoch, 9);
    const batches = [...loader.batches(4)];
    assert.deepEqual(
      batches.map((b) => b.size),
      [3, 3, 3],
    );
    const seen = batches.flatMap((b) => Array.from(b.indices));
    assert.equal(new Set(seen).size, 9);
    // Same order as without dropLast, minus the tail.
    const full = epochSamples(new DataLoader(ds, { batchSize: 3, seed: 9 }), 4);
    assert.deepEqual(seen, full.slice(0, 9));
    const resumed = [...loader.batches(4, 1)].flatMap((b) => Array.from(b.indices));
    assert.deepEqual(resumed, seen.slice(3));
  });

  test('batches are copies: changing one leaves the data set as it was', () => {
    const ds = indexDataset(4);
    const [batch] = new DataLoader(ds, { batchSize: 4, shuffle: false }).batches(0);
    batch.images.fill(99);
    batch.labels.fill(2);
    assert.deepEqual(Array.from(ds.images), [0, -0, 1, -1, 2, -2, 3, -3]);
    assert.deepEqual(Array.from(ds.labels), [0, 1, 2, 0]);
  });

  test('bad batch sizes, epochs and resume points are rejected with the value', () => {
    const ds = indexDataset(5);
    assertAnnealError(() => new DataLoader(ds, { batchSize: 0 }), 'ANNEAL_BAD_BATCH_SIZE', ['0']);
    assertAnnealError(() => new DataLoader(ds, { batchSize: 2.5 }), 'ANNEAL_BAD_BATCH_SIZE', [
      '2.5',
    ]);
    assertAnnealError(
      () => new DataLoader(ds, { batchSize: 8, dropLast: true }),
      'ANNEAL_BAD_BATCH_SIZE',
      ['5 samples', '8'],
    );
    assert.equal(new DataLoader(ds, { batchSize: 8 }).batchesPerEpoch, 1);
    const loader = new DataLoader(ds, { batchSize: 2 });
    assertAnnealError(() => [...loader.batches(-1)], 'ANNEAL_BAD_EPOCH', ['-1']);
    assertAnnealError(() => [...loader.batches(0, 4)], 'ANNEAL_BAD_BATCH_INDEX', ['4', '0..3']);
  });
});

describe('splitValidation', () => {
  test('disjoint, covering, sized round(fraction * n), order kept, seeded', () => {
    const ds = indexDataset(1000);
    const { train, val } = splitValidation(ds, 0.2, 5);
    assert.equal(val.length, 200);
    assert.equal(train.length, 800);
    const valIds = Array.from({ length: val.length }, (_, i) => val.images[2 * i]);
    const trainIds = Array.from({ length: train.length }, (_, i) => train.images[2 * i]);
    assert.deepEqual(
      [...valIds, ...trainIds].sort((a, b) => a - b),
      range(1000),
    );
    assert.deepEqual(
      valIds,
      [...valIds].sort((a, b) => a - b),
    );
    for (let i = 0; i < val.length; i++) assert.equal(val.labels[i], valIds[i] % 3);
    assert.deepEqual(val.shape, ds.shape);
    assert.equal(val.numClasses, 3);

    assert.deepEqual(splitValidation(ds, 0.2, 5).val.images, val.images);
    assert.notDeepEqual(splitValidation(ds, 0.2, 6).val.images, val.images);
    assert.equal(splitValidation(indexDataset(10), 0.25, 0).val.length, 3); // round(2.5) = 3
  });

  test('a fraction that leaves a side empty is rejected', () => {
    const ds = indexDataset(10);
    for (const fraction of [0, 1, -0.1, 0.01, 0.99]) {
      assertAnnealError(() => splitValidation(ds, fraction, 0), 'ANNEAL_BAD_VALIDATION_FRACTION', [
        String(fraction),
      ]);
    }
  });
});
