/**
 * `anneal train --recipe`, `anneal lr-find` and `anneal schedule` end to end, and how recipe
 * flags merge over a recipe file.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { flagForPath, recipeFromOptions } from '../../src/cli/recipe-flags.js';
import { anneal, assertUserError } from './helpers.js';
import { minOf } from '../../src/stats.js';

const dir = mkdtempSync(join(tmpdir(), 'anneal-commands-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}
const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

const TINY_RECIPE = [
  'data: { name: mnist, limit: 128, testLimit: 100 }',
  'model: { name: mlp, options: { hidden: [16] } }',
  'optimizer: { name: adamw, lr: 0.002 }',
  'schedules: { lr: { name: cosine } }',
  'methods: { nanGuard: { policy: skip }, earlyStopping: { patience: 5 } }',
  'duration: 2ep',
  'batchSize: 64',
  'kernels: js',
  '',
].join('\n');

test('anneal train --recipe bad.json with a wrong field type: the field path and expected type, exit 2', () => {
  const bad = file('bad.json', JSON.stringify({ optimizer: { name: 'adamw', lr: '0.1' } }));
  const out = join(dir, 'never');
  const r = anneal(['train', '--recipe', bad, '--out', out]);
  assertUserError(r, `recipe ${bad}: optimizer.lr: expected number, received string`);
  const unknown = file('unknown.yaml', 'model: mlp\nbatchsize: 32\n');
  assertUserError(anneal(['train', '--recipe', unknown]), 'unknown key "batchsize"', 'batchSize');
  // A bad value given by a flag is named by the flag.
  assertUserError(
    anneal(['train', '--recipe', file('ok.yaml', TINY_RECIPE), '--eval-interval', 'often']),
    '--eval-interval: expected a positive duration',
  );
});

test('anneal train --recipe trains what the recipe says, with flags over its fields', () => {
  const recipe = file('tiny.yaml', TINY_RECIPE);
  const out = join(dir, 'run');
  const r = anneal([
    'train',
    '--recipe',
    recipe,
    '--batch-size',
    '32',
    '--out',
    out,
    '--no-progress',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const config = readJson(join(out, 'config.json'));
  assert.equal(config.recipe.batchSize, 32);
  assert.deepEqual(config.recipe.model, { name: 'mlp', options: { hidden: [16] } });
  assert.deepEqual(config.recipe.methods.earlyStopping, { patience: 5 });
  // 784*16 + 16 + 16*10 + 10 parameters; 2 epochs of 128 samples in batches of 32.
  assert.equal(config.params, 784 * 16 + 16 + 16 * 10 + 10);
  const summary = readJson(join(out, 'summary.json'));
  assert.equal(summary.steps, 2 * (128 / 32));
  assert.equal(summary.test.count, 100);
});

test('recipe flags land on their fields and override the file', () => {
  const recipe = file('flags.yaml', TINY_RECIPE);
  const merged = recipeFromOptions({
    recipe,
    epochs: 5,
    lr: 0.1,
    optimizer: 'sgd',
    schedule: '{"name":"onecycle","maxLr":2}',
    nanGuard: 'off',
  });
  assert.equal(merged.duration, '5ep');
  assert.deepEqual(merged.optimizer, { name: 'sgd', lr: 0.1 });
  assert.deepEqual(merged.schedules.lr, { name: 'onecycle', maxLr: 2 });
  assert.equal(merged.methods.nanGuard.policy, 'off');
  assert.deepEqual(merged.model, { name: 'mlp', options: { hidden: [16] } });
  assert.equal(flagForPath('optimizer.lr'), '--lr');
  assert.throws(
    () => recipeFromOptions({ epochs: 2, duration: '100ba' }),
    /--epochs 2 and --duration 100ba both set/,
  );
});

test('anneal lr-find writes the curve and suggestions and prints them', () => {
  const recipe = file('lrf.yaml', TINY_RECIPE);
  const out = join(dir, 'lrf');
  const args = ['--min-lr', '1e-5', '--max-lr', '10', '--steps', '30', '--out', out];
  const r = anneal(['lr-find', '--recipe', recipe, '--batch-size', '16', ...args]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /suggested learning rates:/);
  assert.match(r.stdout, /CLR bounds/);
  const result = readJson(join(out, 'lr-find.json'));
  assert.equal(result.config.batchSize, 16);
  assert.equal(result.config.optimizer, 'adamw');
  assert.ok(result.curve.length >= 2 && result.curve.length <= 30);
  // lr(t) = 1e-5 * (10 / 1e-5)^(t / 29)
  result.curve.forEach((p: { step: number; lr: number }, t: number) => {
    assert.equal(p.step, t);
    const expected = 1e-5 * 1e6 ** (t / 29);
    assert.ok(Math.abs(p.lr - expected) <= 1e-12 * expected, `${p.lr} vs ${expected}`);
  });
  assertUserError(anneal(['lr-find', '--max-lr', 'big']), '--max-lr', 'positive number');
});

test('anneal schedule previews SGDR: its values, cycle ends and a chart; --out writes them', () => {
  const out = join(dir, 'lr.json');
  const spec = '{"name":"sgdr","t0":"1ep","tMult":2}';
  const r = anneal([
    'schedule',
    '--spec',
    spec,
    '--steps',
    '70',
    '--steps-per-epoch',
    '10',
    '--out',
    out,
  ]);
  assert.equal(r.code, 0, r.stderr);
  // Cycles of 10, 20 and 40 steps start at 0, 10 and 30: value 0.5 (1 + cos(pi offset / length)).
  const expected = Array.from({ length: 70 }, (_, t) => {
    const [start, length] = t < 10 ? [0, 10] : t < 30 ? [10, 20] : [30, 40];
    return 0.5 * (1 + Math.cos((Math.PI * (t - start)) / length));
  });
  const written = readJson(out);
  assert.deepEqual(written.step, [...Array(70).keys()]);
  written.value.forEach((v: number, t: number) => assert.ok(Math.abs(v - expected[t]) < 1e-12));
  assert.deepEqual(written.cycleEnds, [10, 30]);
  const min = minOf(expected);
  const header = r.stdout.split('\n')[0];
  assert.ok(header.startsWith('sgdr: 70 steps'), header);
  assert.ok(header.includes(`min ${min.toPrecision(4)}, max 1.000`), header);
  assert.ok(header.endsWith('cycle ends at steps 10, 30'), header);
  assert.ok(r.stdout.includes('*'));
  // 'ep' needs the epoch's length.
  assertUserError(
    anneal(['schedule', '--spec', spec, '--steps', '70']),
    "t0: '1ep'",
    '--steps-per-epoch',
  );
});

test('anneal train --methods runs registered methods in order; bad names and options are one line', () => {
  const out = join(dir, 'methods-run');
  const r = anneal([
    'train',
    '--recipe',
    file('methods.yaml', TINY_RECIPE),
    '--methods',
    'label-smoothing,mixup',
    '--out',
    out,
    '--no-progress',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readJson(join(out, 'config.json')).recipe.methods.use, [
    'label-smoothing',
    'mixup',
  ]);
  // Methods log their per-step values into the step records (mixup's lambda).
  const log = readFileSync(join(out, 'log.jsonl'), 'utf8');
  assert.match(log, /mixup\/lambda/);

  assertUserError(
    anneal(['train', '--methods', 'label-smothing', '--out', join(dir, 'x1')]),
    "unknown method 'label-smothing'",
    'label-smoothing',
  );
  assertUserError(
    anneal(['train', '--methods', '[{"name":"mixup","alpha":-1}]', '--out', join(dir, 'x2')]),
    'mixup: alpha = -1',
  );
  assertUserError(
    anneal([
      'train',
      '--methods',
      '[{"name":"batch-augmentation","m":0}]',
      '--out',
      join(dir, 'x3'),
    ]),
    'batch-augmentation: m = 0',
  );
});
