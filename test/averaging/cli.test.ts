/**
 * `anneal soup` and `anneal flatness` as a user runs them, on two tiny runs trained by
 * `anneal train` from one recipe with two learning rates.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { readCheckpointWeights } from '../../src/averaging/index.js';
import { saveCheckpoint } from '../../src/train/index.js';
import { anneal, assertUserError } from '../cli/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'anneal-soup-cli-'));
const runs = [join(dir, 'a'), join(dir, 'b')];

before(() => {
  const recipe = join(dir, 'recipe.json');
  writeFileSync(
    recipe,
    JSON.stringify({
      data: { name: 'synthetic', limit: 160, testLimit: 80 },
      model: { name: 'mlp', options: { hidden: [12] } },
      duration: '2ep',
      batchSize: 32,
    }),
  );
  runs.forEach((out, i) => {
    const r = anneal([
      'train',
      '--recipe',
      recipe,
      '--lr',
      String(0.002 * (i + 1)),
      '--out',
      out,
      '--no-progress',
    ]);
    assert.equal(r.code, 0, r.stderr);
  });
});

test('anneal soup prints every model, the uniform and the greedy soup, and writes the soup', () => {
  const out = join(dir, 'soup.ck');
  const r = anneal([
    'soup',
    '--checkpoints',
    ...runs,
    '--held-out',
    'test',
    '--out',
    out,
    '--json',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout);
  assert.equal(result.models.length, 2);
  assert.equal(result.heldOut.samples, 80);
  assert.equal(result.uniform.members, 2);
  // The greedy soup starts from the best model, so it is never worse than it.
  assert.ok(result.greedy.accuracy >= result.bestSingle);
  // With two models the only candidate soup is their average: the uniform soup.
  assert.equal(result.greedy.trace[1].tried, result.uniform.accuracy);
  // The table says what each model did to the soup: one starts it, the other is kept or left out.
  const text = anneal(['soup', '--checkpoints', ...runs, '--held-out', 'test']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /greedy soup with it/);
  assert.match(text.stdout, /first \(best alone\)/);
  const verdict = result.greedy.trace[1].added ? 'kept' : 'left out';
  assert.match(
    text.stdout,
    new RegExp(`${(100 * result.uniform.accuracy).toFixed(2)}% ${verdict}`),
  );
  assert.equal(
    readCheckpointWeights(out).params.length,
    readCheckpointWeights(runs[0]).params.length,
  );
});

test('anneal soup refuses another architecture, and val without held-out samples', () => {
  const odd = join(dir, 'odd.ck');
  saveCheckpoint(odd, {
    tensors: [{ name: 'param:dense/kernel', shape: [3, 3], data: new Float32Array(9) }],
    meta: {},
  });
  assertUserError(
    anneal(['soup', '--checkpoints', runs[0], odd]),
    'weight segment 0',
    '[3, 3]',
    'odd.ck',
  );
  assertUserError(
    anneal(['soup', '--checkpoints', ...runs, '--held-out', 'val']),
    '--held-out test',
  );
});

test('anneal flatness prints a table of the measures', () => {
  const r = anneal([
    'flatness',
    '--checkpoint',
    runs[1],
    '--measures',
    'sharpness,perturbation,hessian-top,local-entropy',
    '--samples',
    '64',
  ]);
  assert.equal(r.code, 0, r.stderr);
  for (const m of ['sharpness', 'perturbation', 'hessian-top', 'local-entropy']) {
    assert.match(r.stdout, new RegExp(`^${m}\\s+-?[\\d.e+-]+\\s`, 'm'));
  }
  assertUserError(
    anneal(['flatness', '--checkpoint', runs[1], '--measures', 'pointiness']),
    "'pointiness'",
  );
});

test('anneal landscape writes the line between two solutions as data', () => {
  const out = join(dir, 'line.json');
  const r = anneal([
    'landscape',
    '--checkpoints',
    ...runs,
    '--kind',
    'line',
    '--points',
    '3',
    '--samples',
    '40',
    '--out',
    out,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const grid = JSON.parse(readFileSync(out, 'utf8'));
  assert.deepEqual(grid.alphas, [0, 0.5, 1]);
  assert.equal(grid.losses.length, 3);
  assert.equal(grid.samples, 40);
  assertUserError(
    anneal(['landscape', '--checkpoints', runs[0], '--kind', 'plane']),
    'needs 3 checkpoint(s), got 1',
  );
});
