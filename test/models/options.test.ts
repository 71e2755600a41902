/**
 * Strict model options: createModel refuses an option its model does not take, naming the
 * model, the option and the options it takes, on one line; every option it lists is taken; a
 * known option still shapes the model.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { createModel, MODEL_NAMES, modelOptionKeys } from '../../src/models/index.js';

before(async () => {
  assert.ok(await tf.setBackend('cpu'));
});

const BASE = { inputShape: [8, 8, 1] as [number, number, number], numClasses: 3, seed: 0 };

/** Asserts a one-line 'ANNEAL_BAD_MODEL_OPTION' error whose message contains every fragment. */
function refused(fn: () => unknown, ...fragments: string[]): void {
  assert.throws(fn, (e: Error & { code?: string }) => {
    assert.equal(e.code, 'ANNEAL_BAD_MODEL_OPTION', e.message);
    assert.ok(!e.message.includes('\n'), `not one line: ${e.message}`);
    for (const f of fragments) assert.ok(e.message.includes(f), `'${f}' not in: ${e.message}`);
    return true;
  });
}

test('every model refuses an unknown option, naming it and the options it takes', () => {
  assert.deepEqual([...MODEL_NAMES], ['mlp', 'cnn', 'resnet', 'vit']);
  for (const name of MODEL_NAMES) {
    const own = modelOptionKeys(name).filter((k) => !(k in BASE));
    assert.ok(own.length > 0, `${name} lists its own options`);
    refused(
      () => createModel(name, { ...BASE, bogusKey: 1 }),
      `model '${name}': unknown option 'bogusKey'`,
      'inputShape',
      own[0],
    );
  }
});

test('every option a model lists is taken (left undefined: its default)', () => {
  for (const name of MODEL_NAMES) {
    assert.deepEqual(modelOptionKeys(name).slice(0, 3), ['inputShape', 'numClasses', 'seed']);
    for (const key of modelOptionKeys(name)) {
      if (key in BASE) continue;
      createModel(name, { ...BASE, [key]: undefined }).dispose();
    }
  }
});

test('a known option still works', () => {
  const model = createModel('mlp', { ...BASE, hidden: [5] });
  assert.equal(model.countParams(), 64 * 5 + 5 + 5 * 3 + 3);
  model.dispose();
});

test("a misspelt option is one line with a guess: 'hiddn' -> 'hidden'", () => {
  refused(
    () => createModel('mlp', { ...BASE, hiddn: [8] }),
    "model 'mlp': unknown option 'hiddn' (= [8]): expected some of inputShape, numClasses, seed, " +
      "hidden; did you mean 'hidden'?",
  );
  refused(() => createModel('resnet', { ...BASE, blurpool: true }), "did you mean 'blurPool'?");
});
