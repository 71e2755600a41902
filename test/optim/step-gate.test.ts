/**
 * Optimizers behind a step gate: steps whose gradient holds a NaN are skipped by the kernels, and
 * the run ends where a run that never called step() on those batches ends (the reference),
 * whether the host settles the skips at once, late, or only at stateDict().
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { StepGate } from '../../src/engine/step-gate.js';
import { createOptimizer } from '../../src/optim/index.js';
import {
  KERNEL_BACKENDS,
  assertClose,
  params,
  setGradient,
  useTfCpu,
  vectorOf,
} from './helpers.js';

before(useTfCpu);

/** Six gradients of 6 elements; those of steps 0 and 3 hold a NaN (so the first step is skipped). */
const GRADS = [0, 1, 2, 3, 4, 5].map((t) =>
  Array.from({ length: 6 }, (_, i) => (t % 3 === 0 && i === t % 6 ? NaN : Math.sin(7 * t + i))),
);
const BAD = new Set([0, 3]);

const OPTIMIZERS = [
  { name: 'adamw', opts: { lr: 0.05, weightDecay: 0.01 } },
  { name: 'adam', opts: { lr: 0.05, weightDecay: 0.01, amsgrad: true } },
  // Dampening makes the first step's buffer (d) differ from any later one's.
  { name: 'momentum', opts: { lr: 0.05, momentum: 0.9, dampening: 0.5 } },
  { name: 'nesterov', opts: { lr: 0.05, weightDecay: 0.01 } },
] as const;

function weights() {
  return {
    'a/kernel': { shape: [2, 2], values: [0.5, -1, 2, 0.25] },
    'a/bias': { shape: [2], values: [0.1, -0.2] },
  };
}

for (const backend of KERNEL_BACKENDS) {
  describe(`optimizers behind a step gate on ${backend.name}`, { skip: backend.skip }, () => {
    const ops = backend.create();
    after(() => ops.dispose());

    for (const { name, opts } of OPTIMIZERS) {
      /** settleAt: the steps after which the host settles (none: only stateDict does). */
      for (const settleAt of [[0, 3], [4], []]) {
        test(`${name}: skipped steps as if never taken (settled after ${settleAt.join(', ') || 'stateDict'})`, () => {
          const ref = vectorOf(ops, weights());
          const refOpt = createOptimizer(name, ref.pv, ops, opts);
          const gated = vectorOf(ops, weights());
          const opt = createOptimizer(name, gated.pv, ops, opts);
          const gate = new StepGate(ops);
          const loss = tf.scalar(1);
          assert.equal(opt.attachGate!(gate), true);
          GRADS.forEach((g, t) => {
            if (!BAD.has(t)) {
              setGradient(ref.pv, g);
              refOpt.step(ref.pv);
            }
            setGradient(gated.pv, g);
            gate.check(gated.pv.grads, loss, t);
            opt.step(gated.pv);
            if (settleAt.includes(t)) opt.settleGate!();
          });
          const state = opt.stateDict();
          assert.equal(state.step, 4, 'stateDict counts the steps taken');
          assert.equal(opt.stepCount, refOpt.stepCount);
          assertClose(params(gated.pv), params(ref.pv), 1e-6);
          const refState = refOpt.stateDict();
          assert.deepEqual(Object.keys(state.buffers), Object.keys(refState.buffers));
          for (const key of Object.keys(state.buffers)) {
            assertClose([...state.buffers[key]], [...refState.buffers[key]], 1e-6);
          }
          assert.deepEqual([gate.read().hits, gate.read().skipped], [2, 2]);
          for (const o of [opt, refOpt]) o.dispose();
          for (const { pv, variables } of [ref, gated]) {
            pv.dispose();
            tf.dispose(variables);
          }
          gate.dispose();
          loss.dispose();
        });
      }
    }

    test('optimizers whose step is more than one fused call take no gate', () => {
      const { pv, variables } = vectorOf(ops, weights());
      const gate = new StepGate(ops);
      for (const name of ['lookahead_adamw', 'entropy_sgd']) {
        const opt = createOptimizer(name, pv, ops);
        assert.equal(opt.attachGate?.(gate) ?? false, false, name);
        opt.dispose();
      }
      gate.dispose();
      pv.dispose();
      tf.dispose(variables);
    });
  });
}
