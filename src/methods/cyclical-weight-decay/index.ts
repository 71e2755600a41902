/**
 * Cyclical weight decay (Smith 2022, "General Cyclical Training of Neural Networks"): the
 * optimizer's weight decay follows one low -> high -> low cycle over the run. The value is
 * written into optimizer.hyper.weightDecay at BEFORE_STEP, i.e. after the Trainer has applied
 * its own schedules, so it is the weight decay itself (not a multiplier of the base as
 * `schedules.weightDecay` is) and it wins over a weightDecay schedule. See README.md.
 */
import { UsageError } from '../../errors.js';
import {
  cyclicalWeightDecaySchedule,
  type CycleShape,
  type Schedule,
} from '../../schedules/index.js';
import { Event } from '../../train/events.js';
import type { Method } from '../../train/method.js';
import type { TrainState } from '../../train/state.js';

export interface CyclicalValueOptions {
  /** The easy value, at the start and the end of the run. */
  min: number;
  /** The hard value, at 1/factor of the run (>= min). */
  max: number;
  /** The hard point is at 1/factor of the run (default 2: the middle). */
  factor?: number;
  /** 'triangle' (default, as the paper's code) or 'cosine'. */
  shape?: CycleShape;
  /** Length of the cycle in steps (default: the run's length). */
  totalSteps?: number;
}

/** Checks min/max of a cyclical method: finite, >= 0, min <= max. */
export function checkMinMax(method: string, min: unknown, max: unknown): void {
  for (const [key, value] of [
    ['min', min],
    ['max', max],
  ] as const) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new UsageError(
        'ANNEAL_BAD_METHOD_OPTION',
        `${method}: ${key} = ${String(value)} is not valid: expected a finite number >= 0`,
      );
    }
  }
  if ((min as number) > (max as number)) {
    throw new UsageError(
      'ANNEAL_BAD_METHOD_OPTION',
      `${method}: min = ${String(min)} is not valid: expected min <= max (max = ${String(max)})`,
    );
  }
}

/** The functional twin: the weight decay at `step` of a run of `totalSteps` steps. */
export function cyclicalWeightDecayAt(
  step: number,
  opts: CyclicalValueOptions & { totalSteps: number },
): number {
  checkMinMax('cyclical-weight-decay', opts.min, opts.max);
  return cyclicalWeightDecaySchedule(opts)(step);
}

/**
 * A value that follows a schedule built once the run's length is known (at the first step);
 * pure in the step, so a resumed run gets the same values without any saved state.
 */
export class RunSchedule {
  private schedule: Schedule | null = null;

  constructor(
    private readonly build: (totalSteps: number) => Schedule,
    private readonly totalSteps: number | undefined,
  ) {}

  at(state: TrainState): number {
    this.schedule ??= this.build(this.totalSteps ?? state.maxSteps);
    return this.schedule(state.timestamp.step);
  }
}

export class CyclicalWeightDecay implements Method {
  readonly name = 'cyclical-weight-decay';
  private readonly values: RunSchedule;

  constructor(readonly options: CyclicalValueOptions) {
    checkMinMax(this.name, options.min, options.max);
    // Validates factor/shape/totalSteps now rather than at the first step.
    cyclicalWeightDecaySchedule({ ...options, totalSteps: options.totalSteps ?? 2 });
    this.values = new RunSchedule(
      (totalSteps) => cyclicalWeightDecaySchedule({ ...options, totalSteps }),
      options.totalSteps,
    );
  }

  match(event: Event): boolean {
    return event === Event.BEFORE_STEP;
  }

  apply(_event: Event, state: TrainState): void {
    const wd = this.values.at(state);
    state.optimizer.hyper.weightDecay = wd;
    state.metrics['cyclical-weight-decay/value'] = wd;
  }
}

export function cyclicalWeightDecay(opts: CyclicalValueOptions): CyclicalWeightDecay {
  return new CyclicalWeightDecay(opts);
}
