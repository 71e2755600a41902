/**
 * Adam (Kingma & Ba 2015) with coupled L2 decay, AdamW (Loshchilov & Hutter 2019) with decoupled
 * decay, and either with AMSGrad (Reddi et al. 2018): PyTorch's torch.optim.Adam / AdamW math,
 * written out in FlatOps.adam (src/kernels/types.ts).
 */
import type { ParamVector } from '../engine/param-vector.js';
import type { FlatOps } from '../kernels/index.js';
import { FlatOptimizer } from './base.js';
import type { AdamParams } from './types.js';
import { checkRange } from './validate.js';

export interface AdamVariant {
  /** true: AdamW (p *= 1 - lr*wd); false: L2 added to the gradient. */
  decoupled: boolean;
  /** Keep the running maximum of v and normalise by it. */
  amsgrad: boolean;
}

export class Adam extends FlatOptimizer<AdamParams> {
  readonly momentumKey = 'beta1';
  protected override readonly takesGate = true;

  constructor(
    name: string,
    ops: FlatOps,
    length: number,
    hyper: AdamParams,
    readonly variant: AdamVariant,
  ) {
    super(name, ops, length, hyper);
    this.validate();
    this.buffer(this.key('m'));
    this.buffer(this.key('v'));
    if (variant.amsgrad) this.buffer(this.key('vMax'));
  }

  protected validate(): void {
    const h = this.hyper;
    checkRange(this.name, 'lr', h.lr, 'nonNegative');
    checkRange(this.name, 'weightDecay', h.weightDecay, 'nonNegative');
    checkRange(this.name, 'beta1', h.beta1, 'unitOpen');
    checkRange(this.name, 'beta2', h.beta2, 'unitOpen');
    checkRange(this.name, 'eps', h.eps, 'positive');
  }

  protected bufferNames() {
    const names = ['m', 'v', ...(this.variant.amsgrad ? ['vMax'] : [])].map((s) => this.key(s));
    return { allowed: names, required: names };
  }

  protected update(pv: ParamVector): void {
    const { lr, beta1, beta2, eps, weightDecay } = this.hyper;
    this.ops.adam(
      pv.params,
      pv.grads,
      this.buffer(this.key('m')),
      this.buffer(this.key('v')),
      this.variant.amsgrad ? this.buffer(this.key('vMax')) : null,
      {
        lr,
        beta1,
        beta2,
        eps,
        weightDecay,
        decoupled: this.variant.decoupled,
        step: this.steps + 1,
      },
      { lrMask: pv.mask, decayMask: pv.decay, gate: this.gateRef() },
    );
  }
}
