/**
 * Optimizer trajectories against arithmetic written out here (PyTorch's update rules worked by
 * hand), the weight-decay and pruning masks, Lookahead's sync, state dicts, on js and wasm.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AnnealError } from '../../src/errors.js';
import type { FlatOps } from '../../src/kernels/index.js';
import { createOptimizer, type Optimizer } from '../../src/optim/index.js';
import {
  KERNEL_BACKENDS,
  assertClose,
  params,
  setGradient,
  useTfCpu,
  vectorOf,
} from './helpers.js';

before(useTfCpu);

/** Steps `opt` with the given gradients, returning the parameters after each step. */
function trajectory(
  opt: Optimizer,
  pv: Parameters<Optimizer['step']>[0],
  grads: (p: number[]) => number[],
  steps: number,
): number[][] {
  const out: number[][] = [];
  for (let t = 0; t < steps; t++) {
    setGradient(pv, grads(params(pv)));
    opt.step(pv);
    out.push(params(pv));
  }
  return out;
}

/** One plain weight of `values` (kind 'other': decayed fully by default). */
function single(ops: FlatOps, values: number[]) {
  return vectorOf(ops, { w: { shape: [values.length], values } }).pv;
}

for (const backend of KERNEL_BACKENDS) {
  describe(`optimizers on ${backend.name} kernels`, { skip: backend.skip }, () => {
    let ops: FlatOps;
    before(() => {
      ops = backend.create();
    });
    after(() => ops.dispose());

    test('AdamW with a constant gradient: p <- p (1 - lr wd) - lr g / (|g| + eps)', () => {
      // With g constant, m_t = (1 - b1^t) g and v_t = (1 - b2^t) g^2, so the bias-corrected
      // moments are exactly g and g^2 at every step.
      const pv = single(ops, [1, -2]);
      const lr = 0.1;
      const wd = 0.5;
      const eps = 1e-8;
      const opt = createOptimizer('adamw', pv, ops, { lr, weightDecay: wd, eps });
      const g = [0.5, -4];
      const got = trajectory(opt, pv, () => g, 3);
      let expected = [1, -2];
      for (let t = 0; t < 3; t++) {
        expected = expected.map((p, i) => p * (1 - lr * wd) - (lr * g[i]) / (Math.abs(g[i]) + eps));
        assertClose(got[t], expected);
      }
      opt.dispose();
      pv.dispose();
    });

    test('Adam with L2 (coupled) decay: two steps worked out', () => {
      const pv = single(ops, [1]);
      const opt = createOptimizer('adam', pv, ops, { lr: 0.1, weightDecay: 0.1, eps: 1e-8 });
      const got = trajectory(opt, pv, () => [0.5], 2);
      // step 1: g = 0.5 + 0.1*1 = 0.6; m = 0.06, v = 0.001*0.36; corrected: 0.6 and 0.36
      const p1 = 1 - (0.1 * 0.6) / (0.6 + 1e-8);
      // step 2: g = 0.5 + 0.1*p1; m = 0.9*0.06 + 0.1 g; v = 0.999*3.6e-4 + 0.001 g^2
      const g2 = 0.5 + 0.1 * p1;
      const m2 = 0.9 * 0.06 + 0.1 * g2;
      const v2 = 0.999 * 3.6e-4 + 0.001 * g2 * g2;
      const p2 = p1 - (0.1 * (m2 / 0.19)) / (Math.sqrt(v2 / (1 - 0.999 ** 2)) + 1e-8);
      assertClose(got[0], [p1]);
      assertClose(got[1], [p2]);
      assert.ok(Math.abs(p2 - 0.800047) < 1e-5, `p2 ${p2} by hand is ~0.800047`);
      opt.dispose();
      pv.dispose();
    });

    test('AMSGrad normalises by the running maximum of v', () => {
      const h = { lr: 0.1, beta1: 0.5, beta2: 0.5, eps: 1e-8, weightDecay: 0 };
      const grads = [[1], [0.1]];
      const run = (name: string) => {
        const pv = single(ops, [0]);
        const opt = createOptimizer(name, pv, ops, h);
        const got = trajectory(opt, pv, (_p) => grads[opt.stepCount], 2);
        opt.dispose();
        pv.dispose();
        return got;
      };
      // step 1: m = 0.5, v = vMax = 0.5, corrections 0.5 and 0.5: update 0.1 * 1 / (1 + eps)
      const p1 = -0.1 / (1 + 1e-8);
      // step 2: m = 0.3, v = 0.255, vMax = 0.5, corrections 0.75 and 0.75
      const amsgrad2 = p1 - (0.1 * (0.3 / 0.75)) / (Math.sqrt(0.5 / 0.75) + 1e-8);
      const adam2 = p1 - (0.1 * (0.3 / 0.75)) / (Math.sqrt(0.255 / 0.75) + 1e-8);
      for (const name of ['amsgrad', 'adamw_amsgrad']) {
        const got = run(name);
        assertClose(got[0], [p1]);
        assertClose(got[1], [amsgrad2]);
      }
      assertClose(run('adam')[1], [adam2]);
    });

    test('SGD momentum with dampening: buf = g, then m buf + (1 - dampening) g', () => {
      const pv = single(ops, [1]);
      const opt = createOptimizer('momentum', pv, ops, { lr: 0.1, momentum: 0.9, dampening: 0.5 });
      const got = trajectory(opt, pv, () => [1], 3);
      // buf: 1, 0.9 + 0.5 = 1.4, 1.26 + 0.5 = 1.76
      assertClose(
        got.map((p) => p[0]),
        [1 - 0.1, 1 - 0.1 - 0.14, 1 - 0.1 - 0.14 - 0.176],
      );
      opt.dispose();
      pv.dispose();
    });

    test('momentum switched on mid-run starts its buffer at d, as PyTorch', () => {
      const pv = single(ops, [1]);
      const opt = createOptimizer('momentum', pv, ops, { lr: 0.1, momentum: 0 });
      const got = trajectory(opt, pv, () => [1], 1);
      assert.deepEqual(Object.keys(opt.stateDict().buffers), [], 'no buffer while momentum is 0');
      opt.hyper.momentum = 0.9;
      opt.hyper.dampening = 0.5;
      got.push(...trajectory(opt, pv, () => [1], 2));
      // buf = 1 (not (1 - dampening) * 1), then 0.9 + 0.5 = 1.4
      assertClose(
        got.map((p) => p[0]),
        [0.9, 0.8, 0.8 - 0.14],
      );
      opt.dispose();
      pv.dispose();
    });

    test('SGD Nesterov: d = g + m buf', () => {
      const pv = single(ops, [1]);
      const opt = createOptimizer('nesterov', pv, ops, { lr: 0.1, momentum: 0.9 });
      const got = trajectory(opt, pv, () => [1], 2);
      // buf 1, d = 1 + 0.9 = 1.9; then buf 1.9, d = 1 + 0.9*1.9 = 2.71
      assertClose(
        got.map((p) => p[0]),
        [1 - 0.19, 1 - 0.19 - 0.271],
      );
      opt.dispose();
      pv.dispose();
    });

    test('coupled (sgd) vs decoupled (sgdw) weight decay with a zero gradient', () => {
      const run = (name: string) => {
        const pv = single(ops, [2]);
        const opt = createOptimizer(name, pv, ops, {
          lr: 0.1,
          momentum: 0.9,
          weightDecay: 0.1,
          nesterov: false,
        });
        const got = trajectory(opt, pv, () => [0], 2).map((p) => p[0]);
        opt.dispose();
        pv.dispose();
        return got;
      };
      // coupled: d = 0.1*2 = 0.2 = buf, p = 1.98; d = 0.198, buf = 0.18 + 0.198 = 0.378
      assertClose(run('sgd'), [1.98, 1.98 - 0.1 * 0.378]);
      // decoupled: p *= 1 - 0.01 each step, and the momentum of a zero gradient stays 0
      assertClose(run('sgdw'), [1.98, 1.98 * 0.99]);
    });

    test('Lookahead: slow weights start at the first step and sync every k steps', () => {
      const pv = single(ops, [1]);
      const opt = createOptimizer('lookahead_momentum', pv, ops, {
        lr: 0.1,
        momentum: 0,
        lookaheadK: 2,
        lookaheadAlpha: 0.5,
      });
      const got = trajectory(opt, pv, () => [1], 5).map((p) => p[0]);
      // fast: 0.9, 0.8 -> slow = 1 + 0.5 (0.8 - 1) = 0.9 = fast; 0.8, 0.7 -> slow 0.8; 0.7
      assertClose(got, [0.9, 0.9, 0.8, 0.8, 0.7]);
      opt.dispose();
      pv.dispose();
    });

    test('hyper-parameters written between steps take effect (schedules)', () => {
      const pv = single(ops, [1]);
      const opt = createOptimizer('momentum', pv, ops, { lr: 0.1, momentum: 0 });
      setGradient(pv, [1]);
      opt.step(pv);
      opt.hyper.lr = 0.5;
      opt.step(pv);
      opt.hyper.lr = 0;
      opt.step(pv);
      assertClose(params(pv), [1 - 0.1 - 0.5]);
      assert.equal(opt.momentumKey, 'momentum');
      opt.hyper.lr = -1;
      assert.throws(() => opt.step(pv), /lr is -1, expected a finite number >= 0/);
      opt.dispose();
      pv.dispose();
    });

    test('the default decay mask leaves a bias with zero gradient exactly constant under AdamW', () => {
      const { pv } = vectorOf(ops, {
        'dense/kernel': { shape: [2, 2], values: [1, -1, 2, -2] },
        'dense/bias': { shape: [2], values: [0.3, -0.7] },
      });
      assert.deepEqual(
        pv.segments.map((s) => s.kind),
        ['kernel', 'bias'],
      );
      const opt = createOptimizer('adamw', pv, ops, { lr: 0.1, weightDecay: 0.5 });
      const bias0 = params(pv).slice(4);
      trajectory(opt, pv, () => [0, 0, 0, 0, 0, 0], 5);
      const after5 = params(pv);
      assert.deepEqual(after5.slice(4), bias0, 'bias untouched, bit for bit');
      // Kernel: a zero gradient gives m = v = 0, so only the decay p *= 1 - 0.05 acts.
      assertClose(
        after5.slice(0, 4),
        [1, -1, 2, -2].map((p) => p * 0.95 ** 5),
      );
      // A rule overrides the kind: decay the bias too.
      pv.decayMask({ rules: [{ pattern: /bias/, decay: true }] });
      assert.equal(pv.decay, null, 'every weight decays fully: no mask needed');
      trajectory(opt, pv, () => [0, 0, 0, 0, 0, 0], 1);
      assertClose(
        params(pv).slice(4),
        bias0.map((p) => p * 0.95),
      );
      opt.dispose();
      pv.dispose();
    });

    test('pruned weights stay exactly zero over steps (every optimizer family)', () => {
      for (const name of ['adamw', 'sgd', 'sgdw', 'amsgrad', 'lookahead_adamw']) {
        const pv = single(ops, [1, -2, 3, -4]);
        const opt = createOptimizer(name, pv, ops, { lr: 0.05, weightDecay: 0.1 });
        const grad = (p: number[]) => p.map((x, i) => x - i); // pulls towards [0, 1, 2, 3]
        // A step before the mask, so Lookahead's slow weights hold the unpruned values.
        trajectory(opt, pv, grad, 1);
        pv.setMask(Float32Array.from([1, 0, 1, 0]));
        const masked = params(pv);
        assert.ok(masked[1] === 0 && masked[3] === 0, `${name}: setMask zeroes at once`);
        const got = trajectory(opt, pv, grad, 13);
        for (const p of got) assert.ok(p[1] === 0 && p[3] === 0, `${name}: [${p}]`);
        assert.notEqual(got[12][0], masked[0], `${name}: kept weights still train`);
        opt.dispose();
        pv.dispose();
      }
    });

    test('a state dict round trip continues identically', () => {
      for (const name of ['adamw', 'amsgrad', 'sgd', 'momentum', 'lookahead_adamw']) {
        const grad = (p: number[]) => p.map((x, i) => 2 * x - i + 0.25);
        const a = single(ops, [0.5, -1, 2]);
        // k = 3: syncs at steps 6 and 9 fall after the reload.
        const overrides = name.startsWith('lookahead') ? { lr: 0.03, lookaheadK: 3 } : { lr: 0.03 };
        const optA = createOptimizer(name, a, ops, overrides);
        trajectory(optA, a, grad, 4);
        const state = optA.stateDict();
        assert.equal(state.name, name);
        assert.equal(state.step, 4);
        const b = single(ops, params(a));
        const optB = createOptimizer(name, b, ops);
        optB.loadStateDict(structuredClone(state));
        assert.equal(optB.stepCount, 4);
        assert.equal(optB.hyper.lr, 0.03, 'hyper-parameters restored');
        const gotA = trajectory(optA, a, grad, 5);
        const gotB = trajectory(optB, b, grad, 5);
        assert.deepEqual(gotB, gotA, `${name}: identical after loading`);
        for (const opt of [optA, optB]) opt.dispose();
        for (const pv of [a, b]) pv.dispose();
      }
    });

    test('a state dict of another optimizer or length is refused, naming both', () => {
      const pv = single(ops, [1, 2]);
      const other = single(ops, [1, 2, 3]);
      const adamw = createOptimizer('adamw', pv, ops);
      const sgd = createOptimizer('sgd', pv, ops);
      const longer = createOptimizer('adamw', other, ops);
      const refused = (e: unknown, ...words: string[]) =>
        e instanceof AnnealError &&
        e.code === 'ANNEAL_OPTIMIZER_STATE_MISMATCH' &&
        words.every((w) => e.message.includes(w));
      assert.throws(
        () => adamw.loadStateDict(sgd.stateDict()),
        (e) => refused(e, "'sgd'", "'adamw'"),
      );
      assert.throws(
        () => adamw.loadStateDict(longer.stateDict()),
        (e) => refused(e, '3 parameters', '2 parameters'),
      );
      const bad = adamw.stateDict();
      delete bad.buffers['adamw/v'];
      assert.throws(
        () => adamw.loadStateDict(bad),
        (e) => refused(e, 'adamw/v'),
      );
      assert.throws(() => adamw.step(other), /2 parameters/);
      for (const x of [adamw, sgd, longer, pv, other]) x.dispose();
    });
  });
}
