/**
 * The `anneal` command end to end, as a user runs it: the main job (`npm start`, with a tiny
 * budget) and the one-line errors for bad input.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { anneal, assertUserError, root } from './helpers.js';
import { loadCheckpoint, resolveCheckpointPath } from '../../src/train/checkpoint.js';
import { readCsv } from '../../src/logs/csv.js';
import { readJsonl } from '../../src/logs/jsonl.js';

test('npm start (the main job: tradeoff curves) runs with a tiny budget and writes its report', () => {
  const start: string = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts.start;
  const prefix = 'node dist/src/cli/main.js ';
  assert.ok(start.startsWith(prefix), `npm start should run the CLI: ${start}`);
  const out = join(mkdtempSync(join(tmpdir(), 'anneal-start-')), 'curve');
  // npm start's own settings, on 640 training samples (10 steps an epoch) and 200 test samples.
  const args = [
    ...start.slice(prefix.length).split(' '),
    '--limit',
    '640',
    '--test-limit',
    '200',
    '--out',
    out,
    '--no-progress',
  ];
  const r = anneal(args);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^report: ${join(out, 'report.html')}$`, 'm'));
  const curve = JSON.parse(readFileSync(join(out, 'curve.json'), 'utf8'));
  assert.equal(curve.complete, true);
  // '0.125ep' of 10 steps rounds to 1 step; cycles of 1, 2, 4, 8 steps end at 1, 3, 7, 15.
  assert.deepEqual(curve.settings.budgets, [1, 3, 7, 15]);
  // 3 recipes x 4 cycles, and 4 separate baseline runs.
  assert.equal(curve.points.length, 3 * 4 + 4);
  assert.deepEqual(curve.settings.recipes, ['baseline', 'label-smoothing', 'mixup']);
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  assert.ok((html.match(/<svg/g) ?? []).length >= 4, 'the report has its charts');
  assert.equal(readFileSync(join(out, 'points.csv'), 'utf8').trim().split('\n').length, 17);
  // All training done: 3 single runs of 15 steps, separate runs of 1 + 3 + 7 + 15 steps.
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.equal(summary.steps, 3 * 15 + 26);
  assert.equal(summary.samples, (3 * 15 + 26) * 64);
  assert.equal(summary.test.recipe, 'baseline');
  assert.equal(summary.test.accuracy, curve.summary.rows[3].accuracyMean);
});

test('anneal train writes a complete run directory', () => {
  const out = join(mkdtempSync(join(tmpdir(), 'anneal-train-')), 'run');
  const args = [
    ...'train --data mnist --model cnn --epochs 1'.split(' '),
    '--limit',
    '512',
    '--test-limit',
    '300',
    '--out',
    out,
    '--no-progress',
  ];
  const r = anneal(args);
  assert.equal(r.code, 0, r.stderr);
  const m = /^test accuracy: (\d\.\d{4})$/m.exec(r.stdout);
  assert.ok(m, `no 'test accuracy' line in: ${r.stdout}`);
  // 512 samples of one epoch: far above chance (0.1) for a working CNN, not a precise target.
  assert.ok(Number(m[1]) > 0.3, `accuracy ${m[1]}`);

  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.equal(summary.test.count, 300);
  assert.equal(summary.steps, 512 / 64);
  assert.equal(summary.test.accuracy.toFixed(4), m[1]);
  const log = readJsonl(join(out, 'log.jsonl'));
  assert.deepEqual(
    log.map((l) => l.event).filter((e) => e !== 'batch_end'),
    ['run', 'fit_start', 'epoch_end', 'eval_end', 'checkpoint', 'fit_end'],
  );
  const ckpt = loadCheckpoint(resolveCheckpointPath(out));
  assert.equal(ckpt.meta.kind, 'anneal-trainer');
  const params = ckpt.tensors.filter((t) => t.name.startsWith('param:'));
  assert.equal(
    params.reduce((n, t) => n + t.data.length, 0),
    summary.params,
  );
  assert.deepEqual(
    readCsv(join(out, 'metrics.csv')).map((r) => r.event),
    ['epoch_end', 'eval_end'],
  );
  // A second run into the same directory needs --overwrite.
  assertUserError(anneal(['train', '--out', out, '--limit', '64']), out, '--overwrite');
});

test('--overwrite deletes nothing anneal did not make (the folder keeps its files)', () => {
  const out = mkdtempSync(join(tmpdir(), 'anneal-not-a-run-'));
  mkdirSync(join(out, 'src'));
  writeFileSync(join(out, 'src', 'main.c'), 'int main;');
  const train = ['train', '--data', 'synthetic', '--model', 'mlp', '--limit', '64'];
  assertUserError(anneal([...train, '--out', out, '--overwrite']), out, '.anneal-run.json');
  assert.equal(readFileSync(join(out, 'src', 'main.c'), 'utf8'), 'int main;');
  // A train run is not a curve's to replace either.
  const run = join(out, 'run');
  assert.equal(anneal([...train, '--epochs', '1', '--out', run, '--no-progress']).code, 0);
  assertUserError(
    anneal(['curve', '--data', 'synthetic', '--out', run, '--overwrite']),
    'made by `anneal train`',
  );
  assert.ok(existsSync(join(run, 'summary.json')));
});

test('bad input gives one clear line and exit 2', () => {
  assertUserError(
    anneal(['train', '--model', 'transformerxl', '--limit', '64', '--out', join(tmpdir(), 'x')]),
    'transformerxl',
    'cnn',
  );
  assertUserError(anneal(['train', '--epochs', 'many']), 'many', 'positive integer');
  assertUserError(
    anneal(['train', '--backend', 'tensorflow', '--out', join(tmpdir(), 'y')]),
    'tensorflow',
  );
  assertUserError(anneal(['trian']), 'trian');
  // A varying batch size needs the run's length in epochs or samples; nothing is written.
  const varying = join(mkdtempSync(join(tmpdir(), 'anneal-cbs-')), 'run');
  assertUserError(
    anneal([
      'train',
      ...['--methods', 'cyclical-batch-size', '--duration', '100ba'],
      ...['--limit', '64', '--out', varying],
    ]),
    "'100ba'",
    "epochs ('3ep') or samples",
  );
  const dir = mkdtempSync(join(tmpdir(), 'anneal-missing-'));
  assertUserError(
    anneal(['data', 'info', '--data', 'fashion-mnist', '--data-dir', join(dir, 'nope')]),
    join(dir, 'nope'),
  );
  const corrupt = join(dir, 'bad');
  mkdirSync(corrupt);
  for (const f of [
    'train-images-idx3-ubyte',
    'train-labels-idx1-ubyte',
    't10k-images-idx3-ubyte',
    't10k-labels-idx1-ubyte',
  ]) {
    writeFileSync(join(corrupt, f), Buffer.from([0, 0, 0, 0, 1, 2, 3]));
  }
  assertUserError(
    anneal(['data', 'info', '--data', 'fashion-mnist', '--data-dir', corrupt]),
    corrupt,
  );
  assert.ok(!existsSync(join(tmpdir(), 'x', 'summary.json')));
  assert.ok(!existsSync(varying), 'a refused run leaves no directory');
});

test('anneal --help lists the commands', () => {
  const r = anneal(['--help']);
  assert.equal(r.code, 0);
  for (const c of ['train', 'data']) assert.match(r.stdout, new RegExp(`^\\s+${c}\\b`, 'm'));
});
