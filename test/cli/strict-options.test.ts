/**
 * Strict options end to end: a misspelt method option in --methods, or a misspelt model option
 * in a recipe, is a one-line user error (exit 2) before the run directory is made, never a run
 * with the defaults.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseRecipe } from '../../src/runs/recipe.js';
import { anneal, assertUserError } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'anneal-strict-'));

test("--methods with a misspelt option ('alpah') exits 2 naming it, and makes no run directory", () => {
  const out = join(dir, 'methods-run');
  const r = anneal([
    'train',
    '--data',
    'synthetic',
    '--model',
    'mlp',
    '--limit',
    '64',
    '--methods',
    '[{"name":"mixup","alpah":0.4}]',
    '--out',
    out,
  ]);
  assertUserError(r, '--methods', "mixup: unknown option 'alpah'", "did you mean 'alpha'?");
  assert.ok(!existsSync(out), `${out} was made`);
});

test("a recipe's misspelt model option ('hiddn') is refused, with the options the model takes", () => {
  const source = { source: 'recipe r.yaml' };
  assert.throws(
    () => parseRecipe({ model: { name: 'mlp', options: { hiddn: [8] } } }, source),
    (e: Error & { code?: string }) => {
      assert.equal(e.code, 'ANNEAL_BAD_RECIPE');
      assert.equal(
        e.message,
        "recipe r.yaml: model.options: model 'mlp': unknown option 'hiddn' (= [8]): " +
          "expected some of hidden; did you mean 'hidden'?",
      );
      return true;
    },
  );
  // The options the recipe sets itself are not model.options' to give (they were overwritten).
  assert.throws(
    () => parseRecipe({ model: { name: 'mlp', options: { hidden: [8], seed: 3 } } }, source),
    /model.options: model 'mlp': 'seed' cannot be set in model.options: .*seed from its 'seed'$/,
  );
  // The default model (cnn) checks against its own options.
  assert.throws(
    () => parseRecipe({ model: { options: { hidden: [8] } } }, source),
    /model 'cnn': unknown option 'hidden' \(= \[8\]\): expected some of filters, denseUnits$/,
  );
  assert.deepEqual(
    parseRecipe({ model: { name: 'mlp', options: { hidden: [8] } } }, source).model,
    { name: 'mlp', options: { hidden: [8] } },
  );
});

test("a recipe's methods.use entry with a misspelt option is refused", () => {
  assert.throws(
    () =>
      parseRecipe(
        { methods: { use: ['label-smoothing', { name: 'mixup', alpah: 0.4 }] } },
        { source: 'recipe r.yaml' },
      ),
    (e: Error & { code?: string }) =>
      e.code === 'ANNEAL_BAD_RECIPE' &&
      e.message ===
        "recipe r.yaml: methods.use: mixup: unknown option 'alpah' (= 0.4): expected some of " +
          "name, alpha, perSample; did you mean 'alpha'?",
  );
  const ok = parseRecipe(
    { methods: { use: [{ name: 'mixup', alpha: 0.4 }] } },
    { source: 'recipe r.yaml' },
  );
  assert.deepEqual(ok.methods.use, [{ name: 'mixup', alpha: 0.4 }]);
});

test('anneal train --recipe with a misspelt model option exits 2 and makes no run directory', () => {
  const recipe = join(dir, 'r.yaml');
  writeFileSync(
    recipe,
    ['data: { name: synthetic, limit: 64 }', 'model: { name: mlp, options: { hiddn: [8] } }'].join(
      '\n',
    ),
  );
  const out = join(dir, 'recipe-run');
  const r = anneal(['train', '--recipe', recipe, '--out', out]);
  assertUserError(r, `recipe ${recipe}`, "model 'mlp': unknown option 'hiddn'", "'hidden'");
  assert.ok(!existsSync(out), `${out} was made`);
});
