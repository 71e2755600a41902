/**
 * A schedule is a pure function of time: the value of a hyper-parameter (or a multiplier of
 * it) used FOR optimizer step t, where t = 0, 1, 2, ... counts the steps already taken.
 * It keeps no state, so it can be called in any order, and resuming from a checkpoint only
 * needs the step count.
 */
import { UsageError } from '../errors.js';

export type Schedule = (step: number) => number;

/** Learning rate plus, for schedules that cycle it in antiphase, momentum (or Adam's beta1). */
export interface LrMomentumSchedule {
  readonly lr: Schedule;
  /** Present when momentum cycling is on. */
  readonly momentum?: Schedule;
}

/** Wraps a closed form so that every schedule refuses a step that is not a step count. */
export function defineSchedule(name: string, value: (t: number) => number): Schedule {
  return (t: number) => {
    if (!Number.isInteger(t) || t < 0) {
      throw new UsageError(
        'ANNEAL_BAD_STEP',
        `${name} schedule: step ${String(t)} is not valid: expected an integer >= 0 ` +
          '(the number of optimizer steps already taken).',
      );
    }
    return value(t);
  };
}
