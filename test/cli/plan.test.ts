/**
 * Runaway sizes: the plan is printed before a run and refused above the limits unless --force.
 * Sizes are worked out here by hand from the data sets' shapes and the models' parameters.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tfl from '@tensorflow/tfjs-layers';
import { initEngine } from '../../src/engine/index.js';
import { parseRecipe } from '../../src/runs/recipe.js';
import {
  checkPlan,
  describePlan,
  PLAN_LIMITS,
  recipeDataBytes,
  trainingBytes,
} from '../../src/cli/plan.js';
import { anneal, assertUserError } from './helpers.js';

test('data bytes: float32 pixels and an int32 label per sample, train and test', () => {
  const synthetic = parseRecipe({ data: { name: 'synthetic', limit: 1e9 } }, { source: 't' });
  // 8x8x1 synthetic images; the test split keeps its default 1,000 samples.
  assert.equal(recipeDataBytes(synthetic), (1e9 + 1000) * (64 + 1) * 4);
  // A file data set holds at most its own size: MNIST has 60,000 training images of 28x28.
  const mnist = parseRecipe(
    { data: { name: 'mnist', limit: 1e9, testLimit: 100 } },
    { source: 't' },
  );
  assert.equal(recipeDataBytes(mnist), (60_000 + 100) * (784 + 1) * 4);
});

test('training bytes: four copies of the parameters and two of every activation', async () => {
  await initEngine({ backend: 'cpu' });
  const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [3], units: 2 })] });
  // 3 x 2 weights + 2 biases = 8 parameters; one layer output of 2 values per sample.
  assert.equal(trainingBytes(model, 5), 4 * (4 * 8 + 2 * 5 * 2));
  model.dispose();
});

test('a plan above a limit is refused with the limit named; --force lets it through', () => {
  const over = { steps: PLAN_LIMITS.steps + 1, samples: 1 };
  assert.throws(() => checkPlan(over, false), /goes past 10,000,000 steps.*--force/);
  assert.throws(() => checkPlan({ cycles: 1001 }, false), /goes past 1,000 cycles/);
  assert.throws(() => checkPlan({ bytes: totalmem() }, false), /goes past half of this machine/);
  checkPlan(over, true);
  checkPlan({ steps: 10, cycles: 3, bytes: 1 }, false);
  assert.equal(
    describePlan({ steps: 1875, samples: 120_000, bytes: 3 * 2 ** 29 }),
    '1,875 steps, 120,000 samples, about 1.5 GB of memory',
  );
});

test('the commands refuse runaway plans before writing anything', () => {
  const dir = mkdtempSync(join(tmpdir(), 'anneal-plan-'));
  const out = join(dir, 'out');
  const synthetic = ['--data', 'synthetic', '--model', 'mlp'];
  assertUserError(
    anneal(['train', ...synthetic, '--limit', '1e9', '--out', out]),
    'goes past half',
  );
  assertUserError(
    anneal(['curve', ...synthetic, '--limit', '640', '--mult', '1e9', '--out', out]),
    'goes past 10,000,000 steps',
  );
  assertUserError(
    anneal(['lr-find', ...synthetic, '--limit', '64', '--steps', '100000000', '--out', out]),
    'goes past 10,000,000 steps',
  );
  const space = join(dir, 'space.json');
  writeFileSync(space, JSON.stringify({ 'optimizer.lr': { type: 'choice', values: [0.01] } }));
  assertUserError(
    anneal([
      'search',
      ...synthetic,
      '--limit',
      '128',
      '--space',
      space,
      '--eta',
      '1.0001',
      '--out',
      out,
    ]),
    'the step between rungs',
    'raise --min-resource or --eta',
  );
  const run = join(dir, 'run');
  assert.equal(
    anneal(['train', ...synthetic, '--limit', '64', '--out', run, '--no-progress']).code,
    0,
  );
  assertUserError(
    anneal(['prune', '--checkpoint', run, '--target', '0.5', '--cycles', '100000', '--out', out]),
    'goes past 1,000 cycles',
  );
  assert.ok(!existsSync(out), 'nothing was written');
});

test('anneal train prints its plan before training', () => {
  const out = join(mkdtempSync(join(tmpdir(), 'anneal-plan-')), 'run');
  const r = anneal([
    'train',
    '--data',
    'synthetic',
    '--model',
    'mlp',
    '--limit',
    '128',
    '--out',
    out,
    '--no-progress',
  ]);
  assert.equal(r.code, 0, r.stderr);
  // 128 samples at batch 64 for the default 1 epoch: 2 steps.
  assert.match(r.stdout, /^anneal: plan: 2 steps, 128 samples, about \d+ MB of memory$/m);
});
