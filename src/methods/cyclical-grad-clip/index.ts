/**
 * Gradient clipping by global norm (torch.nn.utils.clip_grad_norm_), plain or with a cyclical
 * threshold (Smith 2022, "General Cyclical Training": tight -> loose -> tight over the run).
 * Acts at AFTER_BACKWARD on the ParamVector's flat gradient with one ops.clipByGlobalNormInto
 * call (a single kernel reduction and scale; the norm is read only when its metric is). See
 * README.md.
 */
import * as tf from '@tensorflow/tfjs-core';
import { UsageError } from '../../errors.js';
import { cyclicalGradClipSchedule } from '../../schedules/index.js';
import type { FlatOps, FlatVector } from '../../kernels/index.js';
import { Event } from '../../train/events.js';
import { lazyMetric } from '../../train/running-metrics.js';
import type { Method } from '../../train/method.js';
import type { TrainState } from '../../train/state.js';
import {
  checkMinMax,
  RunSchedule,
  type CyclicalValueOptions,
} from '../cyclical-weight-decay/index.js';

/** Same epsilon as the kernels and PyTorch: scale = maxNorm / (norm + 1e-6) when below 1. */
const CLIP_EPS = 1e-6;

/**
 * The functional twin on tensors: the gradients scaled so their global L2 norm is at most
 * maxNorm, and the norm before clipping.
 */
export function clipByGlobalNorm(
  grads: readonly tf.Tensor[],
  maxNorm: number,
): { grads: tf.Tensor[]; norm: number } {
  checkMaxNorm('grad-clip', maxNorm);
  const sumSquares = tf.tidy(() => tf.addN(grads.map((g) => tf.sum(tf.square(g)))));
  const norm = Math.sqrt(sumSquares.dataSync()[0]);
  sumSquares.dispose();
  const scale = maxNorm / (norm + CLIP_EPS);
  return {
    grads: grads.map((g) => (scale < 1 ? tf.mul(g, scale) : tf.clone(g))),
    norm,
  };
}

/** The functional twin of the cyclical threshold: the max norm at `step`. */
export function cyclicalGradClipAt(
  step: number,
  opts: CyclicalValueOptions & { totalSteps: number },
): number {
  checkMinMax('cyclical-grad-clip', opts.min, opts.max);
  return cyclicalGradClipSchedule(opts)(step);
}

function checkMaxNorm(method: string, maxNorm: unknown): void {
  if (typeof maxNorm !== 'number' || !(maxNorm > 0) || !Number.isFinite(maxNorm)) {
    throw new UsageError(
      'ANNEAL_BAD_METHOD_OPTION',
      `${method}: maxNorm = ${String(maxNorm)} is not valid: expected a finite number > 0`,
    );
  }
}

/**
 * Clips pv.grads at AFTER_BACKWARD to the threshold `maxNormAt(state)`. The norm before clipping
 * stays where the gradient is (a one-float vector) and the `/norm` metric reads the latest step's
 * when someone reads it: on a GPU no step waits for it.
 */
abstract class GlobalNormClip implements Method {
  abstract readonly name: string;
  protected abstract maxNormAt(state: TrainState): number;
  private norm: { ops: FlatOps; slot: FlatVector } | null = null;
  private readonly readNorm = (): number =>
    this.norm?.slot.alive ? this.norm.ops.download(this.norm.slot)[0] : NaN;

  match(event: Event): boolean {
    return event === Event.AFTER_BACKWARD;
  }

  apply(_event: Event, state: TrainState): void {
    const maxNorm = this.maxNormAt(state);
    if (this.norm?.ops !== state.ops) {
      this.dispose();
      this.norm = { ops: state.ops, slot: state.ops.alloc(1) };
    }
    state.ops.clipByGlobalNormInto(state.pv.grads, maxNorm, this.norm.slot);
    lazyMetric(state.metrics, `${this.name}/norm`, this.readNorm);
    state.metrics[`${this.name}/max_norm`] = maxNorm;
  }

  dispose(): void {
    if (this.norm?.slot.alive) this.norm.ops.free(this.norm.slot);
    this.norm = null;
  }
}

export interface GradClipOptions {
  /** Largest global L2 norm of the gradient (> 0). */
  maxNorm: number;
}

export class GradClip extends GlobalNormClip {
  readonly name = 'grad-clip';

  constructor(readonly options: GradClipOptions) {
    super();
    checkMaxNorm(this.name, options.maxNorm);
  }

  protected maxNormAt(): number {
    return this.options.maxNorm;
  }
}

export class CyclicalGradClip extends GlobalNormClip {
  readonly name = 'cyclical-grad-clip';
  private readonly values: RunSchedule;

  constructor(readonly options: CyclicalValueOptions) {
    super();
    checkMinMax(this.name, options.min, options.max);
    if (!(options.min > 0)) {
      throw new UsageError(
        'ANNEAL_BAD_METHOD_OPTION',
        `${this.name}: min = ${options.min} is not valid: expected a max norm > 0`,
      );
    }
    cyclicalGradClipSchedule({ ...options, totalSteps: options.totalSteps ?? 2 });
    this.values = new RunSchedule(
      (totalSteps) => cyclicalGradClipSchedule({ ...options, totalSteps }),
      options.totalSteps,
    );
  }

  protected maxNormAt(state: TrainState): number {
    return this.values.at(state);
  }
}

export function gradClip(opts: GradClipOptions): GradClip {
  return new GradClip(opts);
}

export function cyclicalGradClip(opts: CyclicalValueOptions): CyclicalGradClip {
  return new CyclicalGradClip(opts);
}
