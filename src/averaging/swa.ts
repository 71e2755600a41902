/**
 * Stochastic Weight Averaging (Izmailov, Podoprikhin, Garipov, Vetrov & Wilson 2018): from
 * `start` on, the weights are averaged (running mean on the flat kernels) every `interval`,
 * while SWALR anneals the learning rate to `lr` and holds it there. At the end of the run the
 * average replaces the weights and BatchNorm statistics are recomputed with one pass over the
 * training data (PyTorch's update_bn). With `evalAverage` the average is also evaluated at each
 * evaluation, without touching the live weights or their BatchNorm statistics. See README.md.
 */
import type { Dataset } from '../data/index.js';
import type { FlatOps, FlatVector } from '../kernels/index.js';
import { invalidOption } from '../options.js';
import { swalr, type Schedule } from '../schedules/index.js';
import { Event } from '../train/events.js';
import type { Logger, Method, MethodState } from '../train/method.js';
import type { TrainState } from '../train/state.js';
import type { DurationLike } from '../time/index.js';
import { refreshBatchNorm } from './batch-norm.js';
import { evaluateSync } from '../train/evaluate.js';
import { withWeights } from './evaluate.js';
import { Interval } from '../train/interval.js';

export interface SwaOptions {
  /** When averaging (and SWALR) starts: '3ep', '0.75dur', '600ba' (default '0.75dur'). */
  start?: DurationLike;
  /** A snapshot every epoch ('1ep', the default) or every k batches ('50ba'). */
  interval?: DurationLike;
  /** The SWA learning rate (absolute). Without it the run's own lr schedule is left alone. */
  lr?: number;
  /** SWALR's annealing from the lr in use at `start` to `lr` (default '0ba': jump). */
  anneal?: DurationLike;
  /** 'cos' (default, as PyTorch) or 'linear'. */
  annealStrategy?: 'cos' | 'linear';
  /** Put the average into the model when the run completes (default true). */
  swapAtEnd?: boolean;
  /** Evaluate the average at every evaluation, as metrics swa/eval/* (default false). */
  evalAverage?: boolean;
  /**
   * Data for the BatchNorm refresh: the training data (default), another set, or false for no
   * refresh. Models without BatchNorm need none and make no pass.
   */
  bnData?: Dataset | false;
  /** Batch size of the BatchNorm pass (default 128). */
  bnBatchSize?: number;
}

/** The functional twin: the arithmetic mean of weight snapshots, as a running mean on `ops`. */
export function averageWeights(ops: FlatOps, snapshots: readonly Float32Array[]): Float32Array {
  if (snapshots.length === 0) throw invalidOption('swa', 'snapshots', '[]', 'at least one');
  const avg = ops.alloc(snapshots[0].length);
  const x = ops.alloc(snapshots[0].length);
  try {
    snapshots.forEach((s, count) => {
      ops.upload(x, s);
      ops.runningMean(avg, x, count);
    });
    return ops.download(avg);
  } finally {
    ops.free(avg);
    ops.free(x);
  }
}

export class Swa implements Method {
  readonly name = 'swa';
  private readonly options: Required<Omit<SwaOptions, 'lr' | 'bnData'>> &
    Pick<SwaOptions, 'lr' | 'bnData'>;
  private state: TrainState | null = null;
  private avg: FlatVector | null = null;
  private interval: Interval | null = null;
  private startStep = 0;
  private lrSchedule: Schedule | null = null;
  /** Models averaged so far. */
  private count = 0;
  /** The lr in use at the first SWA step (SWALR anneals from it); null before. */
  private fromLr: number | null = null;

  constructor(opts: SwaOptions = {}) {
    this.options = {
      start: opts.start ?? '0.75dur',
      interval: opts.interval ?? '1ep',
      anneal: opts.anneal ?? '0ba',
      annealStrategy: opts.annealStrategy ?? 'cos',
      swapAtEnd: opts.swapAtEnd ?? true,
      evalAverage: opts.evalAverage ?? false,
      bnBatchSize: opts.bnBatchSize ?? 128,
      lr: opts.lr,
      bnData: opts.bnData,
    };
    if (opts.lr !== undefined && !(Number.isFinite(opts.lr) && opts.lr >= 0)) {
      throw invalidOption(this.name, 'lr', opts.lr, 'a finite learning rate >= 0');
    }
    if (!['cos', 'linear'].includes(this.options.annealStrategy)) {
      throw invalidOption(this.name, 'annealStrategy', opts.annealStrategy, "'cos' or 'linear'");
    }
  }

  /** Snapshots averaged so far. */
  get averaged(): number {
    return this.count;
  }

  /** The running average (a copy on the host), or null before the first snapshot. */
  average(): Float32Array | null {
    return this.avg && this.count > 0 ? this.state!.ops.download(this.avg) : null;
  }

  match(event: Event): boolean {
    return (
      event === Event.INIT ||
      event === Event.BEFORE_STEP ||
      event === Event.BATCH_END ||
      event === Event.EPOCH_END ||
      event === Event.EVAL_END ||
      event === Event.FIT_END
    );
  }

  apply(event: Event, state: TrainState, log: Logger): void {
    switch (event) {
      case Event.INIT:
        this.init(state);
        break;
      case Event.BEFORE_STEP:
        this.setLr(state);
        break;
      case Event.BATCH_END:
      case Event.EPOCH_END:
        if (
          event === this.interval!.event &&
          state.timestamp.step > this.startStep &&
          this.interval!.due(state.timestamp)
        ) {
          state.ops.runningMean(this.avg!, state.pv.params, this.count++);
          state.metrics['swa/models'] = this.count;
        }
        break;
      case Event.EVAL_END:
        if (this.options.evalAverage && this.count > 0 && state.evalData) this.evaluate(state);
        break;
      case Event.FIT_END:
        if (state.runComplete && this.count > 0) this.finish(state, log);
        break;
    }
  }

  private init(state: TrainState): void {
    this.state = state;
    const { timeline } = state;
    this.startStep = timeline.toSteps(this.options.start);
    this.interval = new Interval(this.options.interval, timeline, (expected) =>
      invalidOption(this.name, 'interval', this.options.interval, expected),
    );
    this.avg ??= state.ops.alloc(state.pv.length);
  }

  private setLr(state: TrainState): void {
    const step = state.timestamp.step;
    if (this.options.lr === undefined || step < this.startStep) return;
    const hyper = state.optimizer.hyper;
    if (this.lrSchedule === null) {
      this.fromLr ??= hyper.lr;
      this.lrSchedule = swalr({
        fromLr: this.fromLr,
        swaLr: this.options.lr,
        annealSteps: state.timeline.toSteps(this.options.anneal),
        strategy: this.options.annealStrategy,
      });
    }
    hyper.lr = this.lrSchedule(step - this.startStep);
    state.metrics['swa/lr'] = hyper.lr;
  }

  private bnData(state: TrainState): Dataset | undefined {
    return this.options.bnData === false ? undefined : (this.options.bnData ?? state.trainData);
  }

  private evaluate(state: TrainState): void {
    const result = withWeights(
      state.model,
      state.pv,
      this.avg!,
      () => evaluateSync(state.model, state.evalData!),
      { refreshData: this.bnData(state), refresh: { batchSize: this.options.bnBatchSize } },
    );
    state.metrics['swa/eval/loss'] = result.loss;
    state.metrics['swa/eval/accuracy'] = result.accuracy;
  }

  private finish(state: TrainState, log: Logger): void {
    if (state.evalData && !this.options.swapAtEnd) this.evaluate(state);
    if (!this.options.swapAtEnd) return;
    state.ops.copy(state.pv.params, this.avg!);
    state.pv.writeBack();
    const bnData = this.bnData(state);
    const refreshed = bnData
      ? refreshBatchNorm(state.model, bnData, { batchSize: this.options.bnBatchSize })
      : 0;
    if (state.evalData) {
      const result = evaluateSync(state.model, state.evalData);
      state.metrics['swa/eval/loss'] = result.loss;
      state.metrics['swa/eval/accuracy'] = result.accuracy;
    }
    log.log('swa', { models: this.count, batchNormLayersRefreshed: refreshed });
  }

  stateDict(): MethodState {
    return {
      count: this.count,
      fromLr: this.fromLr,
      avg: this.avg ? this.state!.ops.download(this.avg) : null,
    };
  }

  loadStateDict(saved: MethodState): void {
    this.count = saved.count as number;
    this.fromLr = saved.fromLr as number | null;
    this.lrSchedule = null;
    if (this.avg && saved.avg instanceof Float32Array) this.state!.ops.upload(this.avg, saved.avg);
  }

  dispose(): void {
    if (this.avg?.alive) this.state?.ops.free(this.avg);
    this.avg = null;
  }
}

export function swa(opts: SwaOptions = {}): Swa {
  return new Swa(opts);
}
