/**
 * Focal loss (Lin et al. 2017) and cyclical focal loss (Smith 2022): cross-entropy whose terms
 * are re-weighted by the predicted probability, replacing the Trainer's training loss (the
 * evaluation loss stays plain cross-entropy). See README.md.
 */
import * as tf from '@tensorflow/tfjs-core';
import { invalidOption } from '../../options.js';
import { easyHardEasy, type Schedule } from '../../schedules/index.js';
import { Event } from '../../train/events.js';
import type { Method } from '../../train/method.js';
import type { LossFn, TrainState } from '../../train/state.js';

/** Class weights: one number for every class, or one per class. */
export type ClassWeights = number | readonly number[];

export interface FocalLossOptions {
  /** Focusing exponent >= 0 (0 is cross-entropy; 2 is the paper's choice). */
  gamma: number;
  /** Class weight alpha: a number > 0 for all classes, or one weight >= 0 per class. */
  alpha?: ClassWeights;
}

export interface CyclicalFocalLossOptions {
  /** Exponent of the high-confidence loss -(1 + p)^gammaHigh log p (paper's gamma_hc; default 3). */
  gammaHigh?: number;
  /** Exponent of the focal loss -(1 - p)^gammaLow log p (paper's gamma_lc; default 2). */
  gammaLow?: number;
  /** The mix is all focal at 1/factor of the run (paper's f, > 1; default 4). */
  factor?: number;
}

/** Keeps pow's gradient finite where p rounds to exactly 1 (its effect on values is ~1e-14). */
const MIN_BASE = 1e-7;

function checkGamma(method: string, option: string, gamma: unknown): number {
  if (typeof gamma !== 'number' || !(gamma >= 0) || !Number.isFinite(gamma)) {
    throw invalidOption(method, option, gamma, 'a finite number >= 0');
  }
  return gamma;
}

function checkClassWeights(alpha: unknown): ClassWeights | undefined {
  if (alpha === undefined) return undefined;
  if (typeof alpha === 'number' && alpha > 0 && Number.isFinite(alpha)) return alpha;
  if (
    Array.isArray(alpha) &&
    alpha.length > 0 &&
    alpha.every((a) => typeof a === 'number' && a >= 0 && Number.isFinite(a))
  ) {
    return Object.freeze([...(alpha as number[])]);
  }
  throw invalidOption(
    'focal-loss',
    'alpha',
    alpha,
    'a number > 0 or an array of one weight >= 0 per class',
  );
}

/**
 * Mean over the batch of -sum_k alpha_k y_k w(p_k) log p_k, p = softmax(logits): the soft-label
 * form shared by every loss here (w = 1 is cross-entropy). For one-hot y it is
 * -alpha_t w(p_t) log p_t, and label smoothing composes with it through y.
 */
function weightedLogLoss(
  labels: tf.Tensor,
  logits: tf.Tensor,
  weight: (p: tf.Tensor) => tf.Tensor,
  alpha?: ClassWeights,
): tf.Scalar {
  const numClasses = logits.shape[logits.rank - 1];
  if (Array.isArray(alpha) && alpha.length !== numClasses) {
    throw invalidOption('focal-loss', 'alpha', alpha, `${numClasses} weights, one per class`);
  }
  return tf.tidy(() => {
    const logP = tf.logSoftmax(logits);
    let terms = tf.mul(tf.mul(labels, weight(tf.exp(logP))), logP);
    if (alpha !== undefined) terms = tf.mul(terms, tf.tensor(alpha as number | number[]));
    return tf.neg(tf.mean(tf.sum(terms, -1))) as tf.Scalar;
  });
}

/** (1 - p)^gamma: small for well-classified (easy) examples. */
function focalWeight(p: tf.Tensor, gamma: number): tf.Tensor {
  return tf.pow(tf.maximum(tf.sub(1, p), MIN_BASE), gamma);
}

/**
 * The functional twin of focalLoss: mean of -alpha_t (1 - p_t)^gamma log p_t over the batch
 * (soft labels: -sum_k alpha_k y_k (1 - p_k)^gamma log p_k).
 */
export function focalLossValue(
  labels: tf.Tensor,
  logits: tf.Tensor,
  gamma: number,
  alpha?: ClassWeights,
): tf.Scalar {
  checkGamma('focal-loss', 'gamma', gamma);
  return weightedLogLoss(labels, logits, (p) => focalWeight(p, gamma), checkClassWeights(alpha));
}

export interface CyclicalFocalTerms {
  gammaHigh: number;
  gammaLow: number;
  /** Weight of the high-confidence loss in [0, 1]; 1 - xi goes to the focal loss. */
  xi: number;
}

/**
 * The functional twin of cyclicalFocalLoss at one point of the run (Smith 2022, eq. for L_cfl):
 * mean of -[xi (1 + p_t)^gammaHigh + (1 - xi) (1 - p_t)^gammaLow] log p_t.
 */
export function cyclicalFocalLossValue(
  labels: tf.Tensor,
  logits: tf.Tensor,
  { gammaHigh, gammaLow, xi }: CyclicalFocalTerms,
): tf.Scalar {
  checkGamma('cyclical-focal-loss', 'gammaHigh', gammaHigh);
  checkGamma('cyclical-focal-loss', 'gammaLow', gammaLow);
  if (!(xi >= 0 && xi <= 1))
    throw invalidOption('cyclical-focal-loss', 'xi', xi, 'a number in [0, 1]');
  return weightedLogLoss(labels, logits, (p) =>
    tf.add(tf.mul(xi, tf.pow(tf.add(1, p), gammaHigh)), tf.mul(1 - xi, focalWeight(p, gammaLow))),
  );
}

/**
 * The paper's xi over a run of `totalSteps`: 1 at the start, falling linearly to 0 at 1/factor
 * of the run, back to 1 at its end (easy -> hard -> easy).
 */
export function cyclicalFocalXi(totalSteps: number, factor = 4): Schedule {
  return easyHardEasy({ easy: 1, hard: 0, totalSteps, factor }, 'cyclical_focal_xi');
}

/** Replaces state.lossFn when a run starts (every fit(), so a resumed run gets it too). */
abstract class LossReplacement implements Method {
  abstract readonly name: string;

  match(event: Event): boolean {
    return event === Event.FIT_START;
  }

  apply(_event: Event, state: TrainState): void {
    state.lossFn = this.lossFor(state);
  }

  protected abstract lossFor(state: TrainState): LossFn;
}

export class FocalLoss extends LossReplacement {
  readonly name = 'focal-loss';
  readonly gamma: number;
  readonly alpha: ClassWeights | undefined;

  constructor(opts: FocalLossOptions) {
    super();
    this.gamma = checkGamma('focal-loss', 'gamma', opts?.gamma);
    this.alpha = checkClassWeights(opts.alpha);
  }

  protected lossFor(): LossFn {
    return (labels, logits) => focalLossValue(labels, logits, this.gamma, this.alpha);
  }
}

export class CyclicalFocalLoss extends LossReplacement {
  readonly name = 'cyclical-focal-loss';
  readonly gammaHigh: number;
  readonly gammaLow: number;
  readonly factor: number;

  constructor(opts: CyclicalFocalLossOptions = {}) {
    super();
    this.gammaHigh = checkGamma('cyclical-focal-loss', 'gammaHigh', opts.gammaHigh ?? 3);
    this.gammaLow = checkGamma('cyclical-focal-loss', 'gammaLow', opts.gammaLow ?? 2);
    const factor = opts.factor ?? 4;
    if (typeof factor !== 'number' || !(factor > 1) || !Number.isFinite(factor)) {
      throw invalidOption('cyclical-focal-loss', 'factor', factor, 'a finite number > 1');
    }
    this.factor = factor;
  }

  protected lossFor(state: TrainState): LossFn {
    // xi is a pure function of the step, so resuming needs no method state.
    const xi = cyclicalFocalXi(state.maxSteps, this.factor);
    const { gammaHigh, gammaLow } = this;
    return (labels, logits) =>
      cyclicalFocalLossValue(labels, logits, { gammaHigh, gammaLow, xi: xi(state.timestamp.step) });
  }
}

/** `focalLoss({ gamma: 2 })`: trains on the focal loss instead of cross-entropy. */
export function focalLoss(opts: FocalLossOptions): FocalLoss {
  return new FocalLoss(opts);
}

/** `cyclicalFocalLoss({ gammaHigh: 3, gammaLow: 2, factor: 4 })` (the paper's CIFAR settings). */
export function cyclicalFocalLoss(opts: CyclicalFocalLossOptions = {}): CyclicalFocalLoss {
  return new CyclicalFocalLoss(opts);
}
