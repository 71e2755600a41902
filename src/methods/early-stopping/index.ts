/**
 * Early stopping: stop the run when a metric has not improved for `patience` evaluations, and
 * at the end of the run put back the weights of the best evaluation (kept on the kernel backend,
 * one flat copy). See README.md.
 */
import { UsageError } from '../../errors.js';
import type { FlatVector } from '../../kernels/index.js';
import { Event } from '../../train/events.js';
import type { Logger, Method, MethodState } from '../../train/method.js';
import type { TrainState } from '../../train/state.js';

export type StoppingMode = 'min' | 'max';

export interface EarlyStoppingOptions {
  /** The metric to watch, read at EVAL_END (default 'eval/loss'). */
  monitor?: string;
  /** Default: 'max' for a metric named *accuracy, else 'min'. */
  mode?: StoppingMode;
  /** Evaluations without improvement before stopping (default 3). */
  patience?: number;
  /** An improvement must beat the best by more than this (default 0). */
  minDelta?: number;
  /** Put back the best evaluation's weights when the run ends (default true). */
  restoreBest?: boolean;
}

export interface StoppingRule {
  mode: StoppingMode;
  patience: number;
  minDelta: number;
}

/** Where a sequence of evaluations stands: best value, its index, evaluations since. */
export interface StoppingProgress {
  best: number | null;
  bestIndex: number;
  wait: number;
  stop: boolean;
}

/** Whether `value` beats `best` by more than minDelta (a NaN never does; anything beats null). */
export function isImprovement(
  value: number,
  best: number | null,
  mode: StoppingMode,
  minDelta = 0,
): boolean {
  if (Number.isNaN(value)) return false;
  if (best === null) return true;
  return mode === 'min' ? value < best - minDelta : value > best + minDelta;
}

/** One evaluation more: the progress after seeing `value` as evaluation number `index`. */
export function advanceStopping(
  progress: StoppingProgress,
  value: number,
  index: number,
  rule: StoppingRule,
): StoppingProgress {
  if (isImprovement(value, progress.best, rule.mode, rule.minDelta)) {
    return { best: value, bestIndex: index, wait: 0, stop: false };
  }
  const wait = progress.wait + 1;
  return { ...progress, wait, stop: wait >= rule.patience };
}

/** The functional twin: whether a run with this metric history stops, and its best evaluation. */
export function shouldStop(
  history: readonly number[],
  opts: Partial<StoppingRule> = {},
): StoppingProgress {
  const rule = checkRule(opts.mode ?? 'min', opts.patience ?? 3, opts.minDelta ?? 0);
  let progress: StoppingProgress = { best: null, bestIndex: -1, wait: 0, stop: false };
  for (let i = 0; i < history.length && !progress.stop; i++) {
    progress = advanceStopping(progress, history[i], i, rule);
  }
  return progress;
}

function checkRule(mode: string, patience: number, minDelta: number): StoppingRule {
  const bad = (field: string, value: unknown, expected: string) =>
    new UsageError(
      'ANNEAL_BAD_METHOD_OPTION',
      `early-stopping: ${field} = ${String(value)} is not valid: expected ${expected}`,
    );
  if (mode !== 'min' && mode !== 'max') throw bad('mode', mode, "'min' or 'max'");
  if (!Number.isInteger(patience) || patience < 1)
    throw bad('patience', patience, 'an integer >= 1');
  if (!(minDelta >= 0) || !Number.isFinite(minDelta))
    throw bad('minDelta', minDelta, 'a number >= 0');
  return { mode, patience, minDelta };
}

export class EarlyStopping implements Method {
  readonly name = 'early-stopping';
  readonly monitor: string;
  readonly rule: StoppingRule;
  readonly restoreBest: boolean;
  private progress: StoppingProgress = { best: null, bestIndex: -1, wait: 0, stop: false };
  private evaluations = 0;
  private bestStep = -1;
  private bestParams: FlatVector | null = null;
  private state: TrainState | null = null;

  constructor(opts: EarlyStoppingOptions = {}) {
    this.monitor = opts.monitor ?? 'eval/loss';
    const mode = opts.mode ?? (/accuracy$/.test(this.monitor) ? 'max' : 'min');
    this.rule = checkRule(mode, opts.patience ?? 3, opts.minDelta ?? 0);
    this.restoreBest = opts.restoreBest ?? true;
  }

  /** The best value so far and the step of its evaluation (null / -1 before any). */
  get best(): { value: number | null; step: number } {
    return { value: this.progress.best, step: this.bestStep };
  }

  match(event: Event): boolean {
    return event === Event.INIT || event === Event.EVAL_END || event === Event.FIT_END;
  }

  apply(event: Event, state: TrainState, log: Logger): void {
    if (event === Event.INIT) {
      this.state = state;
      if (this.restoreBest) this.bestParams ??= state.ops.alloc(state.pv.length);
    } else if (event === Event.EVAL_END) {
      this.afterEval(state, log);
    } else if (event === Event.FIT_END && state.runComplete) {
      this.restore(state, log);
    }
  }

  private afterEval(state: TrainState, log: Logger): void {
    const value = state.metrics[this.monitor];
    if (value === undefined) {
      throw new UsageError(
        'ANNEAL_BAD_METHOD_OPTION',
        `early-stopping: the metric '${this.monitor}' does not exist after evaluation; the metrics ` +
          `are ${Object.keys(state.metrics).join(', ')}. Set monitor to one of them.`,
      );
    }
    const previousBest = this.progress.bestIndex;
    this.progress = advanceStopping(this.progress, value, this.evaluations++, this.rule);
    if (this.progress.bestIndex !== previousBest) {
      this.bestStep = state.timestamp.step;
      if (this.bestParams) state.ops.copy(this.bestParams, state.pv.params);
    }
    if (this.progress.stop && !state.stopRequested) {
      state.stopRequested = true;
      state.stopReason =
        `early stopping: ${this.monitor} did not improve for ${this.rule.patience} evaluations ` +
        `(best ${this.progress.best} at step ${this.bestStep})`;
      log.log('early-stopping', {
        monitor: this.monitor,
        best: this.progress.best,
        bestStep: this.bestStep,
      });
    }
  }

  private restore(state: TrainState, log: Logger): void {
    if (!this.bestParams || this.bestStep < 0 || this.bestStep === state.timestamp.step) return;
    state.ops.copy(state.pv.params, this.bestParams);
    state.pv.writeBack();
    log.log('early-stopping_restore', {
      monitor: this.monitor,
      best: this.progress.best,
      bestStep: this.bestStep,
    });
  }

  stateDict(): MethodState {
    return {
      best: this.progress.best,
      bestIndex: this.progress.bestIndex,
      wait: this.progress.wait,
      stop: this.progress.stop,
      evaluations: this.evaluations,
      bestStep: this.bestStep,
      bestParams: this.bestParams ? this.state!.ops.download(this.bestParams) : null,
    };
  }

  loadStateDict(saved: MethodState): void {
    this.progress = {
      best: saved.best as number | null,
      bestIndex: saved.bestIndex as number,
      wait: saved.wait as number,
      stop: saved.stop as boolean,
    };
    this.evaluations = saved.evaluations as number;
    this.bestStep = saved.bestStep as number;
    const params = saved.bestParams;
    if (this.bestParams && params instanceof Float32Array) {
      this.state!.ops.upload(this.bestParams, params);
    }
  }

  dispose(): void {
    if (this.bestParams?.alive) this.state?.ops.free(this.bestParams);
    this.bestParams = null;
  }
}

export function earlyStopping(opts: EarlyStoppingOptions = {}): EarlyStopping {
  return new EarlyStopping(opts);
}
