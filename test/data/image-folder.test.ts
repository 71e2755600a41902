/**
 * The image-folder dataset on PNG digits written from MNIST (test/data/own-data.ts): what loads
 * is checked against the bytes written, never against anneal's own reading of them.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { datasetInfo, loadDataset, type Dataset } from '../../src/data/index.js';
import { assertRejectsAnneal, tempDir } from './helpers.js';
import { greyPng, rgbPng, writeDigitFolder, type WrittenImage } from './own-data.js';

const root = tempDir('image-folder');
const cacheDir = join(root, 'cache');
const pairDir = join(root, 'pair');
const flatDir = join(root, 'flat');
let pair: WrittenImage[] = [];
let flat: WrittenImage[] = [];

before(async () => {
  pair = await writeDigitFolder(pairDir, 20, 5);
  flat = await writeDigitFolder(flatDir, 30);
});

const hash = (bytes: Uint8Array) => createHash('sha1').update(bytes).digest('hex');

/** The loaded (normalize: false) samples as pixel bytes, keyed by their hash, with labels. */
function loadedImages(ds: Dataset): Map<string, number> {
  const size = 28 * 28;
  const found = new Map<string, number>();
  for (let i = 0; i < ds.length; i++) {
    const bytes = Uint8Array.from(ds.images.subarray(i * size, (i + 1) * size), (x) =>
      Math.round(x * 255),
    );
    found.set(hash(bytes), ds.labels[i]);
  }
  return found;
}

/** Every written image appears once in `ds`, with its own label. */
function assertHolds(ds: Dataset, written: WrittenImage[]): void {
  const loaded = loadedImages(ds);
  assert.equal(loaded.size, written.length, 'each sample once');
  for (const w of written) assert.equal(loaded.get(hash(w.pixels)), w.label, w.path);
}

/** Every file under `dir`, with its size and mtime. */
function listing(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .sort()
    .map((p) => {
      const s = statSync(join(dir, p));
      return `${p} ${s.size} ${s.mtimeMs}`;
    });
}

describe('image-folder: a train/ and test/ pair', () => {
  test('each split holds its folder, labels are the sorted folder names', async () => {
    const opts = { dataDir: pairDir, cacheDir, normalize: false };
    const train = await loadDataset('image-folder', { ...opts, split: 'train' });
    const testSplit = await loadDataset('image-folder', { ...opts, split: 'test' });
    assert.deepEqual(train.shape, [28, 28, 1]);
    assert.deepEqual(train.classNames, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    assert.equal(train.length, 200);
    assert.equal(testSplit.length, 50);
    assertHolds(
      train,
      pair.filter((w) => w.split === 'train'),
    );
    assertHolds(
      testSplit,
      pair.filter((w) => w.split === 'test'),
    );
  });

  test("standardised with the train split's mean and std, worked out here", async () => {
    const bytes = pair.filter((w) => w.split === 'train').flatMap((w) => [...w.pixels]);
    const mean = bytes.reduce((s, b) => s + b / 255, 0) / bytes.length;
    const std = Math.sqrt(bytes.reduce((s, b) => s + (b / 255 - mean) ** 2, 0) / bytes.length);
    const info = await datasetInfo('image-folder', { dataDir: pairDir, cacheDir, split: 'test' });
    assert.ok(Math.abs(info.normalization!.mean[0] - mean) < 1e-9);
    assert.ok(Math.abs(info.normalization!.std[0] - std) < 1e-9);
    assert.match(info.normalizationFrom!, /train split/);
    assert.equal(info.splitFrom, 'train/ and test/ folders');
    // One test sample, normalised: (byte / 255 - mean) / std.
    const ds = await loadDataset('image-folder', { dataDir: pairDir, cacheDir, split: 'test' });
    const raw = await loadDataset('image-folder', {
      dataDir: pairDir,
      cacheDir,
      split: 'test',
      normalize: false,
    });
    for (const i of [0, 300, 783]) {
      const byte = Math.round(raw.images[i] * 255);
      assert.ok(Math.abs(ds.images[i] - (byte / 255 - mean) / std) < 1e-5);
    }
  });

  test('--image-size resizes every image', async () => {
    const ds = await loadDataset('image-folder', {
      dataDir: pairDir,
      cacheDir,
      imageSize: [14, 12],
      split: 'test',
    });
    assert.deepEqual(ds.shape, [14, 12, 1]);
    assert.equal(ds.images.length, 50 * 14 * 12);
  });
});

describe('image-folder: one folder split by --val-fraction', () => {
  test('round(fraction x n) of each class held out, the two splits disjoint and complete', async () => {
    const opts = { dataDir: flatDir, cacheDir, normalize: false, valFraction: 0.2 };
    const train = await loadDataset('image-folder', { ...opts, split: 'train' });
    const held = await loadDataset('image-folder', { ...opts, split: 'test' });
    assert.equal(train.length, 240);
    assert.equal(held.length, 60);
    const perClass = (ds: Dataset) =>
      Array.from({ length: 10 }, (_, c) => ds.labels.filter((l) => l === c).length);
    assert.deepEqual(perClass(train), new Array(10).fill(24));
    assert.deepEqual(perClass(held), new Array(10).fill(6));
    const a = loadedImages(train);
    const b = loadedImages(held);
    assert.ok(
      [...a.keys()].every((k) => !b.has(k)),
      'disjoint',
    );
    const all = new Map([...a, ...b]);
    assert.equal(all.size, 300);
    for (const w of flat) assert.equal(all.get(hash(w.pixels)), w.label, w.path);
    // Seeded: the same split again.
    const again = await loadDataset('image-folder', { ...opts, split: 'test' });
    assert.deepEqual([...loadedImages(again).keys()].sort(), [...b.keys()].sort());
    // --limit takes the first samples of a mixed order, not the first class only.
    const limited = await loadDataset('image-folder', { ...opts, split: 'train', limit: 40 });
    assert.ok(new Set(limited.labels).size > 3);
  });
});

describe('image-folder: the cache', () => {
  test('the second load reads the cache, not the images; a changed file is decoded again', async () => {
    const dir = join(root, 'cache-case');
    const written = await writeDigitFolder(dir, 3);
    const cache = join(root, 'cache-of-cache-case');
    // A whole-second mtime, so that setting it back below gives the very same value.
    const victim = written[0].path;
    const stamp = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    utimesSync(victim, stamp, stamp);
    const before = listing(dir);
    const first = await datasetInfo('image-folder', { dataDir: dir, cacheDir: cache });
    assert.match(first.cache!, /\(written\)$/);
    const file = first.cache!.replace(/ \(written\)$/, '');
    assert.ok(file.startsWith(join(cache, 'image-folder')));
    const mtime = statSync(file).mtimeMs;
    assert.deepEqual(listing(dir), before, 'nothing written in the data folder');

    // Garbage of the same size and mtime: a load that decoded would fail on it.
    writeFileSync(victim, Buffer.alloc(statSync(victim).size, 0x55));
    utimesSync(victim, stamp, stamp);
    const second = await datasetInfo('image-folder', { dataDir: dir, cacheDir: cache });
    assert.equal(second.cache, `${file} (reused)`);
    assert.equal(statSync(file).mtimeMs, mtime, 'the cache file is not rewritten');
    assert.equal(second.length, first.length);

    // A new mtime changes the key: the file is decoded, and it is not an image.
    utimesSync(victim, stamp, new Date(stamp.getTime() + 5000));
    await assertRejectsAnneal(
      () => datasetInfo('image-folder', { dataDir: dir, cacheDir: cache }),
      'ANNEAL_DATA_BAD_IMAGE',
      [victim],
    );
  });
});

describe('image-folder: colour images', () => {
  test('RGB pixels come through exactly; --grayscale makes one channel', async () => {
    const dir = join(root, 'rgb');
    const colours: [number, number, number][] = [
      [200, 10, 30],
      [5, 250, 120],
    ];
    for (const [c, rgb] of colours.entries()) {
      mkdirSync(join(dir, `class${c}`), { recursive: true });
      for (let k = 0; k < 3; k++)
        writeFileSync(join(dir, `class${c}`, `${k}.png`), await rgbPng(6, 5, rgb));
    }
    const ds = await loadDataset('image-folder', {
      dataDir: dir,
      cacheDir,
      normalize: false,
      valFraction: 0.34,
    });
    assert.deepEqual(ds.shape, [6, 5, 3]);
    for (let i = 0; i < ds.length; i++) {
      const rgb = colours[ds.labels[i]];
      for (let c = 0; c < 3; c++) assert.equal(Math.round(ds.images[i * 90 + c] * 255), rgb[c]);
    }
    const grey = await loadDataset('image-folder', { dataDir: dir, cacheDir, grayscale: true });
    assert.deepEqual(grey.shape, [6, 5, 1]);
  });
});

describe('image-folder: bad input is one UsageError naming the problem', () => {
  async function folder(name: string, files: Record<string, Buffer | 'dir'>): Promise<string> {
    const dir = join(root, 'bad', name);
    for (const [path, content] of Object.entries(files)) {
      const full = join(dir, path);
      if (content === 'dir') {
        mkdirSync(full, { recursive: true });
        continue;
      }
      mkdirSync(join(full, '..'), { recursive: true });
      writeFileSync(full, content);
    }
    return dir;
  }
  const png = () => greyPng(new Uint8Array(16).fill(90), 4, 4);
  const load =
    (dir: string, extra = {}) =>
    () =>
      loadDataset('image-folder', { dataDir: dir, cacheDir: join(root, 'bad-cache'), ...extra });

  test('an empty class folder', async () => {
    const dir = await folder('empty-class', { 'a/0.png': await png(), b: 'dir' });
    await assertRejectsAnneal(load(dir), 'ANNEAL_DATA_EMPTY_CLASS', [join(dir, 'b')]);
  });
  test('a corrupt image, named', async () => {
    const good = await png();
    const dir = await folder('corrupt', {
      'a/0.png': good,
      'b/0.png': good,
      'b/1.png': good.subarray(0, 30),
    });
    await assertRejectsAnneal(load(dir), 'ANNEAL_DATA_BAD_IMAGE', [join(dir, 'b', '1.png')]);
  });
  test('an unreadable image, named', async () => {
    // A folder with an image's name: reading it fails (EISDIR) even as root, unlike chmod.
    const dir = await folder('unreadable', { 'a/0.png': await png(), 'b/0.png': 'dir' });
    await assertRejectsAnneal(load(dir), 'ANNEAL_DATA_UNREADABLE', [
      join(dir, 'b', '0.png'),
      'EISDIR',
    ]);
  });
  test('mixed channel counts without --grayscale; --grayscale reads them', async () => {
    const dir = await folder('mixed', {
      'a/0.png': await png(),
      'a/1.png': await png(),
      'b/0.png': await rgbPng(4, 4, [1, 2, 3]),
      'b/1.png': await rgbPng(4, 4, [1, 2, 3]),
    });
    await assertRejectsAnneal(load(dir), 'ANNEAL_DATA_MIXED_CHANNELS', [
      join(dir, 'a', '0.png'),
      join(dir, 'b', '0.png'),
      '--grayscale',
    ]);
    const ds = await load(dir, { grayscale: true, valFraction: 0.5, cacheDir })();
    assert.deepEqual(ds.shape, [4, 4, 1]);
  });
  test('a single class', async () => {
    const dir = await folder('one-class', { 'a/0.png': await png(), 'a/1.png': await png() });
    await assertRejectsAnneal(load(dir), 'ANNEAL_DATA_ONE_CLASS', [dir, 'one class folder (a)']);
  });
  test('nothing is written to the cache when a load fails', () => {
    assert.deepEqual(
      readdirSync(root).includes('bad-cache') ? listing(join(root, 'bad-cache')) : [],
      [],
    );
  });
  test('the cache file itself is never inside the data folder', async () => {
    const info = await datasetInfo('image-folder', { dataDir: flatDir, cacheDir });
    assert.ok(!info.cache!.startsWith(flatDir));
    assert.ok(readFileSync(info.cache!.replace(/ \((written|reused)\)$/, '')).length > 300 * 784);
  });
});
