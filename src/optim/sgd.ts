/**
 * SGD with momentum, dampening and Nesterov (torch.optim.SGD), with coupled (L2) or decoupled
 * (SGDW, Loshchilov & Hutter 2019) weight decay; the math is FlatOps.sgd (src/kernels/types.ts).
 */
import type { ParamVector } from '../engine/param-vector.js';
import type { FlatOps } from '../kernels/index.js';
import { FlatOptimizer } from './base.js';
import type { SgdParams } from './types.js';
import { badHyper, checkSgdHyper } from './validate.js';

export class Sgd extends FlatOptimizer<SgdParams> {
  readonly momentumKey = 'momentum';

  constructor(
    name: string,
    ops: FlatOps,
    length: number,
    hyper: SgdParams,
    /** true: SGDW (p *= 1 - lr*wd); false: L2 added to the gradient. */
    readonly decoupled: boolean,
  ) {
    super(name, ops, length, hyper);
    this.validate();
    // PyTorch's rule, checked once: a schedule may later take momentum to 0 (plain SGD then).
    if (hyper.nesterov && hyper.momentum <= 0) {
      throw badHyper(
        name,
        `nesterov is true with momentum ${hyper.momentum}; Nesterov needs momentum > 0: ` +
          `set momentum (e.g. 0.9) or nesterov: false.`,
      );
    }
  }

  protected override readonly takesGate = true;

  protected validate(): void {
    checkSgdHyper(this.name, this.hyper);
  }

  protected bufferNames() {
    return { allowed: [this.key('momentum')], required: [] };
  }

  protected update(pv: ParamVector): void {
    this.sgdStep(pv.params, pv, 'momentum', this.hyper, {
      decoupled: this.decoupled,
      step: this.steps + 1,
      gated: true,
    });
  }
}
