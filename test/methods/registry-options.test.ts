/**
 * Strict method options: the registry (the path of recipes and --methods) refuses a key its
 * method does not take, naming the method, the key and the keys it takes, on one line; every
 * key an entry lists is taken; a known option still works.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { createMethod, methodNames, METHODS, type Mixup } from '../../src/methods/index.js';
import { checkKnownKeys, closestKey } from '../../src/options.js';
import { useTfCpu } from '../train/helpers.js';

before(useTfCpu);

/** Asserts a one-line 'ANNEAL_BAD_METHOD_OPTION' error whose message contains every fragment. */
function refused(fn: () => unknown, ...fragments: string[]): void {
  assert.throws(fn, (e: Error & { code?: string }) => {
    assert.equal(e.code, 'ANNEAL_BAD_METHOD_OPTION', e.message);
    assert.ok(!e.message.includes('\n'), `not one line: ${e.message}`);
    for (const f of fragments) assert.ok(e.message.includes(f), `'${f}' not in: ${e.message}`);
    return true;
  });
}

test('every registered method refuses an unknown option, naming it and the options it takes', () => {
  assert.ok(methodNames().length >= 20, 'the registry lists the methods');
  for (const name of methodNames()) {
    const real = METHODS[name].keys.filter((k) => k !== 'name');
    assert.ok(real.length > 0, `${name} lists its options`);
    refused(
      () => createMethod(name, { bogusKey: 1 }),
      `${name}: unknown option 'bogusKey'`,
      real[0],
    );
    // Also with the options the entry fills in by default alongside.
    refused(() => createMethod(name, { ...METHODS[name].defaults, bogusKey: 1 }), 'bogusKey');
  }
});

test('every key a registry entry lists is taken (a bad value may fail, never as unknown)', () => {
  // The entries' keys are typed from each factory's options interface (OptionKeys), so tsc
  // refuses a list that misses a documented option or names one the factory does not take;
  // this checks that create() lets each of them through to the factory.
  for (const name of methodNames()) {
    for (const key of METHODS[name].keys) {
      const options = { ...METHODS[name].defaults, [key]: key === 'name' ? name : undefined };
      try {
        createMethod(name, options);
      } catch (e) {
        assert.ok(
          !(e as Error).message.includes('unknown option'),
          `${name} refused its own option '${key}': ${(e as Error).message}`,
        );
      }
    }
  }
});

test('known options still work, with or without the name the recipe carries', () => {
  const m = createMethod('mixup', { alpha: 0.4, perSample: true }) as Mixup;
  assert.equal(m.alpha, 0.4);
  assert.equal(m.perSample, true);
  assert.equal((createMethod('mixup', { name: 'mixup', alpha: 0.3 }) as Mixup).alpha, 0.3);
  assert.equal((createMethod('mixup') as Mixup).alpha, 0.2, 'the registry default');
  refused(() => createMethod('mixup', { name: 'cutmix', alpha: 0.3 }), 'name = "cutmix"');
});

test("the misspelt 'alpah' is one line naming it, the known keys and 'alpha'", () => {
  refused(
    () => createMethod('mixup', { alpah: 0.4 }),
    "mixup: unknown option 'alpah' (= 0.4): expected some of name, alpha, perSample; " +
      "did you mean 'alpha'?",
  );
  refused(
    () => createMethod('swa', { swapAtend: false, bogusKey: 1 }),
    "swa: unknown options 'swapAtend' (= false), 'bogusKey' (= 1): expected some of name, start,",
    "did you mean 'swapAtEnd' for 'swapAtend'?",
  );
});

test('checkKnownKeys: nothing to say for known keys; a guess only for a near miss', () => {
  checkKnownKeys('m', { a: 1 }, ['a', 'b']);
  checkKnownKeys('m', undefined, ['a']);
  assert.equal(closestKey('alpah', ['name', 'alpha', 'perSample']), 'alpha');
  assert.equal(closestKey('persample', ['alpha', 'perSample']), 'perSample');
  assert.equal(closestKey('bogusKey', ['alpha', 'perSample']), undefined);
  assert.throws(
    () => checkKnownKeys("model 'mlp'", { hiddn: [8] }, ['hidden'], 'ANNEAL_BAD_MODEL_OPTION'),
    (e: Error & { code?: string }) =>
      e.code === 'ANNEAL_BAD_MODEL_OPTION' &&
      e.message ===
        "model 'mlp': unknown option 'hiddn' (= [8]): expected some of hidden; did you mean 'hidden'?",
  );
});
