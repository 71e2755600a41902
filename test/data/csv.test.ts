/** The csv dataset on CSV files generated here; expectations worked out from the rows written. */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { datasetInfo, loadDataset } from '../../src/data/index.js';
import { assertRejectsAnneal, tempDir } from './helpers.js';

const root = tempDir('csv');

function file(name: string, text: string): string {
  const path = join(root, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  return path;
}

/** 40 rows of 3 classes: x = class + i/100, y = 2 * i, with the label column in the middle. */
const rows = Array.from({ length: 40 }, (_, i) => {
  const species = ['setosa', 'virginica', 'versicolor'][i % 3];
  return { x: (i % 3) + i / 100, y: 2 * i, species };
});
const irisLike = file(
  'iris.csv',
  ['x,species,y', ...rows.map((r) => `${r.x},${r.species},${r.y}`)].join('\n') + '\n',
);

describe('csv', () => {
  test('features in order, string labels sorted into classes, a stratified held-out split', async () => {
    const opts = { dataDir: irisLike, labelColumn: 'species', normalize: false };
    const train = await loadDataset('csv', { ...opts, split: 'train' });
    const held = await loadDataset('csv', { ...opts, split: 'test' });
    assert.deepEqual(train.shape, [2]);
    assert.deepEqual(train.classNames, ['setosa', 'versicolor', 'virginica']);
    // 14, 13, 13 rows per class: round(0.2 x n) held out = 3, 3, 3.
    assert.equal(held.length, 9);
    assert.equal(train.length, 31);
    const seen = new Set<string>();
    for (const ds of [train, held]) {
      for (let i = 0; i < ds.length; i++) {
        const [x, y] = [ds.images[2 * i], ds.images[2 * i + 1]];
        const row = rows[y / 2];
        assert.ok(Math.abs(x - row.x) < 1e-6);
        assert.equal(ds.classNames![ds.labels[i]], row.species);
        seen.add(String(y));
      }
    }
    assert.equal(seen.size, 40, 'every row once');
  });

  test("standardised per feature with the train split's mean and std", async () => {
    const opts = { dataDir: irisLike, labelColumn: 'species' };
    const raw = await loadDataset('csv', { ...opts, split: 'train', normalize: false });
    const ds = await loadDataset('csv', { ...opts, split: 'test' });
    const rawHeld = await loadDataset('csv', { ...opts, split: 'test', normalize: false });
    for (let f = 0; f < 2; f++) {
      const values = Array.from({ length: raw.length }, (_, i) => raw.images[2 * i + f]);
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
      const info = await datasetInfo('csv', opts);
      assert.ok(Math.abs(info.normalization!.mean[f] - mean) < 1e-4);
      assert.ok(Math.abs(ds.images[f] - (rawHeld.images[f] - mean) / std) < 1e-4);
    }
  });

  test('integer labels in numeric order; quoted fields; a train.csv and test.csv folder', async () => {
    const dir = join(root, 'pair');
    file('pair/train.csv', 'label,"a, quoted"\n10,1\n2,2\n10,3\n2,4\n');
    file('pair/test.csv', 'label,"a, quoted"\n2,5\n');
    const info = await datasetInfo('csv', { dataDir: dir });
    assert.deepEqual(info.classNames, ['2', '10']);
    assert.deepEqual(info.classCounts, [2, 2]);
    assert.equal(info.splitFrom, 'train.csv and test.csv');
    const held = await loadDataset('csv', { dataDir: dir, split: 'test', normalize: false });
    assert.deepEqual([...held.images], [5]);
    assert.deepEqual([...held.labels], [0]);
  });
});

describe('csv: bad input is one UsageError naming the line and column', () => {
  const load = (path: string, labelColumn?: string) => () =>
    loadDataset('csv', { dataDir: path, labelColumn });

  test('a row with the wrong number of fields', async () => {
    const path = file('short.csv', 'a,b,label\n1,2,x\n3,y\n5,6,y\n');
    await assertRejectsAnneal(load(path), 'ANNEAL_DATA_BAD_CSV', [
      `${path} line 3 has 2 fields, expected 3`,
    ]);
  });
  test('a non-numeric feature', async () => {
    const path = file('word.csv', 'a,b,label\n1,2,x\n3,four,y\n5,6,y\n');
    await assertRejectsAnneal(load(path), 'ANNEAL_DATA_BAD_CSV', [
      `${path} line 3, column 'b': "four" is not a number`,
    ]);
  });
  test('an empty feature', async () => {
    const path = file('blank.csv', 'a,b,label\n1,2,x\n3,,y\n');
    await assertRejectsAnneal(load(path), 'ANNEAL_DATA_BAD_CSV', ["line 3, column 'b'"]);
  });
  test('a missing label column', async () => {
    const path = file('nolabel.csv', 'a,b,class\n1,2,x\n3,4,y\n');
    await assertRejectsAnneal(load(path), 'ANNEAL_DATA_NO_LABEL_COLUMN', [
      "no column 'label'",
      'a, b, class',
      '--label-column',
    ]);
  });
  test('a single class', async () => {
    const path = file('one.csv', 'a,label\n1,x\n2,x\n3,x\n');
    await assertRejectsAnneal(load(path), 'ANNEAL_DATA_ONE_CLASS', ["one class ('x')"]);
  });
});
