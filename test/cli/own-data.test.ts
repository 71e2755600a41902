/**
 * A user's own data through the CLI (in this process, test/cli/in-process.ts): image-folder
 * digits written from MNIST and a generated CSV, with data info, train (methods that apply),
 * lr-find, curve and search, a few steps each.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { writeDigitFolder } from '../data/own-data.js';
import { runCli } from './in-process.js';

process.env.ANNEAL_KERNELS = 'js';
const dir = mkdtempSync(join(tmpdir(), 'anneal-own-data-'));
const cacheDir = join(dir, 'cache');
const digits = join(dir, 'digits');
const table = join(dir, 'table.csv');
const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

before(async () => {
  await writeDigitFolder(digits, 10, 3);
  // Two features; the class is which of two clusters a row is in, with string labels.
  const rows = Array.from({ length: 60 }, (_, i) => {
    const c = i % 2;
    return `${c * 4 + (i % 5) / 10},${c === 0 ? 'low' : 'high'},${-c * 3 + (i % 7) / 10}`;
  });
  writeFileSync(table, ['u,kind,v', ...rows].join('\n') + '\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

const IMAGES = ['--data', 'image-folder', '--data-dir', digits, '--cache-dir', cacheDir];
const CSV = ['--data', 'csv', '--data-dir', table, '--label-column', 'kind'];

async function ok(args: string[]) {
  const r = await runCli(args);
  assert.equal(r.code, 0, `anneal ${args.join(' ')}\n${r.stderr}`);
  return r;
}

describe('image-folder through the CLI', () => {
  test('data info: counts of the train/ and test/ folders, and the cache', async () => {
    const r = await ok(['data', 'info', ...IMAGES, '--split', 'test', '--json']);
    const info = JSON.parse(r.stdout);
    assert.equal(info.length, 30);
    assert.deepEqual(info.classCounts, new Array(10).fill(3));
    assert.deepEqual(info.shape, [28, 28, 1]);
    assert.ok(info.cache.startsWith(cacheDir));
  });

  test('train a CNN with cutmix a few steps; the run records the data', async () => {
    const out = join(dir, 'run-images');
    const r = await ok([
      'train',
      ...IMAGES,
      ...['--model', 'cnn', '--duration', '3ba', '--batch-size', '16'],
      ...['--methods', 'cutmix', '--no-progress', '--out', out],
    ]);
    assert.match(r.stdout + r.stderr, /image-folder \(100 train \/ 30 test\)/);
    const config = readJson(join(out, 'config.json'));
    assert.equal(config.recipe.data.name, 'image-folder');
    assert.equal(config.recipe.data.cacheDir, cacheDir);
    assert.ok(existsSync(join(out, 'summary.json')));
  });

  test('lr-find and curve at 14x14', async () => {
    const small = [...IMAGES, '--image-size', '14', '--model', 'mlp'];
    await ok(['lr-find', ...small, '--steps', '5', '--out', join(dir, 'lr.json')]);
    await ok([
      'curve',
      ...small,
      ...['--cycles', '2', '--first-cycle', '1ba', '--no-progress'],
      ...['--out', join(dir, 'curve-images')],
    ]);
  });
});

describe('csv through the CLI', () => {
  test('data info: the feature shape and the class names as written', async () => {
    const info = JSON.parse((await ok(['data', 'info', ...CSV, '--json'])).stdout);
    assert.deepEqual(info.shape, [2]);
    assert.deepEqual(info.classNames, ['high', 'low']);
    // 30 rows a class, round(0.2 x 30) = 6 of each held out.
    assert.deepEqual(info.classCounts, [24, 24]);
  });

  test('train an MLP with label smoothing and mixup', async () => {
    const out = join(dir, 'run-csv');
    await ok([
      'train',
      ...CSV,
      ...['--model', 'mlp', '--epochs', '2', '--batch-size', '8'],
      ...['--methods', 'label-smoothing,mixup', '--no-progress', '--out', out],
    ]);
    const summary = readJson(join(out, 'summary.json'));
    assert.ok(summary.test.accuracy >= 0 && summary.test.accuracy <= 1);
    // The export says how to feed it rows: the class names as written, no /255.
    const exported = join(dir, 'export-csv');
    await ok(['export', out, '--out', exported]);
    const card = readJson(join(exported, 'anneal.json'));
    assert.deepEqual(card.classes, ['high', 'low']);
    assert.deepEqual(card.input.shape, [2]);
    assert.equal(card.input.layout, 'features');
    assert.equal(card.input.formula, '(feature[f] - mean[f]) / std[f]');
  });

  test('an image model on csv data is refused in one line, and nothing is written', async () => {
    const out = join(dir, 'never');
    const r = await runCli(['train', ...CSV, '--model', 'cnn', '--no-progress', '--out', out]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(
      r.stderr,
      /model 'cnn' takes images .* rows of 2 features \(csv\); use --model mlp/,
    );
    assert.equal(existsSync(out), false);
  });

  test('an image method on csv data is refused before the run writes anything', async () => {
    const out = join(dir, 'never-cutmix');
    const r = await runCli([
      ...['train', ...CSV, '--model', 'mlp', '--methods', 'mixup,cutmix'],
      ...['--no-progress', '--out', out],
    ]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /^anneal: method 'cutmix' works on images, but csv gives rows of 2 features/,
    );
    assert.equal(existsSync(out), false);
  });

  test('search and curve', async () => {
    const space = join(dir, 'space.json');
    writeFileSync(
      space,
      JSON.stringify({ 'optimizer.lr': { type: 'loguniform', low: 1e-3, high: 0.1 } }),
    );
    const out = join(dir, 'search-csv');
    await ok([
      'search',
      ...CSV,
      ...['--model', 'mlp', '--space', space, '--scheduler', 'sha', '--configs', '2'],
      ...['--max-resource', '3ba', '--min-resource', '1ba', '--no-live', '--out', out],
    ]);
    assert.ok(readdirSync(out).length > 0);
    await ok([
      'curve',
      ...CSV,
      ...['--model', 'mlp', '--cycles', '2', '--first-cycle', '1ba', '--no-progress'],
      ...['--out', join(dir, 'curve-csv')],
    ]);
  });
});
