/**
 * Lookahead (Zhang, Lucas, Hinton & Ba 2019, "k steps forward, 1 step back") around any flat
 * optimizer: the inner optimizer updates the fast weights (pv.params); every k-th step the slow
 * weights move a fraction alpha towards them and the fast weights restart from the slow ones:
 *   slow += alpha (fast - slow);  fast = slow        (FlatOps.lookaheadSync, one kernel call)
 * The step counting and the update follow timm's Lookahead; the slow weights start as the
 * weights at the first step (the paper's phi_0 and the authors' code), whereas timm copies them
 * lazily at the first sync, which makes its first sync a no-op.
 */
import { AnnealError } from '../errors.js';
import type { ParamVector } from '../engine/param-vector.js';
import type { FlatOps, FlatVector } from '../kernels/index.js';
import { checkParamVectorFits, checkStateDictFits } from './base.js';
import type { Optimizer, OptimizerHyper, OptimizerStateDict } from './types.js';
import { checkRange } from './validate.js';

export interface LookaheadParams {
  /** Inner steps between syncs. */
  k: number;
  /** Slow-weights step size in [0, 1]; 1 recovers the inner optimizer. */
  alpha: number;
}

const SLOW = 'lookahead/slow';
const K_FIELD = 'lookaheadK';
const ALPHA_FIELD = 'lookaheadAlpha';

export class Lookahead implements Optimizer {
  readonly name: string;
  /** The inner optimizer's hyper object itself, so schedules write through to it. */
  readonly hyper: OptimizerHyper;
  readonly momentumKey: 'momentum' | 'beta1';
  readonly length: number;
  stepCount = 0;
  private readonly slow: FlatVector;

  constructor(
    readonly inner: Optimizer,
    readonly ops: FlatOps,
    /** Mutable between steps, like hyper. */
    readonly lookahead: LookaheadParams,
  ) {
    this.name = `lookahead_${inner.name}`;
    this.hyper = inner.hyper;
    this.momentumKey = inner.momentumKey;
    this.length = inner.length;
    this.validate();
    this.slow = ops.alloc(this.length);
  }

  private validate(params: Record<string, unknown> = { ...this.lookahead }): void {
    checkRange(this.name, K_FIELD, params.k, 'positiveInteger');
    checkRange(this.name, ALPHA_FIELD, params.alpha, 'unitClosed');
  }

  step(pv: ParamVector): void {
    checkParamVectorFits(this.name, this.ops, this.length, pv);
    this.validate();
    if (this.stepCount === 0) this.ops.copy(this.slow, pv.params);
    this.inner.step(pv);
    this.stepCount++;
    if (this.stepCount % this.lookahead.k === 0) {
      // Slow weights copied before a mask was set would carry pruned weights back.
      if (pv.mask) this.ops.applyMask(this.slow, pv.mask);
      this.ops.lookaheadSync(this.slow, pv.params, this.lookahead.alpha);
    }
  }

  stateDict(): OptimizerStateDict {
    const inner = this.inner.stateDict();
    return {
      name: this.name,
      length: this.length,
      step: this.stepCount,
      hyper: { ...inner.hyper, [K_FIELD]: this.lookahead.k, [ALPHA_FIELD]: this.lookahead.alpha },
      buffers: { ...inner.buffers, [SLOW]: this.ops.download(this.slow) },
    };
  }

  loadStateDict(state: OptimizerStateDict): void {
    checkStateDictFits(state, this.name, this.length);
    const { [K_FIELD]: k, [ALPHA_FIELD]: alpha, ...innerHyper } = state.hyper;
    const { [SLOW]: slow, ...innerBuffers } = state.buffers;
    this.validate({ k, alpha });
    if (!(slow instanceof Float32Array) || slow.length !== this.length) {
      throw new AnnealError(
        'ANNEAL_OPTIMIZER_STATE_MISMATCH',
        `loadStateDict: the '${this.name}' state lacks the buffer '${SLOW}' (a Float32Array of ` +
          `${this.length} elements).`,
      );
    }
    this.inner.loadStateDict({
      name: this.inner.name,
      length: this.length,
      step: state.step,
      hyper: innerHyper,
      buffers: innerBuffers,
    });
    Object.assign(this.lookahead, { k, alpha });
    this.ops.upload(this.slow, slow);
    this.stepCount = state.step;
  }

  dispose(): void {
    this.inner.dispose();
    if (this.slow.alive) this.ops.free(this.slow);
  }
}
