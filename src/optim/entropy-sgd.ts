/**
 * Entropy-SGD (Chaudhari, Choromanska, Soatto, LeCun, Baldassi, Borgs, Chayes, Sagun & Zecchina
 * 2017) on flat vectors. The outer weights x descend the local entropy; its gradient
 * gamma (x - mu) comes from an inner loop of L Langevin steps on x' (FlatOps.langevinStep):
 *   x' -= eta (g(x') + gamma (x' - x)) + sqrt(eta) noise N(0, 1);  mu = (1 - alpha) mu + alpha x'
 * Each Trainer step is one inner step, on its own mini-batch, so the model's weights are x'
 * (the gradient is taken there); every L-th step the outer step runs as the kernels' SGD step
 * (momentum, Nesterov and L2 weight decay on x) on x - mu, and x' and mu restart at x. The outer
 * gradient is x - mu as in the authors' code (ucla-vision/entropy-sgd, python/optim.py), not the
 * paper's Algorithm 1, which scales it by gamma: with gamma 0.03 that step is 3% of the code's at
 * the same lr, and at lr 1 a 2-epoch Fashion-MNIST MLP stalled at 70% where SGD reached 88%.
 * Scoping: gamma = gamma0 (1 + scoping)^(outer steps taken). lr (the outer step size) is what
 * lr schedules multiply. The Langevin noise is a pure function of (langevinSeed, step), so a
 * resumed run draws the same numbers.
 */
import type { ParamVector } from '../engine/param-vector.js';
import type { FlatOps, FlatVector } from '../kernels/index.js';
import { FlatOptimizer } from './base.js';
import type { SgdParams } from './types.js';
import { checkRange, checkSgdHyper } from './validate.js';

/** The outer step's SGD hyper-parameters, and the inner Langevin loop's. */
export interface EntropySgdParams extends SgdParams {
  /** Inner Langevin steps L per outer step. */
  langevinSteps: number;
  /** Coupling (scope) gamma at the first outer step. */
  gamma: number;
  /** gamma grows by (1 + scoping) per outer step. */
  scoping: number;
  /** Inner step size eta. */
  langevinLr: number;
  /** Thermal noise scale. */
  noise: number;
  /** Running-mean weight of mu. */
  langevinAlpha: number;
  langevinSeed: number;
}

export class EntropySgd extends FlatOptimizer<EntropySgdParams> {
  readonly momentumKey = 'momentum';

  constructor(name: string, ops: FlatOps, length: number, hyper: EntropySgdParams) {
    super(name, ops, length, hyper);
    this.validate();
  }

  protected validate(): void {
    const h = this.hyper;
    checkSgdHyper(this.name, h);
    for (const field of ['gamma', 'scoping', 'langevinLr', 'noise', 'langevinSeed'] as const) {
      checkRange(this.name, field, h[field], 'nonNegative');
    }
    checkRange(this.name, 'langevinAlpha', h.langevinAlpha, 'unitClosed');
    checkRange(this.name, 'langevinSteps', h.langevinSteps, 'positiveInteger');
  }

  protected bufferNames() {
    const all = ['x', 'mu', 'momentum'].map((b) => this.key(b));
    return { allowed: all, required: [] };
  }

  /** gamma at the current outer step. */
  get currentGamma(): number {
    const h = this.hyper;
    return h.gamma * Math.pow(1 + h.scoping, Math.floor(this.steps / h.langevinSteps));
  }

  /**
   * Mid-cycle the model holds the Langevin iterate x'; the run's weights are the outer x, kept in
   * a buffer since the cycle began. At a cycle's end (after the outer step) they are pv.params.
   */
  evaluationWeights(): FlatVector | null {
    if (this.steps % this.hyper.langevinSteps === 0) return null;
    return this.buffers.get(this.key('x')) ?? null;
  }

  protected update(pv: ParamVector): void {
    const h = this.hyper;
    const ops = this.ops;
    const inner = this.steps % h.langevinSteps;
    const x = this.buffer(this.key('x'));
    const mu = this.buffer(this.key('mu'));
    if (inner === 0) {
      ops.copy(x, pv.params);
      ops.copy(mu, pv.params);
    }
    const gamma = this.currentGamma;
    ops.langevinStep(pv.params, pv.grads, x, mu, {
      eta: h.langevinLr,
      gamma,
      noise: h.noise,
      alpha: h.langevinAlpha,
      seed: h.langevinSeed,
      stream: this.steps % 2 ** 32,
    });
    if (pv.mask) ops.applyMask(pv.params, pv.mask);
    if (inner !== h.langevinSteps - 1) return;
    // Outer step on x - mu (the authors' code; the local-entropy gradient over gamma), written
    // into pv.grads (spent).
    ops.copy(pv.grads, x);
    ops.axpy(pv.grads, -1, mu);
    const outerStep = Math.floor(this.steps / h.langevinSteps) + 1;
    this.sgdStep(x, pv, 'momentum', h, { decoupled: false, step: outerStep });
    ops.copy(pv.params, x);
  }
}
