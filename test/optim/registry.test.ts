/** The optimizer registry: names, frozen records, defaults, and errors for bad names and values. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { UsageError } from '../../src/errors.js';
import { createFlatOps, type FlatOps } from '../../src/kernels/index.js';
import type { ParamVector } from '../../src/engine/param-vector.js';
import {
  OPTIMIZERS,
  createOptimizer,
  optimizerNames,
  type OptimizerOptions,
} from '../../src/optim/index.js';
import { useTfCpu, vectorOf } from './helpers.js';

let ops: FlatOps;
let pv: ParamVector;
before(async () => {
  await useTfCpu();
  ops = createFlatOps('js');
  pv = vectorOf(ops, { w: { shape: [3], values: [1, 2, 3] } }).pv;
});
after(() => {
  pv.dispose();
  ops.dispose();
});

/** A UsageError with `code` whose message contains every word. */
function usage(code: string, ...words: string[]) {
  return (e: unknown) => {
    assert.ok(e instanceof UsageError, `not a UsageError: ${String(e)}`);
    assert.equal(e.code, code);
    for (const w of words) assert.ok(e.message.includes(w), `'${w}' not in: ${e.message}`);
    return true;
  };
}

test('records are frozen and say whether the optimizer has betas', () => {
  for (const record of OPTIMIZERS.values()) {
    assert.ok(Object.isFrozen(record) && Object.isFrozen(record.defaults), record.name);
    assert.equal(record.hasBetas, 'beta1' in record.defaults, record.name);
    assert.equal(record.hasMomentum, 'momentum' in record.defaults, record.name);
  }
  assert.equal(optimizerNames().length, 2 * OPTIMIZERS.size);
});

test('defaults: PyTorch values, timm naming (sgd is Nesterov)', () => {
  const adamw = createOptimizer('adamw', pv, ops);
  assert.deepEqual(
    { ...adamw.hyper },
    { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-2 },
  );
  assert.equal(adamw.momentumKey, 'beta1');
  const sgd = createOptimizer('sgd', pv, ops);
  assert.equal(sgd.hyper.nesterov, true);
  assert.equal(sgd.hyper.momentum, 0.9);
  assert.equal(createOptimizer('momentum', pv, ops).hyper.nesterov, false);
  for (const opt of [adamw, sgd]) opt.dispose();
});

test('names are case-insensitive; a spec object and overrides, overrides last', () => {
  const opt = createOptimizer({ name: 'Lookahead_AdamW', lr: 0.01, beta2: 0.99 }, pv, ops, {
    lr: 0.02,
  });
  assert.equal(opt.name, 'lookahead_adamw');
  assert.equal(opt.hyper.lr, 0.02);
  assert.equal(opt.hyper.beta2, 0.99);
  opt.dispose();
});

test('an unknown name lists the registered ones', () => {
  for (const name of ['adamx', 'lookahead_', 'lookahead_lookahead_adamw', 'lookahead']) {
    assert.throws(
      () => createOptimizer(name, pv, ops),
      usage('ANNEAL_UNKNOWN_OPTIMIZER', `'${name}'`, 'adamw', 'sgdw', 'lookahead_<name>'),
    );
  }
});

test('values out of range name the field, the value and the range', () => {
  const cases: [string, OptimizerOptions, string[]][] = [
    ['adamw', { lr: -0.1 }, ['lr is -0.1', '>= 0']],
    ['adamw', { lr: NaN }, ['lr is NaN']],
    ['adam', { beta1: 1 }, ['beta1 is 1', '[0, 1)']],
    ['adam', { beta2: -0.1 }, ['beta2 is -0.1', '[0, 1)']],
    ['adamw', { eps: 0 }, ['eps is 0', '> 0']],
    ['adamw', { weightDecay: -1 }, ['weightDecay is -1']],
    ['momentum', { momentum: -0.5 }, ['momentum is -0.5', '>= 0']],
    ['momentum', { dampening: 2 }, ['dampening is 2', '[0, 1]']],
    ['sgd', { dampening: 0.1 }, ['dampening is 0.1', 'nesterov']],
    ['sgd', { momentum: 0 }, ['nesterov', 'momentum 0', 'momentum > 0']],
    // Entropy-SGD's outer step and Replicated-SGD's replicas take the same SGD step: same checks.
    ['entropy_sgd', { dampening: 0.1 }, ['dampening is 0.1', 'nesterov']],
    ['replicated_sgd', { nesterov: true, dampening: 0.5 }, ['dampening is 0.5', 'nesterov']],
    ['replicated_sgd', { momentum: -1 }, ['momentum is -1', '>= 0']],
    ['lookahead_adamw', { lookaheadK: 0 }, ['lookaheadK is 0', 'integer >= 1']],
    ['lookahead_sgd', { lookaheadAlpha: 1.5 }, ['lookaheadAlpha is 1.5', '[0, 1]']],
    ['sgd', { beta1: 0.9 }, ["'beta1'", 'lr, momentum']],
    ['adamw', { lookaheadK: 5 }, ["'lookaheadK'", 'not an option of adamw']],
    ['adamw', { amsgrad: 1 as unknown as boolean }, ['amsgrad is 1', 'true or false']],
  ];
  for (const [name, options, words] of cases) {
    assert.throws(
      () => createOptimizer(name, pv, ops, options),
      usage('ANNEAL_BAD_OPTIMIZER_OPTION', name, ...words),
      `${name} ${JSON.stringify(options)}`,
    );
  }
});

test('the kernels must be the ParamVector own', () => {
  const other = createFlatOps('js');
  assert.throws(
    () => createOptimizer('adamw', pv, other),
    usage('ANNEAL_BAD_OPTIMIZER_OPTION', 'pv.ops'),
  );
  other.dispose();
});
