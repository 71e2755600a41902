/**
 * Every registered optimizer (and its lookahead_ form) minimises the Rosenbrock function
 * f(x, y) = (1 - x)^2 + 100 (y - x^2)^2 from (-1.5, 2) to within 1e-2 of its minimum (1, 1) in
 * 3,000 steps, with a learning rate per family. timm's test_optim.py runs its registry on the
 * same function but only asks for progress; here the minimum must be reached.
 * The parameters are one 2-element tf.Variable seen through a ParamVector; the gradient is the
 * analytic one, uploaded into the flat gradient buffer.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { ParamVector } from '../../src/engine/param-vector.js';
import type { FlatOps } from '../../src/kernels/index.js';
import { OPTIMIZERS, createOptimizer, optimizerNames } from '../../src/optim/index.js';
import { KERNEL_BACKENDS, params, setGradient, useTfCpu } from './helpers.js';

before(useTfCpu);

const STEPS = 3000;
const TOLERANCE = 1e-2;

/** Learning rates from a sweep over 1e-4..1e-1; the slowest (lookahead_sgd) needs ~2,230 steps. */
function learningRate(name: string): number {
  const base = name.replace(/^lookahead_/, '');
  if (base === 'momentum' || base === 'momentumw') return 2e-3;
  if (OPTIMIZERS.get(base)?.hasMomentum) return 1e-3; // Nesterov
  return base.includes('amsgrad') ? 0.1 : 0.05;
}

/**
 * Entropy-SGD with one inner step, alpha = 1, gamma = 1 (no scoping) and no noise is Nesterov SGD with
 * lr = langevinLr (outer lr 1); its own updates are worked out in test/flatness/entropy-sgd.test.ts.
 */
function extraOptions(name: string): Record<string, number | boolean> {
  // Two replicas from the same point, never perturbed, take the same steps: each is Nesterov SGD
  // taking every other step; its own updates are worked out in test/flatness/entropy-sgd.test.ts.
  if (name.replace(/^lookahead_/, '') === 'replicated_sgd') {
    return { replicas: 2, initSigma: 0, gamma: 1, scoping: 0, nesterov: true, lr: 1e-3 };
  }
  if (name.replace(/^lookahead_/, '') !== 'entropy_sgd') return {};
  return {
    lr: 1,
    gamma: 1,
    scoping: 0,
    langevinSteps: 1,
    langevinLr: 1e-3,
    langevinAlpha: 1,
    noise: 0,
    momentum: 0.9,
    nesterov: true,
  };
}

function rosenbrockGradient([x, y]: number[]): number[] {
  return [-400 * x * (y - x * x) - 2 * (1 - x), 200 * (y - x * x)];
}

test('the registry covers the names the Trainer issue asks for', () => {
  for (const name of ['sgd', 'sgdw', 'nesterov', 'adam', 'adamw', 'amsgrad', 'lookahead_adamw']) {
    assert.ok(optimizerNames().includes(name), name);
  }
});

for (const backend of KERNEL_BACKENDS) {
  describe(`Rosenbrock on ${backend.name} kernels`, { skip: backend.skip }, () => {
    let ops: FlatOps;
    before(() => {
      ops = backend.create();
    });
    after(() => ops.dispose());

    for (const name of optimizerNames()) {
      test(name, () => {
        const variable = tf.variable(tf.tensor1d([-1.5, 2]), true);
        const pv = ParamVector.fromVariables([variable], ops);
        const opt = createOptimizer(name, pv, ops, {
          lr: learningRate(name),
          weightDecay: 0,
          ...extraOptions(name),
        });
        for (let t = 0; t < STEPS; t++) {
          setGradient(pv, rosenbrockGradient(params(pv)));
          opt.step(pv);
        }
        pv.writeBack();
        const [x, y] = variable.dataSync();
        const distance = Math.hypot(x - 1, y - 1);
        assert.ok(distance < TOLERANCE, `${name}: ended at (${x}, ${y}), ${distance} from (1, 1)`);
        opt.dispose();
        pv.dispose();
        variable.dispose();
      });
    }
  });
}
