/**
 * Replicated SGD (Baldassi, Pittorino & Zecchina 2020; Pittorino et al. 2021) as a Trainer
 * optimizer: y replicas x_a coupled to their centre c = mean_a x_a by gamma/2 ||x_a - c||^2.
 * The Trainer's steps go round the replicas: at step t the model holds replica a = t mod y, its
 * gradient (on that step's own mini-batch) plus gamma (x_a - c) takes the kernels' SGD step
 * (momentum, L2 weight decay, a buffer per replica), and the model moves on to the next replica.
 * A round (y steps) uses the centre of the round's start and then gamma *= 1 + scoping, as
 * src/flatness/replicated.ts (replicatedSgd, the API form on an objective) does per step there;
 * so y Trainer steps here are one step of every replica; the coupling is capped at 1 / lr, the
 * current (scheduled) lr (couplingCap below). The replicas start at the model's
 * weights plus initSigma N(0, 1) (seeded). The centre is the solution: the Trainer evaluates it
 * (evaluationWeights) and leaves it in the model at the end of the run.
 */
import type { ParamVector } from '../engine/param-vector.js';
import type { FlatOps, FlatVector } from '../kernels/index.js';
import { FlatOptimizer } from './base.js';
import type { SgdParams } from './types.js';
import { badHyper, checkRange, checkSgdHyper } from './validate.js';

/**
 * The coupling a step uses: the scoped gamma, at most 1 / lr. At lr gamma = 1 the coupling term
 * alone moves a replica onto the centre (x_a - lr gamma (x_a - c) = c), the fully coupled limit;
 * a larger gamma only overshoots it. Shared by the API form and the Trainer optimizer.
 */
export function couplingCap(gamma: number, lr: number): number {
  return lr > 0 ? Math.min(gamma, 1 / lr) : gamma;
}

/** Each replica's SGD hyper-parameters, and the coupling. */
export interface ReplicatedSgdParams extends SgdParams {
  /** Replicas y >= 2. */
  replicas: number;
  /** Coupling at the first round. */
  gamma: number;
  /** gamma grows by (1 + scoping) per round. */
  scoping: number;
  /** Replicas start at the weights plus initSigma N(0, 1). */
  initSigma: number;
  replicaSeed: number;
}

export class ReplicatedSgd extends FlatOptimizer<ReplicatedSgdParams> {
  readonly momentumKey = 'momentum';

  constructor(name: string, ops: FlatOps, length: number, hyper: ReplicatedSgdParams) {
    super(name, ops, length, hyper);
    this.validate();
  }

  protected validate(): void {
    const h = this.hyper;
    checkSgdHyper(this.name, h);
    for (const field of ['gamma', 'scoping', 'initSigma', 'replicaSeed'] as const) {
      checkRange(this.name, field, h[field], 'nonNegative');
    }
    if (!(Number.isSafeInteger(h.replicas) && h.replicas >= 2)) {
      throw badHyper(
        this.name,
        `replicas is ${String(h.replicas)}, expected an integer >= 2; pass 3 (the usual) or more.`,
      );
    }
  }

  protected bufferNames() {
    const y = this.hyper.replicas;
    const all = [
      this.key('centre'),
      ...Array.from({ length: y }, (_, a) => this.key(`replica-${a}`)),
      ...Array.from({ length: y }, (_, a) => this.key(`momentum-${a}`)),
    ];
    return { allowed: all, required: [] };
  }

  /** The centre, once the replicas exist (the model holds one replica, not the solution). */
  evaluationWeights(): FlatVector | null {
    return this.buffers.get(this.key('centre')) ?? null;
  }

  private replicas(): FlatVector[] {
    return Array.from({ length: this.hyper.replicas }, (_, a) =>
      this.buffer(this.key(`replica-${a}`)),
    );
  }

  protected update(pv: ParamVector): void {
    const h = this.hyper;
    const ops = this.ops;
    const y = h.replicas;
    const a = this.steps % y;
    const round = Math.floor(this.steps / y);
    const xs = this.replicas();
    const centre = this.buffer(this.key('centre'));
    const mean = () =>
      ops.weightedSum(
        centre,
        xs,
        xs.map(() => 1 / y),
      );
    if (this.steps === 0) {
      // The model's weights, perturbed per replica. The first gradient was taken at the
      // unperturbed weights: an initSigma-sized difference, on the first step only.
      for (const [b, x] of xs.entries()) {
        ops.copy(x, pv.params);
        ops.perturb(x, h.initSigma, {
          seed: h.replicaSeed,
          stream: 1000 + b,
          distribution: 'gaussian',
        });
      }
      mean();
    }
    const gamma = couplingCap(h.gamma * Math.pow(1 + h.scoping, round), h.lr);
    // g += gamma (x_a - c), then the SGD step on x_a with replica a's momentum.
    ops.axpy(pv.grads, gamma, xs[a]);
    ops.axpy(pv.grads, -gamma, centre);
    this.sgdStep(xs[a], pv, `momentum-${a}`, h, { decoupled: false, step: round + 1 });
    if (pv.mask) ops.applyMask(xs[a], pv.mask);
    // The next step's gradient is taken at the next replica; after a round's last replica the
    // centre is brought up to date (the next round's, and what an evaluation then measures).
    ops.copy(pv.params, xs[(a + 1) % y]);
    if (a === y - 1) mean();
  }
}
