/**
 * When something periodic falls due in a run: at the end of every k-th epoch ('1ep', '2ep'), or
 * after every k-th step ('50ba', '640sp'). The Trainer's evaluation and checkpoint intervals and
 * the weight averages' snapshot intervals are all of this kind.
 */
import { Event } from './events.js';
import type { Timestamp } from './state.js';
import { parseDuration, type DurationLike, type Timeline } from '../time/index.js';

export class Interval {
  private readonly epochs: number | null;
  private readonly steps: number;

  /**
   * `invalid(expected)` makes the error for an interval that cannot be one (it names the option):
   * one under a step, or one in samples or part-epochs when the batch size varies (a number of
   * samples is then no fixed number of steps).
   */
  constructor(d: DurationLike, timeline: Timeline, invalid: (expected: string) => Error) {
    const parsed = typeof d === 'number' ? null : typeof d === 'string' ? parseDuration(d) : d;
    if (parsed?.unit === 'ep' && Number.isInteger(parsed.value) && parsed.value > 0) {
      this.epochs = parsed.value;
      this.steps = 0;
      return;
    }
    if (timeline.varyingBatch && (parsed?.unit === 'ep' || parsed?.unit === 'sp')) {
      throw invalid(
        "whole epochs ('1ep') or steps ('50ba'): the batch size varies, so samples are no fixed number of steps",
      );
    }
    this.epochs = null;
    this.steps = timeline.toSteps(d);
    if (!(this.steps >= 1)) throw invalid("at least one step, e.g. '1ba' or '1ep'");
  }

  /** The event at which to ask `due`: EPOCH_END for whole epochs, else BATCH_END. */
  get event(): Event {
    return this.epochs !== null ? Event.EPOCH_END : Event.BATCH_END;
  }

  /** Whether the interval falls due now (`epochEnded`: an epoch has just ended). */
  due(ts: Timestamp, epochEnded = true): boolean {
    return this.epochs !== null
      ? epochEnded && ts.epoch % this.epochs === 0
      : ts.step % this.steps === 0;
  }
}
