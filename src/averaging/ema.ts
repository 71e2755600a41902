/**
 * Exponential moving average of the weights (Polyak averaging; Composer's EMA): after every
 * update interval, avg = decay avg + (1 - decay) w, starting from the weights before training,
 * so after T updates avg = sum_t (1 - d) d^(T-t) w_t + d^T w_0. The decay is given directly or
 * as a half-life in time units: d = 0.5^(interval / halfLife). The average is evaluated apart
 * from the live model (metrics ema/eval/*); the live weights keep training. See README.md.
 */
import type { Dataset } from '../data/index.js';
import type { FlatOps, FlatVector } from '../kernels/index.js';
import { invalidOption } from '../options.js';
import { Event } from '../train/events.js';
import type { Logger, Method, MethodState } from '../train/method.js';
import type { TrainState } from '../train/state.js';
import type { DurationLike, Timeline } from '../time/index.js';
import { evaluateSync } from '../train/evaluate.js';
import { withWeights } from './evaluate.js';
import { Interval } from '../train/interval.js';

export interface EmaOptions {
  /** The decay per update, in [0, 1). Give this or halfLife. */
  decay?: number;
  /** Time for a weight's share to halve: '100ba', '1ep', ... (default '50ba' without decay). */
  halfLife?: DurationLike;
  /** An update every '1ba' (default) or every k batches / epochs. */
  interval?: DurationLike;
  /** Put the average into the model when the run completes (default false). */
  swapAtEnd?: boolean;
  /** Data for the BatchNorm refresh before evaluating the average (default train; false: none). */
  bnData?: Dataset | false;
}

/** decay = 0.5^(interval / halfLife), both in steps of `timeline`. */
export function emaDecayFromHalfLife(
  halfLife: DurationLike,
  interval: DurationLike,
  timeline: Timeline,
): number {
  const h = timeline.toSteps(halfLife);
  if (!(h > 0)) throw invalidOption('ema', 'halfLife', halfLife, 'a positive duration');
  return Math.pow(0.5, timeline.toSteps(interval) / h);
}

/** The functional twin: the EMA of `snapshots` (w_1..w_T) starting from `initial` (w_0). */
export function emaWeights(
  ops: FlatOps,
  initial: Float32Array,
  snapshots: readonly Float32Array[],
  decay: number,
): Float32Array {
  checkDecay(decay);
  const avg = ops.fromArray(initial);
  const x = ops.alloc(initial.length);
  try {
    for (const s of snapshots) {
      ops.upload(x, s);
      ops.ema(avg, x, decay);
    }
    return ops.download(avg);
  } finally {
    ops.free(avg);
    ops.free(x);
  }
}

function checkDecay(decay: number): void {
  if (!(decay >= 0 && decay < 1)) throw invalidOption('ema', 'decay', decay, 'a number in [0, 1)');
}

export class Ema implements Method {
  readonly name = 'ema';
  private state: TrainState | null = null;
  private avg: FlatVector | null = null;
  private interval: Interval | null = null;
  private decayValue: number | null;

  constructor(private readonly options: EmaOptions = {}) {
    if (options.decay !== undefined && options.halfLife !== undefined) {
      throw invalidOption(
        this.name,
        'halfLife',
        options.halfLife,
        'either decay or halfLife, not both',
      );
    }
    if (options.decay !== undefined) checkDecay(options.decay);
    this.decayValue = options.decay ?? null;
  }

  /** The decay per update (known from INIT on when given as a half-life). */
  get decay(): number | null {
    return this.decayValue;
  }

  /** The average (a copy on the host). */
  average(): Float32Array | null {
    return this.avg ? this.state!.ops.download(this.avg) : null;
  }

  match(event: Event): boolean {
    return (
      event === Event.INIT ||
      event === Event.BATCH_END ||
      event === Event.EPOCH_END ||
      event === Event.EVAL_END ||
      event === Event.FIT_END
    );
  }

  apply(event: Event, state: TrainState, log: Logger): void {
    if (event === Event.INIT) {
      this.state = state;
      const interval = this.options.interval ?? '1ba';
      this.interval = new Interval(interval, state.timeline, (expected) =>
        invalidOption(this.name, 'interval', interval, expected),
      );
      this.decayValue ??= emaDecayFromHalfLife(
        this.options.halfLife ?? '50ba',
        interval,
        state.timeline,
      );
      if (!this.avg) {
        this.avg = state.ops.alloc(state.pv.length);
        state.ops.copy(this.avg, state.pv.params);
      }
    } else if (event === Event.BATCH_END || event === Event.EPOCH_END) {
      if (event === this.interval!.event && this.interval!.due(state.timestamp)) {
        state.ops.ema(this.avg!, state.pv.params, this.decayValue!);
      }
    } else if (event === Event.EVAL_END && state.evalData) {
      this.evaluate(state);
    } else if (event === Event.FIT_END && state.runComplete) {
      if (state.evalData) this.evaluate(state);
      if (this.options.swapAtEnd) {
        state.ops.copy(state.pv.params, this.avg!);
        state.pv.writeBack();
        log.log('ema', { swapped: true });
      }
    }
  }

  private evaluate(state: TrainState): void {
    const bnData =
      this.options.bnData === false ? undefined : (this.options.bnData ?? state.trainData);
    const result = withWeights(
      state.model,
      state.pv,
      this.avg!,
      () => evaluateSync(state.model, state.evalData!),
      { refreshData: bnData },
    );
    state.metrics['ema/eval/loss'] = result.loss;
    state.metrics['ema/eval/accuracy'] = result.accuracy;
  }

  stateDict(): MethodState {
    return { avg: this.avg ? this.state!.ops.download(this.avg) : null };
  }

  loadStateDict(saved: MethodState): void {
    if (this.avg && saved.avg instanceof Float32Array) this.state!.ops.upload(this.avg, saved.avg);
  }

  dispose(): void {
    if (this.avg?.alive) this.state?.ops.free(this.avg);
    this.avg = null;
  }
}

export function ema(opts: EmaOptions = {}): Ema {
  return new Ema(opts);
}
