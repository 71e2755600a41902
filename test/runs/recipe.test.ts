/**
 * Recipes: JSON and YAML documents checked by the schema, defaults filled in, one-line errors
 * that name the field path and what was expected, strict keys, and what a recipe builds.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { EarlyStopping, NanGuard } from '../../src/methods/index.js';
import {
  loadRecipe,
  parseRecipe,
  readRecipeFile,
  recipeMethods,
  recipeTrainerOptions,
  type Recipe,
} from '../../src/runs/recipe.js';

const dir = mkdtempSync(join(tmpdir(), 'anneal-recipe-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** Asserts a UsageError 'ANNEAL_BAD_RECIPE' whose message is exactly `message`, on one line. */
function rejects(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: Error & { code?: string }) => {
    assert.equal(e.code, 'ANNEAL_BAD_RECIPE');
    assert.equal(e.message, message);
    assert.ok(!e.message.includes('\n'));
    return true;
  });
}

const FULL: Recipe = {
  description: 'a small MLP',
  data: { name: 'mnist', limit: 2000, testLimit: 500 },
  model: { name: 'mlp', options: { hidden: [64] } },
  optimizer: { name: 'adamw', lr: 0.003, weightDecay: 0.05 },
  schedules: { lr: { name: 'cosine', warmup: '1ep' }, weightDecay: { name: 'constant' } },
  methods: {
    nanGuard: { policy: 'skip' },
    earlyStopping: { monitor: 'eval/accuracy', patience: 2 },
    use: [],
  },
  duration: '3ep',
  batchSize: 128,
  seed: 7,
  kernels: 'js',
  backend: 'cpu',
  evalInterval: '1ep',
  checkpointInterval: '100ba',
  keepCheckpoints: 2,
  logEvery: 10,
};

test('the same recipe in JSON and YAML (with name shorthands) parses to the same value', () => {
  const json = file('full.json', JSON.stringify(FULL));
  const yaml = file(
    'full.yaml',
    [
      'description: a small MLP',
      'data: { name: mnist, limit: 2000, testLimit: 500 }',
      'model:',
      '  name: mlp',
      '  options: { hidden: [64] }',
      'optimizer: { name: adamw, lr: 3.0e-3, weightDecay: 0.05 }',
      'schedules:',
      '  lr: { name: cosine, warmup: 1ep }',
      '  weightDecay: constant',
      'methods:',
      '  nanGuard: { policy: skip }',
      '  earlyStopping: { monitor: eval/accuracy, patience: 2 }',
      'duration: 3ep',
      'batchSize: 128',
      'seed: 7',
      'kernels: js',
      'backend: cpu',
      'checkpointInterval: 100ba',
      'keepCheckpoints: 2',
      'logEvery: 10',
      '',
    ].join('\n'),
  );
  assert.deepEqual(loadRecipe(json), FULL);
  assert.deepEqual(loadRecipe(yaml), FULL);
});

test('an empty recipe gets the documented defaults', () => {
  assert.deepEqual(parseRecipe({}, { source: 'recipe r.json' }), {
    data: { name: 'mnist' },
    model: { name: 'cnn' },
    optimizer: { name: 'adamw' },
    schedules: {},
    methods: { nanGuard: { policy: 'stop' }, use: [] },
    duration: '1ep',
    batchSize: 64,
    seed: 0,
    backend: 'auto',
    evalInterval: '1ep',
    checkpointInterval: '1ep',
    keepCheckpoints: 3,
    logEvery: 50,
  });
  // A section without its name gets the default one.
  const partial = parseRecipe({ data: { limit: 64 }, optimizer: { lr: 0.01 } }, { source: 'r' });
  assert.deepEqual(partial.data, { name: 'mnist', limit: 64 });
  assert.deepEqual(partial.optimizer, { name: 'adamw', lr: 0.01 });
});

test('a wrong type names the field path and the expected type, on one line', () => {
  const bad = file('bad.json', '{ "optimizer": { "name": "adamw", "lr": "0.1" } }');
  rejects(() => loadRecipe(bad), `recipe ${bad}: optimizer.lr: expected number, received string`);
  const source = { source: 'recipe r.yaml' };
  rejects(
    () => parseRecipe({ batchSize: 1.5 }, source),
    'recipe r.yaml: batchSize: expected an integer, received 1.5',
  );
  rejects(
    () => parseRecipe({ methods: { nanGuard: { policy: 'ignore' } } }, source),
    'recipe r.yaml: methods.nanGuard.policy: expected one of "skip", "stop", "off", received "ignore"',
  );
  rejects(
    () => parseRecipe({ duration: '300' }, source),
    "recipe r.yaml: duration: expected a positive duration such as '2ep', '500ba' or '12000sp', received \"300\"",
  );
  rejects(
    () => parseRecipe({ duration: '0.5dur' }, source),
    "recipe r.yaml: duration: expected a positive duration such as '2ep', '500ba' or '12000sp', received \"0.5dur\"",
  );
  rejects(
    () => parseRecipe({ seed: -1, data: { name: 'mnist', limit: 0 } }, source),
    'recipe r.yaml: data.limit: expected number to be >0, received 0; seed: expected number to be >=0, received -1',
  );
  rejects(() => parseRecipe([], source), 'recipe r.yaml: expected object, received array');
});

test('unknown keys are rejected with the key and the keys accepted there', () => {
  const source = { source: 'recipe r.yaml' };
  rejects(
    () => parseRecipe({ optimizer: { name: 'adamw', learningRate: 0.1 } }, source),
    'recipe r.yaml: optimizer: unknown key "learningRate"; expected some of name, lr, weightDecay, ' +
      'beta1, beta2, eps, amsgrad, momentum, dampening, nesterov, lookaheadK, lookaheadAlpha, ' +
      'langevinSteps, gamma, scoping, langevinLr, noise, langevinAlpha, langevinSeed',
  );
  assert.throws(
    () => parseRecipe({ epochs: 3 }, source),
    /^UsageError: recipe r.yaml: unknown key "epochs"; expected some of description, data, model, .*duration/,
  );
  assert.throws(
    () => parseRecipe({ methods: { mixup: {} } }, source),
    /methods: unknown key "mixup"; expected some of nanGuard, earlyStopping, use$/,
  );
  // Names are checked against the registries, whose messages list what exists.
  assert.throws(
    () => parseRecipe({ optimizer: 'adamx' }, source),
    /optimizer.name: .*'adamx'.*adamw/,
  );
});

test('unreadable files and bad syntax are one-line errors naming the file', () => {
  assert.throws(
    () => readRecipeFile(file('r.toml', 'a = 1')),
    /r.toml: expected a .json, .yaml or .yml file/,
  );
  assert.throws(
    () => readRecipeFile(join(dir, 'missing.yaml')),
    /missing.yaml cannot be read \(ENOENT\)/,
  );
  const yaml = file('broken.yaml', 'optimizer: { name: adamw\nlr: [\n');
  assert.throws(
    () => readRecipeFile(yaml),
    (e: Error) => /broken.yaml is not valid YAML: /.test(e.message) && !e.message.includes('\n'),
  );
  assert.throws(
    () => readRecipeFile(file('broken.json', '{ "a": ')),
    /broken.json is not valid JSON: /,
  );
});

test('a recipe builds the methods and Trainer options it names', () => {
  const methods = recipeMethods(FULL);
  assert.deepEqual(
    methods.map((m) => m.constructor),
    [NanGuard, EarlyStopping],
  );
  assert.equal((methods[0] as NanGuard).policy, 'skip');
  assert.deepEqual(
    recipeMethods({ ...FULL, methods: { nanGuard: { policy: 'off' }, use: [] } }),
    [],
  );
  // methods.use: registry names or { name, ...options }, first in the order given.
  const used = recipeMethods(
    parseRecipe(
      { methods: { use: [{ name: 'early-stopping', patience: 4 }], nanGuard: { policy: 'off' } } },
      { source: 'recipe r.yaml' },
    ),
  );
  assert.deepEqual(
    used.map((m) => m.name),
    ['early-stopping'],
  );
  assert.equal((used[0] as EarlyStopping).rule.patience, 4);
  assert.throws(
    () =>
      recipeMethods(
        parseRecipe({ methods: { use: ['label-smoothin'] } }, { source: 'recipe r.yaml' }),
      ),
    /unknown method 'label-smoothin': expected one of .*early-stopping/,
  );
  const inputs = { train: {}, test: {}, model: {} } as never;
  const options = recipeTrainerOptions(FULL, inputs);
  assert.equal(options.maxDuration, '3ep');
  assert.equal(options.batchSize, 128);
  assert.equal(options.seed, 7);
  assert.equal(options.kernels, 'js');
  assert.deepEqual(options.optimizer, { name: 'adamw', lr: 0.003, weightDecay: 0.05 });
  assert.deepEqual(options.schedules, {
    lr: { name: 'cosine', warmup: '1ep' },
    weightDecay: { name: 'constant' },
    momentum: undefined,
  });
});
