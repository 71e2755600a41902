/**
 * Cyclical augmentation strength (general cyclical training, Smith et al. 2022): each batch is
 * augmented by random translations of up to `s(t)` pixels, where s follows one easy-hard-easy
 * cycle over the run (weak augmentation at the start and the end, strong in the middle). The
 * batch keeps its size; only the amount of augmentation cycles. See README.md.
 */
import * as tf from '@tensorflow/tfjs-core';
import { augmentBatch } from '../../data/augment.js';
import { Rng } from '../../data/random.js';
import { easyHardEasy, type CycleShape } from '../../schedules/index.js';
import { Event } from '../../train/events.js';
import type { Method } from '../../train/method.js';
import type { TrainState } from '../../train/state.js';
import { checkMinMax, RunSchedule } from '../cyclical-weight-decay/index.js';
import { hostInputs, replaceBatchTensors } from '../batch.js';
import { invalidOption } from '../../options.js';

export interface CyclicalAugmentationOptions {
  /** Largest shift in pixels at the easy ends of the run (an integer >= 0). */
  min: number;
  /** Largest shift in pixels at the hard point (an integer >= min). */
  max: number;
  /** The hard point is at 1/factor of the run (default 2: the middle). */
  factor?: number;
  shape?: CycleShape;
  /** Mirror left-right at random too (default false: not for digits). */
  flip?: boolean;
  /** Length of the cycle in steps (default: the run's length). */
  totalSteps?: number;
}

const CYCLICAL_AUGMENTATION_STREAM = 0x63617567;

/** The functional twin: the largest shift (pixels) at `step` of a `totalSteps`-step run. */
export function cyclicalAugmentationAt(
  step: number,
  opts: CyclicalAugmentationOptions & { totalSteps: number },
): number {
  return strengthSchedule(opts, opts.totalSteps)(step);
}

function strengthSchedule(opts: CyclicalAugmentationOptions, totalSteps: number) {
  return easyHardEasy(
    {
      easy: opts.min,
      hard: opts.max,
      totalSteps,
      factor: opts.factor,
      shape: opts.shape,
      round: true,
    },
    'cyclical-augmentation',
  );
}

export class CyclicalAugmentation implements Method {
  readonly name = 'cyclical-augmentation';
  private readonly strength: RunSchedule;

  constructor(readonly options: CyclicalAugmentationOptions) {
    checkMinMax(this.name, options.min, options.max);
    for (const key of ['min', 'max'] as const) {
      if (!Number.isInteger(options[key])) {
        throw invalidOption(this.name, key, options[key], 'a whole number of pixels');
      }
    }
    strengthSchedule(options, options.totalSteps ?? 2); // checks factor and shape now
    this.strength = new RunSchedule(
      (totalSteps) => strengthSchedule(options, totalSteps),
      options.totalSteps,
    );
  }

  match(event: Event, state: TrainState): boolean {
    return event === Event.BATCH_START && state.batch !== null;
  }

  apply(_event: Event, state: TrainState): void {
    const batch = state.batch!;
    const translate = this.strength.at(state);
    state.metrics['cyclical-augmentation/translate'] = translate;
    if (translate === 0 && !this.options.flip) return;
    if (batch.x.rank !== 4) {
      throw invalidOption(this.name, 'inputs', `shape [${batch.x.shape}]`, 'NHWC images (rank 4)');
    }
    const [n, h, w, c] = batch.x.shape;
    const rng = new Rng(state.stepSeed(CYCLICAL_AUGMENTATION_STREAM));
    const { images } = augmentBatch(
      hostInputs(state),
      [h, w, c],
      { pad: 0, translate, flip: this.options.flip ?? false },
      rng,
    );
    replaceBatchTensors(state, tf.tensor4d(images, [n, h, w, c]), batch.y, images);
  }
}

export function cyclicalAugmentation(opts: CyclicalAugmentationOptions): CyclicalAugmentation {
  return new CyclicalAugmentation(opts);
}
