/**
 * Cyclical softmax temperature (Smith 2022, "General Cyclical Training of Neural Networks"):
 * during training the logits are divided by T(step) before the loss; evaluation sees the raw
 * logits. See README.md.
 */
import * as tf from '@tensorflow/tfjs-core';
import { AnnealError, UsageError } from '../../errors.js';
import { cyclicalTemperatureSchedule, type Schedule } from '../../schedules/index.js';
import { Event } from '../../train/events.js';
import type { Method } from '../../train/method.js';
import type { TrainState } from '../../train/state.js';

export interface SoftmaxTemperatureOptions {
  /** T as a function of the step; when given, min/max/factor must not be. */
  schedule?: Schedule;
  /** T at the start and the end of the run (the easy end; default 0.5). */
  min?: number;
  /** T at the hardest point of the run (default 2). */
  max?: number;
  /** The hardest point is at 1/factor of the run (> 1; default 2). */
  factor?: number;
}

function invalid(option: string, value: unknown, expected: string): UsageError {
  return new UsageError(
    'ANNEAL_BAD_METHOD_OPTION',
    `softmax-temperature: ${option} = ${String(value)} is not valid: expected ${expected}`,
  );
}

function isPositive(t: unknown): t is number {
  return typeof t === 'number' && t > 0 && Number.isFinite(t);
}

/** The functional twin: logits / T (T > 0; T > 1 flattens the softmax, T < 1 sharpens it). */
export function temperedLogits(logits: tf.Tensor, temperature: number): tf.Tensor {
  if (!isPositive(temperature)) throw invalid('T', temperature, 'a finite number > 0');
  return tf.div(logits, temperature);
}

export class SoftmaxTemperature implements Method {
  readonly name = 'softmax-temperature';
  private readonly given: Schedule | undefined;
  private readonly preset: { min: number; max: number; factor: number };
  private schedule: Schedule | undefined;

  constructor(opts: SoftmaxTemperatureOptions = {}) {
    const { schedule, min = 0.5, max = 2, factor = 2 } = opts;
    if (schedule !== undefined) {
      if (typeof schedule !== 'function') {
        throw invalid('schedule', schedule, 'a function of the step returning T');
      }
      const clash = (['min', 'max', 'factor'] as const).find((k) => opts[k] !== undefined);
      if (clash) throw invalid(clash, opts[clash], 'no value when a schedule is given');
    }
    if (!isPositive(min)) throw invalid('min', min, 'a finite number > 0');
    if (!isPositive(max)) throw invalid('max', max, 'a finite number > 0');
    if (!(typeof factor === 'number' && factor > 1 && Number.isFinite(factor))) {
      throw invalid('factor', factor, 'a finite number > 1');
    }
    this.given = schedule;
    this.preset = { min, max, factor };
  }

  match(event: Event): boolean {
    return event === Event.BEFORE_LOSS;
  }

  apply(_event: Event, state: TrainState): void {
    // The preset needs the run's length, known only once the Trainer exists.
    this.schedule ??=
      this.given ?? cyclicalTemperatureSchedule({ ...this.preset, totalSteps: state.maxSteps });
    const step = state.timestamp.step;
    const t = this.schedule(step);
    if (!isPositive(t)) {
      throw new AnnealError(
        'ANNEAL_BAD_TEMPERATURE',
        `softmax-temperature: the schedule gave T = ${t} at step ${step}: expected a finite ` +
          'number > 0; fix the schedule',
      );
    }
    state.metrics['softmax-temperature/T'] = t;
    // Inside the gradient tape: the loss and its gradient see logits / T; the raw outputs are
    // freed with the tape's other intermediates.
    if (t !== 1 && state.outputs) state.outputs = temperedLogits(state.outputs, t);
  }
}

/**
 * `softmaxTemperature()` cycles T 0.5 -> 2 -> 0.5 over the run (the cyclicalTemperatureSchedule preset);
 * `softmaxTemperature({ schedule })` uses any schedule of the step.
 */
export function softmaxTemperature(opts: SoftmaxTemperatureOptions = {}): SoftmaxTemperature {
  return new SoftmaxTemperature(opts);
}
