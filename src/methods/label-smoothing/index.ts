/**
 * Label smoothing: train against (1 - alpha) * one-hot + alpha / K instead of the one-hot labels,
 * so the model is not pushed towards infinite logit gaps. See README.md.
 */
import * as tf from '@tensorflow/tfjs-core';
import { invalidOption } from '../../options.js';
import { Event } from '../../train/events.js';
import type { Method } from '../../train/method.js';
import type { TrainState } from '../../train/state.js';
import { replaceBatchTensors } from '../batch.js';

export interface LabelSmoothingOptions {
  /** Probability mass moved from the label to the uniform distribution, in [0, 1). */
  alpha: number;
}

function checkAlpha(alpha: unknown): number {
  if (typeof alpha !== 'number' || !(alpha >= 0 && alpha < 1)) {
    throw invalidOption(
      'label-smoothing',
      'alpha',
      alpha,
      'a number in [0, 1) (0.1 is the usual choice)',
    );
  }
  return alpha;
}

/**
 * The functional twin: (1 - alpha) * labels + alpha / K, K = the last dimension (the classes).
 * Works on soft labels too (e.g. after mixup): the result still sums to 1 per row.
 */
export function smoothLabels(labels: tf.Tensor, alpha: number): tf.Tensor {
  checkAlpha(alpha);
  const numClasses = labels.shape[labels.rank - 1];
  return tf.tidy(() => tf.add(tf.mul(labels, 1 - alpha), alpha / numClasses));
}

export class LabelSmoothing implements Method {
  readonly name = 'label-smoothing';
  readonly alpha: number;

  constructor(opts: LabelSmoothingOptions) {
    this.alpha = checkAlpha(opts?.alpha);
  }

  match(event: Event): boolean {
    // Targets are smoothed once per batch, before any loss sees them; alpha = 0 is a no-op.
    return event === Event.BATCH_START && this.alpha > 0;
  }

  apply(_event: Event, state: TrainState): void {
    const batch = state.batch;
    if (!batch) return;
    replaceBatchTensors(state, batch.x, smoothLabels(batch.y, this.alpha));
  }
}

/** `labelSmoothing({ alpha: 0.1 })`: smooths the training targets; evaluation keeps hard labels. */
export function labelSmoothing(opts: LabelSmoothingOptions): LabelSmoothing {
  return new LabelSmoothing(opts);
}
