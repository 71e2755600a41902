/**
 * Optimizers on flat vectors: each step is one fused kernel call over every parameter of a
 * ParamVector, with its pruning mask (as the kernels' lrMask) and weight-decay mask riding along.
 * State (moments, momentum, slow weights) lives on the kernel backend.
 */
import type { FlatVector } from '../kernels/index.js';
import type { StepGate } from '../engine/step-gate.js';
import type { ParamVector } from '../engine/param-vector.js';

/**
 * Hyper-parameters, mutable between steps: the Trainer applies schedules by writing these before
 * each step. Each optimizer checks them at every step (a schedule that produces a negative lr is
 * caught there, naming the field).
 */
export interface OptimizerHyper {
  lr: number;
  weightDecay: number;
  /** SGD family. */
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  /** Adam family. */
  beta1?: number;
  beta2?: number;
  eps?: number;
}

export interface AdamParams extends OptimizerHyper {
  beta1: number;
  beta2: number;
  eps: number;
}

export interface SgdParams extends OptimizerHyper {
  momentum: number;
  dampening: number;
  nesterov: boolean;
}

/** Serialisable state (PyTorch's state_dict, tfjs's getWeights with the iteration first). */
export interface OptimizerStateDict {
  /** The registry name, e.g. 'adamw' or 'lookahead_sgd'. */
  name: string;
  /** Number of parameters the state is for. */
  length: number;
  /** Steps taken. */
  step: number;
  hyper: Record<string, number | boolean>;
  /** Named like tfjs's per-variable slots: `${optimizer}/m`, `lookahead/slow`, ... */
  buffers: Record<string, Float32Array>;
}

export interface Optimizer {
  readonly name: string;
  readonly hyper: OptimizerHyper;
  /** Which hyper field a momentum schedule writes: 'momentum' (SGD) or 'beta1' (Adam). */
  readonly momentumKey: 'momentum' | 'beta1';
  /** Number of parameters this optimizer's state is for. */
  readonly length: number;
  /** Steps taken so far. */
  readonly stepCount: number;
  /** One update of pv.params from pv.grads. */
  step(pv: ParamVector): void;
  /**
   * Optional: lets the fused steps skip themselves on the gate's verdict (StepGate; null
   * detaches); returns false when this optimizer's steps cannot be gated.
   */
  attachGate?(gate: StepGate | null): boolean;
  /** With a gate attached: takes the steps it skipped off stepCount (one read of the gate). */
  settleGate?(): void;
  /**
   * The weights the run stands for when they are not pv.params, else null: Entropy-SGD's outer
   * weights x while the model holds a Langevin iterate x' in the middle of a cycle. The Trainer
   * evaluates these (the way SWA swaps in its average) and leaves them in the model at the end.
   */
  evaluationWeights?(): FlatVector | null;
  stateDict(): OptimizerStateDict;
  loadStateDict(state: OptimizerStateDict): void;
  dispose(): void;
}
